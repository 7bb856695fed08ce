"""Data loaders fail loudly: a missing apt data package names the command that installs it, and a corrupted
cache is detected by its hash and rebuilt, never read."""

import json

import pytest

from lanco_hf.data import bible, debtags, emoji, fashion_mnist
from lanco_hf.data.cache import DataNotFoundError, cached_jsonl, file_sha256

MISSING = [
    (
        "bible",
        "LANCO_HF_SWORD_PATH",
        lambda: bible.load_bible_pairs(),
        "apt-get install sword-text-kjv sword-text-sparv",
    ),
    (
        "fashion_mnist",
        "LANCO_HF_FASHION_MNIST_PATH",
        lambda: fashion_mnist.find_fashion_mnist(),
        "apt-get install dataset-fashion-mnist",
    ),
    (
        "emoji",
        "LANCO_HF_CLDR_PATH",
        lambda: emoji.find_cldr_root(),
        "apt-get install unicode-cldr-core",
    ),
    (
        "debtags",
        "LANCO_HF_APT_LISTS",
        lambda: debtags.find_apt_lists(),
        "apt-get -o Acquire::Languages=en update",
    ),
]


@pytest.mark.parametrize("variable, load, command", [case[1:] for case in MISSING], ids=[case[0] for case in MISSING])
def test_missing_data_package_names_the_install_command(variable, load, command, tmp_path, monkeypatch):
    """With the package not installed (an empty system root) and no apt to fetch it (an empty PATH)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("LANCO_HF_SYSTEM_DATA_ROOT", str(tmp_path / "not-installed"))
    monkeypatch.setattr(debtags, "APT_LISTS", str(tmp_path / "not-installed"))
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv(variable, str(empty))
    monkeypatch.setenv("LANCO_HF_CACHE", str(tmp_path / "cache"))  # no corpus cached from another test
    with pytest.raises(DataNotFoundError) as caught:
        load()
    assert command in str(caught.value)
    assert str(empty) in str(caught.value)  # says where it looked
    assert isinstance(caught.value, FileNotFoundError)


RECORDS = [{"id": "Ruth.1.1", "en": "In the days", "es": "Y aconteció"}, {"id": "Ruth.1.2", "en": "And", "es": "Y"}]


def corrupt_truncate(path):
    path.write_bytes(path.read_bytes()[:-7])


def corrupt_flip(path):
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01  # one bit: still valid JSON, a silently different record
    path.write_bytes(bytes(data))


def corrupt_sidecar(path):
    path.with_suffix(".jsonl.sha256").write_text("0" * 64 + "\n")


def corrupt_no_sidecar(path):
    path.with_suffix(".jsonl.sha256").unlink()


@pytest.mark.parametrize("corrupt", [corrupt_truncate, corrupt_flip, corrupt_sidecar, corrupt_no_sidecar])
def test_corrupted_cache_is_detected_and_rebuilt(corrupt, tmp_path):
    path = tmp_path / "corpus.jsonl"
    builds = []

    def build():
        builds.append(1)
        return RECORDS

    records, sha = cached_jsonl(path, build)
    assert records == RECORDS and len(builds) == 1
    assert cached_jsonl(path, build) == (RECORDS, sha) and len(builds) == 1  # an intact cache is read, not rebuilt

    corrupt(path)
    records, again = cached_jsonl(path, build)
    assert len(builds) == 2 and records == RECORDS and again == sha
    assert [json.loads(line) for line in path.read_text().splitlines()] == RECORDS
    assert file_sha256(path) == path.with_suffix(".jsonl.sha256").read_text().strip()
