"""Model checks of the lanco seq2seq core and the Explicit Sparse Transformer (tiny configs, CPU)."""

import pytest
import torch
from helpers import SEQ2SEQ_CONFIGS, batch, tiny_config
from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM, GenerationConfig

from lanco_hf import (
    AdaNorm,
    ExplicitSparseConfig,
    ExplicitSparseForConditionalGeneration,
    ExplicitSparseModel,
    LancoForConditionalGeneration,
    LancoSeq2SeqConfig,
)

CONFIG_IDS = list(SEQ2SEQ_CONFIGS)


def build(name, **overrides):
    config_class, options = SEQ2SEQ_CONFIGS[name]
    config = tiny_config(config_class, **{**options, **overrides})
    return AutoModelForSeq2SeqLM.from_config(config).eval()


def labels_for(ids):
    labels = torch.randint(4, 99, ids.shape)
    labels[:, -1] = 2
    return labels


@pytest.fixture(params=CONFIG_IDS)
def model(request):
    return build(request.param)


def test_auto_classes_resolve_lanco_architectures():
    config = AutoConfig.for_model(
        "explicit_sparse", vocab_size=99, d_model=32, encoder_attention_heads=4, decoder_attention_heads=4
    )
    assert isinstance(config, ExplicitSparseConfig) and config.attn_topk == 8
    assert type(AutoModelForSeq2SeqLM.from_config(config)) is ExplicitSparseForConditionalGeneration
    assert type(AutoModel.from_config(config)) is ExplicitSparseModel


def test_save_load_round_trip(model, tmp_path):
    ids, mask = batch()
    labels = labels_for(ids)
    before = model(input_ids=ids, attention_mask=mask, labels=labels)
    model.save_pretrained(tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").iterdir() if not p.name.endswith(".py")) == [
        "config.json",
        "generation_config.json",
        "model.safetensors",
    ]
    reloaded, info = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "a", output_loading_info=True)
    assert type(reloaded) is type(model)
    assert not any(info[key] for key in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    after = reloaded.eval()(input_ids=ids, attention_mask=mask, labels=labels)
    torch.testing.assert_close(after.logits, before.logits, rtol=0, atol=0)
    reloaded.save_pretrained(tmp_path / "b")  # and once more
    again = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "b").eval()(
        input_ids=ids, attention_mask=mask, labels=labels
    )
    torch.testing.assert_close(again.logits, before.logits, rtol=0, atol=0)


def test_generation_config_exists_iff_model_can_generate(tmp_path):
    config = tiny_config(ExplicitSparseConfig)
    ExplicitSparseForConditionalGeneration(config).save_pretrained(tmp_path / "lm")
    ExplicitSparseModel(config).save_pretrained(tmp_path / "base")
    assert ExplicitSparseForConditionalGeneration.can_generate() and not ExplicitSparseModel.can_generate()
    assert (tmp_path / "lm" / "generation_config.json").exists()
    assert not (tmp_path / "base" / "generation_config.json").exists()
    generation = GenerationConfig.from_pretrained(tmp_path / "lm")
    assert (generation.decoder_start_token_id, generation.eos_token_id, generation.pad_token_id) == (1, 2, 0)


def test_base_model_loads_from_head_checkpoint(tmp_path):
    lm = ExplicitSparseForConditionalGeneration(tiny_config(ExplicitSparseConfig))
    lm.save_pretrained(tmp_path)
    base, info = AutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert type(base) is ExplicitSparseModel and not info["missing_keys"]
    torch.testing.assert_close(
        base.encoder.layers[0].self_attn.q_proj.weight, lm.model.encoder.layers[0].self_attn.q_proj.weight
    )


