"""The image-text retrieval job (task ``image_text_retrieval``): Tux Paint stamps, a WordPiece tokenizer, a
transformers ``ViltForImageAndTextRetrieval`` (from a fresh ``ViltConfig``, or any saved / Hub checkpoint),
``IAISTrainer`` training with hard negatives and optionally the IAIS regulariser, recall@1/5/10 and mean ISD on the
test split through the Trainer's ``compute_metrics``, then model + processor + model card, and a reload."""

from __future__ import annotations

import functools
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import (
    AutoProcessor,
    TrainingArguments,
    ViltConfig,
    ViltForImageAndTextRetrieval,
    ViltProcessor,
    set_seed,
)
from transformers.models.vilt.image_processing_pil_vilt import ViltImageProcessorPil

from ..data.pairs import ImageTextGrid, ImageTextPairs, caption_groups, collate_pairs, encode_pairs
from ..data.tuxpaint import tuxpaint_retrieval_dataset
from ..data.wordpiece import train_wordpiece_tokenizer
from ..evaluation.retrieval import PAIR_VALUES, chance_recall, retrieval_compute_metrics, score_pairs
from ..hub.methods import IAIS
from ..hub.model_card import CardContent, CardSpec
from ..losses.iais import ALIGNMENTS
from ..metrics import retrieval_recall
from ..modeling import pipeline_retrieval
from ..modeling.pipeline_retrieval import PIPELINE_SPEC, PIPELINE_TASK
from ..modeling.validation import check_choice, check_float, check_int
from .arguments import ModelArguments
from .callbacks import TimeBudgetCallback
from .iais import OFFICIAL_HARD_NEGATIVE_POOL, OFFICIAL_IAIS_SCALE, OFFICIAL_NUM_HARD_NEGATIVES, SCHEDULES, IAISTrainer
from .run import (
    base_model_of,
    batch_size,
    enum_value,
    finish_run,
    image_widget_card_data,
    optimizer_summary,
    run_summary,
    save_widget_image,
    schedule_summary,
)
from .safe_training import train_safely
from .tasks import register_task

DATASETS = ("tuxpaint_stamps",)


@dataclass
class RetrievalDataArguments:
    dataset: str = field(default="tuxpaint_stamps", metadata={"help": "'tuxpaint_stamps' (offline, Debian package)."})
    image_size: int = field(default=64, metadata={"help": "Stamps are letterboxed into squares of this many pixels."})
    validation_fraction: float = 0.1
    test_fraction: float = 0.15
    max_text_length: int = field(
        default=40, metadata={"help": "Captions are cut at this many tokens ([CLS], [SEP] included)."}
    )
    tokenizer_vocab_size: int = field(default=1000, metadata={"help": "WordPiece trained on the training captions."})
    max_train_samples: int | None = None
    max_eval_samples: int | None = field(default=None, metadata={"help": "Validation pairs scored during training."})
    max_test_samples: int | None = field(default=None, metadata={"help": "Evaluate on the first N test pairs."})
    max_train_minutes: float | None = field(
        default=None, metadata={"help": "Stop training (with a saved checkpoint) once this wall time is spent."}
    )

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        for name in ("image_size", "max_text_length", "tokenizer_vocab_size"):
            check_int(name, getattr(self, name), 1)
        for name in ("max_train_samples", "max_eval_samples", "max_test_samples"):
            check_int(name, getattr(self, name), 2, allow_none=True)
        check_float("max_train_minutes", self.max_train_minutes, 0, min_inclusive=False, allow_none=True)


@dataclass
class IAISArguments:
    iais: str = field(default="singular", metadata={"help": "'singular', 'distributed' or 'none' (baseline)."})
    num_hard_negatives: int = field(
        default=OFFICIAL_NUM_HARD_NEGATIVES,
        metadata={
            "help": "Hardest negatives per anchor and direction (official hard_neg_size: 31); without a pool, "
            "< per_device_train_batch_size."
        },
    )
    hard_negative_pool: int | None = field(
        default=OFFICIAL_HARD_NEGATIVE_POOL,
        metadata={
            "help": "Random non-matching candidates per anchor and direction, drawn from the training pairs, "
            "of which the num_hard_negatives hardest are used (official negative_size: 399); null: mine "
            "the batch's own pairs instead."
        },
    )
    margin: float = 0.2
    iais_schedule: str = field(default="exp", metadata={"help": "'exp': lambda(t) = exp(5 (t/T - 1)); 'constant': 1."})
    iais_scale: float = field(
        default=OFFICIAL_IAIS_SCALE,
        metadata={
            "help": "The IAIS term weighs iais_scale x lambda(t) against the mean ranking loss. Official: 8, its "
            "train_batch_size: each update accumulates 8 one-anchor batches and divides each batch's "
            "ranking loss by 8 but not its IAIS term, i.e. mean ranking loss + 8 x lambda(t) x mean IAIS."
        },
    )
    isd_alignment: str = field(default="singular", metadata={"help": "Alignment of the reported ISD."})

    def __post_init__(self):
        choices = {"iais": ("none", *ALIGNMENTS), "iais_schedule": SCHEDULES, "isd_alignment": ALIGNMENTS}
        for name, allowed in choices.items():
            check_choice(name, getattr(self, name), allowed)

    @property
    def alignment(self) -> str | None:
        return None if self.iais == "none" else self.iais


