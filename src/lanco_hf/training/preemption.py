"""Checkpoint-and-exit on SIGTERM, the signal schedulers (Slurm, Kubernetes, spot instances) send before they
kill a job: the step under way finishes, a full checkpoint (weights, optimizer, scheduler, RNG) is written, and
the process exits with status 143 (128 + SIGTERM) without writing final results, so ``--resume`` continues
exactly there. A second SIGTERM, or SIGKILL, still kills at once; ``--resume`` then takes the last complete
checkpoint. Every Trainer-based ``lanco-hf train`` task adds it.

Outside the training loop (reading data before it, the final save, evaluation and the model card after it)
``lanco-hf train`` runs under ``exit_on_sigterm()``: SIGTERM ends the run at once with status 143. The run folder
then lacks its completion marker (``lanco_hf.training.run_folder``), so ``lanco-hf push`` refuses it, and
``--resume`` continues from the checkpoint of the last step (the Trainer saves one at the end of training) without
training another step: it only redoes the final save and evaluation."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Iterator

import torch
import torch.distributed as dist
from transformers import TrainerCallback

logger = logging.getLogger(__name__)

SIGTERM_EXIT_CODE = 128 + signal.SIGTERM


class CheckpointOnSigtermCallback(TrainerCallback):
    def __init__(self):
        self.requested = False
        self.previous_handler = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.previous_handler = signal.signal(signal.SIGTERM, self._request)

    def on_train_end(self, args, state, control, **kwargs):
        if self.previous_handler is not None:
            signal.signal(signal.SIGTERM, self.previous_handler)
        if self.requested:  # arrived after the last step's checkpoint: that checkpoint is where --resume starts
            logger.warning("SIGTERM after the last training step (checkpoint of step %d); exiting", state.global_step)
            sys.exit(SIGTERM_EXIT_CODE)

    def on_step_end(self, args, state, control, **kwargs):
        if self._agreed(args.device):
            logger.warning("SIGTERM: saving a checkpoint at step %d, then exiting", state.global_step)
            control.should_save = True
        return control

    def on_save(self, args, state, control, **kwargs):
        if self.requested:
            logger.warning("checkpoint of step %d written; exiting for SIGTERM", state.global_step)
            sys.exit(SIGTERM_EXIT_CODE)

    def _request(self, signum, frame):
        if self.requested:  # a second SIGTERM: stop now
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)
        self.requested = True

    def _agreed(self, device) -> bool:
        """Under DDP every rank must save at the same step: the flag of any rank counts for all."""
        requested = self.requested
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            flag = torch.tensor([float(requested)], device=device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            requested = self.requested = bool(flag.item())
        return requested


def _exit_for_sigterm(signum, frame):
    logger.warning("SIGTERM: exiting with status %d (--resume continues from the last checkpoint)", SIGTERM_EXIT_CODE)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM during the clean-up kills at once
    sys.exit(SIGTERM_EXIT_CODE)


@contextlib.contextmanager
def exit_on_sigterm() -> Iterator[None]:
    """Within the block SIGTERM raises ``SystemExit(143)`` in the main thread, so ``finally`` clauses and context
    managers (the run-folder lock, worker pools) clean up and the status is the documented 143, not death by
    signal; ``CheckpointOnSigtermCallback`` takes over during training and hands back at its end."""
    previous = signal.signal(signal.SIGTERM, _exit_for_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
