"""Configuration of the shared lanco encoder-decoder core.

The field names are those of transformers' Marian/BART configs, so that a benchmark can build a
``MarianMTModel`` of identical dimensions, plus lanco's own options (normalisation, top-k attention, MUSE
layers, layer-wise cross-view routing), which combine freely. Every value is validated at construction; a
bad value raises ``ValueError`` naming the field.
"""

from __future__ import annotations

from transformers import PreTrainedConfig

from .norms import NORM_TYPES
from .validation import check_bool, check_choice, check_divides, check_float, check_int, check_int_list, check_subset

ATTN_TOPK_TARGETS = ("encoder", "decoder", "cross")
POSITION_EMBEDDING_TYPES = ("sinusoidal", "learned")
MUSE_VARIANTS = (None, "muse", "muse_simple")
CROSS_VIEW_ROUTINGS = ("last", "gca")
DEFAULT_MUSE_KERNEL_SIZES = (3, 15)
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
        muse_variant (`str`, *optional*):
            Parallel multi-scale layers (Zhao et al., 2019): `"muse_simple"` runs self-attention and the feed-forward
            network in parallel on the same input (one residual, one norm per layer; the decoder's cross-attention is
            a third parallel branch); `"muse"` adds a depth-wise dynamic convolution over the self-attention's value
            projection (shared V) with the kernels of `muse_kernel_sizes`, mixed by a learned softmax gate, the output
            projection reading `[attention ; convolution]`. `None` is the standard sequential Transformer layer.
        muse_kernel_sizes (`list[int]`, defaults to `[3, 15]`):
            Odd kernel sizes of MUSE's convolution: centred in the encoder, causal in the decoder.
        muse_weight_dropout (`float`, defaults to 0.1):
            Dropout on the predicted convolution kernels (after their softmax), as in the official code.
        cross_view_routing (`str`, defaults to `"last"`):
            Which encoder layer each decoder layer's cross-attention reads (Liu et al., 2020): `"last"` (every decoder
            layer reads the last encoder layer, the standard Transformer) or `"gca"` (granularity-consistent attention:
            decoder layer `l` reads encoder layer `cross_view_layers[l - 1]`). See `cross_view_source_layers`.
        cross_view_layers (`list[int]`, *optional*):
            With `"gca"`: the 1-based encoder layer each decoder layer reads, one entry per decoder layer, each in
            `[1, encoder_layers]`. `None` means `ceil(l * encoder_layers / decoder_layers)` for decoder layer `l`,
            i.e. `l` for equal depths; the last decoder layer always reads the last encoder layer.
        init_std (`float`, *optional*):
            The initialisation of a model trained from scratch. `None`: fairseq's Transformer initialisation, that of
            the papers' code (Xavier-uniform projections, embeddings `N(0, d_model ** -0.5)`). A float: transformers'
            BART / Marian initialisation, every projection and embedding `N(0, init_std)` (they use 0.02), which
            makes each residual branch small at the start; a projection whose paper gives its own rule (MUSE's) keeps
            it either way.
    """

    model_type = "lanco_seq2seq"
    keys_to_ignore_at_inference = ["past_key_values", "cache"]
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
    muse_variant: str | None = None
    muse_kernel_sizes: list[int] | None = None
    muse_weight_dropout: float = 0.1
    cross_view_routing: str = "last"
    cross_view_layers: list[int] | None = None
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
        if isinstance(self.attn_topk_targets, (tuple, set)):  # anything else is refused by validate_lanco
            self.attn_topk_targets = list(self.attn_topk_targets)
        if self.muse_kernel_sizes is None:
            self.muse_kernel_sizes = list(DEFAULT_MUSE_KERNEL_SIZES)
        for name in ("muse_kernel_sizes", "cross_view_layers"):  # JSON has no tuples
            if isinstance(getattr(self, name), tuple):
                setattr(self, name, list(getattr(self, name)))
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
        check_choice("muse_variant", self.muse_variant, MUSE_VARIANTS)
        check_int_list("muse_kernel_sizes", self.muse_kernel_sizes, minimum=1, odd=True)
        check_float("muse_weight_dropout", self.muse_weight_dropout, 0.0, 1.0, max_inclusive=False)
        check_choice("cross_view_routing", self.cross_view_routing, CROSS_VIEW_ROUTINGS)
        if self.cross_view_layers is not None:
            if self.cross_view_routing != "gca":
                raise ValueError(
                    f"cross_view_layers is only used with cross_view_routing='gca'; got cross_view_routing="
                    f"{self.cross_view_routing!r} (set cross_view_layers=None)"
                )
            check_int_list("cross_view_layers", self.cross_view_layers, minimum=1, maximum=self.encoder_layers)
            if len(self.cross_view_layers) != self.decoder_layers:
                raise ValueError(
                    f"cross_view_layers has {len(self.cross_view_layers)} entries; it needs one per decoder layer "
                    f"(decoder_layers={self.decoder_layers})"
                )
        for name in ("pad_token_id", "bos_token_id", "decoder_start_token_id"):
            check_int(
                name,
                getattr(self, name),
                minimum=0,
                maximum=self.vocab_size - 1,
                allow_none=name != "decoder_start_token_id",
            )
        eos = self.eos_token_id if isinstance(self.eos_token_id, list) else [self.eos_token_id]
        for token in eos:
            check_int("eos_token_id", token, minimum=0, maximum=self.vocab_size - 1, allow_none=True)

    def cross_view_source_layers(self) -> list[int]:
        """The 1-based encoder layer whose output each decoder layer's cross-attention reads, one per decoder layer:
        ``[encoder_layers] * decoder_layers`` with ``"last"``; with ``"gca"`` ``cross_view_layers`` or, by default,
        ``ceil(l * encoder_layers / decoder_layers)`` for decoder layer ``l = 1..decoder_layers``."""
        encoder, decoder = self.encoder_layers, self.decoder_layers
        if self.cross_view_routing == "last":
            return [encoder] * decoder
        if self.cross_view_layers is not None:
            return list(self.cross_view_layers)
        return [-(-layer * encoder // decoder) for layer in range(1, decoder + 1)]

    def topk_for(self, target: str) -> int | None:
        """The top-k used by the attention of kind ``target`` (``"encoder"``, ``"decoder"`` or ``"cross"``)."""
        return self.attn_topk if target in self.attn_topk_targets else None


__all__ = ["LancoSeq2SeqConfig"]
