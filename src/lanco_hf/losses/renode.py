"""ReNode: topology-imbalance weights for semi-supervised node classification.

Chen, Lin, Zhao, Ren, Li, Zhou, Sun. "Topology-Imbalance Learning for Semi-Supervised Node Classification".
NeurIPS 2021, Sec. 4. arXiv:2110.04099. Official code: https://github.com/victorchen96/ReNode.

:func:`renode_weights`: ``w_v = w_min + (w_max - w_min) (1 + cos(pi r_v / (|L| - 1))) / 2`` with ``r_v`` the rank of
the Totoro conflict ``T_v`` (``lanco_hf.graph.totoro``; ascending, ties by node id), so the least-conflict node gets
``w_max`` and the most-conflict node ``w_min``; 0 off the train mask. Multiply them into the per-node loss with
:class:`ReNodeLoss` (which lives in ``modeling/`` because ``ReNodeGCNForNodeClassification`` returns it).
"""

from __future__ import annotations

import math

import torch

from ..graph.pagerank import DEFAULT_ALPHA
from ..graph.totoro import labelled_nodes, totoro
from ..modeling.imbalance_losses import (
    LOSS_TYPES,
    ReNodeLoss,
    class_balanced_weights,
    class_frequency_weights,
    sigmoid_focal_loss,
)
from ..modeling.validation import check_float


def renode_weights(
    edge_index: torch.Tensor,
    train_mask: torch.Tensor,
    labels: torch.Tensor,
    *,
    w_min: float = 0.5,
    w_max: float = 1.5,
    num_classes: int | None = None,
    alpha: float = DEFAULT_ALPHA,
    tol: float = 1e-8,
    max_iter: int = 1000,
    dense: bool = False,
    ppr: torch.Tensor | None = None,
    conflict: torch.Tensor | None = None,
) -> torch.Tensor:
    """ReNode weights, shape ``(num_nodes,)``: ``w_min + (w_max - w_min) (1 + cos(pi r_v / (|L| - 1))) / 2`` on
    ``train_mask``, where ``r_v`` is node ``v``'s rank by :func:`totoro` conflict (ascending, ties broken by node id),
    and 0 elsewhere. The official defaults are ``w_min = 0.5``, ``w_max = 1.5`` (``--rn-base-weight 0.5``,
    ``--rn-scale-weight 1.0``). ``conflict`` may pass a :func:`totoro` result; the other arguments are those of
    :func:`totoro`."""
    check_float("w_min", w_min, 0.0)
    check_float("w_max", w_max, w_min)
    nodes, _, _ = labelled_nodes(train_mask, labels, num_classes)  # >= 2 classes, each labelled: |L| >= 2
    if conflict is None:
        conflict = totoro(
            edge_index,
            train_mask,
            labels,
            num_classes=num_classes,
            alpha=alpha,
            tol=tol,
            max_iter=max_iter,
            dense=dense,
            ppr=ppr,
        )
    elif conflict.shape != train_mask.shape:
        raise ValueError(
            f"conflict has shape {tuple(conflict.shape)}; expected {tuple(train_mask.shape)}, a totoro() result"
        )
    order = torch.sort(conflict[nodes], stable=True).indices
    ranks = torch.empty_like(order)
    ranks[order] = torch.arange(order.numel(), device=order.device)
    cosine = torch.cos(math.pi * ranks.double() / (nodes.numel() - 1))
    weights = torch.zeros(train_mask.numel(), dtype=torch.float32, device=train_mask.device)
    weights[nodes] = (w_min + 0.5 * (w_max - w_min) * (1.0 + cosine)).float()
    return weights


__all__ = [
    "LOSS_TYPES",
    "ReNodeLoss",
    "class_balanced_weights",
    "class_frequency_weights",
    "renode_weights",
    "sigmoid_focal_loss",
]
