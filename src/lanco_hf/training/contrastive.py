"""The ``contrastive_image_text`` task: a transformers ``CLIPModel`` trained from scratch with its own
contrastive loss (``return_loss=True``) on an image-caption set (offline: the emoji set), with a BPE tokenizer
trained on the training captions and a ``CLIPImageProcessorPil`` (PIL, no torchvision), saved together so that
``pipeline("zero-shot-image-classification", model=output_dir)`` loads it. After training, the zero-shot
accuracy of the test split's classes is measured with the prompt templates."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import (
    AutoConfig,
    AutoModel,
    CLIPImageProcessorPil,
    CLIPProcessor,
    TrainingArguments,
    set_seed,
)

from ..data.clip_tokenizer import train_clip_tokenizer
from ..data.emoji import EMOJI_TEMPLATES, emoji_dataset
from ..data.emoji import VERSION as EMOJI_VERSION
from ..evaluation.zero_shot import CLIPFeatureEncoder, ZeroShotClassifierHead
from ..hub.methods import CLIP_OPENNESS
from ..hub.model_card import CardContent, CardSpec
from ..modeling.validation import check_float, check_int
from .arguments import ModelArguments
from .callbacks import TimeBudgetCallback
from .hub_push import LancoTrainer
from .run import (
    base_model_of,
    batch_size,
    finish_run,
    image_widget_card_data,
    optimizer_summary,
    run_summary,
    save_widget_image,
    schedule_summary,
)
from .safe_training import train_safely
from .tasks import register_task


@dataclass
class ContrastiveDataArguments:
    dataset: str = field(
        default="emoji",
        metadata={
            "help": "'emoji' (offline: npm emoji-datasource-google + Debian unicode-cldr-core), or any dataset "
            "`datasets.load_dataset` opens with train / test splits, an image and a caption column."
        },
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
            check_int(name, getattr(self, name), 1)
        check_float("max_train_minutes", self.max_train_minutes, 0, min_inclusive=False, allow_none=True)


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
    config = AutoConfig.for_model(
        model_args.model_type, text_config=text_config, vision_config=vision_config, **settings
    )
    return AutoModel.from_config(config)


def zero_shot_accuracy(
    model,
    processor,
    split,
    image_column: str,
    label_column: str,
    classnames: list[str],
    templates: list[str],
    progress: bool = False,
) -> float:
    """Accuracy of the prompt-ensemble zero-shot classifier over ``classnames`` on ``split`` (with progress bars
    of the encoding when ``progress``)."""
    encoder = CLIPFeatureEncoder(model, processor, progress=progress)
    head = ZeroShotClassifierHead.from_prompts(encoder, classnames, templates)
    predictions = head.predict(encoder.encode_images(split[image_column]))
    return sum(p == label for p, label in zip(predictions, split[label_column])) / len(predictions)


def clip_card(config, results: dict) -> CardContent:
    """The CLIP card: zero-shot accuracy of the held-out images (``results["zero_shot"]``: ``test_accuracy``,
    ``chance``, ``classes``, ``test_size``, ``templates``) and the openness method."""
    return CardContent(
        metrics={"accuracy": results["zero_shot"]["test_accuracy"]},
        methods=[CLIP_OPENNESS],
        # the Hub's zero-shot widget: an image and its candidate labels
        card_data=image_widget_card_data(results["card"].get("widget")),
        variables={"num_parameters": f"{results['num_parameters']:,}", "zero_shot": results["zero_shot"]},
    )


CLIP_CARD = CardSpec(
    template="clip.md",
    task_type="zero-shot-image-classification",
    pipeline_tag="zero-shot-image-classification",
    tags=("clip", "zero-shot-image-classification", "clip-openness"),
    metrics=("accuracy",),
    content=clip_card,
    uses_config=False,
)


@register_task("contrastive_image_text", card=CLIP_CARD)
def run_contrastive_image_text(
    model_args: ModelArguments,
    data_args: ContrastiveDataArguments,
    training_args: ContrastiveTrainingArguments,
    resume: bool = False,
) -> dict:
    """Train, save (weights, tokenizer, image processor) and test; returns the results written to
    ``output_dir/results.json``."""
    if training_args.remove_unused_columns:
        raise ValueError(
            "remove_unused_columns=True is not supported; allowed: False (the collator reads the raw columns)"
        )
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
    trainer = LancoTrainer(
        model=model,
        args=training_args,
        train_dataset=dataset["train"],
        data_collator=collator,
        processing_class=processor,
        callbacks=callbacks,
    )
    train_result = train_safely(trainer, output_dir, resume)
    trainer.save_model(str(output_dir))  # weights, and the processor (tokenizer + image processor)
    if not trainer.is_world_process_zero():
        return {}
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
    card = None
    if data_args.label_column:
        classnames = sorted(
            set(dataset["train"][data_args.label_column]) | set(dataset["test"][data_args.label_column])
        )
        results["zero_shot"] = {
            "classes": len(classnames),
            "test_size": len(dataset["test"]),
            "templates": data_args.templates,
            "test_accuracy": zero_shot_accuracy(
                model,
                processor,
                dataset["test"],
                data_args.image_column,
                data_args.label_column,
                classnames,
                data_args.templates,
                progress=not training_args.disable_tqdm,
            ),
            "chance": 1 / len(classnames),
        }
        example = dataset["test"][0]
        label = example[data_args.label_column]
        others = [name for name in classnames if name != label]
        card = {
            "dataset_name": data_args.dataset,
            "base_model": base_model_of(model_args.model_name_or_path),
            "widget": {  # the first test image, its class and the first two others (the same in every run)
                "image": save_widget_image(example[data_args.image_column], output_dir),
                "candidate_labels": sorted([label, *others[:2]]),
                "title": label,
            },
            "dataset_description": _describe(dataset, data_args),
            "training_summary": _training_summary(training_args, data_args, results),
        }
    return finish_run(results, output_dir, started, card=card, report=_report(results, output_dir), trainer=trainer)


def _describe(dataset, data_args: ContrastiveDataArguments) -> str:
    sizes = f"{len(dataset['train']):,} training / {len(dataset['test']):,} test images"
    if data_args.dataset == "emoji":
        return (
            f"the emoji image-caption set (npm `emoji-datasource-google` {EMOJI_VERSION} images, names and Unicode "
            f"subcategories{', CLDR keywords' if data_args.keywords else ''}; {sizes})"
        )
    return f"`{data_args.dataset}` ({sizes})"


def _training_summary(training_args: TrainingArguments, data_args: ContrastiveDataArguments, results: dict) -> dict:
    return {
        "steps": results["train_steps"],
        "batch size": batch_size(training_args),
        "optimizer": optimizer_summary(training_args),
        "schedule": schedule_summary(training_args, "warm-up {}"),
        "loss": "CLIP's symmetric contrastive loss (learned temperature)",
        "captions": "one drawn at random per image and step",
        "images": f"{data_args.image_size}x{data_args.image_size}"
        + (", random shifted / scaled crops" if data_args.augment else ""),
        **run_summary(training_args.seed, results["train_runtime_s"]),
    }


def _report(results: dict, output_dir: Path) -> list[str]:
    zero_shot = results.get("zero_shot")
    accuracy = (
        f"\nZero-shot test accuracy {100 * zero_shot['test_accuracy']:.1f} % over {zero_shot['classes']} classes "
        f"(chance {100 * zero_shot['chance']:.1f} %)"
        if zero_shot
        else "\nNo zero-shot test (no label_column)"
    )
    card = ", README.md model card" if zero_shot else ""
    return [accuracy, f"Saved to {output_dir} (weights, tokenizer, image processor{card}, results.json)"]
