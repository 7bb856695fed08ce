"""Configuration of layer-wise cross-view decoding (Liu et al. 2020, arXiv:2005.08081)."""

from __future__ import annotations

from .configuration_lanco import LancoSeq2SeqConfig


class CrossViewConfig(LancoSeq2SeqConfig):
    r"""
    The lanco Transformer whose decoder layers attend to different encoder layers. `cross_view_routing="gca"`
    (default, granularity-consistent attention): decoder layer `l` attends to the output of encoder layer `l`; with
    unequal depths to encoder layer `ceil(l * encoder_layers / decoder_layers)` (the last decoder layer always reads
    the last encoder layer), or to the layers listed in `cross_view_layers`. `"last"` is the standard Transformer.
    No parameters are added. All other fields are those of [`LancoSeq2SeqConfig`] (`attn_topk`, `norm_type`,
    `muse_variant`, ... combine with the routing).

    Example:

    ```python
    >>> from lanco_hf import CrossViewConfig, CrossViewForConditionalGeneration
    >>> config = CrossViewConfig(vocab_size=8000, d_model=256, encoder_layers=6, decoder_layers=3)
    >>> config.cross_view_source_layers()
    [2, 4, 6]
    >>> model = CrossViewForConditionalGeneration(config)
    ```
    """

    model_type = "cross_view"

    cross_view_routing: str = "gca"


__all__ = ["CrossViewConfig"]
