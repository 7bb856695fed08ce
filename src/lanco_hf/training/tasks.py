"""The tasks ``lanco-hf train`` knows. A YAML run config names its ``task`` (default ``translation``), which picks
the argument dataclasses the YAML is parsed into, the runner and the model-card spec.

A task is registered once, where it is defined, with :func:`register_task` on its runner (in the spirit of timm's
``register_model``)::

    @register_task("translation", card=TRANSLATION_CARD)
    def run_translation(model_args: ModelArguments, data_args: TranslationDataArguments,
                        training_args: Seq2SeqTrainingArguments, loss_args: LossArguments | None = None,
                        resume: bool = False) -> dict: ...

The YAML is parsed into the dataclasses the runner's signature names, in order (``resume`` excepted).

``TASK_MODULES`` lists the modules that define tasks; they are imported the first time a task is looked up."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import typing
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
    check: Callable[..., None] | None = None


TASKS: dict[str, Task] = {}


def register_task(name: str, *, card=None, check: Callable[..., None] | None = None):
    """Register the decorated runner as task ``name`` whose runs ``card`` describes; the run config is parsed into
    the argument dataclasses of the runner's signature. ``check(*parsed)``, when given, raises ``ValueError`` on
    settings that conflict across those dataclasses; ``lanco-hf train`` calls it before the run folder is claimed."""

    def decorator(runner: Callable[..., dict]) -> Callable[..., dict]:
        if name in TASKS and TASKS[name].runner is not runner:
            modules = f"{TASKS[name].runner.__module__} and {runner.__module__}"
            raise ValueError(f"task {name!r} is registered twice: by {modules}")
        TASKS[name] = Task(name=name, runner=runner, arguments=argument_dataclasses(runner), card=card, check=check)
        return runner

    return decorator


def argument_dataclasses(runner: Callable[..., dict]) -> tuple[type, ...]:
    """The dataclasses annotating the runner's parameters, in order (``X | None`` counts as ``X``)."""
    hints = typing.get_type_hints(runner)
    arguments = []
    for parameter in inspect.signature(runner).parameters.values():
        candidates = typing.get_args(hints.get(parameter.name)) or (hints.get(parameter.name),)
        classes = [c for c in candidates if isinstance(c, type) and dataclasses.is_dataclass(c)]
        if classes:
            arguments.append(classes[0])
    return tuple(arguments)


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
