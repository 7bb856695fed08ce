"""Which checkpoint ``--resume`` continues from.

``Trainer`` writes a checkpoint's ``trainer_state.json`` last, after the weights, optimizer, scheduler and RNG
states, so a folder without it, or with a truncated one (killed while writing it; the write is not atomic), is
what a run killed in the middle of a save leaves behind; resuming from it would fail or lose the optimizer state.
``last_complete_checkpoint`` skips such folders.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

logger = logging.getLogger(__name__)

TRAINER_STATE_NAME = "trainer_state.json"


def last_complete_checkpoint(output_dir: str | Path) -> str | None:
    """The highest-step ``checkpoint-N`` folder of ``output_dir`` holding a ``trainer_state.json``, or ``None``."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return None
    steps = {}
    for folder in output_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        suffix = folder.name[len(PREFIX_CHECKPOINT_DIR) + 1 :]
        if folder.is_dir() and suffix.isdigit():
            steps[int(suffix)] = folder
    for step in sorted(steps, reverse=True):
        if _complete_json(steps[step] / TRAINER_STATE_NAME):
            return str(steps[step])
        logger.warning("skipping %s: no complete %s (the run was interrupted while saving it)", steps[step],
                       TRAINER_STATE_NAME)
    return None


def _complete_json(path: Path) -> bool:
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):  # missing, unreadable, or cut short
        return False
    return True
