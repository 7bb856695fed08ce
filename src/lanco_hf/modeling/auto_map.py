"""Saving every Auto class of an architecture in ``auto_map``.

transformers records only the class being saved in ``config.auto_map``; a checkpoint of
``...ForConditionalGeneration`` would then not load through ``AutoModel`` with ``trust_remote_code``.
``lanco_hf.modeling`` fills ``_auto_map`` when it registers an architecture, and this mixin writes it.
"""

from __future__ import annotations

from .safe_loading import SafetensorsOnlyMixin


class AutoMapMixin(SafetensorsOnlyMixin):
    _auto_map: dict[str, str] | None = None  # Auto class name -> "module.Class", set at registration

    def save_pretrained(self, save_directory, *args, **kwargs):
        if self._auto_map:
            self.config.auto_map = {**(getattr(self.config, "auto_map", None) or {}), **self._auto_map}
        return super().save_pretrained(save_directory, *args, **kwargs)
