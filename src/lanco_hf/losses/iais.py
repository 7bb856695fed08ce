"""IAIS, intra-modal self-attention alignment (Ren et al., "Learning Relation Alignment for Calibrated Cross-modal
Retrieval", ACL 2021, Sec. 3), for any single-stream vision-language transformer.

From the per-head query/key states of the model's last layer, four block-restricted attention maps are computed:
each is a softmax restricted to one block of keys (text or image), kept only on one block of queries, then averaged
over heads, so that a row of a block sums to one over that block and every entry outside the block is zero:
``A_LL`` (text->text), ``A_LV`` (text->image), ``A_VL`` (image->text), ``A_VV`` (image->image). A pseudo intra-modal
map is built from the other modality through the cross-modal maps:

- singular alignment, L-mode: ``m(i) = argmax_k A_LV[i, k]``, ``Ã_LL[i, j] = softmax_j(A_VV[m(i), m(j)])``
  (a softmax of probabilities, as the official code does); V-mode swaps the roles;
- distributed alignment, L-mode: ``Ã_LL = A_LV @ A_VL``; V-mode: ``Ã_VV = A_VL @ A_LV``.

The loss of a pair is the symmetric KL ``KL(Ã || A) + KL(A || Ã)``, row-wise, averaged over the rows of the pair's
own block (its true number of words or regions); the distributed variant adds ``1e-6`` inside the log of the second
argument. Gradients flow through both maps; only the argmax indices are not differentiable. The loss of a batch is
the mean over its positive (matched) pairs only.

Everything is vectorised over the batch with padding masks: the maps stay in the coordinates of the whole sequence
(``N`` = text + image tokens), so pairs with different numbers of words and regions share one tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..modeling.validation import check_choice

ALIGNMENTS = ("singular", "distributed")
MODES = ("L", "V")
DISTRIBUTED_LOG_EPS = 1e-6  # the official code's epsilon inside the log, distributed variant only


@dataclass
class BlockAttention:
    """The four head-averaged block-restricted maps of a batch, each ``(batch, N, N)`` and zero outside its block,
    with the boolean token masks ``(batch, N)`` that define the blocks."""

    text_text: torch.Tensor
    text_image: torch.Tensor
    image_text: torch.Tensor
    image_image: torch.Tensor
    text_mask: torch.Tensor
    image_mask: torch.Tensor


def _check_inputs(query: torch.Tensor, key: torch.Tensor, text_mask: torch.Tensor, image_mask: torch.Tensor) -> None:
    if query.dim() != 4 or query.shape != key.shape:
        raise ValueError(
            f"query and key must both have shape (batch, heads, tokens, head_dim); got {tuple(query.shape)} and "
            f"{tuple(key.shape)}"
        )
    expected = (query.shape[0], query.shape[2])
    for name, mask in (("text_mask", text_mask), ("image_mask", image_mask)):
        if tuple(mask.shape) != expected:
            raise ValueError(f"{name} must have shape (batch, tokens) = {expected}, got {tuple(mask.shape)}")
    if (text_mask.bool() & image_mask.bool()).any():
        raise ValueError("text_mask and image_mask overlap; a token is either text or image")


def block_attention(
    query: torch.Tensor, key: torch.Tensor, text_mask: torch.Tensor, image_mask: torch.Tensor
) -> BlockAttention:
    """The four block-restricted maps from per-head ``query`` / ``key`` states ``(batch, heads, N, head_dim)``
    (the last layer's, after its projections) and the token masks of the text span (words, without ``[CLS]`` /
    ``[SEP]``) and the image span (regions or patches), each ``(batch, N)``."""
    _check_inputs(query, key, text_mask, image_mask)
    text_mask, image_mask = text_mask.bool(), image_mask.bool()
    scores = (query @ key.transpose(-1, -2)) * query.shape[-1] ** -0.5

    def restricted_to(columns: torch.Tensor) -> torch.Tensor:
        masked = scores.masked_fill(~columns[:, None, None, :], torch.finfo(scores.dtype).min)
        return masked.softmax(-1).mean(1) * columns[:, None, :]

    to_text, to_image = restricted_to(text_mask), restricted_to(image_mask)
    text_rows, image_rows = text_mask[:, :, None], image_mask[:, :, None]
    return BlockAttention(
        text_text=to_text * text_rows,
        text_image=to_image * text_rows,
        image_text=to_text * image_rows,
        image_image=to_image * image_rows,
        text_mask=text_mask,
        image_mask=image_mask,
    )


def _masked_softmax(values: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    masked = values.masked_fill(~columns[:, None, :], torch.finfo(values.dtype).min)
    return masked.softmax(-1) * columns[:, None, :] * rows[:, :, None]


def _gather_square(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``out[b, i, j] = values[b, index[b, i], index[b, j]]``."""
    n = index.shape[1]
    rows = values.gather(1, index[:, :, None].expand(-1, -1, values.shape[2]))
    return rows.gather(2, index[:, None, :].expand(-1, n, -1))


