"""Progress and pictures: every run draws training_curves.png from its log history and its card shows it, runs log
to TensorBoard by default where it is installed (an explicit report_to wins), the push uploads both, and the ReNode
loop shows progress."""

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
from helpers import CONFIG_DIR, GOLDEN_CARDS, TINY_TRANSLATION_RUN
from PIL import Image

from lanco_hf.cli import main
from lanco_hf.hub.model_card import card_from_run
from lanco_hf.hub.push import files_to_upload
from lanco_hf.training.arguments import default_report_to, load_run_config, parse_run_config
from lanco_hf.training.curves import curves_of, plot_training_curves, read_log_history, write_training_curves
from lanco_hf.training.node_classification import NodeTrainingArguments
from lanco_hf.training.tasks import get_task

# a Trainer log history: training logs every 2 steps, an evaluation at step 4, the final summary
LOG_HISTORY = [
    {"epoch": 0.1, "step": 2, "loss": 9.0, "learning_rate": 0.001, "grad_norm": 3.0},
    {"epoch": 0.2, "step": 4, "loss": 7.5, "learning_rate": 0.002, "grad_norm": 2.0},
    {"epoch": 0.2, "step": 4, "eval_loss": 7.9, "eval_bleu": 1.5, "eval_chrf": 12.0, "eval_runtime": 3.0},
    {"epoch": 0.3, "step": 6, "loss": 6.0, "learning_rate": 0.0015},
    {"epoch": 0.3, "step": 6, "train_runtime": 30.0, "train_loss": 7.5, "total_flos": 1.0},
]


def test_curves_are_the_loss_the_learning_rate_and_the_evaluated_metrics():
    assert curves_of(LOG_HISTORY) == {
        "loss": {"training": [(2, 9.0), (4, 7.5), (6, 6.0)], "evaluation": [(4, 7.9)]},
        "learning rate": {"learning_rate": [(2, 0.001), (4, 0.002), (6, 0.0015)]},
        "metrics": {"bleu": [(4, 1.5)], "chrf": [(4, 12.0)]},
    }
    # no evaluation: no metrics panel; no numbers: no picture
    assert set(curves_of([entry for entry in LOG_HISTORY if "eval_loss" not in entry])) == {"loss", "learning rate"}
    assert curves_of([{"step": 3, "train_runtime": 1.0}]) == {}


