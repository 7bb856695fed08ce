"""AdaNorm, LayerNorm-simple and DetachNorm against the formulas of "Understanding and Improving Layer Normalization"
(Xu et al., NeurIPS 2019, Sec. 3 and 5), computed independently here in float64 (unbiased std, eps on sigma), forward
and backward."""

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertModel

from lanco_hf import AdaNorm, DetachNorm, LayerNormSimple, swap_norms
from lanco_hf.modeling.norms import build_norm

EPS = 1e-5


def standardize(x):
    mean = x.mean(-1, keepdim=True)
    std = ((x - mean) ** 2).sum(-1, keepdim=True).div(x.shape[-1] - 1).sqrt()
    return (x - mean) / (std + EPS), mean, std


def ln_simple_jacobian(x):
    """d y_i / d x_j of y = (x - mu) / (s + eps) with the unbiased s, for one vector x."""
    h = x.shape[-1]
    y, mean, std = standardize(x)
    centred = x - mean
    ds_dx = centred / ((h - 1) * std)
    eye = torch.eye(h, dtype=x.dtype)
    return (eye - 1.0 / h) / (std + EPS) - centred.unsqueeze(-1) * ds_dx.unsqueeze(-2) / (std + EPS) ** 2


@pytest.fixture
def x():
    return (torch.randn(5, 16, dtype=torch.float64) * 3 + 1).requires_grad_()


@pytest.fixture
def upstream():
    return torch.randn(5, 16, dtype=torch.float64)


def test_layernorm_simple_forward_and_gradient(x, upstream):
    out = LayerNormSimple(16, eps=EPS)(x)
    expected, _, _ = standardize(x.detach())
    torch.testing.assert_close(out, expected)
    out.backward(upstream)
    analytic = torch.stack([ln_simple_jacobian(row).T @ g for row, g in zip(x.detach(), upstream)])
    torch.testing.assert_close(x.grad, analytic)
    # the re-centring the paper attributes to LN's backward: gradients have zero mean over the hidden dim
    torch.testing.assert_close(x.grad.mean(-1), torch.zeros(5, dtype=torch.float64), atol=1e-12, rtol=0)


def test_adanorm_forward_and_gradient(x, upstream):
    scale, k = 2.0, 0.1
    out = AdaNorm(16, eps=EPS, scale=scale, k=k)(x)
    y, _, _ = standardize(x.detach())
    torch.testing.assert_close(out, scale * (1 - k * y) * y)
    out.backward(upstream)
    # phi = C(1 - k y) is detached: dL/dx = J_y^T (phi * g)
    analytic = torch.stack(
        [ln_simple_jacobian(row).T @ (scale * (1 - k * yr) * g) for row, yr, g in zip(x.detach(), y, upstream)]
    )
    torch.testing.assert_close(x.grad, analytic)


def test_adanorm_gradient_differs_without_detach(x, upstream):
    """Guard against a missing detach: the undetached product has another gradient."""
    AdaNorm(16, eps=EPS)(x).backward(upstream)
    grad = x.grad.clone()
    x.grad = None
    y = LayerNormSimple(16, eps=EPS)(x)
    (2.0 * y * (1 - 0.1 * y)).backward(upstream)
    assert not torch.allclose(grad, x.grad)


def test_detachnorm_forward_and_gradient(x, upstream):
    out = DetachNorm(16, eps=EPS)(x)
    expected, _, std = standardize(x.detach())
    torch.testing.assert_close(out, expected)
    out.backward(upstream)
    torch.testing.assert_close(x.grad, upstream / (std + EPS))  # mu and sigma are constants
    # the paper's theorem: with detached statistics the gradient mean is mean(g) / sigma, not 0
    torch.testing.assert_close(x.grad.mean(-1, keepdim=True), upstream.mean(-1, keepdim=True) / (std + EPS))


def test_detachnorm_flags(x, upstream):
    DetachNorm(16, eps=EPS, detach_mean=False, detach_std=False)(x).backward(upstream)
    grad = x.grad.clone()
    x.grad = None
    LayerNormSimple(16, eps=EPS)(x).backward(upstream)
    torch.testing.assert_close(grad, x.grad)


def test_build_norm_rejects_unknown():
    with pytest.raises(ValueError, match="norm_type='rmsnorm'.*allowed values: layernorm"):
        build_norm("rmsnorm", 8)


@pytest.mark.parametrize(
    "norm_type,cls", [("adanorm", AdaNorm), ("layernorm_simple", LayerNormSimple), ("detachnorm", DetachNorm)]
)
def test_swap_norms_on_a_transformers_model(norm_type, cls):
    config = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        layer_norm_eps=1e-7,
    )
    model = BertModel(config)
    n_layernorms = sum(isinstance(m, nn.LayerNorm) for m in model.modules())
    assert swap_norms(model, norm_type) is model
    swapped = [m for m in model.modules() if isinstance(m, cls)]
    assert len(swapped) == n_layernorms and not any(isinstance(m, nn.LayerNorm) for m in model.modules())
    assert all(m.eps == 1e-7 for m in swapped)
    ids = torch.randint(0, 50, (2, 6))
    hidden = model.embeddings.word_embeddings(ids)
    y = (hidden - hidden.mean(-1, keepdim=True)) / (hidden.std(-1, keepdim=True) + 1e-7)
    expected = 2.0 * y * (1 - 0.1 * y) if norm_type == "adanorm" else y
    torch.testing.assert_close(model.embeddings.LayerNorm(hidden), expected)
    model(ids).last_hidden_state.sum().backward()


def test_swap_norms_rejects_unknown():
    with pytest.raises(ValueError, match="norm_type"):
        swap_norms(nn.Sequential(nn.LayerNorm(4)), "batchnorm")