def pseudo_attention(maps: BlockAttention, alignment: str, mode: str) -> torch.Tensor:
    """The pseudo intra-modal map ``Ã_LL`` (``mode="L"``) or ``Ã_VV`` (``mode="V"``), ``(batch, N, N)``."""
    check_choice("alignment", alignment, ALIGNMENTS)
    check_choice("mode", mode, MODES)
    if alignment == "distributed":
        return maps.text_image @ maps.image_text if mode == "L" else maps.image_text @ maps.text_image
    if mode == "L":
        index = maps.text_image.argmax(-1)  # the region each word attends to most
        return _masked_softmax(_gather_square(maps.image_image, index), maps.text_mask, maps.text_mask)
    index = maps.image_text.argmax(-1)  # the word each region attends to most
    return _masked_softmax(_gather_square(maps.text_text, index), maps.image_mask, maps.image_mask)


def _row_kl(p: torch.Tensor, q: torch.Tensor, block: torch.Tensor, eps: float) -> torch.Tensor:
    """``sum_j p_ij (log p_ij - log(q_ij + eps))`` per row, over the block's entries only; ``(batch, N)``."""
    tiny = torch.finfo(p.dtype).tiny
    p = p.masked_fill(~block, 0.0)
    q = q.masked_fill(~block, 1.0)
    return (p * (p.clamp_min(tiny).log() - (q.clamp_min(tiny) + eps).log())).sum(-1)


