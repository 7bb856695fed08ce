"""Planetoid citation graphs (Cora, CiteSeer, PubMed) read offline with ``torch_geometric.datasets.Planetoid``.

No registry ships them; the raw files (``ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}`` from
kimiyoung/planetoid) are looked up in ``planetoid_path``, ``$LANCO_HF_PLANETOID_PATH``, the project's shared
data folder (``../shared/data/planetoid`` beside the checkout, or ``shared/data/planetoid`` inside it) or the lanco
cache, and when none has them and a network is there, fetched with torch_geometric's own download (from
``Planetoid.url``) into the cache. They are copied into the lanco cache (the source may be read-only) and processed
there by torch_geometric. The raw files are
Python pickles that torch_geometric unpickles, so only use copies from a source you trust.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ..modeling.validation import check_choice
from .cache import DataNotFoundError, cache_dir, cached_folder, file_sha256

PLANETOID_NAMES = ("Cora", "CiteSeer", "PubMed")
RAW_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
CHECKOUT = Path(__file__).resolve().parents[3]
SHARED_DATA = (CHECKOUT.parent / "shared" / "data" / "planetoid", CHECKOUT / "shared" / "data" / "planetoid")


def raw_file_names(name: str) -> list[str]:
    return [f"ind.{name.lower()}.{suffix}" for suffix in RAW_SUFFIXES]


def find_planetoid_raw(name: str, planetoid_path: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """The folder holding the raw files of ``name``: ``<root>/<name>/raw`` for the first root that has them all;
    downloaded into the lanco cache (:func:`download_planetoid_raw`) when none has them and ``download`` is on."""
    check_choice("name", name, PLANETOID_NAMES)
    roots = [planetoid_path, os.environ.get("LANCO_HF_PLANETOID_PATH"), *SHARED_DATA, cache_dir("planetoid", "raw")]
    for root in filter(None, roots):
        raw = Path(root) / name / "raw"
        if all((raw / file).is_file() for file in raw_file_names(name)):
            return raw
    searched = ", ".join(str(Path(root) / name / "raw") for root in filter(None, roots))
    message = (
        f"Planetoid {name} raw files not found in {searched}; put ind.{name.lower()}.* "
        f"(github.com/kimiyoung/planetoid, data/) in DIR/{name}/raw and set LANCO_HF_PLANETOID_PATH=DIR"
    )
    if not download:
        raise DataNotFoundError(message)
    return download_planetoid_raw(name, hint=message)


def download_planetoid_raw(name: str, hint: str = "") -> Path:
    """Download the raw files of ``name`` with torch_geometric's ``download_url`` (from ``Planetoid.url``) into
    ``<lanco cache>/planetoid/raw/<name>/raw``; without a network, ``DataNotFoundError`` with ``hint``."""
    from torch_geometric import data as pyg_data
    from torch_geometric.datasets import Planetoid

    target = cache_dir("planetoid", "raw", name) / "raw"
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as download:
        try:
            for file in raw_file_names(name):
                pyg_data.download_url(f"{Planetoid.url}/{file}", download)
        except OSError as error:  # URLError and socket errors: no network
            raise DataNotFoundError(f"{hint} (downloading from {Planetoid.url} failed: {error})") from error
        if all((target / file).is_file() for file in raw_file_names(name)):  # another process finished first
            return target
        shutil.rmtree(target, ignore_errors=True)
        os.replace(download, target)
        Path(download).mkdir()  # for TemporaryDirectory's clean-up
    return target


def planetoid_graph(name: str = "Cora", planetoid_path: str | os.PathLike | None = None):
    """The graph as a ``torch_geometric.data.Data`` (``x``, ``edge_index``, ``y`` and the standard Planetoid masks,
    which ReNode replaces with its own splits).

    The processed copy is cached under a hash of the raw files, so edited raw files give a new graph, never the
    stale one, and is hash-checked on every use, so a damaged ``processed/data.pt`` is rebuilt."""
    from torch_geometric.datasets import Planetoid

    raw = find_planetoid_raw(name, planetoid_path)
    digest = hashlib.sha256()
    for file in raw_file_names(name):
        digest.update(f"{file} {file_sha256(raw / file)}\n".encode())

    def build(root: Path) -> None:
        target = root / name / "raw"
        target.mkdir(parents=True)
        for file in raw_file_names(name):
            shutil.copyfile(raw / file, target / file)
        Planetoid(str(root), name)  # processes the raw files into root/name/processed

    root = cached_folder(cache_dir("planetoid") / f"{name}-{digest.hexdigest()[:16]}", build)
    return Planetoid(str(root), name)[0]


__all__ = ["PLANETOID_NAMES", "find_planetoid_raw", "planetoid_graph"]
