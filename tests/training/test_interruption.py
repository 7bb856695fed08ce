"""A `lanco-hf train` run interrupted between checkpoints resumes with `--resume` and ends with the weights of an
uninterrupted run of the same seed (model, optimizer, scheduler and RNG state all restored). SIGKILL is the hard
case (the process dies at once; a checkpoint being written is left incomplete); SIGTERM, what schedulers send,
makes the run write a checkpoint at the end of the current step and exit with status 143."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from helpers import CONFIG_DIR, TINY_TRANSLATION_RUN
from safetensors.torch import load_file

from lanco_hf.training.callbacks import run_train_loss
from lanco_hf.training.checkpoints import last_complete_checkpoint
from lanco_hf.training.preemption import SIGTERM_EXIT_CODE

# 110 training verses in batches of 16: 7 steps an epoch, so every resume lands in the second epoch, whose batch
# order must not depend on the process having run the first; dropout is on, so the RNG state must be restored too
MAX_STEPS, SAVE_STEPS, SIGNAL_AFTER = 16, 4, 8
RUN = [
    *TINY_TRANSLATION_RUN,
    "per_device_train_batch_size=16",
    "model_config.dropout=0.1",
    f"max_steps={MAX_STEPS}",
    f"save_steps={SAVE_STEPS}",
    "save_total_limit=3",
    "logging_steps=4",
    "dataloader_num_workers=0",
    "max_test_samples=2",
    "num_examples_to_show=1",
    "max_train_minutes=null",
    "seed=7",
]


def train_command(verse_dataset, output, *extra):
    return [
        sys.executable,
        "-m",
        "lanco_hf.cli",
        "train",
        str(CONFIG_DIR / "explicit_sparse_bible.yaml"),
        f"dataset={verse_dataset}",
        f"output_dir={output}",
        *RUN,
        *extra,
    ]


def start(command):
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}
    )


def finish(process, timeout=300):
    _, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr[-4000:]
    return stderr


def last_step(folder) -> int:
    checkpoint = last_complete_checkpoint(folder)
    return int(checkpoint.rsplit("-", 1)[1]) if checkpoint else 0


def signal_after_checkpoint(signals, step, timeout=300.0):
    """Send each run of ``signals`` ({folder: (process, signum)}) its signal as soon as its checkpoint of ``step`` or
    a later one is complete (its trainer_state.json fully written; for a kill while it is written see
    test_last_complete_checkpoint_skips_partial_folders). The runs are watched together, so a busy machine that
    delays one of them cannot let the other train past its last step before it is signalled."""
    deadline, waiting = time.monotonic() + timeout, dict(signals)
    while waiting:
        for folder, (process, signum) in list(waiting.items()):
            if process.poll() is not None:
                pytest.fail(f"run ended before checkpoint-{step}: {process.stderr.read()[-4000:]}")
            if last_step(folder) >= step:
                process.send_signal(signum)
                del waiting[folder]
        assert time.monotonic() < deadline, f"no checkpoint-{step} in {list(waiting)} after {timeout} s"
        time.sleep(0.01)


def weights(folder):
    return load_file(folder / "model.safetensors")


def assert_same_weights(folder, reference):
    expected, resumed = weights(reference), weights(folder)
    assert expected.keys() == resumed.keys()
    for name in expected:
        torch.testing.assert_close(
            resumed[name], expected[name], rtol=1e-5, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}"
        )


def assert_same_learning_curve(folder, reference):
    """The validation curve of the resumed run has every evaluation, those before the interruption included, with
    the uninterrupted run's scores, and its training time keeps counting from the checkpoint's."""
    expected, resumed = (json.loads((f / "results.json").read_text())["validation_curve"] for f in (reference, folder))
    every_three_and_the_last = [*range(3, MAX_STEPS, 3), MAX_STEPS]  # eval_steps=3; transformers adds the last step
    assert [p["step"] for p in resumed] == [p["step"] for p in expected] == every_three_and_the_last
    for key in ("loss", "bleu", "chrf"):
        assert [p[key] for p in resumed] == pytest.approx([p[key] for p in expected], rel=1e-4, abs=1e-4)
    seconds = [p["train_seconds"] for p in resumed]
    assert all(s is not None and s > 0 for s in seconds) and seconds == sorted(seconds)


def test_interrupted_runs_resume_to_the_same_weights(verse_dataset, tmp_path):
    reference, killed, terminated = tmp_path / "uninterrupted", tmp_path / "sigkill", tmp_path / "sigterm"
    runs = {folder: start(train_command(verse_dataset, folder)) for folder in (reference, killed, terminated)}
    signal_after_checkpoint(
        {killed: (runs[killed], signal.SIGKILL), terminated: (runs[terminated], signal.SIGTERM)}, SIGNAL_AFTER
    )
    finish(runs[reference])
    for folder, status in ((killed, -signal.SIGKILL), (terminated, SIGTERM_EXIT_CODE)):
        _, stderr = runs[folder].communicate(timeout=300)
        assert runs[folder].returncode == status, stderr[-4000:]
        assert not (folder / "model.safetensors").exists()  # the run really stopped mid-way, before its final save

    last_killed = last_step(killed)
    assert SIGNAL_AFTER <= last_killed < MAX_STEPS
    # a kill in the middle of the next save leaves a folder without trainer_state.json: --resume skips it
    partial = killed / f"checkpoint-{last_killed + SAVE_STEPS}"
    partial.mkdir()
    weights_file = killed / f"checkpoint-{last_killed}" / "model.safetensors"
    (partial / "model.safetensors").write_bytes(weights_file.read_bytes()[:64])
    # SIGTERM: the checkpoint is written at the step the signal arrived in, not at the next multiple of save_steps
    last_terminated = last_step(terminated)
    assert SIGNAL_AFTER <= last_terminated < MAX_STEPS

    # every checkpoint logged the loss of its own step (the SIGTERM one is off the logging grid), so a resumed run
    # knows the losses of all the steps before it
    for folder, last in ((killed, last_killed), (terminated, last_terminated)):
        history = json.loads((folder / f"checkpoint-{last}" / "trainer_state.json").read_text())["log_history"]
        assert [e["step"] for e in history if "loss" in e][-1] == last
    # the run's training time up to each checkpoint rides in it, so the finished run reports the whole run's time
    seconds_before = {
        folder: json.loads((folder / f"checkpoint-{last}" / "trainer_state.json").read_text())["stateful_callbacks"][
            "RunClockCallback"
        ]["attributes"]["seconds_before"]
        for folder, last in ((killed, last_killed), (terminated, last_terminated))
    }
    resumes = {
        folder: start(train_command(verse_dataset, folder, "log_level=info", "--resume"))
        for folder in (killed, terminated)
    }
    for folder, last in ((killed, last_killed), (terminated, last_terminated)):
        log = finish(resumes[folder])
        assert f"Loading model from {folder / f'checkpoint-{last}'}" in log  # resumed, not restarted
        assert json.loads((folder / "trainer_state.json").read_text())["global_step"] == MAX_STEPS
        assert_same_weights(folder, reference)
        assert_same_learning_curve(folder, reference)
        results = json.loads((folder / "results.json").read_text())
        assert results["train_runtime_s"] > seconds_before[folder] > 0
        # the mean loss of all 16 steps, as the uninterrupted run reports it, not of the last process's steps
        expected = json.loads((reference / "results.json").read_text())["train_loss"]
        assert results["train_loss"] == pytest.approx(expected, rel=1e-4)


def test_last_complete_checkpoint_skips_partial_folders(tmp_path):
    assert last_complete_checkpoint(tmp_path / "missing") is None
    # 6: killed before its trainer_state.json; 8 and 10: killed while writing it (empty, cut short)
    for step, state in ((2, "{}"), (4, '{"global_step": 4}'), (6, None), (8, ""), (10, '{"global_step": 1')):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if state is not None:
            (folder / "trainer_state.json").write_text(state)
    (tmp_path / "checkpoint-final").mkdir()
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-4")


def test_run_train_loss_weights_each_logged_mean_by_its_steps():
    history = [
        {"loss": 2.0, "step": 4},
        {"loss": 1.0, "step": 6},  # a checkpoint's own log, off the grid of logging_steps=4
        {"eval_loss": 9.0, "step": 6},
        {"loss": 7.0, "step": 8},  # logged after the resume: already in the last process's mean
    ]
    # resumed at step 6, 4 more steps at a mean of 0.25: (2*4 + 1*2 + 0.25*4) / 10
    assert run_train_loss(history, 6, 10, 0.25) == pytest.approx(1.1)
    assert run_train_loss(history, 0, 10, 0.25) == 0.25  # not resumed: transformers' own mean
    assert run_train_loss(history, 6, 6, None) == pytest.approx(10 / 6)  # resumed at the last step: nothing trained
    assert run_train_loss(history, 5, 10, 0.25) is None  # the loss of step 5 was never logged
    assert run_train_loss(history, 6, 10, None) is None
