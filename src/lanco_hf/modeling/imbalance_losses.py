"""The ReNode training objective (Chen et al., "Topology-Imbalance Learning for Semi-Supervised Node
Classification", NeurIPS 2021): a per-node quantity-imbalance loss, multiplied by each labelled node's ReNode
weight and divided by the number of labelled nodes (not by the sum of the weights), as in the official
``transductive_run.py`` / ``imb_loss.py``.

This file lives in ``modeling/`` because :class:`ReNodeGCNForNodeClassification` computes its loss with it, so a
Hub copy of the model carries it; ``lanco_hf.losses.renode`` re-exports it next to the ReNode weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .validation import check_choice, check_float

LOSS_TYPES = ("ce", "re-weight", "focal", "cb-softmax")


def _check_counts(class_counts: torch.Tensor) -> torch.Tensor:
    if class_counts.dim() != 1 or class_counts.numel() < 2:
        raise ValueError(
            f"class_counts must be a 1-D tensor with one count per class, got shape {tuple(class_counts.shape)}"
        )
    empty = (class_counts <= 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"class_counts: classes {empty} have no labelled node; every class needs at least one")
    return class_counts.double()


def class_frequency_weights(class_counts: torch.Tensor) -> torch.Tensor:
    """Re-weighting factors ``mean_c(n_c) / n_c`` (the official ``factor_train``)."""
    counts = _check_counts(class_counts)
    return (counts.mean() / counts).float()


def class_balanced_weights(class_counts: torch.Tensor, beta: float = 0.9999) -> torch.Tensor:
    """Class-balanced factors ``(1 - beta) / (1 - beta^n_c)`` (Cui et al., CVPR 2019), scaled to sum to the number
    of classes."""
    check_float("beta", beta, 0.0, 1.0, max_inclusive=False)
    counts = _check_counts(class_counts)
    weights = (1.0 - beta) / (1.0 - torch.pow(torch.tensor(beta, dtype=torch.float64), counts))
    return (weights / weights.sum() * counts.numel()).float()


def sigmoid_focal_loss(logits: torch.Tensor, labels: torch.Tensor, alpha: torch.Tensor, gamma: float) -> torch.Tensor:
    """Per-node focal loss (Lin et al., ICCV 2017) on one-vs-all sigmoids, summed over classes:
    ``alpha_v * sum_c m_vc * BCE(z_vc, y_vc)`` with the modulator ``m = (1 - p)^gamma`` for the gold class and
    ``p^gamma`` for the others (``p = sigmoid(z)``), computed as ``exp(-gamma (y z + log(1 + e^-z)))``."""
    one_hot = F.one_hot(labels, logits.shape[-1]).to(logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, one_hot, reduction="none")
    modulator = torch.exp(-gamma * (one_hot * logits + F.softplus(-logits))) if gamma else 1.0
    return alpha * (modulator * bce).sum(dim=-1)


class ReNodeLoss(nn.Module):
    """ReNode's objective around one of the paper's quantity-imbalance losses.

    ``loss(logits, labels, class_counts, node_weights) = sum_v w_v * l(z_v, y_v) / |L|`` over the labelled nodes
    given (``w_v = 1`` without ReNode weights, which is the plain mean). ``l`` is picked by ``loss_type``:

    - ``"ce"``: cross-entropy;
    - ``"re-weight"``: cross-entropy with class weights ``mean(n) / n_c``;
    - ``"focal"``: :func:`sigmoid_focal_loss` with ``alpha = mean(n) / n_{y_v}`` and ``gamma = focal_gamma``;
    - ``"cb-softmax"``: binary cross-entropy of the softmax probabilities against the one-hot label, weighted by
      the class-balanced factor of the gold class (:func:`class_balanced_weights` with ``cb_beta``), averaged
      over classes.

    ``class_counts[c]`` is the number of labelled training nodes of class ``c``; every loss but ``"ce"`` needs it.
    """

    name = "renode"
    citation = """@inproceedings{chen2021renode,
  title={Topology-Imbalance Learning for Semi-Supervised Node Classification},
  author={Chen, Deli and Lin, Yankai and Zhao, Guangxiang and Ren, Xuancheng and Li, Peng and Zhou, Jie and Sun, Xu},
  booktitle={Advances in Neural Information Processing Systems},
  year={2021}
}"""

    def __init__(self, loss_type: str = "ce", focal_gamma: float = 2.0, cb_beta: float = 0.9999):
        super().__init__()
        check_choice("loss_type", loss_type, LOSS_TYPES)
        check_float("focal_gamma", focal_gamma, 0.0)
        check_float("cb_beta", cb_beta, 0.0, 1.0, max_inclusive=False)
        self.loss_type, self.focal_gamma, self.cb_beta = loss_type, focal_gamma, cb_beta

    def per_node(
        self, logits: torch.Tensor, labels: torch.Tensor, class_counts: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The unweighted loss of every node, shape ``(n,)``."""
        logits = logits.float()
        if self.loss_type == "ce":
            return F.cross_entropy(logits, labels, reduction="none")
        if class_counts is None:
            raise ValueError(f"class_counts is required with loss_type={self.loss_type!r}")
        if class_counts.numel() != logits.shape[-1]:
            raise ValueError(
                f"class_counts has {class_counts.numel()} entries but the logits have {logits.shape[-1]} classes"
            )
        if self.loss_type == "re-weight":
            return F.cross_entropy(
                logits, labels, weight=class_frequency_weights(class_counts).to(logits.device), reduction="none"
            )
        if self.loss_type == "focal":
            alpha = class_frequency_weights(class_counts).to(logits.device)[labels]
            return sigmoid_focal_loss(logits, labels, alpha, self.focal_gamma)
        gold_weight = class_balanced_weights(class_counts, self.cb_beta).to(logits.device)[labels].unsqueeze(-1)
        one_hot = F.one_hot(labels, logits.shape[-1]).to(logits.dtype)
        weight = gold_weight.expand_as(one_hot)
        return F.binary_cross_entropy(logits.softmax(dim=-1), one_hot, weight=weight, reduction="none").mean(dim=-1)

    def forward(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor,
        class_counts: torch.Tensor | None = None,
        node_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``sum_v w_v l_v / n`` over the ``n`` nodes given (the plain mean without ``node_weights``)."""
        losses = self.per_node(logits, labels, class_counts)
        if node_weights is None:
            return losses.mean()
        if node_weights.shape != losses.shape:
            raise ValueError(
                f"node_weights has shape {tuple(node_weights.shape)}; expected {tuple(losses.shape)}, one per node"
            )
        return (losses * node_weights.to(losses)).sum() / losses.numel()

    def to_dict(self) -> dict:
        return {
            "loss": self.name,
            "loss_type": self.loss_type,
            "focal_gamma": self.focal_gamma,
            "cb_beta": self.cb_beta,
        }


__all__ = [
    "LOSS_TYPES",
    "ReNodeLoss",
    "class_balanced_weights",
    "class_frequency_weights",
    "sigmoid_focal_loss",
]
