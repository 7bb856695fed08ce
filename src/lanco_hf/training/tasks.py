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
            "lanco_hf.training.arguments:LossArguments",
        ),
    ),
    "image_classification": Task(
        runner="lanco_hf.training.image_classification:run_image_classification",
        arguments=(
            "lanco_hf.training.arguments:ModelArguments",
            "lanco_hf.training.arguments:ImageClassificationDataArguments",
            "transformers:TrainingArguments",
            "lanco_hf.training.arguments:LossArguments",
        ),
    ),
    "node_classification": Task(
        runner="lanco_hf.training.node_classification:run_node_classification",
        arguments=(
            "lanco_hf.training.arguments:ModelArguments",
            "lanco_hf.training.node_classification:NodeClassificationDataArguments",
            "lanco_hf.training.node_classification:NodeTrainingArguments",
        ),
    ),
    "contrastive_image_text": Task(
        runner="lanco_hf.training.contrastive:run_contrastive_image_text",
        arguments=(
            "lanco_hf.training.arguments:ModelArguments",
            "lanco_hf.training.contrastive:ContrastiveDataArguments",
            "lanco_hf.training.contrastive:ContrastiveTrainingArguments",
        ),
    ),
    "image_text_retrieval": Task(
        runner="lanco_hf.training.retrieval:run_retrieval",
        arguments=(
            "lanco_hf.training.arguments:ModelArguments",
            "lanco_hf.training.retrieval:RetrievalDataArguments",
            "lanco_hf.training.retrieval:IAISArguments",
            "transformers:TrainingArguments",
        ),
    ),
    "multilabel_classification": Task(
        runner="lanco_hf.training.multilabel:run_multilabel_classification",
        arguments=(
            "lanco_hf.training.arguments:ModelArguments",
            "lanco_hf.training.multilabel:MultilabelDataArguments",
            "transformers:TrainingArguments",
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
