"""English-Spanish Bible parallel corpus: King James Version (``engKJV2006eb``) and Reina-Valera 1909
(``spaRV1909eb``), which share the KJV versification, read from Debian's SWORD modules with ``pysword``.

Data: Debian's ``sword-text-kjv`` and ``sword-text-sparv`` (two 3 MB packages, no dependencies), installed
(``sudo apt-get install sword-text-kjv sword-text-sparv``) or, when they are not, fetched on first use into the
lanco cache without root (``lanco_hf.data.fetch``); ``LANCO_HF_SWORD_PATH`` points at another SWORD folder.

The pairs are parsed once (seconds) and cached as hash-checked JSON Lines. The split is a
deterministic function of the verse id (``Gen.1.3``), so it never depends on file order or on a seed.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ..modeling.validation import check_float
from .cache import cache_dir, cached_jsonl
from .fetch import SWORD_BIBLES
from .progress import progress_bar

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
ENGLISH_MODULE = "engKJV2006eb"
SPANISH_MODULE = "spaRV1909eb"


def find_sword_root(sword_path: str | os.PathLike | None = None, *, fetch: bool = True) -> Path:
    """The SWORD folder holding both modules: ``sword_path``, ``$LANCO_HF_SWORD_PATH``, ``/usr/share/sword`` or the
    lanco cache; fetched into the cache when none has them and ``fetch`` is on (``DataNotFoundError`` otherwise)."""
    return SWORD_BIBLES.find([sword_path, os.environ.get("LANCO_HF_SWORD_PATH")], fetch=fetch)


def _open_bibles(root: str):
    from pysword.modules import SwordModules

    modules = SwordModules(root)
    modules.parse_modules()
    bibles = modules.get_bible_from_module(ENGLISH_MODULE), modules.get_bible_from_module(SPANISH_MODULE)
    for bible in bibles:
        remember_decompressed_blocks(bible)
    return bibles


def remember_decompressed_blocks(bible) -> None:
    """pysword's compressed-module reader (``ZTextModule``) decompresses a verse's whole block (a book, in these
    modules) for every verse it returns, so reading a book costs time quadratic in its length (Genesis: 7.5 s).
    Remembering the last blocks read makes it linear; the text is unchanged."""
    if hasattr(bible, "_decompressed_text"):
        bible._decompressed_text = functools.lru_cache(maxsize=4)(bible._decompressed_text)


def exit_with_parent() -> None:
    """Pool initializer: the worker gets SIGTERM when its parent dies, even by SIGKILL (Linux ``PR_SET_PDEATHSIG``),
    and dies of it (a handler inherited from the parent, such as ``lanco-hf train``'s exit-on-SIGTERM, would only
    raise ``SystemExit`` inside the task, which the pool catches), so a killed run never leaves its workers behind."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        parent = os.getppid()
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request was registered
            os._exit(1)


def _read_book(root: str, book_name: str) -> list[dict]:
    english, spanish = _open_bibles(root)
    structure = english.get_structure().get_books()
    book = next(b for b in structure["ot"] + structure["nt"] if b.name == book_name)
    verse_ids = (
        f"{book.osis_name}.{chapter}.{verse}"
        for chapter, length in enumerate(book.chapter_lengths, 1)
        for verse in range(1, length + 1)
    )
    verses = zip(
        verse_ids, english.get_iter(books=[book.name], clean=True), spanish.get_iter(books=[book.name], clean=True)
    )
    pairs = []
    for verse_id, en, es in verses:
        en, es = " ".join(en.split()), " ".join(es.split())
        if en and es:
            pairs.append({"id": verse_id, "en": en, "es": es})
    return pairs


def read_bible_pairs(sword_path: str | os.PathLike | None = None, books: list[str] | None = None) -> list[dict]:
    """Aligned verses as ``{"id": "Gen.1.3", "en": ..., "es": ...}`` in canonical order; verses empty on
    either side are dropped. ``books`` restricts the parse to some books (OSIS names such as ``"Ruth"``).
    Books are parsed in parallel, one process per core."""
    root = str(find_sword_root(sword_path))
    english, _ = _open_bibles(root)
    structure = english.get_structure().get_books()
    all_books = structure["ot"] + structure["nt"]
    if books is not None:
        unknown = set(books) - {book.osis_name for book in all_books}
        if unknown:
            raise ValueError(f"books={sorted(unknown)} are not OSIS book names of the KJV")
        all_books = [book for book in all_books if book.osis_name in books]
    names = [book.name for book in all_books]
    pool = ProcessPoolExecutor(max_workers=min(len(names), os.cpu_count() or 1), initializer=exit_with_parent)
    try:
        per_book = list(
            progress_bar(
                pool.map(_read_book, [root] * len(names), names),
                total=len(names),
                desc="Reading SWORD modules",
                unit="book",
            )
        )
    finally:
        # also when interrupted (SIGTERM / Ctrl-C in the parent) or failed: drop the books not started and let each
        # worker finish its current one (under a second). Killing a worker instead can cut its result off
        # half-written in the pool's pipe, and the pool's reader thread, which the interpreter joins at exit, then
        # waits for the rest forever.
        pool.shutdown(wait=True, cancel_futures=True)
    return [pair for book_pairs in per_book for pair in book_pairs]


def load_bible_pairs(sword_path: str | os.PathLike | None = None) -> tuple[list[dict], str]:
    """All 31k aligned verses, from the cache when it is intact; returns the records and their content hash."""
    return cached_jsonl(cache_dir("corpora") / "bible_en_es.jsonl", lambda: read_bible_pairs(sword_path))


def split_of(verse_id: str, validation_fraction: float, test_fraction: float) -> str:
    """``"test"``, ``"validation"`` or ``"train"`` from a hash of the verse id."""
    bucket = int(hashlib.sha1(verse_id.encode()).hexdigest()[:8], 16) / 2**32
    if bucket < test_fraction:
        return "test"
    if bucket < test_fraction + validation_fraction:
        return "validation"
    return "train"


def bible_translation_dataset(
    validation_fraction: float = 0.01, test_fraction: float = 0.02, sword_path: str | os.PathLike | None = None
):
    """The corpus as a ``datasets.DatasetDict`` (train / validation / test) with columns ``id``, ``en``, ``es``.

    ``dataset.info.description`` records the content hash of the cached corpus."""
    from datasets import Dataset, DatasetDict, DatasetInfo

    for name, value in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        check_float(name, value, 0, 0.5, min_inclusive=False, max_inclusive=False)
    pairs, sha = load_bible_pairs(sword_path)
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for pair in pairs:
        splits[split_of(pair["id"], validation_fraction, test_fraction)].append(pair)
    info = DatasetInfo(description=f"KJV / Reina-Valera 1909 verse pairs, corpus sha256 {sha}")
    return DatasetDict({name: Dataset.from_list(rows, info=info) for name, rows in splits.items()})
