"""The standard Transformer layers of the lanco core (fairseq / Marian layout): sequential residual blocks of
self-attention, cross-attention (decoder) and a feed-forward network, each wrapped in dropout, a residual and
a pre- or post-norm read from the config (``normalize_before``, ``norm_type``)."""

from __future__ import annotations

import torch
from torch import nn
from transformers.activations import ACT2FN
from transformers.cache_utils import Cache
from transformers.modeling_layers import GradientCheckpointingLayer

from .attention import LancoAttention
from .configuration_lanco import LancoSeq2SeqConfig
from .norms import build_norm


class LancoFeedForward(nn.Module):
    def __init__(self, config: LancoSeq2SeqConfig, ffn_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(config.d_model, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, config.d_model)
        self.activation_fn = ACT2FN[config.activation_function]
        self.activation_dropout = config.activation_dropout

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.activation_fn(self.fc1(hidden_states))
        hidden_states = nn.functional.dropout(hidden_states, p=self.activation_dropout, training=self.training)
        return self.fc2(hidden_states)


def make_norm(config: LancoSeq2SeqConfig) -> nn.Module:
    return build_norm(config.norm_type, config.d_model, config.norm_eps, config.adanorm_scale, config.adanorm_k)


class LancoLayer(GradientCheckpointingLayer):
    """Base of the encoder and decoder layers: sub-layers wrapped in dropout, a residual and a pre- or post-norm."""

    def __init__(self, config: LancoSeq2SeqConfig):
        super().__init__()
        self.dropout = config.dropout
        self.normalize_before = config.normalize_before

    def residual(self, hidden_states: torch.Tensor, norm: nn.Module, sublayer) -> tuple[torch.Tensor, object]:
        """Apply ``sublayer`` as a residual block and return ``(hidden, extra)``. ``sublayer`` maps the (pre-normed)
        input to ``(output, extra)``; ``output`` may be a list of parallel branch outputs (MUSE), each dropped out
        and added to the residual: ``h + sum_i dropout(branch_i)``, normalised after the sum in post-norm."""
        inputs = norm(hidden_states) if self.normalize_before else hidden_states
        outputs, extra = sublayer(inputs)
        for output in outputs if isinstance(outputs, list) else [outputs]:
            hidden_states = hidden_states + nn.functional.dropout(output, p=self.dropout, training=self.training)
        return (hidden_states if self.normalize_before else norm(hidden_states)), extra


class LancoEncoderLayer(LancoLayer):
    def __init__(self, config: LancoSeq2SeqConfig, layer_idx: int):
        super().__init__(config)
        self.self_attn = LancoAttention(config, config.encoder_attention_heads, "encoder", layer_idx)
        self.self_attn_layer_norm = make_norm(config)
        self.ffn = LancoFeedForward(config, config.encoder_ffn_dim)
        self.final_layer_norm = make_norm(config)

    def forward(
        self, hidden_states: torch.Tensor, key_padding_mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        hidden_states, weights = self.residual(
            hidden_states,
            self.self_attn_layer_norm,
            lambda h: self.self_attn(h, key_padding_mask=key_padding_mask, output_attentions=output_attentions),
        )
        hidden_states, _ = self.residual(hidden_states, self.final_layer_norm, lambda h: (self.ffn(h), None))
        return hidden_states, weights


class LancoDecoderLayer(LancoLayer):
    def __init__(self, config: LancoSeq2SeqConfig, layer_idx: int):
        super().__init__(config)
        self.self_attn = LancoAttention(config, config.decoder_attention_heads, "decoder", layer_idx)
        self.self_attn_layer_norm = make_norm(config)
        self.encoder_attn = LancoAttention(config, config.decoder_attention_heads, "cross", layer_idx)
        self.encoder_attn_layer_norm = make_norm(config)
        self.ffn = LancoFeedForward(config, config.decoder_ffn_dim)
        self.final_layer_norm = make_norm(config)

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        self_padding_mask: torch.Tensor | None = None,
        encoder_padding_mask: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        hidden_states, self_weights = self.residual(
            hidden_states,
            self.self_attn_layer_norm,
            lambda h: self.self_attn(
                h,
                key_padding_mask=self_padding_mask,
                past_key_values=past_key_values,
                output_attentions=output_attentions,
            ),
        )
        hidden_states, cross_weights = self.residual(
            hidden_states,
            self.encoder_attn_layer_norm,
            lambda h: self.encoder_attn(
                h,
                key_value_states=encoder_hidden_states,
                key_padding_mask=encoder_padding_mask,
                past_key_values=past_key_values,
                output_attentions=output_attentions,
            ),
        )
        hidden_states, _ = self.residual(hidden_states, self.final_layer_norm, lambda h: (self.ffn(h), None))
        return hidden_states, self_weights, cross_weights


# config.muse_variant -> (encoder layer class, decoder layer class). The standard layers are the ``None`` variant;
# a file defining other layers registers them (``muse.py``), so that every lanco config can switch them on.
LAYER_VARIANTS: dict[str | None, tuple[type[LancoLayer], type[LancoLayer]]] = {
    None: (LancoEncoderLayer, LancoDecoderLayer)
}


def register_layer_variant(
    variants: tuple[str, ...], encoder_layer: type[LancoLayer], decoder_layer: type[LancoLayer]
) -> None:
    """Build the layers of configs whose ``muse_variant`` is one of ``variants`` from these classes."""
    for variant in variants:
        LAYER_VARIANTS[variant] = (encoder_layer, decoder_layer)


def layer_classes(config: LancoSeq2SeqConfig) -> tuple[type[LancoLayer], type[LancoLayer]]:
    """The (encoder, decoder) layer classes of ``config``."""
    return LAYER_VARIANTS[config.muse_variant]
