"""The lanco post-norm Transformer computes exactly what transformers' ``MarianMTModel`` computes given the same
weights, so any difference between the two when trained is their initialisation: fairseq's by default (the papers'
code), transformers' BART / Marian one with ``init_std`` (every projection and embedding ``N(0, init_std)``)."""

import math

import pytest
import torch
from helpers import TINY, batch, tiny_config
from torch import nn
from transformers import MarianConfig, MarianMTModel

from lanco_hf import MuseConfig
from lanco_hf.modeling.modeling_lanco import LancoForConditionalGeneration
from lanco_hf.modeling.modeling_muse import MuseForConditionalGeneration


def test_post_norm_lanco_equals_marian_given_the_same_weights():
    torch.manual_seed(0)
    marian = MarianMTModel(
        MarianConfig(
            **TINY,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=1,
            activation_function="relu",
            scale_embedding=True,
            share_encoder_decoder_embeddings=True,
            tie_word_embeddings=True,
        )
    ).eval()
    lanco = LancoForConditionalGeneration(tiny_config(normalize_before=False)).eval()
    marian_weights = marian.state_dict()

    def marian_name(name: str) -> str:  # the only renames: lanco groups fc1 / fc2 in `ffn`, Marian shares one table
        name = name.replace(".ffn.", ".")
        return "model.shared.weight" if name.endswith("embed_tokens.weight") else name

    result = lanco.load_state_dict({name: marian_weights[marian_name(name)] for name in lanco.state_dict()})
    assert not result.missing_keys and not result.unexpected_keys
    assert not marian.final_logits_bias.any()
    input_ids, attention_mask = batch(TINY["vocab_size"], lengths=(9, 6, 3))
    decoder_input_ids = torch.randint(3, TINY["vocab_size"], (3, 5), generator=torch.Generator().manual_seed(1))
    decoder_input_ids[:, 0] = 1
    with torch.no_grad():
        expected = marian(input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids).logits
        got = lanco(input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids).logits
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def projections(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear) and getattr(m, "kaiming_a", None) is None]


def test_fairseq_initialisation_by_default():
    torch.manual_seed(0)
    model = LancoForConditionalGeneration(tiny_config())
    for linear in projections(model):
        if linear is model.lm_head:  # tied to the embeddings
            continue
        bound = math.sqrt(6 / (linear.in_features + linear.out_features))  # Xavier-uniform
        assert linear.weight.abs().max() <= bound
        assert linear.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.15)
        assert linear.bias is None or not linear.bias.any()
    embeddings = model.get_input_embeddings().weight
    assert embeddings[1:].std().item() == pytest.approx(TINY["d_model"] ** -0.5, rel=0.1)
    assert not embeddings[0].any()  # the padding row


def test_init_std_gives_the_bart_marian_initialisation():
    torch.manual_seed(0)
    model = LancoForConditionalGeneration(tiny_config(init_std=0.05))
    for linear in projections(model):
        assert linear.weight.std().item() == pytest.approx(0.05, rel=0.15)
        assert linear.bias is None or not linear.bias.any()
    embeddings = model.get_input_embeddings().weight
    assert embeddings[1:].std().item() == pytest.approx(0.05, rel=0.1)
    assert not embeddings[0].any()


def test_a_paper_rule_is_kept_with_init_std():
    torch.manual_seed(0)
    model = MuseForConditionalGeneration(tiny_config(MuseConfig, init_std=0.001))
    q_proj = model.model.encoder.layers[0].self_attn.q_proj
    assert q_proj.kaiming_a is not None
    assert q_proj.weight.std().item() > 0.01  # kaiming_uniform, not N(0, 0.001)
