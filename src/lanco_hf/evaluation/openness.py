"""The openness of CLIP-like models ("Delving into the Openness of CLIP", Ren et al., Findings of ACL 2023):
zero-shot accuracy as the vocabulary grows by whole sub-vocabularies, and REPE.

For every target vocabulary ``V_t`` and trial, the other vocabularies are added in a random order
(``U_j = V_t + V_pi1 + ... + V_pij``), and the test images of the classes of ``U_j`` are classified among ``U_j``:

- ``Acc_j``: accuracy over all those images; ``Acc-C`` = ``Acc_0`` (the closed vocabulary ``V_t``);
- ``S_j``: mean per-class accuracy over the classes of ``V_t`` only (classes without test images are skipped);
- ``Acc-E`` = mean over trials of ``mean_{j=0..n-1} Acc_j`` (extensibility);
- ``Acc-S`` = mean over trials of ``mean_{j=1..n-1} S_j`` (stability; step 0 excluded, as in the paper).

The scores are averaged over target vocabularies. Orders are ``numpy.random.RandomState(seed)``
permutations, drawn target by target and trial by trial as in the official code (seed 42 by default).
Accuracies are fractions in [0, 1].

``openness_scores`` works on any image-class score matrix; ``OpennessEvaluator`` computes it for a CLIP-like
model, encoding each image and prompt once, for plain prompts and for REPE. The REPE functions (``repe``), the
feature encoder and zero-shot head (``zero_shot``) and the report (``openness_report``) are re-exported here.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..modeling.validation import check_int
from .openness_report import openness_markdown, plot_openness_curves
from .repe import RepeRetrieval, filter_captions, repe_class_features, retrieve_captions
from .zero_shot import (
    CLIP_TEMPLATE,
    IMAGENET_TEMPLATES_SELECT,
    CLIPFeatureEncoder,
    ZeroShotClassifierHead,
    check_templates,
    prompt_class_features,
)

__all__ = [
    "CLIP_TEMPLATE",
    "IMAGENET_TEMPLATES_SELECT",
    "CLIPFeatureEncoder",
    "OpennessEvaluator",
    "OpennessResult",
    "RepeRetrieval",
    "VocabularyOpenness",
    "ZeroShotClassifierHead",
    "expansion_orders",
    "filter_captions",
    "openness_markdown",
    "caption_rows",
    "openness_scores",
    "plot_openness_curves",
    "prompt_class_features",
    "repe_class_features",
    "repe_retrievals",
    "retrieve_captions",
    "vocabularies_of",
]


@dataclass
class VocabularyOpenness:
    """The scores of one target vocabulary; per trial, the other vocabularies in the order they were added and
    the curves ``Acc_j`` and ``S_j`` for ``j = 0..n-1`` (``S_0`` is shown in curves, not counted in Acc-S)."""

    vocabulary: str
    acc_c: float
    acc_e: float
    acc_s: float
    orders: list[list[str]]
    accuracy_curves: list[list[float]]
    stability_curves: list[list[float]]


@dataclass
class OpennessResult:
    vocabularies: dict[str, VocabularyOpenness]
    trials: int
    seed: int

    def _mean(self, name: str) -> float:
        return float(np.mean([getattr(v, name) for v in self.vocabularies.values()]))

    @property
    def acc_c(self) -> float:
        return self._mean("acc_c")

    @property
    def acc_e(self) -> float:
        return self._mean("acc_e")

    @property
    def acc_s(self) -> float:
        return self._mean("acc_s")

    def accuracy_curve(self) -> list[float]:
        """``Acc_j`` averaged over target vocabularies and trials, for ``j = 0..n-1``."""
        return np.mean([c for v in self.vocabularies.values() for c in v.accuracy_curves], axis=0).tolist()

    def stability_curve(self) -> list[float]:
        """``S_j`` averaged over target vocabularies and trials, for ``j = 0..n-1``."""
        return np.mean([c for v in self.vocabularies.values() for c in v.stability_curves], axis=0).tolist()

    def to_dict(self) -> dict:
        return {
            "acc_c": self.acc_c,
            "acc_e": self.acc_e,
            "acc_s": self.acc_s,
            "accuracy_curve": self.accuracy_curve(),
            "stability_curve": self.stability_curve(),
            "trials": self.trials,
            "seed": self.seed,
            "vocabularies": {name: asdict(v) for name, v in self.vocabularies.items()},
        }


def expansion_orders(vocabularies: Sequence[str], trials: int, seed: int = 42) -> dict[str, list[list[str]]]:
    """For each target vocabulary, ``trials`` random orders of the other vocabularies."""
    check_int("trials", trials, 1)
    rng = np.random.RandomState(seed)
    orders = {}
    for target in vocabularies:
        others = [name for name in vocabularies if name != target]
        orders[target] = [rng.permutation(others).tolist() for _ in range(trials)]
    return orders


def _check_vocabularies(vocabularies: Mapping[str, Sequence[int]], num_classes: int, labels: torch.Tensor) -> None:
    if len(vocabularies) < 2:
        raise ValueError(f"vocabularies has {len(vocabularies)} entries; allowed: >= 2 (stability needs an expansion)")
    seen: dict[int, str] = {}
    for name, classes in vocabularies.items():
        if len(classes) == 0:
            raise ValueError(f"vocabularies[{name!r}] is empty; every vocabulary needs at least one class")
        for c in classes:
            if not 0 <= c < num_classes:
                raise ValueError(f"vocabularies[{name!r}] holds class {c}; allowed: 0..{num_classes - 1}")
            if c in seen:
                raise ValueError(
                    f"class {c} is in vocabularies {seen[c]!r} and {name!r}; vocabularies must be disjoint"
                )
            seen[c] = name
        if not torch.isin(labels, torch.as_tensor(list(classes))).any():
            raise ValueError(f"vocabularies[{name!r}] has no labelled image; its Acc-C is undefined")
    if len(seen) != num_classes:
        missing = sorted(set(range(num_classes)) - set(seen))
        raise ValueError(f"classes {missing[:10]} are in no vocabulary; vocabularies must partition all classes")


def _step(scores: torch.Tensor, labels: torch.Tensor, classes: list[int], target: list[int]) -> tuple[float, float]:
    """Classify the images of ``classes`` among ``classes``: overall accuracy, and mean per-class accuracy
    over the classes of ``target`` that have images."""
    columns = torch.as_tensor(classes)
    rows = torch.isin(labels, columns)
    row_labels = labels[rows]
    correct = (columns[scores[rows][:, columns].argmax(1)] == row_labels).double()
    per_class = [correct[row_labels == c].mean().item() for c in target if (row_labels == c).any()]
    return correct.mean().item(), float(np.mean(per_class))


def openness_scores(
    scores,
    labels,
    vocabularies: Mapping[str, Sequence[int]],
    trials: int = 3,
    seed: int = 42,
) -> OpennessResult:
    """Acc-C / Acc-E / Acc-S from image-class ``scores`` (``(n_images, n_classes)``, e.g. cosine similarities),
    integer ``labels`` and ``vocabularies`` (name -> class indices, a partition of all classes)."""
    scores = torch.as_tensor(scores)
    labels = torch.as_tensor(labels, dtype=torch.long)
    if scores.ndim != 2 or labels.shape != (scores.shape[0],):
        raise ValueError(f"scores {tuple(scores.shape)} and labels {tuple(labels.shape)} must be (n, classes) and (n,)")
    _check_vocabularies(vocabularies, scores.shape[1], labels)
    orders = expansion_orders(list(vocabularies), trials, seed)
    results = {}
    for target, target_orders in orders.items():
        acc_c, s_0 = _step(scores, labels, list(vocabularies[target]), list(vocabularies[target]))
        accuracy_curves, stability_curves = [], []
        for order in target_orders:
            classes, accuracy, stability = list(vocabularies[target]), [acc_c], [s_0]
            for added in order:
                classes += vocabularies[added]
                acc_j, s_j = _step(scores, labels, classes, list(vocabularies[target]))
                accuracy.append(acc_j)
                stability.append(s_j)
            accuracy_curves.append(accuracy)
            stability_curves.append(stability)
        results[target] = VocabularyOpenness(
            vocabulary=target,
            acc_c=acc_c,
            acc_e=float(np.mean([np.mean(curve) for curve in accuracy_curves])),
            acc_s=float(np.mean([np.mean(curve[1:]) for curve in stability_curves])),
            orders=target_orders,
            accuracy_curves=accuracy_curves,
            stability_curves=stability_curves,
        )
    return OpennessResult(results, trials, seed)


class OpennessEvaluator:
    """The openness protocol for a CLIP-like ``model`` (``get_image_features`` / ``get_text_features``) and its
    ``processor`` on labelled ``images``: ``labels`` are class names and ``vocabularies`` maps each vocabulary
    name to its class names (a partition of the classes; classes without images are allowed, as distractors).

    The images are encoded once, at construction; prompts and captions once, whatever is evaluated after."""

    def __init__(
        self,
        model,
        processor,
        images: Iterable,
        labels: Sequence[str],
        vocabularies: Mapping[str, Sequence[str]],
        templates: Sequence[str] = (CLIP_TEMPLATE,),
        trials: int = 3,
        seed: int = 42,
        batch_size: int = 64,
        image_keys: Iterable[Hashable] | None = None,
        progress: bool = False,
    ):
        check_templates(templates)
        self.classnames = [name for classes in vocabularies.values() for name in classes]
        index = {name: i for i, name in enumerate(self.classnames)}
        if len(index) != len(self.classnames):
            raise ValueError("vocabularies must be disjoint: a class name appears in two of them (or twice in one)")
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise ValueError(f"labels {unknown[:10]} are in no vocabulary; vocabularies must cover every label")
        self.labels = torch.tensor([index[label] for label in labels])
        self.vocabularies = {name: [index[c] for c in classes] for name, classes in vocabularies.items()}
        _check_vocabularies(self.vocabularies, len(self.classnames), self.labels)
        check_int("trials", trials, 1)
        self.templates = list(templates)
        self.trials, self.seed = trials, seed
        self.encoder = CLIPFeatureEncoder(model, processor, batch_size, progress)
        self.image_features = self.encoder.encode_images(images, image_keys)
        if self.image_features.shape[0] != len(self.labels):
            raise ValueError(f"{self.image_features.shape[0]} images for {len(self.labels)} labels")

    def class_features(self) -> torch.Tensor:
        """Prompt-ensemble features of the classes, in ``self.classnames`` order."""
        return prompt_class_features(self.encoder, self.classnames, self.templates)

    def retrieve(
        self,
        corpus,
        caption_column: str = "caption",
        k: int = 100,
        num_retrieved: int = 1000,
        query_template: str = "a photo of a {}",
        index: torch.Tensor | None = None,
    ) -> RepeRetrieval:
        """REPE's retrieval for every class from ``corpus`` (see ``repe.retrieve_captions``)."""
        return retrieve_captions(
            self.encoder, corpus, self.classnames, caption_column, query_template, num_retrieved, k, index
        )

    def repe_features(self, retrieval: RepeRetrieval, lam: float = 0.25) -> torch.Tensor:
        """REPE class features from ``retrieval`` with mixing weight ``lam`` (see ``repe.repe_class_features``)."""
        return repe_class_features(self.encoder, self.classnames, self.templates, retrieval, lam)

    def evaluate(self, class_features: torch.Tensor | None = None) -> OpennessResult:
        """The protocol with ``class_features`` (default: the plain prompt ensemble)."""
        if class_features is None:
            class_features = self.class_features()
        if class_features.shape != (len(self.classnames), self.image_features.shape[1]):
            raise ValueError(
                f"class_features has shape {tuple(class_features.shape)}; expected "
                f"({len(self.classnames)}, {self.image_features.shape[1]}) in classnames order"
            )
        return openness_scores(
            self.image_features @ class_features.T.float(), self.labels, self.vocabularies, self.trials, self.seed
        )


