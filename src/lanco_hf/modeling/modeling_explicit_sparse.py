"""Explicit Sparse Transformer (Zhao et al. 2019, arXiv:1912.11637): the lanco Transformer whose attention
keeps only the top-k scores of every query row (``config.attn_topk``)."""

from __future__ import annotations

from .configuration_explicit_sparse import ExplicitSparseConfig
from .modeling_lanco import LancoForConditionalGeneration, LancoModel, LancoPreTrainedModel


class ExplicitSparsePreTrainedModel(LancoPreTrainedModel):
    config_class = ExplicitSparseConfig


class ExplicitSparseModel(ExplicitSparsePreTrainedModel, LancoModel):
    pass


class ExplicitSparseForConditionalGeneration(ExplicitSparsePreTrainedModel, LancoForConditionalGeneration):
    base_model_class = ExplicitSparseModel


__all__ = ["ExplicitSparseForConditionalGeneration", "ExplicitSparseModel", "ExplicitSparsePreTrainedModel"]
