"""The methods as plug-ins for transformers' own models: top-k attention through
``attn_implementation="lanco_topk"`` (BERT, BART, GPT-2, Llama) and ``swap_norms``."""

import pytest
import torch
from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    BartConfig,
    BertConfig,
    GPT2Config,
    LlamaConfig,
)

import lanco_hf

CONFIGS = {
    "bert": lambda **kw: BertConfig(
        vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, **kw
    ),
    "bart": lambda **kw: BartConfig(
        vocab_size=64,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
        **kw,
    ),
    "gpt2": lambda **kw: GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=4, n_positions=64, **kw),
    "llama": lambda **kw: LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        **kw,
    ),
}
CAUSAL = {"gpt2", "llama"}


def build(name, implementation, **kw):
    torch.manual_seed(0)
    config = CONFIGS[name](**kw)
    auto = AutoModelForCausalLM if name in CAUSAL else AutoModel
    return auto.from_config(config, attn_implementation=implementation).eval()


def inputs(name, padded=False):
    ids = torch.randint(3, 64, (2, 9))
    mask = torch.ones_like(ids)
    if padded:
        mask[1, 6:] = 0
    kwargs = {"input_ids": ids, "attention_mask": mask}
    if name == "bart":
        kwargs["decoder_input_ids"] = torch.randint(3, 64, (2, 5))
    return kwargs


def self_attentions(name, outputs):
    return outputs.encoder_attentions if name == "bart" else outputs.attentions


@pytest.mark.parametrize("name", list(CONFIGS))
def test_topk_with_k_beyond_the_length_equals_eager(name):
    eager, topk = build(name, "eager"), build(name, "lanco_topk", attn_topk=64)
    assert topk.config._attn_implementation == "lanco_topk"
    topk.load_state_dict(eager.state_dict())
    kwargs = inputs(name, padded=True)
    expected = eager(**kwargs)
    out = topk(**kwargs)
    key = "logits" if name in CAUSAL else "last_hidden_state"
    torch.testing.assert_close(out[key], expected[key], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_topk_rows_keep_at_most_k_unpadded_keys(name):
    model = build(name, "lanco_topk", attn_topk=3)
    kwargs = inputs(name, padded=True)
    out = model(**kwargs, output_attentions=True)
    for probs in self_attentions(name, out):
        torch.testing.assert_close(probs.sum(-1), torch.ones_like(probs.sum(-1)))
        assert ((probs > 0).sum(-1) <= 3).all()
        assert (probs[1, ..., 6:] == 0).all()  # padded keys of the second row get no mass
        if name in CAUSAL:
            assert (probs.triu(diagonal=1) == 0).all()


@pytest.mark.parametrize("name", ["bert", "bart"])
def test_topk_probabilities_equal_an_independent_softmax_over_kept_scores(name):
    """Recompute the first layer's top-k probabilities from its input and its own query/key projections."""
    model = build(name, "lanco_topk", attn_topk=2)
    attention = model.encoder.layer[0].attention.self if name == "bert" else model.encoder.layers[0].self_attn
    project_q, project_k = (attention.query, attention.key) if name == "bert" else (attention.q_proj, attention.k_proj)
    captured = {}

    def keep(module, args, kwargs, output):
        captured["hidden"] = args[0] if args else kwargs["hidden_states"]
        captured["probs"] = output[1]

    handle = attention.register_forward_hook(keep, with_kwargs=True)
    model(**inputs(name), output_attentions=True)
    handle.remove()
    hidden = captured["hidden"].double()
    heads = lambda x: x.view(2, 9, 4, 8).transpose(1, 2)  # noqa: E731
    q = heads(hidden @ project_q.weight.double().T + project_q.bias.double())
    k = heads(hidden @ project_k.weight.double().T + project_k.bias.double())
    scores = q @ k.transpose(-1, -2) / 8**0.5
    second = scores.sort(dim=-1, descending=True).values[..., 1:2]
    expected = scores.masked_fill(scores < second, float("-inf")).softmax(-1)
    torch.testing.assert_close(captured["probs"].double(), expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(CAUSAL))
def test_topk_generation_with_and_without_cache_agree(name):
    model = build(name, "lanco_topk", attn_topk=2)
    ids = torch.randint(3, 64, (2, 5))
    kwargs = dict(max_new_tokens=8, min_new_tokens=8, do_sample=False, pad_token_id=0)
    assert torch.equal(model.generate(ids, use_cache=True, **kwargs), model.generate(ids, use_cache=False, **kwargs))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_swap_norms_on_transformers_models(name):
    model = build(name, "eager")
    count = sum(isinstance(m, torch.nn.LayerNorm) for m in model.modules())
    lanco_hf.swap_norms(model, "layernorm_simple")
    assert sum(isinstance(m, lanco_hf.LayerNormSimple) for m in model.modules()) == count
    out = model(**inputs(name))
    key = "logits" if name in CAUSAL else "last_hidden_state"
    assert torch.isfinite(out[key]).all()
