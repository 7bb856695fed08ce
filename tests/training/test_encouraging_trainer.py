"""The encouraging loss inside transformers' Trainer: ``compute_loss_func`` normalised by ``num_items_in_batch``
(gradient accumulation 2 x 2 equals one batch of 4, and both equal a hand-made SGD step), the bonus schedules,
the run-config ``loss:`` mapping, and ``lanco-hf train`` for translation and image classification."""

import contextlib
import io
import json
import math
from pathlib import Path

import pytest
import torch
from helpers import TINY_TRANSLATION_MODEL, tiny_config
from huggingface_hub import ModelCard
from transformers import (
    AutoModelForSeq2SeqLM,
    BertConfig,
    BertForSequenceClassification,
    Seq2SeqTrainingArguments,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from lanco_hf import EncouragingLoss
from lanco_hf.cli import main
from lanco_hf.training import BonusScheduleCallback, bonus_scale_at, make_compute_loss_func
from lanco_hf.training.arguments import LossArguments
from lanco_hf.training.loss_functions import build_loss, build_run_loss

CONFIG_DIR = Path(__file__).parents[2] / "configs"
LR = 0.5


def trainer_args(tmp_path, batch_size, accumulation, **overrides):
    settings = {
        "max_steps": 1,
        "learning_rate": LR,
        "optim": "sgd",
        "lr_scheduler_type": "constant",
        "weight_decay": 0.0,
        "max_grad_norm": 0.0,
        "use_cpu": True,
        "report_to": "none",
        "save_strategy": "no",
        "disable_tqdm": True,
        "seed": 0,
    }
    return TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=accumulation,
        **{**settings, **overrides},
    )


def seq2seq_examples():
    """Four pairs whose targets hold 6, 1, 2 and 1 tokens (-100 padding), so token means of micro-batches differ."""
    generator = torch.Generator().manual_seed(0)
    model = AutoModelForSeq2SeqLM.from_config(tiny_config())
    examples = []
    for length in (6, 1, 2, 1):
        labels = torch.full((6,), -100)
        labels[:length] = torch.randint(4, 99, (length,), generator=generator)
        examples.append(
            {
                "input_ids": torch.randint(4, 99, (5,), generator=generator),
                "attention_mask": torch.ones(5, dtype=torch.long),
                "decoder_input_ids": model.prepare_decoder_input_ids_from_labels(
                    labels.masked_fill(labels == -100, 0)[None]
                )[0],
                "labels": labels,
            }
        )
    return examples


def classification_examples():
    generator = torch.Generator().manual_seed(1)
    return [
        {
            "input_ids": torch.randint(4, 99, (6,), generator=generator),
            "attention_mask": torch.ones(6, dtype=torch.long),
            "labels": torch.tensor(label),
        }
        for label in (0, 2, 1, 2)
    ]


def fresh_model(kind):
    torch.manual_seed(0)
    if kind == "seq2seq":
        return AutoModelForSeq2SeqLM.from_config(tiny_config())
    config = BertConfig(
        vocab_size=99,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=3,
    )
    return BertForSequenceClassification(config)


def trained_parameters(kind, examples, tmp_path, batch_size, accumulation):
    model = fresh_model(kind)
    loss = EncouragingLoss(log_end=0.5, label_smoothing=0.1, bonus_label_smoothing=0.1)
    trainer = Trainer(
        model=model,
        args=trainer_args(tmp_path, batch_size, accumulation),
        train_dataset=examples,
        compute_loss_func=make_compute_loss_func(loss),
    )
    trainer.train()
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def hand_made_step(kind, examples, per_micro_batch_mean=False):
    """One SGD step on the encouraging loss: the sum over all non-ignored labels divided by their number (or, with
    ``per_micro_batch_mean``, the wrong average of two micro-batch means)."""
    model = fresh_model(kind)
    loss = EncouragingLoss(log_end=0.5, label_smoothing=0.1, bonus_label_smoothing=0.1)
    batch = {key: torch.stack([e[key] for e in examples]) for key in examples[0]}
    labels = batch.pop("labels")
    logits = model(**batch).logits
    if per_micro_batch_mean:
        value = (loss(logits[:2], labels[:2]) + loss(logits[2:], labels[2:])) / 2
    else:
        value = loss(logits, labels, reduction="sum") / (labels != -100).sum()
    value.backward()
    return {name: (p - LR * p.grad).detach() for name, p in model.named_parameters()}


