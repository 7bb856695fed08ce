#!/usr/bin/env python
"""Fine-tune or train from scratch a text classifier, single-label or multi-label, with ``Trainer``, in the style of
transformers' ``examples/pytorch/text-classification/run_classification.py``. Any
``AutoModelForSequenceClassification`` model works: the lanco label-graph classifier (Zhao et al., NAACL 2019) or a
transformers one (BERT, ...). Metrics go through the lanco ``evaluate`` modules: ``lanco_hf.metrics.path("multilabel")``
(one-error, Hamming loss, macro / micro-F1, coverage, ranking loss) or ``path("classification")`` (accuracy, mean
class accuracy).

Data: ``--dataset_name`` or local ``--train_file`` / ``--validation_file`` / ``--test_file`` (JSON Lines or CSV)
with a text column (``--text_column_names``, comma-separated columns are joined) and a label column
(``--label_column_name``). A label column of lists (``{"text": "...", "label": ["rock", "pop"]}``) makes the task
multi-label; otherwise each example has one label (a name or an id).

    python scripts/run_classification.py --model_type label_graph \\
        --config_overrides encoder_config.hidden_size=128,soft_training=true \\
        --train_file train.jsonl --validation_file dev.jsonl --do_train --do_eval --output_dir runs/labels

    python scripts/run_classification.py --model_name_or_path runs/labels --train_file more.jsonl \\
        --do_train --output_dir runs/labels_tuned                      # tokenizer and labels kept

The encouraging loss (``--loss encouraging --log_end 0.5``) trains single-label classifiers.
"""

import logging
import os
from dataclasses import dataclass, field

import numpy as np
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    TrainingArguments,
    set_seed,
)

import lanco_hf
from lanco_hf.data.wordpiece import train_wordpiece_tokenizer
from lanco_hf.modeling.validation import check_float, check_int
from lanco_hf.training.fine_tuning import (
    DataFileArguments,
    LossScriptArguments,
    ModelArguments,
    check_vocabulary,
    classifier_from_pretrained,
    config_from_scratch,
    parse_script_arguments,
    push_or_write_card,
)
from lanco_hf.training.hub_push import LancoTrainer

logger = logging.getLogger(__name__)


@dataclass
class DataTrainingArguments(DataFileArguments):
    text_column_names: str = field(
        default="text", metadata={"help": "The text column, or several separated by commas (joined with a space)."}
    )
    label_column_name: str = field(
        default="label", metadata={"help": "The label column: one label per example, or a list (multi-label)."}
    )
    max_seq_length: int = field(default=128, metadata={"help": "Texts are cut at this many tokens."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Train on the first N examples."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Evaluate on the first N examples."})
    max_predict_samples: int | None = field(default=None, metadata={"help": "Predict the first N test examples."})
    threshold: float | None = field(
        default=None,
        metadata={"help": "Multi-label decision threshold (default: the model config's `threshold`, else 0.5)."},
    )

    def __post_init__(self):
        check_int("max_seq_length", self.max_seq_length, 1)
        for name in ("max_train_samples", "max_eval_samples", "max_predict_samples"):
            check_int(name, getattr(self, name), 1, allow_none=True)
        check_float("threshold", self.threshold, 0.0, 1.0, allow_none=True)


def label_names(raw, column: str, multi_label: bool) -> list:
    """The label names: the ``ClassLabel`` names of the column, else the sorted labels of every split."""
    feature = raw["train" if "train" in raw else next(iter(raw))].features[column]
    feature = getattr(feature, "feature", feature)
    if hasattr(feature, "names"):
        return list(feature.names)
    found = set()
    for split in raw.values():
        for value in split[column]:
            found.update(value if multi_label else [value])
    return sorted(found, key=str)


def build_tokenizer(model_args: ModelArguments, texts: list[str]):
    """``tokenizer_name``, else the checkpoint's own, else a BERT-style WordPiece trained on the training texts."""
    name = model_args.tokenizer_name or model_args.model_name_or_path
    if name:
        return AutoTokenizer.from_pretrained(name, trust_remote_code=model_args.trust_remote_code)
    if not texts:
        raise ValueError("training from scratch needs a training split to train the tokenizer on (train_file)")
    return train_wordpiece_tokenizer(texts, vocab_size=model_args.tokenizer_vocab_size)


