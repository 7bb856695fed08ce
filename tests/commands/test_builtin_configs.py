"""Configs that ship: the run configs live in the package, `lanco-hf train NAME` runs a built-in one, a path still
works, and `lanco-hf configs` lists every one with its description."""

import contextlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import CONFIG_DIR

import lanco_hf
from lanco_hf.cli import main
from lanco_hf.training.arguments import load_run_config
from lanco_hf.training.run_configs import builtin_configs, config_description, resolve_run_config

PACKAGE_CONFIGS = Path(lanco_hf.__file__).parent / "configs"
REPO = Path(__file__).parents[2]


def run_cli(argv, capsys):
    try:
        main(argv)
    except SystemExit as exit:
        return exit.code, capsys.readouterr()
    return 0, capsys.readouterr()


def test_the_configs_are_package_files_and_the_top_level_folder_is_the_same_folder():
    names = sorted(path.name for path in PACKAGE_CONFIGS.glob("*.yaml"))
    assert "explicit_sparse_bible.yaml" in names and len(names) >= 10
    assert CONFIG_DIR.resolve() == PACKAGE_CONFIGS.resolve()  # README / benchmark paths configs/<name>.yaml
    assert list(builtin_configs()) == [name.removesuffix(".yaml") for name in names]


def test_every_builtin_config_starts_with_a_description():
    for name, path in builtin_configs().items():
        description = config_description(path)
        first_line = path.read_text(encoding="utf-8").splitlines()[0].lstrip("#").strip()
        assert description.startswith(first_line[:40]), name
        assert "\n" not in description and len(description) >= 30, (name, description)


def test_description_is_the_first_sentence_of_the_header(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "# A tiny model (Vaswani et al. 2017; e.g. for tests) on\n# two lines. Second sentence.\n"
        "# lanco-hf train mine.yaml\nseed: 1\n"
    )
    assert config_description(path) == "A tiny model (Vaswani et al. 2017; e.g. for tests) on two lines."
    path.write_text("seed: 1\n")
    assert config_description(path) == ""


def test_a_builtin_name_loads_the_same_settings_as_its_path():
    by_path = load_run_config(CONFIG_DIR / "explicit_sparse_bible.yaml", ["seed=3"])
    assert load_run_config("explicit_sparse_bible", ["seed=3"]) == by_path
    assert load_run_config("explicit_sparse_bible.yaml", ["seed=3"]) == by_path
    assert by_path["seed"] == 3 and "model_config" in by_path


def test_a_file_of_ones_own_wins_over_a_builtin_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("explicit_sparse_bible.yaml").write_text("task: translation\nseed: 11\n")
    assert resolve_run_config("explicit_sparse_bible.yaml") == Path("explicit_sparse_bible.yaml")
    assert load_run_config("explicit_sparse_bible.yaml") == {"task": "translation", "seed": 11}
    # a bare name is the built-in config when no such file exists
    assert resolve_run_config("explicit_sparse_bible") == PACKAGE_CONFIGS / "explicit_sparse_bible.yaml"


@pytest.mark.parametrize("config", ["no_such_config", "elsewhere/explicit_sparse_bible.yaml"])
def test_an_unknown_config_is_one_line_naming_it_and_the_builtin_ones(config, capsys):
    with pytest.raises(FileNotFoundError, match="built-in configs: clip_emoji, "):
        resolve_run_config(config)
    code, captured = run_cli(["train", config], capsys)
    lines = captured.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and repr(config) in lines[0] and "explicit_sparse_bible" in lines[0]


def test_configs_command_lists_every_builtin_config_with_its_description(capsys):
    code, captured = run_cli(["configs"], capsys)
    assert code == 0
    lines = captured.out.splitlines()
    for name, path in builtin_configs().items():
        (line,) = [line for line in lines if line.split(" ", 1)[0] == name]
        assert line.split(None, 1)[1] == config_description(path)
    assert str(PACKAGE_CONFIGS) in captured.out


def test_train_takes_a_builtin_name(verse_dataset, tmp_path):
    output = tmp_path / "run"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        main(["train", "explicit_sparse_bible", f"dataset={verse_dataset}", f"output_dir={output}", *TINY_RUN])
    results = json.loads((output / "results.json").read_text())
    assert results["task"] == "translation" and "Explicit Sparse" in (output / "README.md").read_text()


TINY_RUN = [  # the smallest translation run: one layer each side, 4 steps, no checkpoint averaging
    "model_config.d_model=16",
    "model_config.encoder_layers=1",
    "model_config.decoder_layers=1",
    "model_config.encoder_attention_heads=2",
    "model_config.decoder_attention_heads=2",
    "model_config.encoder_ffn_dim=32",
    "model_config.decoder_ffn_dim=32",
    "model_config.attn_topk=4",
    "tokenizer_vocab_size=300",
    "max_steps=4",
    "per_device_train_batch_size=4",
    "save_steps=4",
    "warmup_steps=1",
    "max_test_samples=4",
    "max_new_tokens=6",
    "num_examples_to_show=1",
    "disable_tqdm=true",
]


@pytest.mark.slow
def test_a_built_wheel_ships_every_config(tmp_path):
    """A plain `pip install` gets the configs: the wheel built from this checkout holds every YAML."""
    pytest.importorskip("setuptools")  # the build backend, used without build isolation (no network)
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the checkout
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", "dist", "."]
    result = subprocess.run(command, cwd=source, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (source / "dist").glob("lanco_hf-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("lanco_hf/configs/")}
    expected = {
        f"lanco_hf/configs/{path.relative_to(PACKAGE_CONFIGS).as_posix()}" for path in PACKAGE_CONFIGS.rglob("*.yaml")
    }
    assert expected and expected <= shipped
