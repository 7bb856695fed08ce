"""lanco-hf: nine research methods of the PKU lanco group as Hugging Face citizens.

``import lanco_hf`` registers every architecture with transformers' Auto classes and the top-k
attention with transformers' attention interface (``attn_implementation="lanco_topk"``).
"""

from .modeling import (
    AdaNorm,
    DetachNorm,
    ExplicitSparseConfig,
    ExplicitSparseForConditionalGeneration,
    ExplicitSparseModel,
    LancoForConditionalGeneration,
    LancoModel,
    LancoSeq2SeqConfig,
    LayerNormSimple,
    register_topk_attention,
    swap_norms,
    topk_attention_forward,
)
from .losses import EncouragingLoss
from .modeling import (
    CrossViewConfig,
    CrossViewForConditionalGeneration,
    CrossViewModel,
    MuseConfig,
    MuseForConditionalGeneration,
    MuseModel,
)
from .modeling import LabelGraphConfig, LabelGraphForSequenceClassification, cooccurrence_graph
from .graph import personalized_pagerank, totoro
from .losses.renode import ReNodeLoss, renode_weights
from .modeling import ReNodeGCNConfig, ReNodeGCNForNodeClassification
from .losses.iais import IAISLoss
from .evaluation.retrieval import isd, recall_at_k

__version__ = "0.1.0"

__all__ = [
    "AdaNorm",
    "CrossViewConfig",
    "CrossViewForConditionalGeneration",
    "CrossViewModel",
    "DetachNorm",
    "EncouragingLoss",
    "MuseConfig",
    "MuseForConditionalGeneration",
    "MuseModel",
    "ExplicitSparseConfig",
    "ExplicitSparseForConditionalGeneration",
    "ExplicitSparseModel",
    "IAISLoss",
    "LabelGraphConfig",
    "LabelGraphForSequenceClassification",
    "LancoForConditionalGeneration",
    "LancoModel",
    "LancoSeq2SeqConfig",
    "LayerNormSimple",
    "ReNodeGCNConfig",
    "ReNodeGCNForNodeClassification",
    "ReNodeLoss",
    "cooccurrence_graph",
    "isd",
    "personalized_pagerank",
    "recall_at_k",
    "register_topk_attention",
    "renode_weights",
    "swap_norms",
    "topk_attention_forward",
    "totoro",
]
