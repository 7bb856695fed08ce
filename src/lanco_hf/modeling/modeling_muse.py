"""MUSE (Zhao et al. 2019, arXiv:1911.09483): the lanco Transformer with parallel multi-scale layers
(``config.muse_variant``; the layers are in ``muse.py``)."""

from __future__ import annotations

from .configuration_muse import MuseConfig
from .modeling_lanco import LancoForConditionalGeneration, LancoModel, LancoPreTrainedModel


class MusePreTrainedModel(LancoPreTrainedModel):
    config_class = MuseConfig


class MuseModel(MusePreTrainedModel, LancoModel):
    pass


class MuseForConditionalGeneration(MusePreTrainedModel, LancoForConditionalGeneration):
    base_model_class = MuseModel


__all__ = ["MuseForConditionalGeneration", "MuseModel", "MusePreTrainedModel"]
