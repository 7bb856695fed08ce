"""What a model card says about each method: paper, link, one-paragraph summary and BibTeX, kept as data in
``methods.yaml``. A loss carries its own citation (``EncouragingLoss.citation``, ``IAISLoss.citation``,
``ReNodeLoss.citation``), which its method takes (``citation_of`` in the YAML)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..losses.encouraging import EncouragingLoss
from ..losses.iais import IAISLoss
from ..modeling.imbalance_losses import ReNodeLoss

LOSSES = {loss.__name__: loss for loss in (EncouragingLoss, IAISLoss, ReNodeLoss)}


@dataclass(frozen=True)
class MethodInfo:
    name: str
    paper: str
    url: str
    summary: str
    bibtex: str


def load_methods(path: Path = Path(__file__).parent / "methods.yaml") -> dict[str, MethodInfo]:
    """Every method of ``methods.yaml`` by its key; ``citation_of`` names the loss class whose ``citation`` it cites."""
    methods = {}
    for key, entry in yaml.safe_load(path.read_text(encoding="utf-8")).items():
        loss = entry.pop("citation_of", None)
        bibtex = entry.pop("bibtex") if loss is None else LOSSES[loss].citation
        methods[key] = MethodInfo(**entry, bibtex=bibtex)
    return methods


METHODS = load_methods()
TRANSFORMER = METHODS["transformer"]
EXPLICIT_SPARSE = METHODS["explicit_sparse"]
MUSE = METHODS["muse"]
CROSS_VIEW = METHODS["cross_view"]
ADANORM = METHODS["adanorm"]
ENCOURAGING_LOSS = METHODS["encouraging_loss"]
RENODE = METHODS["renode"]
IAIS = METHODS["iais"]
LABEL_GRAPH = METHODS["label_graph"]
CLIP_OPENNESS = METHODS["clip_openness"]

METHODS_BY_MODEL_TYPE = {
    "lanco_seq2seq": TRANSFORMER,
    "explicit_sparse": EXPLICIT_SPARSE,
    "muse": MUSE,
    "cross_view": CROSS_VIEW,
    "renode_gcn": RENODE,
    "label_graph": LABEL_GRAPH,
}


def methods_of(config) -> list[MethodInfo]:
    """The methods a config uses: its architecture's, plus MUSE / cross-view decoding when another architecture
    switches them on, plus AdaNorm when a non-standard norm is chosen."""
    methods = [METHODS_BY_MODEL_TYPE.get(config.model_type, TRANSFORMER)]
    if getattr(config, "muse_variant", None) and MUSE not in methods:  # lanco options combine across architectures
        methods.append(MUSE)
    if getattr(config, "cross_view_routing", "last") != "last" and CROSS_VIEW not in methods:
        methods.append(CROSS_VIEW)
    if getattr(config, "norm_type", "layernorm") != "layernorm":
        methods.append(ADANORM)
    return methods


# a loss's ``name`` (in its ``to_dict()``, as results.json stores it) -> its method
METHODS_BY_LOSS = {EncouragingLoss.name: ENCOURAGING_LOSS, IAISLoss.name: IAIS, ReNodeLoss.name: RENODE}


def methods_of_loss(loss: dict | None) -> list[MethodInfo]:
    """The method of a training loss given by its ``to_dict()`` (empty for the model's own loss)."""
    return [METHODS_BY_LOSS[loss["name"]]] if loss and loss.get("name") in METHODS_BY_LOSS else []
