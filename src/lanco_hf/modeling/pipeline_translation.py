"""A translation pipeline for lanco seq2seq models (transformers 5 removed the built-in seq2seq pipelines).

Saved lanco seq2seq checkpoints carry this file and declare it in ``config.custom_pipelines``, so
``pipeline("translation", model=folder_or_repo, trust_remote_code=True)`` works with or without lanco-hf
installed. It returns ``[{"translation_text": ...}]`` per input, as the old transformers pipeline did."""

from __future__ import annotations

from transformers import Pipeline

PIPELINE_SPEC = {
    "impl": "pipeline_translation.LancoTranslationPipeline",
    "pt": ["AutoModelForSeq2SeqLM"],
    "tf": [],
    "type": "text",
}


class LancoTranslationPipeline(Pipeline):
    """``pipeline("translation", ...)``: tokenise, ``model.generate`` (any generation argument, e.g.
    ``num_beams``, ``max_new_tokens``), decode."""

    def __call__(self, inputs, **kwargs):
        """One input gives ``[{"translation_text": ...}]``; a list gives one dict per input (or a list of
        ``num_return_sequences`` dicts per input)."""
        results = super().__call__(inputs, **kwargs)
        if isinstance(inputs, list) and all(len(result) == 1 for result in results):
            return [result[0] for result in results]
        return results

    def _sanitize_parameters(self, max_source_length=None, **generate_kwargs):
        preprocess = {"max_source_length": max_source_length} if max_source_length is not None else {}
        return preprocess, generate_kwargs, {}

    def preprocess(self, text, max_source_length=None):
        return self.tokenizer(
            text, return_tensors="pt", truncation=max_source_length is not None, max_length=max_source_length
        )

    def _forward(self, model_inputs, **generate_kwargs):
        return {"output_ids": self.model.generate(**model_inputs, **generate_kwargs)}

    def postprocess(self, model_outputs):
        return [
            {"translation_text": text.strip()}
            for text in self.tokenizer.batch_decode(model_outputs["output_ids"], skip_special_tokens=True)
        ]
