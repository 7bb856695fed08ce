"""Image-caption pairs from the Tux Paint stamps (Debian ``tuxpaint-stamps-default``, GPL-2): 785 drawings, each
with a one-sentence English caption ("A red apple."), from 16 categories (animals, food, symbols, town...).

Data on first use: the stamps are looked up in ``$LANCO_HF_TUXPAINT_PATH``, ``/usr/share/tuxpaint/stamps``, the
lanco cache (``debian/tuxpaint-stamps/``, or ``tuxpaint/`` where earlier set-ups unpacked it), and otherwise
fetched there without root and without installing Tux Paint itself (``apt-get install`` would pull it in with SDL
and more): ``apt-get download tuxpaint-stamps-default`` (161 MB) + ``dpkg-deb -x`` (``lanco_hf.data.fetch``).
Stamps that exist only as SVG (165) are skipped, so no SVG renderer is needed.

Images are prepared with PIL only: the transparent drawing is composited on white and letterboxed into a square of
``image_size`` pixels, then cached as a hash-checked ``.npz`` (uint8). The split is a deterministic function of the
stamp's path, so it never depends on file order or a seed; identical captions on different drawings ("A flower.",
6 stamps) are kept and count as matches of each other in retrieval.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..modeling.validation import check_float, check_int
from .bible import split_of
from .cache import cache_dir, cached_jsonl, file_sha256
from .fetch import TUXPAINT_STAMPS
from .progress import progress_bar

STAMPS_SUBDIR = Path(TUXPAINT_STAMPS.data_dir)


def find_stamps_root(path: str | os.PathLike | None = None, *, fetch: bool = True) -> Path:
    """The stamps folder: ``path``, ``$LANCO_HF_TUXPAINT_PATH``, the earlier unpack folder
    ``<lanco cache>/tuxpaint``, the system folder or the lanco cache; fetched into the cache when none has them and
    ``fetch`` is on (``DataNotFoundError`` otherwise)."""
    candidates = [path, os.environ.get("LANCO_HF_TUXPAINT_PATH"), cache_dir("tuxpaint") / STAMPS_SUBDIR]
    return TUXPAINT_STAMPS.find(candidates, fetch=fetch)


def read_stamps(root: str | os.PathLike | None = None) -> list[dict]:
    """Every stamp with a PNG drawing and an English caption, sorted by id:
    ``{"id": "food/fruit/lemon", "caption": "A yellow lemon.", "category": "food"}``."""
    root = find_stamps_root(root)
    records = []
    for text_file in progress_bar(sorted(root.rglob("*.txt")), desc="Reading stamp captions", unit="stamp"):
        if not text_file.with_suffix(".png").is_file():
            continue
        lines = text_file.read_text(encoding="utf-8").splitlines()
        caption = " ".join(lines[0].split()) if lines else ""
        if caption:
            stamp_id = text_file.relative_to(root).with_suffix("").as_posix()
            records.append({"id": stamp_id, "caption": caption, "category": stamp_id.split("/")[0]})
    return records


def letterbox(image: Image.Image, size: int) -> np.ndarray:
    """The drawing composited on white, scaled to fit a ``size`` x ``size`` square and centred;
    ``uint8 (size, size, 3)``."""
    rgba = image.convert("RGBA")
    canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    drawing = Image.alpha_composite(canvas, rgba).convert("RGB")
    scale = size / max(drawing.size)
    width, height = (max(1, round(side * scale)) for side in drawing.size)
    square = Image.new("RGB", (size, size), (255, 255, 255))
    square.paste(drawing.resize((width, height), Image.Resampling.LANCZOS), ((size - width) // 2, (size - height) // 2))
    return np.asarray(square, dtype=np.uint8)


def load_stamp_images(records: list[dict], image_size: int, root: str | os.PathLike | None = None) -> np.ndarray:
    """The letterboxed drawings of ``records`` as ``uint8 (n, image_size, image_size, 3)``, cached per size and
    per record list."""
    check_int("image_size", image_size, 8)
    ids = np.array([record["id"] for record in records])
    path = cache_dir("corpora") / f"tuxpaint_stamps_{image_size}px.npz"
    sidecar = path.with_suffix(".npz.sha256")
    if path.exists() and sidecar.exists() and file_sha256(path) == sidecar.read_text().strip():
        with np.load(path, allow_pickle=False) as cached:
            if np.array_equal(cached["ids"], ids):
                return cached["images"]
    root = find_stamps_root(root)
    drawings = progress_bar(records, desc=f"Preparing stamps ({image_size} px)", unit="stamp")
    images = np.stack([letterbox(Image.open(root / f"{record['id']}.png"), image_size) for record in drawings])
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, ids=ids, images=images)
    os.replace(tmp, path)
    sidecar.write_text(file_sha256(path) + "\n")
    return images


def load_stamps(root: str | os.PathLike | None = None) -> tuple[list[dict], str]:
    """The stamp records, from the hash-checked cache when intact; returns them and their content hash."""
    return cached_jsonl(cache_dir("corpora") / "tuxpaint_stamps.jsonl", lambda: read_stamps(root))


def tuxpaint_retrieval_dataset(
    image_size: int = 64,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.15,
    root: str | os.PathLike | None = None,
):
    """The stamps as a ``datasets.DatasetDict`` (train / validation / test) with columns ``id``, ``caption``,
    ``category`` and ``image`` (a PIL image, letterboxed to ``image_size`` pixels).

    ``dataset.info.description`` records the content hash of the cached stamp list."""
    from datasets import Dataset, DatasetDict, DatasetInfo, Features, Value
    from datasets import Image as ImageFeature

    for name, value in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        check_float(name, value, 0, 0.5, min_inclusive=False, max_inclusive=False)
    records, sha = load_stamps(root)
    images = load_stamp_images(records, image_size, root)
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for record, image in zip(records, images):
        split = split_of(record["id"], validation_fraction, test_fraction)
        splits[split].append({**record, "image": Image.fromarray(image)})
    features = Features(
        {"id": Value("string"), "caption": Value("string"), "category": Value("string"), "image": ImageFeature()}
    )
    description = f"Tux Paint stamps (tuxpaint-stamps-default), {image_size}px, list sha256 {sha}"
    info = DatasetInfo(description=description, features=features)
    return DatasetDict({name: Dataset.from_list(rows, features=features, info=info) for name, rows in splits.items()})