def log_into_run_folder(trainer, output_dir: Path) -> None:
    """transformers' ``TensorBoardCallback`` picks ``output_dir/runs/<time>`` at ``on_train_begin``; a metric logged
    before (the evaluation at step 0) would create its writer in the working directory's ``runs/``. Point it where
    the training's events go."""
    from transformers.integrations import TensorBoardCallback
    from transformers.integrations.integration_utils import default_logdir

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback) and callback.logging_dir is None:
            callback.logging_dir = str(output_dir / default_logdir())


def build_model_and_processor(model_args: ModelArguments, data_args: RetrievalDataArguments, train_captions: list[str]):
    """A saved / Hub ViLT retrieval checkpoint with its processor, or a fresh ``ViltConfig`` (``model_config``
    fields) with a WordPiece tokenizer trained on ``train_captions`` and ViLT's PIL image processor."""
    if model_args.model_name_or_path:
        path = model_args.model_name_or_path
        return ViltForImageAndTextRetrieval.from_pretrained(
            path, **model_args.model_config
        ), AutoProcessor.from_pretrained(path)
    if model_args.model_type != "vilt":
        raise ValueError(
            f"model_type={model_args.model_type!r} is not supported for image_text_retrieval; allowed: 'vilt'"
        )
    tokenizer = train_wordpiece_tokenizer(train_captions, data_args.tokenizer_vocab_size)
    fixed = {
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "image_size": data_args.image_size,
        "max_position_embeddings": data_args.max_text_length,
    }
    clashes = sorted(set(fixed) & set(model_args.model_config))
    if clashes:
        raise ValueError(f"model_config sets {clashes}; they follow from the tokenizer and the data arguments")
    config = ViltConfig(**fixed, **model_args.model_config)
    if config.image_size % config.patch_size:
        raise ValueError(f"image_size={config.image_size} must be divisible by patch_size={config.patch_size}")
    image_processor = ViltImageProcessorPil(size={"shortest_edge": config.image_size}, size_divisor=config.patch_size)
    return ViltForImageAndTextRetrieval(config), ViltProcessor(image_processor=image_processor, tokenizer=tokenizer)


def encode_split(split, processor, max_text_length: int, limit: int | None = None):
    """Tensors of a split: tokenised captions, processed images and caption groups (equal captions match)."""
    if limit is not None:
        split = split.select(range(min(limit, len(split))))
    captions = list(split["caption"])
    texts, images = encode_pairs(processor, captions, list(split["image"]), max_text_length)
    return texts, images, caption_groups(captions)


def grid_of(encoded) -> ImageTextGrid:
    texts, images, groups = encoded
    return ImageTextGrid(texts, images, groups, groups)


def metric_label(metric: str) -> str:
    """``t2i_recall@5`` -> ``text->image recall@5``; ``recall_mean``, ``isd`` and the attention entropies by name."""
    direction, _, k = metric.partition("_recall@")
    names = {"t2i": "text->image", "i2t": "image->text"}
    labels = {
        "recall_mean": "mean recall",
        "isd": "mean ISD",
        "text_attention_entropy": "text self-attention entropy (1 = uniform)",
        "image_attention_entropy": "image self-attention entropy (1 = uniform)",
    }
    return f"{names[direction]} recall@{k}" if k else labels[metric]


def _widget_example(test_split, output_dir: Path) -> dict:
    """The widget's example: the first test drawing whose caption has no comma (the widget splits its
    ``candidate_labels`` at commas), its caption and the next two distinct such captions, sorted."""
    captions = [caption for caption in dict.fromkeys(test_split["caption"]) if "," not in caption]
    first = next(row for row in test_split if row["caption"] == captions[0])
    return {
        "image": save_widget_image(first["image"], output_dir),
        "candidate_labels": sorted(captions[:3]),
        "title": captions[0],
    }


