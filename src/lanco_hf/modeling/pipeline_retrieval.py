"""Image-to-text retrieval as a zero-shot-image-classification pipeline, for transformers' ViLT retrieval model.

``ViltForImageAndTextRetrieval`` scores one image-caption pair per row (``logits[:, 0]``), so transformers'
``ZeroShotImageClassificationPipeline``, which reads a CLIP-style ``logits_per_image``, cannot run it. This pipeline
scores the image against every candidate caption, as the retrieval evaluation ranks captions (IAIS, Ren et al.,
ACL 2021, Sec. 4), and returns the Hub's zero-shot form, ``[{"score", "label"}]`` sorted by score (softmax over the
candidates). A retrieval run folder carries this file and declares it in ``config.custom_pipelines``, so
``pipeline("zero-shot-image-classification", model=folder_or_repo, trust_remote_code=True)`` and the Hub's widget
(an image and its ``candidate_labels``) work without lanco-hf installed."""

from __future__ import annotations

import torch
from transformers import Pipeline
from transformers.image_utils import load_image

PIPELINE_TASK = "zero-shot-image-classification"
PIPELINE_SPEC = {
    "impl": "pipeline_retrieval.ImageTextRetrievalPipeline",
    "pt": ["ViltForImageAndTextRetrieval"],
    "tf": [],
    "type": "multimodal",
}


class ImageTextRetrievalPipeline(Pipeline):
    """``pipeline(image, candidate_labels=[...], hypothesis_template="{}")``: the captions ranked for the image."""

    _load_processor = True
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def __call__(self, image, **kwargs):
        return super().__call__(image, **kwargs)

    def _sanitize_parameters(self, candidate_labels=None, hypothesis_template=None, max_length=None, **kwargs):
        preprocess = {}
        if candidate_labels is not None:
            preprocess["candidate_labels"] = candidate_labels
        if hypothesis_template is not None:
            preprocess["hypothesis_template"] = hypothesis_template
        if max_length is not None:
            preprocess["max_length"] = max_length
        return preprocess, {}, {}

    def preprocess(self, image, candidate_labels=None, hypothesis_template="{}", max_length=None):
        if not candidate_labels:
            raise ValueError("candidate_labels must name at least one caption")
        if isinstance(candidate_labels, str):
            candidate_labels = [label.strip() for label in candidate_labels.split(",")]
        image = load_image(image).convert("RGB")
        captions = [hypothesis_template.format(label) for label in candidate_labels]
        limit = max_length or self.model.config.max_position_embeddings
        inputs = self.processor(
            images=[image] * len(captions),
            text=captions,
            padding=True,
            truncation=True,
            max_length=limit,
            return_tensors="pt",
        )
        inputs["candidate_labels"] = candidate_labels
        return inputs

    def _forward(self, model_inputs):
        candidate_labels = model_inputs.pop("candidate_labels")
        with torch.no_grad():
            logits = self.model(**model_inputs).logits[:, 0]
        return {"candidate_labels": candidate_labels, "logits": logits}

    def postprocess(self, model_outputs):
        scores = model_outputs["logits"].float().softmax(-1).tolist()
        ranked = sorted(zip(scores, model_outputs["candidate_labels"]), key=lambda pair: -pair[0])
        return [{"score": score, "label": label} for score, label in ranked]
