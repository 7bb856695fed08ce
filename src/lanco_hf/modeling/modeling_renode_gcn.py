"""ReNode node classifier (Chen et al., NeurIPS 2021): a full-batch GNN built from ``torch_geometric``
convolutions whose loss is the ReNode-weighted quantity-imbalance loss of the labelled nodes.

``torch_geometric`` is imported when a model is built, so ``import lanco_hf`` works without the ``[graph]`` extra.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from .auto_map import AutoMapMixin
from .configuration_renode_gcn import ReNodeGCNConfig
from .hub_card import ModelCardMixin
from .imbalance_losses import ReNodeLoss


def _convolutions():
    try:
        from torch_geometric.nn import GATConv, GCNConv, SAGEConv
    except ImportError as error:
        raise ImportError(
            "ReNodeGCNForNodeClassification needs torch_geometric: pip install 'lanco-hf[graph]' (or torch_geometric)"
        ) from error
    return {"gcn": GCNConv, "gat": GATConv, "sage": SAGEConv}


def build_convolution(config: ReNodeGCNConfig, in_channels: int, out_channels: int, is_output: bool) -> nn.Module:
    """One graph convolution of the configured type, as in the official ReNode networks (GAT hidden layers
    concatenate ``gat_heads`` heads, the GAT output layer has one head)."""
    conv_class = _convolutions()[config.gnn_type]
    if config.gnn_type != "gat":
        return conv_class(in_channels, out_channels)
    if is_output:
        return conv_class(in_channels, out_channels, heads=1, concat=False)
    return conv_class(in_channels, out_channels // config.gat_heads, heads=config.gat_heads)


@dataclass
class NodeClassifierOutput(ModelOutput):
    """
    loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` are given):
        The (ReNode-weighted) loss of the labelled nodes.
    logits (`torch.FloatTensor` of shape `(num_nodes, num_labels)`):
        Class scores of every node.
    hidden_states (`tuple(torch.FloatTensor)`, *optional*, returned with `output_hidden_states=True`):
        The input features and the node states after every hidden convolution (after ReLU, before dropout).
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None


class ReNodeGCNPreTrainedModel(ModelCardMixin, AutoMapMixin, PreTrainedModel):
    config_class = ReNodeGCNConfig
    base_model_prefix = "gnn"
    main_input_name = "x"
    accepts_loss_kwargs = False  # the loss is a full-batch mean over labelled nodes, never rescaled by the Trainer

    def __init__(self, config: ReNodeGCNConfig, *inputs, **kwargs):
        config.validate_renode()  # also catches fields changed after the config was built
        super().__init__(config, *inputs, **kwargs)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """torch_geometric's own initialisation of each convolution (what the official code uses)."""
        if isinstance(module, tuple(_convolutions().values())):
            module.reset_parameters()


class ReNodeGCNForNodeClassification(ReNodeGCNPreTrainedModel):
    """A `num_layers`-deep GCN / GAT / GraphSAGE over the whole graph: convolution, ReLU and dropout between layers,
    logits from the last convolution. With `labels`, the loss is :class:`ReNodeLoss` over the nodes of `train_mask`,
    each multiplied by its `node_weights` entry (ReNode weights from `lanco_hf.renode_weights`)."""

    def __init__(self, config: ReNodeGCNConfig):
        super().__init__(config)
        widths = [config.num_features] + [config.hidden_size] * (config.num_layers - 1) + [config.num_labels]
        self.convs = nn.ModuleList(
            build_convolution(config, widths[i], widths[i + 1], is_output=i == config.num_layers - 1)
            for i in range(config.num_layers)
        )
        self.dropout = nn.Dropout(config.dropout)
        self.renode_loss = ReNodeLoss(config.loss_type, config.focal_gamma, config.cb_beta)
        self.post_init()

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        labels: torch.Tensor | None = None,
        train_mask: torch.Tensor | None = None,
        node_weights: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> NodeClassifierOutput | tuple:
        r"""
        x (`torch.FloatTensor` of shape `(num_nodes, num_features)`):
            Node features.
        edge_index (`torch.LongTensor` of shape `(2, num_edges)`):
            Edges as (source, target) node ids, torch_geometric's layout (list both directions for an undirected graph).
        labels (`torch.LongTensor` of shape `(num_nodes,)`, *optional*):
            Class of every node; only the nodes of `train_mask` enter the loss.
        train_mask (`torch.BoolTensor` of shape `(num_nodes,)`, *optional*):
            The labelled nodes the loss is computed on; by default the nodes whose label is not -100.
        node_weights (`torch.FloatTensor` of shape `(num_nodes,)`, *optional*):
            Per-node loss weights (ReNode weights); entries outside `train_mask` are ignored.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        self._check_graph(x, edge_index)
        hidden_states = (x,) if output_hidden_states else None
        for conv in self.convs[:-1]:
            x = torch.relu(conv(x, edge_index))
            if output_hidden_states:
                hidden_states += (x,)
            x = self.dropout(x)
        logits = self.convs[-1](x, edge_index)

        loss = None
        if labels is not None:
            loss = self.node_loss(logits, labels, train_mask, node_weights)
        if not return_dict:
            return tuple(value for value in (loss, logits, hidden_states) if value is not None)
        return NodeClassifierOutput(loss=loss, logits=logits, hidden_states=hidden_states)

    def node_loss(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor,
        train_mask: torch.Tensor | None = None,
        node_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``sum_{v in mask} w_v l(z_v, y_v) / |mask|`` with ``l`` from ``config.loss_type`` and class counts taken
        from the labels of the mask."""
        num_nodes, num_labels = logits.shape
        if labels.shape != (num_nodes,):
            raise ValueError(f"labels has shape {tuple(labels.shape)}; expected ({num_nodes},), one per node")
        if train_mask is None:
            train_mask = labels != -100
        if train_mask.shape != (num_nodes,) or train_mask.dtype != torch.bool:
            raise ValueError(
                f"train_mask must be a boolean tensor of shape ({num_nodes},), "
                f"got {train_mask.dtype} {tuple(train_mask.shape)}"
            )
        if not bool(train_mask.any()):
            raise ValueError("train_mask selects no node; the loss needs at least one labelled node")
        gold = labels[train_mask]
        if bool((gold < 0).any() or (gold >= num_labels).any()):
            raise ValueError(
                f"labels of the train_mask nodes must lie in [0, {num_labels}) (num_labels); "
                f"got {gold.min().item()}..{gold.max().item()}"
            )
        weights = None
        if node_weights is not None:
            if node_weights.shape != (num_nodes,):
                raise ValueError(
                    f"node_weights has shape {tuple(node_weights.shape)}; expected ({num_nodes},), one per node"
                )
            weights = node_weights[train_mask]
            if bool((weights < 0).any()):
                raise ValueError("node_weights must be non-negative on the train_mask nodes")
        counts = torch.bincount(gold, minlength=num_labels) if self.config.loss_type != "ce" else None
        return self.renode_loss(logits[train_mask], gold, counts, weights)

    def _check_graph(self, x: torch.Tensor, edge_index: torch.Tensor) -> None:
        if x.dim() != 2 or x.shape[1] != self.config.num_features:
            raise ValueError(
                f"x has shape {tuple(x.shape)}; expected (num_nodes, {self.config.num_features}) (num_features)"
            )
        if edge_index.dim() != 2 or edge_index.shape[0] != 2 or edge_index.is_floating_point():
            raise ValueError(
                "edge_index must be an integer tensor of shape (2, num_edges), "
                f"got {edge_index.dtype} {tuple(edge_index.shape)}"
            )
        if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= x.shape[0]):
            raise ValueError(
                f"edge_index holds node ids {int(edge_index.min())}..{int(edge_index.max())}; "
                f"allowed: [0, {x.shape[0]}) (num_nodes of x)"
            )


__all__ = ["NodeClassifierOutput", "ReNodeGCNForNodeClassification", "ReNodeGCNPreTrainedModel", "build_convolution"]
