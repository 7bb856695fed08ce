"""The topology imbalance of a graph's labelled set (Totoro, "Topology-Imbalance Learning for Semi-Supervised Node
Classification", Chen et al., NeurIPS 2021, Sec. 3.2): over several training masks, the mean influence conflict of
the labelled nodes, per class and overall, with the time the sparse computation took."""

from __future__ import annotations

import time
from collections.abc import Mapping

import torch

from ..graph.totoro import totoro


def graph_totoro(data, train_masks: Mapping[int, torch.Tensor], alpha: float = 0.15, tol: float = 1e-8) -> list[dict]:
    """Per split seed of ``train_masks`` (seed -> boolean training mask over ``data``'s nodes): the graph-level
    Totoro, the mean conflict of each class's labelled nodes (``data.label_names``) and the seconds it took, with
    personalized PageRank of teleport probability ``alpha`` run to tolerance ``tol``."""
    rows = []
    for seed, train_mask in train_masks.items():
        started = time.perf_counter()
        conflict = totoro(data.edge_index, train_mask, data.y, num_classes=len(data.label_names), alpha=alpha, tol=tol)
        seconds = time.perf_counter() - started
        per_class = {
            name: float(conflict[train_mask & (data.y == c)].mean()) for c, name in enumerate(data.label_names)
        }
        rows.append(
            {
                "split_seed": seed,
                "labelled_nodes": int(train_mask.sum()),
                "totoro": float(conflict[train_mask].mean()),
                "per_class": per_class,
                "seconds": seconds,
            }
        )
    return rows
