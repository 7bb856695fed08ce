"""What the IAIS loss needs from a single-stream vision-language model, obtained with forward hooks instead of a
copy of the model's code.

``QueryKeyCapture`` hooks the query and key projections (``nn.Linear``) of one self-attention module and keeps
their outputs, reshaped to ``(batch, heads, tokens, head_dim)``: these are exactly the states the layer's own
attention used, with their gradient. transformers' ``output_attentions`` is not enough, since its maps are
softmaxes over the whole row, not over one modality's block.

``ViltQueryKeyCapture`` does this for transformers' ViLT (``ViltModel`` or any ``Vilt*`` head model): it hooks
the last layer's ``attention.attention.query`` / ``.key`` and the embeddings module, which returns the token mask of
the concatenated ``[CLS] words [SEP] (padding) [IMG] patches`` sequence, and derives the text span (words without
``[CLS]`` / ``[SEP]``, right padding assumed) and the image span (valid patches without the image ``[CLS]``)::

    with ViltQueryKeyCapture(model) as capture:
        outputs = model(input_ids=..., attention_mask=..., pixel_values=..., pixel_mask=...)
    loss = IAISLoss("singular", "L")(**capture.iais_inputs())

Other single-stream models with BERT-style attention (``query`` / ``key`` projections and a
``num_attention_heads`` attribute, e.g. VisualBERT's ``encoder.layer[-1].attention.self``) use
``QueryKeyCapture(that_module)`` and pass their own span masks to the loss.
"""

from __future__ import annotations

import torch
from torch import nn


class QueryKeyCapture:
    """Context manager keeping the per-head query / key states of one self-attention module's last call."""

    def __init__(self, attention: nn.Module, query: str = "query", key: str = "key", num_heads: int | None = None):
        for name in (query, key):
            if not isinstance(getattr(attention, name, None), nn.Linear):
                raise ValueError(f"{type(attention).__name__} has no nn.Linear projection named {name!r}")
        num_heads = num_heads if num_heads is not None else getattr(attention, "num_attention_heads", None)
        if not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(
                f"num_heads={num_heads!r}: pass the number of attention heads of {type(attention).__name__}"
            )
        self.projections = {"query": getattr(attention, query), "key": getattr(attention, key)}
        self.num_heads = num_heads
        self.states: dict[str, torch.Tensor] = {}
        self._handles: list = []

    def _keep(self, name: str):
        def hook(module, inputs, output):
            self.states[name] = output

        return hook

    def __enter__(self):
        self.states.clear()
        self._handles = [module.register_forward_hook(self._keep(name)) for name, module in self.projections.items()]
        return self

    def __exit__(self, *exc_info):
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _heads(self, states: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = states.shape
        return states.view(batch, tokens, self.num_heads, width // self.num_heads).transpose(1, 2)

    def query_key(self) -> tuple[torch.Tensor, torch.Tensor]:
        if set(self.states) != {"query", "key"}:
            raise RuntimeError("no forward pass was captured; call the model inside the `with` block")
        return self._heads(self.states["query"]), self._heads(self.states["key"])


class ViltQueryKeyCapture(QueryKeyCapture):
    """``QueryKeyCapture`` on the last layer of a transformers ViLT model, plus the text and image spans."""

    def __init__(self, model: nn.Module):
        vilt = getattr(model, "vilt", model)
        if not hasattr(vilt, "embeddings") or not hasattr(vilt, "encoder"):
            raise ValueError(f"{type(model).__name__} is not a ViLT model (no .vilt.embeddings / .vilt.encoder)")
        super().__init__(vilt.encoder.layer[-1].attention.attention)
        self.embeddings = vilt.embeddings
        self.token_mask: torch.Tensor | None = None
        self.text_length: int | None = None

    def _keep_mask(self, module, args, kwargs, output):
        # ViltEmbeddings.forward(input_ids, attention_mask, ...) returns (embeddings, mask of the whole sequence)
        text_attention_mask = kwargs["attention_mask"] if "attention_mask" in kwargs else args[1]
        self.text_length = text_attention_mask.shape[1]
        self.token_mask = output[1].bool()

    def __enter__(self):
        super().__enter__()
        self._handles.append(self.embeddings.register_forward_hook(self._keep_mask, with_kwargs=True))
        return self

    def spans(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Boolean ``(batch, N)`` masks of the words and of the image patches in the captured sequence."""
        if self.token_mask is None:
            raise RuntimeError("no forward pass was captured; call the model inside the `with` block")
        mask, length = self.token_mask, self.text_length
        positions = torch.arange(mask.shape[1], device=mask.device)
        text_valid = mask & (positions < length)
        separator = text_valid.sum(-1, keepdim=True) - 1
        text = text_valid & (positions > 0) & (positions[None, :] != separator)
        image = mask & (positions > length)
        return text, image

    def iais_inputs(self) -> dict[str, torch.Tensor]:
        """Keyword arguments of ``IAISLoss`` / ``isd``: ``query``, ``key``, ``text_mask``, ``image_mask``."""
        query, key = self.query_key()
        text_mask, image_mask = self.spans()
        return {"query": query, "key": key, "text_mask": text_mask, "image_mask": image_mask}