def test_tied_weights_share_storage_and_reload(tmp_path):
    model = build("topk-postnorm")
    pointers = {
        p.data_ptr()
        for p in (
            model.lm_head.weight,
            model.model.encoder.embed_tokens.weight,
            model.model.decoder.embed_tokens.weight,
        )
    }
    assert len(pointers) == 1
    model.save_pretrained(tmp_path)
    from safetensors import safe_open

    with safe_open(tmp_path / "model.safetensors", "pt") as handle:
        stored = set(handle.keys())
    assert "model.encoder.embed_tokens.weight" in stored and "lm_head.weight" not in stored
    reloaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path)
    assert reloaded.lm_head.weight.data_ptr() == reloaded.model.decoder.embed_tokens.weight.data_ptr()


def test_untied_embeddings_are_separate(tmp_path):
    model = AutoModelForSeq2SeqLM.from_config(tiny_config(tie_word_embeddings=False))
    assert model.lm_head.weight.data_ptr() != model.model.encoder.embed_tokens.weight.data_ptr()
    model.save_pretrained(tmp_path)
    reloaded, info = AutoModelForSeq2SeqLM.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"]
    torch.testing.assert_close(reloaded.lm_head.weight, model.lm_head.weight)


@pytest.mark.parametrize("num_beams", [1, 3])
def test_generate_with_and_without_cache_agree(model, num_beams):
    ids, mask = batch(lengths=(9, 6, 4))
    kwargs = dict(attention_mask=mask, max_new_tokens=12, num_beams=num_beams, do_sample=False, min_new_tokens=12)
    cached = model.generate(ids, use_cache=True, **kwargs)
    uncached = model.generate(ids, use_cache=False, **kwargs)
    assert torch.equal(cached, uncached)
    assert cached.shape[1] == 13


@pytest.mark.parametrize("cache_argument", ["cache", "past_key_values"])  # transformers >= 5.24 passes `cache`
def test_stepwise_decoding_with_cache_equals_full_forward(model, cache_argument):
    ids, mask = batch()
    decoder_ids = torch.randint(4, 99, (3, 6))
    full = model(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids, use_cache=False).logits
    encoder_outputs = model.get_encoder()(input_ids=ids, attention_mask=mask)
    cache, steps = None, []
    for t in range(decoder_ids.shape[1]):
        out = model(
            encoder_outputs=encoder_outputs,
            attention_mask=mask,
            decoder_input_ids=decoder_ids[:, t : t + 1],
            use_cache=True,
            **{cache_argument: cache},
        )
        cache = out[1]  # the cache field, whatever the installed transformers calls it
        assert cache.get_seq_length() == t + 1
        steps.append(out.logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-4)


