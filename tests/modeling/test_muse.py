"""MUSE ("MUSE: Parallel Multi-Scale Attention for Sequence to Sequence Learning", Zhao et al., arXiv:1911.09483): the
dynamic convolution against per-position ``conv1d``, the shared value projection and ``W_O [A ; C]``, causality, the
parallel layer, MUSE-simple, initialisation and config checks. The foundation's model checks (save/load, cache,
batching, tied weights, training) run on MUSE configs in test_seq2seq_models.py."""

import math

import pytest
import torch
from helpers import batch, tiny_config
from torch.nn import functional as F
from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from lanco_hf import ExplicitSparseConfig, MuseConfig, MuseForConditionalGeneration, MuseModel
from lanco_hf.modeling import DynamicConvolution
from lanco_hf.modeling.muse import MuseAttention


def reference_convolution(
    conv: DynamicConvolution, values: torch.Tensor, key_mask: torch.Tensor | None
) -> torch.Tensor:
    """For every position t: one ``F.conv1d`` per kernel size over the zero-padded sequence, with the kernel that
    ``softmax(kernel_proj(V_t))`` predicts for each head repeated over the head's channels (groups = channels); the
    sizes' outputs mixed by ``softmax(gate)``. Returns (B, S, H * D)."""
    batch_size, heads, length, head_dim = values.shape
    if key_mask is not None:
        values = values * key_mask[:, None, :, None]
    x = values.transpose(1, 2).reshape(batch_size, length, heads * head_dim)
    out = torch.zeros_like(x)
    for gate, size, proj in zip(conv.gate.softmax(0), conv.kernel_sizes, conv.kernel_projs):
        left = size - 1 if conv.causal else size // 2
        padded = F.pad(x.transpose(1, 2), (left, size - 1 - left))
        for b in range(batch_size):
            for t in range(length):
                kernel = (x[b, t] @ proj.weight.T).view(heads, size).softmax(-1)
                weight = kernel.repeat_interleave(head_dim, dim=0).unsqueeze(1)
                out[b, t] += gate * F.conv1d(padded[b : b + 1], weight, groups=heads * head_dim)[0, :, t]
    return out


def make_conv(causal: bool, kernel_sizes=(3, 15)) -> DynamicConvolution:
    conv = DynamicConvolution(12, 3, list(kernel_sizes), causal=causal, weight_dropout=0.1).double().eval()
    with torch.no_grad():
        conv.gate.copy_(torch.tensor([0.7, -0.4][: len(kernel_sizes)]))
    return conv


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_convolution_equals_per_position_conv1d(causal, padded):
    conv = make_conv(causal)
    values = torch.randn(2, 3, 9, 4, dtype=torch.float64)  # 9 positions < kernel 15: the padding is exercised
    key_mask = torch.ones(2, 9, dtype=torch.bool)
    if padded:
        key_mask[1, 6:] = False
    out = conv(values, 9, key_mask if padded else None)
    torch.testing.assert_close(out, reference_convolution(conv, values, key_mask.double() if padded else None))


def test_cached_step_reads_only_the_last_window():
    conv = make_conv(causal=True)
    values = torch.randn(2, 3, 30, 4, dtype=torch.float64)
    full = conv(values, 30)
    stale = values.clone()
    stale[:, :, : 30 - 3 - 14] = float("nan")  # older than the window of the last 3 positions
    torch.testing.assert_close(conv(stale, 3), full[:, -3:])
    torch.testing.assert_close(conv(values[:, :, :20], 1), full[:, 19:20])


@pytest.mark.parametrize("causal,reach", [(False, (-7, 7)), (True, (0, 14))])
def test_a_value_reaches_exactly_its_kernel_window(causal, reach):
    conv = make_conv(causal)
    values = torch.randn(1, 3, 40, 4, dtype=torch.float64)
    changed = values.clone()
    changed[:, :, 20] += 1.0
    moved = (conv(changed, 40) - conv(values, 40)).abs().sum(-1)[0] > 0
    expected = torch.zeros(40, dtype=torch.bool)
    expected[20 + reach[0] : 20 + reach[1] + 1] = True
    assert torch.equal(moved, expected)


