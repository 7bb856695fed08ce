"""Explicit sparse (top-k selective) attention, Zhao et al. 2019 (arXiv:1912.11637).

For every query row and head: ``P = QK^T * scale``; padding / causal masks are applied first; then every
score below the row's k-th largest is set to the dtype's minimum before the softmax, so only the kept
scores receive probability mass and gradient (the selection itself is a constant in the backward pass).

- Ties: all scores equal to the threshold are kept (``>=``), so a row can keep more than ``k`` entries.
- Fewer than ``k`` keys (e.g. the first steps of incremental decoding): every key is kept.
- Fewer than ``k`` *unmasked* keys: the threshold falls on a masked score; masked scores still get
  exactly zero probability because they sit at the dtype's minimum.

``topk_attention_forward`` has the signature of transformers' attention interface, so the same function
serves lanco's own models and, once registered (``lanco_hf.register_topk_attention``), any transformers
model through ``attn_implementation="lanco_topk"``.
"""

from __future__ import annotations

import torch
from torch import nn


def topk_threshold(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th largest score of every row, shape (..., 1); a constant for autograd."""
    with torch.no_grad():
        return scores.topk(k, dim=-1, sorted=False).values.amin(dim=-1, keepdim=True)


def topk_mask_scores(scores: torch.Tensor, k: int) -> torch.Tensor:
    """``scores`` with every entry below the row's k-th largest value replaced by the dtype minimum."""
    if k >= scores.shape[-1]:
        return scores
    return scores.masked_fill(scores < topk_threshold(scores, k), torch.finfo(scores.dtype).min)


def topk_sdpa_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float,
    k: int,
) -> torch.Tensor:
    """Top-k attention through SDPA: the kept entries are found on scores computed without gradient, then
    passed as a boolean mask to the fused kernel (the eager path's result; docs/performance.md compares their
    cost). ``attention_mask`` is boolean (``True`` = attend). Returns (B, Tq, H, D).

    The selection reads the unscaled ``QK^T`` (a positive scale keeps the order) with the padding filled in place,
    sparing two passes over the score matrix (benchmarks/attention_kernels.py: about 10% of forward + backward),
    and the scores are freed before the kernel runs (about 40% less peak memory at 1-2k tokens)."""
    if k < key.shape[-2]:
        with torch.no_grad():
            scores = torch.matmul(query, key.transpose(-1, -2))
            if attention_mask is not None:
                scores.masked_fill_(~attention_mask, torch.finfo(scores.dtype).min)
            keep = scores >= topk_threshold(scores, k)
            del scores
        attention_mask = keep if attention_mask is None else keep & attention_mask
    output = nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attention_mask, dropout_p=dropout, scale=scaling
    )
    return output.transpose(1, 2)


def _apply_mask(scores: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    if attention_mask is None:
        return scores
    if attention_mask.dtype == torch.bool:  # True = attend
        return scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
    return scores + attention_mask[..., : scores.shape[-1]]  # additive (transformers' eager format)


def topk_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    topk: int | None = None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eager attention with optional top-k selection.

    ``query``: (B, H, Tq, D); ``key``/``value``: (B, H_kv, Tk, D). Returns the output as (B, Tq, H, D) and
    the attention probabilities (B, H, Tq, Tk). ``topk`` defaults to ``module.attn_topk`` when the module
    has that attribute (lanco modules set it per attention kind), else to ``module.config.attn_topk``.
    """
    if topk is None:
        topk = (
            getattr(module, "attn_topk", None)
            if hasattr(module, "attn_topk")
            else getattr(module.config, "attn_topk", None)
        )
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key = key.repeat_interleave(groups, dim=1)
        value = value.repeat_interleave(groups, dim=1)
    if scaling is None:
        scaling = query.shape[-1] ** -0.5

    scores = _apply_mask(torch.matmul(query, key.transpose(-1, -2)) * scaling, attention_mask)
    if topk is not None:
        scores = topk_mask_scores(scores, topk)
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    attn = nn.functional.dropout(probs, p=dropout, training=module.training)
    output = torch.matmul(attn, value).transpose(1, 2).contiguous()
    return output, probs


TOPK_ATTENTION_NAME = "lanco_topk"


def register_topk_attention(name: str = TOPK_ATTENTION_NAME) -> str:
    """Register top-k attention with transformers' attention interface under ``name``.

    Afterwards any transformers model that dispatches through ``ALL_ATTENTION_FUNCTIONS`` (BERT, BART,
    GPT-2, Llama, ...) uses it with ``attn_implementation=name``; ``k`` is read from ``config.attn_topk``
    (``None`` = dense). Masks are built in transformers' eager format.
    """
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(name, topk_attention_forward)
    AttentionMaskInterface.register(name, ALL_MASK_ATTENTION_FUNCTIONS["eager"])
    return name
