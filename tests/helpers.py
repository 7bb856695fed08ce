"""Tiny configs and inputs shared by the tests."""

import torch

from lanco_hf import ExplicitSparseConfig, LancoSeq2SeqConfig

TINY = dict(
    vocab_size=99,
    d_model=32,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=64,
    decoder_ffn_dim=64,
    max_position_embeddings=128,
    dropout=0.0,
)


def tiny_config(config_class=LancoSeq2SeqConfig, **overrides):
    return config_class(**{**TINY, **overrides})


def batch(vocab_size=99, lengths=(7, 5, 3), seed=0):
    """Right-padded source ids + mask (pad id 0), ids in [4, vocab)."""
    generator = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.zeros(len(lengths), width, dtype=torch.long)
    mask = torch.zeros(len(lengths), width, dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(4, vocab_size, (length,), generator=generator)
        ids[row, length - 1] = 2  # </s>
        mask[row, :length] = 1
    return ids, mask


SEQ2SEQ_CONFIGS = {
    "dense-postnorm": (LancoSeq2SeqConfig, {}),
    "topk-postnorm": (ExplicitSparseConfig, {"attn_topk": 3}),
    "topk-prenorm-adanorm": (ExplicitSparseConfig, {"attn_topk": 2, "normalize_before": True, "norm_type": "adanorm"}),
    "dense-prenorm-learnedpos-lnsimple": (
        LancoSeq2SeqConfig,
        {"normalize_before": True, "position_embedding_type": "learned", "norm_type": "layernorm_simple"},
    ),
}
