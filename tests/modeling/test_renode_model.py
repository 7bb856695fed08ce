"""ReNodeGCNForNodeClassification: logits against the GCN formula, the weighted loss, save / load, the
trust_remote_code round trip without lanco_hf, Trainer integration and input validation."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from transformers import AutoConfig, AutoModel, Trainer, TrainingArguments

from lanco_hf import ReNodeGCNConfig, ReNodeGCNForNodeClassification

NUM_NODES, NUM_FEATURES, NUM_LABELS = 12, 6, 3


def tiny_graph(seed=0):
    generator = torch.Generator().manual_seed(seed)
    edges = torch.randint(0, NUM_NODES, (2, 20), generator=generator)
    edges = edges[:, edges[0] != edges[1]]
    edge_index = torch.unique(torch.cat([edges, edges.flip(0)], dim=1), dim=1)
    x = torch.randn(NUM_NODES, NUM_FEATURES, generator=generator)
    labels = torch.arange(NUM_NODES) % NUM_LABELS
    train_mask = torch.zeros(NUM_NODES, dtype=torch.bool)
    train_mask[:7] = True
    weights = torch.rand(NUM_NODES, generator=generator) + 0.5
    return x, edge_index, labels, train_mask, weights


def tiny_model(**overrides):
    config = ReNodeGCNConfig(
        **{"num_features": NUM_FEATURES, "num_labels": NUM_LABELS, "hidden_size": 8, "dropout": 0.0, **overrides}
    )
    return ReNodeGCNForNodeClassification(config).eval()


def test_auto_classes_resolve():
    config = AutoConfig.for_model("renode_gcn", num_features=5, num_labels=4, gnn_type="sage")
    assert isinstance(config, ReNodeGCNConfig) and config.hidden_size == 32 and config.dropout == 0.5
    assert type(AutoModel.from_config(config)) is ReNodeGCNForNodeClassification


def test_gcn_logits_equal_the_gcn_formula():
    model = tiny_model(num_layers=2)
    x, edge_index, *_ = tiny_graph()
    adjacency = torch.eye(NUM_NODES)
    adjacency[edge_index[0], edge_index[1]] = 1.0
    scale = adjacency.sum(dim=1).rsqrt()
    propagation = scale[:, None] * adjacency * scale[None, :]  # D^-1/2 (A + I) D^-1/2
    first, second = model.convs
    hidden = torch.relu(propagation @ x @ first.lin.weight.T + first.bias)
    expected = propagation @ hidden @ second.lin.weight.T + second.bias
    torch.testing.assert_close(model(x, edge_index).logits, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss_type", ["ce", "re-weight"])
def test_forward_loss_is_the_weighted_mean_over_the_train_mask(loss_type):
    model = tiny_model(loss_type=loss_type)
    x, edge_index, labels, train_mask, weights = tiny_graph()
    output = model(x, edge_index, labels=labels, train_mask=train_mask, node_weights=weights)
    gold = labels[train_mask]
    counts = torch.bincount(gold, minlength=NUM_LABELS).float()
    class_weight = counts.mean() / counts if loss_type == "re-weight" else torch.ones(NUM_LABELS)
    per_node = -output.logits[train_mask].log_softmax(dim=1).gather(1, gold[:, None]).squeeze(1) * class_weight[gold]
    expected = (weights[train_mask] * per_node).sum() / train_mask.sum()
    torch.testing.assert_close(output.loss, expected)
    unweighted = model(x, edge_index, labels=labels, train_mask=train_mask).loss
    torch.testing.assert_close(unweighted, per_node.mean())
    ignored = torch.where(train_mask, labels, -100)  # without a mask, labels of -100 are left out
    torch.testing.assert_close(model(x, edge_index, labels=ignored, node_weights=weights).loss, expected)


@pytest.mark.parametrize(
    "options",
    [{"gnn_type": "gcn"}, {"gnn_type": "gat", "gat_heads": 2, "num_layers": 3}, {"gnn_type": "sage", "num_layers": 1}],
    ids=["gcn", "gat-3", "sage-1"],
)
def test_save_load_round_trip(options, tmp_path):
    model = tiny_model(**options)
    x, edge_index, labels, train_mask, weights = tiny_graph()
    before = model(x, edge_index, labels=labels, train_mask=train_mask, node_weights=weights)
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".py")) == [
        "config.json",
        "model.safetensors",
    ]
    reloaded, info = AutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert type(reloaded) is ReNodeGCNForNodeClassification and reloaded.config.gnn_type == options["gnn_type"]
    assert not any(info[key] for key in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    after = reloaded.eval()(x, edge_index, labels=labels, train_mask=train_mask, node_weights=weights)
    torch.testing.assert_close(after.logits, before.logits, rtol=0, atol=0)
    torch.testing.assert_close(after.loss, before.loss, rtol=0, atol=0)


def test_hidden_states_and_tuple_output():
    model = tiny_model(num_layers=3)
    x, edge_index, labels, *_ = tiny_graph()
    output = model(x, edge_index, output_hidden_states=True)
    assert [tuple(h.shape) for h in output.hidden_states] == [(NUM_NODES, NUM_FEATURES), (NUM_NODES, 8), (NUM_NODES, 8)]
    loss, logits = model(x, edge_index, labels=labels, return_dict=False)
    torch.testing.assert_close(logits, output.logits)


LOADER = textwrap.dedent(
    """
    import json, sys
    sys.modules["lanco_hf"] = None  # any `import lanco_hf` now raises ImportError
    import torch
    from transformers import AutoConfig, AutoModel

    folder, inputs = sys.argv[1], json.load(open(sys.argv[2]))
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    output = model(torch.tensor(inputs["x"]), torch.tensor(inputs["edge_index"]), labels=torch.tensor(inputs["labels"]),
                   train_mask=torch.tensor(inputs["train_mask"]), node_weights=torch.tensor(inputs["weights"]))
    print(json.dumps({"config_module": type(config).__module__, "model_module": type(model).__module__,
                      "model_class": type(model).__name__, "gnn_type": config.gnn_type,
                      "logits": output.logits.tolist(), "loss": output.loss.item()}))
    """
)


@pytest.mark.slow
def test_trust_remote_code_round_trip_without_lanco_hf(tmp_path):
    model = tiny_model(gnn_type="gat", gat_heads=2, loss_type="focal")
    model.save_pretrained(tmp_path / "model")
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["auto_map"] == {
        "AutoConfig": "configuration_renode_gcn.ReNodeGCNConfig",
        "AutoModel": "modeling_renode_gcn.ReNodeGCNForNodeClassification",
    }
    x, edge_index, labels, train_mask, weights = tiny_graph()
    inputs = {
        "x": x.tolist(),
        "edge_index": edge_index.tolist(),
        "labels": labels.tolist(),
        "train_mask": train_mask.tolist(),
        "weights": weights.tolist(),
    }
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    (tmp_path / "load.py").write_text(LOADER)
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "load.py", str(tmp_path / "model"), "inputs.json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["model_module"].startswith("transformers_modules") and loaded["config_module"].startswith(
        "transformers_modules"
    )
    assert (loaded["model_class"], loaded["gnn_type"]) == ("ReNodeGCNForNodeClassification", "gat")
    expected = model(x, edge_index, labels=labels, train_mask=train_mask, node_weights=weights)
    torch.testing.assert_close(torch.tensor(loaded["logits"]), expected.logits, rtol=0, atol=1e-6)
    assert loaded["loss"] == pytest.approx(expected.loss.item(), rel=1e-6)


def test_trainer_steps_equal_manual_adam_steps(tmp_path):
    """Full-batch training through the Trainer (gradient accumulation 2 over the same graph) must equal plain Adam on
    the model's loss: the loss is not rescaled (``accepts_loss_kwargs = False``)."""
    x, edge_index, labels, train_mask, weights = tiny_graph()
    batch = {"x": x, "edge_index": edge_index, "labels": labels, "train_mask": train_mask, "node_weights": weights}
    model = tiny_model().train()
    manual = tiny_model().train()
    manual.load_state_dict(model.state_dict())
    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=3,
        gradient_accumulation_steps=2,
        learning_rate=0.01,
        lr_scheduler_type="constant",
        weight_decay=0.0,
        max_grad_norm=0.0,
        use_cpu=True,
        per_device_train_batch_size=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_pin_memory=False,
        logging_strategy="no",
    )
    Trainer(model=model, args=args, train_dataset=[batch] * 8, data_collator=lambda items: items[0]).train()
    optimizer = torch.optim.AdamW(manual.parameters(), lr=0.01, weight_decay=0.0)
    for _ in range(3):
        optimizer.zero_grad()
        manual(**batch).loss.backward()
        optimizer.step()
    for (name, trained), expected in zip(model.named_parameters(), manual.parameters()):
        torch.testing.assert_close(trained, expected, rtol=1e-5, atol=1e-6, msg=name)


