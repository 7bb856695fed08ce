"""``lanco-hf evaluate NAME [options]``: evaluate a saved model or a graph; ``lanco-hf evaluate NAME --help`` lists
the options of each evaluation.

Each evaluation is a module ``evaluate_NAME`` here with its ``HELP``, its argument dataclasses ``ARGUMENTS`` and
``run(*arguments)``; the metrics themselves are plain functions of ``lanco_hf.evaluation``."""

from __future__ import annotations

import argparse

from . import evaluate_openness, evaluate_retrieval, evaluate_totoro
from .parser import CommandParser, dataclasses_from

EVALUATIONS = {"openness": evaluate_openness, "retrieval": evaluate_retrieval, "totoro": evaluate_totoro}


def register(commands) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="evaluate a saved model or a graph",
        description=__doc__.split("\n\n")[0],
        epilog="evaluations: " + "; ".join(f"{name}: {module.HELP}" for name, module in EVALUATIONS.items()),
    )
    evaluations = parser.add_subparsers(dest="evaluation", required=True, metavar="NAME", parser_class=CommandParser)
    for name, module in EVALUATIONS.items():
        evaluations.add_parser(
            name, dataclass_types=module.ARGUMENTS, help=module.HELP, description=module.__doc__.split("\n\n")[0]
        ).set_defaults(handler=evaluate)


def evaluate(args: argparse.Namespace):
    module = EVALUATIONS[args.evaluation]
    return module.run(*dataclasses_from(args, module.ARGUMENTS))
