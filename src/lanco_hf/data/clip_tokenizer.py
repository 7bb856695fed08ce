"""CLIP-style tokenizers trained offline with ``tokenizers``: lower-cased byte-level BPE, every text wrapped
as ``<|startoftext|> ... <|endoftext|>``.

The ids are ``<pad>`` 0, ``<unk>`` 1, ``<|startoftext|>`` 2, ``<|endoftext|>`` 3. transformers' CLIP text
model pools the hidden state at the first ``eos_token_id``, except that an ``eos_token_id`` of 2 selects its
legacy rule (the position of the largest token id), which is why the end token is not id 2 here.
"""

from __future__ import annotations

from collections.abc import Iterable

from transformers import PreTrainedTokenizerFast

from ..modeling.validation import check_int

SPECIAL_TOKENS = {
    "pad_token": "<pad>",
    "unk_token": "<unk>",
    "bos_token": "<|startoftext|>",
    "eos_token": "<|endoftext|>",
}


def train_clip_tokenizer(
    texts: Iterable[str], vocab_size: int = 2000, model_max_length: int = 32
) -> PreTrainedTokenizerFast:
    """A lower-cased byte-level BPE over ``texts``; encodings are truncated at ``model_max_length`` tokens
    when called with ``truncation=True`` (the text model's ``max_position_embeddings``)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    check_int("vocab_size", vocab_size, 300)  # 256 bytes + special tokens
    check_int("model_max_length", model_max_length, 3)
    tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk_token"]))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Strip(" ", 1, 0)])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    bos, eos = SPECIAL_TOKENS["bos_token"], SPECIAL_TOKENS["eos_token"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        special_tokens=[(bos, tokenizer.token_to_id(bos)), (eos, tokenizer.token_to_id(eos))],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,
        **SPECIAL_TOKENS,
    )
