"""Where the lanco ``evaluate`` modules live, and loading them."""

from __future__ import annotations

from pathlib import Path

from ..modeling.validation import check_choice

METRICS = ("multilabel", "retrieval", "bleu_chrf", "classification")


def path(name: str) -> str:
    """The folder of the ``evaluate`` module ``name`` (one of ``METRICS``), for ``evaluate.load(path(name))``."""
    check_choice("name", name, METRICS)
    return str(Path(__file__).parent / name)


def load(name: str, **kwargs):
    """``evaluate.load(path(name), **kwargs)``: the ``evaluate`` module of the lanco metric ``name``."""
    import evaluate

    return evaluate.load(path(name), **kwargs)
