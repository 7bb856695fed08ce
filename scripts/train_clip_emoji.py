#!/usr/bin/env python
"""Train a small transformers ``CLIPModel`` from scratch on the emoji image-caption set (Trainer, CLIP's own
contrastive loss), saving weights, tokenizer and image processor together, so that

    pipeline("zero-shot-image-classification", model=OUTPUT_DIR)
    lanco-hf evaluate openness --model OUTPUT_DIR

work on the result. Settings come from a YAML run config (default ``configs/clip_emoji.yaml``) with
``key=value`` overrides, the same as ``lanco-hf train configs/clip_emoji.yaml``:

    python scripts/train_clip_emoji.py                                   # about 15-20 min on 2 quiet CPU cores
    python scripts/train_clip_emoji.py configs/clip_emoji.yaml num_train_epochs=10 output_dir=runs/clip_small

Data set-up: ``npm pack emoji-datasource-google@16.0.0 --pack-destination ~/.cache/lanco_hf/emoji`` and
``sudo apt-get install unicode-cldr-core``.
"""

import logging
import sys
from pathlib import Path

from lanco_hf.training.arguments import ModelArguments, load_run_config, parse_run_config
from lanco_hf.training.contrastive import (
    ContrastiveDataArguments,
    ContrastiveTrainingArguments,
    run_contrastive_image_text,
)
from lanco_hf.training.cpu import keep_freed_memory_in_heap

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "clip_emoji.yaml"


def main(argv: list[str]) -> dict:
    config_path = argv[0] if argv and argv[0].endswith((".yaml", ".yml")) else DEFAULT_CONFIG
    overrides = argv[1:] if argv and argv[0].endswith((".yaml", ".yml")) else argv
    config = load_run_config(config_path, overrides)
    task = config.pop("task", "contrastive_image_text")
    if task != "contrastive_image_text":
        raise ValueError(f"task={task!r} in {config_path}; this script runs 'contrastive_image_text'")
    arguments = parse_run_config(config, (ModelArguments, ContrastiveDataArguments, ContrastiveTrainingArguments))
    keep_freed_memory_in_heap()
    return run_contrastive_image_text(*arguments)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    results = main(sys.argv[1:])
    print(f"zero-shot test accuracy: {results.get('zero_shot', {}).get('test_accuracy')}")
