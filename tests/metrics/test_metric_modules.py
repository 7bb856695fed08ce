"""The lanco ``evaluate`` modules (``lanco_hf.metrics``) equal the plain functions they wrap, through ``compute`` and
through ``add_batch`` + ``compute``, load with networking disabled, and serve as ``Trainer`` ``compute_metrics``."""

import json
import os
import subprocess
import sys

import evaluate
import numpy as np
import pytest
import sacrebleu
import torch
from transformers import EvalPrediction

from lanco_hf import metrics
from lanco_hf.data.tokenizer import train_bpe_tokenizer
from lanco_hf.evaluation.classification import classification_metrics
from lanco_hf.evaluation.multilabel import multilabel_metrics
from lanco_hf.evaluation.retrieval import recall_at_k
from lanco_hf.evaluation.translation import translation_scores

HYPOTHESES = ["the cat sat on the mat", "a dog ran in the park today", "he said nothing at all", "it rains", "yes"]
REFERENCES = ["the cat sat on a mat", "a dog ran through the park", "he said nothing", "it is raining", "no"]


def multilabel_case(seed=0, n=23, m=6):
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, m)) < 0.3).astype(np.int32)
    scores = np.clip(0.5 * labels + 0.6 * rng.random((n, m)), 0, 1)
    scores[0, :2] = scores[0, 2]  # ties
    return scores, labels


def retrieval_case(seed=0, n=9):
    rng = np.random.default_rng(seed)
    relevant = np.eye(n, dtype=np.int32)
    relevant[3, 4] = relevant[4, 3] = 1  # captions 3 and 4 describe both images
    scores = rng.normal(size=(n, n)) + 1.5 * relevant
    scores[5, 6] = scores[5, 5]  # a tie against the relevant image
    return scores, relevant


def in_batches(module, predictions, references, sizes=(4, 1, 7)):
    """``add_batch`` over uneven slices of the inputs (the rest in the last batch)."""
    start = 0
    for size in (*sizes, len(predictions)):
        module.add_batch(predictions=predictions[start : start + size], references=references[start : start + size])
        start += size
        if start >= len(predictions):
            break


@pytest.fixture(scope="module")
def modules():
    return {name: metrics.load(name) for name in metrics.METRICS}


def test_path_names_a_folder_with_the_module_script_and_refuses_unknown_names():
    for name in metrics.METRICS:
        assert os.path.isfile(os.path.join(metrics.path(name), f"{name}.py"))
    with pytest.raises(ValueError, match=r"name='bleu'.*allowed values: 'multilabel', 'retrieval', 'bleu_chrf'"):
        metrics.path("bleu")


@pytest.mark.parametrize("threshold", [0.5, 0.35])
def test_multilabel_module_equals_multilabel_metrics(modules, threshold):
    scores, labels = multilabel_case()
    expected = multilabel_metrics(scores, labels, threshold)
    assert modules["multilabel"].compute(predictions=scores, references=labels, threshold=threshold) == expected
    in_batches(modules["multilabel"], scores, labels)
    assert modules["multilabel"].compute(threshold=threshold) == expected


def test_retrieval_module_equals_recall_at_k(modules):
    scores, relevant = retrieval_case()
    expected = recall_at_k(torch.tensor(scores), torch.tensor(relevant, dtype=torch.bool), (1, 2, 5))
    assert expected["t2i_recall@1"] < 1  # the tie counts against the model
    assert modules["retrieval"].compute(predictions=scores, references=relevant, ks=[1, 2, 5]) == expected
    in_batches(modules["retrieval"], scores, relevant)
    assert modules["retrieval"].compute(ks=[1, 2, 5]) == expected


def test_bleu_chrf_module_equals_sacrebleu(modules):
    expected = translation_scores(HYPOTHESES, REFERENCES)
    assert expected["bleu"] == sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES]).score
    assert modules["bleu_chrf"].compute(predictions=HYPOTHESES, references=REFERENCES) == expected
    in_batches(modules["bleu_chrf"], HYPOTHESES, REFERENCES, sizes=(2,))
    assert modules["bleu_chrf"].compute() == expected


