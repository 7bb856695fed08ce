"""The ``lanco-hf`` command line. Every command lives in its own module here, with its options in an argument
dataclass parsed by :class:`~lanco_hf.commands.parser.CommandParser` (transformers' ``HfArgumentParser``, dashed
flags); the library modules below (``training``, ``evaluation``, ``hub``) parse no arguments.

- ``lanco-hf train CONFIG.yaml [key=value ...] [--resume] [--push-to-hub REPO_ID]``
- ``lanco-hf push RUN_DIR REPO_ID [--private]``
- ``lanco-hf evaluate {openness,retrieval,totoro} [options]``

``lanco-hf COMMAND --help`` (and ``lanco-hf evaluate NAME --help``) lists each command's options."""

from __future__ import annotations

import logging
import sys

from . import evaluate, push, train
from .parser import CommandParser


def build_parser() -> CommandParser:
    parser = CommandParser(
        prog="lanco-hf",
        description="lanco-hf: train, evaluate and publish the lanco methods as Hugging Face models",
        epilog_factory=lambda: f"{train.tasks_epilog()}; evaluations: {', '.join(evaluate.EVALUATIONS)}",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)
    train.register(commands)
    push.register(commands)
    evaluate.register(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    import lanco_hf  # noqa: F401  (registers the architectures)

    args.handler(args)


__all__ = ["build_parser", "main"]
