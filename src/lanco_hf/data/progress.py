"""One progress bar for long data work (fetching a package, reading a corpus, preparing images): ``tqdm``, hidden
where transformers' progress bars are off (``transformers.utils.logging.disable_progress_bar()``, which
``lanco-hf train`` calls for a run with ``disable_tqdm: true`` through :func:`progress_bars`) or where
``TQDM_DISABLE=1`` is set."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tqdm.auto import tqdm


def progress_bar(iterable=None, **kwargs) -> tqdm:
    """``tqdm(iterable, **kwargs)``, disabled when transformers' progress bars are."""
    from transformers.utils import logging as hf_logging

    kwargs.setdefault("disable", not hf_logging.is_progress_bar_enabled())
    return tqdm(iterable, **kwargs)


@contextlib.contextmanager
def progress_bars(enabled: bool) -> Iterator[None]:
    """Within the block, transformers' progress bars (and :func:`progress_bar`) are off unless ``enabled``; the
    previous setting comes back afterwards."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    if not enabled:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled and not enabled:
            hf_logging.enable_progress_bar()