def test_bad_inputs_and_configs_raise():
    model = tiny_model()
    x, edge_index, labels, train_mask, weights = tiny_graph()
    with pytest.raises(ValueError, match=r"edge_index holds node ids 0..12; allowed: \[0, 12\)"):
        model(x, torch.cat([edge_index, torch.tensor([[0], [12]])], dim=1))
    with pytest.raises(ValueError, match=r"x has shape \(12, 5\); expected \(num_nodes, 6\)"):
        model(x[:, :5], edge_index)
    with pytest.raises(ValueError, match="train_mask selects no node"):
        model(x, edge_index, labels=labels, train_mask=torch.zeros(NUM_NODES, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        model(x, edge_index, labels=labels + 1, train_mask=torch.ones(NUM_NODES, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"node_weights has shape \(7,\)"):
        model(x, edge_index, labels=labels, train_mask=train_mask, node_weights=weights[train_mask])
    with pytest.raises(ValueError, match="node_weights must be non-negative"):
        model(x, edge_index, labels=labels, train_mask=train_mask, node_weights=-weights)
    with pytest.raises(ValueError, match=r"classes \[2\] have no labelled node"):
        tiny_model(loss_type="re-weight")(x, edge_index, labels=labels, train_mask=labels < 2)
    for field, value, message in [
        ("gnn_type", "gin", r"gnn_type='gin' is not supported; allowed values: 'gcn', 'gat', 'sage'"),
        ("dropout", 1.0, r"dropout=1.0 is out of range; allowed: \[0.0, 1.0\)"),
        ("num_layers", 0, r"num_layers=0 is out of range"),
        ("loss_type", "ldam", r"loss_type='ldam' is not supported"),
        ("cb_beta", 1.0, r"cb_beta=1.0 is out of range"),
    ]:
        with pytest.raises(ValueError, match=message):
            ReNodeGCNConfig(**{field: value})
    with pytest.raises(ValueError, match="hidden_size=30 must be divisible by gat_heads=4"):
        ReNodeGCNConfig(gnn_type="gat", hidden_size=30)
    with pytest.raises(ValueError, match="num_labels=1 is out of range"):
        ReNodeGCNConfig(num_labels=1)
