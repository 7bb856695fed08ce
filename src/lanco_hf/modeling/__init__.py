"""Hub-portable models of lanco-hf: the files of this package import only torch, transformers and each
other, so ``save_pretrained`` copies them next to the weights and ``trust_remote_code=True`` loads them
where lanco-hf is not installed. Importing this package registers every architecture with the Auto
classes (in process) and for ``auto_map`` (in saved folders)."""

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM, AutoModelForSequenceClassification

from .configuration_cross_view import CrossViewConfig
from .configuration_explicit_sparse import ExplicitSparseConfig
from .configuration_label_graph import LabelGraphConfig
from .configuration_lanco import LancoSeq2SeqConfig
from .configuration_muse import MuseConfig
from .configuration_renode_gcn import ReNodeGCNConfig
from .imbalance_losses import ReNodeLoss
from .modeling_cross_view import CrossViewForConditionalGeneration, CrossViewModel, CrossViewPreTrainedModel
from .modeling_explicit_sparse import (
    ExplicitSparseForConditionalGeneration,
    ExplicitSparseModel,
    ExplicitSparsePreTrainedModel,
)
from .modeling_label_graph import (
    LabelGraph,
    LabelGraphForSequenceClassification,
    LabelGraphPreTrainedModel,
    cooccurrence_graph,
)
from .modeling_lanco import LancoForConditionalGeneration, LancoModel, LancoPreTrainedModel
from .modeling_muse import MuseForConditionalGeneration, MuseModel, MusePreTrainedModel
from .modeling_renode_gcn import ReNodeGCNForNodeClassification, ReNodeGCNPreTrainedModel
from .muse import DynamicConvolution
from .norms import NORM_TYPES, AdaNorm, DetachNorm, LayerNormSimple, build_norm, swap_norms
from .topk_attention import register_topk_attention, topk_attention_forward

# model_type -> (config class, {Auto class: model class})
ARCHITECTURES = {
    "lanco_seq2seq": (
        LancoSeq2SeqConfig,
        {AutoModel: LancoModel, AutoModelForSeq2SeqLM: LancoForConditionalGeneration},
    ),
    "explicit_sparse": (
        ExplicitSparseConfig,
        {AutoModel: ExplicitSparseModel, AutoModelForSeq2SeqLM: ExplicitSparseForConditionalGeneration},
    ),
    "muse": (MuseConfig, {AutoModel: MuseModel, AutoModelForSeq2SeqLM: MuseForConditionalGeneration}),
    "cross_view": (
        CrossViewConfig,
        {AutoModel: CrossViewModel, AutoModelForSeq2SeqLM: CrossViewForConditionalGeneration},
    ),
    "renode_gcn": (
        ReNodeGCNConfig,
        {AutoModel: ReNodeGCNForNodeClassification},
    ),  # no standard node-classification Auto class
    "label_graph": (LabelGraphConfig, {AutoModelForSequenceClassification: LabelGraphForSequenceClassification}),
}


def _register() -> None:
    for model_type, (config_class, models) in ARCHITECTURES.items():
        AutoConfig.register(model_type, config_class, exist_ok=True)
        config_class.register_for_auto_class()
        auto_map = {
            auto.__name__: f"{cls.__module__.rpartition('.')[2]}.{cls.__name__}" for auto, cls in models.items()
        }
        for auto_class, model_class in models.items():
            auto_class.register(config_class, model_class, exist_ok=True)
            model_class.register_for_auto_class(auto_class.__name__)
            model_class._auto_map = auto_map


_register()
register_topk_attention()

__all__ = [
    "ARCHITECTURES",
    "NORM_TYPES",
    "AdaNorm",
    "CrossViewConfig",
    "CrossViewForConditionalGeneration",
    "CrossViewModel",
    "CrossViewPreTrainedModel",
    "DetachNorm",
    "DynamicConvolution",
    "MuseConfig",
    "MuseForConditionalGeneration",
    "MuseModel",
    "MusePreTrainedModel",
    "ExplicitSparseConfig",
    "ExplicitSparseForConditionalGeneration",
    "ExplicitSparseModel",
    "ExplicitSparsePreTrainedModel",
    "LancoForConditionalGeneration",
    "LancoModel",
    "LancoPreTrainedModel",
    "LancoSeq2SeqConfig",
    "LabelGraph",
    "LabelGraphConfig",
    "LabelGraphForSequenceClassification",
    "LabelGraphPreTrainedModel",
    "LayerNormSimple",
    "ReNodeGCNConfig",
    "ReNodeGCNForNodeClassification",
    "ReNodeGCNPreTrainedModel",
    "ReNodeLoss",
    "build_norm",
    "cooccurrence_graph",
    "register_topk_attention",
    "swap_norms",
    "topk_attention_forward",
]
