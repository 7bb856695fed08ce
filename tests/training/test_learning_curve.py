"""LearningCurveCallback and RunClockCallback keep a run's validation curve and training time whole across
interruptions (the end-to-end case, a killed `lanco-hf train` run resumed, is in test_interruption.py)."""

import json

import torch
from transformers import Trainer, TrainerControl, TrainerState, TrainingArguments

from lanco_hf.training.callbacks import LearningCurveCallback, RunClockCallback


def evaluate(callback, state, step, loss):
    state.global_step = step
    callback.on_evaluate(None, state, TrainerControl(), metrics={"eval_loss": loss, "eval_runtime": 0.0, "epoch": 1.0})


def test_a_resumed_curve_continues_from_the_checkpoint_state(tmp_path):
    args = TrainingArguments(tmp_path, report_to="none", use_cpu=True)
    first, state = LearningCurveCallback(), TrainerState()
    first.on_train_begin(args, state, TrainerControl())
    evaluate(first, state, 3, 2.0)
    evaluate(first, state, 6, 1.5)
    # what Trainer._save_checkpoint writes into trainer_state.json, read back as a resumed Trainer does
    saved = first.state()
    state.stateful_callbacks = {"LearningCurveCallback": saved}
    path = tmp_path / "trainer_state.json"
    state.save_to_json(path)
    resumed_state = TrainerState.load_from_json(path)

    second = LearningCurveCallback()
    second.on_train_begin(args, resumed_state, TrainerControl())
    evaluate(second, resumed_state, 9, 1.2)
    assert [(p["step"], p["loss"]) for p in second.points] == [(3, 2.0), (6, 1.5), (9, 1.2)]
    seconds = [p["train_seconds"] for p in second.points]
    assert seconds[:2] == [p["train_seconds"] for p in first.points]
    assert seconds[2] >= saved["attributes"]["seconds_before"] >= seconds[1]  # counts on from the checkpoint


def test_a_checkpoint_without_the_curve_gives_its_evaluations_back_from_the_log_history(tmp_path):
    args = TrainingArguments(tmp_path, report_to="none", use_cpu=True)
    state = TrainerState(global_step=8)
    state.log_history = [
        {"loss": 3.0, "step": 2},
        {"eval_loss": 2.0, "eval_bleu": 1.0, "eval_runtime": 0.5, "epoch": 0.5, "step": 4},
        {"eval_loss": 1.5, "eval_bleu": 2.0, "eval_runtime": 0.5, "epoch": 1.0, "step": 8},
    ]
    callback = LearningCurveCallback()
    callback.on_train_begin(args, state, TrainerControl())
    assert callback.points == [
        {"step": 4, "train_seconds": None, "loss": 2.0, "bleu": 1.0},
        {"step": 8, "train_seconds": None, "loss": 1.5, "bleu": 2.0},
    ]
    evaluate(callback, state, 12, 1.2)  # the time before the checkpoint is unknown, so is the run's from then on
    assert callback.points[-1]["train_seconds"] is None
    fresh = LearningCurveCallback()  # a run that starts at step 0 starts an empty curve
    fresh.on_train_begin(args, TrainerState(log_history=list(state.log_history)), TrainerControl())
    assert fresh.points == []


def test_the_run_clock_adds_the_time_before_the_checkpoint(tmp_path, monkeypatch):
    now = [100.0]
    monkeypatch.setattr("lanco_hf.training.callbacks.time.monotonic", lambda: now[0])
    args, state = TrainingArguments(tmp_path, report_to="none", use_cpu=True), TrainerState()
    first = RunClockCallback()
    first.on_train_begin(args, state, TrainerControl())
    now[0] = 130.0  # the checkpoint: 30 s into the run
    state.global_step, state.stateful_callbacks = 8, {"RunClockCallback": first.state()}
    now[0] = 500.0  # the second process starts later (the time in between is not the run's)
    second = RunClockCallback()
    second.on_train_begin(args, state, TrainerControl())
    now[0] = 520.0
    assert second.seconds() == 50.0
    fresh = RunClockCallback()  # a run from step 0 ignores what a state might hold
    fresh.on_train_begin(args, TrainerState(stateful_callbacks=dict(state.stateful_callbacks)), TrainerControl())
    assert fresh.seconds() == 0.0


class _Line(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, x, y):
        return {"loss": ((self.linear(x).squeeze(-1) - y) ** 2).mean()}


def _trainer(output_dir, max_steps):
    data = [{"x": torch.tensor([float(i), 1.0]), "y": torch.tensor(float(i % 3))} for i in range(8)]
    args = TrainingArguments(
        output_dir, max_steps=max_steps, per_device_train_batch_size=2, save_strategy="steps", save_steps=2,
        eval_strategy="steps", eval_steps=2, logging_steps=1, report_to="none", use_cpu=True, disable_tqdm=True,
    )  # fmt: skip
    callbacks = [LearningCurveCallback(), RunClockCallback()]
    return Trainer(model=_Line(), args=args, train_dataset=data, eval_dataset=data[:2], callbacks=callbacks)


def test_a_run_resumes_and_saves_from_a_checkpoint_written_before_the_callbacks(tmp_path):
    """transformers' _save_checkpoint indexes state.stateful_callbacks by every ExportableState callback's name: a
    checkpoint without these callbacks' entries (written by an earlier version) made the first save after resuming
    raise KeyError."""
    _trainer(tmp_path, max_steps=2).train()
    state_path = tmp_path / "checkpoint-2" / "trainer_state.json"
    state = json.loads(state_path.read_text())
    for name in ("LearningCurveCallback", "RunClockCallback"):
        del state["stateful_callbacks"][name]
    state_path.write_text(json.dumps(state))

    resumed = _trainer(tmp_path, max_steps=4)
    resumed.train(resume_from_checkpoint=str(tmp_path / "checkpoint-2"))
    saved = json.loads((tmp_path / "checkpoint-4" / "trainer_state.json").read_text())["stateful_callbacks"]
    curve = LearningCurveCallback.of(resumed)
    assert [point["step"] for point in curve.points] == [2, 4]  # step 2 from the log history, step 4 measured
    assert [point["step"] for point in saved["LearningCurveCallback"]["attributes"]["points"]] == [2, 4]
    # the time before the checkpoint was not stored: the run's training time is unknown, not the last process's
    assert [point["train_seconds"] for point in curve.points] == [None, None]
    assert saved["RunClockCallback"]["attributes"]["seconds_before"] is None
    assert RunClockCallback.of(resumed).seconds() is None
