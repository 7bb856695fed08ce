"""Publishing: `lanco-hf push` through the real huggingface_hub client against a loopback Hub, then loading the
repo with trust_remote_code in a Python without lanco_hf; the translation pipeline from a folder and a repo."""

import json
import os
import subprocess
import sys
import uuid

import pytest
from fake_hub import FakeHub
from helpers import run_without_lanco
from huggingface_hub import ModelCard
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, pipeline

from lanco_hf.evaluation.translation import translate

SOURCES = ["And Ruth said, Intreat me not to leave thee.", "Jonah rose up to flee unto Tarshish."]

LOAD_FROM_HUB = """
import json, sys
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, pipeline

repo, sources = sys.argv[1], json.loads(sys.argv[2])
model = AutoModelForSeq2SeqLM.from_pretrained(repo, trust_remote_code=True).eval()
tokenizer = AutoTokenizer.from_pretrained(repo, trust_remote_code=True)
inputs = tokenizer(sources, return_tensors="pt", padding=True)
generated = model.generate(**inputs, max_new_tokens=8)
translator = pipeline("translation", model=repo, trust_remote_code=True)
print(json.dumps({"module": type(model).__module__, "generated": generated.tolist(),
                  "pipeline": translator(sources, max_new_tokens=8)}))
"""


def hub_env(hub, tmp_path):
    return {
        "HF_ENDPOINT": hub.endpoint,
        "HF_TOKEN": "hf_fake",
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_OFFLINE": "0",
    }


@pytest.mark.slow
def test_push_then_load_from_the_hub_without_lanco_hf(tiny_translation_run, tmp_path):
    run_dir, _ = tiny_translation_run
    with FakeHub() as hub:
        env = hub_env(hub, tmp_path)
        pushed = subprocess.run(
            [sys.executable, "-m", "lanco_hf.cli", "push", str(run_dir), "tester/tiny-es"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        files = hub.repos["tester/tiny-es"].files
        assert {
            "model.safetensors",
            "config.json",
            "generation_config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "modeling_explicit_sparse.py",
            "modeling_lanco.py",
            "pipeline_translation.py",
            "README.md",
            "results.json",
            "training_curves.png",
        } <= set(files)
        assert not any(name.startswith("checkpoint-") or name.endswith((".bin", ".pt", ".pkl")) for name in files)
        card = ModelCard(files["README.md"].decode())
        assert card.data.model_name == "tester/tiny-es" and 'model="tester/tiny-es"' in card.text
        assert "](training_curves.png)" in card.text  # the pushed picture, shown by the card
        results = json.loads(files["results.json"])
        assert {r.metric_type: r.metric_value for r in card.data.eval_results}["bleu"] == round(
            results["test"]["bleu"], 2
        )
        loaded = run_without_lanco(LOAD_FROM_HUB, "tester/tiny-es", json.dumps(SOURCES), cwd=tmp_path, env=env)

    assert loaded["module"].startswith("transformers_modules")
    model, tokenizer = AutoModelForSeq2SeqLM.from_pretrained(run_dir).eval(), AutoTokenizer.from_pretrained(run_dir)
    expected = model.generate(**tokenizer(SOURCES, return_tensors="pt", padding=True), max_new_tokens=8)
    assert loaded["generated"] == expected.tolist()
    assert [r["translation_text"] for r in loaded["pipeline"]] == tokenizer.batch_decode(
        expected, skip_special_tokens=True
    )


def test_push_refuses_a_folder_without_safetensors(tmp_path):
    from lanco_hf.hub.push import push_run

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ValueError, match="needs config.json and \\*.safetensors"):
        push_run(tmp_path, "tester/x")


@pytest.mark.slow
def test_translation_pipeline_from_a_saved_folder(tiny_translation_run):
    run_dir, _ = tiny_translation_run
    translator = pipeline("translation", model=str(run_dir), trust_remote_code=True)
    model, tokenizer = AutoModelForSeq2SeqLM.from_pretrained(run_dir), AutoTokenizer.from_pretrained(run_dir)
    expected = translate(model, tokenizer, SOURCES, progress=False, max_new_tokens=8)
    assert [r["translation_text"] for r in translator(SOURCES, max_new_tokens=8)] == expected
    assert translator(SOURCES[0], max_new_tokens=8) == [{"translation_text": expected[0]}]
    beams = translator(SOURCES[0], max_new_tokens=8, num_beams=3, num_return_sequences=2)
    assert len(beams) == 2 and all("translation_text" in b for b in beams)


@pytest.mark.skipif(
    not os.environ.get("LANCO_HF_LIVE_HUB_TOKEN"), reason="set LANCO_HF_LIVE_HUB_TOKEN to test the real Hub"
)
def test_push_to_the_real_hub(tiny_translation_run, tmp_path):
    from huggingface_hub import HfApi

    from lanco_hf.hub.push import push_run

    token = os.environ["LANCO_HF_LIVE_HUB_TOKEN"]
    api = HfApi(token=token, endpoint="https://huggingface.co")
    repo_id = f"{api.whoami()['name']}/lanco-hf-test-{uuid.uuid4().hex[:8]}"
    try:
        push_run(tiny_translation_run[0], repo_id, private=True, token=token, endpoint="https://huggingface.co")
        assert "model.safetensors" in api.list_repo_files(repo_id)
    finally:
        api.delete_repo(repo_id, missing_ok=True)
