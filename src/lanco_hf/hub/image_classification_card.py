"""The model card of an image classifier trained by ``lanco-hf train`` (task ``image_classification``), written
with ``huggingface_hub.ModelCard`` from ``templates/image_classification.md``: metadata with the accuracy as
``model-index``, per-class results, out-of-distribution detection, the training loss with its paper, usage through
transformers' ``image-classification`` pipeline, and the training settings."""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers import AutoConfig

from .methods import METHODS_BY_LOSS
from .model_card import TEMPLATES, _config_summary


def image_classification_model_card(
    config,
    *,
    repo_id: str,
    dataset_name: str,
    dataset_description: str,
    test: dict,
    class_counts: list[int],
    training_summary: dict[str, object],
    loss: dict | None = None,
    ood: dict | None = None,
    eval_split: str = "test",
) -> ModelCard:
    """``test`` holds ``size``, ``accuracy``, ``mean_class_accuracy`` and ``class_accuracy`` (fractions); ``ood``
    holds ``dataset``, ``size``, ``auroc`` and ``fpr_at_95_tpr``; ``loss`` is the loss's ``to_dict()``."""
    methods = [METHODS_BY_LOSS[loss["name"]]] if loss and loss.get("name") in METHODS_BY_LOSS else []
    metrics = {"accuracy": test["accuracy"], "mean_class_accuracy": test["mean_class_accuracy"]}
    eval_results = [
        EvalResult(
            task_type="image-classification",
            dataset_type=dataset_name,
            dataset_name=dataset_name,
            dataset_split=eval_split,
            metric_type=metric,
            metric_name=metric.replace("_", " "),
            metric_value=round(value, 4),
        )
        for metric, value in metrics.items()
    ]
    tags = ["lanco-hf", "image-classification", config.model_type] + (["encouraging-loss"] if methods else [])
    card_data = ModelCardData(
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="image-classification",
        tags=tags,
        datasets=[dataset_name],
        metrics=["accuracy"],
        model_name=repo_id,
        eval_results=eval_results,
    )
    names = [config.id2label[i] for i in range(len(class_counts))]
    class_rows = [
        {"name": name, "train_count": count, "accuracy": accuracy}
        for name, count, accuracy in zip(names, class_counts, test["class_accuracy"])
    ]
    loss_name = f" trained with the {methods[0].name.lower()}" if methods else ""
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATES / "image_classification.md"),
        model_name=repo_id,
        repo_id=repo_id,
        description=f"A {config.model_type} image classifier ({len(names)} classes){loss_name}.",
        dataset_description=dataset_description,
        methods=methods,
        eval_split=eval_split,
        eval_size=test["size"],
        accuracy=test["accuracy"],
        mean_class_accuracy=test["mean_class_accuracy"],
        class_rows=class_rows,
        ood=ood,
        loss=loss,
        training_summary=training_summary,
        config_json=json.dumps(_config_summary(config), indent=2),
    )


def image_classification_card_from_run(run_dir: str | Path, repo_id: str) -> ModelCard:
    """The card of a finished ``image_classification`` run, from its ``config.json`` and ``results.json``."""
    run_dir = Path(run_dir)
    results = json.loads((run_dir / "results.json").read_text())
    return image_classification_model_card(
        AutoConfig.from_pretrained(run_dir),
        repo_id=repo_id,
        test=results["test"],
        class_counts=results["class_counts"],
        loss=results.get("loss"),
        ood=results.get("ood"),
        **results["card"],
    )
