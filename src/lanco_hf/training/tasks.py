"""The tasks ``lanco-hf train`` knows: a YAML run config names its ``task`` (default ``translation``),
which picks the argument dataclasses it is parsed into and the function that runs it.

A task is registered as ``"module:function"`` plus the dotted paths of its argument dataclasses, so the
CLI imports only what the chosen task needs."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    runner: str  # "lanco_hf.training.translation:run_translation"; called as runner(*parsed_args, resume=bool)
    arguments: tuple[str, ...]  # dotted paths of the dataclasses the YAML is parsed into, in call order

    def load(self):
        return _resolve(self.runner), tuple(_resolve(path) for path in self.arguments)


TASKS: dict[str, Task] = {
    "translation": Task(
        runner="lanco_hf.training.translation:run_translation",
        arguments=(
            "lanco_hf.training.arguments:ModelArguments",
            "lanco_hf.training.arguments:TranslationDataArguments",
            "transformers:Seq2SeqTrainingArguments",
        ),
    ),
}


def _resolve(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"task={name!r} is not supported; allowed values: {', '.join(sorted(TASKS))}")
    return TASKS[name]
