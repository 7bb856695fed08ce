"""``scripts/run_classification.py`` end to end on tiny JSON Lines files: a multi-label label-graph classifier from
scratch, fine-tuning the saved result (tokenizer, vocabulary and labels kept), and a single-label transformers BERT
with the encouraging loss. The reported metrics equal the metric functions on the saved model's own predictions."""

import json

import numpy as np
import pytest
import torch
from helpers import load_script, write_jsonl
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, BertForSequenceClassification

from lanco_hf import LabelGraphForSequenceClassification
from lanco_hf.evaluation import classification_metrics, multilabel_metrics

run_classification = load_script("run_classification")

WORDS = {"rock": ["guitar", "loud"], "jazz": ["saxophone", "swing"], "folk": ["fiddle", "village"]}
FILLER = ["a", "song", "with", "the", "old", "new", "band", "night"]
TINY_ENCODER = (
    "encoder_config.hidden_size=32,encoder_config.num_hidden_layers=1,encoder_config.num_attention_heads=2,"
    "encoder_config.intermediate_size=64"
)
TINY_BERT = "hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64"
COMMON = [
    *("--do_train --do_eval --do_predict --max_steps 3 --per_device_train_batch_size 8 --learning_rate 3e-3".split()),
    *("--report_to none --save_strategy no --disable_tqdm true --tokenizer_vocab_size 100".split()),
]


def examples(count: int, seed: int, multi_label: bool) -> list[dict]:
    rng = np.random.default_rng(seed)
    names, rows = sorted(WORDS), []
    for _ in range(count):
        chosen = sorted(rng.choice(names, size=rng.integers(1, 3), replace=False)) if multi_label else [names[_ % 3]]
        words = [word for name in chosen for word in WORDS[name]] + list(rng.choice(FILLER, size=3))
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": list(chosen) if multi_label else chosen[0]})
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("texts")
    layouts = {}
    for kind, multi_label in (("multi", True), ("single", False)):
        rows = {"train": examples(32, 0, multi_label), "validation": examples(8, 1, multi_label)}
        rows["test"] = examples(8, 2, multi_label)
        layouts[kind] = {
            "rows": rows,
            "args": [
                *("--train_file", write_jsonl(folder / f"{kind}_train.jsonl", rows["train"])),
                *("--validation_file", write_jsonl(folder / f"{kind}_validation.jsonl", rows["validation"])),
                *("--test_file", write_jsonl(folder / f"{kind}_test.jsonl", rows["test"])),
            ],
        }
    return layouts


@torch.no_grad()
def saved_logits(output_dir, texts):
    """Logits of the saved model and tokenizer, one text at a time (no padding)."""
    model = AutoModelForSequenceClassification.from_pretrained(output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    return model, np.stack([model(**tokenizer(text, return_tensors="pt")).logits[0].numpy() for text in texts])


def check_multilabel_results(output_dir, results, rows):
    model, logits = saved_logits(output_dir, [row["text"] for row in rows])
    names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    gold = np.array([[name in row["label"] for name in names] for row in rows], dtype=int)
    expected = multilabel_metrics(1 / (1 + np.exp(-logits.astype(np.float64))), gold, model.config.threshold)
    for name, value in expected.items():
        assert results[f"eval_{name}"] == pytest.approx(value, abs=1e-5), name
    return model


@pytest.mark.slow
def test_label_graph_from_scratch_then_fine_tune_then_bert(data, tmp_path):
    scratch = tmp_path / "scratch"
    results = run_classification.main(
        [*COMMON, *data["multi"]["args"], "--model_type", "label_graph", "--config_overrides", TINY_ENCODER]
        + ["--output_dir", str(scratch)]
    )
    model = check_multilabel_results(scratch, results, data["multi"]["rows"]["validation"])
    assert isinstance(model, LabelGraphForSequenceClassification) and model.config.encoder_config.hidden_size == 32
    assert list(model.config.id2label.values()) == ["folk", "jazz", "rock"]
    assert json.loads((scratch / "all_results.json").read_text())["eval_micro_f1"] == results["eval_micro_f1"]
    predicted = (scratch / "predict_results.txt").read_text().splitlines()
    assert len(predicted) == 1 + len(data["multi"]["rows"]["test"])

    tuned = tmp_path / "tuned"
    results = run_classification.main(
        [*COMMON, *data["multi"]["args"], "--model_name_or_path", str(scratch), "--output_dir", str(tuned)]
    )
    tuned_model = check_multilabel_results(tuned, results, data["multi"]["rows"]["validation"])
    assert AutoTokenizer.from_pretrained(tuned).get_vocab() == AutoTokenizer.from_pretrained(scratch).get_vocab()
    assert tuned_model.config.id2label == model.config.id2label
    assert not torch.equal(tuned_model.classifier.weight, model.classifier.weight)

    bert = tmp_path / "bert"
    results = run_classification.main(
        [*COMMON, *data["single"]["args"], "--model_type", "bert", "--config_overrides", TINY_BERT]
        + ["--loss", "encouraging", "--log_end", "0.5", "--output_dir", str(bert)]
    )
    rows = data["single"]["rows"]["validation"]
    model, logits = saved_logits(bert, [row["text"] for row in rows])
    assert isinstance(model, BertForSequenceClassification)
    gold = [model.config.label2id[row["label"]] for row in rows]
    expected = classification_metrics(logits.argmax(-1), gold)
    assert results["eval_accuracy"] == expected["accuracy"]
    assert results["eval_mean_class_accuracy"] == expected["mean_class_accuracy"]
    assert json.loads((bert / "train_results.json").read_text())["loss_function"]["name"] == "encouraging"

    # a transformers checkpoint without a classification head (a bare BERT encoder) gets a new head for the labels
    bare = tmp_path / "bare_encoder"
    AutoModel.from_pretrained(bert).save_pretrained(bare)
    AutoTokenizer.from_pretrained(bert).save_pretrained(bare)
    headed = tmp_path / "headed"
    results = run_classification.main(
        [*COMMON, *data["single"]["args"], "--model_name_or_path", str(bare), "--output_dir", str(headed)]
    )
    model, logits = saved_logits(headed, [row["text"] for row in rows])
    assert isinstance(model, BertForSequenceClassification) and model.config.label2id == {
        "folk": 0,
        "jazz": 1,
        "rock": 2,
    }
    assert results["eval_accuracy"] == classification_metrics(logits.argmax(-1), gold)["accuracy"]


def test_bad_arguments_name_the_field(data, tmp_path):
    with pytest.raises(ValueError, match="loss='encouraging' scores one label per example"):
        run_classification.main(
            [*COMMON, *data["multi"]["args"], "--model_type", "bert", "--loss", "encouraging"]
            + ["--output_dir", str(tmp_path)]
        )
    with pytest.raises(ValueError, match=r"the train split has no column \['sentence'\]"):
        run_classification.main(
            [*COMMON, *data["single"]["args"], "--model_type", "bert", "--text_column_names", "sentence"]
            + ["--output_dir", str(tmp_path)]
        )
    with pytest.raises(ValueError, match="label_graph model is multi_label_classification but the data is single"):
        run_classification.main(
            [*COMMON, *data["single"]["args"], "--model_type", "label_graph", "--output_dir", str(tmp_path)]
        )
    with pytest.raises(ValueError, match="config_overrides key 'hidden' is not a config field"):
        run_classification.main(
            [*COMMON, *data["single"]["args"], "--model_type", "bert", "--config_overrides", "hidden=3"]
            + ["--output_dir", str(tmp_path)]
        )
