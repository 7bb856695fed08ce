"""``lanco-hf train`` for the multi-label task: model building rules, and one real tiny run on the debtags corpus
(skipped without the apt lists) whose saved folder must reproduce its reported numbers."""

import contextlib
import io
import json

import numpy as np
import pytest
import torch
from helpers import CONFIG_DIR, golden_results_keys
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from lanco_hf import cooccurrence_graph
from lanco_hf.data.cache import DataNotFoundError
from lanco_hf.data.debtags import find_apt_lists
from lanco_hf.evaluation import multilabel_metrics
from lanco_hf.training.arguments import ModelArguments, load_run_config, parse_run_config
from lanco_hf.training.multilabel import THRESHOLDS, MultilabelDataArguments, best_threshold, build_model

TINY_ENCODER = [
    "model_config.encoder_config.hidden_size=16",
    "model_config.encoder_config.num_hidden_layers=1",
    "model_config.encoder_config.num_attention_heads=2",
    "model_config.encoder_config.intermediate_size=32",
]
TINY_RUN = [
    *TINY_ENCODER,
    "tokenizer_vocab_size=400",
    "max_train_samples=96",
    "max_validation_samples=48",
    "max_test_samples=24",
    "num_train_epochs=1",
    "warmup_steps=0",
    "learning_rate=5e-3",
    "num_examples_to_show=2",
    "disable_tqdm=true",
]
NAMES = ["game::arcade", "use::gameplaying", "field::biology"]
LABELS = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=np.float32)


class FakeTokenizer:
    pad_token_id = 0

    def __len__(self):
        return 50


def model_args(**options):
    return ModelArguments(
        model_type="label_graph",
        model_config={
            "encoder_config": {
                "hidden_size": 16,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "intermediate_size": 32,
            },
            **options,
        },
    )


def test_cooccurrence_init_sets_the_graph_from_the_training_labels():
    model = build_model(
        model_args(use_label_graph=False, soft_training=True),
        MultilabelDataArguments(graph_init="cooccurrence"),
        FakeTokenizer(),
        NAMES,
        LABELS,
    )
    torch.testing.assert_close(model.graph(), cooccurrence_graph(torch.tensor(LABELS)))
    assert model.config.encoder_config.vocab_size == 50 and model.config.id2label == dict(enumerate(NAMES))


def test_learned_init_reads_another_runs_graph_and_keeps_it_fixed_without_the_graph_on_the_output(tmp_path):
    learned = [[1.0, 0.2, -0.1], [0.3, 0.9, 0.0], [0.0, 0.1, 1.1]]
    (tmp_path / "results.json").write_text(json.dumps({"label_graph": learned, "test": {}}))
    (tmp_path / "graph.json").write_text(json.dumps(learned))
    for name in ("results.json", "graph.json"):
        data_args = MultilabelDataArguments(graph_init="learned", label_graph_file=str(tmp_path / name))
        model = build_model(
            model_args(use_label_graph=False, soft_training=True), data_args, FakeTokenizer(), NAMES, LABELS
        )
        torch.testing.assert_close(model.graph(), torch.tensor(learned))
        assert not model.label_graph.weight.requires_grad  # only the soft targets read it
    with pytest.raises(ValueError, match="graph_init='learned' needs label_graph_file"):
        MultilabelDataArguments(graph_init="learned")
    with pytest.raises(ValueError, match="does not exist"):
        build_model(
            model_args(),
            MultilabelDataArguments(graph_init="learned", label_graph_file=str(tmp_path / "no.json")),
            FakeTokenizer(),
            NAMES,
            LABELS,
        )


def test_column_stochastic_models_take_the_column_normalised_cooccurrence():
    options = {"use_label_graph": False, "soft_training": True, "label_graph_parameterization": "column_stochastic"}
    column = MultilabelDataArguments(graph_init="cooccurrence", cooccurrence_normalization="column")
    model = build_model(model_args(**options), column, FakeTokenizer(), NAMES, LABELS)
    torch.testing.assert_close(model.graph(), cooccurrence_graph(torch.tensor(LABELS), "column"))
    with pytest.raises(ValueError, match="column-stochastic"):
        build_model(
            model_args(**options), MultilabelDataArguments(graph_init="cooccurrence"), FakeTokenizer(), NAMES, LABELS
        )


