"""Trainer callbacks shared by the lanco training scripts."""

from __future__ import annotations

import logging
import time

import torch
import torch.distributed as dist
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

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


class LearningCurveCallback(TrainerCallback, ExportableState):
    """Collects ``{"step", "train_seconds", <eval metrics>}`` at every evaluation during training (``eval_strategy``
    ``"steps"`` or ``"epoch"``), so that a run's validation score can be plotted against steps and against training
    time. ``train_seconds`` is the wall time spent training since the run began, evaluation excluded.

    The curve survives an interruption: every checkpoint's ``trainer_state.json`` stores the points and the training
    time so far (transformers' ``ExportableState``), and a resumed run continues from them (the steps after the last
    checkpoint are trained again, so their time is not counted twice). A checkpoint written without this state gets
    its evaluations back from the Trainer's log history, with ``train_seconds`` unknown (``None``)."""

    def __init__(self):
        self.points: list[dict] = []
        self.seconds_before = 0.0  # training time of the run before this process resumed it
        self.start = None
        self.eval_seconds = 0.0

    def train_seconds(self) -> float:
        """Training time of the run so far, evaluation excluded."""
        if self.start is None:
            return self.seconds_before
        return self.seconds_before + time.monotonic() - self.start - self.eval_seconds

    def state(self) -> dict:
        return {"args": {}, "attributes": {"points": self.points, "seconds_before": self.train_seconds()}}

    def on_train_begin(self, args, state, control, **kwargs):
        if state.global_step > 0:  # resumed from a checkpoint
            stored = state.stateful_callbacks.get(type(self).__name__)
            if stored:
                self.points = [dict(point) for point in stored["attributes"]["points"]]
                self.seconds_before = stored["attributes"]["seconds_before"]
            else:
                self.points = [_point_from_log(entry) for entry in state.log_history if "eval_runtime" in entry]
        self.start = time.monotonic()
        self.eval_seconds = 0.0

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.start is None or not metrics:
            return
        self.eval_seconds += metrics.get("eval_runtime", 0.0)
        self.points.append({"step": state.global_step, "train_seconds": self.train_seconds(), **_eval_values(metrics)})


def _eval_values(metrics: dict) -> dict:
    """An evaluation's metrics without the ``eval_`` prefix and without its timing and epoch."""
    timing = ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "epoch", "step")
    return {key.removeprefix("eval_"): value for key, value in metrics.items() if key not in timing}


def _point_from_log(entry: dict) -> dict:
    return {"step": entry["step"], "train_seconds": None, **_eval_values(entry)}
