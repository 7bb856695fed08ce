"""``lanco-hf configs``: the run configs that ship with lanco-hf, one line each (name and the first sentence of its
header comment). ``lanco-hf train NAME`` runs one; copy its file (the folder is printed last) to make your own."""

from __future__ import annotations

import argparse
import shutil
import sys

from .parser import add_command


def register(commands) -> None:
    parser = add_command(commands, "configs", __doc__, "list the built-in run configs with a one-line description")
    parser.set_defaults(handler=configs)


def configs(args: argparse.Namespace) -> None:
    from ..training.run_configs import CONFIG_DIR, builtin_configs, config_description

    available = builtin_configs()
    width = max(map(len, available))
    columns = shutil.get_terminal_size().columns if sys.stdout.isatty() else None  # a pipe gets whole lines
    for name, path in available.items():
        line = f"{name:<{width}}  {config_description(path)}"
        print(line if columns is None or len(line) <= columns else line[: columns - 1] + "…")
    print(f"\n{len(available)} configs in {CONFIG_DIR}; run one with `lanco-hf train NAME [key=value ...]`")
