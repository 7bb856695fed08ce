"""Layer-wise cross-view decoding (Liu et al. 2020, arXiv:2005.08081): the lanco Transformer whose decoder layer
``l`` attends to the encoder layer ``config.cross_view_source_layers()[l - 1]`` (granularity-consistent attention)."""

from __future__ import annotations

from .configuration_cross_view import CrossViewConfig
from .modeling_lanco import LancoForConditionalGeneration, LancoModel, LancoPreTrainedModel


class CrossViewPreTrainedModel(LancoPreTrainedModel):
    config_class = CrossViewConfig


class CrossViewModel(CrossViewPreTrainedModel, LancoModel):
    pass


class CrossViewForConditionalGeneration(CrossViewPreTrainedModel, LancoForConditionalGeneration):
    base_model_class = CrossViewModel


__all__ = ["CrossViewForConditionalGeneration", "CrossViewModel", "CrossViewPreTrainedModel"]
