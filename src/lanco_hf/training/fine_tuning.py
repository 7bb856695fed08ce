"""The pieces the examples-style fine-tuning scripts (``scripts/run_translation.py``, ``run_classification.py``,
``run_image_classification.py``) share, in the shape of transformers' ``examples/pytorch`` scripts: argument
dataclasses for ``HfArgumentParser`` (the model to start from or build, the lanco loss), local JSON Lines / CSV files
or a ``datasets`` name as a ``DatasetDict``, and a config built from ``--config_name`` / ``--model_type`` with
``--config_overrides``."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

from transformers import AutoConfig, HfArgumentParser, PreTrainedConfig, TrainingArguments

from ..modeling.validation import check_choice
from .arguments import LossArguments
from .bonus_schedule import SCHEDULES
from .loss_functions import LOSSES, RunLoss, build_run_loss

DATA_FILE_EXTENSIONS = {".json": "json", ".jsonl": "json", ".csv": "csv"}


def parse_script_arguments(arguments: tuple, args: list[str] | None = None) -> tuple:
    """The dataclasses ``arguments`` parsed by ``HfArgumentParser`` from ``args`` (default: the command line, or the
    one JSON file of every setting it names, as in transformers' examples), in order; logging is set up at the
    process log level of the ``TrainingArguments`` among them."""
    parser = HfArgumentParser(arguments)
    if args is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        parsed = parser.parse_json_file(os.path.abspath(sys.argv[1]))
    else:
        parsed = parser.parse_args_into_dataclasses(args)
    training_args = next(item for item in parsed if isinstance(item, TrainingArguments))
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=training_args.get_process_log_level()
    )
    return tuple(parsed)


def push_or_write_card(trainer, model_args, data_args, task: str, **card) -> None:
    """The end of a script: with ``--push_to_hub`` the lanco Trainer's push (the lanco card, no pickle); else, after
    training, transformers' card in ``output_dir`` with the base model, ``task``, the dataset and ``card``."""
    if trainer.args.push_to_hub:
        trainer.push_to_hub()
    elif trainer.args.do_train:
        card = {"finetuned_from": model_args.model_name_or_path, "tasks": task, **card}
        if data_args.dataset_name:
            card.update(dataset_tags=data_args.dataset_name, dataset=data_args.dataset_name)
        trainer.create_model_card(**card)


@dataclass
class DataFileArguments:
    """Where a script's examples come from: a ``datasets`` name or local JSON Lines / CSV files (each script's data
    dataclass extends this with its columns and lengths)."""

    dataset_name: str | None = field(default=None, metadata={"help": "A `datasets` name."})
    dataset_config_name: str | None = field(default=None, metadata={"help": "Configuration of the dataset."})
    train_file: str | None = field(default=None, metadata={"help": "Training examples (JSON Lines or CSV)."})
    validation_file: str | None = field(default=None, metadata={"help": "Validation examples (JSON Lines or CSV)."})
    test_file: str | None = field(default=None, metadata={"help": "Test examples (JSON Lines or CSV)."})

    @property
    def data_files(self) -> dict[str, str | None]:
        """Split name -> local file (``None`` where unset)."""
        return {"train": self.train_file, "validation": self.validation_file, "test": self.test_file}

    def load_raw_datasets(self):
        """The splits as a ``DatasetDict`` (:func:`load_raw_datasets` of the name or the files)."""
        return load_raw_datasets(self.dataset_name, self.dataset_config_name, self.data_files)


@dataclass
class ModelArguments:
    """What model to fine-tune, or which config to train from scratch."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "A saved model folder or Hub repo to fine-tune: any lanco checkpoint or any transformers "
            "checkpoint of the script's task. Leave unset to train from scratch (--config_name or --model_type)."
        },
    )
    config_name: str | None = field(
        default=None, metadata={"help": "Config (folder or Hub repo) of a model trained from scratch."}
    )
    model_type: str | None = field(
        default=None,
        metadata={
            "help": "Train from scratch with the default config of this model_type (a lanco one, or e.g. marian)."
        },
    )
    config_overrides: str | None = field(
        default=None,
        metadata={
            "help": "Override config fields when training from scratch: 'd_model=64,encoder_layers=2'; a dotted key "
            "sets a field of a sub-config ('encoder_config.hidden_size=64')."
        },
    )
    tokenizer_name: str | None = field(
        default=None,
        metadata={
            "help": "Tokenizer (folder or Hub repo). Default: the one saved with model_name_or_path, or one trained "
            "on the training split when training from scratch."
        },
    )
    tokenizer_vocab_size: int = field(
        default=8000, metadata={"help": "Vocabulary of the tokenizer trained from scratch on the training split."}
    )
    ignore_mismatched_sizes: bool = field(
        default=False,
        metadata={
            "help": "Classification: fine-tune a checkpoint trained on other labels with a new, randomly initialised "
            "head for the data's labels."
        },
    )
    trust_remote_code: bool = field(
        default=False, metadata={"help": "Run the code of a Hub repo (lanco checkpoints load without it)."}
    )

    def __post_init__(self):
        if self.model_name_or_path and (self.config_name or self.model_type or self.config_overrides):
            raise ValueError(
                "model_name_or_path fine-tunes a saved model; config_name, model_type and config_overrides build a "
                "new one: set one or the other"
            )
        if not self.model_name_or_path and not (self.config_name or self.model_type):
            raise ValueError("set model_name_or_path (fine-tune) or config_name / model_type (train from scratch)")
        if self.config_name and self.model_type:
            raise ValueError("set config_name or model_type, not both")
        if self.model_type:
            from transformers.models.auto.configuration_auto import CONFIG_MAPPING

            import lanco_hf  # noqa: F401  (registers the lanco architectures)

            if self.model_type not in CONFIG_MAPPING:
                from ..modeling import ARCHITECTURES

                lanco = ", ".join(map(repr, ARCHITECTURES))
                raise ValueError(
                    f"model_type={self.model_type!r} is not a model type known to AutoConfig; allowed: a lanco one "
                    f"({lanco}) or a transformers one ('marian', 'bert', 'vit', 'resnet', ...)"
                )
        if self.tokenizer_vocab_size < 100:
            raise ValueError(f"tokenizer_vocab_size={self.tokenizer_vocab_size} is out of range; allowed: >= 100")


@dataclass
class LossScriptArguments:
    """A lanco training loss instead of the model's own (``--loss encouraging --log_end 0.5``)."""

    loss: str | None = field(
        default=None,
        metadata={"help": f"Training loss: {', '.join(LOSSES)} (Zhao et al., AAAI 2022); default: the model's own."},
    )
    rho: float = field(default=1.0, metadata={"help": "Encouraging loss: weight of the bonus."})
    log_end: float = field(
        default=0.75, metadata={"help": "Encouraging loss: the bonus is linear above this probability (1: no cut)."}
    )
    label_smoothing: float = field(default=0.0, metadata={"help": "Encouraging loss: label smoothing of the CE."})
    bonus_label_smoothing: float | None = field(
        default=None, metadata={"help": "Encouraging loss: label smoothing of the bonus (default: label_smoothing)."}
    )
    bonus_schedule: str = field(
        default="constant", metadata={"help": f"Encouraging loss: bonus schedule, one of {', '.join(SCHEDULES)}."}
    )
    defer_epochs: float = field(default=0.0, metadata={"help": "Bonus schedule: epochs without the bonus."})
    ramp_epochs: float | None = field(default=None, metadata={"help": "Bonus schedule: epochs to full bonus."})

    def __post_init__(self):
        if self.loss is not None:
            check_choice("loss", self.loss, LOSSES)
            return
        settings = [item for item in fields(self) if item.name != "loss"]
        changed = [item.name for item in settings if getattr(self, item.name) != item.default]
        if changed:
            raise ValueError(f"{', '.join(changed)} set without a loss; allowed: with --loss {' | '.join(LOSSES)}")

    def run_loss(self, training_args) -> RunLoss | None:
        """The ``RunLoss`` (module, ``compute_loss_func``, schedule callback), or ``None`` for the model's own."""
        if self.loss is None:
            return None
        spec = {
            "name": self.loss,
            "rho": self.rho,
            "log_end": self.log_end,
            "label_smoothing": self.label_smoothing,
            "bonus_label_smoothing": self.bonus_label_smoothing,
        }
        schedule = {}
        if self.bonus_schedule != "constant" or self.defer_epochs:
            schedule = {"schedule": self.bonus_schedule, "defer_epochs": self.defer_epochs}
            if self.ramp_epochs is not None:
                schedule["ramp_epochs"] = self.ramp_epochs
        return build_run_loss(LossArguments(loss=spec, loss_schedule=schedule), training_args)


def load_raw_datasets(
    dataset_name: str | None,
    dataset_config_name: str | None,
    data_files: dict[str, str | None],
    cache_dir: str | None = None,
):
    """A ``DatasetDict``: ``datasets.load_dataset(dataset_name, dataset_config_name)``, or the local files of
    ``data_files`` (split name -> path; JSON Lines ``.json`` / ``.jsonl`` or ``.csv``, all of one format)."""
    from datasets import load_dataset

    files = {split: path for split, path in data_files.items() if path}
    if dataset_name:
        if files:
            raise ValueError(f"dataset_name={dataset_name!r} and data files {files} are both set; set one")
        return load_dataset(dataset_name, dataset_config_name, cache_dir=cache_dir)
    if not files:
        raise ValueError("set dataset_name or train_file / validation_file / test_file")
    formats = set()
    for split, path in files.items():
        suffix = Path(path).suffix.lower()
        check_choice(f"{split}_file extension", suffix, DATA_FILE_EXTENSIONS)
        if not Path(path).is_file():
            raise ValueError(f"{split}_file={path!r} does not exist")
        formats.add(DATA_FILE_EXTENSIONS[suffix])
    if len(formats) > 1:
        raise ValueError(f"data files {files} mix formats {sorted(formats)}; allowed: all JSON Lines or all CSV")
    return load_dataset(formats.pop(), data_files=files, cache_dir=cache_dir)


def _cast(value: str, current):
    """``value`` as the type of the field's ``current`` value (a JSON value when the field is unset)."""
    if isinstance(current, bool):
        if value.lower() not in ("true", "false"):
            raise ValueError(f"{value!r} is not a boolean; allowed: true, false")
        return value.lower() == "true"
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, str):
        return value
    if isinstance(current, list):
        parsed = json.loads(value)
        if not isinstance(parsed, list):
            raise ValueError(f"{value!r} is not a list; allowed: [a, b, ...]")
        return parsed
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def parse_config_overrides(overrides: str | None, defaults: dict) -> dict:
    """``key=value`` pairs of ``overrides`` (comma-separated, commas inside ``[...]`` lists excepted; a dotted key
    sets a field of a sub-config, e.g. ``encoder_config.hidden_size=64``) as a nested dict, each value cast to the
    type of its field in ``defaults`` (a config's ``to_dict()``); a key that is no field is an error."""
    parsed: dict = {}
    for item in filter(None, (part.strip() for part in re.split(r",(?![^\[]*\])", overrides or ""))):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"config_overrides item {item!r} must look like key=value")
        *parents, leaf = key.split(".")
        known, target = defaults, parsed
        for parent in parents:
            if not isinstance(known.get(parent), dict):
                raise ValueError(f"config_overrides key {key!r}: {parent!r} is not a sub-config")
            known, target = known[parent], target.setdefault(parent, {})
        if leaf not in known:
            raise ValueError(f"config_overrides key {key!r} is not a config field; allowed: {', '.join(sorted(known))}")
        try:
            target[leaf] = _cast(value, known[leaf])
        except ValueError as error:
            raise ValueError(f"config_overrides {item!r}: {error}") from None
    return parsed


