"""One model-card path for every task: ``card_from_run(run_dir)`` reads a finished run's ``results.json`` (and
``config.json``; its ``training_curves.png`` when there is one), asks the task's :class:`CardSpec` for what differs
(metrics, description, methods, template variables) and renders ``templates/<task>.md``, which extends
``templates/base.md`` and overrides only its Results, Usage and detail blocks, into a ``huggingface_hub.ModelCard``:
metadata with the metrics as ``model-index``, the method's paper, usage, training settings and curves, and the
citations of every method and loss the run used.

A task's spec is registered with the task (``lanco_hf.training.tasks.register_task``), next to its runner."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .methods import MethodInfo

TEMPLATES = Path(__file__).parent / "templates"
# the picture of a run's loss, learning rate and metrics (``lanco_hf.training.curves``), shown when the run has one
TRAINING_CURVES = "training_curves.png"
# transformers' bookkeeping entries of a config, left out of the card's configuration block
BOOKKEEPING_KEYS = {
    "architectures",
    "auto_map",
    "transformers_version",
    "dtype",
    "id2label",
    "label2id",
    "return_dict",
    "output_hidden_states",
    "output_attentions",
    "chunk_size_feed_forward",
    "problem_type",
    "tokenizer_class",
    "is_encoder_decoder",
    "use_cache",
}


@dataclass
class CardContent:
    """What a task's card says beyond the shared parts.

    Args:
        metrics: the metrics reported as ``model-index`` results, ``{metric_type: value}`` before rounding.
        methods: the methods (architecture, loss, regulariser) whose summary and citation the card shows.
        variables: the template's own variables (description, tables, examples, ...).
        tags: tags added after the spec's tags and the model type (e.g. the loss's).
        card_data: further ``ModelCardData`` fields (``language``, ``widget``).
        task_name: the ``model-index`` task name, when the spec's depends on the run.
    """

    metrics: dict[str, float]
    methods: list[MethodInfo] = field(default_factory=list)
    variables: dict[str, object] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    card_data: dict[str, object] = field(default_factory=dict)
    task_name: str | None = None


@dataclass(frozen=True)
class CardSpec:
    """How a task's runs are described on the Hub, in the spirit of timm's one ``generate_readme`` for every task.

    Args:
        template: the Jinja template under ``templates/`` (it ``{% extends "base.md" %}``).
        task_type: the ``model-index`` task type.
        pipeline_tag: the transformers pipeline that runs the model, or ``None``.
        tags: tags after ``lanco-hf``; the model type follows them when the run has a config.
        metrics: the card's ``metrics`` metadata.
        content: ``content(config, results) -> CardContent``, the task-specific part (``config`` is ``None`` when
            ``uses_config`` is off).
        metric_labels: the display name of each metric, as a mapping or a function; ``None`` leaves it out.
        metric_value: rounds a metric for ``model-index``.
        metric_type: the ``model-index`` type of a metric (default: its name in ``CardContent.metrics``).
        metric_config: the ``model-index`` ``config`` of a metric (e.g. ``weighted`` for a weighted F1), or ``None``.
        task_name: the ``model-index`` task name.
        uses_config: whether the run folder's ``config.json`` describes the model (its fields fill the card's
            configuration block).
    """

    template: str
    task_type: str
    pipeline_tag: str | None
    tags: tuple[str, ...]
    metrics: tuple[str, ...]
    content: Callable[[object, dict], CardContent]
    metric_labels: Mapping[str, str] | Callable[[str], str] | None = None
    metric_value: Callable[[float], float] = lambda value: round(value, 4)
    metric_type: Callable[[str], str] | None = None
    metric_config: Callable[[str], str] | None = None
    task_name: str | None = None
    uses_config: bool = True

    def label(self, metric: str) -> str | None:
        if self.metric_labels is None:
            return None
        return self.metric_labels(metric) if callable(self.metric_labels) else self.metric_labels[metric]

    def render(self, config, results: dict, repo_id: str, training_curves: str | None = None) -> ModelCard:
        """The card of a run whose ``results.json`` holds ``results``, named ``repo_id``; ``training_curves`` is the
        file name of the run's training-curves picture, shown under Training when given."""
        content = self.content(config, results)
        card = results["card"]
        dataset = card["dataset_name"]
        split = card.get("eval_split", "test")
        eval_results = [
            EvalResult(
                task_type=self.task_type,
                task_name=content.task_name or self.task_name,
                dataset_type=dataset,
                dataset_name=dataset,
                dataset_split=split,
                metric_type=self.metric_type(metric) if self.metric_type else metric,
                metric_name=self.label(metric),
                metric_value=self.metric_value(value),
                metric_config=self.metric_config(metric) if self.metric_config else None,
            )
            for metric, value in content.metrics.items()
        ]
        model_type = [config.model_type] if config is not None else []
        card_data = ModelCardData(
            **content.card_data,
            license="apache-2.0",
            library_name="transformers",
            pipeline_tag=self.pipeline_tag,
            tags=["lanco-hf", *self.tags, *model_type, *content.tags],
            datasets=[dataset],
            metrics=list(self.metrics),
            model_name=repo_id,
            eval_results=eval_results,
        )
        variables = {
            **card,
            "model_name": repo_id,
            "repo_id": repo_id,
            "methods": content.methods,
            "eval_split": split,
            "training_curves": training_curves,
            **content.variables,
        }
        if config is not None:
            variables["config_json"] = json.dumps(config_summary(config), indent=2)
        return render_template(self.template, card_data, **variables)


_ENVIRONMENT = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES))


def render_template(name: str, card_data: ModelCardData, **variables) -> ModelCard:
    """``ModelCard.from_template`` with template inheritance: ``templates/name`` may ``{% extends %}`` another."""
    content = _ENVIRONMENT.get_template(name).render(
        card_data=card_data.to_yaml(), **{**card_data.to_dict(), **variables}
    )
    return ModelCard(content)


def config_summary(config) -> dict:
    """The config's fields without transformers' bookkeeping entries."""
    items = config.to_dict().items()
    return {key: value for key, value in items if key not in BOOKKEEPING_KEYS and not key.startswith("_")}


def card_from_run(run_dir: str | Path, repo_id: str | None = None) -> ModelCard:
    """The model card of a finished ``lanco-hf train`` run, from its ``results.json`` (whose ``task`` picks the
    card spec) and ``config.json``; the model is named ``repo_id``, by default the run folder's name (the Hub
    repo's when pushed)."""
    from transformers import AutoConfig

    from ..training.tasks import get_task

    run_dir = Path(run_dir)
    results = json.loads((run_dir / "results.json").read_text())
    spec = get_task(results["task"]).card
    if spec is None:
        raise ValueError(f"task={results['task']!r} writes no model card")
    config = AutoConfig.from_pretrained(run_dir) if spec.uses_config else None
    curves = TRAINING_CURVES if (run_dir / TRAINING_CURVES).is_file() else None
    return spec.render(config, results, repo_id or run_dir.name, training_curves=curves)


__all__ = ["CardContent", "CardSpec", "card_from_run", "config_summary", "render_template"]
