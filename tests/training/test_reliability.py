"""The README's Reliability guarantees, one test per defect an adversarial session found: what `lanco-hf push`
uploads, run folders that cannot be clobbered, exact resume from the last step, SIGTERM after training, the ReNode
NaN guard, hash-checked caches, concurrent cache builders and parse workers, whole-config validation before any
work, data errors that name the place, and one-line CLI errors."""

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import CONFIG_DIR, TINY_TRANSLATION_RUN

from lanco_hf.training.preemption import SIGTERM_EXIT_CODE

RUN_COMPLETE_NAME = "run_complete.json"  # lanco_hf.training.run_folder.RUN_COMPLETE_NAME, the completion marker

CONFIG = str(CONFIG_DIR / "explicit_sparse_bible.yaml")
ENV = {**os.environ, "PYTHONHASHSEED": "0"}


def cli(*args, timeout=300, env=None):
    return subprocess.run(
        [sys.executable, "-m", "lanco_hf.cli", *args], capture_output=True, text=True, timeout=timeout, env=env or ENV
    )


def in_process(capsys, *args):
    """``lanco-hf ARGS`` run in this process (no interpreter start-up): its exit status and stderr."""
    from lanco_hf.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exit:
        code = exit.code
    return subprocess.CompletedProcess(args, code, *capsys.readouterr())


def assert_one_line_error(result, *names):
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr[-3000:]
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


# 1. push: an allowlist, no symlinks out of the folder, no dotfiles, no incomplete runs


def fake_run_folder(folder: Path, complete=True) -> Path:
    folder.mkdir(parents=True)
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "results.json"):
        (folder / name).write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "modeling_lanco.py").write_text("# remote code\n")
    (folder / "loss.png").write_bytes(b"png")
    (folder / "runs" / "Dec01").mkdir(parents=True)
    (folder / "runs" / "Dec01" / "events.out.tfevents.1.host").write_bytes(b"tb")
    if complete:
        from lanco_hf.training.run_folder import mark_run_complete

        mark_run_complete(folder)
    return folder


def test_push_uploads_only_the_files_of_a_model_repo(tmp_path):
    from lanco_hf.hub.push import files_to_upload

    secret = tmp_path / "secret"
    secret.write_text("password")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "key.safetensors").write_bytes(b"private")
    run = fake_run_folder(tmp_path / "run")
    (run / "x").symlink_to(secret)  # a link to a file outside the folder
    (run / "stolen.safetensors").symlink_to(tmp_path / "private" / "key.safetensors")  # allowlisted name, a link
    (run / "linked_dir").symlink_to(tmp_path / "private", target_is_directory=True)
    (run / ".env").write_text("HF_TOKEN=hf_secret")
    (run / ".cache").mkdir()
    (run / ".cache" / "config.json").write_text("{}")
    (run / "train.log").write_text("log")
    (run / "nohup.out").write_text("log")
    (run / "notes.txt").write_text("private notes")
    (run / "training_args.bin").write_bytes(b"pickle")
    (run / "checkpoint-6").mkdir()
    (run / "checkpoint-6" / "model.safetensors").write_bytes(b"old")
    (run / "checkpoint-6" / "optimizer.pt").write_bytes(b"pickle")

    assert files_to_upload(run) == [
        "config.json",
        "generation_config.json",
        "loss.png",
        "model.safetensors",
        "modeling_lanco.py",
        "results.json",
        "runs/Dec01/events.out.tfevents.1.host",
        "tokenizer.json",
        "tokenizer_config.json",
    ]


def test_push_refuses_an_incomplete_run(tmp_path, capsys):
    from lanco_hf.hub.push import push_run

    run = fake_run_folder(tmp_path / "run", complete=False)
    with pytest.raises(ValueError, match=f"not a finished run \\(no {RUN_COMPLETE_NAME}.*--allow-incomplete"):
        push_run(run, "tester/x", token="hf_fake", endpoint="http://127.0.0.1:9")  # refused before any request
    error = assert_one_line_error(
        in_process(capsys, "push", str(run), "tester/x"), "not a finished run", "--allow-incomplete"
    )
    assert "--resume" in error


