"""One progress bar for long data work (fetching a package, reading a corpus, preparing images): ``tqdm``, hidden
where transformers' progress bars are off (``transformers.utils.logging.disable_progress_bar()``, which
``lanco-hf train`` calls for a run with ``disable_tqdm: true``) or ``TQDM_DISABLE=1`` is set."""

from __future__ import annotations

from tqdm.auto import tqdm


def progress_bar(iterable=None, **kwargs) -> tqdm:
    """``tqdm(iterable, **kwargs)``, disabled when transformers' progress bars are."""
    from transformers.utils import logging as hf_logging

    kwargs.setdefault("disable", not hf_logging.is_progress_bar_enabled())
    return tqdm(iterable, **kwargs)
