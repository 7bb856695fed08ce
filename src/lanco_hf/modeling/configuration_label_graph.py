"""Configuration of the label-graph multi-label classifier with soft training (Zhao et al., NAACL 2019,
"Review-Driven Multi-Label Music Style Classification by Exploiting Style Correlations")."""

from __future__ import annotations

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .validation import check_bool, check_choice, check_float, check_int, check_num_labels

POOLINGS = ("mean", "cls", "pooler")
GRAPH_POSITIONS = ("after_sigmoid", "before_sigmoid")

# The default text encoder trained from scratch: a 2-layer, 128-wide BERT (about 1.4M parameters with an 8k vocabulary).
SMALL_BERT = {
    "vocab_size": 8000,
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 512,
    "max_position_embeddings": 512,
}


class LabelGraphConfig(PreTrainedConfig):
    r"""
    Configuration of [`LabelGraphForSequenceClassification`]: a text encoder, a linear classifier over its pooled
    output, a learnable label graph `G` (m x m, initialised to the identity) applied to the classifier output, and the
    soft-training loss. The label names are `id2label` (their number is `num_labels`); `problem_type` is always
    `"multi_label_classification"`, so scores are sigmoids (also in `pipeline("text-classification")`).

    Args:
        encoder_config (`dict` or `PreTrainedConfig`, *optional*):
            Config of the encoder backbone, any model `AutoModel.from_config` builds (a dict names its
            `model_type`; a dict without one overrides fields of the default, a small BERT trained from scratch
            (`SMALL_BERT`)); `LabelGraphForSequenceClassification.from_backbone` fills it from a pretrained encoder.
        pooling (`str`, defaults to `"mean"`):
            How the text vector is read from the encoder: `"mean"` (mean of the last hidden states over the
            attention mask, the sentence-transformers pooling of MiniLM), `"cls"` (first token's last hidden state)
            or `"pooler"` (the backbone's `pooler_output`, what `BertForSequenceClassification` uses).
        classifier_dropout (`float`, defaults to 0.1):
            Dropout on the text vector before the linear classifier, in [0, 1).
        use_label_graph (`bool`, defaults to `True`):
            Apply the label graph to the classifier output (the paper's `use_rel`); `False` is a plain multi-label
            classifier (the graph still defines the soft target when `soft_training` is on).
        graph_position (`str`, defaults to `"after_sigmoid"`):
            `"after_sigmoid"`: scores `o = sigmoid(e) G` (the paper's code default); `"before_sigmoid"`: scores
            `o = sigmoid(e G)` (the paper's `pre_rel`). `e` are the classifier logits.
        graph_init_noise (`float`, defaults to 0.0):
            `G` starts at `I + graph_init_noise * U`, with `U` uniform in [0, 1) (the paper's `lg_init_noise`;
            non-negative so that no entry starts below zero).
        graph_regularization (`float`, defaults to 0.0):
            Weight of `||G - I||_F^2` added to the loss (the paper's `ratio2`). Positive keeps `G` near the identity;
            negative pushes it away, as the paper's flag help describes (bounded, since `G` is column-stochastic).
            Needs `use_label_graph=True`.
        soft_training (`bool`, defaults to `False`):
            Add the soft loss `soft_loss_weight * BCE(o, sg(y G))` to the hard loss `BCE(o, y)`.
        soft_loss_weight (`float`, defaults to 1.0):
            The paper's `ratio1`, >= 0.
        threshold (`float`, defaults to 0.5):
            Decision threshold on the scores: label `j` is predicted when `o_j > threshold`, in (0, 1).

    Example:

    ```python
    >>> from lanco_hf import LabelGraphConfig, LabelGraphForSequenceClassification
    >>> config = LabelGraphConfig(id2label={0: "game::arcade", 1: "use::gameplaying"}, soft_training=True)
    >>> model = LabelGraphForSequenceClassification(config)
    ```
    """

    model_type = "label_graph"
    sub_configs_defaults = {
        "encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert", init_kwargs=SMALL_BERT),
    }

    encoder_config: dict | PreTrainedConfig | None = None
    pooling: str = "mean"
    classifier_dropout: float = 0.1
    use_label_graph: bool = True
    graph_position: str = "after_sigmoid"
    graph_init_noise: float = 0.0
    graph_regularization: float = 0.0
    soft_training: bool = False
    soft_loss_weight: float = 1.0
    threshold: float = 0.5

    def __post_init__(self, **kwargs):
        check_num_labels(kwargs, minimum=1)
        if self.problem_type is None:
            self.problem_type = "multi_label_classification"
        if isinstance(self.encoder_config, dict) and "model_type" not in self.encoder_config:
            self.encoder_config = {**SMALL_BERT, **self.encoder_config}  # a partial override of the small BERT
        super().__post_init__(**kwargs)
        if self.label2id is None:
            self.label2id = {label: index for index, label in self.id2label.items()}
        self.validate_label_graph()

    def validate_label_graph(self) -> None:
        """Check every field; raise ``ValueError`` naming the first bad one."""
        check_choice("problem_type", self.problem_type, ("multi_label_classification",))
        check_int("num_labels", self.num_labels, minimum=1)
        if not hasattr(self.encoder_config, "hidden_size"):
            raise ValueError(
                f"encoder_config ({type(self.encoder_config).__name__}) has no hidden_size; allowed: the config of a "
                "text encoder such as BertConfig"
            )
        check_choice("pooling", self.pooling, POOLINGS)
        check_float("classifier_dropout", self.classifier_dropout, 0.0, 1.0, max_inclusive=False)
        check_bool("use_label_graph", self.use_label_graph)
        check_choice("graph_position", self.graph_position, GRAPH_POSITIONS)
        check_float("graph_init_noise", self.graph_init_noise, 0.0)
        check_float("graph_regularization", self.graph_regularization)
        if self.graph_regularization and not self.use_label_graph:
            raise ValueError(
                f"graph_regularization={self.graph_regularization} needs use_label_graph=True; allowed without the graph: 0.0"
            )
        check_bool("soft_training", self.soft_training)
        check_float("soft_loss_weight", self.soft_loss_weight, 0.0)
        check_float("threshold", self.threshold, 0.0, 1.0, min_inclusive=False, max_inclusive=False)


__all__ = ["GRAPH_POSITIONS", "POOLINGS", "SMALL_BERT", "LabelGraphConfig"]