def symmetric_kl(real: torch.Tensor, pseudo: torch.Tensor, rows: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """``KL(pseudo || real) + KL(real || pseudo)`` of each pair's square block ``rows x rows`` of two ``(batch, N, N)``
    maps, row-wise and averaged over the block's rows (``KLDivLoss(reduction="batchmean")`` on the block), with
    ``eps`` added inside the log of the second argument; ``(batch,)``."""
    rows = rows.bool()
    block = rows[:, :, None] & rows[:, None, :]
    per_row = _row_kl(pseudo, real, block, eps) + _row_kl(real, pseudo, block, eps)
    return per_row.sum(-1) / rows.sum(-1).clamp_min(1)


def iais_distance(
    query: torch.Tensor,
    key: torch.Tensor,
    text_mask: torch.Tensor,
    image_mask: torch.Tensor,
    alignment: str = "singular",
    mode: str = "L",
) -> torch.Tensor:
    """The symmetric KL between the real and the pseudo intra-modal map of every pair, ``(batch,)``: the IAIS loss
    of each pair before averaging, and the ISD metric when evaluated on matched pairs."""
    maps = block_attention(query, key, text_mask, image_mask)
    pseudo = pseudo_attention(maps, alignment, mode)
    real, rows = (maps.text_text, maps.text_mask) if mode == "L" else (maps.image_image, maps.image_mask)
    return symmetric_kl(real, pseudo, rows, DISTRIBUTED_LOG_EPS if alignment == "distributed" else 0.0)


@torch.no_grad()
def isd(query, key, text_mask, image_mask, alignment: str = "singular", mode: str = "L") -> torch.Tensor:
    """The ISD metric of every pair, ``(batch,)``: :func:`iais_distance` without gradient, from the last layer's
    per-head ``query`` / ``key`` states ``(batch, heads, N, head_dim)`` and the boolean text / image span masks
    ``(batch, N)``; average it over the matched pairs of a held-out set for the mean ISD. ``mode="V"`` measures the
    visual side instead."""
    return iais_distance(query, key, text_mask, image_mask, alignment, mode)


def _normalized_row_entropy(attention: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Mean over a pair's block rows of ``H(row) / log(block size)`` for a ``(batch, N, N)`` map whose square block
    ``rows x rows`` holds the pair's rows; 1 is a uniform (flat) map, 0 a one-hot one. A one-token block is uniform
    by definition (1)."""
    rows = rows.bool()
    size = rows.sum(-1)
    block = rows[:, :, None] & rows[:, None, :]
    p = attention.masked_fill(~block, 0.0)
    entropy = -(p * p.clamp_min(torch.finfo(p.dtype).tiny).log()).sum(-1)  # (batch, N), 0 outside the rows
    mean_entropy = entropy.sum(-1) / size.clamp_min(1)
    uniform = size.to(p.dtype).clamp_min(1).log()
    return torch.where(size > 1, mean_entropy / uniform.clamp_min(torch.finfo(p.dtype).tiny), torch.ones_like(uniform))


@torch.no_grad()
def attention_entropy(
    query: torch.Tensor, key: torch.Tensor, text_mask: torch.Tensor, image_mask: torch.Tensor
) -> dict[str, torch.Tensor]:
    """How flat the real intra-modal maps of every pair are: the normalised row entropy (``H / log(block size)``,
    1 = uniform) of ``A_LL`` (``"text"``) and of ``A_VV`` (``"image"``), each ``(batch,)``. Reported beside the ISD,
    it shows whether a low ISD comes from aligned structure or from flattened attention (a uniform ``A_VV`` makes
    the singular pseudo map, a softmax of probabilities, uniform too)."""
    maps = block_attention(query, key, text_mask, image_mask)
    return {
        "text": _normalized_row_entropy(maps.text_text, maps.text_mask),
        "image": _normalized_row_entropy(maps.image_image, maps.image_mask),
    }


class IAISLoss(nn.Module):
    """The IAIS regulariser: the symmetric KL between a real and a pseudo intra-modal attention map of the last
    layer, averaged over the positive pairs of the batch.

    Args:
        alignment: ``"singular"`` (argmax, one-to-one) or ``"distributed"`` (matrix product) alignment.
        mode: ``"L"`` aligns the linguistic self-attention ``A_LL`` with its pseudo map built from the visual one;
            ``"V"`` aligns ``A_VV``. The official training uses V-mode on batches of one image with hard-negative
            texts and L-mode on batches of one text with hard-negative images.

    ``forward(query, key, text_mask, image_mask, positive=None)`` takes the per-head query / key states of the last
    layer ``(batch, heads, N, head_dim)``, the boolean masks ``(batch, N)`` of the text span (words, without
    ``[CLS]`` / ``[SEP]``) and of the image span, and optionally a boolean ``positive`` mask ``(batch,)`` selecting
    the matched pairs (default: all pairs are matched). Only the positive pairs are computed and contribute.
    ``lanco_hf.losses.capture.ViltQueryKeyCapture`` obtains these inputs from transformers' ViLT.
    """

    name = "iais"
    citation = """@inproceedings{ren2021learning,
  title={Learning Relation Alignment for Calibrated Cross-modal Retrieval},
  author={Ren, Shuhuai and Lin, Junyang and Zhao, Guangxiang and Men, Rui and Yang, An and Zhou, Jingren and Sun, Xu and Yang, Hongxia},
  booktitle={Proceedings of the 59th Annual Meeting of the Association for Computational Linguistics},
  year={2021}
}"""  # noqa: E501 (the BibTeX entry is copied into model cards as written)

    def __init__(self, alignment: str = "singular", mode: str = "L"):
        super().__init__()
        check_choice("alignment", alignment, ALIGNMENTS)
        check_choice("mode", mode, MODES)
        self.alignment = alignment
        self.mode = mode

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        text_mask: torch.Tensor,
        image_mask: torch.Tensor,
        positive: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if positive is not None:
            if positive.dtype != torch.bool or tuple(positive.shape) != (query.shape[0],):
                raise ValueError(
                    f"positive must be a boolean mask of shape ({query.shape[0]},), got "
                    f"{positive.dtype} {tuple(positive.shape)}"
                )
            index = positive.nonzero().squeeze(-1)
            query, key, text_mask, image_mask = (t.index_select(0, index) for t in (query, key, text_mask, image_mask))
        if query.shape[0] == 0:
            raise ValueError("positive selects no pair; IAIS is computed on matched pairs only")
        for name, mask in (("text_mask", text_mask), ("image_mask", image_mask)):
            if (mask.bool().sum(-1) == 0).any():
                raise ValueError(f"{name} selects no token in some positive pair; every pair needs both spans")
        return iais_distance(query, key, text_mask, image_mask, self.alignment, self.mode).mean()

    def to_dict(self) -> dict[str, str]:
        return {"alignment": self.alignment, "mode": self.mode}

    def extra_repr(self) -> str:
        return f"alignment={self.alignment!r}, mode={self.mode!r}"
