"""LearningCurveCallback and RunClockCallback keep a run's validation curve and training time whole across
interruptions (the end-to-end case, a killed `lanco-hf train` run resumed, is in test_interruption.py)."""

from transformers import TrainerControl, TrainerState, TrainingArguments

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