def test_old_cache_name_warns_like_transformers_and_still_works(model):
    """transformers 5.24 renamed ``past_key_values`` to ``cache``; its own models warn (``deprecate_kwarg``) when a
    caller uses the old name, and so do the lanco models, with the same result."""
    import warnings

    from lanco_hf.modeling.modeling_lanco import CACHE_FIELD

    ids, mask = batch()
    encoder_outputs = model.get_encoder()(input_ids=ids, attention_mask=mask)

    def first_step_cache():
        return model(
            encoder_outputs=encoder_outputs, attention_mask=mask, decoder_input_ids=ids[:, :1], use_cache=True
        )[1]

    step = dict(encoder_outputs=encoder_outputs, attention_mask=mask, decoder_input_ids=ids[:, 1:2], use_cache=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new = model(**step, **{CACHE_FIELD: first_step_cache()}).logits
    assert not [w for w in caught if "past_key_values" in str(w.message)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = model(**step, past_key_values=first_step_cache()).logits
    torch.testing.assert_close(old, new)
    renamed = [
        w
        for w in caught
        if issubclass(w.category, FutureWarning)
        and "`past_key_values` is deprecated" in str(w.message)
        and "Use `cache` instead" in str(w.message)
    ]
    assert len(renamed) == (1 if CACHE_FIELD == "cache" else 0)


def test_padded_batch_equals_rows_one_by_one(model):
    ids, mask = batch(lengths=(8, 5, 2))
    decoder_ids = torch.randint(4, 99, (3, 4))
    together = model(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids).logits
    for row, length in enumerate((8, 5, 2)):
        alone = model(input_ids=ids[row : row + 1, :length], decoder_input_ids=decoder_ids[row : row + 1]).logits
        torch.testing.assert_close(together[row : row + 1], alone, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ["dense-postnorm", "topk-postnorm", "muse-prenorm-topk-adanorm", "gca-postnorm"])
@pytest.mark.parametrize("padded", [False, True])
def test_sdpa_and_eager_attention_agree(name, padded):
    config_class, options = SEQ2SEQ_CONFIGS[name]
    sdpa = AutoModelForSeq2SeqLM.from_config(tiny_config(config_class, **options), attn_implementation="sdpa").eval()
    eager = AutoModelForSeq2SeqLM.from_config(tiny_config(config_class, **options), attn_implementation="eager").eval()
    eager.load_state_dict(sdpa.state_dict())
    assert sdpa.config._attn_implementation == "sdpa" and eager.config._attn_implementation == "eager"
    ids, mask = batch(lengths=(7, 4, 3) if padded else (7, 7, 7))
    decoder_ids = torch.randint(4, 99, (3, 5))
    kwargs = dict(input_ids=ids, attention_mask=mask if padded else None, decoder_input_ids=decoder_ids)
    torch.testing.assert_close(sdpa(**kwargs).logits, eager(**kwargs).logits, atol=1e-5, rtol=1e-4)


def test_output_attentions_are_real_topk_probabilities():
    model = build("topk-postnorm")  # attn_topk = 3
    ids, mask = batch(lengths=(7, 5, 3))
    out = model(
        input_ids=ids, attention_mask=mask, decoder_input_ids=torch.randint(4, 99, (3, 6)), output_attentions=True
    )
    for attentions in (out.encoder_attentions, out.decoder_attentions, out.cross_attentions):
        assert len(attentions) == 2
        for probs in attentions:
            torch.testing.assert_close(probs.sum(-1), torch.ones_like(probs.sum(-1)))
            assert ((probs > 0).sum(-1) <= 3).all()
    cross = out.cross_attentions[0]
    assert (cross[2, ..., 3:] == 0).all()  # padded source positions of the third row
    decoder_self = out.decoder_attentions[0]
    assert (decoder_self.triu(diagonal=1) == 0).all()  # causal


def test_topk_targets_select_where_sparsity_applies():
    model = build("topk-postnorm", attn_topk_targets=["cross"])
    layer = model.model.decoder.layers[0]
    assert layer.encoder_attn.attn_topk == 3 and layer.self_attn.attn_topk is None
    assert model.model.encoder.layers[0].self_attn.attn_topk is None
    ids, mask = batch(lengths=(7, 7, 7))
    out = model(
        input_ids=ids, attention_mask=mask, decoder_input_ids=torch.randint(4, 99, (3, 6)), output_attentions=True
    )
    assert ((out.encoder_attentions[0] > 0).sum(-1) == 7).all()
    assert ((out.cross_attentions[0] > 0).sum(-1) <= 3).all()


def test_explicit_sparse_with_large_k_equals_dense_model():
    sparse = build("topk-postnorm", attn_topk=1000)
    dense = AutoModelForSeq2SeqLM.from_config(tiny_config()).eval()
    dense.load_state_dict(sparse.state_dict())
    ids, mask = batch()
    kwargs = dict(input_ids=ids, attention_mask=mask, decoder_input_ids=torch.randint(4, 99, (3, 5)))
    torch.testing.assert_close(sparse(**kwargs).logits, dense(**kwargs).logits)


def test_resize_token_embeddings_keeps_the_tie():
    model = build("topk-postnorm")
    model.resize_token_embeddings(120)
    assert model.config.vocab_size == 120
    weights = [model.lm_head.weight, model.model.encoder.embed_tokens.weight, model.model.decoder.embed_tokens.weight]
    assert len({w.data_ptr() for w in weights}) == 1 and weights[0].shape == (120, 32)
    ids, mask = batch(vocab_size=120)
    assert model(input_ids=ids, attention_mask=mask, labels=labels_for(ids)).logits.shape[-1] == 120


@pytest.mark.parametrize("checkpointing", [False, True])
def test_training_step_reaches_every_parameter(model, checkpointing):
    if checkpointing:
        model.activation_checkpointing_enable()
        assert all(layer.gradient_checkpointing for layer in model.model.encoder.layers)
    model.train()
    ids, mask = batch()
    loss = model(input_ids=ids, attention_mask=mask, labels=labels_for(ids)).loss
    assert torch.isfinite(loss)
    loss.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_activation_checkpointing_gives_the_same_gradients():
    plain, checkpointed = build("topk-prenorm-adanorm"), build("topk-prenorm-adanorm")
    checkpointed.load_state_dict(plain.state_dict())
    checkpointed.activation_checkpointing_enable()
    ids, mask = batch()
    labels = labels_for(ids)
    for model in (plain, checkpointed):
        model.train()
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
    for (name, a), (_, b) in zip(plain.named_parameters(), checkpointed.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_loss_is_token_level_cross_entropy_and_honours_num_items_in_batch():
    model = build("dense-postnorm")
    ids, mask = batch()
    labels = labels_for(ids)
    labels[0, 3:] = -100
    out = model(input_ids=ids, attention_mask=mask, labels=labels)
    log_probs = out.logits.log_softmax(-1)
    valid = labels != -100
    token_nll = -log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)[valid]
    torch.testing.assert_close(out.loss, token_nll.mean())
    summed = model(input_ids=ids, attention_mask=mask, labels=labels, num_items_in_batch=torch.tensor(50)).loss
    torch.testing.assert_close(summed, token_nll.sum() / 50)


def test_norm_type_builds_the_chosen_layers():
    model = build("topk-prenorm-adanorm")
    norms = [m for m in model.modules() if isinstance(m, AdaNorm)]
    assert len(norms) == 2 * 2 + 2 * 3 + 2  # encoder layers, decoder layers, final pre-norms
    assert not any(isinstance(m, torch.nn.LayerNorm) for m in model.modules())


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("attn_topk", 0, "attn_topk=0 is out of range"),
        ("norm_type", "rmsnorm", "norm_type='rmsnorm' is not supported"),
        ("encoder_attention_heads", 5, "d_model=32 must be divisible by encoder_attention_heads=5"),
        ("attn_topk_targets", ["self"], "attn_topk_targets contains"),
        ("dropout", 1.0, "dropout=1.0 is out of range"),
        ("position_embedding_type", "rotary", "position_embedding_type='rotary'"),
        ("pad_token_id", 99, "pad_token_id=99 is out of range"),
        ("activation_function", "relu6", "activation_function='relu6'"),
        ("decoder_layers", 0, "decoder_layers=0 is out of range"),
    ],
)
def test_bad_config_values_raise_value_error_naming_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(ExplicitSparseConfig, **{field: value})


def test_fields_changed_after_construction_are_checked_when_building_the_model():
    config = tiny_config(LancoSeq2SeqConfig)
    config.attn_topk = -2
    with pytest.raises(ValueError, match="attn_topk=-2"):
        LancoForConditionalGeneration(config)


def test_out_of_range_ids_and_labels_raise():
    model = build("dense-postnorm")
    ids, mask = batch()
    with pytest.raises(ValueError, match="input ids must lie in"):
        model(input_ids=ids + 200, attention_mask=mask, labels=labels_for(ids))
    labels = labels_for(ids)
    labels[0, 0] = 500
    with pytest.raises(ValueError, match="labels must lie in"):
        model(input_ids=ids, attention_mask=mask, labels=labels)
    with pytest.raises(ValueError, match="max_position_embeddings=128"):
        model(input_ids=torch.randint(4, 99, (1, 200)), labels=torch.randint(4, 99, (1, 3)))
