"""Top-k selective attention ("Explicit Sparse Transformer", Zhao et al., arXiv:1912.11637) against an independent
computation."""

import pytest
import torch
from torch import nn

from lanco_hf.modeling.topk_attention import topk_attention_forward, topk_mask_scores, topk_sdpa_attention


class Holder(nn.Module):
    def __init__(self, topk):
        super().__init__()
        self.attn_topk = topk


def reference_probs(query, key, k, key_mask=None):
    """Softmax over the k largest scores of each row, found by sorting, in float64."""
    scores = (query.double() @ key.double().transpose(-1, -2)) * query.shape[-1] ** -0.5
    if key_mask is not None:
        scores = scores.masked_fill(~key_mask, float("-inf"))
    kth = scores.sort(dim=-1, descending=True).values[..., min(k, scores.shape[-1]) - 1 : min(k, scores.shape[-1])]
    kept = (scores >= kth) & torch.isfinite(scores)
    return torch.where(kept, scores, torch.tensor(float("-inf"), dtype=torch.float64)).softmax(-1), kept


@pytest.mark.parametrize("k", [1, 3, 8])
def test_probabilities_equal_softmax_over_kept_scores(k):
    q, key, v = torch.randn(2, 3, 6, 8), torch.randn(2, 3, 10, 8), torch.randn(2, 3, 10, 8)
    output, probs = topk_attention_forward(Holder(k), q, key, v, None)
    expected, kept = reference_probs(q, key, k)
    assert ((probs > 0).sum(-1) <= k).all()  # random scores: no ties
    assert torch.equal(probs > 0, kept)
    torch.testing.assert_close(probs.double(), expected)
    torch.testing.assert_close(output.transpose(1, 2).double(), expected @ v.double(), atol=1e-6, rtol=1e-5)


def test_ties_are_all_kept():
    scores = torch.tensor([[[[1.0, 2.0, 2.0, 2.0, 0.5]]]])
    kept = topk_mask_scores(scores, 2) > torch.finfo(torch.float32).min
    assert kept.tolist() == [[[[False, True, True, True, False]]]]


def test_k_at_least_keys_is_dense():
    q, key, v = torch.randn(1, 2, 4, 8), torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 8)
    sparse, p_sparse = topk_attention_forward(Holder(5), q, key, v, None)
    dense, p_dense = topk_attention_forward(Holder(None), q, key, v, None)
    torch.testing.assert_close(sparse, dense)
    assert (p_sparse > 0).all()


def test_padded_keys_get_no_mass_even_with_fewer_valid_keys_than_k():
    q, key, v = torch.randn(2, 2, 3, 8), torch.randn(2, 2, 6, 8), torch.randn(2, 2, 6, 8)
    key_mask = torch.tensor([[True] * 6, [True, True, False, False, False, False]])[:, None, None, :]
    _, probs = topk_attention_forward(Holder(4), q, key, v, key_mask)
    assert (probs[1, ..., 2:] == 0).all() and (probs[0, ..., :] > 0).sum(-1).le(4).all()
    expected, _ = reference_probs(q, key, 4, key_mask)
    torch.testing.assert_close(probs.double(), expected)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2, 2, 3))


def test_gradient_flows_only_through_kept_entries():
    scores = torch.randn(2, 2, 4, 7, requires_grad=True)
    weights = torch.randn(2, 2, 4, 7)
    (topk_mask_scores(scores, 3).softmax(-1) * weights).sum().backward()
    kept = scores.detach() >= scores.detach().topk(3, dim=-1).values[..., -1:]
    assert (scores.grad[~kept] == 0).all() and (scores.grad[kept] != 0).all()


@pytest.mark.parametrize("path", ["eager", "sdpa"])
def test_a_key_outside_every_topk_gets_no_gradient(path):
    q = torch.randn(1, 1, 5, 4)
    q[..., 0] += 5.0
    key = torch.randn(1, 1, 6, 4)
    key[..., 5, :] = torch.tensor([-20.0, 0.0, 0.0, 0.0])  # key 5 scores lowest for every query
    key.requires_grad_(True)
    v = torch.randn(1, 1, 6, 4, requires_grad=True)
    q.requires_grad_(True)
    if path == "eager":
        output, _ = topk_attention_forward(Holder(2), q, key, v, None)
    else:
        output = topk_sdpa_attention(q, key, v, None, 4**-0.5, 0.0, 2)
    output.pow(2).sum().backward()
    assert (key.grad[..., 5, :] == 0).all() and (v.grad[..., 5, :] == 0).all()
    assert (key.grad[..., :5, :].abs().sum() > 0) and (q.grad.abs().sum() > 0)


@pytest.mark.parametrize("with_mask", [False, True])
def test_sdpa_path_equals_eager_path(with_mask):
    q, key, v = torch.randn(2, 4, 5, 8), torch.randn(2, 4, 9, 8), torch.randn(2, 4, 9, 8)
    mask = torch.ones(2, 1, 1, 9, dtype=torch.bool)
    if with_mask:
        mask[1, ..., 6:] = False
    eager, _ = topk_attention_forward(Holder(3), q, key, v, mask, 8**-0.5)
    fused = topk_sdpa_attention(q, key, v, mask, 8**-0.5, 0.0, 3)
    torch.testing.assert_close(fused, eager, atol=1e-5, rtol=1e-4)


def test_additive_masks_of_transformers_are_understood():
    q, key, v = torch.randn(1, 2, 3, 8), torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 8)
    additive = torch.zeros(1, 1, 3, 5)
    additive[..., 3:] = torch.finfo(torch.float32).min
    _, probs = topk_attention_forward(Holder(2), q, key, v, additive)
    expected, _ = reference_probs(q, key, 2, torch.tensor([True, True, True, False, False]))
    torch.testing.assert_close(probs.double(), expected)
