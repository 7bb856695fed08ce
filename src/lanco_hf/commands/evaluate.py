"""``lanco-hf evaluate NAME [options]``: evaluate a saved model or a graph; ``lanco-hf evaluate NAME --help`` lists
the options of each evaluation.

Each evaluation is a module ``evaluate_NAME`` here with its ``HELP``, its argument dataclasses ``ARGUMENTS`` and
``run(*arguments)``; the metrics themselves are plain functions of ``lanco_hf.evaluation``."""

from __future__ import annotations

import argparse

from . import evaluate_openness, evaluate_retrieval, evaluate_totoro
from .parser import CommandParser, add_command, dataclasses_from

EVALUATIONS = {"openness": evaluate_openness, "retrieval": evaluate_retrieval, "totoro": evaluate_totoro}


def register(commands) -> None:
    epilog = "evaluations: " + "; ".join(f"{name}: {module.HELP}" for name, module in EVALUATIONS.items())
    parser = add_command(commands, "evaluate", __doc__, "evaluate a saved model or a graph", epilog=epilog)
    evaluations = parser.add_subparsers(dest="evaluation", required=True, metavar="NAME", parser_class=CommandParser)
    for name, module in EVALUATIONS.items():
        add_command(evaluations, name, module.__doc__, module.HELP, module.ARGUMENTS).set_defaults(handler=evaluate)


def evaluate(args: argparse.Namespace):
    module = EVALUATIONS[args.evaluation]
    return module.run(*dataclasses_from(args, module.ARGUMENTS))
