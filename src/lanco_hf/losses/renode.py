"""ReNode and Totoro: topology-imbalance weights for semi-supervised node classification.

Chen, Lin, Zhao, Ren, Li, Zhou, Sun. "Topology-Imbalance Learning for Semi-Supervised Node Classification".
NeurIPS 2021. arXiv:2110.04099. Official code: https://github.com/victorchen96/ReNode (``transductive/load_data.py``).

- :func:`personalized_pagerank`: rows ``P_v = alpha e_v (I - (1 - alpha) A_hat)^-1`` with
  ``A_hat = D^-1/2 (A + I) D^-1/2``, for the source nodes asked only, by power iteration on a sparse ``A_hat``
  (``dense=True`` inverts the N x N matrix like the official code, for checking and small graphs).
- :func:`totoro`: the influence conflict ``T_v = sum_u P_vu sum_{c != y_v} Q_uc`` of every labelled node, with
  ``Q[:, c]`` the mean PPR row of the labelled nodes of class ``c``; its mean over the labelled nodes is the
  graph's Totoro.
- :func:`renode_weights`: ``w_v = w_min + (w_max - w_min) (1 + cos(pi r_v / (|L| - 1))) / 2`` with ``r_v`` the rank
  of ``T_v`` (ascending, ties by node id), so the least-conflict node gets ``w_max`` and the most-conflict node
  ``w_min``; 0 off the train mask. Multiply them into the per-node loss with :class:`ReNodeLoss`.
"""

from __future__ import annotations

import math
import warnings

import torch

from ..modeling.imbalance_losses import (
    LOSS_TYPES,
    ReNodeLoss,
    class_balanced_weights,
    class_frequency_weights,
    sigmoid_focal_loss,
)
from ..modeling.validation import check_float, check_int

DEFAULT_ALPHA = 0.15  # teleport probability (the official --pagerank-prob 0.85 is 1 - alpha)


def _check_edge_index(edge_index: torch.Tensor, num_nodes: int) -> None:
    check_int("num_nodes", num_nodes, minimum=1)
    if (
        not torch.is_tensor(edge_index)
        or edge_index.dim() != 2
        or edge_index.shape[0] != 2
        or edge_index.is_floating_point()
    ):
        shape = tuple(edge_index.shape) if torch.is_tensor(edge_index) else type(edge_index).__name__
        raise ValueError(f"edge_index must be an integer tensor of shape (2, num_edges), got {shape}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(
            f"edge_index holds node ids {int(edge_index.min())}..{int(edge_index.max())}; allowed: [0, {num_nodes}) (num_nodes)"
        )