def retrieval_card(config, results: dict) -> CardContent:
    """The retrieval card: recall@K in both directions and the mean ISD next to chance (a random ranking), and the
    IAIS settings with the paper (none for the baseline)."""
    test, chance, iais = results["test"], results["chance"], results.get("iais")
    metrics = {name: value for name, value in test.items() if name != "size"}
    regulariser = f" with the IAIS regulariser ({iais['alignment']} alignment)" if iais else " (no IAIS regulariser)"
    return CardContent(
        metrics=metrics,
        methods=[IAIS] if iais else [],
        tags=["iais"] if iais else [],
        # the Hub's zero-shot widget: an image and captions to rank for it
        card_data=image_widget_card_data(results["card"].get("widget")),
        variables={
            "description": f"A single-stream {config.model_type} image-text retrieval model{regulariser}.",
            "eval_size": test["size"],
            "result_rows": [
                {
                    "name": metric_label(name),
                    "value": f"{value:.3g}"
                    if name == "isd"
                    else f"{value:.3f}"
                    if name.endswith("_entropy")
                    else f"{100 * value:.2f} %",
                    "chance": f"{100 * chance[name]:.2f} %" if name in chance else "",
                }
                for name, value in metrics.items()
            ],
            "iais": iais,
        },
    )


RETRIEVAL_CARD = CardSpec(
    template="retrieval.md",
    task_type="image-text-retrieval",
    pipeline_tag=PIPELINE_TASK,  # image->text retrieval: the captions ranked for an image (pipeline_retrieval.py)
    tags=("image-text-retrieval",),
    metrics=("recall",),
    metric_labels=metric_label,
    metric_value=lambda value: float(f"{value:.4g}"),
    content=retrieval_card,
)


@register_task("image_text_retrieval", card=RETRIEVAL_CARD)
def run_retrieval(
    model_args: ModelArguments,
    data_args: RetrievalDataArguments,
    iais_args: IAISArguments,
    training_args: TrainingArguments,
    resume: bool = False,
) -> dict:
    """Train, evaluate, save and reload; returns the results written to ``output_dir/results.json``."""
    started = time.monotonic()
    output_dir = Path(training_args.output_dir)
    dataset = tuxpaint_retrieval_dataset(data_args.image_size, data_args.validation_fraction, data_args.test_fraction)
    set_seed(training_args.seed)
    model, processor = build_model_and_processor(model_args, data_args, list(dataset["train"]["caption"]))
    train = encode_split(dataset["train"], processor, data_args.max_text_length, data_args.max_train_samples)
    test = encode_split(dataset["test"], processor, data_args.max_text_length, data_args.max_test_samples)
    evaluating = enum_value(training_args.eval_strategy) != "no"
    validation = (
        encode_split(dataset["validation"], processor, data_args.max_text_length, data_args.max_eval_samples)
        if evaluating
        else None
    )

    callbacks = [TimeBudgetCallback(data_args.max_train_minutes)] if data_args.max_train_minutes else []
    trainer = IAISTrainer(
        model=model,
        args=training_args,
        train_dataset=ImageTextPairs(*train),
        eval_dataset=grid_of(validation) if validation is not None else None,
        data_collator=collate_pairs,
        compute_metrics=functools.partial(retrieval_compute_metrics, recall=retrieval_recall()),
        processing_class=processor,
        callbacks=callbacks,
        iais_alignment=iais_args.alignment,
        num_hard_negatives=iais_args.num_hard_negatives,
        hard_negative_pool=iais_args.hard_negative_pool,
        margin=iais_args.margin,
        iais_schedule=iais_args.iais_schedule,
        iais_scale=iais_args.iais_scale,
        isd_alignment=iais_args.isd_alignment,
    )
    test_grid = grid_of(test)
    # the untrained model's ISD and attention entropies: whether training lowers the ISD by flattening attention
    at_start = None
    if not resume:
        log_into_run_folder(trainer, output_dir)  # this evaluation before training logs too
        at_start = trainer.evaluate(test_grid, metric_key_prefix="start")
    train_result = train_safely(trainer, output_dir, resume)
    prefixed = trainer.evaluate(test_grid, metric_key_prefix="test")
    if not trainer.is_world_process_zero():
        return {}
    model.config.custom_pipelines = {PIPELINE_TASK: PIPELINE_SPEC}
    model.save_pretrained(output_dir)
    processor.save_pretrained(output_dir)
    shutil.copyfile(pipeline_retrieval.__file__, output_dir / "pipeline_retrieval.py")  # the pipeline's remote code
    trainer.save_state()

    chance = chance_recall(test[2][:, None] == test[2][None, :])
    test_metrics = {"size": len(test[2]), **{name: prefixed[f"test_{name}"] for name in [*chance, *PAIR_VALUES]}}
    reload_ok = _reload_reproduces_scores(model, output_dir, dataset["test"], data_args, iais_args.isd_alignment)
    metrics = train_result.metrics
    results = {
        "task": "image_text_retrieval",
        "model_type": model.config.model_type,
        "num_parameters": model.num_parameters(),
        "iais": None
        if iais_args.alignment is None
        else {
            "alignment": iais_args.alignment,
            "modes": "L + V",
            "schedule": iais_args.iais_schedule,
            "scale": iais_args.iais_scale,
            "num_hard_negatives": iais_args.num_hard_negatives,
            "hard_negative_pool": iais_args.hard_negative_pool,
            "margin": iais_args.margin,
        },
        "test": test_metrics,
        "test_at_start": None
        if at_start is None
        else {name: at_start[f"start_{name}"] for name in ["recall_mean", *PAIR_VALUES]},
        "chance": chance,
        "train_steps": trainer.state.global_step,
        "train_runtime_s": metrics.get("train_runtime"),
        "train_loss": metrics.get("train_loss"),
        "reload_reproduces_scores": reload_ok,
    }
    card = {
        "dataset_name": data_args.dataset,
        "base_model": base_model_of(model_args.model_name_or_path),
        "dataset_description": _describe(dataset),
        "isd_alignment": iais_args.isd_alignment,
        "example_captions": list(dataset["test"]["caption"][:3]),
        "widget": _widget_example(dataset["test"], output_dir),
        "training_summary": _training_summary(training_args, data_args, iais_args, results),
    }
    return finish_run(results, output_dir, started, card=card, report=_report(results, output_dir), trainer=trainer)


