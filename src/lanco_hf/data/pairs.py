"""Image-caption pairs as tensors for single-stream retrieval models: matched pairs for training, the full
text x image grid for evaluation, and a collator that trims text padding to the longest caption of a batch."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset


def encode_pairs(processor, captions: list[str], images: list, max_text_length: int) -> tuple[dict, dict]:
    """Tokenised captions (``input_ids``, ``attention_mask``, padded to the longest) and processed images
    (``pixel_values``, ``pixel_mask``) with a ViLT-style processor (tokenizer + image processor)."""
    texts = processor.tokenizer(
        captions, padding=True, truncation=True, max_length=max_text_length, return_tensors="pt"
    )
    pixels = processor.image_processor(images, return_tensors="pt")
    return {key: texts[key] for key in ("input_ids", "attention_mask")}, dict(pixels)


def caption_groups(captions: list[str]) -> torch.Tensor:
    """An id per caption, equal for identical captions: pairs whose captions are equal match each other."""
    ids: dict[str, int] = {}
    return torch.tensor([ids.setdefault(caption, len(ids)) for caption in captions])


class ImageTextPairs(Dataset):
    """The matched pairs: item ``i`` is caption ``i`` with image ``i`` and its ``caption_id`` group."""

    def __init__(self, texts: dict[str, torch.Tensor], images: dict[str, torch.Tensor], groups: torch.Tensor):
        if not len(groups) == len(texts["input_ids"]) == len(images["pixel_values"]):
            raise ValueError("texts, images and groups must describe the same number of pairs")
        self.texts, self.images, self.groups = texts, images, groups

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {
            **{key: value[index] for key, value in self.texts.items()},
            **{key: value[index] for key, value in self.images.items()},
            "caption_id": self.groups[index],
        }


class ImageTextGrid(Dataset):
    """Every (caption ``t``, image ``i``) combination, text-major, with ``pair_labels = [t, i, relevant]`` where
    ``relevant`` says whether the two belong to the same caption group."""

    def __init__(
        self,
        texts: dict[str, torch.Tensor],
        images: dict[str, torch.Tensor],
        text_groups: torch.Tensor,
        image_groups: torch.Tensor,
    ):
        self.texts, self.images = texts, images
        self.text_groups, self.image_groups = text_groups, image_groups

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.text_groups), len(self.image_groups)

    def __len__(self) -> int:
        return self.shape[0] * self.shape[1]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        text, image = divmod(index, self.shape[1])
        relevant = int(self.text_groups[text] == self.image_groups[image])
        return {
            **{key: value[text] for key, value in self.texts.items()},
            **{key: value[image] for key, value in self.images.items()},
            "pair_labels": torch.tensor([text, image, relevant]),
        }


def collate_pairs(rows: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack the rows and cut the text columns to the longest caption of the batch (right padding)."""
    batch = {key: torch.stack([row[key] for row in rows]) for key in rows[0]}
    length = int(batch["attention_mask"].sum(-1).max())
    batch["input_ids"] = batch["input_ids"][:, :length]
    batch["attention_mask"] = batch["attention_mask"][:, :length]
    return batch
