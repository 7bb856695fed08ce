"""The model card a lanco model's ``push_to_hub`` uploads.

transformers' ``push_to_hub()`` and ``save_pretrained(push_to_hub=True)`` both write a generic card (``tags: []``,
"More Information Needed") into the folder they upload and then hand that folder to ``_upload_modified_files``, the
one step both paths share. :class:`ModelCardMixin` replaces the folder's ``README.md`` there with the card of the
installed renderer. This file imports nothing from lanco-hf, so that it travels with the model's remote code:
``import lanco_hf`` installs lanco-hf's renderer (the card of ``lanco-hf push``), and a Hub copy loaded with
``trust_remote_code=True`` where lanco-hf is not installed has none and keeps transformers' card.
"""

from __future__ import annotations

import os
from collections.abc import Callable

# renderer(model, repo_id) -> the card's text, or None to keep transformers' card
_card_renderer: Callable[[object, str], str | None] | None = None


def set_model_card_renderer(renderer: Callable[[object, str], str | None] | None) -> None:
    """Install ``renderer(model, repo_id) -> str | None`` as the card of every lanco model's ``push_to_hub``
    (``None`` restores transformers' card)."""
    global _card_renderer
    _card_renderer = renderer


class ModelCardMixin:
    """``push_to_hub`` uploads the installed renderer's card instead of transformers' generic one."""

    def _upload_modified_files(self, working_dir, repo_id, *args, **kwargs):
        card = _card_renderer(self, repo_id) if _card_renderer is not None else None
        if card is not None:
            with open(os.path.join(working_dir, "README.md"), "w", encoding="utf-8") as file:
                file.write(card)
        return super()._upload_modified_files(working_dir, repo_id, *args, **kwargs)
