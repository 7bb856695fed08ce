"""Encouraging loss (EL): cross-entropy plus a bonus that keeps rewarding well-classified examples.

Guangxiang Zhao, Wenkai Yang, Xuancheng Ren, Lei Li, Yunfang Wu, Xu Sun. "Well-classified Examples are
Underestimated in Classification with Deep Neural Networks". AAAI 2022 (doi:10.1609/aaai.v36i8.20904),
arXiv:2110.06537. Official code: https://github.com/lancopku/well-classified-examples-are-underestimated
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..modeling.validation import check_choice, check_float, check_int

CLAMP = 1e-5  # the reference clamps 1 - p at 1e-5 inside the log
REDUCTIONS = ("mean", "sum", "none")
BASE_LOSSES = ("ce", "focal")


class EncouragingLoss(nn.Module):
    r"""The encouraging loss of Zhao et al., "Well-classified Examples are Underestimated in Classification with
    Deep Neural Networks" (AAAI 2022, arXiv:2110.06537), for logits of shape ``(..., num_classes)`` and integer
    labels of shape ``(...)``; positions whose label equals ``ignore_index`` contribute nothing.

    Per example, with ``p = softmax(logits)`` and gold class ``y``::

        L = base(p, y) + rho * bonus
        bonus = (1 - bonus_label_smoothing) * w_y * b(p_y) + bonus_label_smoothing / V * sum_v w_v * b(p_v)
        b(p) = log(max(1 - p, 1e-5))                          for p <= log_end
        b(p) = log(1 - log_end) - (p - log_end) / (1 - log_end)  for p >  log_end  (the conservative bonus)

    ``base`` is the fairseq label-smoothed cross-entropy
    ``(1 - label_smoothing) * (-log p_y) + label_smoothing / V * sum_v (-log p_v)`` (``base_loss="ce"``), or the
    focal loss ``(1 - p_y) ** focal_gamma * (-log p_y)`` (``base_loss="focal"``). The bonus is negative and
    decreasing in ``p``, so it is *added*: minimising ``L`` pushes ``p_y`` up even when it is already high, and it
    is not detached. ``w`` are the per-class ``bonus_weights`` of the imbalanced-classification criterion
    (``cl.py``; all ones by default; see :func:`effective_number_weights`).

    Args:
        rho: weight of the bonus, ``>= 0``; ``rho = 0`` is plain (label-smoothed) cross-entropy.
        log_end: where the log bonus hands over to its tangent, in ``(0, 1]``; ``1.0`` is the plain bonus. The
            default 0.75 is the official stand-alone loss's (the paper recommends 0.75 for high-accuracy tasks
            and 0.5 for low-accuracy ones, e.g. translation).
        label_smoothing: epsilon of the likelihood term, in ``[0, 1]``.
        bonus_label_smoothing: epsilon of the bonus term (fairseq's ``--el_lb``), in ``[0, 1]``; ``None`` uses
            ``label_smoothing`` (the stand-alone and timm variants).
        reduction: ``"mean"`` over the non-ignored positions (0 when there are none), ``"sum"`` or ``"none"``
            (a loss per position, shaped like ``labels``, 0 at ignored positions).
        ignore_index: label value of positions to skip (transformers pads labels with -100).
        bonus_weights: per-class weights of the bonus, one non-negative number per class, or ``None``.
        base_loss: ``"ce"`` or ``"focal"`` (label smoothing applies to ``"ce"`` only).
        focal_gamma: exponent of the focal loss, ``>= 0`` (1.0 is the default of the official imbalanced code).

    The loss is computed in float32 (float64 for float64 logits) with autocast disabled. ``bonus_scale``
    (1.0) multiplies ``rho`` at run time; :class:`lanco_hf.training.BonusScheduleCallback` sets it for deferred
    starts and ramps, so ``rho`` and :meth:`to_dict` keep the configured value.
    """

    name = "encouraging"
    citation = """@inproceedings{zhao2022well,
  title={Well-classified Examples are Underestimated in Classification with Deep Neural Networks},
  author={Zhao, Guangxiang and Yang, Wenkai and Ren, Xuancheng and Li, Lei and Wu, Yunfang and Sun, Xu},
  booktitle={Proceedings of the AAAI Conference on Artificial Intelligence},
  year={2022}
}"""

    def __init__(
        self,
        rho: float = 1.0,
        log_end: float = 0.75,
        label_smoothing: float = 0.0,
        bonus_label_smoothing: float | None = None,
        reduction: str = "mean",
        ignore_index: int = -100,
        bonus_weights: Sequence[float] | torch.Tensor | None = None,
        base_loss: str = "ce",
        focal_gamma: float = 1.0,
    ):
        super().__init__()
        if bonus_label_smoothing is None:
            bonus_label_smoothing = label_smoothing
        check_float("rho", rho, minimum=0.0)
        check_float("log_end", log_end, minimum=0.0, maximum=1.0, min_inclusive=False)
        check_float("label_smoothing", label_smoothing, minimum=0.0, maximum=1.0)
        check_float("bonus_label_smoothing", bonus_label_smoothing, minimum=0.0, maximum=1.0)
        check_choice("reduction", reduction, REDUCTIONS)
        check_int("ignore_index", ignore_index)
        check_choice("base_loss", base_loss, BASE_LOSSES)
        check_float("focal_gamma", focal_gamma, minimum=0.0)
        if base_loss == "focal" and label_smoothing > 0:
            raise ValueError(
                f"label_smoothing={label_smoothing} applies to base_loss='ce' only; allowed with 'focal': 0"
            )
        self.rho = float(rho)
        self.log_end = float(log_end)
        self.label_smoothing = float(label_smoothing)
        self.bonus_label_smoothing = float(bonus_label_smoothing)
        self.reduction = reduction
        self.ignore_index = ignore_index
        self.base_loss = base_loss
        self.focal_gamma = float(focal_gamma)
        self.bonus_scale = 1.0
        self.register_buffer("bonus_weights", _as_weights(bonus_weights), persistent=False)

    def bonus(self, log_probs: torch.Tensor) -> torch.Tensor:
        """``b_LE(p)`` of probabilities given as log-probabilities (``1 - p`` is ``-expm1(log p)``, exact near 1)."""
        bonus = torch.log(torch.clamp(-torch.expm1(log_probs), min=CLAMP))
        if self.log_end < 1.0:
            log_end, probs = self.log_end, log_probs.exp()
            tangent = math.log1p(-log_end) - (probs - log_end) / (1 - log_end)
            bonus = torch.where(probs > log_end, tangent, bonus)
        return bonus

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, reduction: str | None = None) -> torch.Tensor:
        """The loss of ``logits`` ``(..., num_classes)`` against ``labels`` ``(...)``; ``reduction`` overrides
        ``self.reduction`` for this call."""
        reduction = self.reduction if reduction is None else reduction
        check_choice("reduction", reduction, REDUCTIONS)
        self._check_inputs(logits, labels)
        num_classes = logits.shape[-1]
        with torch.autocast(device_type=logits.device.type, enabled=False):
            dtype = torch.promote_types(logits.dtype, torch.float32)
            log_probs = F.log_softmax(logits.to(dtype).reshape(-1, num_classes), dim=-1)
            flat_labels = labels.reshape(-1)
            keep = flat_labels != self.ignore_index
            target = flat_labels.masked_fill(~keep, 0).unsqueeze(-1)
            log_p_target = log_probs.gather(-1, target).squeeze(-1)

            if self.base_loss == "ce":
                loss = -log_p_target
                if self.label_smoothing > 0:
                    uniform = -log_probs.sum(dim=-1) / num_classes
                    loss = (1 - self.label_smoothing) * loss + self.label_smoothing * uniform
            else:
                loss = (-torch.expm1(log_p_target)).pow(self.focal_gamma) * -log_p_target

            rho = self.rho * self.bonus_scale
            if rho != 0:
                weights = None if self.bonus_weights is None else self.bonus_weights.to(log_probs)
                bonus = self.bonus(log_p_target)
                if weights is not None:
                    bonus = bonus * weights[target.squeeze(-1)]
                if self.bonus_label_smoothing > 0:
                    every_class = _BonusSum.apply(log_probs, self.log_end, weights) / num_classes
                    bonus = (1 - self.bonus_label_smoothing) * bonus + self.bonus_label_smoothing * every_class
                loss = loss + rho * bonus

            loss = loss.masked_fill(~keep, 0.0)
            if reduction == "none":
                return loss.reshape(labels.shape)
            if reduction == "sum":
                return loss.sum()
            return loss.sum() / keep.sum().clamp(min=1)

    def _check_inputs(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        if logits.dim() < 1 or tuple(labels.shape) != tuple(logits.shape[:-1]):
            raise ValueError(
                "labels must have the shape of logits without its last (class) dimension: "
                f"logits {tuple(logits.shape)}, labels {tuple(labels.shape)}"
            )
        if labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise ValueError(f"labels must hold integer class indices, got dtype {labels.dtype}")
        num_classes = logits.shape[-1]
        if self.bonus_weights is not None and self.bonus_weights.numel() != num_classes:
            raise ValueError(
                f"bonus_weights has {self.bonus_weights.numel()} entries but the logits have {num_classes} classes; "
                f"allowed: one weight per class"
            )
        valid = labels[labels != self.ignore_index]
        if valid.numel() and (int(valid.min()) < 0 or int(valid.max()) >= num_classes):
            raise ValueError(
                f"labels must lie in [0, {num_classes}) or equal ignore_index={self.ignore_index}; got values in "
                f"[{int(valid.min())}, {int(valid.max())}]"
            )

    def to_dict(self) -> dict:
        """The hyperparameters, JSON-serialisable; ``EncouragingLoss.from_dict(loss.to_dict())`` rebuilds the loss."""
        return {
            "name": self.name,
            "rho": self.rho,
            "log_end": self.log_end,
            "label_smoothing": self.label_smoothing,
            "bonus_label_smoothing": self.bonus_label_smoothing,
            "reduction": self.reduction,
            "ignore_index": self.ignore_index,
            "bonus_weights": None if self.bonus_weights is None else self.bonus_weights.tolist(),
            "base_loss": self.base_loss,
            "focal_gamma": self.focal_gamma,
        }

    @classmethod
    def from_dict(cls, config: Mapping) -> EncouragingLoss:
        config = dict(config)
        name = config.pop("name", cls.name)
        if name != cls.name:
            raise ValueError(f"name={name!r} is not supported by {cls.__name__}; allowed values: {cls.name!r}")
        return cls(**config)

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value!r}" for key, value in self.to_dict().items() if key != "name")


class _BonusSum(torch.autograd.Function):
    """``sum_v w_v * b_LE(p_v)`` over the last dimension of log-probabilities, with the analytic gradient
    ``d/d log p_v = w_v * p_v * b'(p_v)``: ``-p / (1 - p)`` on the log branch, ``-p / (1 - log_end)`` on the tangent,
    0 where ``1 - p`` is clamped. The vocabulary-sized term of the label-smoothed bonus; in-place passes instead of
    autograd's graph of the plain formula, which made a loss step about 6x slower than cross-entropy."""

    @staticmethod
    def forward(ctx, log_probs: torch.Tensor, log_end: float, weights: torch.Tensor | None) -> torch.Tensor:
        one_minus_p = torch.expm1(log_probs).neg_()
        if log_end < 1.0:
            above = torch.nonzero(one_minus_p < 1 - log_end, as_tuple=True)  # p > log_end: few entries per row
            tangent = math.log1p(-log_end) + one_minus_p[above] / (1 - log_end) - 1.0
        bonus = one_minus_p.clamp_(min=CLAMP).log_()
        if log_end < 1.0:
            bonus[above] = tangent
        if weights is not None:
            bonus.mul_(weights)
        ctx.log_end = log_end
        ctx.save_for_backward(log_probs, weights)
        return bonus.sum(dim=-1)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        log_probs, weights = ctx.saved_tensors
        log_end = ctx.log_end
        one_minus_p = torch.expm1(log_probs).neg_()
        clamped = one_minus_p < CLAMP if log_end > 1 - CLAMP else None  # else the tangent covers the clamped range
        if log_end < 1.0:
            one_minus_p.clamp_(min=1 - log_end)  # slope of the tangent: -1 / (1 - log_end)
        grad = log_probs.exp().div_(one_minus_p).neg_()
        if clamped is not None:
            grad.masked_fill_(clamped, 0.0)
        if weights is not None:
            grad.mul_(weights)
        return grad.mul_(grad_output.unsqueeze(-1)), None, None


def _as_weights(weights) -> torch.Tensor | None:
    if weights is None:
        return None
    tensor = torch.as_tensor(weights, dtype=torch.float32).detach().clone()
    if tensor.dim() != 1 or tensor.numel() == 0:
        raise ValueError(
            f"bonus_weights must be a flat list with one weight per class, got shape {tuple(tensor.shape)}"
        )
    if not torch.isfinite(tensor).all() or (tensor < 0).any():
        raise ValueError(f"bonus_weights must be finite and >= 0, got {tensor.tolist()}")
    return tensor


def effective_number_weights(class_counts: Sequence[int], beta: float = 0.9999) -> list[float]:
    """Class-balanced weights from the effective number of samples (Cui et al., CVPR 2019), as the official
    imbalanced-classification code builds them: ``w_c = (1 - beta) / (1 - beta ** n_c)``, rescaled to sum to the
    number of classes."""
    check_float("beta", beta, minimum=0.0, maximum=1.0, min_inclusive=True, max_inclusive=False)
    counts = torch.as_tensor(list(class_counts), dtype=torch.float64)
    if counts.dim() != 1 or counts.numel() == 0 or (counts < 1).any():
        raise ValueError(f"class_counts must be a flat list of counts >= 1, got {list(class_counts)}")
    weights = (1 - beta) / (1 - torch.pow(torch.tensor(beta, dtype=torch.float64), counts))
    return (weights / weights.sum() * counts.numel()).tolist()