def build_model(model_args: ModelArguments, tokenizer, names: list, multi_label: bool):
    problem_type = "multi_label_classification" if multi_label else "single_label_classification"
    id2label = {i: str(name) for i, name in enumerate(names)}
    labels = {"id2label": id2label, "label2id": {name: i for i, name in id2label.items()}}
    if model_args.model_name_or_path:
        kind = AutoConfig.from_pretrained(model_args.model_name_or_path, trust_remote_code=model_args.trust_remote_code)
        extra = {} if kind.model_type == "label_graph" else {"problem_type": problem_type}
        model = classifier_from_pretrained(AutoModelForSequenceClassification, model_args, id2label, **extra)
        check_vocabulary(model, tokenizer, model_args.model_name_or_path)
    else:
        sizes = {"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id}
        model_type = model_args.model_type or AutoConfig.from_pretrained(model_args.config_name).model_type
        if model_type == "label_graph":  # always multi-label; the sizes belong to its text encoder
            config = config_from_scratch(model_args, **labels, encoder_config=sizes)
        else:
            config = config_from_scratch(model_args, **labels, problem_type=problem_type, **sizes)
        model = AutoModelForSequenceClassification.from_config(config)
    if (model.config.problem_type == "multi_label_classification") != multi_label:
        raise ValueError(
            f"the {model.config.model_type} model is {model.config.problem_type or 'single_label_classification'} "
            f"but the data is {problem_type}; allowed: a model of the data's kind"
        )
    return model


# what HfArgumentParser parses the command line into, in order
ARGUMENTS = (ModelArguments, DataTrainingArguments, TrainingArguments, LossScriptArguments)


def main(args: list[str] | None = None) -> dict:
    model_args, data_args, training_args, loss_args = parse_script_arguments(ARGUMENTS, args)
    set_seed(training_args.seed)

    raw = data_args.load_raw_datasets()
    text_columns = [name.strip() for name in data_args.text_column_names.split(",")]
    label_column = data_args.label_column_name
    for name, split in raw.items():
        missing = [column for column in [*text_columns, label_column] if column not in split.column_names]
        if missing and not (name == "test" and missing == [label_column]):
            raise ValueError(
                f"the {name} split has no column {missing}; text_column_names / label_column_name must name columns "
                f"of {split.column_names}"
            )
    reference = raw["train" if "train" in raw else next(iter(raw))]
    multi_label = isinstance(reference[0][label_column], list)
    names = label_names({k: v for k, v in raw.items() if label_column in v.column_names}, label_column, multi_label)
    run_loss = loss_args.run_loss(training_args)
    if run_loss is not None and multi_label:
        raise ValueError(f"loss={loss_args.loss!r} scores one label per example; allowed for multi-label data: unset")

    def text_of(row):
        return " ".join(str(row[column]) for column in text_columns)

    tokenizer = build_tokenizer(model_args, [text_of(row) for row in raw["train"]] if "train" in raw else [])
    model = build_model(model_args, tokenizer, names, multi_label)
    index = {name: i for i, name in enumerate(names)}

    def encode(batch):
        rows = [dict(zip(batch, values)) for values in zip(*batch.values())]
        encoded = tokenizer([text_of(row) for row in rows], max_length=data_args.max_seq_length, truncation=True)
        if label_column in batch:
            if multi_label:
                encoded["labels"] = [[1.0 if name in set(row[label_column]) else 0.0 for name in names] for row in rows]
            else:
                encoded["labels"] = [index[row[label_column]] for row in rows]
        return encoded

    wanted = {"train": training_args.do_train, "validation": training_args.do_eval, "test": training_args.do_predict}
    limits = {
        "train": data_args.max_train_samples,
        "validation": data_args.max_eval_samples,
        "test": data_args.max_predict_samples,
    }
    splits = {}
    for name, needed in wanted.items():
        if not needed:
            continue
        if name not in raw:
            flag = {"train": "do_train", "validation": "do_eval", "test": "do_predict"}[name]
            raise ValueError(f"{flag} needs a {name} split ({name}_file or a dataset with one)")
        split = raw[name]
        if limits[name] is not None:
            split = split.select(range(min(limits[name], len(split))))
        with training_args.main_process_first(desc=f"tokenizing {name}"):
            splits[name] = split.map(encode, batched=True, remove_columns=split.column_names, desc=f"Tokenizing {name}")

    threshold = data_args.threshold
    if threshold is None:
        threshold = getattr(model.config, "threshold", 0.5)
    compute_metrics = (
        lanco_hf.metrics.multilabel_compute_metrics(threshold)
        if multi_label
        else lanco_hf.metrics.classification_compute_metrics()
    )
    trainer = LancoTrainer(
        model=model,
        args=training_args,
        train_dataset=splits.get("train"),
        eval_dataset=splits.get("validation"),
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        compute_loss_func=run_loss.compute_loss_func if run_loss else None,
        callbacks=run_loss.callbacks if run_loss else None,
    )

    results = {}
    if training_args.do_train:
        train_result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
        trainer.save_model()  # weights, config (labels, auto_map) and tokenizer
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
        test = splits["test"]
        has_labels = "labels" in test.column_names
        prediction = trainer.predict(test, metric_key_prefix="predict")
        if has_labels:
            metrics = {**prediction.metrics, "predict_samples": len(test)}
            trainer.log_metrics("predict", metrics)
            trainer.save_metrics("predict", metrics)
            results.update(metrics)
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        if multi_label:
            chosen = [[names[j] for j in np.flatnonzero(row > threshold)] for row in 1 / (1 + np.exp(-logits))]
        else:
            chosen = [names[i] for i in logits.argmax(-1)]
        if trainer.is_world_process_zero():
            os.makedirs(training_args.output_dir, exist_ok=True)
            with open(os.path.join(training_args.output_dir, "predict_results.txt"), "w", encoding="utf-8") as f:
                f.write("index\tprediction\n")
                f.writelines(f"{i}\t{', '.join(map(str, p)) if multi_label else p}\n" for i, p in enumerate(chosen))

    push_or_write_card(trainer, model_args, data_args, "text-classification")
    return results


if __name__ == "__main__":
    main()