def _merged(base: dict, update: dict) -> dict:
    merged = dict(base)
    for key, value in update.items():
        merged[key] = (
            _merged(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def config_from_scratch(model_args: ModelArguments, **fields) -> PreTrainedConfig:
    """The config of a model trained from scratch: ``config_name``'s or ``model_type``'s default with ``fields``
    (sizes and token ids the script reads from its data; a dict value updates a sub-config), then
    ``config_overrides``. The config is built anew from the merged values, so its own checks run on them."""
    import lanco_hf  # noqa: F401  (registers the lanco architectures)

    if model_args.config_name:
        base = AutoConfig.from_pretrained(model_args.config_name, trust_remote_code=model_args.trust_remote_code)
    else:
        base = AutoConfig.for_model(model_args.model_type)
    defaults = base.to_dict()
    values = _merged(fields, parse_config_overrides(model_args.config_overrides, defaults))
    try:
        if model_args.config_name:
            return type(base).from_dict(_merged(defaults, values))
        # only the given values: fields derived from others (a ResNet's stage names) follow them
        return AutoConfig.for_model(model_args.model_type, **values)
    except (TypeError, KeyError, AttributeError) as error:
        raise ValueError(
            f"config_overrides={model_args.config_overrides!r} is not valid for {base.model_type}: {error}"
        ) from None


def check_vocabulary(model, tokenizer, model_name_or_path: str) -> None:
    """Refuse a tokenizer with more tokens than the model has input embeddings (its ids would index past them);
    a smaller one is fine (checkpoints often pad their vocabulary)."""
    embeddings = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > embeddings:
        raise ValueError(
            f"the tokenizer has {len(tokenizer)} tokens but model_name_or_path={model_name_or_path!r} has "
            f"{embeddings} input embeddings; use the checkpoint's own tokenizer (leave tokenizer_name unset)"
        )


CLASSIFIER_SUFFIXES = ("ForSequenceClassification", "ForImageClassification")


def classifier_from_pretrained(auto_class, model_args: ModelArguments, id2label: dict[int, str], **kwargs):
    """``auto_class.from_pretrained(model_name_or_path)`` with the data's labels: a checkpoint without a trained
    classification head (a bare encoder) gets a new one; one trained on other labels needs
    ``ignore_mismatched_sizes`` (a new head) rather than having its classes silently renamed."""
    config = AutoConfig.from_pretrained(model_args.model_name_or_path, trust_remote_code=model_args.trust_remote_code)
    trained_head = any(name.endswith(CLASSIFIER_SUFFIXES) for name in config.architectures or [])
    if trained_head and config.id2label != id2label and not model_args.ignore_mismatched_sizes:
        raise ValueError(
            f"model_name_or_path={model_args.model_name_or_path!r} was trained on the labels "
            f"{list(config.id2label.values())} but the data has {list(id2label.values())}; set "
            "ignore_mismatched_sizes to train a new classification head"
        )
    label2id = {name: i for i, name in id2label.items()}
    return auto_class.from_pretrained(
        model_args.model_name_or_path,
        id2label=id2label,
        label2id=label2id,
        ignore_mismatched_sizes=model_args.ignore_mismatched_sizes,
        trust_remote_code=model_args.trust_remote_code,
        **kwargs,
    )
