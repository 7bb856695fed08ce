"""Loading lanco weights from safetensors only.

transformers 5 still falls back to ``pytorch_model.bin`` (a pickle) when a folder has no safetensors file; lanco
models never unpickle: ``from_pretrained`` forces ``use_safetensors=True``, names the pickle it refuses, and turns
the parser error of a truncated or corrupted safetensors file into one that names the file.
"""

from __future__ import annotations

import os

from safetensors import SafetensorError

PICKLE_WEIGHTS = (
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "model.ckpt",
    "tf_model.h5",
    "flax_model.msgpack",
)


class SafetensorsOnlyMixin:
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        if kwargs.get("use_safetensors") is False:
            raise ValueError("use_safetensors=False is not supported: lanco models load safetensors weights only")
        kwargs["use_safetensors"] = True
        folder = os.fspath(pretrained_model_name_or_path) if pretrained_model_name_or_path is not None else None
        if folder and os.path.isdir(folder):
            subfolder = os.path.join(folder, kwargs.get("subfolder") or "")
            files = os.listdir(subfolder) if os.path.isdir(subfolder) else []
            pickles = sorted(name for name in files if name in PICKLE_WEIGHTS)
            if pickles and not any(name.endswith(".safetensors") for name in files):
                raise OSError(
                    f"{subfolder} holds only {', '.join(pickles)}, which lanco models refuse to load: a pickle can "
                    "run arbitrary code. Convert it where you trust it (load it there, then "
                    "model.save_pretrained(folder), which writes model.safetensors)"
                )
        try:
            return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        except SafetensorError as error:
            raise OSError(
                f"the safetensors weights of {pretrained_model_name_or_path} are truncated or corrupted ({error}); "
                "download or save them again"
            ) from error
