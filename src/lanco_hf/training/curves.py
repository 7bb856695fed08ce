"""Training curves of a finished run: ``training_curves.png`` (training loss, learning rate and the evaluated task
metrics against the optimiser step) drawn with matplotlib from the run's log history, the ``log_history`` of the
Trainer's ``trainer_state.json`` or the per-epoch ``training_history.json`` of a task with its own loop.
:func:`~lanco_hf.training.run.finish_run` writes it for every task that trains, and the model card embeds it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..hub.model_card import TRAINING_CURVES

logger = logging.getLogger(__name__)

# log entries that are bookkeeping, not curves
NOT_A_CURVE = {
    "epoch",
    "step",
    "total_flos",
    "grad_norm",
    "runtime",
    "samples_per_second",
    "steps_per_second",
    "gen_len",
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "train_loss",
}


def read_log_history(run_dir: str | Path) -> list[dict]:
    """The run's log history as Trainer entries (``{"step", "loss", "learning_rate", "eval_<metric>", ...}``): the
    ``log_history`` of ``trainer_state.json``, else ``training_history.json`` (one entry per epoch of a custom loop:
    ``epoch`` becomes the step and ``valid_<metric>`` the evaluated ``eval_<metric>``), else ``[]``."""
    run_dir = Path(run_dir)
    state = run_dir / "trainer_state.json"
    if state.is_file():
        return json.loads(state.read_text()).get("log_history", [])
    history = run_dir / "training_history.json"
    if history.is_file():
        return [_as_trainer_entry(entry) for entry in json.loads(history.read_text())]
    return []


def _as_trainer_entry(entry: dict) -> dict:
    renamed = {key.replace("valid_", "eval_", 1) if key.startswith("valid_") else key: v for key, v in entry.items()}
    return {"step": renamed.pop("epoch"), **renamed}


def curves_of(log_history: list[dict]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """``{panel: {curve: [(step, value), ...]}}`` for the panels ``loss`` (training and evaluation loss),
    ``learning rate`` and ``metrics`` (every other evaluated number); empty panels are left out."""
    panels: dict[str, dict[str, list[tuple[int, float]]]] = {"loss": {}, "learning rate": {}, "metrics": {}}
    for entry in log_history:
        step = entry.get("step")
        if step is None:
            continue
        for key, value in entry.items():
            if key in NOT_A_CURVE or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            name = key.removeprefix("eval_")
            if key == "loss":
                panel, name = "loss", "training"
            elif key == "eval_loss":
                panel, name = "loss", "evaluation"
            elif key == "learning_rate":
                panel = "learning rate"
            elif key.startswith("eval_") and name not in NOT_A_CURVE:
                panel = "metrics"
            else:
                continue
            panels[panel].setdefault(name, []).append((step, float(value)))
    return {panel: curves for panel, curves in panels.items() if curves}


def plot_training_curves(log_history: list[dict], path: str | Path, title: str | None = None) -> Path | None:
    """Draw :func:`curves_of` ``log_history`` side by side into the PNG ``path``; returns it, or ``None`` when the
    history holds no curve or matplotlib is not installed (``pip install matplotlib``)."""
    panels = curves_of(log_history)
    if not panels:
        return None
    try:
        from matplotlib.figure import Figure
    except ImportError:
        logger.warning("matplotlib is not installed: no %s (pip install matplotlib)", TRAINING_CURVES)
        return None
    figure = Figure(figsize=(4.2 * len(panels), 3.4), layout="constrained")
    for axes, (panel, curves) in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels.items()):
        for name, points in curves.items():
            steps, values = zip(*points)
            axes.plot(steps, values, marker="o" if len(points) <= 20 else None, markersize=3, label=name)
        axes.set_xlabel("step")
        axes.set_title(panel)
        axes.grid(alpha=0.3)
        if panel == "learning rate":
            axes.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
        if len(curves) > 1 or panel == "metrics":
            axes.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    path = Path(path)
    figure.savefig(path, dpi=100)
    return path


def write_training_curves(run_dir: str | Path) -> Path | None:
    """``run_dir/training_curves.png`` from the run's log history (:func:`read_log_history`), or ``None`` when the
    run logged no curve."""
    run_dir = Path(run_dir)
    path = plot_training_curves(read_log_history(run_dir), run_dir / TRAINING_CURVES)
    if path is None:
        (run_dir / TRAINING_CURVES).unlink(missing_ok=True)  # never a picture of an earlier run in the same folder
    return path


__all__ = ["TRAINING_CURVES", "curves_of", "plot_training_curves", "read_log_history", "write_training_curves"]
