"""The node-classification job: the official training schedule and early stopping, the YAML configs, the
Debian package graph builder, and ``lanco-hf train`` end to end on Cora (skipped without the Planetoid files)."""

import contextlib
import io
import json
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from helpers import golden_results_keys
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from torch_geometric.data import Data
from transformers import AutoModel

from lanco_hf import ReNodeGCNConfig, ReNodeGCNForNodeClassification, renode_weights, totoro
from lanco_hf.cli import main
from lanco_hf.data.cache import DataNotFoundError
from lanco_hf.data.debian_graph import first_alternatives, package_records
from lanco_hf.hub.model_card import card_from_run
from lanco_hf.training.arguments import ModelArguments, load_run_config, parse_run_config
from lanco_hf.training.node_classification import (
    NodeClassificationDataArguments,
    NodeTrainingArguments,
    f1_scores,
    learning_rate_at,
    make_split,
    train_node_classifier,
)

CONFIG_DIR = Path(__file__).parents[2] / "configs"
PARSERS = (ModelArguments, NodeClassificationDataArguments, NodeTrainingArguments)


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("renode_gcn_*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_parse(path, tmp_path):
    config = load_run_config(path, [f"output_dir={tmp_path}", "renode=false"])
    assert config.pop("task") == "node_classification"
    model_args, data_args, training_args = parse_run_config(config, PARSERS)
    assert model_args.model_type == "renode_gcn" and not data_args.renode and training_args.learning_rate == 0.0075
    ReNodeGCNConfig(**model_args.model_config)  # the model fields are valid
    with pytest.raises(ValueError, match="split='tinl' is not supported"):
        parse_run_config({**config, "split": "tinl"}, PARSERS)


def test_learning_rate_schedule_is_the_official_one():
    args = NodeTrainingArguments()
    assert [learning_rate_at(e, args) for e in (1, 20)] == [0.0075, 0.0075]
    assert learning_rate_at(21, args) == pytest.approx(0.0075 * 0.95)
    assert learning_rate_at(200, args) == pytest.approx(max(0.0075 * 0.95**180, 1e-4))
    assert learning_rate_at(200, args) == 1e-4


def synthetic_graph(num_nodes=90, num_classes=3, seed=0):
    """Homophilous graph with noisy one-hot features."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(num_nodes) % num_classes
    x = torch.nn.functional.one_hot(y, num_classes).float() + 1.5 * torch.randn(
        num_nodes, num_classes, generator=generator
    )
    pairs = torch.randint(0, num_nodes, (2, 600), generator=generator)
    pairs = pairs[:, (y[pairs[0]] == y[pairs[1]]) | (torch.rand(600, generator=generator) < 0.2)]
    pairs = pairs[:, pairs[0] != pairs[1]]
    return Data(x=x, edge_index=torch.cat([pairs, pairs.flip(0)], dim=1), y=y, label_names=["a", "b", "c"])


def test_training_keeps_the_best_validation_epoch_and_stops_early():
    data = synthetic_graph()
    train, valid, _ = make_split(data, NodeClassificationDataArguments(train_per_class=5, valid_per_class=10))
    args = NodeTrainingArguments(
        num_train_epochs=80, early_stopping_patience=4, early_stopping_min_epochs=8, learning_rate=0.05
    )
    model = ReNodeGCNForNodeClassification(ReNodeGCNConfig(num_features=3, num_labels=3, hidden_size=8))
    result = train_node_classifier(model, data, train, valid, renode_weights(data.edge_index, train, data.y), args)
    scores = [row["valid_weighted_f1"] for row in result["history"]]
    assert result["best_epoch"] == scores.index(max(scores)) + 1  # the first epoch reaching the maximum
    assert f1_scores(model, data, valid) == result["valid"]  # the best epoch's parameters were restored
    epochs = result["epochs_run"]
    assert epochs < args.num_train_epochs  # stopped early, exactly when the rule first fired
    assert epochs > args.early_stopping_min_epochs and epochs - result["best_epoch"] == args.early_stopping_patience + 1
    for epoch in range(args.early_stopping_min_epochs + 1, epochs):
        best_so_far = scores.index(max(scores[:epoch])) + 1
        assert epoch - best_so_far <= args.early_stopping_patience


DUMP = """Package: alpha
Section: libs
Description: Alpha library
Depends: beta (>= 1.0) | gamma, libc6:any, virtual-thing,
 delta [amd64]
Recommends: alpha

Package: beta
Section: contrib/devel
Description: Beta tools
Pre-Depends: gamma <!nocheck>

Package: alpha
Section: games
Description: a second stanza of alpha is ignored

Package: gamma
Section: libs
Description: Gamma

Package: delta
Description: no section
"""


def test_package_records_from_a_dump():
    assert first_alternatives("a (>= 1) | b, c:any, d [amd64], e <!nocheck>") == ["a", "c", "d", "e"]
    records = package_records(DUMP)
    assert [r["package"] for r in records] == ["alpha", "beta", "delta", "gamma"]
    by_name = {r["package"]: r for r in records}
    assert by_name["alpha"] == {
        "package": "alpha",
        "section": "libs",
        "description": "Alpha library",
        "depends": ["beta", "delta"],
    }  # unknown packages and itself are dropped
    assert by_name["beta"]["section"] == "devel" and by_name["beta"]["depends"] == ["gamma"]
    assert by_name["delta"]["section"] == "unknown"


def test_package_records_of_the_real_archive():
    if shutil.which("apt-cache") is None:
        pytest.skip("apt-cache is not installed")
    text = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, errors="replace").stdout
    stanzas = text.split("\n\n")[:3000]
    if len(stanzas) < 100:
        pytest.skip("no apt lists: run apt-get update")
    sample = "\n\n".join(stanzas)
    records = package_records(sample)
    names = set(re.findall(r"^Package: (\S+)$", sample, flags=re.M))
    assert {r["package"] for r in records} == names
    for record in records:
        assert set(record["depends"]) <= names and record["package"] not in record["depends"]
    game = next((r for r in records if r["package"] == "0ad"), None)
    if game is not None:  # Debian main: the game depends on its data package
        assert "0ad-data" in game["depends"] and game["section"] == "games"


@pytest.fixture(scope="module")
def cora_run(tmp_path_factory):
    from lanco_hf.data.planetoid import find_planetoid_raw

    try:
        find_planetoid_raw("Cora", download=False)
    except DataNotFoundError as error:
        pytest.skip(str(error))
    output = tmp_path_factory.mktemp("runs") / "renode-cora"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        main(
            [
                "train",
                str(CONFIG_DIR / "renode_gcn_cora.yaml"),
                f"output_dir={output}",
                "num_train_epochs=12",
                "early_stopping_min_epochs=4",
                "early_stopping_patience=3",
                "split_seed=2",
            ]
        )
    return output, stdout.getvalue()


@pytest.mark.slow
def test_train_job_on_cora(cora_run):
    output, stdout = cora_run
    results = json.loads((output / "results.json").read_text())
    assert list(results) == golden_results_keys("node_classification_renode")
    assert results["task"] == "node_classification" and results["reload_reproduces_logits"]
    assert results["split_sizes"] == {"train": 140, "valid": 210, "test": 2358}
    split = load_file(output / "node_split.safetensors")
    data_args = NodeClassificationDataArguments(split_seed=2)
    from lanco_hf.training.node_classification import load_graph

    data = load_graph(data_args)
    for saved, expected in zip(
        (split["train_mask"], split["valid_mask"], split["test_mask"]), make_split(data, data_args)
    ):
        assert torch.equal(saved, expected)
    torch.testing.assert_close(split["renode_weights"], renode_weights(data.edge_index, split["train_mask"], data.y))
    model = AutoModel.from_pretrained(output)
    assert f1_scores(model, data, split["test_mask"]) == results["test"]
    card = ModelCard.load(output / "README.md")
    metrics = {m["name"]: m["value"] for m in card.data.to_dict()["model-index"][0]["results"][0]["metrics"]}
    assert metrics == {
        "Weighted-F1": round(100 * results["test"]["weighted_f1"], 2),
        "Macro-F1": round(100 * results["test"]["macro_f1"], 2),
    }
    assert "ReNode weights in [0.5, 1.5]" in card.text and "Weighted-F1" in stdout
    assert str(card_from_run(output)) == (output / "README.md").read_text()
    assert json.loads((output / "config.json").read_text())["model_type"] == "renode_gcn"
    with pytest.raises(ValueError, match="--resume is not supported"):  # (resuming the finished run is a no-op)
        main(
            [
                "--debug",
                "train",
                str(CONFIG_DIR / "renode_gcn_cora.yaml"),
                f"output_dir={output}-unfinished",
                "--resume",
            ]
        )


def test_totoro_evaluation_reports_the_mean_conflict():
    from lanco_hf.evaluation.totoro import graph_totoro

    data = synthetic_graph()
    data_args = NodeClassificationDataArguments(train_per_class=5, valid_per_class=10)
    rows = graph_totoro(data, {seed: make_split(data, replace(data_args, split_seed=seed))[0] for seed in (0, 1)})
    for row, seed in zip(rows, (0, 1)):
        train = make_split(
            data, NodeClassificationDataArguments(train_per_class=5, valid_per_class=10, split_seed=seed)
        )[0]
        conflict = totoro(data.edge_index, train, data.y)
        assert row["totoro"] == pytest.approx(float(conflict[train].mean()), rel=1e-12)
        assert row["per_class"]["b"] == pytest.approx(float(conflict[train & (data.y == 1)].mean()), rel=1e-12)
        assert row["labelled_nodes"] == 15
