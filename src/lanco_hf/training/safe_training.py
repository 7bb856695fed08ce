"""``Trainer.train`` with what every ``lanco-hf train`` task needs for long runs: a stop on the first non-finite
loss, a checkpoint on SIGTERM, an exact ``--resume`` from the last complete checkpoint, and a ``train_runtime`` and
``train_loss`` that are the whole run's (``RunClockCallback``, ``run_train_loss``), not only the last process's.

Exact resume needs two things ``Trainer`` does not do by itself:

- a checkpoint of the last step (left by a run killed during its final save or evaluation) is not resumed by
  ``Trainer.train``, which would take one more optimizer step before it notices that ``max_steps`` is reached;
  its weights and state are loaded instead and training is skipped, so only the final save and evaluation run;
- a weights-only checkpoint (``save_only_model=true``) has no optimizer, scheduler or RNG state, so resuming from
  it cannot reproduce the uninterrupted run: it is refused with ``IncompleteCheckpointError``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from transformers import Trainer, TrainerState
from transformers.trainer_utils import TrainOutput

from .callbacks import LogAtCheckpointCallback, ResumableCallback, RunClockCallback, run_train_loss
from .checkpoints import TRAINER_STATE_NAME, last_complete_checkpoint
from .nan_guard import guard_nan_loss
from .preemption import CheckpointOnSigtermCallback

logger = logging.getLogger(__name__)

# what holds the optimizer state in a checkpoint: Trainer's own file, DeepSpeed's and FSDP's folders
OPTIMIZER_STATE_PATTERNS = ("optimizer.pt", "optimizer.bin", "optimizer_*", "global_step*")


class IncompleteCheckpointError(ValueError):
    """The checkpoint cannot continue a run exactly (weights only, no optimizer / scheduler / RNG state)."""


def has_optimizer_state(checkpoint: str | Path) -> bool:
    return any(any(Path(checkpoint).glob(pattern)) for pattern in OPTIMIZER_STATE_PATTERNS)


def train_safely(trainer: Trainer, output_dir: str | Path, resume: bool) -> TrainOutput:
    guard_nan_loss(trainer)
    trainer.add_callback(CheckpointOnSigtermCallback())
    trainer.add_callback(RunClockCallback())
    trainer.add_callback(LogAtCheckpointCallback())  # last: after every callback that may ask for a save
    output, resumed_at = _train(trainer, output_dir, resume)
    output.metrics["train_runtime"] = RunClockCallback.of(trainer).seconds()
    output.metrics["train_loss"] = run_train_loss(
        trainer.state.log_history, resumed_at, trainer.state.global_step, output.metrics.get("train_loss")
    )
    return output


def _train(trainer: Trainer, output_dir: str | Path, resume: bool) -> tuple[TrainOutput, int]:
    """The output of training and the step it resumed at (0: from scratch)."""
    checkpoint = last_complete_checkpoint(output_dir) if resume else None
    if resume and checkpoint is None:
        logger.warning("--resume: no checkpoint in %s, training from scratch", output_dir)
    if checkpoint is None:
        return trainer.train(), 0
    if not has_optimizer_state(checkpoint):
        raise IncompleteCheckpointError(
            f"--resume: {checkpoint} holds only the model weights (save_only_model=true), not the optimizer, "
            "scheduler and RNG states an exact resume needs; train again without --resume (and without "
            "save_only_model), or start a new run from these weights with model_name_or_path"
        )
    state = TrainerState.load_from_json(str(Path(checkpoint) / TRAINER_STATE_NAME))
    last_step = trainer.args.max_steps if trainer.args.max_steps > 0 else state.max_steps
    if state.global_step < last_step:
        return trainer.train(resume_from_checkpoint=checkpoint), state.global_step
    logger.warning(
        "--resume: %s is the checkpoint of the last step (%d of %d): training is complete, loading it and redoing "
        "only the final save and evaluation",
        checkpoint,
        state.global_step,
        last_step,
    )
    trainer._load_from_checkpoint(checkpoint)
    trainer.state = state
    for callback in trainer.callback_handler.callbacks:  # restored as a resumed run's on_train_begin restores them
        if isinstance(callback, ResumableCallback):
            callback.on_train_begin(trainer.args, state, trainer.control)
    return TrainOutput(state.global_step, None, {}), state.global_step
