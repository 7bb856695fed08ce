"""Personalized PageRank on a graph given as ``edge_index`` (torch_geometric's layout), the propagation ReNode's
Totoro and weights are built on ("Topology-Imbalance Learning for Semi-Supervised Node Classification", Chen et al.,
NeurIPS 2021, Sec. 3.2; official code: https://github.com/victorchen96/ReNode, ``transductive/load_data.py``).

- :func:`gcn_normalized_adjacency`: ``A_hat = D^-1/2 (A + I) D^-1/2`` as a sparse tensor.
- :func:`propagate`: the solution of ``X = alpha B + (1 - alpha) A_hat X`` by power iteration (or with ``A_hat^T``).
- :func:`personalized_pagerank`: rows ``P_v = alpha e_v (I - (1 - alpha) A_hat)^-1`` for the source nodes asked only
  (``dense=True`` inverts the N x N matrix like the official code, for checking and small graphs).
"""

from __future__ import annotations

import warnings

import torch

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
            f"edge_index holds node ids {int(edge_index.min())}..{int(edge_index.max())}; "
            f"allowed: [0, {num_nodes}) (num_nodes)"
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


__all__ = ["DEFAULT_ALPHA", "gcn_normalized_adjacency", "personalized_pagerank", "propagate"]
