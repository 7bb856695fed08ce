"""The hinge ranking loss with hard negatives of UNITER / IAIS image-text retrieval fine-tuning (UNITER, Chen et al.,
ECCV 2020, and IAIS, Ren et al., ACL 2021)."""

from __future__ import annotations

import torch

from ..modeling.validation import check_int


def hardest_negatives(scores: torch.Tensor, relevant: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For every anchor (row of ``scores``, ``(anchors, candidates)``), the indices of its ``k`` highest-scoring
    candidates that are not ``relevant`` to it, and a boolean mask of which of those exist (an anchor with fewer than
    ``k`` irrelevant candidates gets ``False`` entries). Both ``(anchors, k)``."""
    check_int("k", k, 1, scores.shape[1])  # at most the number of candidates
    masked = scores.masked_fill(relevant, float("-inf"))
    values, index = masked.topk(k, dim=1)
    return index, torch.isfinite(values)


def hinge_ranking_loss(
    positive_logits: torch.Tensor, negative_logits: torch.Tensor, margin: float = 0.2, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """``mean(max(0, margin + sigmoid(s_neg) - sigmoid(s_pos)))`` over the ``(anchors, k)`` negatives of each anchor,
    with ``s`` the matching logits; ``valid`` masks out missing negatives."""
    violation = (margin + negative_logits.sigmoid() - positive_logits.sigmoid()[:, None]).clamp_min(0)
    if valid is None:
        return violation.mean()
    return (violation * valid).sum() / valid.sum().clamp_min(1)
