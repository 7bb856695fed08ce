"""The tasks ``lanco-hf train`` knows. A YAML run config names its ``task`` (default ``translation``), which picks
the argument dataclasses the YAML is parsed into, the runner and the model-card spec.

A task is registered once, where it is defined, with :func:`register_task` on its runner (in the spirit of timm's
``register_model``)::

    @register_task("translation", arguments=(ModelArguments, TranslationDataArguments, Seq2SeqTrainingArguments,
                                             LossArguments), card=TRANSLATION_CARD)
    def run_translation(model_args, data_args, training_args, loss_args=None, resume=False) -> dict: ...

``TASK_MODULES`` lists the modules that define tasks; they are imported the first time a task is looked up."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

TASK_MODULES = (
    "lanco_hf.training.translation",
    "lanco_hf.training.image_classification",
    "lanco_hf.training.node_classification",
    "lanco_hf.training.contrastive",
    "lanco_hf.training.retrieval",
    "lanco_hf.training.multilabel",
)


@dataclass(frozen=True)
class Task:
    """A registered task: ``runner(*parsed_arguments, resume=bool) -> results`` and the dataclasses the run config
    is parsed into, in call order; ``card`` is the ``lanco_hf.hub.model_card.CardSpec`` of its runs."""

    name: str
    runner: Callable[..., dict]
    arguments: tuple[type, ...]
    card: object | None = None


TASKS: dict[str, Task] = {}


def register_task(name: str, *, arguments: tuple[type, ...], card=None):
    """Register the decorated runner as task ``name``, parsed into ``arguments`` and described by ``card``."""

    def decorator(runner: Callable[..., dict]) -> Callable[..., dict]:
        if name in TASKS and TASKS[name].runner is not runner:
            raise ValueError(f"task {name!r} is registered twice: by {TASKS[name].runner.__module__} and {runner.__module__}")
        TASKS[name] = Task(name=name, runner=runner, arguments=tuple(arguments), card=card)
        return runner

    return decorator


def _import_task_modules() -> None:
    for module in TASK_MODULES:
        importlib.import_module(module)


def available_tasks() -> list[str]:
    """The names of every registered task, sorted."""
    _import_task_modules()
    return sorted(TASKS)


def get_task(name: str) -> Task:
    if name not in TASKS:
        _import_task_modules()
    if name not in TASKS:
        raise ValueError(f"task={name!r} is not supported; allowed values: {', '.join(sorted(TASKS))}")
    return TASKS[name]
