"""Every push path gives the same card and no pickle: ``lanco-hf push``, a lanco model's ``push_to_hub()`` and a
``Trainer`` made with ``push_to_hub=True`` (the task's own Trainer, pushing at every save and at the end), each
through the real huggingface_hub client against the loopback Hub; every repo then loads in a Python without
lanco_hf."""

import json
import os
import subprocess
import sys

import pytest
from fake_hub import FakeHub
from helpers import CONFIG_DIR, TINY, TINY_TRANSLATION_RUN, run_without_lanco
from huggingface_hub import ModelCard

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")

MODEL_PUSH = """
import sys
import lanco_hf  # noqa: F401  (installs the lanco card)
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

run_dir, repo = sys.argv[1], sys.argv[2]
AutoModelForSeq2SeqLM.from_pretrained(run_dir).push_to_hub(repo)
AutoTokenizer.from_pretrained(run_dir).push_to_hub(repo)
"""

BARE_PUSH = """
import json, sys
import lanco_hf
from transformers import AutoModelForSeq2SeqLM

config = lanco_hf.MuseConfig(**json.loads(sys.argv[2]), norm_type="adanorm")
AutoModelForSeq2SeqLM.from_config(config).push_to_hub(sys.argv[1])
"""

LOAD_REPOS = """
import json, sys
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, pipeline

outputs = {}
for repo in sys.argv[1:]:
    model = AutoModelForSeq2SeqLM.from_pretrained(repo, trust_remote_code=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(repo, trust_remote_code=True)
    generated = model.generate(**tokenizer(["Jonah rose up."], return_tensors="pt"), max_new_tokens=6)
    outputs[repo] = {"module": type(model).__module__, "generated": generated.tolist()}
print(json.dumps(outputs))
"""


def hub_env(hub, tmp_path):
    return {
        **os.environ,
        "HF_ENDPOINT": hub.endpoint,
        "HF_TOKEN": "hf_fake",
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_OFFLINE": "0",
    }


def run(arguments, env, **kwargs):
    result = subprocess.run(arguments, env=env, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def card_of(hub, repo: str) -> str:
    """The repo's card with its own name replaced, so that the cards of two repos compare."""
    return hub.repos[repo].files["README.md"].decode().replace(repo, "REPO")


@pytest.mark.slow
def test_three_push_paths_give_the_same_card_and_no_pickle(verse_dataset, tmp_path):
    run_dir = tmp_path / "tiny-es"
    with FakeHub() as hub:
        env = hub_env(hub, tmp_path)
        run(
            [
                sys.executable,
                "-m",
                "lanco_hf.cli",
                "train",
                str(CONFIG_DIR / "explicit_sparse_bible.yaml"),
                f"dataset={verse_dataset}",
                f"output_dir={run_dir}",
                *TINY_TRANSLATION_RUN,
                "push_to_hub=true",
                "hub_model_id=tester/trainer",
            ],
            env,
        )
        run([sys.executable, "-m", "lanco_hf.cli", "push", str(run_dir), "tester/cli"], env)
        script = tmp_path / "model_push.py"
        script.write_text(MODEL_PUSH)
        run([sys.executable, str(script), str(run_dir), "tester/model"], env)

        repos = ("tester/cli", "tester/model", "tester/trainer")
        for repo in repos:
            files = hub.repos[repo].files
            assert not [name for name in files if name.endswith(PICKLE_SUFFIXES)], (repo, sorted(files))
            assert {"model.safetensors", "config.json", "tokenizer.json", "README.md"} <= set(files), repo
        # the trainer pushed at its saves too (hub_strategy every_save): never a pickle in any of its commits
        assert not [name for name in hub.repos["tester/trainer"].uploaded if name.endswith(PICKLE_SUFFIXES)]
        assert len(hub.repos["tester/trainer"].history) >= 3  # checkpoint pushes + "Model save" + end of training

        cli_card = card_of(hub, "tester/cli")
        assert card_of(hub, "tester/model") == cli_card
        assert card_of(hub, "tester/trainer") == cli_card
        card = ModelCard(hub.repos["tester/trainer"].files["README.md"].decode())
        assert card.data.model_name == "tester/trainer" and "lanco-hf" in card.data.tags
        assert "generated_from_trainer" not in card.data.tags and "More Information Needed" not in card.text
        results = json.loads((run_dir / "results.json").read_text())
        assert {r.metric_type: r.metric_value for r in card.data.eval_results}["bleu"] == round(
            results["test"]["bleu"], 2
        )
        sections = [line.split(" (")[0] for line in card.text.splitlines() if line.startswith("## ")]
        assert sections == ["## Method", "## Results", "## Usage", "## Examples", "## Training", "## Citation"]
        loaded = run_without_lanco(LOAD_REPOS, *repos, cwd=tmp_path, env=env)

    generated = {repo: output["generated"] for repo, output in loaded.items()}
    assert generated["tester/model"] == generated["tester/cli"] == generated["tester/trainer"]
    assert all(output["module"].startswith("transformers_modules") for output in loaded.values())


@pytest.mark.slow
def test_a_bare_model_pushes_the_lanco_card_without_results(tmp_path):
    with FakeHub() as hub:
        script = tmp_path / "bare_push.py"
        script.write_text(BARE_PUSH)
        run([sys.executable, str(script), "tester/bare-muse", json.dumps(TINY)], hub_env(hub, tmp_path))
        files = hub.repos["tester/bare-muse"].files
        card = ModelCard(files["README.md"].decode())

    assert not [name for name in files if name.endswith(PICKLE_SUFFIXES)]
    assert {"model.safetensors", "config.json", "modeling_muse.py"} <= set(files)
    assert card.data.pipeline_tag == "translation" and card.data.model_name == "tester/bare-muse"
    assert card.data.tags == ["lanco-hf", "custom_code", "translation", "muse"]
    assert card.data.eval_results is None and "More Information Needed" not in card.text
    sections = [line for line in card.text.splitlines() if line.startswith("## ")]
    assert sections == ["## Method", "## Usage", "## Citation"]
    assert "MUSE" in card.text and "AdaNorm" in card.text  # the architecture's method and the norm's
    assert 'pipeline("translation", model="tester/bare-muse", trust_remote_code=True)' in card.text