@pytest.mark.parametrize("evaluated, panels", [(True, 3), (False, 2)])
def test_the_picture_has_one_panel_per_curve_group(evaluated, panels, tmp_path):
    history = [entry for entry in LOG_HISTORY if evaluated or "eval_loss" not in entry]
    path = plot_training_curves(history, tmp_path / "curves.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (round(4.2 * panels * 100), 340)
    assert plot_training_curves([], tmp_path / "none.png") is None and not (tmp_path / "none.png").exists()


def test_a_custom_loop_history_reads_as_trainer_entries(tmp_path):
    history = [
        {"epoch": 1, "loss": 1.9, "learning_rate": 0.0075, "valid_weighted_f1": 0.3, "valid_macro_f1": 0.2},
        {"epoch": 2, "loss": 1.7, "learning_rate": 0.0075, "valid_weighted_f1": 0.4, "valid_macro_f1": 0.3},
    ]
    (tmp_path / "training_history.json").write_text(json.dumps(history))
    assert curves_of(read_log_history(tmp_path))["metrics"] == {
        "weighted_f1": [(1, 0.3), (2, 0.4)],
        "macro_f1": [(1, 0.2), (2, 0.3)],
    }
    # the Trainer's state wins over a custom history
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": LOG_HISTORY}))
    assert read_log_history(tmp_path) == LOG_HISTORY


def test_a_run_without_curves_keeps_no_old_picture(tmp_path):
    (tmp_path / "training_curves.png").write_bytes(b"an earlier run's picture")
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": [{"step": 1, "train_runtime": 1.0}]}))
    assert write_training_curves(tmp_path) is None and not (tmp_path / "training_curves.png").exists()


@pytest.mark.parametrize("case", ["translation_explicit_sparse_encouraging", "node_classification_renode"])
def test_the_card_shows_the_curves_exactly_when_the_run_has_them(case, tmp_path):
    run = tmp_path / case
    shutil.copytree(GOLDEN_CARDS / case, run)
    without = str(card_from_run(run))
    assert "training_curves.png" not in without
    plot_training_curves(LOG_HISTORY, run / "training_curves.png")
    with_curves = str(card_from_run(run))
    assert "](training_curves.png)" in with_curves
    # the picture sits under Training, and nothing else changes
    assert with_curves.index("## Training") < with_curves.index("](training_curves.png)")
    image_line = next(line for line in with_curves.splitlines() if "](training_curves.png)" in line)
    assert with_curves.replace(f"\n\n{image_line}", "", 1) == without


def test_report_to_defaults_to_tensorboard_where_installed_and_an_explicit_value_wins():
    pytest.importorskip("tensorboard")
    assert default_report_to() == "tensorboard"
    config = load_run_config(CONFIG_DIR / "explicit_sparse_bible.yaml")
    config.pop("task", None)
    arguments = get_task("translation").arguments

    def report_to(settings):
        return next(a.report_to for a in parse_run_config(settings, arguments) if hasattr(a, "report_to"))

    assert report_to({**config, "report_to": "none"}) == []
    config.pop("report_to", None)
    assert report_to(config) == ["tensorboard"]
    node_args = parse_run_config({}, (NodeTrainingArguments,))[0]
    assert node_args.report_to == "tensorboard"


def test_report_to_of_the_renode_loop_is_checked():
    with pytest.raises(ValueError, match=r"report_to='wandb' is not supported; allowed values: tensorboard, none"):
        NodeTrainingArguments(report_to="wandb")


def test_the_push_uploads_the_picture_and_the_tensorboard_logs(tmp_path):
    (tmp_path / "training_curves.png").write_bytes(b"png")
    (tmp_path / "runs" / "Dec02_20-00-00_host").mkdir(parents=True)
    (tmp_path / "runs" / "Dec02_20-00-00_host" / "events.out.tfevents.1.host.1.0").write_bytes(b"events")
    (tmp_path / "checkpoint-3").mkdir()
    (tmp_path / "checkpoint-3" / "training_curves.png").write_bytes(b"png")
    assert files_to_upload(tmp_path) == [
        "runs/Dec02_20-00-00_host/events.out.tfevents.1.host.1.0",
        "training_curves.png",
    ]


def tensorboard_scalars(run: Path) -> dict[str, int]:
    """``{tag: number of values}`` of the TensorBoard event files under ``run/runs``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = run.glob("runs/*/events.out.tfevents.*")
    accumulator = EventAccumulator(str(events.parent))
    accumulator.Reload()
    return {tag: len(accumulator.Scalars(tag)) for tag in accumulator.Tags()["scalars"]}


@pytest.mark.slow
def test_the_main_job_card_shows_its_training_curves_and_tensorboard_has_them(verse_dataset, tmp_path):
    pytest.importorskip("tensorboard")
    output = tmp_path / "main-job"
    overrides = [*TINY_TRANSLATION_RUN, "report_to=tensorboard"]
    with contextlib.redirect_stdout(io.StringIO()):
        main(["train", "explicit_sparse_bible", f"dataset={verse_dataset}", f"output_dir={output}", *overrides])
    with Image.open(output / "training_curves.png") as image:  # loss, learning rate and the evaluated metrics
        assert image.size == (1260, 340)
    card = (output / "README.md").read_text()
    assert "![Training curves" in card and "](training_curves.png)" in card
    scalars = tensorboard_scalars(output)
    # logging_steps=2, and the checkpoint of step 3 logs its own step too (LogAtCheckpointCallback); eval_steps=3
    assert scalars["train/loss"] == 4 and scalars["eval/loss"] == 2
    assert "training_curves.png" in files_to_upload(output)


@pytest.mark.slow
def test_the_renode_loop_shows_progress_and_logs_every_epoch(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    from lanco_hf.data.cache import DataNotFoundError
    from lanco_hf.data.planetoid import find_planetoid_raw

    try:
        find_planetoid_raw("Cora", download=False)
    except DataNotFoundError as error:
        pytest.skip(str(error))
    output = tmp_path / "renode"
    epochs = ["num_train_epochs=6", "early_stopping_min_epochs=10"]
    main(["train", "renode_gcn_cora", f"output_dir={output}", *epochs])
    progress = capsys.readouterr().err
    assert "Training: 100%" in progress and "6/6" in progress
    scalars = tensorboard_scalars(output)
    assert scalars["train/loss"] == scalars["eval/weighted_f1"] == 6
    history = json.loads((output / "training_history.json").read_text())
    assert [entry["learning_rate"] for entry in history] == [0.0075] * 6
    assert "](training_curves.png)" in (output / "README.md").read_text()
    with Image.open(output / "training_curves.png") as image:
        assert image.size == (1260, 340)
