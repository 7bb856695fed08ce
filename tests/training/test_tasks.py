"""The task registry and the run skeleton: a task registers once with its runner, the argument dataclasses come from
the runner's signature in call order, a second registration under the same name is refused, and ``finish_run``
writes results.json, the model card and the report of every task the same way."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import GOLDEN_CARDS
from transformers import TrainingArguments

from lanco_hf.training.arguments import LossArguments, ModelArguments
from lanco_hf.training.run import finish_run
from lanco_hf.training.tasks import TASKS, argument_dataclasses, get_task, register_task


@dataclass
class ToyDataArguments:
    size: int = 3


def test_arguments_come_from_the_signature_in_order():
    def runner(
        model_args: ModelArguments,
        data_args: ToyDataArguments,
        training_args: TrainingArguments,
        loss_args: LossArguments | None = None,
        resume: bool = False,
    ) -> dict:
        return {}

    assert argument_dataclasses(runner) == (ModelArguments, ToyDataArguments, TrainingArguments, LossArguments)


def test_a_task_name_is_registered_once():
    get_task("translation")  # imports every task module

    def other_runner(model_args: ModelArguments, resume: bool = False) -> dict:
        return {}

    with pytest.raises(ValueError, match="task 'translation' is registered twice"):
        register_task("translation")(other_runner)
    assert TASKS["translation"].runner.__name__ == "run_translation"
    with pytest.raises(ValueError, match="task='nope' is not supported; allowed values: contrastive_image_text, "):
        get_task("nope")


def test_finish_run_writes_results_card_and_report(tmp_path, capsys):
    case = GOLDEN_CARDS / "node_classification_renode"
    (tmp_path / "config.json").write_text((case / "config.json").read_text())
    golden = json.loads((case / "results.json").read_text())
    results = {key: value for key, value in golden.items() if key not in ("card", "wall_time_s")}
    returned = finish_run(results, tmp_path, started=0.0, card=golden["card"], report=["first line", "second line"])
    written = json.loads((tmp_path / "results.json").read_text())
    assert returned is results and written == results and list(written) == list(golden)
    assert written["wall_time_s"] > 0
    expected = (case / "README.md").read_text().replace("lanco/node_classification_renode", tmp_path.name)
    assert (tmp_path / "README.md").read_text() == expected
    assert capsys.readouterr().out.splitlines()[:2] == ["first line", "second line"]


def test_a_run_without_card_fields_writes_no_card(tmp_path):
    finish_run({"task": "contrastive_image_text"}, tmp_path, started=0.0, card=None)
    assert not (tmp_path / "README.md").exists() and Path(tmp_path / "results.json").exists()
