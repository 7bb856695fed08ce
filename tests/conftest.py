import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import lanco_hf  # noqa: E402,F401  (registers the architectures)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """lanco-hf caches, and the remote-code modules of subprocesses, go to temporary folders."""
    monkeypatch.setenv("LANCO_HF_CACHE", str(tmp_path_factory.getbasetemp() / "lanco_cache"))
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path_factory.getbasetemp() / "hf_modules"))
