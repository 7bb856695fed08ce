"""The node-classification job (ReNode, Chen et al. NeurIPS 2021): graph, split, ReNode weights, full-batch
training with the official schedule and early stopping, Weighted-F1 / Macro-F1 on the test nodes, then the
checkpoint + split + model card, and a reload through ``AutoModel``.

Full-batch GNN training is one optimiser step per epoch on the whole graph with a validation pass after each,
so it runs as a plain loop (the official one) rather than through ``Trainer``.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file
from tqdm.auto import tqdm
from transformers import AutoConfig, AutoModel, set_seed
from transformers.integrations.integration_utils import default_logdir

from ..data.node_graphs import NODE_DATASETS as DATASETS
from ..data.node_splits import NODE_SPLITS as SPLITS
from ..graph.totoro import totoro
from ..hub.methods import methods_of
from ..hub.model_card import CardContent, CardSpec
from ..losses.renode import renode_weights
from ..modeling.validation import check_choice, check_float, check_int
from .arguments import ModelArguments
from .nan_guard import check_finite_loss
from .run import finish_run, run_summary
from .tasks import register_task

logger = logging.getLogger(__name__)


@dataclass
class NodeClassificationDataArguments:
    dataset: str = field(
        default="cora",
        metadata={
            "help": "'cora' / 'citeseer' / 'pubmed' (Planetoid raw files, see lanco_hf.data.planetoid) or "
            "'debian_packages' (apt-cache dumpavail)."
        },
    )
    split: str = field(
        default="topology",
        metadata={
            "help": "'topology': train_per_class per class (the paper's TINL setting); 'step': step "
            "quantity imbalance (TINL + QINL) with labeling_ratio, imb_ratio and head_classes."
        },
    )
    split_seed: int = field(default=0, metadata={"help": "Seed of the node shuffle (the paper uses 0..4)."})
    train_per_class: int = 20
    valid_per_class: int = 30
    labeling_ratio: float = 0.01
    imb_ratio: float = 1.0
    head_classes: list[int] = field(default_factory=lambda: [0, 1, 2])
    renode: bool = field(default=True, metadata={"help": "Multiply the per-node loss by ReNode weights."})
    renode_w_min: float = 0.5
    renode_w_max: float = 1.5
    pagerank_alpha: float = field(default=0.15, metadata={"help": "Teleport probability of the personalized PageRank."})
    pagerank_tol: float = 1e-8
    debian_min_class_size: int = field(
        default=100, metadata={"help": "Debian sections with fewer packages are left unlabelled."}
    )
    debian_num_features: int = field(default=1000, metadata={"help": "Bag-of-words size of the Debian descriptions."})

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("split", self.split, SPLITS)
        check_float("renode_w_min", self.renode_w_min, 0.0)
        check_float("renode_w_max", self.renode_w_max, self.renode_w_min)  # 0 <= renode_w_min <= renode_w_max


REPORT_TO = ("tensorboard", "none")


@dataclass
class NodeTrainingArguments:
    output_dir: str = field(
        default="runs/renode_gcn", metadata={"help": "Where the model, split and card are written."}
    )
    seed: int = field(default=0, metadata={"help": "Initialisation seed (the paper runs 0..2 per split)."})
    learning_rate: float = 0.0075
    weight_decay: float = 0.0
    num_train_epochs: int = 200
    lr_decay_epoch: int = field(default=20, metadata={"help": "After this epoch the learning rate decays every epoch."})
    lr_decay_rate: float = 0.95
    min_learning_rate: float = 1e-4
    early_stopping_patience: int = field(
        default=20, metadata={"help": "Stop when validation Weighted-F1 has not improved for this many epochs..."}
    )
    early_stopping_min_epochs: int = field(default=40, metadata={"help": "... once this many epochs have run."})
    use_cpu: bool = field(default=False, metadata={"help": "Train on the CPU even when a GPU is available."})
    disable_tqdm: bool = field(default=False, metadata={"help": "Hide the progress bar of the training loop."})
    report_to: str = field(
        default="none",
        metadata={
            "help": "'tensorboard' logs loss, learning rate and validation F1 to output_dir/runs/ every epoch; "
            "a run config without report_to gets 'tensorboard' where TensorBoard is installed."
        },
    )

    def __post_init__(self):
        if self.report_to not in REPORT_TO:
            raise ValueError(f"report_to={self.report_to!r} is not supported; allowed values: {', '.join(REPORT_TO)}")
        for name in ("num_train_epochs", "lr_decay_epoch", "early_stopping_patience", "early_stopping_min_epochs"):
            check_int(name, getattr(self, name), int(name == "num_train_epochs"))
        check_float("learning_rate", self.learning_rate, 0.0, min_inclusive=False)
        check_float("lr_decay_rate", self.lr_decay_rate, 0.0, 1.0, min_inclusive=False)
        check_float("min_learning_rate", self.min_learning_rate, 0.0)
        check_float("weight_decay", self.weight_decay, 0.0)


def load_graph(data_args: NodeClassificationDataArguments):
    """The graph as a ``torch_geometric.data.Data`` with ``label_names`` and a ``description``."""
    from ..data.node_graphs import load_node_graph

    return load_node_graph(data_args.dataset, data_args.debian_min_class_size, data_args.debian_num_features)


def make_split(data, data_args: NodeClassificationDataArguments) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``(train_mask, valid_mask, test_mask)`` of the run's split protocol."""
    from ..data.node_splits import node_split

    return node_split(
        data.y,
        data_args.split,
        train_per_class=data_args.train_per_class,
        valid_per_class=data_args.valid_per_class,
        labeling_ratio=data_args.labeling_ratio,
        imb_ratio=data_args.imb_ratio,
        head_classes=data_args.head_classes,
        seed=data_args.split_seed,
    )


