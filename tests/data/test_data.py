"""The Bible corpus (real SWORD modules, skipped when they are not installed), its split, the hash-checked
cache and the BPE tokenizer."""

import json

import pytest

from lanco_hf.data.bible import ENGLISH_MODULE, _open_bibles, find_sword_root, read_bible_pairs, split_of
from lanco_hf.data.cache import DataNotFoundError, cached_jsonl, read_jsonl, write_jsonl
from lanco_hf.data.tokenizer import cached_bpe_tokenizer, train_bpe_tokenizer

try:
    find_sword_root(fetch=False)
    HAVE_SWORD = True
except DataNotFoundError:
    HAVE_SWORD = False
needs_sword = pytest.mark.skipif(not HAVE_SWORD, reason="apt-get install sword-text-kjv sword-text-sparv")


@pytest.fixture(scope="module")
def pairs():
    if not HAVE_SWORD:
        pytest.skip("apt-get install sword-text-kjv sword-text-sparv")
    return read_bible_pairs(books=["Ruth", "Phlm"])


@needs_sword
def test_verses_are_aligned_and_named(pairs):
    assert len(pairs) == 85 + 25
    assert [p["id"] for p in pairs[:2]] == ["Ruth.1.1", "Ruth.1.2"] and pairs[-1]["id"] == "Phlm.1.25"
    first = pairs[0]
    assert first["en"].startswith("Now it came to pass in the days when the judges ruled")
    assert first["es"].startswith("Y ACONTECIÓ en los días que gobernaban los jueces")
    assert all(p["en"] == " ".join(p["en"].split()) and p["es"] for p in pairs)


@needs_sword
def test_a_book_decompresses_each_block_once_and_reads_as_pysword_does():
    from pysword.modules import SwordModules

    root = str(find_sword_root(fetch=False))
    english, _ = _open_bibles(root)
    calls = []
    decompress = english._decompress
    english._decompress = lambda data: calls.append(len(data)) or decompress(data)
    ours = list(english.get_iter(books=["Ruth"], clean=True))
    modules = SwordModules(root)
    modules.parse_modules()
    assert ours == list(modules.get_bible_from_module(ENGLISH_MODULE).get_iter(books=["Ruth"], clean=True))
    assert len(ours) == 85 and len(calls) == 1  # pysword alone decompresses the book's block once per verse


@needs_sword
def test_unknown_book_is_rejected():
    with pytest.raises(ValueError, match="OSIS book names"):
        read_bible_pairs(books=["Genesis"])


def test_missing_modules_name_the_install_command(tmp_path, monkeypatch):
    monkeypatch.delenv("LANCO_HF_SWORD_PATH", raising=False)
    monkeypatch.setenv("LANCO_HF_SYSTEM_DATA_ROOT", str(tmp_path / "nothing"))
    monkeypatch.setenv("LANCO_HF_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError, match="apt-get install sword-text-kjv sword-text-sparv"):
        find_sword_root(tmp_path, fetch=False)


def test_split_is_a_fixed_function_of_the_verse_id():
    assert [split_of(v, 0.01, 0.02) for v in ("Gen.1.22", "Gen.1.1", "Rev.22.21")] == [
        split_of(v, 0.01, 0.02) for v in ("Gen.1.22", "Gen.1.1", "Rev.22.21")
    ]
    assert split_of("Gen.1.22", 0.01, 0.02) == "test"  # the first test verse of the shipped split
    ids = [f"Book.{c}.{v}" for c in range(1, 200) for v in range(1, 51)]
    shares = {name: sum(split_of(i, 0.1, 0.2) == name for i in ids) / len(ids) for name in ("test", "validation")}
    assert abs(shares["test"] - 0.2) < 0.02 and abs(shares["validation"] - 0.1) < 0.02


def test_cache_detects_corruption_and_rebuilds(tmp_path):
    path = tmp_path / "corpus.jsonl"
    records = [{"id": str(i), "text": "é" * i} for i in range(5)]
    write_jsonl(path, records)
    assert read_jsonl(path) == records
    path.write_text(path.read_text()[:-10])  # truncated
    assert read_jsonl(path) is None
    calls = []
    rebuilt, sha = cached_jsonl(path, lambda: calls.append(1) or records)
    assert rebuilt == records and calls == [1] and read_jsonl(path) == records
    again, sha_again = cached_jsonl(path, lambda: calls.append(1) or records)
    assert again == records and calls == [1] and sha_again == sha


@needs_sword
def test_bpe_tokenizer_is_lossless_on_real_verses(pairs, tmp_path):
    texts = [p["en"] for p in pairs] + [p["es"] for p in pairs]
    tokenizer = train_bpe_tokenizer(texts, vocab_size=600)
    assert [tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id] == [
        0,
        1,
        2,
        3,
    ]
    encoded = tokenizer(texts)["input_ids"]
    assert all(ids[-1] == tokenizer.eos_token_id for ids in encoded)
    assert tokenizer.batch_decode(encoded, skip_special_tokens=True) == texts
    assert tokenizer("ñandú", text_target="¿Qué?")["labels"][-1] == tokenizer.eos_token_id
    cached = cached_bpe_tokenizer(texts, 600, "ruth")
    again = cached_bpe_tokenizer(texts, 600, "ruth")
    assert cached(texts[:5])["input_ids"] == again(texts[:5])["input_ids"]
    saved = json.loads(again.backend_tokenizer.to_str())
    assert saved["model"]["type"] == "BPE"
