"""The run configs that ship with lanco-hf (``lanco_hf/configs/*.yaml``, installed with the package), found by name:
``lanco-hf train explicit_sparse_bible`` runs the built-in config, ``lanco-hf train path/to/my.yaml`` a file of
one's own, and ``lanco-hf configs`` lists the built-in ones with the first sentence of each file's header comment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
# a full stop or semicolon before whitespace or the end, not after an abbreviation: where a sentence may end
_SENTENCE_END = re.compile(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)[.;](?=\s|$)")


def builtin_configs() -> dict[str, Path]:
    """``{name: path}`` of the built-in run configs, sorted by name."""
    return {path.stem: path for path in sorted(CONFIG_DIR.glob("*.yaml"))}


def config_description(path: str | os.PathLike) -> str:
    """The first sentence of the comment block a run config starts with (``""`` when it has none)."""
    lines = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            text = line.lstrip("#").strip()
            if text.startswith("lanco-hf "):  # a usage line, not the description
                break
            lines.append(text)
    header = " ".join(lines)
    for match in _SENTENCE_END.finditer(header):
        before = header[: match.start()]
        if before.count("(") == before.count(")"):  # not inside parentheses
            return before + "." if match.group() == "." else before
    return header


def resolve_run_config(config: str | os.PathLike) -> Path:
    """The YAML file ``config`` names: an existing file, else the built-in config of that name (``"muse_bible"`` or
    ``"muse_bible.yaml"``). Raises ``FileNotFoundError`` listing the built-in names otherwise."""
    path = Path(config)
    if path.is_file():
        return path
    builtin = builtin_configs()
    name = path.name.removesuffix(".yaml").removesuffix(".yml")
    if path.parent == Path(".") and name in builtin:
        return builtin[name]
    raise FileNotFoundError(
        f"config={str(config)!r} is neither a YAML file nor a built-in config; built-in configs: "
        f"{', '.join(builtin)} (`lanco-hf configs` describes them)"
    )


__all__ = ["CONFIG_DIR", "builtin_configs", "config_description", "resolve_run_config"]
