"""Distributed data-parallel training on CPU (gloo) with torchrun: two real processes, different data on each
rank, and the same final weights as one process with the same global batch."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import CONFIG_DIR, TINY_TRANSLATION_RUN
from safetensors.torch import load_file

SCRIPT = Path(__file__).parents[1] / "scripts" / "ddp_train.py"
pytestmark = pytest.mark.skipif(
    shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
    reason="torchrun not installed",
)


def launch(command, out, env_extra=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env_extra or {})}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=out)
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.mark.slow
def test_two_process_ddp_equals_one_process_with_the_same_global_batch(tmp_path):
    torchrun = str(Path(sys.executable).parent / "torchrun")
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    ddp.mkdir(), single.mkdir()
    launch([torchrun, "--nproc_per_node", "2", "--master_port", "29533", str(SCRIPT), str(ddp), "2"], ddp)
    launch([sys.executable, str(SCRIPT), str(single), "4"], single)

    ranks = [json.loads((ddp / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    for r in ranks:  # the Trainer may draw one batch ahead: compare the 6 trained ones
        r["seen"] = r["seen"][:6]
    for step in range(6):
        zero, one = set(ranks[0]["seen"][step]), set(ranks[1]["seen"][step])
        assert not zero & one  # the two ranks train on different examples
    alone = json.loads((single / "rank0.json").read_text())
    alone["seen"] = alone["seen"][:6]
    assert alone["world_size"] == 1
    assert [sorted(a + b) for a, b in zip(ranks[0]["seen"], ranks[1]["seen"])] == [sorted(s) for s in alone["seen"]]

    assert alone["losses"][-1] < alone["losses"][0]  # it trained
    assert ranks[0]["losses"] == pytest.approx(alone["losses"], rel=1e-4)  # the same loss at every step
    distributed, reference = (
        load_file(ddp / "model" / "model.safetensors"),
        load_file(single / "model" / "model.safetensors"),
    )
    assert distributed.keys() == reference.keys()
    for name in reference:
        torch.testing.assert_close(distributed[name], reference[name], atol=2e-5, rtol=1e-4, msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["torchrun", "accelerate"])
def test_lanco_hf_train_runs_on_two_processes(launcher, verse_dataset, tmp_path):
    bin_dir = Path(sys.executable).parent
    port = {"torchrun": "29535", "accelerate": "29536"}[launcher]
    prefix = {
        "torchrun": [str(bin_dir / "torchrun"), "--nproc_per_node", "2", "--master_port", port],
        # no --cpu: with it accelerate silently starts one process (accelerate's --cpu flag)
        "accelerate": [
            str(bin_dir / "accelerate"),
            "launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            port,
        ],
    }[launcher]
    output = tmp_path / "run"
    launch(
        [
            *prefix,
            "-m",
            "lanco_hf.cli",
            "train",
            str(CONFIG_DIR / "explicit_sparse_bible.yaml"),
            f"dataset={verse_dataset}",
            f"output_dir={output}",
            *TINY_TRANSLATION_RUN,
            "use_cpu=true",
            "ddp_backend=gloo",
            "max_train_minutes=30",
        ],
        tmp_path,
    )
    results = json.loads((output / "results.json").read_text())
    assert results["world_size"] == 2 and results["train_steps"] == 6
    assert results["card"]["training_summary"]["batch size"] == 16  # 8 per process
