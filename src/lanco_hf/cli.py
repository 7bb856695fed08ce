"""``lanco-hf`` command line.

- ``lanco-hf train CONFIG.yaml [key=value ...] [--resume]``: the run config's ``task`` (default
  ``translation``) picks what is trained; see ``lanco_hf.training.tasks``.
- ``lanco-hf push RUN_DIR REPO_ID``: upload a finished run (weights, config, remote code, tokenizer, card).
- ``lanco-hf evaluate NAME [args ...]``: the evaluations in ``EVALUATIONS``; each parses its own arguments
  (``lanco-hf evaluate NAME --help``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# evaluation name -> "module:function"; the function takes the remaining command-line arguments (a list of str)
EVALUATIONS: dict[str, str] = {
    "openness": "lanco_hf.evaluation.openness_cli:main",
    "retrieval": "lanco_hf.evaluation.retrieval:main",
    "totoro": "lanco_hf.evaluation.totoro:main",
}


def train(args: argparse.Namespace) -> None:
    from .training.arguments import load_run_config, parse_run_config
    from .training.cpu import keep_freed_memory_in_heap
    from .training.tasks import get_task

    config = load_run_config(args.config, args.overrides)
    task = get_task(config.pop("task", "translation"))
    keep_freed_memory_in_heap()
    parsed = parse_run_config(config, task.arguments)
    task.runner(*parsed, resume=args.resume)
    if args.push_to_hub:
        output_dir = next(arguments.output_dir for arguments in parsed if hasattr(arguments, "output_dir"))
        push(argparse.Namespace(run_dir=output_dir, repo_id=args.push_to_hub, private=args.private))


def push(args: argparse.Namespace) -> None:
    from .hub.push import push_run

    print(push_run(args.run_dir, args.repo_id, private=args.private))


def evaluate(args: argparse.Namespace) -> None:
    module, _, function = EVALUATIONS[args.name].partition(":")
    getattr(importlib.import_module(module), function)(args.arguments)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lanco-hf", description="lanco-hf: train and evaluate the lanco methods")
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="train, evaluate, save and reload a model from a YAML run config")
    train_parser.add_argument("config", help="YAML file under configs/")
    train_parser.add_argument("overrides", nargs="*", help="key=value settings overriding the YAML (dotted keys nest)")
    train_parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in output_dir")
    train_parser.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the finished run to this Hub repo")
    train_parser.add_argument("--private", action="store_true", help="with --push-to-hub: create a private repo")
    train_parser.set_defaults(handler=train)
    push_parser = commands.add_parser("push", help="upload a finished run folder to the Hugging Face Hub")
    push_parser.add_argument("run_dir")
    push_parser.add_argument("repo_id")
    push_parser.add_argument("--private", action="store_true")
    push_parser.set_defaults(handler=push)
    evaluate_parser = commands.add_parser("evaluate", help="run an evaluation", add_help=False)
    evaluate_parser.add_argument("name", choices=sorted(EVALUATIONS), help="what to evaluate")
    evaluate_parser.add_argument("arguments", nargs=argparse.REMAINDER, help="arguments of that evaluation")
    evaluate_parser.set_defaults(handler=evaluate)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    import lanco_hf  # noqa: F401  (registers the architectures)

    args.handler(args)


if __name__ == "__main__":
    main()
