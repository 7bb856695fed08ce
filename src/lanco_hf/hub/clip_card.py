"""The model card of a CLIP trained with the ``contrastive_image_text`` task (``huggingface_hub.ModelCard`` from
``templates/clip.md``): zero-shot accuracy as ``model-index`` results, pipeline usage and the openness method."""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .methods import CLIP_OPENNESS

TEMPLATE = Path(__file__).parent / "templates" / "clip.md"


def clip_model_card(
    *,
    repo_id: str,
    num_parameters: int,
    dataset_name: str,
    dataset_description: str,
    zero_shot: dict,
    training_summary: dict[str, object],
) -> ModelCard:
    """``zero_shot`` holds ``test_accuracy``, ``chance``, ``classes``, ``test_size`` and ``templates``."""
    card_data = ModelCardData(
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="zero-shot-image-classification",
        tags=["lanco-hf", "clip", "zero-shot-image-classification", "clip-openness"],
        datasets=[dataset_name],
        metrics=["accuracy"],
        model_name=repo_id,
        eval_results=[
            EvalResult(
                task_type="zero-shot-image-classification",
                dataset_type=dataset_name,
                dataset_name=dataset_name,
                dataset_split="test",
                metric_type="accuracy",
                metric_value=round(zero_shot["test_accuracy"], 4),
            )
        ],
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATE),
        model_name=repo_id,
        repo_id=repo_id,
        num_parameters=f"{num_parameters:,}",
        dataset_description=dataset_description,
        method=CLIP_OPENNESS,
        zero_shot=zero_shot,
        training_summary=training_summary,
    )


def clip_card_from_run(run_dir: str | Path, repo_id: str) -> ModelCard:
    """The card of a finished ``contrastive_image_text`` run (with a zero-shot test), from its ``results.json``."""
    results = json.loads((Path(run_dir) / "results.json").read_text())
    return clip_model_card(
        repo_id=repo_id, num_parameters=results["num_parameters"], zero_shot=results["zero_shot"], **results["card"]
    )
