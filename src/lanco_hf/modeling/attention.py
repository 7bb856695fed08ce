"""Multi-head attention of the lanco core: self-attention (encoder, causal decoder) and cross-attention.

Dense and top-k attention run through ``torch.nn.functional.scaled_dot_product_attention`` (SDPA; top-k
as a boolean mask of the kept scores); ``attn_implementation="eager"`` and ``output_attentions=True`` run
the eager path of ``topk_attention.py``, which returns the real probabilities. Masks are boolean, ``True`` = attend.
Incremental decoding uses transformers' ``EncoderDecoderCache``: self-attention appends to
``self_attention_cache``; cross-attention projects the encoder states once per sequence and then reads
``cross_attention_cache``.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.cache_utils import Cache, EncoderDecoderCache

from .topk_attention import topk_attention_forward, topk_sdpa_attention

ATTENTION_KINDS = ("encoder", "decoder", "cross")


def causal_mask(query_length: int, key_length: int, device: torch.device) -> torch.Tensor:
    """Boolean (query_length, key_length) mask; the queries are the last ``query_length`` positions."""
    offset = key_length - query_length
    rows = torch.arange(query_length, device=device).unsqueeze(-1) + offset
    return torch.arange(key_length, device=device).unsqueeze(0) <= rows


class LancoAttention(nn.Module):
    """Multi-head attention with ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``.

    ``kind`` is ``"encoder"`` (bidirectional self-attention), ``"decoder"`` (causal self-attention) or
    ``"cross"`` (queries from the decoder, keys/values from ``key_value_states``).
    """

    def __init__(self, config, num_heads: int, kind: str, layer_idx: int):
        super().__init__()
        if kind not in ATTENTION_KINDS:
            raise ValueError(f"kind={kind!r}; allowed values: {', '.join(ATTENTION_KINDS)}")
        self.config = config
        self.kind = kind
        self.layer_idx = layer_idx
        self.is_causal = kind == "decoder"
        self.embed_dim = config.d_model
        self.num_heads = num_heads
        self.head_dim = config.d_model // num_heads
        self.scaling = self.head_dim**-0.5
        self.dropout = config.attention_dropout
        self.attn_topk = config.topk_for(kind)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(*x.shape[:-1], self.num_heads, self.head_dim).transpose(1, 2)

    def project_key_value(
        self, states: torch.Tensor, past_key_values: Cache | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of ``states`` (B, S, d) as (B, H, S_total, D), going through the cache if any."""
        if self.kind == "cross" and isinstance(past_key_values, EncoderDecoderCache):
            cache = past_key_values.cross_attention_cache
            if past_key_values.is_updated.get(self.layer_idx):
                layer = cache.layers[self.layer_idx]
                return layer.keys, layer.values
            key, value = self._heads(self.k_proj(states)), self._heads(self.v_proj(states))
            key, value = cache.update(key, value, self.layer_idx)
            past_key_values.is_updated[self.layer_idx] = True
            return key, value
        key, value = self._heads(self.k_proj(states)), self._heads(self.v_proj(states))
        if past_key_values is not None and self.kind == "decoder":
            cache = (
                past_key_values.self_attention_cache
                if isinstance(past_key_values, EncoderDecoderCache)
                else past_key_values
            )
            key, value = cache.update(key, value, self.layer_idx)
        return key, value

    def forward(
        self,
        hidden_states: torch.Tensor,
        key_value_states: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``hidden_states``: (B, T, d). ``key_padding_mask``: boolean (B, S) over the keys, ``True`` =
        real token, or ``None`` when nothing is padded. Returns the output and, with
        ``output_attentions``, the (B, H, T, S) probabilities."""
        context, _, weights = self.attend(
            hidden_states, key_value_states, key_padding_mask, past_key_values, output_attentions
        )
        return self.out_proj(context), weights

    def attend(
        self,
        hidden_states: torch.Tensor,
        key_value_states: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Attention before the output projection: the (B, T, d) context, the values (B, H, S, D) it read (every
        cached position included) and, with ``output_attentions``, the probabilities."""
        query = self._heads(self.q_proj(hidden_states))
        states = key_value_states if self.kind == "cross" else hidden_states
        key, value = self.project_key_value(states, past_key_values)
        query_length, key_length = query.shape[-2], key.shape[-2]

        mask = None if key_padding_mask is None else key_padding_mask[:, None, None, :]
        eager = output_attentions or self.config._attn_implementation == "eager"
        fused_causal = self.is_causal and query_length > 1  # SDPA's is_causal flag, when it suffices
        if fused_causal and (eager or mask is not None or query_length != key_length or self.attn_topk is not None):
            causal = causal_mask(query_length, key_length, query.device)
            mask = causal if mask is None else mask & causal
            fused_causal = False
        dropout = self.dropout if self.training else 0.0

        weights = None
        if eager:
            output, weights = topk_attention_forward(
                self, query, key, value, mask, self.scaling, dropout, self.attn_topk
            )
        elif self.attn_topk is not None:
            output = topk_sdpa_attention(query, key, value, mask, self.scaling, dropout, self.attn_topk)
        else:
            output = nn.functional.scaled_dot_product_attention(
                query, key, value, attn_mask=mask, dropout_p=dropout, is_causal=fused_causal, scale=self.scaling
            ).transpose(1, 2)
        context = output.reshape(*hidden_states.shape[:-1], self.embed_dim)
        return context, value, (weights if output_attentions else None)
