"""The lanco-hf cache folder and hash-checked JSON Lines files in it.

A derived corpus is written with a ``.sha256`` sidecar; reading verifies it, so a truncated or edited
cache is detected and rebuilt instead of silently used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)


class DataNotFoundError(FileNotFoundError):
    """A data source is not installed; the message says which command installs it."""


def cache_dir(*parts: str) -> Path:
    """``$LANCO_HF_CACHE`` (default ``~/.cache/lanco_hf``) joined with ``parts``, created if missing."""
    root = Path(os.environ.get("LANCO_HF_CACHE", Path.home() / ".cache" / "lanco_hf"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_jsonl(path: Path, records: list[dict]) -> str:
    """Write ``records`` atomically with a ``.sha256`` sidecar; return the hash."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    sha = file_sha256(path)
    path.with_suffix(path.suffix + ".sha256").write_text(sha + "\n")
    return sha


def read_jsonl(path: Path) -> list[dict] | None:
    """The records of ``path`` if it exists and matches its sidecar hash, else ``None`` (with a warning)."""
    sidecar = path.with_suffix(path.suffix + ".sha256")
    if not path.exists() or not sidecar.exists():
        return None
    if file_sha256(path) != sidecar.read_text().strip():
        logger.warning("cache file %s does not match its hash; rebuilding it", path)
        return None
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def cached_jsonl(path: Path, build: Callable[[], list[dict]]) -> tuple[list[dict], str]:
    """Records from the hash-checked cache at ``path``, built with ``build()`` when missing or corrupted.
    Returns the records and their content hash."""
    records = read_jsonl(path)
    if records is None:
        records = build()
        write_jsonl(path, records)
    return records, file_sha256(path)
