"""The Debian package dependency graph: one node per binary package of the apt lists, an edge from a package
to the first alternative of each of its ``Depends`` / ``Pre-Depends`` / ``Recommends`` entries that names a known
package, the ``Section`` as the node label and the one-line description as text.

Source: ``apt-cache dumpavail`` (needs ``apt-get update`` once; about 63k packages for Debian 12 main). The
stanzas are parsed into hash-checked JSON Lines in the lanco cache, named after a hash of the dump, so the same
apt lists always give the same file and new lists a new one; :func:`debian_package_graph` turns them into a
``torch_geometric`` ``Data`` (undirected edges, bag-of-words features, sections with too few packages unlabelled).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import torch

from ..modeling.validation import check_int
from .cache import DataNotFoundError, cache_dir, cached_jsonl
from .progress import progress_bar

DEPENDENCY_FIELDS = ("Depends", "Pre-Depends", "Recommends")
INSTALL_HINT = (
    "run `sudo apt-get update` on a Debian/Ubuntu machine (apt-cache dumpavail reads the apt lists), "
    "or pass a saved dump"
)
_PACKAGE_NAME = re.compile(r"[^\s(\[<:]+")


def read_dumpavail(source: str | Path | None = None) -> str:
    """The text of ``apt-cache dumpavail``, or of a saved dump file ``source``."""
    if source is not None:
        path = Path(source)
        if not path.is_file():
            raise DataNotFoundError(f"dump file {path} does not exist; save one with `apt-cache dumpavail > FILE`")
        return path.read_text(encoding="utf-8", errors="replace")
    if shutil.which("apt-cache") is None:
        raise DataNotFoundError(f"apt-cache is not installed; {INSTALL_HINT}")
    text = subprocess.run(
        ["apt-cache", "dumpavail"], capture_output=True, text=True, errors="replace", check=True
    ).stdout
    if "Package:" not in text:
        raise DataNotFoundError(f"apt-cache dumpavail printed no package; {INSTALL_HINT}")
    return text


def parse_stanzas(text: str) -> list[dict[str, str]]:
    """RFC 822 stanzas (``Key: value`` lines, continuation lines starting with a space) separated by blank lines."""
    stanzas = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key is not None:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            stanzas.append(fields)
    return stanzas


def first_alternatives(field: str) -> list[str]:
    """Package names of the first alternative of each comma-separated entry, without version, architecture
    qualifier (``:any``) or restrictions: ``"a (>= 1) | b, c:any"`` gives ``["a", "c"]``."""
    names = []
    for entry in field.split(","):
        match = _PACKAGE_NAME.match(entry.split("|")[0].strip())
        if match:
            names.append(match.group(0))
    return names


def package_records(text: str) -> list[dict]:
    """One record per package (the first stanza of each name), sorted by name: ``package``, ``section`` (without
    its archive-area prefix such as ``contrib/``), ``description`` and ``depends`` (sorted names of known packages,
    itself excluded)."""
    stanzas: dict[str, dict[str, str]] = {}
    for stanza in parse_stanzas(text):
        stanzas.setdefault(stanza["Package"], stanza)
    records = []
    for name in progress_bar(sorted(stanzas), desc="Building the package graph", unit="package"):
        stanza = stanzas[name]
        targets = {dep for field in DEPENDENCY_FIELDS for dep in first_alternatives(stanza.get(field, ""))}
        records.append(
            {
                "package": name,
                "section": stanza.get("Section", "unknown").rpartition("/")[2],
                "description": stanza.get("Description", "").split("\n")[0],
                "depends": sorted(dep for dep in targets if dep in stanzas and dep != name),
            }
        )
    return records


def load_debian_packages(source: str | Path | None = None) -> tuple[list[dict], str]:
    """The package records from the cache (built from the dump when missing) and their content hash."""
    text = read_dumpavail(source)
    source_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return cached_jsonl(cache_dir("corpora") / f"debian_packages_{source_hash}.jsonl", lambda: package_records(text))


def debian_package_graph(min_class_size: int = 100, num_features: int = 1000, source: str | Path | None = None):
    """The package graph as a ``torch_geometric.data.Data``.

    - ``edge_index``: every dependency edge in both directions (undirected, no self-loops, coalesced);
    - ``x``: binary bag of words of the descriptions (the ``num_features`` most frequent non-stop-words,
      scikit-learn's ``CountVectorizer``);
    - ``y``: index of the section in ``label_names`` (sorted section names) for sections with at least
      ``min_class_size`` packages, ``-1`` (unlabelled) for the others;
    - ``package_names``, ``label_names`` and ``sha256`` (content hash of the cached records).
    """
    from sklearn.feature_extraction.text import CountVectorizer
    from torch_geometric.data import Data
    from torch_geometric.utils import to_undirected

    for name, value in (("min_class_size", min_class_size), ("num_features", num_features)):
        check_int(name, value, 1)
    records, sha = load_debian_packages(source)
    index = {record["package"]: i for i, record in enumerate(records)}
    sources = [index[r["package"]] for r in records for _ in r["depends"]]
    targets = [index[dep] for r in records for dep in r["depends"]]
    edge_index = to_undirected(torch.tensor([sources, targets], dtype=torch.long), num_nodes=len(records))

    sizes: dict[str, int] = {}
    for record in records:
        sizes[record["section"]] = sizes.get(record["section"], 0) + 1
    label_names = sorted(section for section, size in sizes.items() if size >= min_class_size)
    label_of = {section: i for i, section in enumerate(label_names)}
    y = torch.tensor([label_of.get(record["section"], -1) for record in records], dtype=torch.long)

    vectorizer = CountVectorizer(binary=True, max_features=num_features, stop_words="english", dtype="float32")
    x = torch.from_numpy(vectorizer.fit_transform([r["description"] for r in records]).toarray())
    return Data(
        x=x,
        edge_index=edge_index,
        y=y,
        package_names=[r["package"] for r in records],
        label_names=label_names,
        sha256=sha,
    )


__all__ = [
    "debian_package_graph",
    "first_alternatives",
    "load_debian_packages",
    "package_records",
    "parse_stanzas",
    "read_dumpavail",
]
