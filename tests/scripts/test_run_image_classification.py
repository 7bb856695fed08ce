"""``scripts/run_image_classification.py`` end to end on a tiny JSON Lines file of PNG paths: a ResNet (what
``lanco-hf train`` image classification saves) from scratch with the encouraging loss, fine-tuning the saved result
(image processor and labels kept), and a transformers ViT. The reported accuracy equals the saved model's own."""

import json

import numpy as np
import pytest
import torch
from helpers import load_script, write_jsonl
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification, ResNetForImageClassification

from lanco_hf.evaluation import classification_metrics

run_image_classification = load_script("run_image_classification")

TINY_RESNET = "embedding_size=8,hidden_sizes=[8,16],depths=[1,1]"
TINY_VIT = "hidden_size=16,num_hidden_layers=1,num_attention_heads=2,intermediate_size=32,patch_size=4"
COMMON = [
    *("--do_train --do_eval --max_steps 3 --per_device_train_batch_size 8 --learning_rate 3e-3".split()),
    *("--report_to none --save_strategy no --disable_tqdm true --image_size 16".split()),
]
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 60), "blue": (40, 60, 220)}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """12 x 12 noisy images of three colours, saved as PNG files named by relative paths in the JSON Lines files."""
    folder = tmp_path_factory.mktemp("images")
    (folder / "pictures").mkdir()
    rng = np.random.default_rng(0)
    rows = {"train": [], "validation": []}
    for split, count in (("train", 24), ("validation", 9)):
        for i in range(count):
            label = sorted(COLOURS)[i % 3]
            pixels = np.clip(np.array(COLOURS[label]) + rng.normal(0, 40, (12, 12, 3)), 0, 255).astype(np.uint8)
            path = f"pictures/{split}_{i}.png"
            Image.fromarray(pixels).save(folder / path)
            rows[split].append({"image": path, "label": label})
    args = [
        *("--train_file", write_jsonl(folder / "train.jsonl", rows["train"])),
        *("--validation_file", write_jsonl(folder / "validation.jsonl", rows["validation"])),
    ]
    return {"folder": folder, "rows": rows, "args": args}


@torch.no_grad()
def check_accuracy(output_dir, results, data):
    """The reported accuracy is the saved model's accuracy on the validation images, one image at a time."""
    model = AutoModelForImageClassification.from_pretrained(output_dir).eval()
    processor = AutoImageProcessor.from_pretrained(output_dir)
    rows = data["rows"]["validation"]
    predicted = [
        model(**processor(Image.open(data["folder"] / row["image"]).convert("RGB"), return_tensors="pt"))
        .logits[0]
        .argmax()
        .item()
        for row in rows
    ]
    expected = classification_metrics(predicted, [model.config.label2id[row["label"]] for row in rows])
    assert results["eval_accuracy"] == expected["accuracy"]
    assert results["eval_mean_class_accuracy"] == expected["mean_class_accuracy"]
    return model


@pytest.mark.slow
def test_resnet_from_scratch_then_fine_tune_then_vit(data, tmp_path):
    scratch = tmp_path / "scratch"
    results = run_image_classification.main(
        [*COMMON, *data["args"], "--model_type", "resnet", "--config_overrides", TINY_RESNET]
        + ["--loss", "encouraging", "--log_end", "0.5", "--output_dir", str(scratch)]
    )
    model = check_accuracy(scratch, results, data)
    assert isinstance(model, ResNetForImageClassification) and model.config.hidden_sizes == [8, 16]
    assert list(model.config.id2label.values()) == ["blue", "green", "red"]
    assert json.loads((scratch / "train_results.json").read_text())["loss_function"]["log_end"] == 0.5

    tuned = tmp_path / "tuned"
    results = run_image_classification.main(
        [*COMMON, *data["args"], "--model_name_or_path", str(scratch), "--output_dir", str(tuned)]
    )
    tuned_model = check_accuracy(tuned, results, data)
    assert AutoImageProcessor.from_pretrained(tuned).to_dict() == AutoImageProcessor.from_pretrained(scratch).to_dict()
    assert not torch.equal(tuned_model.classifier[1].weight, model.classifier[1].weight)

    vit = tmp_path / "vit"
    results = run_image_classification.main(
        [*COMMON, *data["args"], "--model_type", "vit", "--config_overrides", TINY_VIT, "--output_dir", str(vit)]
    )
    assert check_accuracy(vit, results, data).config.model_type == "vit"


def test_other_labels_need_ignore_mismatched_sizes(data, tmp_path):
    saved = tmp_path / "saved"
    run_image_classification.main(
        [*COMMON, *data["args"], "--model_type", "resnet", "--config_overrides", TINY_RESNET]
        + ["--max_steps", "1", "--do_eval", "false", "--output_dir", str(saved)]
    )
    other = [
        {"image": str(data["folder"] / row["image"]), "label": f"x{i % 2}"}
        for i, row in enumerate(data["rows"]["train"])
    ]
    train = write_jsonl(tmp_path / "other.jsonl", other)
    common = [
        *COMMON,
        "--do_eval",
        "false",
        "--max_steps",
        "1",
        "--train_file",
        train,
        "--model_name_or_path",
        str(saved),
    ]
    with pytest.raises(ValueError, match=r"trained on the labels \['blue', 'green', 'red'\] but the data has"):
        run_image_classification.main([*common, "--output_dir", str(tmp_path / "refused")])
    run_image_classification.main([*common, "--ignore_mismatched_sizes", "--output_dir", str(tmp_path / "new_head")])
    assert AutoModelForImageClassification.from_pretrained(tmp_path / "new_head").config.id2label == {0: "x0", 1: "x1"}