def compute_renode_weights(
    data, train_mask: torch.Tensor, data_args: NodeClassificationDataArguments
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Totoro conflict and the ReNode weights of the labelled nodes."""
    conflict = totoro(
        data.edge_index,
        train_mask,
        data.y,
        num_classes=len(data.label_names),
        alpha=data_args.pagerank_alpha,
        tol=data_args.pagerank_tol,
    )
    weights = renode_weights(
        data.edge_index,
        train_mask,
        data.y,
        w_min=data_args.renode_w_min,
        w_max=data_args.renode_w_max,
        num_classes=len(data.label_names),
        conflict=conflict,
    )
    return conflict, weights


def f1_scores(model, data, mask: torch.Tensor) -> dict[str, float]:
    """Weighted-F1 and Macro-F1 (scikit-learn, as the official code) of the model's predictions on ``mask``."""
    from sklearn.metrics import f1_score

    model.eval()
    with torch.no_grad():
        predictions = model(data.x, data.edge_index).logits.argmax(dim=-1)
    gold, predicted = data.y[mask].cpu().numpy(), predictions[mask].cpu().numpy()
    return {
        "weighted_f1": float(f1_score(gold, predicted, average="weighted")),
        "macro_f1": float(f1_score(gold, predicted, average="macro")),
    }


def learning_rate_at(epoch: int, args: NodeTrainingArguments) -> float:
    """The official schedule: constant, then ``lr * rate^(epoch - decay_epoch)`` after ``decay_epoch``, floored."""
    if epoch <= args.lr_decay_epoch:
        return args.learning_rate
    return max(args.learning_rate * args.lr_decay_rate ** (epoch - args.lr_decay_epoch), args.min_learning_rate)


def train_node_classifier(
    model, data, train_mask, valid_mask, node_weights, args: NodeTrainingArguments, log_dir: str | Path | None = None
) -> dict:
    """Full-batch Adam training; keeps the parameters of the epoch with the best validation Weighted-F1 (strictly
    better than every earlier one) and stops once ``early_stopping_min_epochs`` have run and the best is more than
    ``early_stopping_patience`` epochs old. Returns the best epoch, its validation scores and the history (loss,
    learning rate and validation scores per epoch). Shows a progress bar unless ``args.disable_tqdm``, and writes
    each epoch's numbers as TensorBoard scalars to ``log_dir`` when given."""
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    best = {"epoch": 0, "valid": {"weighted_f1": -1.0}, "state": None}
    history = []
    writer = None
    if log_dir is not None:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=str(log_dir))
    epochs = tqdm(range(1, args.num_train_epochs + 1), desc="Training", unit="epoch", disable=args.disable_tqdm)
    try:
        for epoch in epochs:
            learning_rate = learning_rate_at(epoch, args)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate
            model.train()
            optimizer.zero_grad()
            loss = model(data.x, data.edge_index, labels=data.y, train_mask=train_mask, node_weights=node_weights).loss
            check_finite_loss(loss, epoch)  # one optimiser step per epoch: the step is the epoch
            loss.backward()
            optimizer.step()
            valid = f1_scores(model, data, valid_mask)
            entry = {"epoch": epoch, "loss": loss.item(), "learning_rate": learning_rate}
            history.append({**entry, **{f"valid_{k}": v for k, v in valid.items()}})
            epochs.set_postfix(loss=f"{loss.item():.4f}", valid_weighted_f1=f"{valid['weighted_f1']:.4f}")
            if writer is not None:
                writer.add_scalar("train/loss", loss.item(), epoch)
                writer.add_scalar("train/learning_rate", learning_rate, epoch)
                for name, value in valid.items():
                    writer.add_scalar(f"eval/{name}", value, epoch)
            if valid["weighted_f1"] > best["valid"]["weighted_f1"]:
                best = {"epoch": epoch, "valid": valid, "state": copy.deepcopy(model.state_dict())}
            if epoch > args.early_stopping_min_epochs and epoch - best["epoch"] > args.early_stopping_patience:
                break
    finally:
        epochs.close()
        if writer is not None:
            writer.close()
    model.load_state_dict(best["state"])
    return {"best_epoch": best["epoch"], "epochs_run": len(history), "valid": best["valid"], "history": history}


