"""Model cards written with ``huggingface_hub.ModelCard`` from the Jinja templates in ``templates/``: the
metadata (library, pipeline tag, tags, datasets, eval results as ``model-index``) and the method's paper,
usage, examples, training settings and citation."""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers import AutoConfig

from .methods import METHODS_BY_LOSS, methods_of

TEMPLATES = Path(__file__).parent / "templates"


def translation_model_card(
    config,
    *,
    repo_id: str,
    dataset_name: str,
    dataset_description: str,
    languages: list[str],
    scores: dict[str, float],
    eval_size: int,
    baseline_scores: dict[str, float] | None,
    decoding: str,
    examples: list[dict[str, str]],
    training_summary: dict[str, object],
    eval_split: str = "test",
    loss: dict | None = None,
    beam_scores: dict | None = None,
) -> ModelCard:
    """The card of a translation model; ``scores`` holds ``bleu`` and ``chrf`` on ``eval_split``; ``loss`` is the
    training loss's ``to_dict()`` when it was not the model's own; ``beam_scores`` the beam-search scores
    (``num_beams``, ``length_penalty``, ``bleu``, ``chrf``) shown beside ``scores``."""
    methods = methods_of(config)
    if loss and loss.get("name") in METHODS_BY_LOSS:
        methods.append(METHODS_BY_LOSS[loss["name"]])
    source, target = languages
    eval_results = [
        EvalResult(
            task_type="translation",
            task_name=f"Translation {source}-{target}",
            dataset_type=dataset_name,
            dataset_name=dataset_name,
            dataset_split=eval_split,
            metric_type=metric,
            metric_name=metric.upper() if metric == "bleu" else "chrF",
            metric_value=round(value, 2),
        )
        for metric, value in scores.items()
    ]
    card_data = ModelCardData(
        language=[source, target],
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="translation",
        tags=["lanco-hf", "custom_code", "translation", config.model_type],
        datasets=[dataset_name],
        metrics=list(scores),
        model_name=repo_id,
        eval_results=eval_results,
        widget=[{"text": example["source"]} for example in examples[:2]],
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATES / "seq2seq.md"),
        model_name=repo_id,
        repo_id=repo_id,
        description=f"A {methods[0].name} ({config.model_type}) translating {source} to {target}.",
        dataset_description=dataset_description,
        methods=methods,
        eval_split=eval_split,
        eval_size=eval_size,
        decoding=decoding,
        scores=scores,
        baseline_scores=baseline_scores,
        beam_scores=beam_scores,
        example_source=examples[0]["source"] if examples else "",
        examples=examples,
        training_summary=training_summary,
        loss=loss,
        config_json=json.dumps(_config_summary(config), indent=2),
    )


def translation_card_from_run(run_dir: str | Path, repo_id: str) -> ModelCard:
    """The card of a finished ``lanco-hf train`` translation run, from its ``config.json`` and ``results.json``,
    naming the model ``repo_id`` (the run folder's name locally, the Hub repo when pushed)."""
    run_dir = Path(run_dir)
    results = json.loads((run_dir / "results.json").read_text())
    test = results["test"]
    return translation_model_card(
        AutoConfig.from_pretrained(run_dir),
        repo_id=repo_id,
        scores={"bleu": test["bleu"], "chrf": test["chrf"]},
        eval_size=test["size"],
        baseline_scores=results.get("copy_source_baseline"),
        loss=results.get("loss"),
        beam_scores=results.get("test_beam"),
        **results["card"],
    )


BOOKKEEPING_KEYS = {"architectures", "auto_map", "transformers_version", "dtype", "id2label", "label2id", "return_dict",
                    "output_hidden_states", "output_attentions", "chunk_size_feed_forward", "problem_type",
                    "tokenizer_class", "is_encoder_decoder", "use_cache"}


def _config_summary(config) -> dict:
    """The config's fields without transformers' bookkeeping entries."""
    return {key: value for key, value in config.to_dict().items() if key not in BOOKKEEPING_KEYS and not key.startswith("_")}
