"""The demo's figures: the encoder-decoder attention of a translation, one panel per layer and head with the entries
top-k attention kept marked, and a label-correlation graph. They are ``matplotlib.figure.Figure`` objects made
without pyplot, so a long-running demo keeps no figure alive after the page has shown it."""

from __future__ import annotations

import numpy as np


def _figure(**kwargs):
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def cross_attention_figure(
    weights: np.ndarray, source_tokens: list[str], target_tokens: list[str], topk: int | None = None
):
    """Heat-maps of ``weights`` (layers, heads, target length, source length), one panel per layer (row) and head
    (column). With ``topk`` (the cross-attention's k of the Explicit Sparse Transformer, Zhao et al. 2019, Sec. 2),
    each output token's kept source tokens, the entries that received probability, are outlined: the top-k pattern
    of every head."""
    layers, heads, rows, columns = weights.shape
    cell = 0.28
    width = max(2.5, 1.2 + cell * columns) * heads
    height = max(2.2, 1.0 + cell * rows) * layers
    figure = _figure(figsize=(width, height))
    axes = figure.subplots(layers, heads, squeeze=False)
    for layer in range(layers):
        for head in range(heads):
            axis, panel = axes[layer][head], weights[layer, head]
            axis.imshow(panel, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
            title = f"layer {layer + 1}, head {head + 1}"
            if topk is not None:
                kept_rows, kept_columns = np.nonzero(panel > 0)
                axis.scatter(kept_columns, kept_rows, marker="s", s=60, facecolors="none", edgecolors="red", lw=0.8)
                title += f" (top-{topk})"
            axis.set_title(title, fontsize=9)
            axis.set_xticks(range(columns), source_tokens, rotation=90, fontsize=7)
            axis.set_yticks(range(rows), target_tokens, fontsize=7)
            axis.set_xlabel("source token", fontsize=8)
            axis.set_ylabel("output token", fontsize=8)
    figure.tight_layout()
    return figure


def label_graph_figure(graph: np.ndarray, names: list[str]):
    """The label graph ``G`` (label i supports label j with weight ``G[i, j]``; Zhao et al. 2019, "Review-Driven
    Multi-Label Music Style Classification by Exploiting Style Correlations", Sec. 3), diagonal masked so that the
    off-diagonal correlations are visible."""
    size = len(names)
    figure = _figure(figsize=(min(3.0 + 0.3 * size, 12.0), min(2.5 + 0.3 * size, 11.0)))
    axis = figure.subplots()
    shown = np.ma.masked_array(graph, mask=np.eye(size, dtype=bool))
    image = axis.imshow(shown, cmap="viridis", interpolation="nearest")
    axis.set_xticks(range(size), names, rotation=90, fontsize=7)
    axis.set_yticks(range(size), names, fontsize=7)
    axis.set_xlabel("supported label j")
    axis.set_ylabel("supporting label i")
    axis.set_title(f"Learned label graph G (diagonal masked; mean diagonal {np.diag(graph).mean():.2f})", fontsize=9)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
    figure.tight_layout()
    return figure
