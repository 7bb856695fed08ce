#!/usr/bin/env python
"""Fine-tune or train from scratch an image classifier with ``Trainer``, in the style of transformers'
``examples/pytorch/image-classification/run_image_classification.py``: any ``AutoModelForImageClassification``
model (the ResNet a ``lanco-hf train`` image-classification run saves, a ViT, ...), optionally with the encouraging
loss (Zhao et al., AAAI 2022; ``--loss encouraging --log_end 0.5``). Accuracy and mean class accuracy go through the
lanco ``evaluate`` module ``lanco_hf.metrics.path("classification")``.

Data: ``--dataset_name`` (with an image column) or local ``--train_file`` / ``--validation_file`` / ``--test_file``
(JSON Lines or CSV) whose image column holds file paths, relative to the data file's folder or absolute
(``{"image": "cats/1.png", "label": "cat"}``). Images are converted to RGB, resized and normalised by the image
processor (``--image_processor_name``, the checkpoint's own, or a new one of ``--image_size`` from scratch).

    python scripts/run_image_classification.py --model_type resnet \\
        --config_overrides embedding_size=16,hidden_sizes=[16,32],depths=[1,1] --image_size 28 \\
        --train_file train.jsonl --validation_file dev.jsonl --do_train --do_eval --output_dir runs/images

    python scripts/run_image_classification.py --model_name_or_path runs/fashion_mnist_resnet \\
        --train_file train.jsonl --validation_file dev.jsonl --do_train --do_eval --output_dir runs/tuned
"""

import logging
import os
from dataclasses import dataclass, field

import numpy as np
import torch
from datasets import Image
from transformers import (
    AutoImageProcessor,
    AutoModelForImageClassification,
    TrainingArguments,
    ViTImageProcessorPil,
    set_seed,
)

import lanco_hf
from lanco_hf.modeling.validation import check_int
from lanco_hf.training.fine_tuning import (
    DataFileArguments,
    LossScriptArguments,
    ModelArguments,
    classifier_from_pretrained,
    config_from_scratch,
    parse_script_arguments,
    push_or_write_card,
)
from lanco_hf.training.hub_push import LancoTrainer

logger = logging.getLogger(__name__)


@dataclass
class DataTrainingArguments(DataFileArguments):
    image_column_name: str = field(default="image", metadata={"help": "The image column (images or file paths)."})
    label_column_name: str = field(default="label", metadata={"help": "The label column (names or ids)."})
    image_processor_name: str | None = field(
        default=None, metadata={"help": "Image processor (folder or Hub repo); default: the checkpoint's own."}
    )
    image_size: int = field(
        default=224, metadata={"help": "From scratch: the side the new image processor resizes images to."}
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Train on the first N images."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Evaluate on the first N images."})

    def __post_init__(self):
        check_int("image_size", self.image_size, 1)
        for name in ("max_train_samples", "max_eval_samples"):
            check_int(name, getattr(self, name), 1, allow_none=True)


def load_images(data_args: DataTrainingArguments):
    """The splits with an ``Image`` column; local files' paths are resolved against their data file's folder."""
    files = data_args.data_files
    raw = data_args.load_raw_datasets()
    column = data_args.image_column_name
    for name, split in raw.items():
        if column not in split.column_names or data_args.label_column_name not in split.column_names:
            raise ValueError(
                f"the {name} split has no {column!r} or {data_args.label_column_name!r} column; "
                f"image_column_name / label_column_name must name columns of {split.column_names}"
            )
        if files.get(name) and not isinstance(split.features[column], Image):
            folder = os.path.dirname(os.path.abspath(files[name]))
            split = split.map(lambda row, folder=folder: {column: os.path.join(folder, row[column])})  # abs. stay
            raw[name] = split.cast_column(column, Image())
    return raw


def build_image_processor(model_args: ModelArguments, data_args: DataTrainingArguments):
    name = data_args.image_processor_name or model_args.model_name_or_path
    if name:
        return AutoImageProcessor.from_pretrained(name, trust_remote_code=model_args.trust_remote_code)
    size = data_args.image_size
    return ViTImageProcessorPil(size={"height": size, "width": size}, image_mean=[0.5] * 3, image_std=[0.5] * 3)


