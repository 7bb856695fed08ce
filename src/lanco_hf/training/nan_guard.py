"""Stop a ``Trainer`` run on the first non-finite training loss, naming the step.

By default ``Trainer`` hides a NaN/inf loss (``logging_nan_inf_filter`` replaces it by the running mean in the
logs) and keeps stepping the optimizer, so a week-long run can silently train on NaN weights.
``guard_nan_loss(trainer)`` checks the loss of every micro-batch right after its backward pass, before the
optimizer step, whether the model computes the loss or a ``compute_loss_func`` does.
"""

from __future__ import annotations

import functools
import math

import torch
from transformers import Trainer


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; no optimizer step was taken with it."""


def check_finite_loss(loss: torch.Tensor | float, step: int) -> None:
    """Raise ``NonFiniteLossError`` naming ``step`` when ``loss`` is NaN or +-inf (one host sync for a tensor)."""
    value = float(loss.detach().float().sum()) if isinstance(loss, torch.Tensor) else float(loss)
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"training loss is {value} at step {step}; stopping before the optimizer step. Lower the learning "
            "rate, enable gradient clipping (max_grad_norm), use bf16 instead of fp16, or check the inputs of "
            f"this batch; resume from the last checkpoint with --resume"
        )


def guard_nan_loss(trainer: Trainer) -> Trainer:
    """Make ``trainer`` raise ``NonFiniteLossError`` on a NaN/inf loss of any micro-batch; returns ``trainer``."""
    training_step = trainer.training_step

    @functools.wraps(training_step)
    def guarded_training_step(model, inputs, *args, **kwargs):
        loss = training_step(model, inputs, *args, **kwargs)
        check_finite_loss(loss, trainer.state.global_step + 1)
        return loss

    trainer.training_step = guarded_training_step
    return trainer
