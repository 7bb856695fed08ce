"""The ``lanco-hf`` command line: one parser style (``HfArgumentParser`` options, dashed flags), ``--help`` at every
level exits 0 and lists the tasks and evaluations, and the library's metric modules parse no arguments."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lanco_hf.commands import build_parser, main
from lanco_hf.commands.evaluate import EVALUATIONS
from lanco_hf.training.tasks import available_tasks

HELPS = [
    ["--help"],
    ["train", "--help"],
    ["push", "--help"],
    ["evaluate", "--help"],
    *(["evaluate", name, "--help"] for name in EVALUATIONS),
]


@pytest.mark.parametrize("argv", HELPS, ids=[" ".join(argv) for argv in HELPS])
def test_help_exits_0_with_the_right_program_name_and_dashed_flags(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: {' '.join(['lanco-hf', *argv[:-1]])} ")
    flags = re.findall(r"(?<![\w-])--[\w-]+", text)
    assert flags and not [flag for flag in flags if "_" in flag]


def test_top_level_help_lists_every_task_and_evaluation(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in [*available_tasks(), *EVALUATIONS]:
        assert name in text
    assert set(available_tasks()) == {
        "translation",
        "multilabel_classification",
        "image_classification",
        "image_text_retrieval",
        "node_classification",
        "contrastive_image_text",
    }


def test_options_parse_into_dataclasses_and_the_underscore_spelling_still_works():
    from lanco_hf.commands.evaluate_totoro import ARGUMENTS
    from lanco_hf.commands.parser import dataclasses_from

    parser = build_parser()
    for spelling in ("--split-seeds", "--split_seeds"):
        args = parser.parse_args(["evaluate", "totoro", "--dataset", "citeseer", spelling, "3", "4"])
        data_args, totoro_args = dataclasses_from(args, ARGUMENTS)
        assert (data_args.dataset, totoro_args.split_seeds) == ("citeseer", [3, 4])
    with pytest.raises(ValueError, match="dataset='nope' is not supported"):
        dataclasses_from(parser.parse_args(["evaluate", "totoro", "--dataset", "nope"]), ARGUMENTS)
    args = parser.parse_args(["train", "configs/x.yaml", "seed=2", "model_config.d_model=8", "--resume"])
    assert (args.config, args.overrides) == ("configs/x.yaml", ["seed=2", "model_config.d_model=8"])
    assert (args.resume, args.push_to_hub) == (True, None)


def test_console_script_help_runs_in_a_fresh_process():
    done = subprocess.run(
        [sys.executable, "-m", "lanco_hf.cli", "evaluate", "--help"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and "usage: lanco-hf evaluate" in done.stdout


def test_metrics_import_neither_training_commands_nor_hub_and_modeling_only_itself():
    source = Path(__file__).parents[2] / "src" / "lanco_hf"
    imports = re.compile(r"^\s*(?:from|import)\s+(\.+\w*|lanco_hf[\w.]*)", re.MULTILINE)
    for path in (source / "evaluation").glob("*.py"):
        for module in imports.findall(path.read_text()):
            assert not re.match(r"(\.\.|lanco_hf\.)(training|commands|hub|metrics)\b", module), (path.name, module)
    # metrics/ (the evaluate modules, which import lanco_hf.evaluation by absolute name) sits above evaluation/
    for path in (source / "metrics").rglob("*.py"):
        for module in imports.findall(path.read_text()):
            assert not re.match(r"(\.\.|lanco_hf\.)(training|commands|hub)\b", module), (path.name, module)
    for path in (source / "modeling").glob("*.py"):
        for module in imports.findall(path.read_text()):
            assert module.startswith(".") and not module.startswith(".."), (path.name, module)
