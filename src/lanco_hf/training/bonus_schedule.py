"""The bonus schedules of the encouraging-loss paper as a ``TrainerCallback``: plain cross-entropy for the first
``defer_epochs``, then ``rho`` ramped over ``ramp_epochs`` (fairseq criterion ``encourage_loss.py``:
``--defer_start``, ``--el_schedule linear|exp|cos``, ``--el_schedule_max_epoch``, ``--el_exp_schedule_ratio``)."""

from __future__ import annotations

import math

from transformers import TrainerCallback

from ..modeling.validation import check_choice, check_float

SCHEDULES = ("constant", "linear", "exp", "cos")


def bonus_scale_at(
    epoch: float,
    schedule: str = "constant",
    defer_epochs: float = 0.0,
    ramp_epochs: float | None = None,
    exp_ratio: float = 5.0,
) -> float:
    """The factor on ``rho`` after ``epoch`` (fractional) epochs: 0 before ``defer_epochs``; then, with
    ``u = min((epoch - defer_epochs) / ramp_epochs, 1)``, ``u`` (linear), ``exp(exp_ratio * (u - 1))`` (exp) or
    ``(cos(pi * (1 + u)) + 1) / 2`` (cos), and 1 for ``constant``. The ramp holds at 1 once it is complete."""
    if epoch < defer_epochs:
        return 0.0
    if schedule == "constant":
        return 1.0
    progress = min((epoch - defer_epochs) / ramp_epochs, 1.0)
    if schedule == "linear":
        return progress
    if schedule == "exp":
        return math.exp(exp_ratio * (progress - 1.0))
    return (math.cos(math.pi * (1.0 + progress)) + 1.0) / 2.0


class BonusScheduleCallback(TrainerCallback):
    """Sets ``loss.bonus_scale`` before every optimisation step from the Trainer's fractional epoch (see
    :func:`bonus_scale_at`), so the schedule follows the data seen whether a run counts epochs or steps.

    Args:
        loss: the loss whose bonus is scheduled (an :class:`~lanco_hf.EncouragingLoss`).
        schedule: ``"constant"``, ``"linear"``, ``"exp"`` or ``"cos"``.
        defer_epochs: epochs of plain cross-entropy before the bonus starts, ``>= 0``.
        ramp_epochs: epochs over which ``rho`` ramps from its start value to its full value, ``> 0``; required by
            every schedule but ``"constant"``.
        exp_ratio: steepness of the ``"exp"`` schedule, ``> 0`` (5 in the paper).
    """

    def __init__(
        self,
        loss,
        schedule: str = "constant",
        defer_epochs: float = 0.0,
        ramp_epochs: float | None = None,
        exp_ratio: float = 5.0,
    ):
        if not hasattr(loss, "bonus_scale"):
            raise ValueError(f"loss={type(loss).__name__} has no bonus to schedule; allowed: an EncouragingLoss")
        check_choice("schedule", schedule, SCHEDULES)
        check_float("defer_epochs", defer_epochs, minimum=0.0)
        if schedule != "constant":
            if ramp_epochs is None:
                raise ValueError(f"ramp_epochs is required by schedule={schedule!r}; allowed: a number > 0")
            check_float("ramp_epochs", ramp_epochs, minimum=0.0, min_inclusive=False)
        elif ramp_epochs is not None:
            raise ValueError(f"ramp_epochs={ramp_epochs} has no effect with schedule='constant'; allowed: None")
        check_float("exp_ratio", exp_ratio, minimum=0.0, min_inclusive=False)
        self.loss = loss
        self.schedule = schedule
        self.defer_epochs = float(defer_epochs)
        self.ramp_epochs = None if ramp_epochs is None else float(ramp_epochs)
        self.exp_ratio = float(exp_ratio)

    def scale_at(self, epoch: float) -> float:
        return bonus_scale_at(epoch, self.schedule, self.defer_epochs, self.ramp_epochs, self.exp_ratio)

    def _update(self, state) -> None:
        self.loss.bonus_scale = self.scale_at(state.epoch or 0.0)

    def on_train_begin(self, args, state, control, **kwargs):
        self._update(state)

    def on_step_begin(self, args, state, control, **kwargs):
        self._update(state)

    def to_dict(self) -> dict:
        return {
            "schedule": self.schedule,
            "defer_epochs": self.defer_epochs,
            "ramp_epochs": self.ramp_epochs,
            "exp_ratio": self.exp_ratio,
        }