def vocabularies_of(splits, class_column: str, vocabulary_column: str) -> dict[str, list[str]]:
    """Vocabulary name -> its class names, over all splits (sorted, so the expansion orders are reproducible)."""
    vocabulary_of: dict[str, str] = {}
    for split in splits:
        for name, vocabulary in zip(split[class_column], split[vocabulary_column]):
            if vocabulary_of.setdefault(name, vocabulary) != vocabulary:
                raise ValueError(f"class {name!r} is in vocabularies {vocabulary_of[name]!r} and {vocabulary!r}")
    vocabularies: dict[str, list[str]] = {}
    for name, vocabulary in sorted(vocabulary_of.items()):
        vocabularies.setdefault(vocabulary, []).append(name)
    return dict(sorted(vocabularies.items()))


def caption_rows(split, caption_column: str) -> tuple[list[str], list[int]]:
    """The captions of ``split``, one per entry, with the row each comes from."""
    captions, rows = [], []
    for row, value in enumerate(split[caption_column]):
        for caption in [value] if isinstance(value, str) else value:
            captions.append(caption)
            rows.append(row)
    return captions, rows


def repe_retrievals(
    evaluator: OpennessEvaluator,
    corpus,
    caption_column: str,
    image_column: str,
    kinds: list[str],
    k: int,
    num_retrieved: int,
    query_template: str,
) -> dict[str, RepeRetrieval]:
    """REPE's retrieval from the captions of ``corpus`` (a split), searched by the captions' own text features
    (``"text"``) and / or by the features of the images they describe (``"image"``, as LAION's index)."""
    captions, rows = caption_rows(corpus, caption_column)
    retrievals = {}
    for kind in kinds:
        index = (
            evaluator.encoder.encode_images(corpus[image_column])[torch.as_tensor(rows)] if kind == "image" else None
        )
        retrievals[f"REPE ({kind} index)"] = evaluator.retrieve(
            captions, k=k, num_retrieved=num_retrieved, query_template=query_template, index=index
        )
    return retrievals
