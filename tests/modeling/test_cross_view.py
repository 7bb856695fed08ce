"""Layer-wise cross-view decoding ("Layer-Wise Cross-View Decoding for Sequence-to-Sequence Learning", Liu et al.,
arXiv:2005.08081): the routing map, what each decoder layer reads (hooks), which decoder layers an encoder layer
influences, "last" == the plain Transformer, per-layer states kept for generation and cross-attention projected once per
generation. The foundation's model checks run on cross-view configs in test_seq2seq_models.py."""

import pytest
import torch
from helpers import batch, tiny_config
from transformers import AutoModelForSeq2SeqLM
from transformers.modeling_outputs import BaseModelOutput

from lanco_hf import CrossViewConfig, LancoSeq2SeqConfig, MuseConfig


def build(config_class=CrossViewConfig, **options):
    return AutoModelForSeq2SeqLM.from_config(tiny_config(config_class, **options)).eval()


def routes(model):
    return model.config.cross_view_source_layers()


@pytest.mark.parametrize(
    "encoder_layers,decoder_layers,options,expected",
    [
        (6, 6, {}, [1, 2, 3, 4, 5, 6]),
        (6, 3, {}, [2, 4, 6]),
        (2, 4, {}, [1, 1, 2, 2]),
        (3, 2, {}, [2, 3]),
        (3, 3, {"cross_view_layers": [3, 2, 1]}, [3, 2, 1]),
        (4, 2, {"cross_view_routing": "last"}, [4, 4]),
    ],
)
def test_source_layer_of_every_decoder_layer(encoder_layers, decoder_layers, options, expected):
    config = tiny_config(CrossViewConfig, encoder_layers=encoder_layers, decoder_layers=decoder_layers, **options)
    assert config.cross_view_source_layers() == expected


@pytest.mark.parametrize(
    "options,message",
    [
        ({"cross_view_routing": "all"}, "cross_view_routing='all' is not supported; allowed values: 'last', 'gca'"),
        ({"cross_view_layers": [1]}, "cross_view_layers has 1 entries; it needs one per decoder layer"),
        ({"cross_view_layers": [1, 3]}, r"cross_view_layers contains 3; allowed: integers in \[1, 2\]"),
        ({"cross_view_layers": [0, 1]}, "cross_view_layers contains 0"),
        ({"cross_view_layers": [1, 2], "cross_view_routing": "last"}, "cross_view_layers is only used with"),
    ],
)
def test_bad_routing_values_raise_value_error_naming_the_field(options, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(CrossViewConfig, **options)


def test_a_depth_changed_after_construction_is_checked_against_the_routing():
    config = tiny_config(CrossViewConfig, cross_view_layers=[2, 1])
    config.decoder_layers = 3
    with pytest.raises(ValueError, match="cross_view_layers has 2 entries"):
        AutoModelForSeq2SeqLM.from_config(config)


@pytest.mark.parametrize("normalize_before", [False, True])
def test_last_routing_is_the_plain_transformer(normalize_before):
    plain = build(LancoSeq2SeqConfig, normalize_before=normalize_before, encoder_layers=3)
    last = build(cross_view_routing="last", normalize_before=normalize_before, encoder_layers=3)
    last.load_state_dict(plain.state_dict())
    ids, mask = batch()
    kwargs = dict(input_ids=ids, attention_mask=mask, decoder_input_ids=torch.randint(4, 99, (3, 6)))
    torch.testing.assert_close(last(**kwargs).logits, plain(**kwargs).logits, rtol=0, atol=0)
    generate = dict(attention_mask=mask, max_new_tokens=8, num_beams=2)
    assert torch.equal(last.generate(ids, **generate), plain.generate(ids, **generate))


def run_with_hooks(model, perturbed_layer=None):
    """Forward pass recording each encoder layer's output, each decoder layer's output and the states each decoder
    cross-attention projects to keys/values; optionally adding a constant to encoder layer ``perturbed_layer``."""
    record = {"encoder": {}, "decoder": {}, "cross_input": {}}
    handles = []
    for i, layer in enumerate(model.model.encoder.layers, 1):

        def encoder_hook(module, args, output, i=i):
            if i == perturbed_layer:
                output = (output[0] + 0.5, *output[1:])
            record["encoder"][i] = output[0]
            return output

        handles.append(layer.register_forward_hook(encoder_hook))
    for j, layer in enumerate(model.model.decoder.layers, 1):
        handles.append(layer.register_forward_hook(lambda m, a, out, j=j: record["decoder"].__setitem__(j, out[0])))
        handles.append(
            layer.encoder_attn.register_forward_pre_hook(
                lambda m, args, kwargs, j=j: record["cross_input"].__setitem__(j, kwargs["key_value_states"]),
                with_kwargs=True,
            )
        )
    ids, mask = batch(lengths=(7, 7, 7))
    model(
        input_ids=ids,
        attention_mask=mask,
        decoder_input_ids=torch.randint(4, 99, (3, 5), generator=torch.Generator().manual_seed(1)),
    )
    for handle in handles:
        handle.remove()
    return record


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"normalize_before": True, "encoder_layers": 3},
        {"encoder_layers": 2, "decoder_layers": 3, "cross_view_layers": [2, 1, 2]},
    ],
)
def test_each_decoder_layer_reads_the_output_of_its_encoder_layer(options):
    model = build(**options)
    record = run_with_hooks(model)
    final_norm = model.model.encoder.layer_norm
    for j, source in enumerate(routes(model), 1):
        expected = record["encoder"][source]
        if final_norm is not None:  # pre-norm: routed states are normalised like the last one
            expected = final_norm(expected)
        torch.testing.assert_close(record["cross_input"][j], expected, rtol=0, atol=0)


