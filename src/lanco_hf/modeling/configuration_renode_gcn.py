"""Configuration of the ReNode node classifier (Chen et al., NeurIPS 2021): a full-batch GNN from
``torch_geometric`` (GCN, GAT or GraphSAGE) trained with a quantity-imbalance loss multiplied by ReNode weights."""

from __future__ import annotations

from transformers import PreTrainedConfig

from .imbalance_losses import LOSS_TYPES
from .validation import check_choice, check_float, check_int, check_num_labels

GNN_TYPES = ("gcn", "gat", "sage")


class ReNodeGCNConfig(PreTrainedConfig):
    r"""
    Configuration of [`ReNodeGCNForNodeClassification`]. The defaults are the official ReNode transductive setting
    (2 layers, 32 hidden units, dropout 0.5). The number of classes is `num_labels` (or `id2label`).

    Args:
        num_features (`int`, defaults to 1433):
            Size of the input node features (1433 for Cora's bag of words).
        hidden_size (`int`, defaults to 32):
            Width of every hidden layer.
        num_layers (`int`, defaults to 2):
            Number of graph convolutions; ReLU and dropout sit between them, the last one outputs the logits.
        gnn_type (`str`, defaults to `"gcn"`):
            `"gcn"` (`GCNConv`), `"gat"` (`GATConv`, `gat_heads` concatenated heads of width
            `hidden_size / gat_heads` in hidden layers, one head at the output) or `"sage"` (`SAGEConv`, mean).
        gat_heads (`int`, defaults to 4):
            Attention heads of the hidden GAT layers; must divide `hidden_size`.
        dropout (`float`, defaults to 0.5):
            Dropout on the hidden node states.
        loss_type (`str`, defaults to `"ce"`):
            Per-node loss before the ReNode weights: `"ce"`, `"re-weight"` (cross-entropy with class weights
            `mean(n) / n_c`), `"focal"` (sigmoid focal loss with the same class factor as alpha) or `"cb-softmax"`
            (class-balanced weights `(1 - beta) / (1 - beta^n_c)` on the softmax). `n_c` counts the labelled
            nodes of class `c` in the train mask.
        focal_gamma (`float`, defaults to 2.0):
            Focusing parameter of the focal loss.
        cb_beta (`float`, defaults to 0.9999):
            Beta of the class-balanced loss, in [0, 1).

    Example:

    ```python
    >>> from lanco_hf import ReNodeGCNConfig, ReNodeGCNForNodeClassification
    >>> config = ReNodeGCNConfig(num_features=1433, num_labels=7, gnn_type="gcn")
    >>> model = ReNodeGCNForNodeClassification(config)
    ```
    """

    model_type = "renode_gcn"

    num_features: int = 1433
    hidden_size: int = 32
    num_layers: int = 2
    gnn_type: str = "gcn"
    gat_heads: int = 4
    dropout: float = 0.5
    loss_type: str = "ce"
    focal_gamma: float = 2.0
    cb_beta: float = 0.9999

    def __post_init__(self, **kwargs):
        check_num_labels(kwargs, minimum=2)
        super().__post_init__(**kwargs)
        self.validate_renode()

    def validate_renode(self) -> None:
        """Check every field; raise ``ValueError`` naming the first bad one."""
        for name in ("num_features", "hidden_size", "num_layers", "gat_heads"):
            check_int(name, getattr(self, name), minimum=1)
        check_int("num_labels", self.num_labels, minimum=2)
        check_choice("gnn_type", self.gnn_type, GNN_TYPES)
        if self.gnn_type == "gat" and self.hidden_size % self.gat_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} must be divisible by gat_heads={self.gat_heads} with gnn_type='gat'"
            )
        check_float("dropout", self.dropout, 0.0, 1.0, max_inclusive=False)
        check_choice("loss_type", self.loss_type, LOSS_TYPES)
        check_float("focal_gamma", self.focal_gamma, 0.0)
        check_float("cb_beta", self.cb_beta, 0.0, 1.0, max_inclusive=False)


__all__ = ["GNN_TYPES", "ReNodeGCNConfig"]
