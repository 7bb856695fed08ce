"""Trainer callbacks shared by the lanco training scripts."""

from __future__ import annotations

import logging
import time

from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class TimeBudgetCallback(TrainerCallback):
    """Stop training once ``max_minutes`` of wall time are spent, saving a checkpoint first, so a run fits a
    fixed budget on a slower machine and can still be resumed."""

    def __init__(self, max_minutes: float):
        self.max_seconds = max_minutes * 60
        self.start = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        if time.monotonic() - self.start > self.max_seconds:
            logger.warning("time budget of %.1f min spent at step %d; stopping", self.max_seconds / 60, state.global_step)
            control.should_training_stop = True
            control.should_save = True
        return control
