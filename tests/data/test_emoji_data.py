"""The emoji image-caption set: install hints, the fixed split, captions, and the real package (skipped when
``npm pack emoji-datasource-google@16.0.0`` / ``unicode-cldr-core`` are not installed)."""

from pathlib import Path

import pytest

from lanco_hf.data import emoji
from lanco_hf.data.cache import DataNotFoundError
from lanco_hf.data.clip_tokenizer import train_clip_tokenizer
from lanco_hf.data.emoji import emoji_captions, emoji_dataset, emoji_split, find_cldr_root, find_emoji_tarball


def _tarball():
    try:
        find_cldr_root(fetch=False)
        return find_emoji_tarball(Path.home() / ".cache" / "lanco_hf" / "emoji", fetch=False)
    except DataNotFoundError:
        return None


TARBALL = _tarball()
needs_emoji = pytest.mark.skipif(
    TARBALL is None,
    reason=(
        "npm pack emoji-datasource-google@16.0.0 --pack-destination ~/.cache/lanco_hf/emoji; "
        "apt-get install unicode-cldr-core"
    ),
)


def test_missing_package_names_the_npm_command(tmp_path, monkeypatch):
    monkeypatch.delenv("LANCO_HF_EMOJI_PATH", raising=False)
    monkeypatch.setenv("LANCO_HF_CACHE", str(tmp_path))
    with pytest.raises(DataNotFoundError, match=r"npm pack emoji-datasource-google@16\.0\.0 --pack-destination"):
        find_emoji_tarball(tmp_path / "elsewhere", fetch=False)


def test_missing_cldr_names_the_apt_package(tmp_path, monkeypatch):
    monkeypatch.delenv("LANCO_HF_CLDR_PATH", raising=False)
    monkeypatch.setenv("LANCO_HF_SYSTEM_DATA_ROOT", str(tmp_path / "none"))
    monkeypatch.setenv("LANCO_HF_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError, match="apt-get install unicode-cldr-core"):
        find_cldr_root(tmp_path, fetch=False)


def test_split_is_a_fixed_function_of_the_code_points():
    codes = [f"{0x1F300 + i:X}" for i in range(4000)]
    assert [emoji_split(c, 0.25) for c in codes] == [emoji_split(c, 0.25) for c in reversed(codes)][::-1]
    assert [emoji_split(c, 0.25) for c in ("1F600", "1F604", "1F34E", "1F350")] == ["test", "train", "test", "train"]
    share = sum(emoji_split(c, 0.25) == "test" for c in codes) / len(codes)
    assert abs(share - 0.25) < 0.03


def test_captions_name_the_emoji_its_keywords_and_its_subcategory():
    assert emoji_captions("pear", ["fruit", "pear"], "food fruit") == [
        "pear",
        "pear: fruit, pear",
        "a food fruit emoji: pear",
    ]
    assert emoji_captions("hash key", [], "keycap") == ["hash key", "a keycap emoji: hash key"]


def test_clip_tokenizer_ends_every_text_with_a_non_legacy_eos():
    tokenizer = train_clip_tokenizer(["a red apple", "a green pear"] * 5, vocab_size=300, model_max_length=6)
    ids = tokenizer(["A red apple", "a green pear a red apple a green pear"], truncation=True)["input_ids"]
    assert tokenizer.eos_token_id == 3 and tokenizer.bos_token_id == 2 and tokenizer.pad_token_id == 0
    assert all(row[0] == 2 and row[-1] == 3 and len(row) <= 6 for row in ids)
    assert tokenizer.decode(ids[0], skip_special_tokens=True) == "a red apple"  # lower-cased
    with pytest.raises(ValueError, match="vocab_size=100"):
        train_clip_tokenizer(["x"], vocab_size=100)


@needs_emoji
def test_real_emoji_set(monkeypatch):
    monkeypatch.setenv("LANCO_HF_EMOJI_PATH", str(TARBALL))
    records, _ = emoji.load_emoji_records()
    assert len(records) == 1911
    assert len({r["category"] for r in records}) == 10 and len({r["subcategory"] for r in records}) == 99
    assert sum(bool(r["keywords"]) for r in records) > 1800
    grinning = next(r for r in records if r["unified"] == "1F600")
    assert grinning["name"] == "grinning face" and grinning["keywords"] == ["face", "grin", "grinning face"]

    dataset = emoji_dataset()
    assert {name: len(split) for name, split in dataset.items()} == {"train": 1445, "test": 461}
    row = dataset["train"][0]
    assert row["image"].mode == "RGB" and row["image"].size == (64, 64)
    assert row["image"].getpixel((0, 0)) == (255, 255, 255)  # transparent background composited on white
    assert row["captions"][-1] == f"a {row['subcategory']} emoji: {row['name']}"
    assert "Component" not in set(dataset["test"]["category"])
    assert len(emoji_dataset(exclude_categories=("Component", "Flags"))["test"]) == 461 - 60
    with pytest.raises(ValueError, match=r"exclude_categories=\['Animals'\] are not emoji categories"):
        emoji_dataset(exclude_categories=("Animals",))
    with pytest.raises(ValueError, match="test_fraction=1.0"):
        emoji_dataset(test_fraction=1.0)
