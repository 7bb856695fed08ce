"""Configuration of the label-graph multi-label classifier with soft training (Zhao et al., NAACL 2019,
"Review-Driven Multi-Label Music Style Classification by Exploiting Style Correlations")."""

from __future__ import annotations

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .validation import check_bool, check_choice, check_float, check_int, check_num_labels

POOLINGS = ("mean", "cls", "pooler")
GRAPH_POSITIONS = ("after_sigmoid", "before_sigmoid")
GRAPH_PARAMETERIZATIONS = ("free", "column_stochastic")
SOFT_TARGET_NORMALIZATIONS = ("clamp", "max", "sum")
# What a saved config.json without `label_graph_parameterization` was trained with (lanco-hf before the field existed)
LEGACY_GRAPH_PARAMETERIZATION = "column_stochastic"

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
    soft-training loss (Zhao et al., NAACL 2019, Section 3: the label-graph network and soft training). The label names
    are `id2label` (their number is `num_labels`); `problem_type` is always `"multi_label_classification"`, so scores
    are sigmoids (also in `pipeline("text-classification")`).

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
        label_graph_parameterization (`str`, defaults to `"free"`):
            `"free"`: `G` is the learnable matrix itself, unconstrained and initialised to `I`, as in the paper; the
            gradient of score `o_j` with respect to `G_ij` is the probability `s_i` of the supporting label (>= 0),
            and scores are clamped to (0, 1) through their logits (an unconstrained `G` can take them out of it).
            `"column_stochastic"`: `G = colnorm(max(W, 0))`, every column a convex combination, so scores need no
            clamping; support from label `i` to `j` is then taken from `j`'s own diagonal (gradient `s_i - s_j`),
            and a learned `G` stays near `I`. A saved `config.json` without this field is a model of that earlier
            form and loads as `"column_stochastic"`.
        graph_init_noise (`float`, defaults to 0.0):
            `G` starts at `I + graph_init_noise * U`, with `U` uniform in [0, 1) (the paper's `lg_init_noise`;
            non-negative so that no entry starts below zero).
        graph_regularization (`float`, defaults to 0.0):
            Weight `r` of `r * ||G - I||_F^2` added to the loss. The paper's flag `ratio2` (default 0) is described
            by its help as "adding -||G-I||^2 to the loss function", i.e. pushing `G` away from the identity, so
            the paper's `ratio2 = c` is `graph_regularization = -c`; a positive value keeps `G` near `I`. Negative
            values need `label_graph_parameterization="column_stochastic"` (with a free `G` the loss would be
            unbounded below). Needs `use_label_graph=True`.
        soft_training (`bool`, defaults to `False`):
            Add the soft loss `soft_loss_weight * BCE(o, y')` to the hard loss `BCE(o, y)`, with the soft target
            `y' = norm(soften(sg(y G)))` propagated through the model's own (learned) graph.
        soft_loss_weight (`float`, defaults to 1.0):
            The paper's `ratio1`, >= 0.
        soft_target_temperature (`float`, defaults to 0.0):
            The paper's `temperature` (0: off, its default). When > 0 the propagated target `z = y G` of each
            example is softened to `softmax(z / temperature)` over the labels before the normalisation.
        soft_target_normalization (`str`, defaults to `"clamp"`):
            How the (softened) target becomes a BCE target in [0, 1]: `"clamp"` (`min(max(z, 0), 1)`: a gold label
            whose own support is >= 1 stays at 1, other labels get their support), `"max"` (`z / max_j z_j` after
            dropping negative entries: the best-supported label of each example gets 1) or `"sum"` (`z / sum_j z_j`:
            a distribution over the labels). A column-stochastic `G` gives `y G` in [0, 1], where `"clamp"` changes
            nothing.
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
    label_graph_parameterization: str = "free"
    graph_init_noise: float = 0.0
    graph_regularization: float = 0.0
    soft_training: bool = False
    soft_loss_weight: float = 1.0
    soft_target_temperature: float = 0.0
    soft_target_normalization: str = "clamp"
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

    @classmethod
    def from_dict(cls, config_dict: dict, **kwargs):
        """As `PreTrainedConfig.from_dict`; a saved config without `label_graph_parameterization` (written before
        the field existed) gets the parameterisation it was trained with, `"column_stochastic"`."""
        if "label_graph_parameterization" not in config_dict and "label_graph_parameterization" not in kwargs:
            config_dict = {**config_dict, "label_graph_parameterization": LEGACY_GRAPH_PARAMETERIZATION}
        return super().from_dict(config_dict, **kwargs)

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
        check_choice("label_graph_parameterization", self.label_graph_parameterization, GRAPH_PARAMETERIZATIONS)
        check_float("graph_init_noise", self.graph_init_noise, 0.0)
        check_float("graph_regularization", self.graph_regularization)
        if self.graph_regularization and not self.use_label_graph:
            raise ValueError(
                f"graph_regularization={self.graph_regularization} needs use_label_graph=True; "
                "allowed without the graph: 0.0"
            )
        if self.graph_regularization < 0 and self.label_graph_parameterization == "free":
            raise ValueError(
                f"graph_regularization={self.graph_regularization} with label_graph_parameterization='free' makes the "
                "loss unbounded below; allowed: >= 0, or a negative value with "
                "label_graph_parameterization='column_stochastic'"
            )
        check_bool("soft_training", self.soft_training)
        check_float("soft_loss_weight", self.soft_loss_weight, 0.0)
        check_float("soft_target_temperature", self.soft_target_temperature, 0.0)
        check_choice("soft_target_normalization", self.soft_target_normalization, SOFT_TARGET_NORMALIZATIONS)
        check_float("threshold", self.threshold, 0.0, 1.0, min_inclusive=False, max_inclusive=False)


__all__ = [
    "GRAPH_PARAMETERIZATIONS",
    "GRAPH_POSITIONS",
    "POOLINGS",
    "SMALL_BERT",
    "SOFT_TARGET_NORMALIZATIONS",
    "LabelGraphConfig",
]
