"""Widget-ready cards: every card with a Hub widget has its ``pipeline_tag`` and ``widget:`` examples in the Hub's
form for the task (text; an example image uploaded with the repo; ``src`` + ``candidate_labels`` for zero-shot), and
the inference path behind the widget, ``pipeline(pipeline_tag, model=repo, trust_remote_code=True)`` on the pushed
repo, runs with exactly the widget's input (parsed from the card) in a Python without lanco_hf. Also ``base_model``
and ``datasets:`` ids in the card metadata."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from fake_hub import FakeHub
from helpers import CONFIG_DIR, GOLDEN_CARDS, run_without_lanco
from huggingface_hub import ModelCard, hf_hub_url

from lanco_hf.data.cache import DataNotFoundError
from lanco_hf.hub.push import render_card
from lanco_hf.training.run import WIDGET_IMAGE

# the pushed repo's card, its widget examples run through the card's pipeline exactly as the widget gives them
RUN_WIDGETS = """
import json, sys
from huggingface_hub import ModelCard
from transformers import pipeline

repo = sys.argv[1]
card = ModelCard.load(repo)
task = card.data.pipeline_tag
runner = pipeline(task, model=repo, trust_remote_code=True)
outputs = []
for example in card.data.widget:
    if "text" in example:
        outputs.append(runner(example["text"]))
    elif "candidate_labels" in example:
        labels = [label.strip() for label in example["candidate_labels"].split(",")]
        outputs.append(runner(example["src"], candidate_labels=labels))
    else:
        outputs.append(runner(example["src"]))
