"""The encouraging loss under two-process DDP (gloo, torchrun): the Trainer's ``num_items_in_batch`` is summed over
ranks, so two ranks that see different numbers of target tokens take the step of one process with the whole batch."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file


@pytest.mark.slow
@pytest.mark.skipif(not (Path(sys.executable).parent / "torchrun").exists(), reason="torchrun not installed")
def test_two_process_ddp_equals_one_batch(tmp_path):
    """Two gloo ranks with different token counts take the step of one process with the whole batch."""
    script = Path(__file__).parents[1] / "scripts" / "ddp_encouraging.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    commands = {
        "ddp": [
            str(Path(sys.executable).parent / "torchrun"),
            "--nproc_per_node",
            "2",
            "--master_port",
            "29547",
            str(script),
            str(tmp_path / "ddp"),
            "2",
        ],
        "single": [sys.executable, str(script), str(tmp_path / "single"), "4"],
    }
    for name, command in commands.items():
        (tmp_path / name).mkdir()
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path / name, check=False
        )
        assert result.returncode == 0, result.stderr[-4000:]
    distributed = load_file(tmp_path / "ddp" / "weights.safetensors")
    alone = load_file(tmp_path / "single" / "weights.safetensors")
    assert distributed.keys() == alone.keys()
    for name in alone:
        torch.testing.assert_close(distributed[name], alone[name], atol=2e-6, rtol=1e-5, msg=name)