def test_classification_module_equals_classification_metrics(modules):
    rng = np.random.default_rng(1)
    references = rng.integers(0, 4, size=31)
    predictions = np.where(rng.random(31) < 0.6, references, rng.integers(0, 4, size=31))
    expected = classification_metrics(predictions, references)
    per_class = [np.mean(predictions[references == c] == c) for c in np.unique(references)]
    assert expected == {"accuracy": np.mean(predictions == references), "mean_class_accuracy": np.mean(per_class)}
    assert modules["classification"].compute(predictions=predictions, references=references) == expected
    in_batches(modules["classification"], predictions, references)
    assert modules["classification"].compute() == expected


def test_trainer_compute_metrics_go_through_the_modules(modules):
    scores, labels = multilabel_case(seed=3)
    logits = np.log(scores + 1e-3) - np.log1p(1e-3 - scores)
    multilabel = metrics.multilabel_compute_metrics(0.4, modules["multilabel"])
    assert multilabel(EvalPrediction(logits, labels.astype(np.float32))) == pytest.approx(
        multilabel_metrics(EvalPrediction(logits, labels), threshold=0.4), abs=1e-12
    )

    class_logits = np.random.default_rng(4).normal(size=(12, 3))
    gold = np.arange(12) % 3
    classification = metrics.classification_compute_metrics(modules["classification"])
    assert classification(EvalPrediction(class_logits, gold)) == classification_metrics(class_logits.argmax(-1), gold)

    scores, relevant = retrieval_case(seed=5)
    recall = metrics.retrieval_recall(modules["retrieval"])
    assert recall(torch.tensor(scores), torch.tensor(relevant, dtype=torch.bool), (1, 3)) == recall_at_k(
        torch.tensor(scores), torch.tensor(relevant, dtype=torch.bool), (1, 3)
    )

    tokenizer = train_bpe_tokenizer(HYPOTHESES + REFERENCES, vocab_size=300, min_frequency=1)
    generated = tokenizer(HYPOTHESES, padding=True)["input_ids"]
    labels = np.array(tokenizer(REFERENCES, padding=True)["input_ids"])
    labels[labels == tokenizer.pad_token_id] = -100  # what DataCollatorForSeq2Seq pads labels with
    translation = metrics.translation_compute_metrics(tokenizer, modules["bleu_chrf"])
    assert translation(EvalPrediction(np.array(generated), labels)) == translation_scores(HYPOTHESES, REFERENCES)


OFFLINE_SCRIPT = """
import json, sys
import evaluate
import huggingface_hub
import lanco_hf

assert huggingface_hub.constants.HF_HUB_OFFLINE and evaluate.config.HF_EVALUATE_OFFLINE
out = {}
for name in lanco_hf.metrics.METRICS:
    module = evaluate.load(lanco_hf.metrics.path(name))
    out[name] = type(module).__name__
out["bleu_chrf"] = evaluate.load(lanco_hf.metrics.path("bleu_chrf")).compute(
    predictions=["a b c d e"], references=["a b c d f"]
)
print(json.dumps(out))
"""


@pytest.mark.slow
def test_every_module_loads_with_networking_disabled(tmp_path):
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_EVALUATE_OFFLINE": "1",  # evaluate's own switch
        "HF_MODULES_CACHE": str(tmp_path / "modules"),  # a cold module cache: nothing loaded before
        "HF_ENDPOINT": "http://127.0.0.1:9",  # nothing listens there
    }
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT], env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert {name: loaded[name] for name in ("multilabel", "retrieval", "classification")} == {
        "multilabel": "Multilabel",
        "retrieval": "Retrieval",
        "classification": "Classification",
    }
    assert loaded["bleu_chrf"] == translation_scores(["a b c d e"], ["a b c d f"])


def test_evaluate_combine_takes_the_modules(modules):
    """The modules are ordinary ``evaluate`` modules: ``evaluate.combine`` merges their results."""
    combined = evaluate.combine([modules["classification"]])
    assert combined.compute(predictions=[0, 1, 1], references=[0, 1, 0]) == classification_metrics([0, 1, 1], [0, 1, 0])
