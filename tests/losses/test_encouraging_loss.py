"""EncouragingLoss against formulas computed here from the paper's definitions (float64, by hand), its
analytic gradients, the imbalanced-classification form, mixed precision, serialisation and bad arguments."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from lanco_hf import EncouragingLoss
from lanco_hf.losses import effective_number_weights


def reference_bonus(p: torch.Tensor, log_end: float) -> torch.Tensor:
    """b_LE(p): log(max(1 - p, 1e-5)) up to log_end, the tangent line of log(1 - p) at log_end above it."""
    log_branch = torch.log(torch.clamp(1 - p, min=1e-5))
    if log_end == 1.0:
        return log_branch
    tangent = math.log(1 - log_end) - (p - log_end) / (1 - log_end)
    return torch.where(p > log_end, tangent, log_branch)


def reference_loss(logits, labels, rho=1.0, log_end=1.0, eps=0.0, eps_bonus=0.0, weights=None):
    """Per-example fairseq-style label-smoothed EL, in float64."""
    log_p = logits.double().log_softmax(-1)
    p = log_p.exp()
    num_classes = p.shape[-1]
    rows = torch.arange(len(labels))
    p_y = p[rows, labels]
    nll = (1 - eps) * -log_p[rows, labels] + eps / num_classes * -log_p.sum(-1)
    w = torch.ones(num_classes, dtype=torch.float64) if weights is None else torch.tensor(weights, dtype=torch.float64)
    bonus = (1 - eps_bonus) * w[labels] * reference_bonus(p_y, log_end)
    bonus = bonus + eps_bonus / num_classes * (w * reference_bonus(p, log_end)).sum(-1)
    return nll + rho * bonus


def logits_and_labels(batch=6, classes=5, scale=2.0, seed=0):
    generator = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(batch, classes, generator=generator)
    labels = torch.randint(0, classes, (batch,), generator=generator)
    return logits, labels


def test_plain_bonus_gradient_is_minus_one_on_target_and_p_over_one_minus_p_y_elsewhere():
    logits, labels = logits_and_labels()
    logits.requires_grad_()
    EncouragingLoss(rho=1.0, log_end=1.0, reduction="sum")(logits, labels).backward()
    p = logits.detach().double().softmax(-1)
    p_y = p[torch.arange(len(labels)), labels]
    expected = p / (1 - p_y)[:, None]
    expected[torch.arange(len(labels)), labels] = -1.0
    torch.testing.assert_close(logits.grad.double(), expected, atol=2e-6, rtol=0)


def test_gradient_magnitude_does_not_vanish_for_confident_examples_unlike_cross_entropy():
    logits = torch.tensor([[6.0, 0.0, 0.0, 0.0]], requires_grad=True)  # p_y ~ 0.993
    labels = torch.tensor([0])
    EncouragingLoss(log_end=1.0)(logits, labels).backward()
    assert logits.grad[0, 0].item() == pytest.approx(-1.0, abs=1e-5)
    ce_logits = logits.detach().clone().requires_grad_()
    F.cross_entropy(ce_logits, labels).backward()
    assert abs(ce_logits.grad[0, 0].item()) < 0.01


def test_conservative_bonus_uses_the_tangent_above_log_end():
    log_end, rho = 0.5, 0.7
    logits = torch.tensor([[3.0, 0.0, 0.0, 0.0, 0.0], [0.2, 0.0, 0.1, -0.3, 0.0]], requires_grad=True)
    labels = torch.tensor([0, 1])  # p_y ~ 0.83 (tangent branch) and ~ 0.19 (log branch)
    loss = EncouragingLoss(rho=rho, log_end=log_end, reduction="none")(logits, labels)
    p = logits.detach().double().softmax(-1)
    p_y = p[[0, 1], labels]
    assert p_y[0] > log_end > p_y[1]
    expected_values = torch.stack(
        [
            -torch.log(p_y[0]) + rho * (math.log(1 - log_end) - (p_y[0] - log_end) / (1 - log_end)),
            -torch.log(p_y[1]) + rho * torch.log(1 - p_y[1]),
        ]
    )
    torch.testing.assert_close(loss.double(), expected_values, atol=1e-6, rtol=0)

    loss.sum().backward()
    one_hot = F.one_hot(labels, 5).double()
    ce_grad = p - one_hot
    # above log_end: d b_LE / dz_y = -p_y (1 - p_y) / (1 - LE), d b_LE / dz_j = p_y p_j / (1 - LE)
    tangent_grad = p[0] * p_y[0] / (1 - log_end)
    tangent_grad[0] = -p_y[0] * (1 - p_y[0]) / (1 - log_end)
    # below: the plain bonus, d b / dz_y = -p_y, d b / dz_j = p_y p_j / (1 - p_y)
    log_grad = p[1] * p_y[1] / (1 - p_y[1])
    log_grad[1] = -p_y[1]
    expected_grad = ce_grad + rho * torch.stack([tangent_grad, log_grad])
    torch.testing.assert_close(logits.grad.double(), expected_grad, atol=1e-6, rtol=0)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_rho_zero_is_cross_entropy(label_smoothing):
    logits, labels = logits_and_labels(batch=8, classes=7)
    labels[2] = -100
    a = logits.clone().requires_grad_()
    b = logits.clone().requires_grad_()
    ours = EncouragingLoss(rho=0.0, label_smoothing=label_smoothing)(a, labels)
    theirs = F.cross_entropy(b, labels, ignore_index=-100, label_smoothing=label_smoothing)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    torch.testing.assert_close(a.grad, b.grad, atol=1e-7, rtol=0)


@pytest.mark.parametrize("log_end", [1.0, 0.75, 0.5])
@pytest.mark.parametrize("eps, eps_bonus", [(0.1, 0.1), (0.1, 0.0), (0.0, 0.2), (0.2, 0.05)])
def test_label_smoothed_forms_match_the_fairseq_formula(log_end, eps, eps_bonus):
    logits, labels = logits_and_labels(batch=10, classes=6, scale=3.0)
    loss = EncouragingLoss(
        rho=0.8, log_end=log_end, label_smoothing=eps, bonus_label_smoothing=eps_bonus, reduction="none"
    )
    expected = reference_loss(logits, labels, rho=0.8, log_end=log_end, eps=eps, eps_bonus=eps_bonus)
    torch.testing.assert_close(loss(logits, labels).double(), expected, atol=2e-5, rtol=0)


@pytest.mark.parametrize("log_end", [1.0, 0.75, 0.5])
def test_label_smoothed_bonus_gradient_matches_autograd_of_the_formula(log_end):
    """The vocabulary-wide bonus term has a hand-written backward; compare it with autograd through the formula."""
    logits, labels = logits_and_labels(batch=8, classes=6, scale=3.0)
    logits[0] = torch.tensor([14.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # p ~ 1 - 2e-6: clamped on the plain bonus
    logits[1] = torch.tensor([0.0, 0.0, 2.0, 0.0, 0.0, 0.0])  # p ~ 0.6 on a non-target class
    labels[1] = 0
    weights = [0.5, 1.0, 2.0, 0.0, 1.5, 1.0]
    ours = logits.clone().requires_grad_()
    EncouragingLoss(
        rho=0.7, log_end=log_end, label_smoothing=0.1, bonus_label_smoothing=0.3, bonus_weights=weights, reduction="sum"
    )(ours, labels).backward()
    reference = logits.double().requires_grad_()
    reference_loss(
        reference, labels, rho=0.7, log_end=log_end, eps=0.1, eps_bonus=0.3, weights=weights
    ).sum().backward()
    torch.testing.assert_close(ours.grad.double(), reference.grad, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("log_end", [1.0, 0.6])
def test_gradcheck_in_float64(log_end):
    logits, labels = logits_and_labels(batch=5, classes=4, scale=2.0)
    loss = EncouragingLoss(
        log_end=log_end, label_smoothing=0.1, bonus_label_smoothing=0.2, bonus_weights=[1, 2, 0.5, 1]
    )
    assert torch.autograd.gradcheck(lambda z: loss(z, labels), (logits.double().requires_grad_(),))


def test_equal_epsilons_give_the_timm_form():
    """timm: L = (1 - eps) u_y + eps mean_v u_v with u_v = b_LE(p_v) - log p_v."""
    logits, labels = logits_and_labels(batch=10, classes=6, scale=3.0)
    p = logits.double().softmax(-1)
    u = reference_bonus(p, 0.75) - torch.log(p)
    expected = 0.9 * u[torch.arange(10), labels] + 0.1 * u.mean(-1)
    loss = EncouragingLoss(log_end=0.75, label_smoothing=0.1, reduction="none")  # bonus_label_smoothing follows
    assert loss.bonus_label_smoothing == 0.1
    torch.testing.assert_close(loss(logits, labels).double(), expected, atol=2e-5, rtol=0)


def test_ignored_positions_contribute_nothing_to_value_or_gradient():
    generator = torch.Generator().manual_seed(1)
    logits = 2 * torch.randn(3, 4, 9, generator=generator)
    labels = torch.randint(0, 9, (3, 4), generator=generator)
    labels[0, 2:] = -100
    labels[2, 1] = -100
    keep = labels != -100
    loss = EncouragingLoss(log_end=0.5, label_smoothing=0.1, bonus_label_smoothing=0.1)
    full = logits.clone().requires_grad_()
    value = loss(full, labels)
    value.backward()
    subset = loss(logits[keep], labels[keep])
    torch.testing.assert_close(value, subset)
    assert (full.grad[~keep] == 0).all() and (full.grad[keep] != 0).any()
    per_position = loss(logits, labels, reduction="none")
    assert per_position.shape == labels.shape and (per_position[~keep] == 0).all()
    torch.testing.assert_close(loss(logits, labels, reduction="sum"), per_position.sum())
    assert loss(logits, torch.full_like(labels, -100)).item() == 0.0


def test_clamp_at_one_minus_1e5_switches_the_plain_bonus_off():
    """A documented pitfall of the reference: with log_end = 1 the bonus has no gradient once p_y > 1 - 1e-5."""
    logits = torch.tensor([[14.0, 0.0, 0.0]], requires_grad=True)  # 1 - p_y ~ 1.7e-6
    EncouragingLoss(log_end=1.0)(logits, torch.tensor([0])).backward()
    ce_grad = logits.detach().softmax(-1) - torch.tensor([[1.0, 0.0, 0.0]])
    torch.testing.assert_close(logits.grad, ce_grad, atol=1e-7, rtol=0)


def test_bonus_weights_give_the_imbalanced_criterion():
    """cl.py: L = mean_i CE_i + mean_i w_{y_i} * rho * b(p_{i, y_i}) over any base loss."""
    logits, labels = logits_and_labels(batch=12, classes=4, scale=2.0)
    weights = [2.0, 0.5, 1.0, 0.0]
    loss = EncouragingLoss(rho=1.5, log_end=1.0, bonus_weights=weights)(logits, labels)
    p = logits.double().softmax(-1)
    p_y = p[torch.arange(12), labels]
    w = torch.tensor(weights, dtype=torch.float64)[labels]
    expected = F.cross_entropy(logits.double(), labels) + (w * 1.5 * torch.log(1 - p_y)).mean()
    torch.testing.assert_close(loss.double(), expected, atol=1e-6, rtol=0)

    focal = EncouragingLoss(rho=1.5, log_end=1.0, bonus_weights=weights, base_loss="focal", focal_gamma=2.0)(
        logits, labels
    )
    expected_focal = ((1 - p_y) ** 2 * -torch.log(p_y)).mean() + (w * 1.5 * torch.log(1 - p_y)).mean()
    torch.testing.assert_close(focal.double(), expected_focal, atol=1e-6, rtol=0)

    smoothed = EncouragingLoss(
        log_end=1.0, bonus_weights=weights, label_smoothing=0.1, bonus_label_smoothing=0.2, reduction="none"
    )
    torch.testing.assert_close(
        smoothed(logits, labels).double(),
        reference_loss(logits, labels, eps=0.1, eps_bonus=0.2, weights=weights),
        atol=2e-5,
        rtol=0,
    )


def test_effective_number_weights():
    counts = [5000, 500, 50]
    weights = effective_number_weights(counts, beta=0.999)
    raw = [(1 - 0.999) / (1 - 0.999**n) for n in counts]
    expected = [r / sum(raw) * 3 for r in raw]
    assert weights == pytest.approx(expected) and sum(weights) == pytest.approx(3.0)
    assert weights[0] < weights[1] < weights[2]
    assert effective_number_weights(counts, beta=0.0) == pytest.approx([1.0, 1.0, 1.0])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_fp32_inside_autocast_keeps_extreme_logits_finite(dtype):
    logits = torch.tensor([[1e4, -1e4, 0.0, 5.0], [-1e4, 1e4, 1e4, 0.0], [0.0, 0.0, 0.0, 0.0]])
    labels = torch.tensor([0, 3, 2])
    loss = EncouragingLoss(log_end=0.75, label_smoothing=0.1, bonus_label_smoothing=0.1)
    low = logits.to(dtype).requires_grad_()
    with torch.autocast("cpu", dtype=dtype):
        value = loss(low, labels)
    value.backward()
    assert value.dtype == torch.float32 and torch.isfinite(value) and torch.isfinite(low.grad).all()
    torch.testing.assert_close(value, loss(low.detach().float(), labels))
    expected = reference_loss(logits, labels, log_end=0.75, eps=0.1, eps_bonus=0.1)  # row 1: about 9.75e3
    torch.testing.assert_close(loss(logits, labels, reduction="none").double(), expected, rtol=1e-6, atol=1e-4)


def test_to_dict_round_trip():
    loss = EncouragingLoss(
        rho=0.5,
        log_end=0.5,
        label_smoothing=0.1,
        bonus_label_smoothing=0.05,
        bonus_weights=[1.0, 2.0, 0.5],
        base_loss="ce",
        reduction="sum",
    )
    config = json.loads(json.dumps(loss.to_dict()))
    assert config["name"] == "encouraging" and config["bonus_weights"] == [1.0, 2.0, 0.5]
    again = EncouragingLoss.from_dict(config)
    logits, labels = logits_and_labels(batch=5, classes=3)
    torch.testing.assert_close(again(logits, labels), loss(logits, labels), rtol=0, atol=0)
    assert again.to_dict() == config
    with pytest.raises(ValueError, match="name='focal'"):
        EncouragingLoss.from_dict({**config, "name": "focal"})


def test_bonus_scale_multiplies_rho():
    logits, labels = logits_and_labels()
    loss = EncouragingLoss(rho=2.0, log_end=0.75)
    loss.bonus_scale = 0.25
    torch.testing.assert_close(loss(logits, labels), EncouragingLoss(rho=0.5, log_end=0.75)(logits, labels))
    loss.bonus_scale = 0.0
    torch.testing.assert_close(loss(logits, labels), F.cross_entropy(logits, labels))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"log_end": 0.0}, r"log_end=0.0 is out of range; allowed: \(0.0, 1.0\]"),
        ({"log_end": 1.5}, "log_end=1.5 is out of range"),
        ({"log_end": -0.2}, "log_end=-0.2 is out of range"),
        ({"rho": -1.0}, r"rho=-1.0 is out of range; allowed: \[0.0, inf\)"),
        ({"rho": float("nan")}, "rho must be a finite number"),
        ({"label_smoothing": 1.2}, "label_smoothing=1.2 is out of range"),
        ({"bonus_label_smoothing": -0.1}, "bonus_label_smoothing=-0.1 is out of range"),
        ({"reduction": "avg"}, "reduction='avg' is not supported; allowed values: 'mean', 'sum', 'none'"),
        ({"base_loss": "ldam"}, "base_loss='ldam' is not supported"),
        ({"focal_gamma": -1.0}, "focal_gamma=-1.0 is out of range"),
        ({"base_loss": "focal", "label_smoothing": 0.1}, "label_smoothing=0.1 applies to base_loss='ce' only"),
        ({"bonus_weights": [1.0, -1.0]}, "bonus_weights must be finite and >= 0"),
        ({"bonus_weights": [[1.0, 2.0]]}, "bonus_weights must be a flat list"),
        ({"ignore_index": 1.5}, "ignore_index must be an integer"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EncouragingLoss(**kwargs)


def test_bad_inputs_name_the_argument():
    logits, labels = logits_and_labels(batch=4, classes=5)
    with pytest.raises(ValueError, match="bonus_weights has 3 entries but the logits have 5 classes"):
        EncouragingLoss(bonus_weights=[1.0, 1.0, 1.0])(logits, labels)
    with pytest.raises(ValueError, match="labels must have the shape of logits"):
        EncouragingLoss()(logits, labels[:3])
    with pytest.raises(ValueError, match="labels must hold integer class indices"):
        EncouragingLoss()(logits, labels.float())
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 5\)"):
        EncouragingLoss()(logits, torch.tensor([0, 1, 5, -100]))
    with pytest.raises(ValueError, match="reduction='avg' is not supported"):
        EncouragingLoss()(logits, labels, reduction="avg")
    with pytest.raises(ValueError, match="class_counts must be a flat list of counts >= 1"):
        effective_number_weights([10, 0])
    with pytest.raises(ValueError, match="beta=1.0 is out of range"):
        effective_number_weights([10, 5], beta=1.0)


def test_default_log_end_is_the_official_stand_alone_losses():
    """The official stand-alone encouraging loss uses the conservative bonus with log_end 0.75 by default."""
    logits, labels = logits_and_labels(batch=8, classes=5, scale=3.0)
    assert EncouragingLoss().log_end == 0.75
    torch.testing.assert_close(
        EncouragingLoss(reduction="none")(logits, labels).double(),
        reference_loss(logits, labels, log_end=0.75),
        atol=2e-5,
        rtol=0,
    )
