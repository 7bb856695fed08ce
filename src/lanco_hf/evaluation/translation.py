"""Translation with any seq2seq model and corpus-level BLEU / chrF with sacrebleu."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm


@torch.inference_mode()
def translate(
    model,
    tokenizer,
    sources: list[str],
    batch_size: int = 64,
    max_source_length: int | None = None,
    progress: bool = True,
    **generate_kwargs,
) -> list[str]:
    """Translate ``sources`` with ``model.generate``; sentences are batched by length (less padding) and
    returned in the input order. ``generate_kwargs`` go to ``generate`` (``num_beams``, ``max_new_tokens``...)."""
    model.eval()
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    outputs: list[str | None] = [None] * len(sources)
    batches = range(0, len(order), batch_size)
    for start in tqdm(batches, desc="Translating", unit="batch", disable=not progress):
        indices = order[start : start + batch_size]
        inputs = tokenizer(
            [sources[i] for i in indices],
            return_tensors="pt",
            padding=True,
            truncation=max_source_length is not None,
            max_length=max_source_length,
        ).to(model.device)
        generated = model.generate(**inputs, **generate_kwargs)
        for i, text in zip(indices, tokenizer.batch_decode(generated, skip_special_tokens=True)):
            outputs[i] = text.strip()
    return outputs


def translation_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Corpus BLEU and chrF (sacrebleu defaults, 13a tokenisation) of ``hypotheses`` against ``references``."""
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    return {
        "bleu": sacrebleu.corpus_bleu(hypotheses, [references]).score,
        "chrf": sacrebleu.corpus_chrf(hypotheses, [references]).score,
    }
