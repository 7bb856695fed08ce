"""MUSE: parallel multi-scale attention (Zhao et al. 2019, arXiv:1911.09483, "MUSE: Parallel Multi-Scale Attention
for Sequence to Sequence Learning").

A MUSE layer runs its branches in parallel on the same (pre-normed) input and adds them all to one residual,
with one norm per layer: encoder ``X + Attn(X) + FFN(X)``, decoder ``X + SelfAttn(X) + CrossAttn(X, E) + FFN(X)``.
With ``muse_variant="muse"`` the self-attention also convolves its own value projection (the shared V): a
depth-wise dynamic convolution whose kernels (``muse_kernel_sizes``, default 3 and 15) are mixed by a learned
softmax gate, and the output projection reads ``[attention ; convolution]``. ``"muse_simple"`` has no convolution.

Two choices beyond the paper's text, both needed for exactness: padded positions enter the convolution as zeros
(the official code's ``dynamic_padding`` option), so a padded batch equals its rows one by one; and cached decoding
reads the window of a new token from the self-attention cache, which already holds every past value vector.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers import initialization as init
from transformers.cache_utils import Cache

from .attention import LancoAttention
from .configuration_lanco import LancoSeq2SeqConfig
from .layers import LancoFeedForward, LancoLayer, make_norm, register_layer_variant

# The official MUSE attention (its default ``init_method='km'``) initialises q / k / v with
# ``kaiming_uniform_(a=sqrt(5))`` (``nn.Linear``'s default) and every attention's output projection, self and
# cross, with ``kaiming_uniform_(a=1)``: a bound of sqrt(3 / fan_in) instead of sqrt(1 / fan_in).
OUTPUT_PROJECTION_KAIMING_A = 1.0


def use_official_output_init(attention: LancoAttention) -> LancoAttention:
    """Mark ``attention.out_proj`` for ``kaiming_uniform_(a=OUTPUT_PROJECTION_KAIMING_A)``, which the model's
    ``_init_weights`` reads from its ``kaiming_a`` attribute."""
    attention.out_proj.kaiming_a = OUTPUT_PROJECTION_KAIMING_A
    return attention


class DynamicConvolution(nn.Module):
    """Depth-wise dynamic convolution with several kernel sizes mixed by a softmax gate.

    For kernel size ``k``, position ``t`` and head ``h``: ``w = softmax_k(kernel_proj(V_t))`` (weight dropout in
    training) is shared by the head's channels, and ``out_t = sum_j w_j V_{t - pad + j}`` with ``pad = k // 2``
    (centred, encoder) or ``k - 1`` (causal, decoder), zeros outside the sequence. The kernels' outputs are summed
    with weights ``softmax(gate)`` (initialised uniform). Being linear in the kernels, this sum is computed as one
    combined kernel of the largest size, each kernel placed centred (encoder) or right-aligned (decoder) in it.
    """

    def __init__(self, d_model: int, num_heads: int, kernel_sizes: list[int], causal: bool, weight_dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.kernel_sizes = tuple(kernel_sizes)
        self.window = max(self.kernel_sizes)
        self.causal = causal
        self.weight_dropout = weight_dropout
        self.kernel_projs = nn.ModuleList(nn.Linear(d_model, num_heads * k, bias=False) for k in self.kernel_sizes)
        self.gate = nn.Parameter(torch.full((len(self.kernel_sizes),), 1.0 / len(self.kernel_sizes)))

    def combined_kernels(self, queries: torch.Tensor) -> torch.Tensor:
        """(B, T, d) value vectors of the output positions -> gated kernels (B, H, T, window)."""
        batch, length, _ = queries.shape
        gates = self.gate.softmax(-1)
        combined = 0
        for gate, size, proj in zip(gates, self.kernel_sizes, self.kernel_projs):
            kernel = proj(queries).view(batch, length, self.num_heads, size).softmax(-1)
            kernel = nn.functional.dropout(kernel, p=self.weight_dropout, training=self.training)
            left = self.window - size if self.causal else (self.window - size) // 2
            combined = combined + nn.functional.pad(kernel * gate, (left, self.window - size - left))
        return combined.transpose(1, 2)

    def initialize_parameters(self) -> None:
        """Equal gate weights for every kernel size (the model's ``_init_weights`` calls this)."""
        init.constant_(self.gate, 1.0 / len(self.kernel_sizes))

    def forward(
        self, values: torch.Tensor, num_queries: int, key_padding_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``values``: (B, H, S, D), every position the outputs may read; the outputs are the last ``num_queries``
        positions (all of them in the encoder). ``key_padding_mask``: boolean (B, S), ``True`` = real token.
        Returns (B, num_queries, H * D). The decoder reads only the last ``num_queries + window - 1`` positions, so
        a cached decoding step costs O(window) whatever the length decoded so far."""
        if self.causal:
            span = num_queries + self.window - 1
            values = values[:, :, -span:]
            key_padding_mask = None if key_padding_mask is None else key_padding_mask[:, -span:]
        elif values.shape[2] != num_queries:
            raise ValueError(
                f"a centred convolution needs its {num_queries} outputs to be all {values.shape[2]} positions"
            )
        if key_padding_mask is not None:
            values = values * key_padding_mask[:, None, :, None].to(values.dtype)
        batch, heads, length, head_dim = values.shape
        queries = values[:, :, length - num_queries :]
        kernels = self.combined_kernels(queries.transpose(1, 2).reshape(batch, num_queries, heads * head_dim))
        left = self.window - 1 if self.causal else self.window // 2
        right = 0 if self.causal else self.window // 2
        padded = nn.functional.pad(values, (0, 0, left - (length - num_queries), right))  # num_queries + window - 1
        output = self.band(kernels) @ padded  # out_t = sum_j w_tj V_{t - left + j}
        return output.transpose(1, 2).reshape(batch, num_queries, heads * head_dim)

    @staticmethod
    def band(kernels: torch.Tensor) -> torch.Tensor:
        """(B, H, T, W) kernels -> (B, H, T, T + W - 1) banded matrix with ``band[t, t + j] = kernels[t, j]``, so the
        convolution is one matrix product over the padded values (on CPU several times faster, forward + backward,
        than a loop over the W offsets at sentence lengths). Built by the skew trick: rows padded to ``T + W`` and
        re-read with a stride of ``T + W - 1``, which shifts row ``t`` right by ``t``."""
        batch, heads, length, window = kernels.shape
        width = length + window - 1
        padded = nn.functional.pad(kernels, (0, length)).reshape(batch, heads, length * (width + 1))
        return padded[..., : length * width].reshape(batch, heads, length, width)


class MuseAttention(LancoAttention):
    """MUSE self-attention: ``out_proj([A ; C])`` where ``A`` is multi-head attention (dense or top-k) and ``C`` the
    dynamic convolution of the same value vectors. ``out_proj`` maps ``2 d -> d``, i.e. one output projection per
    branch, summed."""

    def __init__(self, config: LancoSeq2SeqConfig, num_heads: int, kind: str, layer_idx: int):
        if kind == "cross":
            raise ValueError("kind='cross': MUSE's convolution belongs to self-attention only ('encoder', 'decoder')")
        super().__init__(config, num_heads, kind, layer_idx)
        self.conv = DynamicConvolution(
            config.d_model,
            num_heads,
            config.muse_kernel_sizes,
            causal=kind == "decoder",
            weight_dropout=config.muse_weight_dropout,
        )
        self.out_proj = nn.Linear(2 * self.embed_dim, self.embed_dim)

    def forward(
        self,
        hidden_states: torch.Tensor,
        key_value_states: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        context, values, weights = self.attend(
            hidden_states, None, key_padding_mask, past_key_values, output_attentions
        )
        convolved = self.conv(values, hidden_states.shape[1], key_padding_mask)
        return self.out_proj(torch.cat([context, convolved], dim=-1)), weights


def muse_self_attention(config: LancoSeq2SeqConfig, num_heads: int, kind: str, layer_idx: int) -> LancoAttention:
    attention_class = MuseAttention if config.muse_variant == "muse" else LancoAttention
    return use_official_output_init(attention_class(config, num_heads, kind, layer_idx))


# The official code initialises its projections with PyTorch's default ``kaiming_uniform(a=sqrt(5))``; Xavier, the
# lanco default, is too large for the narrower parallel branches.
KAIMING_A = math.sqrt(5)


class MuseLayer(LancoLayer):
    """Base of MUSE's layers: their projections are marked for ``kaiming_uniform(a=module.kaiming_a)``, which the
    model's ``_init_weights`` reads (a projection already marked keeps its own ``a``)."""

    def mark_initialisation(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear) and not hasattr(module, "kaiming_a"):
                module.kaiming_a = KAIMING_A


class MuseEncoderLayer(MuseLayer):
    """``X + Drop(SelfAttn(X)) + Drop(FFN(X))`` with one norm (before the branches, or after the sum)."""

    def __init__(self, config: LancoSeq2SeqConfig, layer_idx: int):
        super().__init__(config)
        self.self_attn = muse_self_attention(config, config.encoder_attention_heads, "encoder", layer_idx)
        self.ffn = LancoFeedForward(config, config.encoder_ffn_dim)
        self.layer_norm = make_norm(config)
        self.mark_initialisation()

    def forward(
        self, hidden_states: torch.Tensor, key_padding_mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        def branches(inputs):
            attended, weights = self.self_attn(
                inputs, key_padding_mask=key_padding_mask, output_attentions=output_attentions
            )
            return [attended, self.ffn(inputs)], weights

        return self.residual(hidden_states, self.layer_norm, branches)


class MuseDecoderLayer(MuseLayer):
    """``X + Drop(SelfAttn(X)) + Drop(CrossAttn(X, E)) + Drop(FFN(X))`` with one norm; the self-attention is causal
    (its convolution too), the cross-attention has no convolution."""

    def __init__(self, config: LancoSeq2SeqConfig, layer_idx: int):
        super().__init__(config)
        self.self_attn = muse_self_attention(config, config.decoder_attention_heads, "decoder", layer_idx)
        self.encoder_attn = use_official_output_init(
            LancoAttention(config, config.decoder_attention_heads, "cross", layer_idx)
        )
        self.ffn = LancoFeedForward(config, config.decoder_ffn_dim)
        self.layer_norm = make_norm(config)
        self.mark_initialisation()

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        self_padding_mask: torch.Tensor | None = None,
        encoder_padding_mask: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        def branches(inputs):
            attended, self_weights = self.self_attn(
                inputs,
                key_padding_mask=self_padding_mask,
                past_key_values=past_key_values,
                output_attentions=output_attentions,
            )
            crossed, cross_weights = self.encoder_attn(
                inputs,
                key_value_states=encoder_hidden_states,
                key_padding_mask=encoder_padding_mask,
                past_key_values=past_key_values,
                output_attentions=output_attentions,
            )
            return [attended, crossed, self.ffn(inputs)], (self_weights, cross_weights)

        hidden_states, (self_weights, cross_weights) = self.residual(hidden_states, self.layer_norm, branches)
        return hidden_states, self_weights, cross_weights


# the config values built from MUSE's layers; registered when this file is imported
MUSE_LAYER_VARIANTS = ("muse", "muse_simple")
register_layer_variant(MUSE_LAYER_VARIANTS, MuseEncoderLayer, MuseDecoderLayer)
