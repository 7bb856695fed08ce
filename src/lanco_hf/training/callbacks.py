"""Trainer callbacks shared by the lanco training scripts."""

from __future__ import annotations

import copy
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


class LogAtCheckpointCallback(TrainerCallback):
    """Logs the training loss at every step that writes a checkpoint, so that the log history a checkpoint holds
    covers every step up to it (``logging_steps`` need not divide ``save_steps``) and a resumed run can report the
    mean training loss of the whole run (``run_train_loss``). Added after the callbacks that ask for a save."""

    def on_step_end(self, args, state, control, **kwargs):
        return self._log_if_saving(control)

    def on_epoch_end(self, args, state, control, **kwargs):
        return self._log_if_saving(control)

    @staticmethod
    def _log_if_saving(control):
        if control.should_save:
            control.should_log = True
        return control


def run_train_loss(log_history: list[dict], resumed_at: int, global_step: int, last_process_loss) -> float | None:
    """The mean training loss over every step of a run resumed at step ``resumed_at`` (0: not resumed), where
    transformers' ``train_loss`` (``last_process_loss``) averages only the steps of the process that finished it:
    the logged losses of the steps up to ``resumed_at`` (each a mean over the steps since the log before it) weighted
    by their steps, plus the last process's. ``None`` when the history does not cover those steps exactly."""
    if resumed_at == 0:
        return last_process_loss
    total, covered = 0.0, 0
    for entry in log_history:
        if "loss" in entry and entry["step"] <= resumed_at:
            total += entry["loss"] * (entry["step"] - covered)
            covered = entry["step"]
    if covered != resumed_at:
        return None
    if global_step > resumed_at:
        if last_process_loss is None:
            return None
        total += last_process_loss * (global_step - resumed_at)
    return total / global_step


class ResumableCallback(TrainerCallback, ExportableState):
    """A callback whose ``attributes()`` ride in every checkpoint's ``trainer_state.json`` (transformers'
    ``ExportableState``) and come back with ``restore`` when a run resumes. transformers' own restore
    (``restore_callback_states_from_checkpoint``) replaces the instance instead, so who reads a callback after
    training takes it from the trainer (``of(trainer)``) rather than keeping the one it passed."""

    @classmethod
    def of(cls, trainer):
        """The trainer's instance of this callback."""
        return next(callback for callback in trainer.callback_handler.callbacks if isinstance(callback, cls))

    def attributes(self) -> dict:
        raise NotImplementedError

    def state(self) -> dict:
        return {"args": {}, "attributes": self.attributes()}

    def restore(self, state) -> bool:
        """Take back the attributes the checkpoint of ``state`` stored; False when it stored none."""
        stored = state.stateful_callbacks.get(type(self).__name__)
        if not isinstance(stored, dict):
            return False
        for name, value in stored["attributes"].items():
            setattr(self, name, copy.deepcopy(value))
        return True

    def unrecorded(self, state) -> None:
        """Set what is known of the run before a checkpoint that stored nothing for this callback (one written before
        the callback existed)."""
        raise NotImplementedError

    def on_train_begin(self, args, state, control, **kwargs):
        """A resumed run (``global_step > 0``) takes back what its checkpoint stored, or calls ``unrecorded``; the
        state gets an entry for this callback either way: transformers' ``_save_checkpoint`` updates
        ``state.stateful_callbacks[name]`` for every ``ExportableState`` callback and raises ``KeyError`` on a name
        the resumed state lacks."""
        if state.global_step > 0 and not self.restore(state):
            self.unrecorded(state)
        state.stateful_callbacks.setdefault(type(self).__name__, self.state())


class RunClockCallback(ResumableCallback):
    """The wall time of a whole run's training, across ``--resume``: what the run has spent up to its last checkpoint
    plus the time of the process that finished it (the steps after that checkpoint are trained again, so their first
    try is not counted). transformers' ``train_runtime`` counts only the last process. ``None``: unknown, for a run
    resumed from a checkpoint that did not store the clock (written before this callback existed)."""

    def __init__(self):
        self.seconds_before: float | None = 0.0
        self.start = None

    def seconds(self) -> float | None:
        if self.seconds_before is None:
            return None
        return self.seconds_before + (time.monotonic() - self.start if self.start is not None else 0.0)

    def attributes(self) -> dict:
        return {"seconds_before": self.seconds()}

    def unrecorded(self, state) -> None:
        self.seconds_before = None

    def on_train_begin(self, args, state, control, **kwargs):
        super().on_train_begin(args, state, control, **kwargs)
        self.start = time.monotonic()


class LearningCurveCallback(ResumableCallback):
    """Collects ``{"step", "train_seconds", <eval metrics>}`` at every evaluation during training (``eval_strategy``
    ``"steps"`` or ``"epoch"``), so that a run's validation score can be plotted against steps and against training
    time. ``train_seconds`` is the wall time spent training since the run began, evaluation excluded.

    The curve survives an interruption: every checkpoint stores the points and the training time so far, and a
    resumed run continues from them (the steps after the last checkpoint are trained again, so their time is not
    counted twice). A checkpoint written without this state gets its evaluations back from the Trainer's log
    history, and the run's training time stays unknown (``None``) from then on."""

    def __init__(self):
        self.points: list[dict] = []
        self.seconds_before: float | None = 0.0  # training time of the run before this process resumed it
        self.start = None
        self.eval_seconds = 0.0

    def train_seconds(self) -> float | None:
        """Training time of the run so far, evaluation excluded; ``None`` when unknown."""
        if self.start is None or self.seconds_before is None:
            return self.seconds_before
        return self.seconds_before + time.monotonic() - self.start - self.eval_seconds

    def attributes(self) -> dict:
        return {"points": self.points, "seconds_before": self.train_seconds()}

    def unrecorded(self, state) -> None:
        self.points = [_point_from_log(entry) for entry in state.log_history if "eval_runtime" in entry]
        self.seconds_before = None

    def on_train_begin(self, args, state, control, **kwargs):
        super().on_train_begin(args, state, control, **kwargs)
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
