"""The model card of a node classifier (ReNode GCN): metadata with the test Weighted-F1 / Macro-F1 as
``model-index`` results, the method, the split, usage, training settings and citation."""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers import AutoConfig

from .methods import methods_of
from .model_card import TEMPLATES, _config_summary

METRIC_NAMES = {"weighted_f1": "Weighted-F1", "macro_f1": "Macro-F1"}


def node_classification_model_card(
    config,
    *,
    repo_id: str,
    dataset_name: str,
    dataset_description: str,
    split_description: str,
    scores: dict[str, float],
    training_summary: dict[str, object],
    renode: dict | None = None,
) -> ModelCard:
    """``scores`` holds ``weighted_f1`` and ``macro_f1`` on the test nodes (fractions); ``renode`` the ReNode settings
    (``w_min``, ``w_max``, ``alpha``, ``totoro``, ``time_s``), or ``None`` for a model trained without them."""
    eval_results = [
        EvalResult(
            task_type="node-classification",
            task_name="Node classification",
            dataset_type=dataset_name,
            dataset_name=dataset_name,
            dataset_split="test",
            metric_type="f1",
            metric_name=METRIC_NAMES[metric],
            metric_value=round(100 * value, 2),
            metric_config=metric.split("_")[0],
        )
        for metric, value in scores.items()
    ]
    card_data = ModelCardData(
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="graph-ml",
        tags=["lanco-hf", "custom_code", "node-classification", "torch_geometric", config.model_type]
        + (["renode"] if renode else []),
        datasets=[dataset_name],
        metrics=["f1"],
        model_name=repo_id,
        eval_results=eval_results,
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATES / "node_classification.md"),
        model_name=repo_id,
        repo_id=repo_id,
        description=(
            f"A {config.num_layers}-layer {config.gnn_type.upper()} node classifier ({config.model_type}, "
            f"{config.num_labels} classes), trained {'with' if renode else 'without'} ReNode weights."
        ),
        dataset_description=dataset_description,
        split_description=split_description,
        methods=methods_of(config),
        renode=renode,
        scores=scores,
        training_summary=training_summary,
        config_json=json.dumps(_config_summary(config), indent=2),
    )


def node_classification_card_from_run(run_dir: str | Path, repo_id: str) -> ModelCard:
    """The card of a finished ``lanco-hf train`` node-classification run, from its ``config.json`` and
    ``results.json``, naming the model ``repo_id``."""
    run_dir = Path(run_dir)
    results = json.loads((run_dir / "results.json").read_text())
    return node_classification_model_card(
        AutoConfig.from_pretrained(run_dir), repo_id=repo_id, scores=results["test"], **results["card"]
    )


__all__ = ["node_classification_card_from_run", "node_classification_model_card"]
