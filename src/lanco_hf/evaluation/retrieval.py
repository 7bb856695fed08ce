"""Image-text retrieval evaluation for single-stream models: recall@K in both directions over a held-out set and
the intra-modal self-attention distance (ISD; "Learning Relation Alignment for Calibrated Cross-modal Retrieval",
Ren et al., ACL 2021, Sec. 3.3) of the matched pairs.

- ``recall_at_k(scores, relevant)``: text->image (each caption ranks all images) and image->text (each image ranks
  all captions) recall@K; a query is a hit when one of its relevant items is among the first K. Ties count against
  the model (an irrelevant candidate scoring the same as the best relevant one ranks before it).
- ``isd(query, key, text_mask, image_mask)`` (from ``lanco_hf.losses.iais``): per pair, the symmetric KL between the
  linguistic self-attention of the last layer and the visual self-attention mapped into linguistic space
  (``IAISLoss``'s quantity, no gradient). The paper's ISDa maps with Flickr30k-Entities phrase-box annotations;
  without annotations the mapping is the model's own alignment (singular: argmax word->region, by default; or
  distributed). Lower is more consistent.
- ``attention_entropy``: the normalised row entropy (1 = uniform) of the last layer's real text and image
  self-attention maps of the matched pairs, reported beside the ISD (a low ISD from flattened attention shows here).
- ``evaluate_retrieval(model, grid)`` scores every (caption, image) pair of an ``ImageTextGrid`` with a ViLT
  model and returns all of them; ``retrieval_compute_metrics`` is the same as a ``Trainer`` ``compute_metrics``
  (see ``lanco_hf.training.iais.IAISTrainer``); ``lanco-hf evaluate retrieval --model RUN_DIR`` runs it on a
  saved model.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from tqdm.auto import tqdm

from ..losses.capture import ViltQueryKeyCapture
from ..losses.iais import attention_entropy, isd
from ..modeling.validation import check_int_list

DEFAULT_KS = (1, 5, 10)


def _ranks(scores: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """Per row: how many irrelevant candidates score at least as high as the best relevant one."""
    if not relevant.any(-1).all():
        raise ValueError("every query needs at least one relevant candidate in `relevant`")
    best = scores.masked_fill(~relevant, float("-inf")).max(-1, keepdim=True).values
    return ((scores >= best) & ~relevant).sum(-1)


def recall_at_k(
    scores: torch.Tensor, relevant: torch.Tensor | None = None, ks: tuple[int, ...] = DEFAULT_KS
) -> dict[str, float]:
    """Recall@K of ``scores`` ``(n_texts, n_images)`` (higher = better match) in both directions:
    ``t2i_recall@K`` (text->image retrieval) and ``i2t_recall@K`` (image->text), plus their mean ``recall_mean``.
    ``relevant`` (boolean, same shape) marks the matching pairs; by default caption ``i`` matches image ``i``."""
    scores = torch.as_tensor(scores, dtype=torch.float64)
    if scores.dim() != 2:
        raise ValueError(f"scores must be a (n_texts, n_images) matrix, got shape {tuple(scores.shape)}")
    if relevant is None:
        if scores.shape[0] != scores.shape[1]:
            raise ValueError(f"scores of shape {tuple(scores.shape)} is not square: pass `relevant`")
        relevant = torch.eye(scores.shape[0], dtype=torch.bool)
    relevant = torch.as_tensor(relevant, dtype=torch.bool)
    if relevant.shape != scores.shape:
        raise ValueError(f"relevant has shape {tuple(relevant.shape)}, scores {tuple(scores.shape)}")
    check_int_list("ks", ks, 1)
    ranks = {"t2i": _ranks(scores, relevant), "i2t": _ranks(scores.T, relevant.T)}
    metrics = {
        f"{direction}_recall@{k}": (rank < k).double().mean().item() for direction, rank in ranks.items() for k in ks
    }
    metrics["recall_mean"] = float(np.mean(list(metrics.values())))
    return metrics


def chance_recall(relevant: torch.Tensor, ks: tuple[int, ...] = DEFAULT_KS) -> dict[str, float]:
    """The expected ``recall_at_k`` of a uniformly random ranking: a query with ``r`` relevant items among ``N``
    is a hit at ``K`` with probability ``1 - C(N - r, K) / C(N, K)``."""
    relevant = torch.as_tensor(relevant, dtype=torch.bool)
    metrics = {}
    for direction, matrix in (("t2i", relevant), ("i2t", relevant.T)):
        total, counts = matrix.shape[1], matrix.sum(-1).tolist()
        for k in ks:
            hits = [1.0 - math.comb(total - r, k) / math.comb(total, k) if k <= total else 1.0 for r in counts]
            metrics[f"{direction}_recall@{k}"] = float(np.mean(hits))
    metrics["recall_mean"] = float(np.mean(list(metrics.values())))
    return metrics


PAIR_VALUES = ("isd", "text_attention_entropy", "image_attention_entropy")  # averaged over the matched pairs


def retrieval_metrics(
    scores: torch.Tensor,
    relevant: torch.Tensor,
    pair_isd: torch.Tensor | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
    pair_values: dict[str, torch.Tensor] | None = None,
    recall=recall_at_k,
) -> dict[str, float]:
    """``recall_at_k`` plus ``isd``, the mean ISD over the relevant pairs of ``pair_isd`` ``(n_texts, n_images)``,
    and the mean over the relevant pairs of every other ``(n_texts, n_images)`` matrix of ``pair_values``.
    ``recall(scores, relevant, ks)`` computes the recall (``lanco_hf.metrics.retrieval_recall()``: through the
    ``evaluate`` module)."""
    metrics = recall(scores, relevant, ks)
    values = dict(pair_values or {})
    if pair_isd is not None:
        values = {"isd": pair_isd, **values}
    for name, matrix in values.items():
        metrics[name] = torch.as_tensor(matrix, dtype=torch.float64)[torch.as_tensor(relevant)].mean().item()
    return metrics


def retrieval_compute_metrics(eval_prediction, recall=recall_at_k) -> dict[str, float]:
    """A ``Trainer`` ``compute_metrics`` for an ``ImageTextGrid`` evaluated by ``IAISTrainer``: predictions are
    ``[logit, isd]`` or ``[logit, isd, text entropy, image entropy]`` and labels ``[text index, image index,
    relevant]`` per pair; ``recall`` as in ``retrieval_metrics``."""
    predictions = np.asarray(eval_prediction.predictions)
    labels = np.asarray(eval_prediction.label_ids).astype(np.int64)
    shape = (labels[:, 0].max() + 1, labels[:, 1].max() + 1)
    if len(labels) != shape[0] * shape[1]:
        raise ValueError(
            f"{len(labels)} predictions do not cover the {shape[0]} x {shape[1]} grid of pairs "
            "(dataloader_drop_last must be False for evaluation)"
        )
    scores, relevant = np.empty(shape), np.zeros(shape, dtype=bool)
    scores[labels[:, 0], labels[:, 1]] = predictions[:, 0]
    relevant[labels[:, 0], labels[:, 1]] = labels[:, 2].astype(bool)
    values = {}
    for column, name in enumerate(PAIR_VALUES[: predictions.shape[1] - 1], start=1):
        values[name] = np.empty(shape)
        values[name][labels[:, 0], labels[:, 1]] = predictions[:, column]
    return retrieval_metrics(
        torch.from_numpy(scores),
        torch.from_numpy(relevant),
        pair_values={name: torch.from_numpy(matrix) for name, matrix in values.items()},
        recall=recall,
    )


MODEL_INPUTS = ("input_ids", "attention_mask", "pixel_values", "pixel_mask")


@torch.no_grad()
def pair_statistics(model, batch: dict[str, torch.Tensor], isd_alignment: str = "singular") -> dict[str, torch.Tensor]:
    """Per (caption, image) pair of ``batch``, with a ViLT retrieval model: the matching ``logit``, the ``isd`` and
    the normalised ``text_attention_entropy`` / ``image_attention_entropy`` of the last layer (all ``(batch,)``)."""
    with ViltQueryKeyCapture(model) as capture:
        logits = model(**{key: batch[key] for key in MODEL_INPUTS if key in batch}).logits[:, 0]
    inputs = capture.iais_inputs()
    entropy = attention_entropy(**inputs)
    return {
        "logit": logits,
        "isd": isd(**inputs, alignment=isd_alignment),
        "text_attention_entropy": entropy["text"],
        "image_attention_entropy": entropy["image"],
    }


@torch.no_grad()
def score_pairs(
    model, batch: dict[str, torch.Tensor], isd_alignment: str = "singular"
) -> tuple[torch.Tensor, torch.Tensor]:
    """The matching logit and the ISD of each (caption, image) pair of ``batch``, with a ViLT retrieval model."""
    statistics = pair_statistics(model, batch, isd_alignment)
    return statistics["logit"], statistics["isd"]


@torch.no_grad()
def evaluate_retrieval(
    model, grid, batch_size: int = 256, isd_alignment: str = "singular", progress: bool = True, recall=recall_at_k
) -> dict[str, float]:
    """Recall@1/5/10 in both directions, the mean ISD and the mean normalised attention entropies of the matched
    pairs of a ViLT retrieval ``model`` on an ``lanco_hf.data.pairs.ImageTextGrid``; ``recall`` as in
    ``retrieval_metrics``."""
    from torch.utils.data import DataLoader

    from ..data.pairs import collate_pairs

    model.eval()
    scores, relevant = torch.zeros(grid.shape, dtype=torch.float64), torch.zeros(grid.shape, dtype=torch.bool)
    values = {name: torch.zeros(grid.shape, dtype=torch.float64) for name in PAIR_VALUES}
    loader = DataLoader(grid, batch_size=batch_size, collate_fn=collate_pairs)
    for batch in tqdm(loader, desc="Scoring pairs", unit="batch", disable=not progress):
        batch = {key: value.to(model.device) for key, value in batch.items()}
        statistics = pair_statistics(model, batch, isd_alignment)
        text, image, match = batch["pair_labels"].cpu().unbind(-1)
        scores[text, image] = statistics["logit"].double().cpu()
        for name, matrix in values.items():
            matrix[text, image] = statistics[name].double().cpu()
        relevant[text, image] = match.bool()
    return retrieval_metrics(scores, relevant, pair_values=values, recall=recall)