def build_model(model_args: ModelArguments, data):
    if model_args.model_name_or_path:
        return AutoModel.from_pretrained(model_args.model_name_or_path, **model_args.model_config)
    id2label = dict(enumerate(data.label_names))
    config = AutoConfig.for_model(
        model_args.model_type, num_features=data.num_features, id2label=id2label, **model_args.model_config
    )
    return AutoModel.from_config(config)


def node_classification_card(config, results: dict) -> CardContent:
    """The node-classification card: test Weighted-F1 / Macro-F1 (``model-index`` in percent), the split, and the
    ReNode settings (``results["card"]["renode"]``: ``w_min``, ``w_max``, ``alpha``, ``totoro``, ``time_s``, or
    ``None`` for a model trained without ReNode weights)."""
    renode = results["card"]["renode"]
    return CardContent(
        metrics=results["test"],
        methods=methods_of(config),
        tags=["renode"] if renode else [],
        variables={
            "description": (
                f"A {config.num_layers}-layer {config.gnn_type.upper()} node classifier ({config.model_type}, "
                f"{config.num_labels} classes), trained {'with' if renode else 'without'} ReNode weights."
            ),
            "from_scratch": True,
            "scores": results["test"],
        },
    )


NODE_CLASSIFICATION_CARD = CardSpec(
    template="node_classification.md",
    task_type="node-classification",
    task_name="Node classification",
    pipeline_tag="graph-ml",
    tags=("custom_code", "node-classification", "torch_geometric"),
    metrics=("f1",),
    metric_labels={"weighted_f1": "Weighted-F1", "macro_f1": "Macro-F1"},
    metric_value=lambda value: round(100 * value, 2),
    metric_type=lambda metric: "f1",
    metric_config=lambda metric: metric.split("_")[0],
    content=node_classification_card,
    model_types=("renode_gcn",),
)


