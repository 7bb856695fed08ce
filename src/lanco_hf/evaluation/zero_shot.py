"""Zero-shot classification with any CLIP-like model (``get_image_features`` / ``get_text_features`` and a
processor): a batched feature encoder that encodes each distinct image and text once, class features from
prompt templates (the ensemble of "Delving into the Openness of CLIP", ``ZeroshotCLIP2``), and a classifier
head built from class features."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Hashable, Iterable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from ..modeling.validation import check_int

# CLIP's single ImageNet prompt, and the seven "select" templates of CLIP's prompt-engineering notebook that the
# openness paper uses for ensembling (source: openai/CLIP, notebooks/Prompt_Engineering_for_ImageNet.ipynb).
CLIP_TEMPLATE = "a photo of a {}."
IMAGENET_TEMPLATES_SELECT = (
    "itap of a {}.",
    "a bad photo of the {}.",
    "a origami {}.",
    "a photo of the large {}.",
    "a {} in a video game.",
    "art of the {}.",
    "a photo of the small {}.",
)


def _features(output) -> torch.Tensor:
    """transformers 5 returns the projected features as ``pooler_output``; older / custom models a tensor."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def image_key(image) -> str:
    """A content hash of a PIL image (or array / tensor), so the same picture is encoded once."""
    if hasattr(image, "mode") and hasattr(image, "size"):
        header, data = f"{image.mode}{image.size}", image.tobytes()
    else:
        array = image.numpy() if isinstance(image, torch.Tensor) else image
        header, data = f"{array.dtype}{array.shape}", array.tobytes()
    return hashlib.sha1(header.encode() + data).hexdigest()


class CLIPFeatureEncoder:
    """L2-normalised image and text features of ``model``, computed in batches of ``batch_size`` and cached:
    a text is keyed by its string, an image by ``keys`` or by a hash of its pixels. ``num_encoded_texts`` /
    ``num_encoded_images`` count what actually went through the model."""

    def __init__(self, model, processor, batch_size: int = 64, progress: bool = False):
        check_int("batch_size", batch_size, 1)
        self.model = model.eval()
        self.processor = processor
        self.batch_size = batch_size
        self.progress = progress
        self.text_cache: dict[str, torch.Tensor] = {}
        self.image_cache: dict[Hashable, torch.Tensor] = {}
        self.num_encoded_texts = 0
        self.num_encoded_images = 0

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def logit_scale(self) -> float:
        """``exp(logit_scale)`` of the model (CLIP's learned temperature), 100 if it has none."""
        scale = getattr(self.model, "logit_scale", None)
        return float(scale.detach().exp()) if scale is not None else 100.0

    @torch.inference_mode()
    def _encode_texts(self, texts: list[str]) -> torch.Tensor:
        inputs = self.processor(text=texts, padding=True, truncation=True, return_tensors="pt")
        inputs = {name: inputs[name].to(self.device) for name in ("input_ids", "attention_mask") if name in inputs}
        return nn.functional.normalize(_features(self.model.get_text_features(**inputs)).float(), dim=-1).cpu()

    @torch.inference_mode()
    def _encode_images(self, images: list) -> torch.Tensor:
        pixel_values = self.processor(images=images, return_tensors="pt")["pixel_values"].to(self.device)
        return nn.functional.normalize(
            _features(self.model.get_image_features(pixel_values=pixel_values)).float(), dim=-1
        ).cpu()

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Features of ``texts``, shape ``(len(texts), dim)``."""
        texts = list(texts)
        todo = list(dict.fromkeys(text for text in texts if text not in self.text_cache))
        batches = range(0, len(todo), self.batch_size)
        for start in tqdm(batches, desc="Encoding texts", unit="batch", disable=not self.progress or len(batches) < 2):
            batch = todo[start : start + self.batch_size]
            self.text_cache.update(zip(batch, self._encode_texts(batch)))
            self.num_encoded_texts += len(batch)
        return torch.stack([self.text_cache[text] for text in texts]) if texts else torch.empty(0)

    def encode_images(self, images: Iterable, keys: Iterable[Hashable] | None = None) -> torch.Tensor:
        """Features of ``images`` (PIL images, or anything the processor takes), shape ``(n, dim)``."""
        ordered_keys = []
        images, keys = iter(images), iter(keys) if keys is not None else None
        with tqdm(desc="Encoding images", unit="image", disable=not self.progress) as bar:
            while chunk := list(itertools.islice(images, self.batch_size)):
                chunk_keys = (
                    [image_key(image) for image in chunk] if keys is None else list(itertools.islice(keys, len(chunk)))
                )
                if len(chunk_keys) != len(chunk):
                    raise ValueError("keys must have one entry per image")
                todo = {key: image for key, image in zip(chunk_keys, chunk) if key not in self.image_cache}
                if todo:
                    self.image_cache.update(zip(todo, self._encode_images(list(todo.values()))))
                    self.num_encoded_images += len(todo)
                ordered_keys.extend(chunk_keys)
                bar.update(len(chunk))
        return torch.stack([self.image_cache[key] for key in ordered_keys]) if ordered_keys else torch.empty(0)


def format_prompt(template: str, classname: str) -> str:
    """``template`` with the class name, underscores read as spaces (``"aquarium_fish"``)."""
    return template.format(classname.replace("_", " "))


def check_templates(templates: Sequence[str]) -> None:
    if not templates or any("{}" not in template for template in templates):
        raise ValueError(f"templates={list(templates)} must be a non-empty list of strings each holding one '{{}}'")


def prompt_class_features(
    encoder: CLIPFeatureEncoder, classnames: Sequence[str], templates: Sequence[str]
) -> torch.Tensor:
    """Class features ``(len(classnames), dim)``: per template the normalised prompt features, averaged over
    the templates and renormalised (a single template gives its normalised prompt features)."""
    check_templates(templates)
    per_template = torch.stack([encoder.encode_texts([format_prompt(t, c) for c in classnames]) for t in templates])
    return nn.functional.normalize(per_template.mean(0), dim=-1)


class ZeroShotClassifierHead(nn.Module):
    """A linear zero-shot classifier: ``logits = logit_scale * normalize(image_features) @ class_features.T``.

    Built from plain prompts it reproduces ``pipeline("zero-shot-image-classification")`` with the same
    template (its softmax equals the pipeline's scores); built from REPE features it is the REPE classifier."""

    def __init__(self, class_features: torch.Tensor, labels: Sequence[str], logit_scale: float = 100.0):
        super().__init__()
        if class_features.ndim != 2 or class_features.shape[0] != len(labels):
            raise ValueError(
                f"class_features has shape {tuple(class_features.shape)}; expected (len(labels)={len(labels)}, dim)"
            )
        self.register_buffer("class_features", class_features.detach().clone())
        self.labels = list(labels)
        self.logit_scale = logit_scale

    @classmethod
    def from_prompts(
        cls, encoder: CLIPFeatureEncoder, classnames: Sequence[str], templates: Sequence[str] = (CLIP_TEMPLATE,)
    ):
        return cls(prompt_class_features(encoder, classnames, templates), classnames, encoder.logit_scale)

    def forward(self, image_features: torch.Tensor) -> torch.Tensor:
        image_features = nn.functional.normalize(image_features.to(self.class_features.dtype), dim=-1)
        return self.logit_scale * image_features @ self.class_features.T

    def predict(self, image_features: torch.Tensor) -> list[str]:
        return [self.labels[i] for i in self(image_features).argmax(-1).tolist()]
