"""One model-card path for every task: ``card_from_run(run_dir)`` reads a finished run's ``results.json`` (and
``config.json``; its ``training_curves.png`` when there is one), asks the task's :class:`CardSpec` for what differs
(metrics, description, methods, template variables) and renders ``templates/<task>.md``, which extends
``templates/base.md`` and overrides only its Results, Usage and detail blocks, into a ``huggingface_hub.ModelCard``:
metadata with the metrics as ``model-index``, the method's paper, usage, training settings and curves, and the
citations of every method and loss the run used.

A task's spec is registered with the task (``lanco_hf.training.tasks.register_task``), next to its runner.

Every push path renders here: ``lanco-hf push`` and a lanco ``Trainer``'s ``push_to_hub`` (``push.push_run``), and a
lanco model's own ``push_to_hub()`` (:func:`card_for_model`, installed at ``import lanco_hf``). A model saved by a
finished run gets that run's card; a bare model (no run folder) gets :func:`card_from_config`: metadata, method,
usage and citation, without results.

Widget metadata follows the Hub's widget forms: ``widget: [{text: ...}]`` for text tasks, ``[{src: URL}]`` for
images (an image of the run folder, uploaded with the repo, becomes its ``resolve`` URL) and
``[{src, candidate_labels}]`` for zero-shot image classification; ``base_model`` names the checkpoint a run was
fine-tuned from and ``datasets`` lists the run's dataset only when it is a Hub id (a local corpus name or folder
would not resolve)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from huggingface_hub import EvalResult, ModelCard, ModelCardData, hf_hub_url

from .methods import MethodInfo, methods_of

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
# a Hub repo id (``namespace/name``), as opposed to a local corpus name or a folder
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")


def is_hub_id(name: str | None) -> bool:
    """Whether ``name`` has the form of a Hub repo id (``namespace/name``; no absolute or dotted relative path)."""
    return bool(name) and HUB_ID.fullmatch(name) is not None and not Path(name).exists()


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
        model_types: the lanco architectures this task trains: a bare model of one of them (no run folder) gets
            this spec's card without results (:meth:`render_bare`).
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
    model_types: tuple[str, ...] = ()

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
            **{**content.card_data, "widget": widget_with_urls(content.card_data.get("widget"), repo_id)},
            license="apache-2.0",
            library_name="transformers",
            pipeline_tag=self.pipeline_tag,
            tags=["lanco-hf", *self.tags, *model_type, *content.tags],
            base_model=card.get("base_model"),
            datasets=[dataset] if is_hub_id(dataset) else None,
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
            "has_results": True,
            **content.variables,
        }
        if config is not None:
            variables["config_json"] = json.dumps(config_summary(config), indent=2)
            variables["model_config"] = config
        return render_template(self.template, card_data, **variables)

    def render_bare(self, config, repo_id: str) -> ModelCard:
        """The card of a model of this task that no run folder describes (``model.push_to_hub()`` of a model built
        from a config): metadata, method, usage, configuration and citation; no results, no training table."""
        methods = methods_of(config)
        card_data = ModelCardData(
            license="apache-2.0",
            library_name="transformers",
            pipeline_tag=self.pipeline_tag,
            tags=["lanco-hf", *self.tags, config.model_type],
            model_name=repo_id,
        )
        variables = {
            "model_name": repo_id,
            "repo_id": repo_id,
            "methods": methods,
            "has_results": False,
            "description": f"A {methods[0].name} ({config.model_type}) model of [lanco-hf](https://github.com/lancopku).",
            "config_json": json.dumps(config_summary(config), indent=2),
            "model_config": config,
        }
        return render_template(self.template, card_data, **variables)


def widget_with_urls(widget: list[dict] | None, repo_id: str) -> list[dict] | None:
    """The card's ``widget`` examples with each ``src`` that names a file of the run folder (uploaded with the repo)
    replaced by the file's ``resolve`` URL in ``repo_id``, the form the Hub's image widgets read."""
    if not widget:
        return widget
    return [
        {**example, "src": hf_hub_url(repo_id, example["src"])}
        if "src" in example and "://" not in example["src"]
        else example
        for example in widget
    ]


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


def has_run_card(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a finished ``lanco-hf train`` run whose task writes a card."""
    from ..training.tasks import available_tasks

    results_path = Path(run_dir) / "results.json"
    if not results_path.is_file():
        return False
    results = json.loads(results_path.read_text())
    return "card" in results and results.get("task") in available_tasks()


def spec_for_model_type(model_type: str) -> CardSpec | None:
    """The card spec of the task that trains ``model_type`` (its ``CardSpec.model_types``), or ``None``."""
    from ..training.tasks import TASKS, available_tasks

    available_tasks()  # imports the task modules
    return next((task.card for task in TASKS.values() if task.card and model_type in task.card.model_types), None)


def card_from_config(config, repo_id: str) -> ModelCard | None:
    """The card of a bare lanco model (no run folder): its task's card without results, or ``None`` when no task
    trains ``config.model_type``."""
    spec = spec_for_model_type(config.model_type)
    return spec.render_bare(config, repo_id) if spec is not None else None


def card_for_model(model, repo_id: str) -> str | None:
    """The card ``model.push_to_hub(repo_id)`` uploads for a lanco model: the run's card when the model was loaded
    from a finished run folder (``model.name_or_path``), the same card ``lanco-hf push`` uploads; else the bare
    model's card (:func:`card_from_config`). ``import lanco_hf`` installs it
    (``lanco_hf.modeling.hub_card.set_model_card_renderer``)."""
    source = getattr(model, "name_or_path", "") or ""
    if source and Path(source).is_dir() and has_run_card(source):
        return str(card_from_run(source, repo_id))
    card = card_from_config(model.config, repo_id)
    return str(card) if card is not None else None


__all__ = [
    "CardContent",
    "CardSpec",
    "card_for_model",
    "card_from_config",
    "card_from_run",
    "config_summary",
    "has_run_card",
    "is_hub_id",
    "render_template",
]
