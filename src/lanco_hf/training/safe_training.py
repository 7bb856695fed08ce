"""``Trainer.train`` with what every ``lanco-hf train`` task needs for long runs: a stop on the first non-finite
loss, a checkpoint on SIGTERM, and ``--resume`` from the last complete checkpoint."""

from __future__ import annotations

import logging
from pathlib import Path

from transformers import Trainer
from transformers.trainer_utils import TrainOutput

from .checkpoints import last_complete_checkpoint
from .nan_guard import guard_nan_loss
from .preemption import CheckpointOnSigtermCallback

logger = logging.getLogger(__name__)


def train_safely(trainer: Trainer, output_dir: str | Path, resume: bool) -> TrainOutput:
    guard_nan_loss(trainer)
    trainer.add_callback(CheckpointOnSigtermCallback())
    checkpoint = last_complete_checkpoint(output_dir) if resume else None
    if resume and checkpoint is None:
        logger.warning("--resume: no checkpoint in %s, training from scratch", output_dir)
    return trainer.train(resume_from_checkpoint=checkpoint)
