"""Image-text retrieval evaluation for single-stream models: recall@K in both directions over a held-out set and
the intra-modal self-attention distance (ISD; "Learning Relation Alignment for Calibrated Cross-modal Retrieval",
Ren et al., ACL 2021, Sec. 3.3) of the matched pairs.

- ``recall_at_k(scores, relevant)``: text->image (each caption ranks all images) and image->text (each image ranks
  all captions) recall@K; a query is a hit when one of its relevant items is among the first K. Ties count against
  the model (an irrelevant candidate scoring the same as the best relevant one ranks before it).
- ``isd(query, key, text_mask, image_mask)`` (from ``lanco_hf.losses.iais``): per pair, the symmetric KL between the linguistic self-attention of
  the last layer and the visual self-attention mapped into linguistic space (``IAISLoss``'s quantity, no gradient).
  The paper's ISDa maps with Flickr30k-Entities phrase-box annotations; without annotations the mapping is the
  model's own alignment (singular: argmax word->region, by default; or distributed). Lower is more consistent.
- ``evaluate_retrieval(model, grid)`` scores every (caption, image) pair of an ``ImageTextGrid`` with a ViLT
  model and returns both; ``retrieval_compute_metrics`` is the same as a ``Trainer`` ``compute_metrics``
  (see ``lanco_hf.training.iais.IAISTrainer``); ``lanco-hf evaluate retrieval --model RUN_DIR`` runs it on a
  saved model.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from tqdm.auto import tqdm

from ..losses.capture import ViltQueryKeyCapture
from ..losses.iais import isd

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
    if not ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in ks):
        raise ValueError(f"ks={ks!r}: allowed values are positive integers")
    ranks = {"t2i": _ranks(scores, relevant), "i2t": _ranks(scores.T, relevant.T)}
    metrics = {f"{direction}_recall@{k}": (rank < k).double().mean().item() for direction, rank in ranks.items() for k in ks}
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


def retrieval_metrics(
    scores: torch.Tensor, relevant: torch.Tensor, pair_isd: torch.Tensor | None = None, ks: tuple[int, ...] = DEFAULT_KS
) -> dict[str, float]:
    """``recall_at_k`` plus ``isd``, the mean ISD over the relevant pairs of ``pair_isd`` ``(n_texts, n_images)``."""
    metrics = recall_at_k(scores, relevant, ks)
    if pair_isd is not None:
        metrics["isd"] = torch.as_tensor(pair_isd, dtype=torch.float64)[torch.as_tensor(relevant)].mean().item()
    return metrics


def retrieval_compute_metrics(eval_prediction) -> dict[str, float]:
    """A ``Trainer`` ``compute_metrics`` for an ``ImageTextGrid`` evaluated by ``IAISTrainer``: predictions are
    ``[logit, isd]`` and labels ``[text index, image index, relevant]`` per pair."""
    predictions = np.asarray(eval_prediction.predictions)
    labels = np.asarray(eval_prediction.label_ids).astype(np.int64)
    shape = (labels[:, 0].max() + 1, labels[:, 1].max() + 1)
    if len(labels) != shape[0] * shape[1]:
        raise ValueError(
            f"{len(labels)} predictions do not cover the {shape[0]} x {shape[1]} grid of pairs "
            "(dataloader_drop_last must be False for evaluation)"
        )
    scores, pair_isd, relevant = np.empty(shape), np.empty(shape), np.zeros(shape, dtype=bool)
    scores[labels[:, 0], labels[:, 1]] = predictions[:, 0]
    pair_isd[labels[:, 0], labels[:, 1]] = predictions[:, 1]
    relevant[labels[:, 0], labels[:, 1]] = labels[:, 2].astype(bool)
    return retrieval_metrics(torch.from_numpy(scores), torch.from_numpy(relevant), torch.from_numpy(pair_isd))


MODEL_INPUTS = ("input_ids", "attention_mask", "pixel_values", "pixel_mask")


@torch.no_grad()
def score_pairs(model, batch: dict[str, torch.Tensor], isd_alignment: str = "singular") -> tuple[torch.Tensor, torch.Tensor]:
    """The matching logit and the ISD of each (caption, image) pair of ``batch``, with a ViLT retrieval model."""
    with ViltQueryKeyCapture(model) as capture:
        logits = model(**{key: batch[key] for key in MODEL_INPUTS if key in batch}).logits[:, 0]
    return logits, isd(**capture.iais_inputs(), alignment=isd_alignment)


@torch.no_grad()
def evaluate_retrieval(
    model, grid, batch_size: int = 256, isd_alignment: str = "singular", progress: bool = True
) -> dict[str, float]:
    """Recall@1/5/10 in both directions and the mean ISD of a ViLT retrieval ``model`` on an
    ``lanco_hf.data.pairs.ImageTextGrid``."""
    from torch.utils.data import DataLoader

    from ..data.pairs import collate_pairs

    model.eval()
    scores, pair_isd, relevant = (torch.zeros(grid.shape, dtype=dtype) for dtype in (torch.float64, torch.float64, torch.bool))
    loader = DataLoader(grid, batch_size=batch_size, collate_fn=collate_pairs)
    for batch in tqdm(loader, desc="Scoring pairs", unit="batch", disable=not progress):
        batch = {key: value.to(model.device) for key, value in batch.items()}
        logits, distances = score_pairs(model, batch, isd_alignment)
        text, image, match = batch["pair_labels"].cpu().unbind(-1)
        scores[text, image] = logits.double().cpu()
        pair_isd[text, image] = distances.double().cpu()
        relevant[text, image] = match.bool()
    return retrieval_metrics(scores, relevant, pair_isd)
