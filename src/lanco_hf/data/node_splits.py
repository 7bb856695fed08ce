"""The ReNode split protocols (``transductive/load_data.py`` of the official code), as boolean node masks.

Both shuffle the node ids with Python's ``random.Random(seed)`` (the official code seeds the global ``random``
with the split seed 0..4, which gives the same order) and walk that order, taking each node for the training set
while its class still needs nodes. The validation nodes are then taken, ``valid_per_class`` per class, from the
remaining nodes in ascending node-id order: the official code walks ``list(set(all) - set(train))``, which
CPython iterates in ascending order for integer ids. Every other labelled node is a test node. Nodes whose label is
negative are unlabelled and belong to no split.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from ..modeling.validation import check_float, check_int


def _shuffled_labelled_nodes(labels: torch.Tensor, seed: int) -> tuple[list[int], list[int], int]:
    if not torch.is_tensor(labels) or labels.dim() != 1 or labels.is_floating_point():
        raise ValueError("labels must be a 1-D integer tensor with one class id per node (negative = unlabelled)")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    order = list(range(labels.numel()))
    random.Random(seed).shuffle(order)
    values = labels.tolist()
    order = [node for node in order if values[node] >= 0]
    if not order:
        raise ValueError("labels has no labelled node (all negative)")
    return order, values, max(values) + 1


def _take(nodes: Sequence[int], values: list[int], quota: dict[int, int], what: str) -> list[int]:
    """The first nodes of ``nodes`` until every class ``c`` has ``quota[c]`` of them."""
    taken, counts = [], dict.fromkeys(quota, 0)
    for node in nodes:
        label = values[node]
        if counts[label] < quota[label]:
            counts[label] += 1
            taken.append(node)
    short = {c: (counts[c], quota[c]) for c in quota if counts[c] < quota[c]}
    if short:
        details = ", ".join(f"class {c}: {got} of {want}" for c, (got, want) in short.items())
        raise ValueError(f"not enough nodes for the {what} set ({details}); lower the per-class sizes")
    return taken


def _masks(num_nodes: int, values: list[int], order: list[int], train: list[int], valid_quota: dict[int, int]):
    chosen = set(train)
    valid = _take(sorted(node for node in order if node not in chosen), values, valid_quota, "validation")
    chosen.update(valid)
    masks = [torch.zeros(num_nodes, dtype=torch.bool) for _ in range(3)]
    masks[0][train] = True
    masks[1][valid] = True
    test = [node for node in order if node not in chosen]
    masks[2][test] = True
    empty = sorted(set(valid_quota) - {values[node] for node in test})
    if empty:
        sizes = ", ".join(f"class {c}: {sum(values[n] == c for n in order)} labelled nodes" for c in empty)
        raise ValueError(
            f"no test node is left for {sizes}: the training and validation sets take them all; lower "
            "train_per_class (or labeling_ratio) or valid_per_class"
        )
    return tuple(masks)


def topology_imbalance_split(
    labels: torch.Tensor, train_per_class: int = 20, valid_per_class: int = 30, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The quantity-balanced split of the paper's TINL experiments (``--size-imb-type none``): ``train_per_class``
    random training nodes and ``valid_per_class`` validation nodes per class, the rest for test. Returns the
    ``(train_mask, valid_mask, test_mask)`` boolean tensors."""
    for name, value in (("train_per_class", train_per_class), ("valid_per_class", valid_per_class)):
        check_int(name, value, 1)
    order, values, num_classes = _shuffled_labelled_nodes(labels, seed)
    train = _take(order, values, dict.fromkeys(range(num_classes), train_per_class), "training")
    return _masks(labels.numel(), values, order, train, dict.fromkeys(range(num_classes), valid_per_class))


def step_imbalance_split(
    labels: torch.Tensor,
    labeling_ratio: float = 0.01,
    imb_ratio: float = 1.0,
    head_classes: Sequence[int] = (0, 1, 2),
    valid_per_class: int = 30,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The step quantity-imbalanced split of the paper's TINL + QINL experiments (``--size-imb-type step``): about
    ``labeling_ratio`` of the labelled nodes are training nodes; each tail class gets
    ``b = int(n * labeling_ratio / (tails + heads * imb_ratio))`` of them and each class of ``head_classes``
    ``int(b * imb_ratio)``; ``valid_per_class`` validation nodes per class; the rest for test. Returns the
    ``(train_mask, valid_mask, test_mask)`` boolean tensors."""
    check_float("labeling_ratio", labeling_ratio, 0, 1, min_inclusive=False, max_inclusive=False)
    check_float("imb_ratio", imb_ratio, 1)
    check_int("valid_per_class", valid_per_class, 1)
    order, values, num_classes = _shuffled_labelled_nodes(labels, seed)
    heads = set(head_classes)
    if not heads <= set(range(num_classes)) or len(heads) >= num_classes:
        raise ValueError(
            f"head_classes={list(head_classes)} must be a proper subset of the classes 0..{num_classes - 1}"
        )
    base = int(len(order) * labeling_ratio / (num_classes - len(heads) + len(heads) * imb_ratio))
    if base < 1:
        raise ValueError(f"labeling_ratio={labeling_ratio} leaves no training node for the tail classes; raise it")
    quota = {c: int(base * imb_ratio) if c in heads else base for c in range(num_classes)}
    train = _take(order, values, quota, "training")
    return _masks(labels.numel(), values, order, train, dict.fromkeys(range(num_classes), valid_per_class))


NODE_SPLITS = ("topology", "step")


def node_split(
    labels: torch.Tensor,
    split: str,
    *,
    train_per_class: int = 20,
    valid_per_class: int = 30,
    labeling_ratio: float = 0.01,
    imb_ratio: float = 1.0,
    head_classes: Sequence[int] = (0, 1, 2),
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``(train_mask, valid_mask, test_mask)`` of protocol ``split``: ``"topology"``
    (:func:`topology_imbalance_split`, which uses ``train_per_class``) or ``"step"`` (:func:`step_imbalance_split`,
    which uses ``labeling_ratio``, ``imb_ratio`` and ``head_classes``)."""
    if split == "topology":
        return topology_imbalance_split(labels, train_per_class, valid_per_class, seed)
    if split == "step":
        return step_imbalance_split(labels, labeling_ratio, imb_ratio, head_classes, valid_per_class, seed)
    raise ValueError(f"split={split!r} is not supported; allowed values: {', '.join(map(repr, NODE_SPLITS))}")


__all__ = ["NODE_SPLITS", "node_split", "step_imbalance_split", "topology_imbalance_split"]