@pytest.mark.parametrize(
    "options",
    [
        {"encoder_layers": 3, "decoder_layers": 3},
        {"encoder_layers": 4, "decoder_layers": 2, "normalize_before": True},
        {"encoder_layers": 2, "decoder_layers": 4},
        {"encoder_layers": 3, "decoder_layers": 3, "cross_view_routing": "last"},
    ],
)
def test_perturbing_an_encoder_layer_changes_exactly_the_decoder_layers_that_depend_on_it(options):
    model = build(**options)
    clean = run_with_hooks(model)["decoder"]
    sources = routes(model)
    for perturbed in range(1, model.config.encoder_layers + 1):
        decoder = run_with_hooks(model, perturbed)["decoder"]
        changed = [not torch.equal(decoder[j], clean[j]) for j in range(1, len(sources) + 1)]
        # decoder layer j depends on encoder layer i when a cross-attention at or below j reads encoder layer >= i
        depends = [any(source >= perturbed for source in sources[:j]) for j in range(1, len(sources) + 1)]
        assert changed == depends, (perturbed, sources)


@pytest.mark.parametrize("normalize_before", [False, True])
def test_encoder_keeps_the_routed_states_without_being_asked_for_hidden_states(normalize_before):
    model = build(normalize_before=normalize_before, encoder_layers=3)
    ids, mask = batch()
    out = model.get_encoder()(input_ids=ids, attention_mask=mask, output_hidden_states=False)
    assert out.hidden_states is None and out.layer_states.shape == (3, 3, ids.shape[1], 32)
    torch.testing.assert_close(out.layer_states[:, -1], out.last_hidden_state, rtol=0, atol=0)
    assert build(cross_view_routing="last").get_encoder()(input_ids=ids, attention_mask=mask).layer_states is None
    with pytest.raises(ValueError, match="cross_view_routing='gca' needs the output of every encoder layer"):
        model(
            encoder_outputs=BaseModelOutput(last_hidden_state=out.last_hidden_state),
            attention_mask=mask,
            decoder_input_ids=torch.randint(4, 99, (3, 2)),
        )


@pytest.mark.parametrize("num_beams", [1, 3])
def test_cached_generation_projects_each_cross_attention_once(num_beams):
    model = build(encoder_layers=3, normalize_before=True)
    calls = {}
    for j, layer in enumerate(model.model.decoder.layers):
        layer.encoder_attn.k_proj.register_forward_hook(lambda m, a, o, j=j: calls.__setitem__(j, calls.get(j, 0) + 1))
    ids, mask = batch()
    kwargs = dict(attention_mask=mask, max_new_tokens=7, min_new_tokens=7, num_beams=num_beams)
    cached = model.generate(ids, use_cache=True, **kwargs)
    assert calls == {0: 1, 1: 1}
    calls.clear()
    assert torch.equal(model.generate(ids, use_cache=False, **kwargs), cached)
    assert calls == {0: 7, 1: 7}


def test_routing_composes_with_muse_topk_and_adanorm():
    model = build(
        MuseConfig, cross_view_routing="gca", encoder_layers=3, attn_topk=3, norm_type="adanorm", normalize_before=True
    )
    ids, mask = batch()
    decoder_ids = torch.randint(4, 99, (3, 6))
    full = model(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids).logits
    encoder_outputs = model.get_encoder()(input_ids=ids, attention_mask=mask)
    cache, steps = None, []
    for t in range(6):
        out = model(
            encoder_outputs=encoder_outputs,
            attention_mask=mask,
            decoder_input_ids=decoder_ids[:, t : t + 1],
            past_key_values=cache,
            use_cache=True,
        )
        cache = out.past_key_values
        steps.append(out.logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-4)
    record = run_with_hooks(model)
    assert not torch.equal(record["cross_input"][1], record["cross_input"][2])
