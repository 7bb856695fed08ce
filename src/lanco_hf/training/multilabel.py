"""The multi-label text-classification job (label graph + soft training, Zhao et al. NAACL 2019): data, tokenizer,
a `LabelGraphForSequenceClassification` trained from scratch or on a pretrained encoder with the plain ``Trainer``,
the decision threshold tuned on the validation split, one-error / Hamming / macro-F1 / micro-F1 on the test split,
then weights + tokenizer + model card, a reload through ``AutoModelForSequenceClassification`` and the
``text-classification`` pipeline."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    TrainingArguments,
    pipeline,
    set_seed,
)
from transformers.trainer_pt_utils import get_parameter_names

from ..data.debtags import TAGS_PER_FACET, TOPICAL_FACETS, debtags_dataset
from ..data.pretrained import resolve_pretrained
from ..data.tokenizer import cached_bpe_tokenizer
from ..evaluation.multilabel import multilabel_metrics
from ..hub.methods import methods_of
from ..hub.model_card import CardContent, CardSpec
from ..metrics import load as load_metric
from ..metrics import multilabel_compute_metrics
from ..modeling import LabelGraphForSequenceClassification, cooccurrence_graph
from ..modeling.modeling_label_graph import COOCCURRENCE_NORMALIZATIONS
from ..modeling.validation import check_choice, check_float, check_int
from .arguments import ModelArguments
from .hub_push import LancoTrainer
from .run import base_model_of, batch_size, epochs_summary, finish_run, optimizer_summary, run_summary, schedule_summary
from .safe_training import train_safely
from .tasks import register_task

GRAPH_INITS = ("identity", "cooccurrence", "learned")
THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.05), 2)  # the grid the validation split picks the threshold from
RELOAD_CHECK_SIZE = 16


@dataclass
class MultilabelDataArguments:
    dataset: str = field(
        default="debtags",
        metadata={
            "help": "'debtags' (offline: Debian descriptions + debtags, lanco_hf.data.debtags) or any dataset "
            "`datasets.load_dataset` opens with train / validation / test splits."
        },
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Configuration name of a Hub dataset."})
    text_column: str = "text"
    label_column: str = field(
        default="tags",
        metadata={"help": "Column holding each example's labels: a list of ClassLabel ids or of label names."},
    )
    facets: list[str] = field(
        default_factory=lambda: list(TOPICAL_FACETS), metadata={"help": "debtags: the facets the labels come from."}
    )
    tags_per_facet: int = field(
        default=TAGS_PER_FACET, metadata={"help": "debtags: most frequent tags kept per facet."}
    )
    max_length: int = field(default=128, metadata={"help": "Texts are cut at this many tokens."})
    tokenizer_vocab_size: int = field(
        default=8000, metadata={"help": "Vocabulary of the BPE trained on the training texts (encoder from scratch)."}
    )
    max_train_samples: int | None = None
    max_validation_samples: int | None = field(
        default=None, metadata={"help": "Cut the validation split (threshold tuning) to its first N texts."}
    )
    max_test_samples: int | None = None
    graph_init: str = field(
        default="identity",
        metadata={
            "help": "'identity' (the paper), 'cooccurrence' (the training labels' co-occurrence graph, "
            "normalised by cooccurrence_normalization) or 'learned' (the G another run learned, read from "
            "label_graph_file). Without use_label_graph this is the fixed graph of the soft targets."
        },
    )
    cooccurrence_normalization: str = field(
        default="conditional",
        metadata={
            "help": "graph_init='cooccurrence': 'conditional' (G_ij = P(j | i), rows divided by the label counts; "
            "gold labels keep a target of 1) or 'column' (column-stochastic, what "
            "label_graph_parameterization='column_stochastic' takes)."
        },
    )
    label_graph_file: str | None = field(
        default=None,
        metadata={"help": "graph_init='learned': a run's results.json (its 'label_graph') or a JSON m x m matrix."},
    )
    head_learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Learning rate of the classifier and the label graph (no weight decay on the graph); "
            "default: learning_rate for every parameter."
        },
    )
    tune_threshold: bool = field(
        default=True, metadata={"help": "Pick the decision threshold maximising micro-F1 on the validation split."}
    )
    num_examples_to_show: int = 3

    def __post_init__(self):
        for name in ("tags_per_facet", "max_length", "tokenizer_vocab_size", "num_examples_to_show"):
            check_int(name, getattr(self, name), 1)
        for name in ("max_train_samples", "max_validation_samples", "max_test_samples"):
            check_int(name, getattr(self, name), 1, allow_none=True)
        check_choice("graph_init", self.graph_init, GRAPH_INITS)
        check_choice("cooccurrence_normalization", self.cooccurrence_normalization, COOCCURRENCE_NORMALIZATIONS)
        if (self.graph_init == "learned") != (self.label_graph_file is not None):
            raise ValueError(
                f"label_graph_file={self.label_graph_file!r} with graph_init={self.graph_init!r}: "
                "graph_init='learned' needs label_graph_file, and label_graph_file needs graph_init='learned'"
            )
        check_float("head_learning_rate", self.head_learning_rate, 0, min_inclusive=False, allow_none=True)


def load_multilabel_data(data_args: MultilabelDataArguments):
    """A ``DatasetDict`` (train / validation / test) with the text column and a ``labels`` multi-hot column, and
    the label names (from the label column's ``ClassLabel``, or the sorted names found in the training split)."""
    if data_args.dataset == "debtags":
        dataset = debtags_dataset(data_args.facets, data_args.tags_per_facet)
    else:
        from datasets import load_dataset

        dataset = load_dataset(data_args.dataset, data_args.dataset_config)
    for split in ("train", "validation", "test"):
        if split not in dataset:
            raise ValueError(f"dataset {data_args.dataset!r} has no {split!r} split; it has {list(dataset)}")
    for column in (data_args.text_column, data_args.label_column):
        if column not in dataset["train"].column_names:
            raise ValueError(
                f"dataset {data_args.dataset!r} has no column {column!r}; it has {dataset['train'].column_names}"
            )
    label_feature = getattr(dataset["train"].features[data_args.label_column], "feature", None)
    if hasattr(label_feature, "names"):
        names = list(label_feature.names)
        index = {i: i for i in range(len(names))}
    else:
        names = sorted({name for row in dataset["train"][data_args.label_column] for name in row})
        index = {name: i for i, name in enumerate(names)}

    def multi_hot(row):
        labels = [0.0] * len(names)
        for label in row[data_args.label_column]:
            if label in index:  # a label never seen in training is dropped
                labels[index[label]] = 1.0
        return {"labels": labels}

    kept = (data_args.text_column, data_args.label_column, "labels")
    extra = [c for c in dataset["train"].column_names if c not in kept]
    return dataset.map(multi_hot, remove_columns=extra, desc="Multi-hot labels"), names


def build_tokenizer(model_args: ModelArguments, data_args: MultilabelDataArguments, train_split):
    if model_args.model_name_or_path:
        return AutoTokenizer.from_pretrained(resolve_pretrained(model_args.model_name_or_path))
    texts = list(train_split[data_args.text_column])
    return cached_bpe_tokenizer(
        texts, data_args.tokenizer_vocab_size, f"multilabel-{data_args.dataset.replace('/', '_')}"
    )


def read_label_graph(path: str | Path) -> torch.Tensor:
    """The label graph stored in ``path``: a run's ``results.json`` (its ``label_graph``) or a JSON m x m matrix."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"label_graph_file={str(path)!r} does not exist; allowed: a run's results.json or a JSON matrix"
        )
    content = json.loads(path.read_text())
    graph = content.get("label_graph") if isinstance(content, dict) else content
    if graph is None:
        raise ValueError(
            f"label_graph_file={str(path)!r} has no 'label_graph'; allowed: a run's results.json or a JSON matrix"
        )
    return torch.tensor(graph, dtype=torch.float32)


def initial_graph(data_args: MultilabelDataArguments, train_labels) -> torch.Tensor | None:
    """The graph ``graph_init`` asks for (``None`` for the identity the model starts at)."""
    if data_args.graph_init == "cooccurrence":
        return cooccurrence_graph(torch.tensor(train_labels), data_args.cooccurrence_normalization)
    if data_args.graph_init == "learned":
        return read_label_graph(data_args.label_graph_file)
    return None


def build_model(
    model_args: ModelArguments, data_args: MultilabelDataArguments, tokenizer, names: list[str], train_labels
):
    """A label-graph classifier: a saved one, a new one on a pretrained encoder, or a new one from scratch sized to
    the tokenizer; ``graph_init`` then sets its graph (the training labels' co-occurrence, or a learned one)."""
    id2label = dict(enumerate(names))
    if model_args.model_name_or_path:
        path = resolve_pretrained(model_args.model_name_or_path)
        if AutoConfig.from_pretrained(path).model_type == "label_graph":
            model = AutoModelForSequenceClassification.from_pretrained(path, **model_args.model_config)
        else:
            model = LabelGraphForSequenceClassification.from_backbone(
                path, id2label=id2label, **model_args.model_config
            )
    else:
        if model_args.model_type != "label_graph":
            raise ValueError(
                f"model_type={model_args.model_type!r} is not supported by this task; allowed values: 'label_graph'"
            )
        model_config = dict(model_args.model_config)
        encoder = {
            "vocab_size": len(tokenizer),
            "pad_token_id": tokenizer.pad_token_id,
            **model_config.pop("encoder_config", {}),
        }
        config = AutoConfig.for_model("label_graph", id2label=id2label, encoder_config=encoder, **model_config)
        model = AutoModelForSequenceClassification.from_config(config)
    if model.config.id2label != id2label:
        raise ValueError(f"the model's labels {list(model.config.id2label.values())} differ from the dataset's {names}")
    if model.config.soft_training and not model.config.use_label_graph and data_args.graph_init == "identity":
        raise ValueError(
            "soft_training without use_label_graph needs graph_init='cooccurrence' or 'learned': with the "
            "identity graph the soft target equals the gold labels"
        )
    graph = initial_graph(data_args, train_labels)
    if graph is not None:
        model.set_label_graph(graph)
    if not model.config.use_label_graph:
        model.label_graph.weight.requires_grad_(False)  # only the soft target reads it: a fixed graph
    return model


def build_optimizer(model, training_args: TrainingArguments, head_learning_rate: float) -> torch.optim.AdamW:
    """AdamW with the encoder at ``learning_rate`` (weight decay except on biases and norms, as ``Trainer`` does) and
    the classifier and label graph at ``head_learning_rate`` (no weight decay on the graph)."""
    decay = set(get_parameter_names(model, [torch.nn.LayerNorm], ["bias", "layernorm", "rmsnorm"]))
    groups = {"encoder_decay": [], "encoder_no_decay": [], "classifier": [], "graph": []}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        if name.startswith("label_graph."):
            groups["graph"].append(parameter)
        elif name.startswith("classifier."):
            groups["classifier"].append(parameter)
        else:
            groups["encoder_decay" if name in decay else "encoder_no_decay"].append(parameter)
    weight_decay = training_args.weight_decay
    return torch.optim.AdamW(
        [
            {"params": groups["encoder_decay"], "weight_decay": weight_decay},
            {"params": groups["encoder_no_decay"], "weight_decay": 0.0},
            {"params": groups["classifier"], "weight_decay": weight_decay, "lr": head_learning_rate},
            {"params": groups["graph"], "weight_decay": 0.0, "lr": head_learning_rate},
        ],
        lr=training_args.learning_rate,
        betas=(training_args.adam_beta1, training_args.adam_beta2),
        eps=training_args.adam_epsilon,
    )


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold of ``THRESHOLDS`` with the highest micro-F1 (the lowest one on ties)."""
    micro = [multilabel_metrics(scores, labels, threshold)["micro_f1"] for threshold in THRESHOLDS]
    return float(THRESHOLDS[int(np.argmax(micro))])


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


METRIC_NAMES = {
    "one_error": "one-error",
    "hamming_loss": "Hamming loss",
    "macro_f1": "macro-F1",
    "micro_f1": "micro-F1",
    "coverage": "coverage",
    "ranking_loss": "ranking loss",
}


def describe_variant(config) -> str:
    """One line saying which parts of the method a label-graph config switches on."""
    parts = []
    if config.use_label_graph:
        form = " (column-stochastic)" if config.label_graph_parameterization == "column_stochastic" else ""
        parts.append(f"label graph{form} applied {config.graph_position.replace('_', ' ')}")
    if config.soft_training:
        parts.append(f"soft training (weight {config.soft_loss_weight})")
    if config.graph_regularization:
        parts.append(f"||G - I||^2 regulariser (weight {config.graph_regularization})")
    return " + ".join(parts) if parts else "plain multi-label classifier (binary cross-entropy), the baseline"


def text_classification_card(config, results: dict) -> CardContent:
    """The multi-label card: the six metrics of ``multilabel_metrics`` (fractions), the labels with their training
    counts, the variant of the method, examples (``text``, ``gold`` and ``predicted`` label lists)."""
    test, examples = results["test"], results["card"]["examples"]
    widget_texts = results["card"].get("widget_texts")
    scores = {key: value for key, value in test.items() if key != "size"}
    names = [config.id2label[i] for i in range(len(results["label_counts"]))]
    return CardContent(
        metrics={metric: value for metric, value in scores.items() if metric in METRIC_NAMES},
        methods=methods_of(config),
        card_data={"widget": [{"text": text} for text in widget_texts]} if widget_texts else {},
        variables={
            "description": f"A multi-label text classifier ({len(names)} labels, {config.model_type}).",
            "variant": describe_variant(config),
            "eval_size": test["size"],
            "threshold": config.threshold,
            "scores": scores,
            "labels": [{"name": name, "count": count} for name, count in zip(names, results["label_counts"])],
            "example_text": examples[0]["text"].splitlines()[0].replace('"', "'") if examples else "some text",
        },
    )


MULTILABEL_CARD = CardSpec(
    template="text_classification.md",
    task_type="text-classification",
    task_name="Multi-label text classification",
    pipeline_tag="text-classification",
    tags=("custom_code", "multi-label-classification"),
    metrics=("f1",),
    metric_labels=METRIC_NAMES,
    content=text_classification_card,
    model_types=("label_graph",),
)


@register_task("multilabel_classification", card=MULTILABEL_CARD)
def run_multilabel_classification(
    model_args: ModelArguments,
    data_args: MultilabelDataArguments,
    training_args: TrainingArguments,
    resume: bool = False,
) -> dict:
    """Train, tune the threshold, evaluate, save and reload; returns the results written to
    ``output_dir/results.json``."""
    started = time.monotonic()
    output_dir = Path(training_args.output_dir)
    dataset, names = load_multilabel_data(data_args)
    train, validation, test = (
        split if limit is None else split.select(range(min(limit, len(split))))
        for split, limit in (
            (dataset["train"], data_args.max_train_samples),
            (dataset["validation"], data_args.max_validation_samples),
            (dataset["test"], data_args.max_test_samples),
        )
    )
    tokenizer = build_tokenizer(model_args, data_args, train)
    train_labels = np.asarray(train["labels"], dtype=np.float32)
    metric = load_metric("multilabel")
    set_seed(training_args.seed)
    model = build_model(model_args, data_args, tokenizer, names, train_labels)

    def encode(batch):
        return tokenizer(batch[data_args.text_column], truncation=True, max_length=data_args.max_length)

    splits = {
        name: split.map(
            encode,
            batched=True,
            remove_columns=[data_args.text_column, data_args.label_column],
            desc=f"Tokenizing {name}",
        )
        for name, split in (("train", train), ("validation", validation), ("test", test))
    }
    optimizer = (
        build_optimizer(model, training_args, data_args.head_learning_rate) if data_args.head_learning_rate else None
    )
    trainer = LancoTrainer(
        model=model,
        args=training_args,
        train_dataset=splits["train"],
        eval_dataset=splits["validation"],
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        compute_metrics=multilabel_compute_metrics(model.config.threshold, metric),
        optimizers=(optimizer, None),
    )
    train_result = train_safely(trainer, output_dir, resume)
    if not trainer.is_world_process_zero():
        return {}

    validation_scores = sigmoid(trainer.predict(splits["validation"]).predictions)
    validation_labels = np.asarray(splits["validation"]["labels"])
    if data_args.tune_threshold:
        model.config.threshold = best_threshold(validation_scores, validation_labels)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    trainer.save_state()

    test_logits = trainer.predict(splits["test"]).predictions
    test_scores, test_labels = sigmoid(test_logits), np.asarray(splits["test"]["labels"])
    shown = range(min(data_args.num_examples_to_show, len(test)))
    examples = [
        {
            "text": test[i][data_args.text_column],
            "gold": [names[j] for j in np.flatnonzero(test_labels[i])],
            "predicted": [names[j] for j in np.flatnonzero(test_scores[i] > model.config.threshold)],
        }
        for i in shown
    ]

    def scored(scores, labels, threshold):
        return metric.compute(predictions=scores, references=labels.astype(np.int32), threshold=threshold)

    metrics = train_result.metrics
    results = {
        "task": "multilabel_classification",
        "model_type": model.config.model_type,
        "num_parameters": model.num_parameters(),
        "label_names": names,
        "label_counts": train_labels.sum(axis=0).astype(int).tolist(),
        "train_size": len(train),
        "threshold": model.config.threshold,
        "validation": {
            "size": len(validation_labels),
            **scored(validation_scores, validation_labels, model.config.threshold),
        },
        "test": {"size": len(test_labels), **scored(test_scores, test_labels, model.config.threshold)},
        "test_threshold_0.5": scored(test_scores, test_labels, 0.5),
        "label_graph": model.graph().detach().cpu().tolist(),
        "train_conditional_graph": cooccurrence_graph(torch.tensor(train_labels), "conditional").tolist(),
        "train_cooccurrence_graph": cooccurrence_graph(torch.tensor(train_labels), "column").tolist(),
        "train_steps": trainer.state.global_step,
        "train_runtime_s": metrics.get("train_runtime"),
        "train_loss": metrics.get("train_loss"),
        **_reload_checks(
            output_dir,
            [test[i][data_args.text_column] for i in range(min(RELOAD_CHECK_SIZE, len(test)))],
            test_logits[:RELOAD_CHECK_SIZE],
            data_args.max_length,
        ),
    }
    limit = min(data_args.max_length, model.config.encoder_config.max_position_embeddings)
    first_lines = [text.splitlines()[0] for text in test[data_args.text_column] if text.strip()]
    card = {
        "dataset_name": data_args.dataset,
        "base_model": base_model_of(model_args.model_name_or_path),
        "dataset_description": _describe(dataset, data_args, (len(train), len(validation), len(test))),
        "examples": examples,
        # the Hub widget sends its text untruncated: the one-line descriptions of test packages the model reads whole
        "widget_texts": [line for line in first_lines if len(tokenizer(line)["input_ids"]) <= limit][:2],
        "training_summary": _training_summary(training_args, data_args, results),
    }
    return finish_run(results, output_dir, started, card=card, report=_report(results, output_dir), trainer=trainer)


def _reload_checks(output_dir: Path, texts: list[str], logits: np.ndarray, max_length: int) -> dict:
    """Whether the saved folder reproduces the trained model's logits through ``AutoModelForSequenceClassification``
    and its sigmoid scores through ``pipeline("text-classification", top_k=None)``."""
    reloaded = AutoModelForSequenceClassification.from_pretrained(output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    with torch.no_grad():
        inputs = tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        again = reloaded(**inputs).logits.numpy()
    classifier = pipeline("text-classification", model=str(output_dir), top_k=None, device="cpu")
    outputs = classifier(texts, truncation=True, max_length=max_length)
    names = reloaded.config.id2label
    piped = np.array(
        [[{o["label"]: o["score"] for o in output}[names[j]] for j in range(len(names))] for output in outputs]
    )
    return {
        "reload_reproduces_logits": bool(np.allclose(again, logits, atol=1e-4)),
        "pipeline_matches_model": bool(np.allclose(piped, sigmoid(logits), atol=1e-4)),
    }


def _describe(dataset, data_args: MultilabelDataArguments, split_sizes: tuple[int, int, int]) -> str:
    """The dataset's description and the sizes of the train / validation / test texts the run used."""
    description = dataset["train"].info.description or data_args.dataset
    return "{} ({:,} train, {:,} validation, {:,} test texts)".format(description, *split_sizes)


def _training_summary(training_args: TrainingArguments, data_args: MultilabelDataArguments, results: dict) -> dict:
    head = f", classifier + graph lr {data_args.head_learning_rate}" if data_args.head_learning_rate else ""
    return {
        "steps": results["train_steps"],
        "epochs": epochs_summary(training_args),
        "batch size": batch_size(training_args),
        "optimizer": optimizer_summary(training_args, head),
        "schedule": schedule_summary(training_args, "warm-up {}"),
        "max length": data_args.max_length,
        "label graph init": data_args.graph_init
        + (f" ({data_args.cooccurrence_normalization})" if data_args.graph_init == "cooccurrence" else ""),
        "decision threshold": f"{results['threshold']}"
        + (" (tuned on validation micro-F1)" if data_args.tune_threshold else ""),
        **run_summary(training_args.seed, results["train_runtime_s"]),
    }


def _report(results: dict, output_dir: Path) -> list[str]:
    test = results["test"]
    return [
        f"\nTest ({test['size']} texts, threshold {results['threshold']}): one-error {100 * test['one_error']:.2f}, "
        f"Hamming loss {test['hamming_loss']:.4f}, macro-F1 {100 * test['macro_f1']:.2f}, "
        f"micro-F1 {100 * test['micro_f1']:.2f}",
        f"Saved to {output_dir} (weights, tokenizer, README.md model card, results.json)",
        f"Reloaded with AutoModelForSequenceClassification: logits reproduced = {results['reload_reproduces_logits']}; "
        f"text-classification pipeline scores = sigmoid(logits): {results['pipeline_matches_model']}",
    ]
