"""Multi-label text classification corpus: Debian package descriptions labelled with their debtags.

Set-up (Debian): ``sudo apt-get -o Acquire::Languages=en update`` adds the English descriptions
(``Translation-en``) next to the ``Packages`` lists in ``/var/lib/apt/lists`` (about 7 MB download). The lists are
read with ``apt-helper cat-file`` (any compression apt uses); ``Description-md5`` joins a package's tags
(``Tag:``) to its long description. Every package with tags and a description is cached as hash-checked JSON Lines
under a name derived from the lists' content, so a refreshed list builds a new cache and a result can name the
corpus hash it was computed on.

The label set keeps the most frequent tags of a few topical facets (what a package is for and works with, its
interface, field, game genre, network role), labels that correlate strongly (``game::arcade`` with
``use::gameplaying``, ``field::biology`` with ``field::biology:bioinformatics``, ``interface::x11`` with
``interface::graphical``). Packages with none of them are dropped. The split is a fixed function of the text, so
identical descriptions always share a split.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ..modeling.validation import check_float, check_int
from .bible import split_of
from .cache import DataNotFoundError, cache_dir, cached_jsonl
from .debian_graph import parse_stanzas
from .progress import progress_bar

APT_LISTS = "/var/lib/apt/lists"
APT_HELPER = "/usr/lib/apt/apt-helper"
UPDATE_COMMAND = "sudo apt-get -o Acquire::Languages=en update"
TOPICAL_FACETS = ("interface", "use", "works-with", "field", "game", "network")
TAGS_PER_FACET = 4


def find_apt_lists(lists_dir: str | os.PathLike | None = None) -> tuple[list[Path], list[Path]]:
    """The ``Packages`` and ``Translation-en`` lists of the ``main`` component in ``lists_dir``
    (default ``$LANCO_HF_APT_LISTS`` or ``/var/lib/apt/lists``), sorted by name."""
    folder = Path(lists_dir or os.environ.get("LANCO_HF_APT_LISTS", APT_LISTS))
    packages = sorted(p for p in folder.glob("*_main_binary-*_Packages*") if ".diff" not in p.name)
    translations = sorted(p for p in folder.glob("*_main_i18n_Translation-en*") if ".diff" not in p.name)
    if not packages or not translations:
        missing = "Packages" if not packages else "Translation-en"
        raise DataNotFoundError(f"no {missing} list of the main component in {folder}; run `{UPDATE_COMMAND}`")
    return packages, translations


def read_list(path: Path) -> str:
    """The text of an apt list: read as is when uncompressed, else through ``apt-helper cat-file``."""
    if path.suffix in ("", ".txt"):
        return path.read_text(encoding="utf-8")
    helper = shutil.which("apt-helper") or APT_HELPER
    if not Path(helper).exists():
        raise DataNotFoundError(f"{path} is compressed and {APT_HELPER} (Debian's apt) is not installed to read it")
    return subprocess.run([helper, "cat-file", str(path)], check=True, capture_output=True, text=True).stdout


def description_text(description: str) -> str:
    """The synopsis line, a newline, then the long description with apt's ``.`` paragraph marks removed and the
    whitespace collapsed."""
    synopsis, *body = description.split("\n")
    words = " ".join(line.strip() for line in body if line.strip() != ".").split()
    return f"{synopsis.strip()}\n{' '.join(words)}".strip()


def read_debtags_corpus(lists_dir: str | os.PathLike | None = None) -> list[dict]:
    """Every tagged package with an English description, as ``{"package", "text", "tags"}`` sorted by package name.
    A package listed in several lists (release, updates, security) is taken from the first list by file name."""
    packages, translations = find_apt_lists(lists_dir)
    progress = progress_bar(total=len(translations) + len(packages), desc="Reading apt lists", unit="list")
    descriptions: dict[str, str] = {}
    for path in translations:
        progress.set_postfix_str(path.name, refresh=False)
        for stanza in parse_stanzas(read_list(path)):
            if "Description-md5" in stanza and "Description-en" in stanza:
                descriptions.setdefault(stanza["Description-md5"], stanza["Description-en"])
        progress.update()
    records: dict[str, dict] = {}
    for path in packages:
        progress.set_postfix_str(path.name, refresh=False)
        for stanza in parse_stanzas(read_list(path)):
            name, tags = stanza.get("Package"), stanza.get("Tag")
            description = descriptions.get(stanza.get("Description-md5", ""))
            if name and tags and description and name not in records:
                tag_list = sorted({tag.strip() for tag in tags.replace("\n", " ").split(",") if tag.strip()})
                records[name] = {"package": name, "text": description_text(description), "tags": tag_list}
        progress.update()
    progress.close()
    return [records[name] for name in sorted(records)]


def load_debtags_corpus(lists_dir: str | os.PathLike | None = None) -> tuple[list[dict], str]:
    """The corpus from the hash-checked cache (built on first use, about 5 s); returns the records and the sha256
    of the cached JSON Lines."""
    packages, translations = find_apt_lists(lists_dir)
    digest = hashlib.sha256()
    for path in packages + translations:
        digest.update(path.name.encode() + b"\n" + path.read_bytes())
    path = cache_dir("corpora") / f"debtags-{digest.hexdigest()[:16]}.jsonl"
    return cached_jsonl(path, lambda: read_debtags_corpus(lists_dir))


def select_tags(
    records: Sequence[dict], facets: Sequence[str] = TOPICAL_FACETS, tags_per_facet: int = TAGS_PER_FACET
) -> list[str]:
    """The ``tags_per_facet`` most frequent tags of each facet in ``facets`` (ties by name; placeholder ``TODO``
    tags excluded), facet by facet."""
    if not facets or isinstance(facets, str):
        raise ValueError(
            f"facets must be a non-empty list of debtags facets such as {list(TOPICAL_FACETS)}, got {facets!r}"
        )
    check_int("tags_per_facet", tags_per_facet, 1)
    counts = Counter(tag for record in records for tag in record["tags"])
    chosen = []
    for facet in facets:
        tags = [tag for tag in counts if tag.startswith(f"{facet}::") and not tag.endswith("::TODO")]
        if not tags:
            raise ValueError(f"facets contains {facet!r}, which tags no package of the corpus")
        chosen += sorted(tags, key=lambda tag: (-counts[tag], tag))[:tags_per_facet]
    return chosen


def debtags_dataset(
    facets: Sequence[str] = TOPICAL_FACETS,
    tags_per_facet: int = TAGS_PER_FACET,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.2,
    lists_dir: str | os.PathLike | None = None,
):
    """The multi-label corpus as a ``datasets.DatasetDict`` (train / validation / test) with columns ``package``,
    ``text``, ``tags`` (a list of ``ClassLabel`` ids; ``features["tags"].feature.names`` are the label names) and
    ``labels`` (the multi-hot float vector a model trains on). ``info.description`` records the corpus hash."""
    from datasets import ClassLabel, Dataset, DatasetDict, DatasetInfo, Features, List, Value

    for name, value in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        check_float(name, value, 0, 0.5, min_inclusive=False, max_inclusive=False)
    records, sha = load_debtags_corpus(lists_dir)
    names = select_tags(records, facets, tags_per_facet)
    index = {name: i for i, name in enumerate(names)}
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for record in records:
        tags = sorted(index[tag] for tag in record["tags"] if tag in index)
        if tags:
            labels = [0.0] * len(names)
            for tag in tags:
                labels[tag] = 1.0
            row = {"package": record["package"], "text": record["text"], "tags": tags, "labels": labels}
            splits[split_of(record["text"], validation_fraction, test_fraction)].append(row)
    features = Features(
        {
            "package": Value("string"),
            "text": Value("string"),
            "tags": List(ClassLabel(names=names)),
            "labels": List(Value("float32")),
        }
    )
    info = DatasetInfo(
        features=features,
        description=f"Debian package descriptions with {len(names)} debtags of the facets {', '.join(facets)} "
        f"({tags_per_facet} per facet), corpus sha256 {sha}",
    )
    return DatasetDict({name: Dataset.from_list(rows, features=features, info=info) for name, rows in splits.items()})
