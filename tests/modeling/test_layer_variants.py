"""The lanco skeleton knows no subclass: MUSE's layers, initialisation and split rules come from ``muse.py``, which
registers its layers as a variant any lanco config can switch on (``muse_variant``), here an Explicit Sparse model."""

import math
from pathlib import Path

from helpers import tiny_config

from lanco_hf import ExplicitSparseConfig, ExplicitSparseForConditionalGeneration, LancoSeq2SeqConfig
from lanco_hf.modeling.layers import LAYER_VARIANTS, LancoDecoderLayer, LancoEncoderLayer
from lanco_hf.modeling.modeling_lanco import LancoForConditionalGeneration
from lanco_hf.modeling.muse import DynamicConvolution, MuseDecoderLayer, MuseEncoderLayer


def test_the_skeleton_names_no_muse_class():
    source = (Path(__file__).parents[2] / "src" / "lanco_hf" / "modeling" / "modeling_lanco.py").read_text()
    assert "Muse" not in source and "DynamicConvolution" not in source


def test_muse_registers_its_layers_for_every_lanco_config():
    assert LAYER_VARIANTS[None] == (LancoEncoderLayer, LancoDecoderLayer)
    assert LAYER_VARIANTS["muse"] == LAYER_VARIANTS["muse_simple"] == (MuseEncoderLayer, MuseDecoderLayer)
    model = ExplicitSparseForConditionalGeneration(tiny_config(ExplicitSparseConfig, muse_variant="muse"))
    assert all(isinstance(layer, MuseEncoderLayer) for layer in model.model.encoder.layers)
    assert all(isinstance(layer, MuseDecoderLayer) for layer in model.model.decoder.layers)
    assert {"MuseEncoderLayer", "MuseDecoderLayer"} <= set(model._no_split_modules)
    plain = LancoForConditionalGeneration(tiny_config(LancoSeq2SeqConfig))
    assert set(plain._no_split_modules) == {"LancoEncoderLayer", "LancoDecoderLayer"}


def test_muse_layers_bring_their_own_initialisation():
    model = ExplicitSparseForConditionalGeneration(tiny_config(ExplicitSparseConfig, muse_variant="muse"))
    q_proj = model.model.encoder.layers[0].self_attn.q_proj
    assert q_proj.kaiming_a == math.sqrt(5) and not hasattr(model.lm_head, "kaiming_a")
    assert q_proj.weight.abs().max() <= 1 / math.sqrt(q_proj.in_features)  # kaiming_uniform(a=sqrt(5)) bound
    convolutions = [m for m in model.modules() if isinstance(m, DynamicConvolution)]
    assert convolutions and all((m.gate == 1 / len(m.kernel_sizes)).all() for m in convolutions)
