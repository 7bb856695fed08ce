"""The model card of a multi-label text classifier trained by ``lanco-hf train`` (task ``multilabel_classification``),
written with ``huggingface_hub.ModelCard`` from ``templates/text_classification.md``: metadata with the test metrics
as ``model-index``, the method, the labels, usage through transformers' ``text-classification`` pipeline, examples,
training settings and citation."""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers import AutoConfig

from .methods import methods_of
from .model_card import TEMPLATES, _config_summary

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


def text_classification_model_card(
    config,
    *,
    repo_id: str,
    dataset_name: str,
    dataset_description: str,
    scores: dict[str, float],
    eval_size: int,
    label_counts: list[int],
    examples: list[dict],
    training_summary: dict[str, object],
    eval_split: str = "test",
) -> ModelCard:
    """``scores`` holds the six metrics of ``lanco_hf.evaluation.multilabel_metrics`` on ``eval_split`` (fractions);
    ``examples`` hold ``text``, ``gold`` and ``predicted`` label lists."""
    methods = methods_of(config)
    eval_results = [
        EvalResult(
            task_type="text-classification",
            task_name="Multi-label text classification",
            dataset_type=dataset_name,
            dataset_name=dataset_name,
            dataset_split=eval_split,
            metric_type=metric,
            metric_name=METRIC_NAMES[metric],
            metric_value=round(value, 4),
        )
        for metric, value in scores.items()
        if metric in METRIC_NAMES
    ]
    card_data = ModelCardData(
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=["lanco-hf", "custom_code", "multi-label-classification", config.model_type],
        datasets=[dataset_name],
        metrics=["f1"],
        model_name=repo_id,
        eval_results=eval_results,
        widget=[{"text": example["text"]} for example in examples[:2]],
    )
    names = [config.id2label[i] for i in range(len(label_counts))]
    example_text = examples[0]["text"].splitlines()[0].replace('"', "'") if examples else "some text"
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATES / "text_classification.md"),
        model_name=repo_id,
        repo_id=repo_id,
        description=f"A multi-label text classifier ({len(names)} labels, {config.model_type}).",
        dataset_description=dataset_description,
        methods=methods,
        variant=describe_variant(config),
        eval_split=eval_split,
        eval_size=eval_size,
        threshold=config.threshold,
        scores=scores,
        labels=[{"name": name, "count": count} for name, count in zip(names, label_counts)],
        example_text=example_text,
        examples=examples,
        training_summary=training_summary,
        config_json=json.dumps(_config_summary(config), indent=2),
    )


def text_classification_card_from_run(run_dir: str | Path, repo_id: str) -> ModelCard:
    """The card of a finished ``multilabel_classification`` run, from its ``config.json`` and ``results.json``."""
    run_dir = Path(run_dir)
    results = json.loads((run_dir / "results.json").read_text())
    test = dict(results["test"])
    return text_classification_model_card(
        AutoConfig.from_pretrained(run_dir),
        repo_id=repo_id,
        scores={key: value for key, value in test.items() if key != "size"},
        eval_size=test["size"],
        label_counts=results["label_counts"],
        **results["card"],
    )
