"""Configuration of MUSE, parallel multi-scale attention (Zhao et al. 2019, arXiv:1911.09483)."""

from __future__ import annotations

from .configuration_lanco import LancoSeq2SeqConfig
from .validation import check_choice

MUSE_ONLY_VARIANTS = ("muse", "muse_simple")


class MuseConfig(LancoSeq2SeqConfig):
    r"""
    The lanco Transformer with MUSE's parallel layers. `muse_variant="muse"` (default): self-attention, a gated
    dynamic convolution over the attention's value projection (kernels `muse_kernel_sizes`, default `[3, 15]`) and
    the feed-forward network run in parallel, with the decoder's cross-attention as one more parallel branch;
    `"muse_simple"`: the same without the convolution. All other fields are those of [`LancoSeq2SeqConfig`], and combine
    with MUSE (`attn_topk`, `norm_type`, `normalize_before`, `cross_view_routing`).

    Example:

    ```python
    >>> from lanco_hf import MuseConfig, MuseForConditionalGeneration
    >>> config = MuseConfig(vocab_size=8000, d_model=256, muse_variant="muse", attn_topk=8, norm_type="adanorm")
    >>> model = MuseForConditionalGeneration(config)
    ```
    """

    model_type = "muse"

    muse_variant: str | None = "muse"

    def validate_lanco(self) -> None:
        super().validate_lanco()
        check_choice("muse_variant", self.muse_variant, MUSE_ONLY_VARIANTS)


__all__ = ["MuseConfig"]
