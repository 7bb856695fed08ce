"""The ``contrastive_image_text`` task: a transformers ``CLIPModel`` trained from scratch with its own
contrastive loss (``return_loss=True``) on an image-caption set (offline: the emoji set), with a BPE tokenizer
trained on the training captions and a ``CLIPImageProcessorPil`` (PIL, no torchvision), saved together so that
``pipeline("zero-shot-image-classification", model=output_dir)`` loads it. After training, the zero-shot
accuracy of the test split's classes is measured with the prompt templates."""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModel,
    CLIPImageProcessorPil,
    CLIPProcessor,
    Trainer,
    TrainingArguments,
    set_seed,
)

from ..data.clip_tokenizer import train_clip_tokenizer
from ..data.emoji import EMOJI_TEMPLATES, emoji_dataset
from ..data.emoji import VERSION as EMOJI_VERSION
from ..evaluation.zero_shot import CLIPFeatureEncoder, ZeroShotClassifierHead
from ..hub.clip_card import clip_card_from_run
from .arguments import ModelArguments
from .callbacks import TimeBudgetCallback
from .run_folder import mark_run_complete
from .safe_training import train_safely

logger = logging.getLogger(__name__)


@dataclass
class ContrastiveDataArguments:
    dataset: str = field(
        default="emoji",
        metadata={"help": "'emoji' (offline: npm emoji-datasource-google + Debian unicode-cldr-core), or any dataset "
                  "`datasets.load_dataset` opens with train / test splits, an image and a caption column."},
    )
    image_column: str = "image"
    caption_column: str = field(
        default="captions", metadata={"help": "A caption, or a list of captions of which one is drawn per step."}
    )
    label_column: str | None = field(
        default="subcategory", metadata={"help": "Class names for the zero-shot accuracy on the test split."}
    )
    templates: list[str] = field(
        default_factory=lambda: list(EMOJI_TEMPLATES), metadata={"help": "Prompt templates of the zero-shot test."}
    )
    test_fraction: float = field(default=0.25, metadata={"help": "emoji: share of the emoji held out for testing."})
    keywords: bool = field(default=True, metadata={"help": "emoji: CLDR keywords in the captions."})
    tokenizer_vocab_size: int = 2000
    max_text_length: int = field(default=32, metadata={"help": "Tokens per caption; the text model's positions."})
    image_size: int = 32
    augment: bool = field(default=True, metadata={"help": "Random shifted / scaled crops of the training images."})
    max_train_minutes: float | None = field(
        default=None, metadata={"help": "Stop training (with a saved checkpoint) once this wall time is spent."}
    )

    def __post_init__(self):
        for name in ("tokenizer_vocab_size", "max_text_length", "image_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} is out of range; allowed: >= 1")
        if self.max_train_minutes is not None and self.max_train_minutes <= 0:
            raise ValueError(f"max_train_minutes={self.max_train_minutes} is out of range; allowed: > 0")


@dataclass
class ContrastiveTrainingArguments(TrainingArguments):
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Must stay False: the collator reads the image and caption columns."}
    )


class ImageCaptionCollator:
    """Batches image-caption rows for ``CLIPModel(..., return_loss=True)``: one caption per row, drawn at
    random when a row has several, and (``augment``) a random crop of the image padded with white by an
    eighth of its side, between 85% of the image and the whole padded square (shift and scale)."""

    def __init__(self, processor, image_column: str, caption_column: str, augment: bool, seed: int):
        self.processor = processor
        self.image_column = image_column
        self.caption_column = caption_column
        self.augment = augment
        self.rng = random.Random(seed)

    def _augmented(self, image):
        from PIL import Image

        image = image.convert("RGB")
        width, height = image.size
        pad = max(width, height) // 8
        canvas = Image.new("RGB", (width + 2 * pad, height + 2 * pad), (255, 255, 255))
        canvas.paste(image, (pad, pad))
        side = self.rng.randint(int(0.85 * min(width, height)), min(canvas.size))
        left = self.rng.randint(0, canvas.width - side)
        top = self.rng.randint(0, canvas.height - side)
        return canvas.crop((left, top, left + side, top + side))

    def __call__(self, rows: list[dict]) -> dict:
        images = [row[self.image_column] for row in rows]
        if self.augment:
            images = [self._augmented(image) for image in images]
        captions = [row[self.caption_column] for row in rows]
        captions = [c if isinstance(c, str) else self.rng.choice(c) for c in captions]
        batch = self.processor(text=captions, images=images, padding=True, truncation=True, return_tensors="pt")
        return {
            "input_ids": batch["input_ids"],
            "attention_mask": batch["attention_mask"],
            "pixel_values": batch["pixel_values"],
            "return_loss": True,
        }


def load_image_caption_data(data_args: ContrastiveDataArguments):
    if data_args.dataset == "emoji":
        return emoji_dataset(data_args.test_fraction, keywords=data_args.keywords)
    from datasets import load_dataset

    dataset = load_dataset(data_args.dataset)
    for split in ("train", "test"):
        if split not in dataset:
            raise ValueError(f"dataset {data_args.dataset!r} has no {split!r} split; it has {list(dataset)}")
    return dataset


def all_captions(split, caption_column: str) -> list[str]:
    return [c for value in split[caption_column] for c in ([value] if isinstance(value, str) else value)]


def build_processor(data_args: ContrastiveDataArguments, train_split) -> CLIPProcessor:
    """A tokenizer trained on the training captions and the (PIL) CLIP image processor at ``image_size``."""
    tokenizer = train_clip_tokenizer(
        all_captions(train_split, data_args.caption_column), data_args.tokenizer_vocab_size, data_args.max_text_length
    )
    size = data_args.image_size
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
    return CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)