@pytest.mark.parametrize("kind", ["encoder", "decoder"])
def test_self_attention_projects_attention_and_convolution_of_the_shared_values(kind):
    config = tiny_config(MuseConfig)
    module = MuseAttention(config, 4, kind, 0).double().eval()
    x = torch.randn(2, 7, 32, dtype=torch.float64)
    key_mask = torch.ones(2, 7, dtype=torch.bool)
    key_mask[1, 5:] = False

    def heads(t):
        return t.view(2, 7, 4, 8).transpose(1, 2)

    q, k, v = heads(module.q_proj(x)), heads(module.k_proj(x)), heads(module.v_proj(x))
    allowed = key_mask[:, None, None, :].expand(2, 1, 7, 7)
    if kind == "decoder":
        allowed = allowed & torch.ones(7, 7, dtype=torch.bool).tril()
    scores = (q @ k.transpose(-1, -2) / math.sqrt(8)).masked_fill(~allowed, float("-inf"))
    attention = (scores.softmax(-1) @ v).transpose(1, 2).reshape(2, 7, 32)
    convolution = reference_convolution(module.conv, v, key_mask.double())
    expected = torch.cat([attention, convolution], dim=-1) @ module.out_proj.weight.T + module.out_proj.bias
    out, _ = module(x, key_padding_mask=key_mask)
    torch.testing.assert_close(out[0], expected[0])
    torch.testing.assert_close(out[1, :5], expected[1, :5])  # padded query rows are never read


@pytest.mark.parametrize("variant", ["muse", "muse_simple"])
def test_changing_a_future_target_token_never_changes_earlier_outputs(variant):
    model = AutoModelForSeq2SeqLM.from_config(tiny_config(MuseConfig, muse_variant=variant)).eval()
    ids, mask = batch()
    decoder_ids = torch.randint(4, 99, (3, 8))
    changed = decoder_ids.clone()
    changed[:, 5] = (changed[:, 5] + 1 - 4) % 95 + 4
    before = model(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids).logits
    after = model(input_ids=ids, attention_mask=mask, decoder_input_ids=changed).logits
    torch.testing.assert_close(after[:, :5], before[:, :5], rtol=0, atol=0)
    assert ((after[:, 5:] - before[:, 5:]).abs().amax(-1) > 0).all()


def test_muse_simple_has_no_convolution_parameters():
    muse = MuseForConditionalGeneration(tiny_config(MuseConfig))
    simple = MuseForConditionalGeneration(tiny_config(MuseConfig, muse_variant="muse_simple"))
    assert not any(isinstance(m, DynamicConvolution) for m in simple.modules())
    assert not any(".conv." in name for name, _ in simple.named_parameters())
    assert all(layer.self_attn.out_proj.in_features == 32 for layer in simple.model.encoder.layers)
    # per self-attention module (2 encoder + 2 decoder): kernel predictors d*H*(3+15), the gate, d*d more in W_O
    self_attentions = 4
    extra = self_attentions * (32 * 4 * (3 + 15) + 2 + 32 * 32)
    assert muse.num_parameters() - simple.num_parameters() == extra
    assert sum(isinstance(m, DynamicConvolution) for m in muse.modules()) == self_attentions


@pytest.mark.parametrize("normalize_before", [False, True])
def test_parallel_layers_add_every_branch_to_one_residual(normalize_before):
    model = MuseModel(tiny_config(MuseConfig, muse_variant="muse_simple", normalize_before=normalize_before)).eval()
    x, memory = torch.randn(2, 6, 32), torch.randn(2, 4, 32)
    encoder_layer, decoder_layer = model.encoder.layers[0], model.decoder.layers[0]
    norm = encoder_layer.layer_norm
    h = norm(x) if normalize_before else x
    total = x + encoder_layer.self_attn(h)[0] + encoder_layer.ffn(h)
    torch.testing.assert_close(encoder_layer(x)[0], total if normalize_before else norm(total))
    norm = decoder_layer.layer_norm
    h = norm(x) if normalize_before else x
    total = (
        x
        + decoder_layer.self_attn(h)[0]
        + decoder_layer.encoder_attn(h, key_value_states=memory)[0]
        + decoder_layer.ffn(h)
    )
    torch.testing.assert_close(decoder_layer(x, memory)[0], total if normalize_before else norm(total))


