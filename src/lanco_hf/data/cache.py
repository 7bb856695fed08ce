"""The lanco-hf cache folder and hash-checked JSON Lines files in it.

A derived corpus is written with a ``.sha256`` sidecar and a derived folder (a trained tokenizer, a processed
graph) with a manifest of its files' hashes; reading verifies them, so a truncated or edited cache is detected
and rebuilt instead of silently used. Every write goes through a temporary file or folder of a unique name that
is renamed into place, so concurrent first runs never collide.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
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


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file of a unique name in the same folder, then rename it into
    place: a reader sees the old or the new content, never a part, and concurrent writers (two first runs building
    the same cache) never share a temporary file; the last rename wins with a complete file."""
    path = Path(path)
    descriptor, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(path: Path, records: list[dict]) -> str:
    """Write ``records`` atomically with a ``.sha256`` sidecar; return the hash."""
    data = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    # the sidecar goes first: a reader that sees the new data file also sees its hash (an older sidecar beside
    # older data is only a spurious rebuild, never a silent use of unchecked data)
    atomic_write(path.with_suffix(path.suffix + ".sha256"), sha + "\n")
    atomic_write(path, data)
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


MANIFEST_NAME = "lanco_manifest.sha256.json"


def folder_hashes(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` except the manifest."""
    return {
        path.relative_to(folder).as_posix(): file_sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST_NAME
    }


def folder_matches_manifest(folder: Path) -> bool:
    """Whether ``folder`` holds exactly the files of its manifest, each with its recorded hash."""
    manifest = folder / MANIFEST_NAME
    try:
        recorded = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    return recorded == folder_hashes(folder)


def cached_folder(folder: Path, build: Callable[[Path], None]) -> Path:
    """A hash-checked cache folder: ``folder`` when its files match its manifest, otherwise rebuilt by
    ``build(tmp)`` in a fresh temporary folder that is then renamed into place (a damaged or stale copy is moved
    aside and deleted first). Concurrent builders each build their own copy; the first rename wins and the others
    keep it. Returns ``folder``."""
    if folder_matches_manifest(folder):
        return folder
    if folder.exists():
        logger.warning("cache folder %s is incomplete or does not match its hashes; rebuilding it", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        build(tmp)
        atomic_write(tmp / MANIFEST_NAME, json.dumps(folder_hashes(tmp), indent=1) + "\n")
        if folder.exists() and not folder_matches_manifest(folder):
            stale = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".stale"))
            with contextlib.suppress(FileNotFoundError):  # another builder may have moved it already
                os.replace(folder, stale / folder.name)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, folder)
        except OSError:  # another builder's complete copy is already in place
            if not folder_matches_manifest(folder):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