@pytest.mark.parametrize("kind", ["seq2seq", "classification"])
def test_gradient_accumulation_2x2_equals_batch_4_through_the_trainer(kind, tmp_path):
    examples = seq2seq_examples() if kind == "seq2seq" else classification_examples()
    accumulated = trained_parameters(kind, examples, tmp_path / "ga", batch_size=2, accumulation=2)
    one_batch = trained_parameters(kind, examples, tmp_path / "bs4", batch_size=4, accumulation=1)
    expected = hand_made_step(kind, examples)
    for name, value in one_batch.items():
        torch.testing.assert_close(accumulated[name], value, atol=2e-6, rtol=1e-5, msg=name)
        torch.testing.assert_close(value, expected[name], atol=2e-6, rtol=1e-5, msg=name)
    if kind == "seq2seq":  # the check can fail: averaging micro-batch means gives another step
        wrong = hand_made_step(kind, examples, per_micro_batch_mean=True)
        assert max((wrong[n] - one_batch[n]).abs().max().item() for n in one_batch) > 1e-4


def test_compute_loss_func_divides_the_sum_by_num_items_in_batch():
    logits = torch.randn(2, 3, 7)
    labels = torch.tensor([[1, 2, -100], [3, -100, -100]])
    loss = EncouragingLoss(log_end=0.75)
    function = make_compute_loss_func(loss)
    total = loss(logits, labels, reduction="sum")
    torch.testing.assert_close(function({"logits": logits}, labels, num_items_in_batch=torch.tensor(10)), total / 10)
    torch.testing.assert_close(function((logits,), labels), total / 3)
    with pytest.raises(ValueError, match="labels are required"):
        function({"logits": logits}, None)
    with pytest.raises(ValueError, match="ignore_index=0 does not match the Trainer"):
        make_compute_loss_func(EncouragingLoss(ignore_index=0))


@pytest.mark.parametrize(
    "schedule, epoch, expected",
    [
        ("constant", 0.0, 1.0),
        ("linear", 1.5, 0.25),
        ("linear", 9.0, 1.0),
        ("exp", 2.0, math.exp(5 * (0.5 - 1))),
        ("cos", 2.0, 0.5),
        ("cos", 1.0 + 2.0 / 3.0, (math.cos(math.pi * (1 + 1 / 3)) + 1) / 2),
        ("linear", 0.5, 0.0),  # deferred
    ],
)
def test_bonus_scale_schedules(schedule, epoch, expected):
    ramp = None if schedule == "constant" else 2.0
    assert bonus_scale_at(epoch, schedule, defer_epochs=1.0 if schedule != "constant" else 0.0, ramp_epochs=ramp) == (
        pytest.approx(expected)
    )


class ScaleRecorder(TrainerCallback):
    def __init__(self, loss):
        self.loss, self.seen = loss, []

    def on_step_end(self, args, state, control, **kwargs):
        self.seen.append(self.loss.bonus_scale)


def test_schedule_callback_defers_and_ramps_the_bonus_during_training(tmp_path):
    loss = EncouragingLoss(rho=1.0, log_end=0.75)
    schedule = BonusScheduleCallback(loss, schedule="linear", defer_epochs=1.0, ramp_epochs=1.0)
    recorder = ScaleRecorder(loss)
    args = trainer_args(tmp_path, batch_size=1, accumulation=1, max_steps=-1, num_train_epochs=2, learning_rate=1e-3)
    Trainer(
        model=fresh_model("classification"),
        args=args,
        train_dataset=classification_examples(),
        compute_loss_func=make_compute_loss_func(loss),
        callbacks=[schedule, recorder],
    ).train()
    # 4 steps per epoch; the scale used by a step is set from the epoch reached before it
    assert recorder.seen == pytest.approx([0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.5, 0.75])
    assert schedule.to_dict() == {"schedule": "linear", "defer_epochs": 1.0, "ramp_epochs": 1.0, "exp_ratio": 5.0}


