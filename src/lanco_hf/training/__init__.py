"""Trainer glue: run configs, task runners, ``compute_loss_func`` builders and callbacks."""

from .bonus_schedule import BonusScheduleCallback, bonus_scale_at
from .loss_functions import TrainerLossFunction, build_loss, make_compute_loss_func

__all__ = ["BonusScheduleCallback", "TrainerLossFunction", "bonus_scale_at", "build_loss", "make_compute_loss_func"]
