"""``lanco_hf.data.load_corpus``: the corpora with the features Hub datasets use, and ``lanco-hf push-dataset``
through the real ``datasets`` / huggingface_hub clients against the loopback Hub (``datasets.load_dataset`` of the
pushed repo yields the same rows)."""

import os
import subprocess
import sys

import pytest
from fake_hub import FakeHub

from lanco_hf.data import load_corpus
from lanco_hf.data.cache import DataNotFoundError

BOOKS = ["Ruth", "Phlm", "Jonah", "Esth", "Titus", "Jude"]  # every split of the default fractions has verses


@pytest.fixture()
def verse_cache(tmp_path, monkeypatch):
    """A lanco-hf cache whose Bible corpus holds three books (the real verses, in the cache's own format)."""
    from lanco_hf.data.bible import read_bible_pairs
    from lanco_hf.data.cache import cache_dir, cached_jsonl

    monkeypatch.setenv("LANCO_HF_CACHE", str(tmp_path / "cache"))
    try:
        cached_jsonl(cache_dir("corpora") / "bible_en_es.jsonl", lambda: read_bible_pairs(books=BOOKS))
    except DataNotFoundError:
        pytest.skip("apt-get install sword-text-kjv sword-text-sparv")
    return tmp_path / "cache"


def test_bible_corpus_has_a_translation_column(verse_cache):
    from datasets import Translation

    from lanco_hf.data.bible import bible_translation_dataset

    corpus = load_corpus("bible_en_es")
    flat = bible_translation_dataset()
    assert list(corpus) == ["train", "validation", "test"]
    for split in corpus:
        assert corpus[split].features["translation"] == Translation(languages=["en", "es"])
        assert corpus[split].column_names == ["id", "translation"]
        assert corpus[split]["translation"] == [{"en": r["en"], "es": r["es"]} for r in flat[split]]
        assert corpus[split]["id"] == flat[split]["id"]


def test_unknown_corpus_names_the_allowed_values():
    with pytest.raises(ValueError, match="corpus='bible' is not a lanco-hf corpus; allowed values: bible_en_es, "):
        load_corpus("bible")


@pytest.mark.slow
def test_push_dataset_then_load_dataset_from_the_hub(verse_cache, tmp_path):
    from huggingface_hub import DatasetCard

    corpus = load_corpus("bible_en_es")
    with FakeHub() as hub:
        env = {
            **os.environ,
            "LANCO_HF_CACHE": str(verse_cache),
            "HF_ENDPOINT": hub.endpoint,
            "HF_TOKEN": "hf_fake",
            "HF_HOME": str(tmp_path / "hf_home"),
            "HF_HUB_OFFLINE": "0",
            "HF_HUB_DISABLE_XET": "1",  # the loopback Hub speaks Git LFS, not Xet
        }
        pushed = subprocess.run(
            [sys.executable, "-m", "lanco_hf.cli", "push-dataset", "bible_en_es", "tester/bible"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        files = hub.datasets["tester/bible"].files
        loader = subprocess.run(
            [sys.executable, "-c", LOAD_DATASET, "tester/bible", str(tmp_path / "loaded")],
            env={**env, "HF_DATASETS_CACHE": str(tmp_path / "datasets_cache")},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert loader.returncode == 0, loader.stderr[-3000:]

    assert sorted(name for name in files if name.endswith(".parquet")) == [
        f"data/{split}-00000-of-00001.parquet" for split in ("test", "train", "validation")
    ]
    assert not [name for name in files if name.endswith((".bin", ".pkl", ".pt", ".arrow"))]
    card = DatasetCard(files["README.md"].decode())
    assert card.data.license == "other" and card.data.license_name == "public-domain"
    assert card.data.language == ["en", "es"] and card.data.task_categories == ["translation"]
    assert card.data.size_categories == ["n<1K"]  # 395 verses
    for split, rows in corpus.items():
        assert f"| {split} | {len(rows):,} |" in card.text
    assert "sword-text-kjv" in card.text and 'load_dataset("tester/bible")' in card.text
    loaded = load_dataset_from_disk(tmp_path / "loaded")
    assert list(loaded) == list(corpus) or sorted(loaded) == sorted(corpus)
    for split in corpus:
        assert loaded[split].features == corpus[split].features
        assert loaded[split].to_list() == corpus[split].to_list()


# `datasets.load_dataset` of the pushed repo in a fresh process (HF_ENDPOINT is read at import), saved to disk
LOAD_DATASET = """
import sys
from datasets import load_dataset
load_dataset(sys.argv[1]).save_to_disk(sys.argv[2])
"""


def load_dataset_from_disk(path):
    from datasets import load_from_disk

    return load_from_disk(str(path))


def test_the_translation_task_reads_the_corpus_columns(verse_cache):
    from lanco_hf.data.bible import bible_translation_dataset
    from lanco_hf.training.arguments import TranslationDataArguments
    from lanco_hf.training.translation import load_translation_data

    data = load_translation_data(TranslationDataArguments(dataset="bible_en_es"))
    flat = bible_translation_dataset()
    for split in flat:
        assert data[split].to_list() == flat[split].to_list()
    assert data["train"].info.description == flat["train"].info.description  # the card's corpus hash


@pytest.mark.slow
def test_fashion_mnist_corpus_has_image_and_class_label_features():
    import numpy as np
    from datasets import ClassLabel, Image

    from lanco_hf.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    try:
        images, labels = load_fashion_mnist("test")
    except DataNotFoundError:
        pytest.skip("apt-get install dataset-fashion-mnist")
    corpus = load_corpus("fashion_mnist")
    assert {name: len(split) for name, split in corpus.items()} == {"train": 60_000, "test": 10_000}
    test = corpus["test"]
    assert test.features["image"] == Image() and test.features["label"] == ClassLabel(names=list(CLASS_NAMES))
    assert test["label"] == labels.tolist()
    for index in (0, 1, 9_999):
        assert (np.asarray(test[index]["image"]) == images[index]).all()