def build_model(model_args: ModelArguments, names: list, image_size: int):
    id2label = {i: str(name) for i, name in enumerate(names)}
    if model_args.model_name_or_path:
        return classifier_from_pretrained(AutoModelForImageClassification, model_args, id2label)
    labels = {"id2label": id2label, "label2id": {name: i for i, name in id2label.items()}, "num_channels": 3}
    config = config_from_scratch(model_args, **labels)
    if hasattr(config, "image_size"):  # ViT-like models build their position embeddings for one size
        config = config_from_scratch(model_args, **labels, image_size=image_size)
    return AutoModelForImageClassification.from_config(config)


# what HfArgumentParser parses the command line into, in order
ARGUMENTS = (ModelArguments, DataTrainingArguments, TrainingArguments, LossScriptArguments)


def main(args: list[str] | None = None) -> dict:
    model_args, data_args, training_args, loss_args = parse_script_arguments(ARGUMENTS, args)
    set_seed(training_args.seed)
    training_args.remove_unused_columns = False  # the transform reads the image column

    raw = load_images(data_args)
    label_column, image_column = data_args.label_column_name, data_args.image_column_name
    reference = raw["train" if "train" in raw else next(iter(raw))]
    feature = reference.features[label_column]
    if hasattr(feature, "names"):
        names = list(feature.names)
        index = {i: i for i in range(len(names))}
    else:
        names = sorted({value for split in raw.values() for value in split[label_column]}, key=str)
        index = {name: i for i, name in enumerate(names)}
    processor = build_image_processor(model_args, data_args)
    model = build_model(model_args, names, data_args.image_size)
    run_loss = loss_args.run_loss(training_args)

    def transform(batch):
        pixels = processor([image.convert("RGB") for image in batch[image_column]], return_tensors="pt")
        return {
            "pixel_values": pixels["pixel_values"],
            "labels": torch.tensor([index[label] for label in batch[label_column]]),
        }

    splits = {}
    for name, needed, limit in (
        ("train", training_args.do_train, data_args.max_train_samples),
        ("validation", training_args.do_eval, data_args.max_eval_samples),
    ):
        if not needed:
            continue
        if name not in raw:
            flag = {"train": "do_train", "validation": "do_eval"}[name]
            raise ValueError(f"{flag} needs a {name} split ({name}_file or a dataset with one)")
        split = raw[name] if limit is None else raw[name].select(range(min(limit, len(raw[name]))))
        splits[name] = split.with_transform(transform)

    def collate(rows):
        return {
            "pixel_values": torch.stack([row["pixel_values"] for row in rows]),
            "labels": torch.stack([row["labels"] for row in rows]),
        }

    trainer = LancoTrainer(
        model=model,
        args=training_args,
        train_dataset=splits.get("train"),
        eval_dataset=splits.get("validation"),
        data_collator=collate,
        processing_class=processor,
        compute_metrics=lanco_hf.metrics.classification_compute_metrics(),
        compute_loss_func=run_loss.compute_loss_func if run_loss else None,
        callbacks=run_loss.callbacks if run_loss else None,
    )

    results = {}
    if training_args.do_train:
        train_result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
        trainer.save_model()  # weights, config (labels) and image processor
        metrics = {**train_result.metrics, "train_samples": len(splits["train"])}
        if run_loss:
            metrics["loss_function"] = run_loss.to_dict()  # the lanco loss and its settings
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", metrics)
        trainer.save_state()
        results.update(metrics)
    if training_args.do_eval:
        metrics = {**trainer.evaluate(), "eval_samples": len(splits["validation"])}
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
        results.update(metrics)
    if training_args.do_predict:
        if "test" not in raw:
            raise ValueError("do_predict needs a test split (test_file or a dataset with one)")
        prediction = trainer.predict(raw["test"].with_transform(transform), metric_key_prefix="predict")
        metrics = {**prediction.metrics, "predict_samples": len(raw["test"])}
        trainer.log_metrics("predict", metrics)
        trainer.save_metrics("predict", metrics)
        results.update(metrics)
        if trainer.is_world_process_zero():
            chosen = np.asarray(prediction.predictions).argmax(-1)
            with open(os.path.join(training_args.output_dir, "predict_results.txt"), "w", encoding="utf-8") as f:
                f.write("index\tprediction\n")
                f.writelines(f"{i}\t{names[c]}\n" for i, c in enumerate(chosen))

    push_or_write_card(trainer, model_args, data_args, "image-classification")
    return results


if __name__ == "__main__":
    main()