def test_run_config_loss_mapping_and_its_errors():
    args = Seq2SeqTrainingArguments(output_dir="unused", label_smoothing_factor=0.0)
    spec = {"name": "encouraging", "log_end": 0.5, "label_smoothing": 0.1, "bonus_label_smoothing": 0.1}
    run_loss = build_run_loss(LossArguments(loss=spec, loss_schedule={"schedule": "cos", "ramp_epochs": 3}), args)
    assert run_loss.to_dict() == {
        **EncouragingLoss(log_end=0.5, label_smoothing=0.1).to_dict(),
        "schedule": {"schedule": "cos", "defer_epochs": 0.0, "ramp_epochs": 3.0, "exp_ratio": 5.0},
    }
    assert run_loss.callbacks == [run_loss.schedule] and run_loss.compute_loss_func.loss is run_loss.loss
    assert build_run_loss(LossArguments(), args) is None
    smoothing = Seq2SeqTrainingArguments(output_dir="unused", label_smoothing_factor=0.1)
    with pytest.raises(ValueError, match="label_smoothing_factor=0.1 and loss.name='encouraging' are both set"):
        build_run_loss(LossArguments(loss=spec), smoothing)
    with pytest.raises(ValueError, match="loss_schedule needs a loss"):
        build_run_loss(LossArguments(loss_schedule={"schedule": "linear"}), args)
    with pytest.raises(ValueError, match="loss.name='encourage' is not supported; allowed values: 'encouraging'"):
        build_loss({"name": "encourage"})
    with pytest.raises(ValueError, match=r"loss has unknown settings \['logend'\]"):
        build_loss({"name": "encouraging", "logend": 0.5})
    with pytest.raises(ValueError, match=r"loss_schedule has unknown settings \['ramp'\]"):
        build_run_loss(LossArguments(loss=spec, loss_schedule={"schedule": "linear", "ramp": 2}), args)
    with pytest.raises(ValueError, match="ramp_epochs is required by schedule='exp'"):
        BonusScheduleCallback(EncouragingLoss(), schedule="exp")
    with pytest.raises(ValueError, match="schedule='step' is not supported"):
        BonusScheduleCallback(EncouragingLoss(), schedule="step", ramp_epochs=1)
    with pytest.raises(ValueError, match="defer_epochs=-1 is out of range"):
        BonusScheduleCallback(EncouragingLoss(), defer_epochs=-1)


TINY_TRANSLATION = [
    *TINY_TRANSLATION_MODEL,
    "max_steps=3",
    "per_device_train_batch_size=8",
    "save_strategy=no",
    "logging_steps=1",
    "warmup_steps=1",
    "max_test_samples=4",
    "max_new_tokens=8",
    "num_examples_to_show=1",
    "disable_tqdm=true",
    "max_train_minutes=null",
]
EL_TRANSLATION = [
    "label_smoothing_factor=0",
    "loss.name=encouraging",
    "loss.log_end=0.5",
    "loss.label_smoothing=0.1",
    "loss.bonus_label_smoothing=0.1",
    "loss_schedule.defer_epochs=0.01",
]


@pytest.mark.slow
def test_translation_run_with_the_encouraging_loss(verse_dataset, tmp_path):
    output = tmp_path / "el-run"
    with contextlib.redirect_stdout(io.StringIO()):
        main(
            [
                "train",
                str(CONFIG_DIR / "explicit_sparse_bible.yaml"),
                f"dataset={verse_dataset}",
                f"output_dir={output}",
                *TINY_TRANSLATION,
                *EL_TRANSLATION,
            ]
        )
    results = json.loads((output / "results.json").read_text())
    expected = EncouragingLoss(log_end=0.5, label_smoothing=0.1, bonus_label_smoothing=0.1).to_dict()
    assert results["loss"] == {
        **expected,
        "schedule": {"schedule": "constant", "defer_epochs": 0.01, "ramp_epochs": None, "exp_ratio": 5.0},
    }
    assert results["train_steps"] == 3 and results["reload_reproduces_examples"]
    card = ModelCard.load(output / "README.md")
    assert "arxiv.org/abs/2110.06537" in card.text and "@inproceedings{zhao2022well" in card.text
    assert "| log_end | 0.5 |" in card.text and "| bonus_label_smoothing | 0.1 |" in card.text
    with pytest.raises(ValueError, match="label_smoothing_factor=0.1 and loss.name='encouraging' are both set"):
        main(
            [
                "--debug",
                "train",
                str(CONFIG_DIR / "explicit_sparse_bible.yaml"),
                f"dataset={verse_dataset}",
                f"output_dir={tmp_path / 'refused'}",
                *TINY_TRANSLATION,
                *EL_TRANSLATION,
                "label_smoothing_factor=0.1",
            ]
        )
