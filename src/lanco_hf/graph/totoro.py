"""Totoro, the topology imbalance of a graph's labelled nodes ("Topology-Imbalance Learning for Semi-Supervised
Node Classification", Chen et al., NeurIPS 2021, Sec. 3.2): the influence conflict ``T_v = sum_u P_vu sum_{c != y_v}
Q_uc`` of every labelled node ``v``, with ``P`` the personalized PageRank matrix and ``Q[:, c]`` the mean PPR row of
the labelled nodes of class ``c``; its mean over the labelled nodes is the graph's Totoro. ReNode's weights rank the
labelled nodes by it (``lanco_hf.losses.renode``); ``lanco_hf.evaluation.totoro`` reports it over several splits."""

from __future__ import annotations

import torch

from ..modeling.validation import check_int
from .pagerank import (
    DEFAULT_ALPHA,
    _check_edge_index,
    _check_solver,
    _dense_inverse,
    gcn_normalized_adjacency,
    propagate,
)


def labelled_nodes(
    train_mask: torch.Tensor, labels: torch.Tensor, num_classes: int | None
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The train node ids (ascending), their labels and the number of classes, after checking the inputs."""
    if not torch.is_tensor(train_mask) or train_mask.dtype != torch.bool or train_mask.dim() != 1:
        raise ValueError("train_mask must be a 1-D boolean tensor with one entry per node")
    if not torch.is_tensor(labels) or labels.shape != train_mask.shape or labels.is_floating_point():
        raise ValueError(f"labels must be an integer tensor of shape {tuple(train_mask.shape)} (one per node)")
    nodes = train_mask.nonzero().flatten()
    if nodes.numel() == 0:
        raise ValueError("train_mask selects no node; ReNode and Totoro need labelled nodes")
    node_labels = labels[nodes]
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    check_int("num_classes", num_classes, minimum=2)
    if int(node_labels.min()) < 0 or int(node_labels.max()) >= num_classes:
        raise ValueError(
            f"labels of the train_mask nodes must lie in [0, {num_classes}) (num_classes); "
            f"got {int(node_labels.min())}..{int(node_labels.max())}"
        )
    missing = (torch.bincount(node_labels, minlength=num_classes) == 0).nonzero().flatten().tolist()
    if missing:
        raise ValueError(
            f"classes {missing} have no labelled node in train_mask; the class influence of every class needs at least "
            f"one (pass num_classes to restrict the classes)"
        )
    return nodes, node_labels, num_classes


def totoro(
    edge_index: torch.Tensor,
    train_mask: torch.Tensor,
    labels: torch.Tensor,
    *,
    num_classes: int | None = None,
    alpha: float = DEFAULT_ALPHA,
    tol: float = 1e-8,
    max_iter: int = 1000,
    dense: bool = False,
    ppr: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Influence conflict (Totoro) of every labelled node: a tensor of shape ``(num_nodes,)`` holding
    ``T_v = sum_u P_vu sum_{c != y_v} Q_uc`` on ``train_mask`` and NaN elsewhere. The graph-level Totoro is
    ``totoro(...)[train_mask].nanmean()``. ``Q[:, c]`` is the mean PPR row of the labelled nodes of class ``c``;
    ``num_classes`` defaults to ``labels.max() + 1`` and every class must have a labelled node.

    Only ``C``-column systems are solved on the sparse path: with ``M`` the ``|L| x C`` class-averaging matrix,
    ``Q = P_L^T M`` is the PPR of the ``C`` class-mean teleport vectors (:func:`propagate` with ``A_hat^T``) and the
    conflicts are entries of ``P_L R = alpha E (I - (1 - alpha) A_hat)^-1 R`` with ``R = Q 1 1^T - Q`` (a second
    :func:`propagate`), so time and memory are ``O(iterations * nnz(A_hat) * C)`` and ``O(N * C)`` however many
    nodes are labelled. ``dense=True`` computes the full PPR matrix as the official code does; ``ppr`` may instead
    pass the PPR rows of the train nodes (ascending node order, shape ``(|L|, num_nodes)``).
    """
    nodes, node_labels, num_classes = labelled_nodes(train_mask, labels, num_classes)
    num_nodes = train_mask.numel()
    _check_edge_index(edge_index, num_nodes)
    _check_solver(alpha, tol, max_iter)
    class_mean = torch.nn.functional.one_hot(node_labels, num_classes).to(dtype)
    class_mean /= class_mean.sum(dim=0)
    if ppr is None and dense:
        ppr = alpha * _dense_inverse(gcn_normalized_adjacency(edge_index, num_nodes, dtype), alpha)[nodes]
    if ppr is not None:
        if ppr.shape != (nodes.numel(), num_nodes):
            raise ValueError(
                f"ppr has shape {tuple(ppr.shape)}; expected ({nodes.numel()}, {num_nodes}): "
                "the rows of the train nodes"
            )
        class_influence = ppr.T @ class_mean.to(ppr.dtype)  # Q, N x C
        other_classes = class_influence.sum(dim=1, keepdim=True) - class_influence
        conflicts = ppr @ other_classes
    else:
        adjacency = gcn_normalized_adjacency(edge_index, num_nodes, dtype)
        teleport = torch.zeros(num_nodes, num_classes, dtype=dtype, device=edge_index.device)
        teleport[nodes] = class_mean
        class_influence = propagate(adjacency, teleport, alpha=alpha, transpose=True, tol=tol, max_iter=max_iter)
        other_classes = class_influence.sum(dim=1, keepdim=True) - class_influence
        conflicts = propagate(adjacency, other_classes, alpha=alpha, tol=tol, max_iter=max_iter)[nodes]
    result = torch.full((num_nodes,), float("nan"), dtype=conflicts.dtype, device=conflicts.device)
    result[nodes] = conflicts.gather(1, node_labels.to(conflicts.device).unsqueeze(1)).squeeze(1)
    return result


__all__ = ["labelled_nodes", "totoro"]
