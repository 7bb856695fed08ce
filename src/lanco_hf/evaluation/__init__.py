"""Evaluation utilities of the lanco methods."""

from .multilabel import multilabel_metrics

__all__ = ["multilabel_metrics"]
