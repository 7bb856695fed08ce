"""Single-label classification metrics: accuracy and mean class accuracy (the balanced accuracy that long-tailed
classification reports, e.g. Cao et al., NeurIPS 2019, "Learning Imbalanced Datasets with Label-Distribution-Aware
Margin Loss", Section 4)."""

from __future__ import annotations

import numpy as np


def classification_metrics(predictions, references) -> dict[str, float]:
    """``accuracy`` of the predicted class ids ``predictions`` against the gold ids ``references`` and
    ``mean_class_accuracy``, the mean over the gold classes present of their accuracy."""
    predicted, gold = np.asarray(predictions), np.asarray(references)
    if predicted.ndim != 1 or predicted.shape != gold.shape or not len(gold):
        raise ValueError(
            f"predictions {predicted.shape} and references {gold.shape} must be non-empty vectors of the same length"
        )
    correct = predicted == gold
    return {
        "accuracy": float(correct.mean()),
        "mean_class_accuracy": float(np.mean([correct[gold == label].mean() for label in np.unique(gold)])),
    }
