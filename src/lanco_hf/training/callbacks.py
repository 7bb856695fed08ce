"""Trainer callbacks shared by the lanco training scripts."""

from __future__ import annotations

import logging
import time

import torch
import torch.distributed as dist
from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class TimeBudgetCallback(TrainerCallback):
    """Stop training once ``max_minutes`` of wall time are spent, saving a checkpoint first, so a run fits a
    fixed budget on a slower machine and can still be resumed. Under DDP the first process's clock decides for
    every rank, so that all ranks stop after the same step."""

    def __init__(self, max_minutes: float):
        self.max_seconds = max_minutes * 60
        self.start = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        if self._time_is_up(args.device):
            logger.warning(
                "time budget of %.1f min spent at step %d; stopping", self.max_seconds / 60, state.global_step
            )
            control.should_training_stop = True
            control.should_save = True
        return control

    def _time_is_up(self, device: torch.device) -> bool:
        up = time.monotonic() - self.start > self.max_seconds
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            flag = torch.tensor([float(up)], device=device)
            dist.broadcast(flag, src=0)
            up = bool(flag.item())
        return up


class LearningCurveCallback(TrainerCallback):
    """Collects ``{"step", "train_seconds", <eval metrics>}`` at every evaluation during training (``eval_strategy``
    ``"steps"`` or ``"epoch"``), so that a run's validation score can be plotted against steps and against training
    time. ``train_seconds`` is the wall time since training began minus the time spent evaluating."""

    def __init__(self):
        self.points: list[dict] = []
        self.start = None
        self.eval_seconds = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.monotonic()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.start is None or not metrics:
            return
        self.eval_seconds += metrics.get("eval_runtime", 0.0)
        point = {"step": state.global_step, "train_seconds": time.monotonic() - self.start - self.eval_seconds}
        point.update(
            {
                key.removeprefix("eval_"): value
                for key, value in metrics.items()
                if key not in ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "epoch")
            }
        )
        self.points.append(point)
