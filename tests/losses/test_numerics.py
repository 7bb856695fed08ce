"""Numerics: every lanco loss stays finite (value and gradient) under fp16 / bf16 autocast on logits of +-1e4 and
matches its float64 value; a Trainer run stops with a clear message on the first NaN loss instead of training on."""

import functools
import math

import pytest
import torch
from torch import nn
from transformers import Trainer, TrainerCallback, TrainingArguments

from lanco_hf import LabelGraphConfig, LabelGraphForSequenceClassification
from lanco_hf.losses.encouraging import EncouragingLoss
from lanco_hf.modeling.imbalance_losses import ReNodeLoss
from lanco_hf.modeling.modeling_lanco import seq2seq_cross_entropy
from lanco_hf.training.nan_guard import NonFiniteLossError, check_finite_loss, guard_nan_loss

DTYPES = [torch.float16, torch.bfloat16]
CLASSES = 6


def extreme_logits(dtype, rows=8):
    """+-1e4 logits; row 0 puts -1e4 on the gold class (0) and +1e4 elsewhere, row 1 the reverse."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.where(torch.rand(rows, CLASSES, generator=generator) < 0.5, -1e4, 1e4)
    logits[0] = 1e4
    logits[0, 0] = -1e4
    logits[1] = -1e4
    logits[1, 0] = 1e4
    return logits.to(dtype)


LABELS = torch.tensor([0, 0, 1, 2, 3, 4, 5, -100])
COUNTS = torch.tensor([5, 1, 2, 8, 3, 1])
MULTI_LABELS = (torch.arange(8 * CLASSES).reshape(8, CLASSES) % 3 == 0).float()


def label_graph_loss(graph_position):
    config = LabelGraphConfig(
        num_labels=CLASSES,
        graph_position=graph_position,
        soft_training=True,
        encoder_config=dict(
            vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8
        ),
    )
    model = LabelGraphForSequenceClassification(config)
    graph = 0.7 * torch.eye(CLASSES) + 0.3 / CLASSES  # column-stochastic, off-diagonal mass

    def loss(logits):
        g = graph.to(logits.dtype)
        return model.multilabel_loss(model.apply_graph(logits, g), MULTI_LABELS.to(logits.dtype), g)

    return loss


LOSSES = {
    "seq2seq-ce": lambda z: seq2seq_cross_entropy(z.reshape(2, 4, CLASSES), LABELS.reshape(2, 4)),
    "encouraging": lambda z: EncouragingLoss()(z, LABELS),
    "encouraging-conservative-smoothed": lambda z: EncouragingLoss(
        log_end=0.75, label_smoothing=0.1, bonus_label_smoothing=0.1
    )(z, LABELS),
    "encouraging-focal-weighted": lambda z: EncouragingLoss(
        base_loss="focal", focal_gamma=2.0, bonus_weights=[1.0, 2.0, 0.5, 1.0, 1.0, 3.0]
    )(z, LABELS),
    **{
        f"renode-{kind}": lambda z, kind=kind: ReNodeLoss(kind)(z[:7], LABELS[:7], COUNTS)
        for kind in ("ce", "re-weight", "focal", "cb-softmax")
    },
    "label-graph-after-sigmoid": label_graph_loss("after_sigmoid"),
    "label-graph-before-sigmoid": label_graph_loss("before_sigmoid"),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", LOSSES)
def test_loss_is_finite_on_extreme_logits_under_autocast(name, dtype):
    loss_fn = LOSSES[name]
    logits = extreme_logits(dtype).requires_grad_()
    with torch.autocast("cpu", dtype=dtype):
        value = loss_fn(logits)
    value.backward()
    assert torch.isfinite(value), f"{name}: {value}"
    assert torch.isfinite(logits.grad).all(), name

    reference = loss_fn(extreme_logits(torch.float64))
    assert math.isfinite(reference.item())
    torch.testing.assert_close(value.double(), reference.double(), rtol=2e-2, atol=1e-2)


def test_cross_entropy_matches_the_formula_on_extreme_logits():
    logits = extreme_logits(torch.float16)
    with torch.autocast("cpu", dtype=torch.float16):
        value = seq2seq_cross_entropy(logits.reshape(2, 4, CLASSES), LABELS.reshape(2, 4))
    z, keep = logits.double(), LABELS != -100
    per_token = torch.logsumexp(z, -1) - z.gather(1, LABELS.clamp(min=0)[:, None])[:, 0]
    assert torch.isclose(value.double(), per_token[keep].mean(), rtol=1e-3)
    assert math.isclose(per_token[0], 2e4 + math.log(CLASSES - 1))  # gold at -1e4, five at +1e4: huge but finite


class NaNAtStep(nn.Module):
    """A linear regressor whose loss turns NaN at its ``bad_call``-th forward pass."""

    def __init__(self, bad_call: int):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.bad_call, self.calls = bad_call, 0

    def forward(self, x, labels):
        self.calls += 1
        loss = (self.linear(x)[:, 0] - labels).pow(2).mean()
        return {"loss": loss * float("nan") if self.calls == self.bad_call else loss}


class Points(torch.utils.data.Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, index):
        x = torch.tensor([index / 64, 1.0])
        return {"x": x, "labels": 2 * x[0]}


class WeightsAfterEachStep(TrainerCallback):
    def __init__(self):
        self.weights = {}

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.weights[state.global_step] = model.linear.weight.detach().clone()


def trainer_for(model, tmp_path):
    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=6,
        per_device_train_batch_size=4,
        learning_rate=0.1,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=True,
        use_cpu=True,
    )
    return Trainer(model=model, args=args, train_dataset=Points())


def test_nan_loss_stops_training_naming_the_step(tmp_path):
    model = NaNAtStep(bad_call=3)
    trainer = guard_nan_loss(trainer_for(model, tmp_path))
    snapshot = WeightsAfterEachStep()
    trainer.add_callback(snapshot)
    with pytest.raises(NonFiniteLossError, match=r"training loss is nan at step 3; stopping before the optimizer step"):
        trainer.train()
    assert trainer.state.global_step == 2
    assert torch.equal(model.linear.weight, snapshot.weights[2])  # the NaN batch changed nothing
    assert torch.isfinite(model.linear.weight).all()


def test_without_the_guard_the_trainer_silently_trains_on(tmp_path):
    """Why the guard exists: transformers' Trainer finishes the run and the weights are NaN."""
    model = NaNAtStep(bad_call=3)
    trainer_for(model, tmp_path).train()
    assert torch.isnan(model.linear.weight).all()


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_check_finite_loss(value):
    check_finite_loss(torch.tensor(1.5), step=1)
    with pytest.raises(NonFiniteLossError, match="at step 7"):
        check_finite_loss(torch.tensor(value), step=7)


def test_translation_job_stops_on_a_nan_loss(verse_dataset, tmp_path, monkeypatch):
    """The guard is wired into `lanco-hf train`: the third forward pass of the model returns NaN logits."""
    from helpers import CONFIG_DIR, TINY_TRANSLATION_RUN

    from lanco_hf.cli import main
    from lanco_hf.modeling.modeling_lanco import LancoForConditionalGeneration

    forward, calls = LancoForConditionalGeneration.forward, []

    @functools.wraps(forward)  # the Trainer reads the signature to pick the dataset columns
    def nan_at_third_call(self, *args, **kwargs):
        outputs = forward(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 3:
            outputs.logits = outputs.logits * float("nan")
            outputs.loss = None if outputs.loss is None else outputs.loss * float("nan")
        return outputs

    monkeypatch.setattr(LancoForConditionalGeneration, "forward", nan_at_third_call)
    with pytest.raises(NonFiniteLossError, match="training loss is nan at step 3"):
        main(
            [
                "--debug",
                "train",
                str(CONFIG_DIR / "explicit_sparse_bible.yaml"),
                f"dataset={verse_dataset}",
                f"output_dir={tmp_path / 'run'}",
                *TINY_TRANSLATION_RUN,
                "save_steps=100",
            ]
        )
