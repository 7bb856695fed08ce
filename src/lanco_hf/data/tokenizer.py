"""Joint byte-level BPE tokenizers trained offline with ``tokenizers`` and saved as transformers fast
tokenizers (``AutoTokenizer.from_pretrained`` loads them)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from transformers import AutoTokenizer, PreTrainedTokenizerFast

from ..modeling.validation import check_int
from .cache import cache_dir, cached_folder

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}


def train_bpe_tokenizer(
    texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 2
) -> PreTrainedTokenizerFast:
    """A byte-level BPE over ``texts``; ids 0-3 are ``<pad> <s> </s> <unk>`` and every encoding ends with ``</s>``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    check_int("vocab_size", vocab_size, 300)  # 256 bytes + special tokens
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Strip(" ", 1, 0)])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    eos = SPECIAL_TOKENS["eos_token"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"$A {eos}", pair=f"$A {eos} $B {eos}", special_tokens=[(eos, tokenizer.token_to_id(eos))]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, clean_up_tokenization_spaces=False, **SPECIAL_TOKENS)


def cached_bpe_tokenizer(texts: list[str], vocab_size: int, name: str) -> PreTrainedTokenizerFast:
    """``train_bpe_tokenizer`` cached under ``name`` and a hash of the texts and the vocabulary size; the cached
    files are hash-checked (``lanco_hf.data.cache.cached_folder``), so a truncated or edited copy is retrained."""
    digest = hashlib.sha256(f"{vocab_size}\n".encode())
    for line, text in enumerate(texts, 1):
        if not isinstance(text, str):
            raise ValueError(f"text {line} of the tokenizer's training texts is {text!r}; every text must be a string")
        digest.update(text.encode())
        digest.update(b"\n")
    folder = cache_dir("tokenizers") / f"{name}-bpe{vocab_size}-{digest.hexdigest()[:16]}"
    cached_folder(folder, lambda tmp: train_bpe_tokenizer(texts, vocab_size).save_pretrained(tmp))
    return AutoTokenizer.from_pretrained(folder)