@pytest.mark.slow
def test_push_allow_incomplete_uploads_the_allowlist(tmp_path):
    from fake_hub import FakeHub

    run = fake_run_folder(tmp_path / "run", complete=False)
    (run / "x").symlink_to(tmp_path / "run" / "config.json")
    with FakeHub() as hub:
        env = {
            **ENV,
            "HF_ENDPOINT": hub.endpoint,
            "HF_TOKEN": "hf_fake",
            "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_OFFLINE": "0",
        }
        pushed = cli("push", str(run), "tester/partial", "--allow-incomplete", env=env)
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        assert set(hub.repos["tester/partial"].files) == {
            "config.json",
            "generation_config.json",
            "loss.png",
            "model.safetensors",
            "modeling_lanco.py",
            "results.json",
            "runs/Dec01/events.out.tfevents.1.host",
            "tokenizer.json",
            "tokenizer_config.json",
        }


# 2. a run folder is locked while a run uses it, and another run's results are never replaced silently

HOLD_LOCK = """
import sys, time
from lanco_hf.training.run_folder import claim_run_folder
with claim_run_folder(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


def tiny_run(verse_dataset, output, *extra):
    return ["train", CONFIG, f"dataset={verse_dataset}", f"output_dir={output}", *TINY_TRANSLATION_RUN, *extra]


def test_a_second_run_on_a_busy_folder_fails_at_once_naming_the_holder(verse_dataset, tmp_path, capsys):
    output = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(output)], stdout=subprocess.PIPE, text=True, env=ENV
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        second = in_process(capsys, *tiny_run(verse_dataset, output))
        assert_one_line_error(second, "in use by another lanco-hf run", f"PID {holder.pid}")
        assert not (output / "model.safetensors").exists()
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the lock of the killed holder: no stale lock
    from lanco_hf.training.run_folder import LOCK_NAME, claim_run_folder

    with claim_run_folder(output):
        assert (output / LOCK_NAME).read_text().strip() == str(os.getpid())


def test_a_new_run_never_replaces_an_earlier_run_without_overwrite(verse_dataset, tmp_path, capsys):
    output = tmp_path / "run"
    output.mkdir()
    (output / "results.json").write_text('{"earlier": true}')
    (output / "checkpoint-9").mkdir()
    (output / "checkpoint-9" / "trainer_state.json").write_text('{"global_step": 9}')
    refused = in_process(capsys, *tiny_run(verse_dataset, output))
    assert_one_line_error(refused, "already holds a run", "--overwrite-output-dir", "--resume")
    assert json.loads((output / "results.json").read_text()) == {"earlier": True}
    assert (output / "checkpoint-9").is_dir()  # save_total_limit never rotated it away

    # --overwrite-output-dir replaces it: the earlier checkpoints go, so no later --resume mixes the two runs
    from lanco_hf.training.run_folder import claim_run_folder

    with claim_run_folder(output, overwrite=True):
        assert not (output / "checkpoint-9").exists()
    with pytest.raises(ValueError, match="pass one"):
        from lanco_hf.cli import main

        main(["--debug", *tiny_run(verse_dataset, output), "--resume", "--overwrite-output-dir"])


# 3 and 4. exact resume after a kill or SIGTERM at the last step, the final save or evaluation; finished runs

MAX_STEPS = 6
RESUME_RUN = [
    *TINY_TRANSLATION_RUN,
    f"max_steps={MAX_STEPS}",
    "save_steps=3",
    "model_config.dropout=0.1",
    "seed=7",
    "dataloader_num_workers=0",
    "max_test_samples=40",
    "max_new_tokens=32",
    "max_train_minutes=null",
]


def resume_command(verse_dataset, output, *extra):
    return [
        sys.executable,
        "-m",
        "lanco_hf.cli",
        "train",
        CONFIG,
        f"dataset={verse_dataset}",
        f"output_dir={output}",
        *RESUME_RUN,
        *extra,
    ]


def weights(folder):
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def final_checkpoint_complete(folder) -> bool:
    """The last step's checkpoint is fully written: its ``trainer_state.json`` parses (one that merely exists may be
    half written, and a signal then leaves a checkpoint that ``--resume`` rightly skips), as ``--resume`` checks."""
    from lanco_hf.training.checkpoints import _complete_json

    return _complete_json(folder / f"checkpoint-{MAX_STEPS}" / "trainer_state.json")


@pytest.mark.slow
def test_a_signal_after_the_last_step_resumes_without_an_extra_step(verse_dataset, tmp_path):
    reference, killed, terminated = tmp_path / "reference", tmp_path / "sigkill", tmp_path / "sigterm"
    runs = {
        folder: subprocess.Popen(
            resume_command(verse_dataset, folder), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV
        )
        for folder in (reference, killed, terminated)
    }
    # the checkpoint of the last step is written: the run is in its final save or its evaluation
    signals, deadline = {killed: signal.SIGKILL, terminated: signal.SIGTERM}, time.monotonic() + 600
    while signals:
        for folder, signum in list(signals.items()):
            if final_checkpoint_complete(folder):
                runs[folder].send_signal(signum)
                del signals[folder]
            elif runs[folder].poll() is not None:
                pytest.fail(f"{folder.name} ended early: {runs[folder].stderr.read()[-3000:]}")
        assert time.monotonic() < deadline
        time.sleep(0.005)
    for folder, status in ((reference, 0), (killed, -signal.SIGKILL), (terminated, SIGTERM_EXIT_CODE)):
        _, stderr = runs[folder].communicate(timeout=600)
        assert runs[folder].returncode == status, stderr[-3000:]
    for folder in (killed, terminated):
        assert not (folder / RUN_COMPLETE_NAME).exists()
        assert_one_line_error(cli("push", str(folder), "tester/partial"), "is not a")  # a saved model or finished run

    for folder in (killed, terminated):
        resumed = subprocess.run(
            resume_command(verse_dataset, folder, "--resume"), capture_output=True, text=True, env=ENV, timeout=600
        )
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert "training is complete" in resumed.stderr
        assert json.loads((folder / "results.json").read_text())["train_steps"] == MAX_STEPS
        assert not (folder / f"checkpoint-{MAX_STEPS + 1}").exists()
        assert (folder / RUN_COMPLETE_NAME).exists()
        expected, got = weights(reference), weights(folder)
        for name in expected:
            torch.testing.assert_close(got[name], expected[name], rtol=0, atol=0, msg=name)

    # a finished run resumed is a no-op: nothing trained, nothing rewritten
    results = (reference / "results.json").read_bytes()
    again = subprocess.run(
        resume_command(verse_dataset, reference, "--resume"), capture_output=True, text=True, env=ENV, timeout=600
    )
    assert again.returncode == 0 and "nothing to resume" in again.stdout, again.stderr[-3000:]
    assert (reference / "results.json").read_bytes() == results
    assert not (reference / f"checkpoint-{MAX_STEPS + 1}").exists()


def test_weights_only_checkpoints_are_refused_for_resume(tmp_path):
    from lanco_hf.training.safe_training import IncompleteCheckpointError, train_safely

    checkpoint = tmp_path / "checkpoint-5"
    checkpoint.mkdir()
    (checkpoint / "model.safetensors").write_bytes(b"")
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": 5, "max_steps": 10}))

    class Trainer:  # train_safely must refuse before it trains
        def add_callback(self, callback):
            pass

        def training_step(self, *args):
            pass

        def train(self, **kwargs):
            raise AssertionError("trained from a weights-only checkpoint")

    with pytest.raises(IncompleteCheckpointError, match="holds only the model weights \\(save_only_model=true\\)"):
        train_safely(Trainer(), tmp_path, resume=True)


# 5. the node-classification loop stops on a NaN loss like the Trainer tasks


def test_node_classification_stops_on_a_nan_loss():
    from torch_geometric.data import Data

    from lanco_hf import ReNodeGCNConfig, ReNodeGCNForNodeClassification
    from lanco_hf.training.nan_guard import NonFiniteLossError
    from lanco_hf.training.node_classification import NodeTrainingArguments, train_node_classifier

    x = torch.randn(8, 4)
    x[3, 1] = float("nan")  # one bad feature of one node
    edges = torch.tensor([[0, 1, 1, 2, 2, 3, 4, 5, 5, 6, 6, 7], [1, 0, 2, 1, 3, 2, 5, 4, 6, 5, 7, 6]])
    data = Data(x=x, edge_index=edges, y=torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]))
    train = torch.tensor([True, False, True, True, True, False, True, False])
    model = ReNodeGCNForNodeClassification(ReNodeGCNConfig(num_features=4, num_labels=2, hidden_size=8))
    with pytest.raises(NonFiniteLossError, match="training loss is nan at step 1"):
        train_node_classifier(model, data, train, ~train, None, NodeTrainingArguments(num_train_epochs=5))


# 6. caches are hash-checked and rebuilt when damaged or stale


def test_a_damaged_or_edited_tokenizer_cache_is_rebuilt(tmp_path, monkeypatch):
    from lanco_hf.data.tokenizer import cached_bpe_tokenizer

    monkeypatch.setenv("LANCO_HF_CACHE", str(tmp_path))
    texts = [f"in the beginning {i} was the word" for i in range(200)] + ["en el principio era el verbo"] * 50
    fresh = cached_bpe_tokenizer(texts, 300, "t")
    expected = fresh("the word was in the beginning").input_ids
    (saved,) = (tmp_path / "tokenizers").glob("t-bpe300-*/tokenizer.json")
    content = saved.read_text()
    saved.write_text(content[: len(content) // 2])  # truncated
    assert cached_bpe_tokenizer(texts, 300, "t")("the word was in the beginning").input_ids == expected
    vocabulary = json.loads(saved.read_text())
    vocabulary["model"]["vocab"] = {
        token: (i + 7) % len(vocabulary["model"]["vocab"]) for token, i in vocabulary["model"]["vocab"].items()
    }  # edited
    saved.write_text(json.dumps(vocabulary))
    assert cached_bpe_tokenizer(texts, 300, "t")("the word was in the beginning").input_ids == expected


def test_planetoid_cache_follows_the_raw_files_and_survives_damage(tmp_path, monkeypatch):
    from lanco_hf.data.cache import DataNotFoundError
    from lanco_hf.data.planetoid import find_planetoid_raw, planetoid_graph

    try:
        source = find_planetoid_raw("Cora", download=False)
    except DataNotFoundError:
        pytest.skip("no Planetoid Cora raw files")
    shutil.copytree(source, tmp_path / "raw_copy" / "Cora" / "raw")
    monkeypatch.setenv("LANCO_HF_CACHE", str(tmp_path / "cache"))
    graph = planetoid_graph("Cora", tmp_path / "raw_copy")
    (processed,) = (tmp_path / "cache").rglob("processed/data.pt")
    processed.write_bytes(processed.read_bytes()[:100])  # truncated
    again = planetoid_graph("Cora", tmp_path / "raw_copy")
    assert torch.equal(again.x, graph.x) and torch.equal(again.test_mask, graph.test_mask)

    index = tmp_path / "raw_copy" / "Cora" / "raw" / "ind.cora.test.index"
    lines = index.read_text().split()
    index.write_text("\n".join(lines[:500]) + "\n")  # a changed raw file: 500 test nodes instead of 1000
    edited = planetoid_graph("Cora", tmp_path / "raw_copy")
    assert int(edited.test_mask.sum()) == 500 != int(graph.test_mask.sum())


# 7. concurrent cache builders never collide; parse workers die with their parent


def _write_many(path, seed):
    from lanco_hf.data.cache import write_jsonl

    for i in range(40):
        write_jsonl(Path(path), [{"seed": seed, "i": i, "text": "x" * 2000}] * 50)


def test_concurrent_cache_writers_never_collide(tmp_path):
    from lanco_hf.data.cache import read_jsonl

    path = tmp_path / "corpus.jsonl"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_write_many, args=(str(path), seed)) for seed in range(3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0
    assert read_jsonl(path) is not None  # the file matches its hash
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


PARSE = """
from lanco_hf.data.bible import read_bible_pairs
read_bible_pairs()
"""


def _children(pid: int) -> set[int]:
    children = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children.update(int(child) for child in (task / "children").read_text().split())
    return children


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# SIGTERM at several moments: a worker stopped while it writes a book's result would leave the parent hanging at exit
@pytest.mark.parametrize(
    ("signum", "after_s"), [(signal.SIGKILL, 1.0), (signal.SIGTERM, 0.3), (signal.SIGTERM, 1.0), (signal.SIGTERM, 2.0)]
)
def test_killing_a_corpus_parse_stops_its_workers(signum, after_s, tmp_path):
    from lanco_hf.data.bible import find_sword_root
    from lanco_hf.data.cache import DataNotFoundError

    try:
        find_sword_root(fetch=False)
    except DataNotFoundError:
        pytest.skip("apt-get install sword-text-kjv sword-text-sparv")
    under_cli = (
        "from lanco_hf.training.preemption import exit_on_sigterm\nwith exit_on_sigterm():\n    "
        + PARSE.strip().replace("\n", "\n    ")
    )  # as `lanco-hf train` runs it: SIGTERM raises SystemExit(143)
    code = PARSE if signum == signal.SIGKILL else under_cli
    parent = subprocess.Popen([sys.executable, "-c", code], env=ENV, stderr=subprocess.DEVNULL)
    deadline, workers = time.monotonic() + 120, set()
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = {pid for pid in _children(parent.pid)} if parent.poll() is None else workers
        time.sleep(0.05)
    assert len(workers) >= 2, "no worker processes started"
    time.sleep(after_s)  # the workers are parsing
    parent.send_signal(signum)
    try:
        parent.wait(60)
    except subprocess.TimeoutExpired:
        parent.kill()
        pytest.fail(f"the parse did not exit within 60 s of signal {signum}")
    deadline = time.monotonic() + 20
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"workers {left} outlived their parent"


# 8 and 10. the whole config is checked before any work; a user error is one line naming the field

BAD_SETTINGS = {
    "seed=abc": ["seed='abc'", "an integer"],
    "max_steps=abc": ["max_steps='abc'", "an integer"],
    "learning_rate=-1": ["learning_rate=-1", ">= 0"],
    "model_config.d_model=7": ["d_model=7", "encoder_attention_heads"],
    "model_config.attn_topk=0": ["attn_topk=0"],
    "model_config.norm_type=foo": ["norm_type='foo'", "layernorm"],
    "max_test_samples=0": ["max_test_samples=0", "allowed: [1, inf) or None"],
    "max_train_samples=-1": ["max_train_samples=-1", "allowed: [1, inf) or None"],
    "save_strategy=sometimes": ["save_strategy='sometimes'", "'steps'"],
    "length_grouped_batch_order=random": ["length_grouped_batch_order='random'", "'shuffled'"],
    # the main job orders its length-grouped batches: without length grouping that setting would be ignored
    "train_sampling_strategy=random": ["length_grouped_batch_order='shuffled'", "'group_by_length'"],
}


@pytest.mark.parametrize("setting", sorted(BAD_SETTINGS))
def test_bad_settings_fail_before_any_work_in_one_line(setting, tmp_path, capsys):
    # the dataset does not exist and the run folder is never created: the check comes before both
    result = in_process(
        capsys,
        "train",
        CONFIG,
        f"dataset={tmp_path / 'no-such-dataset'}",
        f"output_dir={tmp_path / 'run'}",
        *TINY_TRANSLATION_RUN,
        setting,
    )
    assert_one_line_error(result, *BAD_SETTINGS[setting])
    assert not (tmp_path / "run").exists()


def test_one_line_errors_from_the_command_line_and_tracebacks_with_debug(tmp_path):
    result = cli("train", CONFIG, f"output_dir={tmp_path / 'run'}", "seed=abc")
    assert_one_line_error(result, "seed='abc'")
    result = cli("--debug", "train", CONFIG, f"output_dir={tmp_path / 'run'}", "seed=abc")
    assert result.returncode == 1 and "Traceback" in result.stderr and "seed='abc'" in result.stderr


# 9. data errors say what is wrong and where


def write_split(folder: Path, name: str, rows) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def translation_data(folder, **settings):
    from lanco_hf.training.arguments import TranslationDataArguments
    from lanco_hf.training.translation import load_translation_data

    return load_translation_data(TranslationDataArguments(dataset=str(folder), **settings))


def test_translation_data_errors_name_the_setting_column_file_and_line(tmp_path):
    good = [{"en": "In the beginning", "es": "En el principio"}] * 3
    empty = tmp_path / "empty"
    write_split(empty, "test", good)
    (empty / "train.jsonl").write_text("")
    with pytest.raises(ValueError, match=f"{empty / 'train.jsonl'} is empty"):
        translation_data(empty)

    null = tmp_path / "null"
    write_split(null, "train", [*good, {"en": None, "es": "Y dijo Dios"}])
    write_split(null, "test", good)
    with pytest.raises(
        ValueError, match=f"column 'en' \\(source_lang\\) of split 'train' is None at {null / 'train.jsonl'}, line 4"
    ):
        translation_data(null)

    write_split(tmp_path / "ok", "train", good)
    write_split(tmp_path / "ok", "test", good)
    with pytest.raises(ValueError, match="source_lang='fr'.* has no column 'fr'; its columns are 'en', 'es'"):
        translation_data(tmp_path / "ok", source_lang="fr")


def test_a_split_that_leaves_a_class_without_test_nodes_is_refused():
    from lanco_hf.data.node_splits import topology_imbalance_split

    labels = torch.tensor([0] * 200 + [1] * 170 + [2] * 300)  # class 1: 150 training + 20 validation, no test node
    with pytest.raises(ValueError, match="no test node is left for class 1: 170 labelled nodes.*train_per_class"):
        topology_imbalance_split(labels, train_per_class=150, valid_per_class=20)
