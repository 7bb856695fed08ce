"""Property-based config validation: for random (often invalid) field values, every lanco config either refuses
them at construction with a ValueError naming a field, or builds a model whose forward pass gives finite outputs
of the right shape. A TypeError, an IndexError, a torch error or a NaN output is a bug."""

import math

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lanco_hf import (
    CrossViewConfig,
    CrossViewForConditionalGeneration,
    ExplicitSparseConfig,
    ExplicitSparseForConditionalGeneration,
    LabelGraphConfig,
    LabelGraphForSequenceClassification,
    LancoForConditionalGeneration,
    LancoSeq2SeqConfig,
    MuseConfig,
    MuseForConditionalGeneration,
    ReNodeGCNConfig,
    ReNodeGCNForNodeClassification,
)
from lanco_hf.losses.encouraging import EncouragingLoss

FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

BAD = st.sampled_from([None, "x", [], 1.5, True, float("nan"), float("inf"), -1])
sizes = st.one_of(st.integers(-1, 9), BAD)
probabilities = st.one_of(st.sampled_from([0.0, 0.1, 0.5, 0.99, 1.0, -0.1, 2.0]), BAD)
positives = st.one_of(st.sampled_from([1e-6, 0.1, 1.0, 3.0, 0.0, -1.0]), BAD)
flags = st.one_of(st.booleans(), BAD)


def choices(*allowed):
    return st.one_of(st.sampled_from([*allowed, "bogus"]), BAD)


def fields(**strategies):
    """Up to four of the fields, each drawn from its strategy (the others keep their working defaults), so that
    both refusals and working models are drawn often."""
    names = st.lists(st.sampled_from(sorted(strategies)), max_size=4, unique=True)
    return names.flatmap(lambda chosen: st.fixed_dictionaries({name: strategies[name] for name in chosen}))


def assert_refused_by_name(error: ValueError, names) -> None:
    message = str(error)
    assert any(name in message for name in names), f"the error names no field: {message}"


SEQ2SEQ_FIELDS = fields(
    vocab_size=st.one_of(st.integers(-1, 12), BAD),
    d_model=st.sampled_from([-2, 0, 3, 4, 8, 12]),
    encoder_layers=sizes,
    decoder_layers=sizes,
    encoder_attention_heads=sizes,
    decoder_attention_heads=sizes,
    encoder_ffn_dim=sizes,
    decoder_ffn_dim=sizes,
    dropout=probabilities,
    attention_dropout=probabilities,
    activation_dropout=probabilities,
    activation_function=choices("relu", "gelu", "tanh"),
    max_position_embeddings=st.one_of(st.integers(-1, 8), BAD),
    position_embedding_type=choices("sinusoidal", "learned"),
    scale_embedding=flags,
    init_std=st.one_of(st.none(), positives),
    normalize_before=flags,
    norm_type=choices("layernorm", "layernorm_simple", "adanorm", "detachnorm"),
    norm_eps=positives,
    adanorm_scale=positives,
    adanorm_k=positives,
    attn_topk=st.one_of(st.none(), sizes),
    attn_topk_targets=st.one_of(st.lists(st.sampled_from(["encoder", "decoder", "cross", "bogus"]), max_size=3), BAD),
    muse_variant=choices(None, "muse", "muse_simple"),
    muse_kernel_sizes=st.one_of(st.lists(st.integers(-1, 5), max_size=3), BAD),
    muse_weight_dropout=probabilities,
    cross_view_routing=choices("last", "gca"),
    cross_view_layers=st.one_of(st.none(), st.lists(st.integers(0, 3), max_size=3)),
    pad_token_id=st.one_of(st.none(), st.integers(-1, 12)),
    bos_token_id=st.one_of(st.none(), st.integers(-1, 12)),
    eos_token_id=st.one_of(st.none(), st.integers(-1, 12)),
    decoder_start_token_id=st.one_of(st.integers(-1, 12), BAD),
    tie_word_embeddings=flags,
)
SEQ2SEQ = {
    LancoSeq2SeqConfig: LancoForConditionalGeneration,
    ExplicitSparseConfig: ExplicitSparseForConditionalGeneration,
    MuseConfig: MuseForConditionalGeneration,
    CrossViewConfig: CrossViewForConditionalGeneration,
}
SMALL = dict(
    vocab_size=11,
    d_model=8,
    encoder_layers=1,
    decoder_layers=1,
    encoder_attention_heads=2,
    decoder_attention_heads=2,
    encoder_ffn_dim=8,
    decoder_ffn_dim=8,
    max_position_embeddings=8,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
    decoder_start_token_id=1,
)


