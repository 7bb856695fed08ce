"""lanco-hf: nine research methods of the PKU lanco group as Hugging Face citizens.

``import lanco_hf`` registers every architecture with transformers' Auto classes and the top-k
attention with transformers' attention interface (``attn_implementation="lanco_topk"``), and makes a lanco model's
``push_to_hub()`` upload the lanco model card (``lanco_hf.hub.model_card.card_for_model``);
``evaluate.load(lanco_hf.metrics.path("multilabel"))`` loads a lanco metric offline.
"""

from . import metrics  # noqa: F401  (lanco_hf.metrics.path(name) after `import lanco_hf`)
from .evaluation.retrieval import isd, recall_at_k
from .graph import personalized_pagerank, totoro
from .losses import EncouragingLoss
from .losses.iais import IAISLoss
from .losses.renode import ReNodeLoss, renode_weights
from .modeling import (
    AdaNorm,
    CrossViewConfig,
    CrossViewForConditionalGeneration,
    CrossViewModel,
    DetachNorm,
    ExplicitSparseConfig,
    ExplicitSparseForConditionalGeneration,
    ExplicitSparseModel,
    LabelGraphConfig,
    LabelGraphForSequenceClassification,
    LancoForConditionalGeneration,
    LancoModel,
    LancoSeq2SeqConfig,
    LayerNormSimple,
    MuseConfig,
    MuseForConditionalGeneration,
    MuseModel,
    ReNodeGCNConfig,
    ReNodeGCNForNodeClassification,
    cooccurrence_graph,
    register_topk_attention,
    swap_norms,
    topk_attention_forward,
)
from .modeling.hub_card import set_model_card_renderer

__version__ = "0.1.0"


def _render_model_card(model, repo_id: str) -> str | None:
    from .hub.model_card import card_for_model

    return card_for_model(model, repo_id)


set_model_card_renderer(_render_model_card)

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
