"""The model card of an image-text retrieval model trained by ``lanco-hf train`` (task ``image_text_retrieval``),
written with ``huggingface_hub.ModelCard`` from ``templates/retrieval.md``: recall@K in both directions and the mean
ISD as ``model-index``, next to chance, the IAIS settings with the paper, usage and the training settings."""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers import AutoConfig

from .methods import IAIS
from .model_card import TEMPLATES, _config_summary

TASK_TYPE = "image-text-retrieval"


def _label(metric: str) -> str:
    direction, _, k = metric.partition("_recall@")
    names = {"t2i": "text->image", "i2t": "image->text"}
    labels = {"recall_mean": "mean recall", "isd": "mean ISD",
              "text_attention_entropy": "text self-attention entropy (1 = uniform)",
              "image_attention_entropy": "image self-attention entropy (1 = uniform)"}
    return f"{names[direction]} recall@{k}" if k else labels[metric]


def retrieval_model_card(
    config,
    *,
    repo_id: str,
    dataset_name: str,
    dataset_description: str,
    test: dict,
    chance: dict,
    isd_alignment: str,
    example_captions: list[str],
    training_summary: dict[str, object],
    iais: dict | None = None,
    eval_split: str = "test",
) -> ModelCard:
    """``test`` holds ``size`` and the metrics of ``lanco_hf.evaluation.retrieval.retrieval_metrics`` (fractions,
    ``isd`` in nats); ``chance`` the expected recall of a random ranking; ``iais`` the regulariser's settings (``None``
    for the baseline)."""
    metrics = {name: value for name, value in test.items() if name != "size"}
    eval_results = [
        EvalResult(
            task_type=TASK_TYPE,
            dataset_type=dataset_name,
            dataset_name=dataset_name,
            dataset_split=eval_split,
            metric_type=name,
            metric_name=_label(name),
            metric_value=float(f"{value:.4g}"),
        )
        for name, value in metrics.items()
    ]
    methods = [IAIS] if iais else []
    card_data = ModelCardData(
        license="apache-2.0",
        library_name="transformers",
        tags=["lanco-hf", TASK_TYPE, config.model_type] + (["iais"] if iais else []),
        datasets=[dataset_name],
        metrics=["recall"],
        model_name=repo_id,
        eval_results=eval_results,
    )
    result_rows = [
        {
            "name": _label(name),
            "value": f"{value:.3g}" if name == "isd" else f"{value:.3f}" if name.endswith("_entropy") else f"{100 * value:.2f} %",
            "chance": f"{100 * chance[name]:.2f} %" if name in chance else "",
        }
        for name, value in metrics.items()
    ]
    regulariser = f" with the IAIS regulariser ({iais['alignment']} alignment)" if iais else " (no IAIS regulariser)"
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATES / "retrieval.md"),
        model_name=repo_id,
        repo_id=repo_id,
        description=f"A single-stream {config.model_type} image-text retrieval model{regulariser}.",
        dataset_description=dataset_description,
        methods=methods,
        eval_split=eval_split,
        eval_size=test["size"],
        result_rows=result_rows,
        isd_alignment=isd_alignment,
        example_captions=example_captions,
        iais=iais,
        training_summary=training_summary,
        config_json=json.dumps(_config_summary(config), indent=2),
    )


def retrieval_card_from_run(run_dir: str | Path, repo_id: str) -> ModelCard:
    """The card of a finished ``image_text_retrieval`` run, from its ``config.json`` and ``results.json``."""
    run_dir = Path(run_dir)
    results = json.loads((run_dir / "results.json").read_text())
    return retrieval_model_card(
        AutoConfig.from_pretrained(run_dir),
        repo_id=repo_id,
        test=results["test"],
        chance=results["chance"],
        iais=results.get("iais"),
        **results["card"],
    )
