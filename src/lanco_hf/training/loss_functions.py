"""Training losses for ``Trainer(compute_loss_func=...)``, and the ``loss:`` / ``loss_schedule:`` mappings of a
run config.

A loss module maps logits ``(..., num_classes)`` and labels ``(...)`` (``-100`` ignored) to a loss and accepts
``reduction="sum"``; one function then serves sequence classification, image classification and seq2seq (token level).
It returns the summed loss divided by the Trainer's ``num_items_in_batch`` (the number of labels that are not ``-100``
over all accumulated micro-batches and, under DDP, all processes), so gradient accumulation and DDP give the gradient of
one big batch (transformers' ``Trainer`` passes ``num_items_in_batch`` to ``compute_loss_func``)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from ..losses import EncouragingLoss
from ..modeling.validation import check_choice
from .bonus_schedule import BonusScheduleCallback

IGNORE_INDEX = -100  # what the Trainer's num_items_in_batch counts as padding

LOSSES: dict[str, type[nn.Module]] = {"encouraging": EncouragingLoss}


def build_loss(spec: Mapping) -> nn.Module:
    """The loss named by ``spec["name"]`` with the other entries as its arguments, e.g.
    ``{"name": "encouraging", "log_end": 0.5, "label_smoothing": 0.1}``."""
    spec = dict(spec)
    name = spec.pop("name", None)
    check_choice("loss.name", name, LOSSES)
    _check_keys("loss", spec, LOSSES[name])
    return LOSSES[name](**spec)


def _check_keys(field: str, settings: Mapping, target) -> None:
    known = set(inspect.signature(target).parameters) - {"loss"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"{field} has unknown settings {unknown}; allowed: {', '.join(sorted(known))}")


class TrainerLossFunction:
    """``compute_loss_func(outputs, labels, num_items_in_batch=None)`` for any ``Trainer``: ``loss`` summed over
    the batch, divided by ``num_items_in_batch`` (the Trainer's count of non-``-100`` labels) or, when the
    Trainer passes none, by the batch's own count."""

    def __init__(self, loss: nn.Module):
        if getattr(loss, "ignore_index", IGNORE_INDEX) != IGNORE_INDEX:
            raise ValueError(
                f"ignore_index={loss.ignore_index} does not match the Trainer, which counts labels != {IGNORE_INDEX}; "
                f"allowed: {IGNORE_INDEX}"
            )
        self.loss = loss

    def __call__(self, outputs, labels: torch.Tensor | None, num_items_in_batch: int | torch.Tensor | None = None):
        if labels is None:
            raise ValueError("labels are required: the batch has no 'labels' column for the loss to score")
        logits = outputs["logits"] if isinstance(outputs, Mapping) else outputs[0]
        total = self.loss(logits, labels, reduction="sum")
        if num_items_in_batch is None:
            num_items_in_batch = (labels != IGNORE_INDEX).sum().clamp(min=1)
        if torch.is_tensor(num_items_in_batch):
            num_items_in_batch = num_items_in_batch.to(total.device)
        return total / num_items_in_batch


def make_compute_loss_func(loss: nn.Module) -> TrainerLossFunction:
    """``Trainer(compute_loss_func=make_compute_loss_func(EncouragingLoss(log_end=0.75)))``."""
    return TrainerLossFunction(loss)


@dataclass
class RunLoss:
    """The loss of a ``lanco-hf train`` run: the module, its Trainer function and its schedule callback."""

    loss: nn.Module
    schedule: BonusScheduleCallback | None = None

    def __post_init__(self):
        self.compute_loss_func = TrainerLossFunction(self.loss)

    @property
    def callbacks(self) -> list:
        return [self.schedule] if self.schedule is not None else []

    def to_dict(self) -> dict:
        """What ``results.json`` and the model card record."""
        return {**self.loss.to_dict(), "schedule": self.schedule.to_dict() if self.schedule else None}


def build_run_loss(loss_args, training_args) -> RunLoss | None:
    """The ``RunLoss`` of a run's ``LossArguments``, or ``None`` when it keeps the model's own loss. Refuses a
    ``label_smoothing_factor``, which the Trainer ignores once a loss function is given."""
    if not loss_args.loss:
        if loss_args.loss_schedule:
            raise ValueError("loss_schedule needs a loss: set loss.name (e.g. loss.name=encouraging)")
        return None
    if training_args.label_smoothing_factor:
        raise ValueError(
            f"label_smoothing_factor={training_args.label_smoothing_factor} and "
            f"loss.name={loss_args.loss.get('name')!r} are both set, but the Trainer ignores label_smoothing_factor "
            "when a loss is given; set label_smoothing_factor=0 and put the smoothing in the loss "
            "(loss.label_smoothing, loss.bonus_label_smoothing)"
        )
    loss = build_loss(loss_args.loss)
    schedule = None
    if loss_args.loss_schedule:
        _check_keys("loss_schedule", loss_args.loss_schedule, BonusScheduleCallback)
        schedule = BonusScheduleCallback(loss, **loss_args.loss_schedule)
    return RunLoss(loss, schedule)