def test_soft_training_without_graph_needs_a_cooccurrence_graph():
    with pytest.raises(ValueError, match="needs graph_init='cooccurrence'"):
        build_model(
            model_args(use_label_graph=False, soft_training=True),
            MultilabelDataArguments(),
            FakeTokenizer(),
            NAMES,
            LABELS,
        )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("graph_init=random", "graph_init='random' is not supported"),
        ("max_length=0", "max_length=0 is out of range"),
        ("max_validation_samples=0", "max_validation_samples=0 is out of range"),
        ("head_learning_rate=-1", "head_learning_rate=-1 is out of range"),
        ("cooccurrence_normalization=row", "cooccurrence_normalization='row' is not supported"),
    ],
)
def test_bad_run_settings_are_rejected(setting, message):
    config = load_run_config(CONFIG_DIR / "label_graph_debtags_graph_soft.yaml", [setting])
    config.pop("task")
    with pytest.raises(ValueError, match=message):
        parse_run_config(config, (ModelArguments, MultilabelDataArguments))


def test_threshold_search_picks_the_best_micro_f1():
    scores = np.array([[0.9, 0.35, 0.1], [0.2, 0.4, 0.3]])
    labels = np.array([[1, 1, 0], [0, 1, 0]])
    best = best_threshold(scores, labels)
    assert best == 0.3  # the lowest threshold that keeps both 0.35 and 0.4 and drops 0.3
    assert all(
        multilabel_metrics(scores, labels, t)["micro_f1"] <= multilabel_metrics(scores, labels, best)["micro_f1"]
        for t in THRESHOLDS
    )


try:
    find_apt_lists()
    HAVE_LISTS = True
except DataNotFoundError:
    HAVE_LISTS = False


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    if not HAVE_LISTS:
        pytest.skip("run `sudo apt-get -o Acquire::Languages=en update`")
    from lanco_hf.cli import main

    output = tmp_path_factory.mktemp("runs") / "tiny-label-graph"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        main(["train", str(CONFIG_DIR / "label_graph_debtags_graph_soft.yaml"), f"output_dir={output}", *TINY_RUN])
    return output, json.loads((output / "results.json").read_text()), stdout.getvalue()


@pytest.mark.slow
def test_saved_run_reproduces_its_reported_numbers(tiny_run):
    output, results, stdout = tiny_run
    assert list(results) == golden_results_keys("multilabel_label_graph")
    assert results["reload_reproduces_logits"] and results["pipeline_matches_model"]
    assert "text-classification pipeline scores = sigmoid(logits): True" in stdout
    model = AutoModelForSequenceClassification.from_pretrained(output).eval()
    tokenizer = AutoTokenizer.from_pretrained(output)
    assert model.config.threshold == results["threshold"] and results["threshold"] in THRESHOLDS
    assert model.config.soft_training and model.config.use_label_graph
    assert list(model.config.id2label.values()) == results["label_names"] and len(results["label_names"]) == 24

    from lanco_hf.training.multilabel import MultilabelDataArguments, load_multilabel_data

    dataset, _ = load_multilabel_data(MultilabelDataArguments())

    def scores_and_labels(split):
        batch = tokenizer(list(split["text"]), truncation=True, max_length=64, padding=True, return_tensors="pt")
        with torch.no_grad():
            return torch.sigmoid(model(**batch).logits).numpy(), np.asarray(split["labels"])

    validation_scores, validation_labels = scores_and_labels(dataset["validation"].select(range(48)))
    assert results["validation"]["size"] == 48
    assert best_threshold(validation_scores, validation_labels) == results["threshold"]
    test_scores, test_labels = scores_and_labels(dataset["test"].select(range(24)))
    recomputed = multilabel_metrics(test_scores, test_labels, results["threshold"])
    for key, value in recomputed.items():
        assert results["test"][key] == pytest.approx(value, abs=1e-6), key

    graph = torch.tensor(results["label_graph"])
    torch.testing.assert_close(graph, model.graph().detach())
    assert model.config.label_graph_parameterization == "free"
    assert not torch.allclose(graph, torch.eye(24), atol=1e-4)  # the graph was trained
    torch.testing.assert_close(torch.tensor(results["train_conditional_graph"]).diagonal(), torch.ones(24))


@pytest.mark.slow
def test_model_card_reports_the_run(tiny_run):
    output, results, _ = tiny_run
    card = (output / "README.md").read_text()
    assert "pipeline_tag: text-classification" in card and "model-index" in card
    assert f"value: {round(results['test']['micro_f1'], 4)}" in card
    assert "label graph applied after sigmoid + soft training (weight 1.0)" in card
    assert "Review-Driven Multi-Label Music Style Classification" in card and "corpus sha256" in card
