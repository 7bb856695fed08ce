"""The ``lanco-hf`` command line. Every command lives in its own module here, with its options in an argument
dataclass parsed by :class:`~lanco_hf.commands.parser.CommandParser` (transformers' ``HfArgumentParser``, dashed
flags); the library modules below (``training``, ``evaluation``, ``hub``) parse no arguments.

- ``lanco-hf train CONFIG [key=value ...] [--resume] [--push-to-hub REPO_ID]`` (CONFIG: a YAML file or a built-in name)
- ``lanco-hf configs``
- ``lanco-hf push RUN_DIR [REPO_ID] [--space SPACE_ID] [--private]``
- ``lanco-hf push-dataset NAME REPO_ID [--private]``
- ``lanco-hf evaluate {openness,retrieval,totoro} [options]``
- ``lanco-hf demo RUN_DIR_OR_REPO [--port PORT] [--share]``

``lanco-hf COMMAND --help`` (and ``lanco-hf evaluate NAME --help``) lists each command's options.

A user mistake (a bad setting, missing data, a busy or occupied run folder, a NaN loss) ends with one line on stderr
and exit status 2; ``--debug`` (or ``LANCO_HF_DEBUG=1``) shows the traceback instead."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field

from . import configs, demo, evaluate, push, push_dataset, train
from .parser import CommandParser, dataclasses_from

USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, FloatingPointError)


@dataclass
class GlobalArguments:
    debug: bool = field(default=False, metadata={"help": "Show the traceback of an error (or LANCO_HF_DEBUG=1)."})


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a user's mistake raises: reported in one line, without a traceback."""
    import yaml

    from ..training.run_folder import RunFolderInUseError

    return (*USER_ERRORS, RunFolderInUseError, yaml.YAMLError)


def build_parser() -> CommandParser:
    parser = CommandParser(
        (GlobalArguments,),
        prog="lanco-hf",
        description="lanco-hf: train, evaluate and publish the lanco methods as Hugging Face models",
        epilog_factory=lambda: f"{train.tasks_epilog()}; evaluations: {', '.join(evaluate.EVALUATIONS)}",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)
    train.register(commands)
    configs.register(commands)
    push.register(commands)
    push_dataset.register(commands)
    evaluate.register(commands)
    demo.register(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    (options,) = dataclasses_from(args, (GlobalArguments,))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    import lanco_hf  # noqa: F401  (registers the architectures)

    if options.debug or os.environ.get("LANCO_HF_DEBUG", "").lower() in ("1", "true", "yes"):
        args.handler(args)
        return
    try:
        args.handler(args)
    except user_errors() as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"lanco-hf {args.command}: error: {message} (--debug shows the traceback)", file=sys.stderr)
        raise SystemExit(2) from None


__all__ = ["build_parser", "main"]
