"""``lanco_hf.evaluation.multilabel_metrics`` against scikit-learn's implementations and hand-computed cases."""

import functools

import numpy as np
import pytest
from sklearn.metrics import coverage_error, f1_score, hamming_loss, label_ranking_loss
from transformers import EvalPrediction

from lanco_hf.evaluation import multilabel_metrics


def random_case(seed, n=200, m=9):
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, m)) < 0.25).astype(int)
    labels[:, -1] = 0  # a label never gold ...
    scores = np.round(rng.random((n, m)), 1)  # ... and many ties
    scores[:, -1] = 0.0  # ... nor predicted: its F1 is 0 (zero_division=0)
    labels[0] = 0  # an example without gold labels
    labels[1, :-1] = 1  # and one with every (used) label gold
    return scores, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.3, 0.5])
def test_metrics_equal_scikit_learn(seed, threshold):
    scores, labels = random_case(seed)
    metrics = multilabel_metrics(scores, labels, threshold)
    predicted = (scores > threshold).astype(int)
    assert metrics["hamming_loss"] == pytest.approx(hamming_loss(labels, predicted), abs=1e-12)
    assert metrics["macro_f1"] == pytest.approx(
        f1_score(labels, predicted, average="macro", zero_division=0), abs=1e-12
    )
    assert metrics["micro_f1"] == pytest.approx(
        f1_score(labels, predicted, average="micro", zero_division=0), abs=1e-12
    )
    assert metrics["coverage"] == pytest.approx(coverage_error(labels, scores), abs=1e-12)
    assert metrics["ranking_loss"] == pytest.approx(label_ranking_loss(labels, scores), abs=1e-12)


def test_one_error_by_hand():
    scores = np.array(
        [
            [0.9, 0.8, 0.1],  # top label 0 is gold
            [0.2, 0.7, 0.6],  # top label 1 is not gold
            [0.5, 0.5, 0.1],  # tie between 0 and 1: the first (0) counts, and it is not gold
            [0.1, 0.2, 0.3],  # no gold label: an error
        ]
    )
    labels = np.array([[1, 0, 0], [1, 0, 1], [0, 1, 0], [0, 0, 0]])
    assert multilabel_metrics(scores, labels, 0.5)["one_error"] == pytest.approx(3 / 4)


def test_small_case_by_hand():
    scores = np.array([[0.9, 0.6, 0.1], [0.2, 0.7, 0.4]])
    labels = np.array([[1, 0, 1], [0, 1, 1]])
    metrics = multilabel_metrics(scores, labels, 0.5)
    # predictions: [1, 1, 0] and [0, 1, 0] -> TP 2, FP 1, FN 2
    assert metrics["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert metrics["hamming_loss"] == pytest.approx(3 / 6)
    # per label: F1 = 1 (TP 1), 2/3 (TP 1, FP 1), 0 (FN 2)
    assert metrics["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    # gold label 2 of example 0 is ranked last (3); example 1's gold labels are ranked 1 and 2
    assert metrics["coverage"] == pytest.approx((3 + 2) / 2)
    # example 0: pairs (0 > 1 ok), (2 < 1 wrong) -> 1/2; example 1: both gold above label 0 -> 0
    assert metrics["ranking_loss"] == pytest.approx(0.25)


def test_trainer_compute_metrics_reads_logits():
    scores, labels = random_case(3)
    scores = np.clip(scores, 0.05, 0.95)
    logits = np.log(scores) - np.log1p(-scores)
    compute_metrics = functools.partial(multilabel_metrics, threshold=0.4)
    from_trainer = compute_metrics(EvalPrediction(predictions=logits, label_ids=labels.astype(np.float32)))
    direct = multilabel_metrics(scores, labels, 0.4)
    assert from_trainer.keys() == direct.keys()
    for key in direct:
        assert from_trainer[key] == pytest.approx(direct[key], abs=1e-9)


@pytest.mark.parametrize(
    ("scores", "labels", "threshold", "message"),
    [
        (np.zeros((3, 2)), np.zeros((3, 3)), 0.5, "same shape"),
        (np.zeros(3), np.zeros(3), 0.5, "same shape"),
        (np.zeros((2, 2)), np.array([[0, 2], [1, 0]]), 0.5, "multi-hot"),
        (np.zeros((2, 2)), np.zeros((2, 2)), 1.5, "threshold=1.5"),
        (np.zeros((2, 2)), None, 0.5, "labels is required"),
    ],
)
def test_bad_inputs_are_rejected(scores, labels, threshold, message):
    with pytest.raises(ValueError, match=message):
        multilabel_metrics(scores, labels, threshold)