def gcn_normalized_adjacency(
    edge_index: torch.Tensor, num_nodes: int, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """``A_hat = D^-1/2 (A + I) D^-1/2`` as a sparse COO tensor, where ``A[i, j] = 1`` for every edge ``(i, j)`` of
    ``edge_index`` (repeated edges count once, an existing self-loop adds to the identity, as with the official
    dense construction) and ``D`` holds the row sums of ``A + I``."""
    _check_edge_index(edge_index, num_nodes)
    device = edge_index.device
    edge_index = edge_index.long()
    edges = torch.unique(edge_index[0] * num_nodes + edge_index[1])
    loops = torch.arange(num_nodes, device=device)
    rows = torch.cat([edges // num_nodes, loops])
    cols = torch.cat([edges % num_nodes, loops])
    matrix = torch.sparse_coo_tensor(
        torch.stack([rows, cols]),
        torch.ones(rows.numel(), dtype=dtype, device=device),
        (num_nodes, num_nodes),
        check_invariants=False,
    ).coalesce()
    rows, cols = matrix.indices()
    degree = torch.zeros(num_nodes, dtype=dtype, device=device).index_add_(0, rows, matrix.values())
    scale = degree.rsqrt()
    values = matrix.values() * scale[rows] * scale[cols]
    return torch.sparse_coo_tensor(matrix.indices(), values, matrix.shape, check_invariants=False, is_coalesced=True)


def propagate(
    adjacency: torch.Tensor,
    rhs: torch.Tensor,
    *,
    alpha: float = DEFAULT_ALPHA,
    transpose: bool = False,
    tol: float = 1e-8,
    max_iter: int = 1000,
) -> torch.Tensor:
    """``Y = alpha (I - (1 - alpha) A)^-1 rhs`` for a sparse ``adjacency`` ``A`` (``A^T`` with ``transpose``) and a
    dense ``rhs`` of shape ``(N, k)``, by the fixed-point iteration ``Y <- alpha rhs + (1 - alpha) A Y`` from
    ``Y = alpha rhs`` (scipy sparse products, ``O(nnz(A) k)`` per iteration); the error shrinks by ``1 - alpha`` per
    iteration because ``A_hat`` is similar to the row-stochastic ``D^-1 (A + I)`` (spectral radius 1). It stops when
    no entry changes by more than ``tol`` times the largest entry, or after ``max_iter`` iterations with a
    ``RuntimeWarning``."""
    from scipy import sparse

    rows, cols = adjacency.indices().cpu().numpy()
    if transpose:
        rows, cols = cols, rows
    values = (1.0 - alpha) * adjacency.values().cpu().numpy()
    step = sparse.csr_matrix((values, (rows, cols)), shape=tuple(adjacency.shape))
    base = alpha * rhs.detach().cpu().numpy()
    current = base.copy()
    change = float("inf")
    for _ in range(max_iter):
        updated = step @ current
        updated += base
        current -= updated
        change = float(abs(current).max() / abs(updated).max()) if updated.any() else 0.0
        current = updated
        if change <= tol:
            break
    else:
        warnings.warn(
            f"propagation stopped at max_iter={max_iter} with a last relative change of {change:.3g} > tol={tol}",
            RuntimeWarning,
            stacklevel=3,
        )
    return torch.from_numpy(current).to(rhs.device)


def _check_solver(alpha: float, tol: float, max_iter: int) -> None:
    check_float("alpha", alpha, 0.0, 1.0, min_inclusive=False, max_inclusive=False)
    check_float("tol", tol, 0.0, min_inclusive=False)
    check_int("max_iter", max_iter, minimum=1)


def personalized_pagerank(
    edge_index: torch.Tensor,
    num_nodes: int,
    sources: torch.Tensor | None = None,
    *,
    alpha: float = DEFAULT_ALPHA,
    tol: float = 1e-8,
    max_iter: int = 1000,
    dense: bool = False,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """The personalized PageRank rows ``P_v = alpha e_v (I - (1 - alpha) A_hat)^-1`` of the ``sources`` nodes,
    shape ``(len(sources), num_nodes)`` (all nodes when ``sources`` is ``None``).

    The sparse path runs :func:`propagate` on the ``N x |sources|`` block ``P_sources^T`` (``O(iterations * nnz *
    |sources|)`` time, ``O(N * |sources|)`` memory); ``dense=True`` inverts the ``N x N`` matrix as the official code
    does (``O(N^3)`` time, ``O(N^2)`` memory).
    """
    _check_edge_index(edge_index, num_nodes)
    _check_solver(alpha, tol, max_iter)
    device = edge_index.device
    if sources is None:
        sources = torch.arange(num_nodes, device=device)
    sources = torch.as_tensor(sources, device=device)
    if sources.dim() != 1 or sources.is_floating_point() or sources.dtype == torch.bool:
        raise ValueError(f"sources must be a 1-D tensor of node ids, got {sources.dtype} {tuple(sources.shape)}")
    if sources.numel() and (int(sources.min()) < 0 or int(sources.max()) >= num_nodes):
        raise ValueError(
            f"sources holds node ids {int(sources.min())}..{int(sources.max())}; allowed: [0, {num_nodes}) (num_nodes)"
        )
    adjacency = gcn_normalized_adjacency(edge_index, num_nodes, dtype)
    if dense:
        return alpha * _dense_inverse(adjacency, alpha)[sources]
    indicator = torch.zeros(num_nodes, sources.numel(), dtype=dtype, device=device)
    indicator[sources, torch.arange(sources.numel(), device=device)] = 1.0
    return propagate(adjacency, indicator, alpha=alpha, transpose=True, tol=tol, max_iter=max_iter).T


def _dense_inverse(adjacency: torch.Tensor, alpha: float) -> torch.Tensor:
    """``(I - (1 - alpha) A_hat)^-1`` as a dense N x N matrix (the official computation)."""
    identity = torch.eye(adjacency.shape[0], dtype=adjacency.dtype, device=adjacency.device)
    return torch.linalg.inv(identity - (1.0 - alpha) * adjacency.to_dense())


def _labelled_nodes(
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
    nodes, node_labels, num_classes = _labelled_nodes(train_mask, labels, num_classes)
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
                f"ppr has shape {tuple(ppr.shape)}; expected ({nodes.numel()}, {num_nodes}): the rows of the train nodes"
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
    nodes, _, _ = _labelled_nodes(train_mask, labels, num_classes)  # >= 2 classes, each labelled: |L| >= 2
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
    "DEFAULT_ALPHA",
    "LOSS_TYPES",
    "ReNodeLoss",
    "class_balanced_weights",
    "class_frequency_weights",
    "gcn_normalized_adjacency",
    "personalized_pagerank",
    "propagate",
    "renode_weights",
    "sigmoid_focal_loss",
    "totoro",
]
