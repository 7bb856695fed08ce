"""``lanco-hf push --space``: the run's demo published as a Gradio Space on the loopback Hub (app.py, requirements,
the Space card's metadata), then downloaded and its app.py run: it translates as the pipeline does, from the model
files in the Space or from the model repo pushed beside it."""

import json
import os
import subprocess
import sys

import pytest
from fake_hub import FakeHub
from helpers import write_card
from huggingface_hub import SpaceCard
from transformers import pipeline

from lanco_hf import __version__
from lanco_hf.cli import main

gradio = pytest.importorskip("gradio")

SENTENCE = "Jonah rose up to flee unto Tarshish."
GIT_REQUIREMENT = "lanco-hf[demo] @ git+https://example.org/lab/lanco-hf.git@v0.1.0"
RUN_SPACE = """
import json, runpy, sys
from huggingface_hub import snapshot_download

space, folder, sentence = sys.argv[1:]
snapshot_download(space, repo_type="space", local_dir=folder)
app = runpy.run_path(f"{folder}/app.py")  # builds the page, as a Space does before demo.launch()
print(json.dumps({"task": app["app"].task, "page": type(app["demo"]).__name__,
                  "translation": app["app"].translate(sentence)}))
"""


def hub_env(hub, tmp_path) -> dict:
    hub_settings = {"HF_ENDPOINT": hub.endpoint, "HF_TOKEN": "hf_fake", "HF_HUB_OFFLINE": "0"}
    return {**os.environ, **hub_settings, "HF_HOME": str(tmp_path / "hf_home")}


def run(arguments: list[str], env: dict, cwd) -> str:
    result = subprocess.run([sys.executable, *arguments], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def run_space_app(space: str, env: dict, tmp_path) -> dict:
    script = tmp_path / "run_space.py"
    script.write_text(RUN_SPACE)
    return json.loads(run([str(script), space, str(tmp_path / "space"), SENTENCE], env, tmp_path).splitlines()[-1])


def check_space_card(files: dict[str, bytes], title: str, models, requirement: str) -> None:
    card = SpaceCard(files["README.md"].decode())
    assert card.data.sdk == "gradio" and card.data.sdk_version == gradio.__version__
    assert card.data.app_file == "app.py" and "app.py" in files
    assert card.data.title == title and card.data.emoji and card.data.colorFrom and card.data.colorTo
    assert card.data.models == models and "translation" in card.data.tags
    assert files["requirements.txt"].decode() == requirement + "\n"


@pytest.mark.slow
def test_push_space_with_the_model_inside_serves_the_pipelines_translation(tiny_translation_run, tmp_path):
    run_dir, _ = tiny_translation_run
    expected = pipeline("translation", model=str(run_dir), trust_remote_code=True)(SENTENCE)[0]["translation_text"]
    with FakeHub() as hub:
        env = hub_env(hub, tmp_path)
        run(["-m", "lanco_hf.cli", "push", "--space", "tester/tiny-demo", str(run_dir)], env, tmp_path)
        assert not hub.repos and hub.spaces["tester/tiny-demo"].sdk == "gradio"
        files = hub.spaces["tester/tiny-demo"].files
        assert {"model/model.safetensors", "model/config.json", "model/tokenizer.json", "model/README.md"} <= set(files)
        assert not any("checkpoint-" in name for name in files)
        check_space_card(files, "tiny-demo", None, f"lanco-hf[demo]=={__version__}")
        served = run_space_app("tester/tiny-demo", env, tmp_path)
    assert served == {"task": "translation", "page": "Blocks", "translation": expected}


@pytest.mark.slow
def test_push_model_repo_and_space_the_space_runs_the_repo(tiny_translation_run, tmp_path):
    run_dir, _ = tiny_translation_run
    expected = pipeline("translation", model=str(run_dir), trust_remote_code=True)(SENTENCE)[0]["translation_text"]
    with FakeHub() as hub:
        env = hub_env(hub, tmp_path)
        command = ["-m", "lanco_hf.cli", "push", str(run_dir), "tester/tiny-es", "--space", "tester/tiny-es-demo"]
        run([*command, "--space-requirement", GIT_REQUIREMENT], env, tmp_path)
        assert "model.safetensors" in hub.repos["tester/tiny-es"].files
        files = hub.spaces["tester/tiny-es-demo"].files
        assert not any(name.startswith("model/") for name in files)  # the app downloads the model repo
        assert "MODEL = 'tester/tiny-es'" in files["app.py"].decode()
        check_space_card(files, "tiny-es-demo", ["tester/tiny-es"], GIT_REQUIREMENT)
        served = run_space_app("tester/tiny-es-demo", env, tmp_path)
    assert served["translation"] == expected


def test_push_needs_a_repo_or_a_space_and_a_space_needs_a_task(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["push", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "repo_id: give the model repo (USER/NAME), --space SPACE_ID" in capsys.readouterr().err
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SystemExit):
        main(["push", str(tmp_path), "--space", "tester/demo"])  # no card, so no pipeline_tag: nothing uploaded
    assert "task: the model card of" in capsys.readouterr().err
    write_card(tmp_path, "translation")
    with pytest.raises(SystemExit):
        main(["push", str(tmp_path), "--space", "tester/demo", "--space-requirement", "gradio"])
    assert "space_requirement='gradio' does not install lanco-hf" in capsys.readouterr().err