def check_seq2seq(config_class, overrides):
    kwargs = {**SMALL, **overrides}
    try:
        config = config_class(**kwargs)
    except ValueError as error:
        assert_refused_by_name(error, kwargs)
        event("refused")
        return
    event("built")
    model = SEQ2SEQ[config_class](config).eval()
    length = min(4, config.max_position_embeddings)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, config.vocab_size, (2, length), generator=generator)
    labels = torch.randint(0, config.vocab_size, (2, length), generator=generator)
    with torch.no_grad():
        if config.pad_token_id is None:  # labels cannot be shifted without a pad id: a clear error, not a TypeError
            with pytest.raises(ValueError, match="pad_token_id"):
                model(input_ids=ids, labels=labels)
            event("refused at forward")
            return
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels)
    assert out.logits.shape == (2, length, config.vocab_size)
    assert torch.isfinite(out.logits).all() and math.isfinite(out.loss.item())


@FUZZ
@given(SEQ2SEQ_FIELDS)
def test_lanco_seq2seq_config(overrides):
    check_seq2seq(LancoSeq2SeqConfig, overrides)


@FUZZ
@given(SEQ2SEQ_FIELDS)
def test_explicit_sparse_config(overrides):
    check_seq2seq(ExplicitSparseConfig, overrides)


@FUZZ
@given(SEQ2SEQ_FIELDS)
def test_muse_config(overrides):
    check_seq2seq(MuseConfig, overrides)


@FUZZ
@given(SEQ2SEQ_FIELDS)
def test_cross_view_config(overrides):
    check_seq2seq(CrossViewConfig, overrides)


TINY_BERT = dict(
    vocab_size=20,
    hidden_size=8,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=8,
    max_position_embeddings=16,
)


@FUZZ
@given(
    fields(
        num_labels=st.one_of(st.integers(-1, 4), BAD),
        pooling=choices("mean", "cls", "pooler"),
        classifier_dropout=probabilities,
        use_label_graph=flags,
        graph_position=choices("after_sigmoid", "before_sigmoid"),
        graph_init_noise=positives,
        graph_regularization=st.one_of(st.sampled_from([-0.5, 0.0, 0.5]), BAD),
        soft_training=flags,
        soft_loss_weight=positives,
        threshold=probabilities,
        label_graph_parameterization=choices("free", "column_stochastic"),
        soft_target_temperature=positives,
        soft_target_normalization=choices("clamp", "max", "sum"),
    )
)
def test_label_graph_config(overrides):
    kwargs = {"encoder_config": TINY_BERT, "num_labels": 3, **overrides}
    try:
        config = LabelGraphConfig(**kwargs)
    except ValueError as error:
        assert_refused_by_name(error, kwargs)
        event("refused")
        return
    event("built")
    model = LabelGraphForSequenceClassification(config).eval()
    ids = torch.randint(0, 20, (2, 5))
    labels = torch.randint(0, 2, (2, config.num_labels)).float()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels)
    assert out.logits.shape == (2, config.num_labels)
    assert torch.isfinite(out.logits).all() and math.isfinite(out.loss.item())


@FUZZ
@given(
    fields(
        num_features=sizes,
        hidden_size=sizes,
        num_layers=sizes,
        gnn_type=choices("gcn", "gat", "sage"),
        gat_heads=sizes,
        dropout=probabilities,
        loss_type=choices("ce", "focal", "cb-softmax", "re-weight"),
        focal_gamma=positives,
        cb_beta=probabilities,
        num_labels=st.one_of(st.integers(-1, 4), BAD),
    )
)
def test_renode_gcn_config(overrides):
    kwargs = {"num_features": 5, "hidden_size": 4, "num_layers": 2, "num_labels": 2, "gat_heads": 2, **overrides}
    try:
        config = ReNodeGCNConfig(**kwargs)
    except ValueError as error:
        assert_refused_by_name(error, kwargs)
        event("refused")
        return
    event("built")
    model = ReNodeGCNForNodeClassification(config).eval()
    x = torch.randn(6, config.num_features)
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 4, 4, 5], [1, 0, 2, 1, 4, 3, 5, 4]])
    labels = torch.arange(6) % config.num_labels
    with torch.no_grad():
        out = model(x=x, edge_index=edge_index, labels=labels)
    assert out.logits.shape == (6, config.num_labels)
    assert torch.isfinite(out.logits).all() and math.isfinite(out.loss.item())


@FUZZ
@given(
    fields(
        rho=positives,
        log_end=probabilities,
        label_smoothing=probabilities,
        bonus_label_smoothing=st.one_of(st.none(), probabilities),
        reduction=choices("mean", "sum", "none"),
        ignore_index=st.one_of(st.integers(-100, 3), BAD),
        base_loss=choices("ce", "focal"),
        focal_gamma=positives,
        bonus_weights=st.one_of(st.none(), st.lists(st.sampled_from([0.0, 0.5, 2.0, -1.0]), min_size=0, max_size=5)),
    )
)
def test_encouraging_loss_arguments(kwargs):
    try:
        loss = EncouragingLoss(**kwargs)
        logits, labels = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, -100, 1])
        value = loss(logits, labels)
    except ValueError as error:
        assert_refused_by_name(error, [*kwargs, "labels"])
        event("refused")
        return
    event("built")
    assert torch.isfinite(value).all()
