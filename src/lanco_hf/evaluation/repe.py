"""REPE, retrieval-enhanced prompt engineering ("Delving into the Openness of CLIP", Ren et al., Findings of
ACL 2023): class text features are moved toward the mean feature of captions retrieved for the class, which
makes the features of competing classes easier to tell apart, with no training.

The paper queries LAION-5B's image index with ``"a photo of a {class}"``; here the corpus is any local
``datasets.Dataset`` of captions, searched by nearest neighbours in the model's own text-feature space, or in
a given ``index`` (one feature per caption row, e.g. the features of the images the captions describe, as in
LAION's index). Then, as in the official code (``repe/dump_features.py``, ``repe/repe.py``):

1. keep the top ``num_retrieved`` captions in rank order (paper: 1000);
2. keep those containing any token of the class name (case-insensitive substring; tokens are split on spaces
   and underscores); if none survives, the query prompt itself is used;
3. encode the first ``k`` (paper: 100) with the same text encoder, L2-normalise each and average: ``r_c``
   (not renormalised);
4. per template ``t'_c = (1 - lam) t_c + lam r_c``, renormalised, averaged over the templates and renormalised
   (paper: ``lam`` = 0.25). This is the official prompt-ensemble path (``ZeroshotCLIP2``), which REPE is used
   with; a single template is an ensemble of one here, so its mixed feature is renormalised too (the official
   single-prompt path leaves it unnormalised, which can change which class wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..modeling.validation import check_float, check_int
from .zero_shot import CLIPFeatureEncoder, check_templates, format_prompt


@dataclass
class RepeRetrieval:
    """What REPE retrieved: per class (in ``classnames`` order) the captions it averaged, and their mean
    feature ``r_c``; ``fallbacks`` lists the classes for which no retrieved caption named the class."""

    classnames: list[str]
    captions: list[list[str]]
    retrieved_means: torch.Tensor
    fallbacks: list[str]

    def to_dict(self, max_captions: int = 5) -> dict:
        return {
            "fallbacks": self.fallbacks,
            "num_captions": dict(zip(self.classnames, map(len, self.captions))),
            "first_captions": {name: caps[:max_captions] for name, caps in zip(self.classnames, self.captions)},
        }


def class_name_tokens(classname: str) -> list[str]:
    """The tokens REPE's filter looks for: the class name split on spaces and underscores."""
    return [token for token in classname.replace(" ", "_").split("_") if token]


def mentions_class(caption: str, classname: str) -> bool:
    """Whether ``caption`` contains any token of ``classname`` (case-insensitive substring, as the paper's filter)."""
    caption = caption.lower()
    return any(token.lower() in caption for token in class_name_tokens(classname))


def filter_captions(captions: Sequence[str], classname: str) -> list[str]:
    """The captions that mention the class, in their order."""
    return [caption for caption in captions if mentions_class(caption, classname)]


def retrieve_captions(
    encoder: CLIPFeatureEncoder,
    corpus,
    classnames: Sequence[str],
    caption_column: str = "caption",
    query_template: str = "a photo of a {}",
    num_retrieved: int = 1000,
    k: int = 100,
    index: torch.Tensor | None = None,
) -> RepeRetrieval:
    """Retrieve, filter and average captions of ``corpus`` (a ``datasets.Dataset``, or a list of strings) for
    every class; ``index`` (``(len(corpus), dim)``) replaces the captions' own text features as search keys."""
    for name, value in (("num_retrieved", num_retrieved), ("k", k)):
        check_int(name, value, 1)
    check_templates([query_template])
    captions = list(corpus[caption_column]) if hasattr(corpus, "column_names") else list(corpus)
    if not captions:
        raise ValueError("corpus is empty; REPE needs captions to retrieve from")
    if index is None:
        index = encoder.encode_texts(captions)
    elif index.ndim != 2 or index.shape[0] != len(captions):
        raise ValueError(f"index has shape {tuple(index.shape)}; expected ({len(captions)}, dim), one row per caption")
    queries = [format_prompt(query_template, name) for name in classnames]
    scores = encoder.encode_texts(queries) @ nn.functional.normalize(index.float(), dim=-1).T
    ranking = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :num_retrieved]

    kept, fallbacks = [], []
    for classname, query, ranked in zip(classnames, queries, ranking.tolist()):
        selected = filter_captions([captions[i] for i in ranked], classname)[:k]
        if not selected:
            selected = [query]
            fallbacks.append(classname)
        kept.append(selected)
    means = torch.stack([encoder.encode_texts(selected).mean(0) for selected in kept])
    return RepeRetrieval(list(classnames), kept, means, fallbacks)


def repe_class_features(
    encoder: CLIPFeatureEncoder,
    classnames: Sequence[str],
    templates: Sequence[str],
    retrieval: RepeRetrieval,
    lam: float = 0.25,
) -> torch.Tensor:
    """REPE class features ``(len(classnames), dim)``: ``lam`` = 0 gives the plain prompt-ensemble features,
    ``lam`` = 1 the normalised retrieved mean."""
    check_float("lam", lam, 0, 1)
    if list(classnames) != retrieval.classnames:
        raise ValueError("classnames must be those of the retrieval, in the same order")
    check_templates(templates)
    mixed = [
        nn.functional.normalize(
            (1 - lam) * encoder.encode_texts([format_prompt(t, c) for c in classnames])
            + lam * retrieval.retrieved_means,
            dim=-1,
        )
        for t in templates
    ]
    return nn.functional.normalize(torch.stack(mixed).mean(0), dim=-1)