def _reload_reproduces_scores(
    model, output_dir: Path, test_split, data_args, isd_alignment: str, size: int = 8
) -> bool:
    """Whether the saved model and processor, reloaded, give the same logits and ISD on the first test pairs."""
    reloaded = ViltForImageAndTextRetrieval.from_pretrained(output_dir).to(model.device).eval()
    encoded = encode_split(test_split, AutoProcessor.from_pretrained(output_dir), data_args.max_text_length, size)
    batch = {key: value.to(model.device) for key, value in collate_pairs([*grid_of(encoded)]).items()}
    model.eval()
    before, after = score_pairs(model, batch, isd_alignment), score_pairs(reloaded, batch, isd_alignment)
    return all(torch.allclose(a, b, atol=1e-4, rtol=1e-4) for a, b in zip(before, after))


def _describe(dataset) -> str:
    sizes = ", ".join(f"{len(split):,} {name}" for name, split in dataset.items())
    return f"{dataset['train'].info.description} ({sizes} pairs)"


def _training_summary(training_args, data_args, iais_args, results) -> dict:
    pool = iais_args.hard_negative_pool
    return {
        "steps": results["train_steps"],
        "batch size (matched pairs)": batch_size(training_args),
        "loss": "hinge ranking with hard negatives"
        + (
            ""
            if iais_args.alignment is None
            else f" + {iais_args.iais_scale:g} x lambda(t) x IAIS ({iais_args.alignment}, L + V modes)"
        ),
        "hard negatives per anchor and direction": iais_args.num_hard_negatives,
        "hard negatives from": "the batch" if pool is None else f"{pool} random training candidates per anchor",
        "margin": iais_args.margin,
        "optimizer": optimizer_summary(training_args),
        "schedule": schedule_summary(training_args),
        "image size": data_args.image_size,
        **run_summary(training_args.seed, results["train_runtime_s"]),
    }


def _report(results: dict, output_dir: Path) -> list[str]:
    test, chance = results["test"], results["chance"]
    return [
        f"\nTest ({test['size']} pairs, all captions x all images):",
        *(
            f"  {name:18s} {value:.4f}" + (f"   (chance {chance[name]:.4f})" if name in chance else "")
            for name, value in test.items()
            if name != "size"
        ),
        f"Saved to {output_dir} (weights, processor, README.md model card, results.json); "
        f"reload reproduces scores: {results['reload_reproduces_scores']}",
    ]