def build_clip_model(model_args: ModelArguments, data_args: ContrastiveDataArguments, tokenizer):
    """``CLIPModel`` from ``model_name_or_path``, or from ``model_config`` with the tokenizer's vocabulary and
    special ids and the data's text length and image size filled in."""
    if model_args.model_name_or_path:
        return AutoModel.from_pretrained(model_args.model_name_or_path)
    settings = dict(model_args.model_config)
    text_config = {
        **settings.pop("text_config", {}),
        "vocab_size": len(tokenizer),
        "max_position_embeddings": data_args.max_text_length,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    vision_config = {**settings.pop("vision_config", {}), "image_size": data_args.image_size}
    config = AutoConfig.for_model(model_args.model_type, text_config=text_config, vision_config=vision_config, **settings)
    return AutoModel.from_config(config)


def zero_shot_accuracy(model, processor, split, image_column: str, label_column: str, classnames: list[str],
                       templates: list[str]) -> float:
    """Accuracy of the prompt-ensemble zero-shot classifier over ``classnames`` on ``split``."""
    encoder = CLIPFeatureEncoder(model, processor)
    head = ZeroShotClassifierHead.from_prompts(encoder, classnames, templates)
    predictions = head.predict(encoder.encode_images(split[image_column]))
    return sum(p == label for p, label in zip(predictions, split[label_column])) / len(predictions)


def run_contrastive_image_text(
    model_args: ModelArguments,
    data_args: ContrastiveDataArguments,
    training_args: TrainingArguments,
    resume: bool = False,
) -> dict:
    """Train, save (weights, tokenizer, image processor) and test; returns the results written to
    ``output_dir/results.json``."""
    if training_args.remove_unused_columns:
        raise ValueError("remove_unused_columns=True is not supported; allowed: False (the collator reads the raw columns)")
    started = time.monotonic()
    output_dir = Path(training_args.output_dir)
    dataset = load_image_caption_data(data_args)
    processor = build_processor(data_args, dataset["train"])
    set_seed(training_args.seed)
    model = build_clip_model(model_args, data_args, processor.tokenizer)
    model.accepts_loss_kwargs = False  # CLIP's loss is a batch mean; let the Trainer scale it for accumulation

    collator = ImageCaptionCollator(
        processor, data_args.image_column, data_args.caption_column, data_args.augment, training_args.seed
    )
    callbacks = [TimeBudgetCallback(data_args.max_train_minutes)] if data_args.max_train_minutes else []
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=dataset["train"],
        data_collator=collator,
        processing_class=processor,
        callbacks=callbacks,
    )
    train_result = train_safely(trainer, output_dir, resume)
    trainer.save_model(str(output_dir))  # weights, and the processor (tokenizer + image processor)
    trainer.save_state()

    results = {
        "task": "contrastive_image_text",
        "model_type": model.config.model_type,
        "num_parameters": model.num_parameters(),
        "train_size": len(dataset["train"]),
        "test_size": len(dataset["test"]),
        "train_steps": trainer.state.global_step,
        "train_runtime_s": train_result.metrics.get("train_runtime"),
        "train_loss": train_result.metrics.get("train_loss"),
    }
    if data_args.label_column:
        classnames = sorted(set(dataset["train"][data_args.label_column]) | set(dataset["test"][data_args.label_column]))
        results["zero_shot"] = {
            "classes": len(classnames),
            "test_size": len(dataset["test"]),
            "templates": data_args.templates,
            "test_accuracy": zero_shot_accuracy(
                model, processor, dataset["test"], data_args.image_column, data_args.label_column, classnames,
                data_args.templates,
            ),
            "chance": 1 / len(classnames),
        }
        results["card"] = {
            "dataset_name": data_args.dataset,
            "dataset_description": _describe(dataset, data_args),
            "training_summary": _training_summary(training_args, data_args, results),
        }
    results["wall_time_s"] = time.monotonic() - started
    (output_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if "card" in results:
        clip_card_from_run(output_dir, repo_id=output_dir.name).save(output_dir / "README.md")
    mark_run_complete(output_dir)  # the last write: the folder holds a finished run
    logger.info("saved to %s; results %s", output_dir, json.dumps(results))
    return results


def _describe(dataset, data_args: ContrastiveDataArguments) -> str:
    sizes = f"{len(dataset['train']):,} training / {len(dataset['test']):,} test images"
    if data_args.dataset == "emoji":
        return (f"the emoji image-caption set (npm `emoji-datasource-google` {EMOJI_VERSION} images, names and Unicode "
                f"subcategories{', CLDR keywords' if data_args.keywords else ''}; {sizes})")
    return f"`{data_args.dataset}` ({sizes})"


def _training_summary(training_args: TrainingArguments, data_args: ContrastiveDataArguments, results: dict) -> dict:
    return {
        "steps": results["train_steps"],
        "batch size": training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps,
        "optimizer": f"{getattr(training_args.optim, 'value', training_args.optim)}, lr {training_args.learning_rate}, "
                     f"weight decay {training_args.weight_decay}",
        "schedule": f"{getattr(training_args.lr_scheduler_type, 'value', training_args.lr_scheduler_type)}, "
                    f"warm-up {training_args.warmup_steps}",
        "loss": "CLIP's symmetric contrastive loss (learned temperature)",
        "captions": "one drawn at random per image and step",
        "images": f"{data_args.image_size}x{data_args.image_size}" + (", random shifted / scaled crops" if data_args.augment else ""),
        "seed": training_args.seed,
        "train time (s)": round(results["train_runtime_s"] or 0.0, 1),
        "hardware": "GPU" if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads",
    }
