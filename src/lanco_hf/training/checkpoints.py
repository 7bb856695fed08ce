"""Which checkpoint ``--resume`` continues from, and the averaging of a run's last checkpoints.

``Trainer`` writes a checkpoint's ``trainer_state.json`` last, after the weights, optimizer, scheduler and RNG
states, so a folder without it, or with a truncated one (killed while writing it; the write is not atomic), is
what a run killed in the middle of a save leaves behind; resuming from it would fail or lose the optimizer state.
``last_complete_checkpoint`` skips such folders.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

logger = logging.getLogger(__name__)

TRAINER_STATE_NAME = "trainer_state.json"


def last_complete_checkpoint(output_dir: str | Path) -> str | None:
    """The highest-step ``checkpoint-N`` folder of ``output_dir`` holding a ``trainer_state.json``, or ``None``."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return None
    steps = checkpoint_steps(output_dir)
    for step in sorted(steps, reverse=True):
        if _complete_json(steps[step] / TRAINER_STATE_NAME):
            return str(steps[step])
        logger.warning(
            "skipping %s: no complete %s (the run was interrupted while saving it)", steps[step], TRAINER_STATE_NAME
        )
    return None


def _complete_json(path: Path) -> bool:
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):  # missing, unreadable, or cut short
        return False
    return True


def checkpoint_steps(output_dir: str | Path) -> dict[int, Path]:
    """``{step: folder}`` of the ``checkpoint-N`` folders of ``output_dir`` (complete or not)."""
    steps = {}
    for folder in Path(output_dir).glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        suffix = folder.name[len(PREFIX_CHECKPOINT_DIR) + 1 :]
        if folder.is_dir() and suffix.isdigit():
            steps[int(suffix)] = folder
    return steps


def average_last_checkpoints(model, output_dir: str | Path, count: int, final_step: int) -> list[int]:
    """Replace ``model``'s weights by the mean of its own (the weights after ``final_step``) and those of the last
    ``count - 1`` complete checkpoints of ``output_dir`` before that step, as Vaswani et al. (2017, section 6.1)
    average the last checkpoints of a run. Returns the averaged steps; raises ``ValueError`` when the folder holds
    fewer checkpoints than asked (raise ``save_total_limit`` or save more often)."""
    if count <= 1:
        return [final_step]
    earlier = {
        step: folder
        for step, folder in checkpoint_steps(output_dir).items()
        if step < final_step and _complete_json(folder / TRAINER_STATE_NAME)
    }
    chosen = sorted(earlier)[-(count - 1) :]
    if len(chosen) < count - 1:
        raise ValueError(
            f"average_checkpoints={count} needs {count - 1} checkpoints before step {final_step} in {output_dir}, "
            f"found {len(chosen)} ({sorted(earlier)}); set save_steps so that checkpoints are written during the last "
            f"steps and save_total_limit >= {count - 1}"
        )
    state = model.state_dict()
    total = {name: tensor.detach().double().clone() for name, tensor in state.items() if tensor.is_floating_point()}
    for step in chosen:
        saved = type(model).from_pretrained(earlier[step], dtype=model.dtype).state_dict()
        for name in total:
            total[name] += saved[name].double()
    with torch.no_grad():
        for name, summed in total.items():
            state[name].copy_((summed / count).to(state[name].dtype))
    return [*chosen, final_step]
