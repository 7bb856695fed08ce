"""``Trainer`` ``compute_metrics`` functions computed through the lanco ``evaluate`` modules."""

from __future__ import annotations

import numpy as np

from .loading import load


def _logits(prediction) -> np.ndarray:
    predictions = prediction.predictions
    return np.asarray(predictions[0] if isinstance(predictions, tuple) else predictions, dtype=np.float64)


def translation_compute_metrics(tokenizer, metric=None):
    """``compute_metrics`` of a ``Seq2SeqTrainer`` with ``predict_with_generate=True``: corpus BLEU / chrF (module
    ``"bleu_chrf"``) of the generated translations against the decoded labels (``eval_bleu`` / ``eval_chrf``)."""
    metric = metric or load("bleu_chrf")

    def compute_metrics(prediction):
        predictions, labels = _logits(prediction).astype(np.int64), np.asarray(prediction.label_ids)
        predictions = np.where(predictions < 0, tokenizer.pad_token_id, predictions)
        labels = np.where(labels < 0, tokenizer.pad_token_id, labels)
        hypotheses = [text.strip() for text in tokenizer.batch_decode(predictions, skip_special_tokens=True)]
        references = [text.strip() for text in tokenizer.batch_decode(labels, skip_special_tokens=True)]
        return metric.compute(predictions=hypotheses, references=references)

    return compute_metrics


def multilabel_compute_metrics(threshold: float = 0.5, metric=None):
    """``compute_metrics`` of a multi-label classifier: its logits become sigmoid scores, scored by the
    ``"multilabel"`` module at ``threshold`` against the multi-hot labels."""
    metric = metric or load("multilabel")

    def compute_metrics(prediction):
        scores = 1.0 / (1.0 + np.exp(-_logits(prediction)))
        references = np.asarray(prediction.label_ids).astype(np.int32)
        return metric.compute(predictions=scores, references=references, threshold=threshold)

    return compute_metrics


def classification_compute_metrics(metric=None):
    """``compute_metrics`` of a single-label classifier: the argmax of its logits, scored by the
    ``"classification"`` module (accuracy, mean class accuracy)."""
    metric = metric or load("classification")

    def compute_metrics(prediction):
        predicted = _logits(prediction).argmax(-1)
        return metric.compute(predictions=predicted, references=np.asarray(prediction.label_ids).astype(np.int64))

    return compute_metrics


def retrieval_recall(metric=None):
    """``recall(scores, relevant, ks)`` computed by the ``"retrieval"`` module, the drop-in for
    ``lanco_hf.evaluation.retrieval.recall_at_k`` that ``retrieval_metrics(..., recall=...)`` takes."""
    metric = metric or load("retrieval")

    def recall(scores, relevant, ks):
        scores = np.asarray(scores, dtype=np.float64)
        return metric.compute(predictions=scores, references=np.asarray(relevant).astype(np.int32), ks=list(ks))

    return recall
