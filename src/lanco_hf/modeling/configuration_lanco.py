"""Configuration of the shared lanco encoder-decoder core.

The field names are those of transformers' Marian/BART configs, so that a benchmark can build a
``MarianMTModel`` of identical dimensions, plus lanco's own options (normalisation, top-k attention).
Every value is validated at construction; a bad value raises ``ValueError`` naming the field.
"""

from __future__ import annotations

from transformers import PreTrainedConfig

from .norms import NORM_TYPES
from .validation import check_bool, check_choice, check_divides, check_float, check_int, check_subset

ATTN_TOPK_TARGETS = ("encoder", "decoder", "cross")
POSITION_EMBEDDING_TYPES = ("sinusoidal", "learned")
ACTIVATIONS = ("relu", "gelu", "gelu_new", "silu", "swish", "tanh")


class LancoSeq2SeqConfig(PreTrainedConfig):
    r"""
    Configuration of the plain lanco Transformer encoder-decoder, which every lanco seq2seq architecture
    extends.

    Args:
        vocab_size, d_model, encoder_layers, decoder_layers, encoder_attention_heads, decoder_attention_heads,
        encoder_ffn_dim, decoder_ffn_dim, dropout, attention_dropout, activation_dropout, activation_function,
        max_position_embeddings, scale_embedding, pad_token_id, bos_token_id, eos_token_id,
        decoder_start_token_id, tie_word_embeddings:
            As in transformers' `MarianConfig`. `tie_word_embeddings=True` shares one matrix between the
            encoder input, decoder input and output embeddings (a joint vocabulary).
        position_embedding_type (`str`, defaults to `"sinusoidal"`):
            `"sinusoidal"` (no parameters, any length up to `max_position_embeddings`) or `"learned"`.
        normalize_before (`bool`, defaults to `False`):
            Pre-norm residual blocks (with a final norm after each stack) instead of post-norm.
        norm_type (`str`, defaults to `"layernorm"`):
            One of `"layernorm"`, `"layernorm_simple"`, `"adanorm"`, `"detachnorm"` (Xu et al., 2019).
        norm_eps (`float`, defaults to 1e-5):
            Epsilon of every normalisation layer.
        adanorm_scale, adanorm_k (`float`, defaults to 2.0 and 0.1):
            `C` and `k` of AdaNorm, `phi(y) = C (1 - k y)`.
        attn_topk (`int`, *optional*):
            Explicit sparse attention: keep the `attn_topk` largest scores of every query row and head (ties
            at the threshold are all kept; with fewer keys than `attn_topk` every key is kept). `None` is
            dense attention.
        attn_topk_targets (`list[str]`, defaults to all three):
            Where top-k applies: any of `"encoder"` (encoder self-attention), `"decoder"` (decoder
            self-attention), `"cross"` (decoder cross-attention).
        init_std (`float`, *optional*):
            Standard deviation of the embedding initialisation; `None` means `d_model ** -0.5`.
    """

    model_type = "lanco_seq2seq"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {
        "num_attention_heads": "encoder_attention_heads",
        "hidden_size": "d_model",
        "num_hidden_layers": "decoder_layers",
    }

    vocab_size: int = 8000
    d_model: int = 512
    encoder_layers: int = 6
    decoder_layers: int = 6
    encoder_attention_heads: int = 8
    decoder_attention_heads: int = 8
    encoder_ffn_dim: int = 2048
    decoder_ffn_dim: int = 2048
    dropout: float = 0.1
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    activation_function: str = "relu"
    max_position_embeddings: int = 1024
    position_embedding_type: str = "sinusoidal"
    scale_embedding: bool = True
    init_std: float | None = None
    normalize_before: bool = False
    norm_type: str = "layernorm"
    norm_eps: float = 1e-5
    adanorm_scale: float = 2.0
    adanorm_k: float = 0.1
    attn_topk: int | None = None
    attn_topk_targets: list[str] | None = None
    pad_token_id: int | None = 0
    bos_token_id: int | None = 1
    eos_token_id: int | list[int] | None = 2
    decoder_start_token_id: int = 1
    is_encoder_decoder: bool = True
    tie_word_embeddings: bool = True
    use_cache: bool = True

    def __post_init__(self, **kwargs):
        if self.attn_topk_targets is None:
            self.attn_topk_targets = list(ATTN_TOPK_TARGETS)
        self.attn_topk_targets = list(self.attn_topk_targets)
        super().__post_init__(**kwargs)
        self.validate_lanco()

    def validate_lanco(self) -> None:
        """Check every lanco field; raise ``ValueError`` naming the first bad one."""
        for name in ("vocab_size", "d_model", "max_position_embeddings"):
            check_int(name, getattr(self, name), minimum=1)
        for side in ("encoder", "decoder"):
            check_int(f"{side}_layers", getattr(self, f"{side}_layers"), minimum=1)
            check_int(f"{side}_attention_heads", getattr(self, f"{side}_attention_heads"), minimum=1)
            check_int(f"{side}_ffn_dim", getattr(self, f"{side}_ffn_dim"), minimum=1)
            heads = getattr(self, f"{side}_attention_heads")
            check_divides("d_model", self.d_model, f"{side}_attention_heads", heads)
        for name in ("dropout", "attention_dropout", "activation_dropout"):
            check_float(name, getattr(self, name), 0.0, 1.0, max_inclusive=False)
        check_choice("activation_function", self.activation_function, ACTIVATIONS)
        check_choice("position_embedding_type", self.position_embedding_type, POSITION_EMBEDDING_TYPES)
        if self.position_embedding_type == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"d_model={self.d_model} must be even with position_embedding_type='sinusoidal'")
        for name in ("scale_embedding", "normalize_before", "tie_word_embeddings", "use_cache"):
            check_bool(name, getattr(self, name))
        if self.init_std is not None:
            check_float("init_std", self.init_std, 0.0, min_inclusive=False)
        check_choice("norm_type", self.norm_type, NORM_TYPES)
        check_float("norm_eps", self.norm_eps, 0.0, min_inclusive=False)
        check_float("adanorm_scale", self.adanorm_scale, 0.0, min_inclusive=False)
        check_float("adanorm_k", self.adanorm_k, 0.0)
        check_int("attn_topk", self.attn_topk, minimum=1, allow_none=True)
        check_subset("attn_topk_targets", self.attn_topk_targets, ATTN_TOPK_TARGETS)
        for name in ("pad_token_id", "bos_token_id", "decoder_start_token_id"):
            check_int(name, getattr(self, name), minimum=0, maximum=self.vocab_size - 1, allow_none=name != "decoder_start_token_id")
        eos = self.eos_token_id if isinstance(self.eos_token_id, list) else [self.eos_token_id]
        for token in eos:
            check_int("eos_token_id", token, minimum=0, maximum=self.vocab_size - 1, allow_none=True)

    def topk_for(self, target: str) -> int | None:
        """The top-k used by the attention of kind ``target`` (``"encoder"``, ``"decoder"`` or ``"cross"``)."""
        return self.attn_topk if target in self.attn_topk_targets else None


__all__ = ["LancoSeq2SeqConfig"]