print(json.dumps({"task": task, "widget": card.data.widget, "outputs": outputs}))
"""


def push_and_run_widgets(run_dir, repo: str, tmp_path) -> dict:
    """``lanco-hf push run_dir repo`` to a loopback Hub, then the widget examples of the pushed card run through its
    pipeline in a Python without lanco_hf; returns the widget, the outputs and the repo's files."""
    with FakeHub() as hub:
        env = {
            "HF_ENDPOINT": hub.endpoint,
            "HF_TOKEN": "hf_fake",
            "HF_HOME": str(tmp_path / "hf_home"),
            "HF_HUB_OFFLINE": "0",
        }
        pushed = subprocess.run(
            [sys.executable, "-m", "lanco_hf.cli", "push", str(run_dir), repo],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        result = run_without_lanco(RUN_WIDGETS, repo, cwd=tmp_path, env=env)
        result["files"] = sorted(hub.repos[repo].files)
        result["endpoint"] = hub.endpoint
    return result


def local_pipeline(task: str, run_dir):
    from transformers import pipeline

    return pipeline(task, model=str(run_dir), trust_remote_code=True)


def assert_image_widget(result, repo: str) -> None:
    """The widget's image is the run's example image, uploaded with the repo and named by its resolve URL."""
    assert WIDGET_IMAGE in result["files"]
    assert [example["src"] for example in result["widget"]] == [
        f"{result['endpoint']}/{repo}/resolve/main/{WIDGET_IMAGE}"
    ]


def rounded(outputs, places: int = 4):
    return json.loads(json.dumps(outputs), parse_float=lambda value: round(float(value), places))


# ---------------------------------------------------------------- card metadata


@pytest.fixture()
def golden_run(tmp_path):
    """A copy of a golden run folder whose ``results.json`` card fields a test may edit."""

    def copy(case: str, **card_fields):
        folder = tmp_path / case
        shutil.copytree(GOLDEN_CARDS / case, folder)
        results = json.loads((folder / "results.json").read_text())
        results["card"].update(card_fields)
        (folder / "results.json").write_text(json.dumps(results))
        return folder

    return copy


def test_datasets_lists_hub_ids_only_and_base_model_names_the_checkpoint(golden_run):
    pushed = ModelCard(
        render_card(
            golden_run("translation_muse_gca_adanorm", dataset_name="tester/bible", base_model="tester/base-mt"),
            "tester/mt",
        )
    )
    assert pushed.data.datasets == ["tester/bible"] and pushed.data.base_model == "tester/base-mt"
    assert pushed.data.eval_results[0].dataset_type == "tester/bible"
    local = ModelCard(render_card(golden_run("multilabel_label_graph"), "tester/tags"))
    assert local.data.datasets is None and local.data.base_model is None  # "debtags" is no Hub dataset
    assert local.data.eval_results[0].dataset_name == "debtags"


def test_image_widgets_name_the_uploaded_image_by_its_resolve_url():
    card = ModelCard(render_card(GOLDEN_CARDS / "contrastive_clip", "tester/clip"))
    assert card.data.pipeline_tag == "zero-shot-image-classification"
    assert card.data.widget == [
        {
            "src": hf_hub_url("tester/clip", WIDGET_IMAGE),
            "candidate_labels": "animal mammal, face smiling, food fruit",
            "example_title": "face smiling",
        }
    ]
    image = ModelCard(render_card(GOLDEN_CARDS / "image_classification_plain", "tester/fmnist"))
    assert image.data.widget == [{"src": hf_hub_url("tester/fmnist", WIDGET_IMAGE), "example_title": "Ankle boot"}]


WIDGET_FORMS = {  # the Hub widget of a pipeline tag, and the key its examples need
    "translation": "text",
    "text-classification": "text",
    "image-classification": "src",
    "zero-shot-image-classification": "candidate_labels",
}


def test_every_card_with_a_hub_widget_has_examples_in_the_widgets_form():
    widgets = {}
    for case in sorted(GOLDEN_CARDS.iterdir()):
        card = ModelCard(render_card(case, f"lanco/{case.name}"))
        if card.data.pipeline_tag in WIDGET_FORMS:
            widget = getattr(card.data, "widget", None)
            assert widget and all(WIDGET_FORMS[card.data.pipeline_tag] in example for example in widget), case.name
            widgets[card.data.pipeline_tag] = widget
    assert set(widgets) == set(WIDGET_FORMS)


# ---------------------------------------------------------------- the widget's inference path, on pushed repos


@pytest.mark.slow
def test_translation_widget_runs_through_the_translation_pipeline(tiny_translation_run, tmp_path):
    run_dir, _ = tiny_translation_run
    result = push_and_run_widgets(run_dir, "tester/tiny-es", tmp_path)
    examples = json.loads((run_dir / "results.json").read_text())["card"]["examples"]
    assert result["task"] == "translation"
    assert result["widget"] == [{"text": example["source"]} for example in examples[:2]]
    local = local_pipeline("translation", run_dir)
    assert result["outputs"] == [local(example["text"]) for example in result["widget"]]


@pytest.mark.slow
def test_image_classification_widget_runs_through_its_pipeline(tmp_path):
    from PIL import Image

    from lanco_hf.cli import main
    from lanco_hf.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    try:
        images, labels = load_fashion_mnist("test")
    except DataNotFoundError:
        pytest.skip("apt-get install dataset-fashion-mnist")
    run_dir = tmp_path / "fmnist"
    tiny = ["model_config.embedding_size=8", "model_config.hidden_sizes=[8,16]", "model_config.depths=[1,1]"]
    settings = ["max_steps=2", "per_device_train_batch_size=16", "max_test_samples=32", "disable_tqdm=true"]
    with contextlib.redirect_stdout(io.StringIO()):
        main(
            [
                "train",
                str(CONFIG_DIR / "encouraging_fmnist.yaml"),
                f"output_dir={run_dir}",
                "ood_dataset=null",
                *tiny,
                *settings,
            ]
        )
    assert (np.asarray(Image.open(run_dir / WIDGET_IMAGE).convert("L")) == images[0]).all()  # the first test image
    result = push_and_run_widgets(run_dir, "tester/fmnist", tmp_path)
    assert result["task"] == "image-classification"
    assert_image_widget(result, "tester/fmnist")
    assert result["widget"][0]["example_title"] == CLASS_NAMES[labels[0]]
    (output,) = result["outputs"]
    assert {entry["label"] for entry in output} <= set(CLASS_NAMES)
    expected = local_pipeline("image-classification", run_dir)(str(run_dir / WIDGET_IMAGE))
    assert rounded(output) == rounded(expected)


@pytest.mark.slow
def test_zero_shot_clip_widget_runs_through_its_pipeline(tmp_path, monkeypatch):
    from lanco_hf.cli import main
    from lanco_hf.data.emoji import find_cldr_root, find_emoji_tarball

    try:
        find_cldr_root()
        tarball = find_emoji_tarball(os.path.expanduser("~/.cache/lanco_hf/emoji"))
    except DataNotFoundError:
        pytest.skip("npm pack emoji-datasource-google@16.0.0; apt-get install unicode-cldr-core")
    monkeypatch.setenv("LANCO_HF_EMOJI_PATH", str(tarball))
    run_dir = tmp_path / "clip"
    tiny = [
        f"model_config.{tower}.{key}={value}"
        for tower in ("text_config", "vision_config")
        for key, value in (("hidden_size", 16), ("intermediate_size", 32), ("num_hidden_layers", 1))
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        main(
            [
                "train",
                str(CONFIG_DIR / "clip_emoji.yaml"),
                f"output_dir={run_dir}",
                "model_config.projection_dim=16",
                *tiny,
                "image_size=16",
                "max_steps=2",
                "per_device_train_batch_size=16",
                "tokenizer_vocab_size=400",
                "disable_tqdm=true",
            ]
        )
    result = push_and_run_widgets(run_dir, "tester/clip", tmp_path)
    assert result["task"] == "zero-shot-image-classification"
    assert_image_widget(result, "tester/clip")
    (example,) = result["widget"]
    labels = [label.strip() for label in example["candidate_labels"].split(",")]
    assert len(labels) == 3 and example["example_title"] in labels
    (output,) = result["outputs"]
    assert sorted(entry["label"] for entry in output) == sorted(labels)
    expected = local_pipeline("zero-shot-image-classification", run_dir)(
        str(run_dir / WIDGET_IMAGE), candidate_labels=labels
    )
    assert rounded(output) == rounded(expected)


@pytest.mark.slow
def test_multilabel_widget_runs_through_the_text_classification_pipeline(tmp_path):
    from lanco_hf.cli import main
    from lanco_hf.data.debtags import find_apt_lists

    try:
        find_apt_lists()
    except DataNotFoundError:
        pytest.skip("run `sudo apt-get -o Acquire::Languages=en update`")
    run_dir = tmp_path / "tags"
    tiny = [
        "model_config.encoder_config.hidden_size=16",
        "model_config.encoder_config.num_hidden_layers=1",
        "model_config.encoder_config.num_attention_heads=2",
        "model_config.encoder_config.intermediate_size=32",
    ]
    settings = ["tokenizer_vocab_size=400", "max_train_samples=48", "max_validation_samples=24"]
    settings += ["max_test_samples=12", "num_train_epochs=1", "num_examples_to_show=2", "disable_tqdm=true"]
    with contextlib.redirect_stdout(io.StringIO()):
        main(
            [
                "train",
                str(CONFIG_DIR / "label_graph_debtags_graph_soft.yaml"),
                f"output_dir={run_dir}",
                *tiny,
                *settings,
            ]
        )
    result = push_and_run_widgets(run_dir, "tester/tags", tmp_path)
    texts = json.loads((run_dir / "results.json").read_text())["card"]["widget_texts"]
    assert result["task"] == "text-classification" and len(texts) == 2
    assert result["widget"] == [{"text": text} for text in texts]
    assert all("\n" not in text for text in texts)  # a package's one-line description
    local = local_pipeline("text-classification", run_dir)
    assert rounded(result["outputs"]) == rounded([local(example["text"]) for example in result["widget"]])


@pytest.mark.slow
def test_retrieval_widget_ranks_its_captions_through_the_retrieval_pipeline(tmp_path, monkeypatch):
    from lanco_hf.cli import main
    from lanco_hf.data.tuxpaint import STAMPS_SUBDIR, find_stamps_root

    try:
        stamps = find_stamps_root(os.path.expanduser(f"~/.cache/lanco_hf/tuxpaint/{STAMPS_SUBDIR}"))
    except DataNotFoundError:
        pytest.skip("apt-get download tuxpaint-stamps-default && dpkg-deb -x ...")
    monkeypatch.setenv("LANCO_HF_TUXPAINT_PATH", str(stamps))
    run_dir = tmp_path / "vilt"
    tiny = ["model_config.hidden_size=32", "model_config.num_hidden_layers=1", "model_config.intermediate_size=64"]
    settings = ["model_config.patch_size=16", "image_size=32", "tokenizer_vocab_size=300", "max_steps=2"]
    settings += ["per_device_train_batch_size=6", "num_hard_negatives=2", "max_test_samples=12", "disable_tqdm=true"]
    with contextlib.redirect_stdout(io.StringIO()):
        main(["train", str(CONFIG_DIR / "iais_vilt_baseline.yaml"), f"output_dir={run_dir}", *tiny, *settings])
    result = push_and_run_widgets(run_dir, "tester/vilt", tmp_path)
    assert result["task"] == "zero-shot-image-classification" and "pipeline_retrieval.py" in result["files"]
    assert_image_widget(result, "tester/vilt")
    (example,) = result["widget"]
    captions = [caption.strip() for caption in example["candidate_labels"].split(",")]
    assert len(captions) == 3 and example["example_title"] in captions
    (output,) = result["outputs"]
    assert sorted(entry["label"] for entry in output) == sorted(captions)
    assert sum(entry["score"] for entry in output) == pytest.approx(1.0, abs=1e-5)

    # the scores are the model's: softmax over the pair logits of ViltForImageAndTextRetrieval
    import torch
    from PIL import Image
    from transformers import AutoProcessor, ViltForImageAndTextRetrieval

    model = ViltForImageAndTextRetrieval.from_pretrained(run_dir).eval()
    processor = AutoProcessor.from_pretrained(run_dir)
    image = Image.open(run_dir / WIDGET_IMAGE).convert("RGB")
    inputs = processor(images=[image] * 3, text=captions, padding=True, return_tensors="pt")
    with torch.no_grad():
        scores = model(**inputs).logits[:, 0].softmax(-1).tolist()
    assert {entry["label"]: round(entry["score"], 4) for entry in output} == {
        caption: round(score, 4) for caption, score in zip(captions, scores)
    }
