"""Configuration of the Explicit Sparse Transformer (Zhao et al. 2019, arXiv:1912.11637)."""

from __future__ import annotations

from .configuration_lanco import LancoSeq2SeqConfig


class ExplicitSparseConfig(LancoSeq2SeqConfig):
    r"""
    The lanco Transformer with top-k selective attention: every query row of every head keeps only its
    `attn_topk` largest scores (default 8, the paper's NMT setting) in the attention kinds listed in
    `attn_topk_targets` (default: encoder self, decoder self and cross attention, as in the official code).
    All other fields are those of [`LancoSeq2SeqConfig`].

    Example:

    ```python
    >>> from lanco_hf import ExplicitSparseConfig, ExplicitSparseForConditionalGeneration
    >>> config = ExplicitSparseConfig(vocab_size=8000, d_model=256, attn_topk=8)
    >>> model = ExplicitSparseForConditionalGeneration(config)
    ```
    """

    model_type = "explicit_sparse"

    attn_topk: int | None = 8


__all__ = ["ExplicitSparseConfig"]