@register_task("node_classification", card=NODE_CLASSIFICATION_CARD)
def run_node_classification(
    model_args: ModelArguments,
    data_args: NodeClassificationDataArguments,
    training_args: NodeTrainingArguments,
    resume: bool = False,
) -> dict:
    """Train, evaluate, save and reload; returns the results written to ``output_dir/results.json``."""
    if resume:
        raise ValueError(
            "--resume is not supported by the node_classification task (full-batch runs take seconds to "
            "minutes and keep no checkpoints)"
        )
    started = time.monotonic()
    output_dir = Path(training_args.output_dir)
    device = torch.device("cpu" if training_args.use_cpu or not torch.cuda.is_available() else "cuda")
    data = load_graph(data_args).to(device)
    train_mask, valid_mask, test_mask = (mask.to(device) for mask in make_split(data, data_args))
    weights, conflict, weight_seconds = None, None, None
    if data_args.renode:
        weight_start = time.monotonic()
        conflict, weights = compute_renode_weights(data, train_mask, data_args)
        weight_seconds = time.monotonic() - weight_start
    set_seed(training_args.seed)
    model = build_model(model_args, data).to(device)
    train_start = time.monotonic()
    log_dir = output_dir / default_logdir() if training_args.report_to == "tensorboard" else None
    training = train_node_classifier(model, data, train_mask, valid_mask, weights, training_args, log_dir)
    train_seconds = time.monotonic() - train_start
    test = f1_scores(model, data, test_mask)

    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    split = {"train_mask": train_mask, "valid_mask": valid_mask, "test_mask": test_mask}
    if weights is not None:
        split["renode_weights"] = weights
    save_file({name: tensor.cpu() for name, tensor in split.items()}, output_dir / "node_split.safetensors")
    with torch.no_grad():
        logits = model.eval()(data.x, data.edge_index).logits
    reloaded = AutoModel.from_pretrained(output_dir).to(device).eval()
    with torch.no_grad():
        reloaded_logits = reloaded(data.x, data.edge_index).logits

    results = {
        "task": "node_classification",
        "model_type": model.config.model_type,
        "num_parameters": model.num_parameters(),
        "dataset": data_args.dataset,
        "data": asdict(data_args),
        "split_sizes": {"train": int(train_mask.sum()), "valid": int(valid_mask.sum()), "test": int(test_mask.sum())},
        "test": test,
        "valid": training["valid"],
        "best_epoch": training["best_epoch"],
        "epochs_run": training["epochs_run"],
        "train_runtime_s": train_seconds,
        "renode_weight_time_s": weight_seconds,
        "totoro": float(conflict[train_mask].mean()) if conflict is not None else None,
        "loss": model.renode_loss.to_dict(),
        "reload_reproduces_logits": bool(torch.allclose(logits, reloaded_logits, rtol=1e-5, atol=1e-6)),
    }
    card = {
        "dataset_name": data_args.dataset,
        "dataset_description": data.description,
        "split_description": _describe_split(data_args, results["split_sizes"]),
        "training_summary": _training_summary(training_args, results),
        "renode": _renode_summary(data_args, results),
    }
    (output_dir / "training_history.json").write_text(json.dumps(training["history"]) + "\n")
    report = [
        f"\nTest ({results['split_sizes']['test']} nodes): Weighted-F1 {100 * test['weighted_f1']:.2f}, "
        f"Macro-F1 {100 * test['macro_f1']:.2f} (best epoch {training['best_epoch']}, "
        f"ReNode {'on' if data_args.renode else 'off'})",
        f"Saved to {output_dir} (weights, node_split.safetensors, README.md model card, results.json); reloaded with "
        f"AutoModel.from_pretrained as {type(reloaded).__name__}: logits "
        f"{'reproduced' if results['reload_reproduces_logits'] else 'DIFFER'}",
    ]
    return finish_run(results, output_dir, started, card=card, report=report)


def _describe_split(data_args: NodeClassificationDataArguments, sizes: dict) -> str:
    if data_args.split == "topology":
        protocol = f"{data_args.train_per_class} training and {data_args.valid_per_class} validation nodes per class"
    else:
        protocol = (
            f"step imbalance: labelling ratio {data_args.labeling_ratio}, imbalance ratio {data_args.imb_ratio}, "
            f"head classes {data_args.head_classes}, {data_args.valid_per_class} validation nodes per class"
        )
    return (
        f"{protocol}, split seed {data_args.split_seed} ({sizes['train']} train / {sizes['valid']} validation / "
        f"{sizes['test']} test nodes)"
    )


def _renode_summary(data_args: NodeClassificationDataArguments, results: dict) -> dict | None:
    if not data_args.renode:
        return None
    return {
        "w_min": data_args.renode_w_min,
        "w_max": data_args.renode_w_max,
        "alpha": data_args.pagerank_alpha,
        "totoro": results["totoro"],
        "time_s": results["renode_weight_time_s"],
    }


def _training_summary(args: NodeTrainingArguments, results: dict) -> dict:
    return {
        "optimizer": f"Adam, lr {args.learning_rate}, weight decay {args.weight_decay}",
        "schedule": (
            f"x{args.lr_decay_rate} per epoch after epoch {args.lr_decay_epoch}, floor {args.min_learning_rate}"
        ),
        "epochs": f"{results['epochs_run']} of {args.num_train_epochs} (early stopping: patience "
        f"{args.early_stopping_patience} after {args.early_stopping_min_epochs}); best epoch {results['best_epoch']}",
        "per-node loss": results["loss"]["loss_type"],
        **run_summary(args.seed, results["train_runtime_s"], on_gpu=torch.cuda.is_available() and not args.use_cpu),
    }