def test_projections_use_pytorch_default_init_and_gates_start_uniform(tmp_path):
    muse = MuseForConditionalGeneration(tiny_config(MuseConfig))
    plain = AutoModelForSeq2SeqLM.from_config(tiny_config())
    kaiming_bound = 1 / math.sqrt(32)  # kaiming_uniform(a=sqrt(5)) on fan_in 32; Xavier's bound is sqrt(6/64)
    assert muse.model.encoder.layers[0].self_attn.q_proj.weight.abs().max() <= kaiming_bound
    assert plain.model.encoder.layers[0].self_attn.q_proj.weight.abs().max() > kaiming_bound
    assert (muse.model.encoder.layers[0].self_attn.out_proj.bias == 0).all()
    # the attention output projections, self and cross, as the official MUSE attention: kaiming_uniform(a=1),
    # bound gain * sqrt(3 / fan_in) with gain sqrt(2 / (1 + a^2)) = 1; the feed-forward keeps a = sqrt(5)
    for variant in ("muse", "muse_simple"):
        model = MuseForConditionalGeneration(tiny_config(MuseConfig, muse_variant=variant))
        layer = model.model.decoder.layers[0]
        for projection in (
            layer.self_attn.out_proj,
            layer.encoder_attn.out_proj,
            model.model.encoder.layers[0].self_attn.out_proj,
        ):
            bound = math.sqrt(3 / projection.in_features)
            largest = projection.weight.abs().max().item()
            assert 0.9 * bound < largest <= bound, (variant, largest, bound)
        assert layer.ffn.fc1.weight.abs().max() <= 1 / math.sqrt(layer.ffn.fc1.in_features)
    gate = muse.model.decoder.layers[1].self_attn.conv.gate
    torch.testing.assert_close(gate.detach(), torch.full((2,), 0.5))
    with torch.no_grad():
        gate.copy_(torch.tensor([2.0, -1.0]))
    muse.save_pretrained(tmp_path)
    reloaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path)
    torch.testing.assert_close(reloaded.model.decoder.layers[1].self_attn.conv.gate.detach(), torch.tensor([2.0, -1.0]))


def test_muse_composes_with_other_architectures_from_the_config_alone():
    config = tiny_config(ExplicitSparseConfig, muse_variant="muse", norm_type="adanorm")
    model = AutoModelForSeq2SeqLM.from_config(config)
    layer = model.model.decoder.layers[0]
    assert isinstance(layer.self_attn, MuseAttention) and layer.self_attn.attn_topk == 8
    assert type(layer.layer_norm).__name__ == "AdaNorm"


def test_auto_classes_resolve_muse():
    config = AutoConfig.for_model(
        "muse", vocab_size=99, d_model=32, encoder_attention_heads=4, decoder_attention_heads=4
    )
    assert isinstance(config, MuseConfig) and config.muse_variant == "muse" and config.muse_kernel_sizes == [3, 15]
    assert type(AutoModelForSeq2SeqLM.from_config(config)) is MuseForConditionalGeneration
    assert type(AutoModel.from_config(config)) is MuseModel


@pytest.mark.parametrize(
    "config_class,field,value,message",
    [
        (MuseConfig, "muse_variant", "muse_xl", "muse_variant='muse_xl' is not supported"),
        (MuseConfig, "muse_variant", None, "muse_variant=None is not supported; allowed values: 'muse', 'muse_simple'"),
        (MuseConfig, "muse_kernel_sizes", [3, 4], "muse_kernel_sizes contains 4; allowed: odd integers"),
        (MuseConfig, "muse_kernel_sizes", [], "muse_kernel_sizes must be a non-empty list"),
        (MuseConfig, "muse_kernel_sizes", [-1], "muse_kernel_sizes contains -1"),
        (MuseConfig, "muse_weight_dropout", 1.0, "muse_weight_dropout=1.0 is out of range"),
        (ExplicitSparseConfig, "muse_variant", "prime", "muse_variant='prime' is not supported"),
    ],
)
def test_bad_muse_values_raise_value_error_naming_the_field(config_class, field, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(config_class, **{field: value})


def test_convolution_refuses_cross_attention():
    with pytest.raises(ValueError, match="kind='cross'"):
        MuseAttention(tiny_config(MuseConfig), 4, "cross", 0)
