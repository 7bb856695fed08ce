"""``lanco-hf evaluate retrieval --model RUN_DIR``: recall@K in both directions and the mean ISD of a saved ViLT
retrieval model on a split of the Tux Paint stamps."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..modeling.validation import check_float, check_int

HELP = "recall@K and mean ISD of a saved ViLT retrieval model"


@dataclass
class RetrievalEvaluationArguments:
    model: str = field(metadata={"help": "Folder (or Hub repo) with a ViltForImageAndTextRetrieval and its processor."})
    split: Literal["train", "validation", "test"] = "test"
    validation_fraction: float = 0.1
    test_fraction: float = 0.15
    max_samples: int | None = field(default=None, metadata={"help": "Evaluate on the first N pairs of the split."})
    max_text_length: int = 40
    batch_size: int = 256
    isd_alignment: Literal["singular", "distributed"] = "singular"
    output: str | None = field(default=None, metadata={"help": "Write the metrics to this JSON file."})

    def __post_init__(self):
        check_int("max_samples", self.max_samples, 2, allow_none=True)
        check_int("max_text_length", self.max_text_length, 1)
        check_int("batch_size", self.batch_size, 1)
        for name in ("validation_fraction", "test_fraction"):
            check_float(name, getattr(self, name), 0.0, 1.0)


def run(args: RetrievalEvaluationArguments) -> dict[str, float]:
    from transformers import AutoProcessor, ViltForImageAndTextRetrieval

    from ..data.pairs import ImageTextGrid, caption_groups, encode_pairs
    from ..data.tuxpaint import tuxpaint_retrieval_dataset
    from ..evaluation.retrieval import evaluate_retrieval
    from ..metrics import retrieval_recall

    model = ViltForImageAndTextRetrieval.from_pretrained(args.model)
    processor = AutoProcessor.from_pretrained(args.model)
    splits = tuxpaint_retrieval_dataset(model.config.image_size, args.validation_fraction, args.test_fraction)
    split = splits[args.split]
    if args.max_samples is not None:
        split = split.select(range(min(args.max_samples, len(split))))
    captions = list(split["caption"])
    texts, images = encode_pairs(processor, captions, list(split["image"]), args.max_text_length)
    groups = caption_groups(captions)
    grid = ImageTextGrid(texts, images, groups, groups)
    metrics = evaluate_retrieval(model, grid, args.batch_size, args.isd_alignment, recall=retrieval_recall())
    print(f"{args.split} split, {len(split)} pairs ({args.model})")
    print("| metric | value |\n|---|---|")
    for name, value in metrics.items():
        print(f"| {name} | {value:.4f} |")
    if args.output:
        Path(args.output).write_text(json.dumps({"split": args.split, "size": len(split), **metrics}, indent=2) + "\n")
    return metrics


ARGUMENTS = (RetrievalEvaluationArguments,)
