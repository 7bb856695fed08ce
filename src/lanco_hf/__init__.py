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

__version__ = "0.1.0"

__all__ = [
    "AdaNorm",
    "DetachNorm",
    "ExplicitSparseConfig",
    "ExplicitSparseForConditionalGeneration",
    "ExplicitSparseModel",
    "LancoForConditionalGeneration",
    "LancoModel",
    "LancoSeq2SeqConfig",
    "LayerNormSimple",
    "register_topk_attention",
    "swap_norms",
    "topk_attention_forward",
]
