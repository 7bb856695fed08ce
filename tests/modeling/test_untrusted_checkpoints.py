"""Checkpoints from strangers: lanco models load safetensors only, refuse a pickle-only folder, report truncated or
corrupted weights clearly, and never run code that a config's auto_map names unless trust_remote_code=True."""

import json

import pytest
import torch
from helpers import tiny_config
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForSeq2SeqLM

from lanco_hf import (
    ExplicitSparseConfig,
    ExplicitSparseForConditionalGeneration,
    ReNodeGCNConfig,
    ReNodeGCNForNodeClassification,
)


@pytest.fixture
def saved(tmp_path):
    model = ExplicitSparseForConditionalGeneration(tiny_config(ExplicitSparseConfig, attn_topk=2))
    model.save_pretrained(tmp_path / "model")
    return model, tmp_path / "model"


def test_round_trip_reads_the_safetensors_weights(saved):
    model, folder = saved
    reloaded = AutoModelForSeq2SeqLM.from_pretrained(folder)
    for name, tensor in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[name], tensor), name


def test_pickle_only_folder_is_refused_and_never_unpickled(saved, monkeypatch):
    _, folder = saved
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called on an untrusted file"))
    with pytest.raises(OSError, match=r"only pytorch_model\.bin.*refuse"):
        AutoModelForSeq2SeqLM.from_pretrained(folder)
    with pytest.raises(ValueError, match="use_safetensors=False"):
        AutoModelForSeq2SeqLM.from_pretrained(folder, use_safetensors=False)


def test_other_lanco_models_refuse_pickles_too(tmp_path):
    model = ReNodeGCNForNodeClassification(ReNodeGCNConfig(num_features=4, hidden_size=4, num_labels=2))
    model.save_pretrained(tmp_path)
    torch.save(load_file(tmp_path / "model.safetensors"), tmp_path / "pytorch_model.bin")
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(OSError, match="refuse"):
        ReNodeGCNForNodeClassification.from_pretrained(tmp_path)


@pytest.mark.parametrize("damage", ["truncated", "header"])
def test_damaged_safetensors_give_a_clear_error(saved, damage):
    _, folder = saved
    path = folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\xff" * 8 + data[8:])
    with pytest.raises(OSError, match=r"model.*truncated or corrupted"):
        AutoModelForSeq2SeqLM.from_pretrained(folder)


EVIL = """
from pathlib import Path
Path({marker!r}).write_text("executed")
from transformers import PreTrainedConfig
class EvilConfig(PreTrainedConfig):
    model_type = "evil"
"""


def plant_remote_code(folder, model_type):
    marker = folder / "EXECUTED"
    (folder / "evil.py").write_text(EVIL.format(marker=str(marker)))
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = model_type
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModelForSeq2SeqLM": "evil.EvilConfig"}
    (folder / "config.json").write_text(json.dumps(config))
    return marker


def test_auto_map_outside_lanco_is_not_executed_for_a_lanco_model_type(saved):
    model, folder = saved
    marker = plant_remote_code(folder, model.config.model_type)
    reloaded = AutoModelForSeq2SeqLM.from_pretrained(folder)  # the installed lanco classes, not evil.py
    assert type(reloaded) is ExplicitSparseForConditionalGeneration
    assert not marker.exists()


def test_auto_map_of_an_unknown_model_type_needs_trust_remote_code(saved, monkeypatch):
    _, folder = saved
    marker = plant_remote_code(folder, "not_a_lanco_model")
    with pytest.raises(ValueError, match="trust_remote_code"):
        AutoConfig.from_pretrained(folder)
    assert not marker.exists()
    # the control: with the user's explicit consent the code does run, so the marker does detect execution
    AutoConfig.from_pretrained(folder, trust_remote_code=True)
    assert marker.read_text() == "executed"
