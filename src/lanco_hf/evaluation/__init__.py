"""Evaluation utilities of the lanco methods."""

from .classification import classification_metrics
from .multilabel import multilabel_metrics

__all__ = ["classification_metrics", "multilabel_metrics"]
