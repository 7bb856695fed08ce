"""Multi-label metrics of the label-graph paper (one-error, Hamming loss, macro-F1, micro-F1) plus coverage and
ranking loss, in numpy. ``multilabel_metrics`` also serves as a ``Trainer``'s ``compute_metrics``."""

from __future__ import annotations

import numpy as np

from ..modeling.validation import check_float


def multilabel_metrics(scores, labels=None, threshold: float = 0.5) -> dict[str, float]:
    """Metrics of ``scores`` (n x m, higher = more likely) against multi-hot ``labels`` (n x m); label ``j`` is
    predicted when ``scores[i, j] > threshold``.

    - ``one_error``: share of examples whose top-scored label (first one on ties) is not gold (an example without
      gold labels counts as an error);
    - ``hamming_loss``: share of the n * m decisions that are wrong;
    - ``macro_f1``: mean over labels of ``2 TP / (2 TP + FP + FN)`` (0 for a label never gold nor predicted);
    - ``micro_f1``: the same over the pooled counts;
    - ``coverage``: mean over examples of how far down the ranking one must go to cover every gold label
      (ties counted pessimistically; scikit-learn's ``coverage_error``, 1-based);
    - ``ranking_loss``: mean share of (gold, non-gold) label pairs ranked in the wrong order or tied (scikit-learn's
      ``label_ranking_loss``; examples with all or no labels gold count 0).

    Called by a ``Trainer`` as ``compute_metrics=functools.partial(multilabel_metrics, threshold=t)``, it receives an
    ``EvalPrediction`` whose predictions are logits; they become sigmoid scores.
    """
    if labels is None:
        if not hasattr(scores, "label_ids"):
            raise ValueError("labels is required unless scores is a Trainer EvalPrediction (predictions + label_ids)")
        predictions, labels = scores.predictions, scores.label_ids
        predictions = predictions[0] if isinstance(predictions, tuple) else predictions
        scores = 1.0 / (1.0 + np.exp(-np.asarray(predictions, dtype=np.float64)))
    scores = np.asarray(scores, dtype=np.float64)
    gold = np.asarray(labels)
    if scores.ndim != 2 or scores.shape != gold.shape:
        raise ValueError(f"scores {scores.shape} and labels {gold.shape} must be matrices of the same shape (n, m)")
    if not np.isin(gold, (0, 1)).all():
        raise ValueError("labels must be multi-hot: every entry 0 or 1")
    check_float("threshold", threshold, 0, 1)
    gold = gold.astype(bool)
    predicted = scores > threshold
    rows = np.arange(len(scores))

    true_positive = (predicted & gold).sum(axis=0)
    false_positive = (predicted & ~gold).sum(axis=0)
    false_negative = (~predicted & gold).sum(axis=0)
    per_label = 2 * true_positive + false_positive + false_negative
    label_f1 = np.divide(2 * true_positive, per_label, out=np.zeros(len(per_label)), where=per_label > 0)
    pooled = per_label.sum()

    # rank of label j in example i, ties counted pessimistically: how many labels score >= s_ij
    at_least = (scores[:, None, :] >= scores[:, :, None]).sum(axis=2)
    coverage = np.where(gold, at_least, 0).max(axis=1)
    num_gold = gold.sum(axis=1)
    num_other = gold.shape[1] - num_gold
    # (gold k, non-gold l) pairs with s_ik <= s_il
    misordered = ((scores[:, :, None] <= scores[:, None, :]) & gold[:, :, None] & ~gold[:, None, :]).sum(axis=(1, 2))
    pairs = num_gold * num_other
    ranking = np.divide(misordered, pairs, out=np.zeros(len(pairs)), where=pairs > 0)

    return {
        "one_error": float(np.mean(~gold[rows, scores.argmax(axis=1)])),
        "hamming_loss": float(np.mean(predicted != gold)),
        "macro_f1": float(label_f1.mean()),
        "micro_f1": float(2 * true_positive.sum() / pooled) if pooled else 0.0,
        "coverage": float(coverage.mean()),
        "ranking_loss": float(ranking.mean()),
    }
