"""``lanco-hf`` command line.

- ``lanco-hf train CONFIG.yaml [key=value ...] [--resume | --overwrite-output-dir]``: the run config's ``task``
  (default ``translation``) picks what is trained; see ``lanco_hf.training.tasks``. The whole config is checked
  before any data is read, and the run holds a lock on its ``output_dir`` (``lanco_hf.training.run_folder``).
- ``lanco-hf push RUN_DIR REPO_ID``: upload a finished run (weights, config, remote code, tokenizer, card);
  ``lanco_hf.hub.push.files_to_upload`` says which files.
- ``lanco-hf evaluate NAME [args ...]``: the evaluations in ``EVALUATIONS``; each parses its own arguments
  (``lanco-hf evaluate NAME --help``).

A user mistake (a bad setting, missing data, a busy or occupied run folder, a NaN loss) ends with one line on
stderr and exit status 2; ``--debug`` (or ``LANCO_HF_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# evaluation name -> "module:function"; the function takes the remaining command-line arguments (a list of str)
EVALUATIONS: dict[str, str] = {
    "openness": "lanco_hf.evaluation.openness_cli:main",
    "retrieval": "lanco_hf.evaluation.retrieval:main",
    "totoro": "lanco_hf.evaluation.totoro:main",
}


USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, FloatingPointError)


def _user_errors() -> tuple[type[BaseException], ...]:
    import yaml

    from .training.run_folder import RunFolderInUseError

    return (*USER_ERRORS, RunFolderInUseError, yaml.YAMLError)


def train(args: argparse.Namespace) -> None:
    from .training.arguments import load_run_config, parse_run_config
    from .training.cpu import keep_freed_memory_in_heap
    from .training.preemption import exit_on_sigterm
    from .training.run_folder import claim_run_folder, is_run_complete
    from .training.tasks import get_task

    if args.resume and args.overwrite_output_dir:
        raise ValueError("--resume continues the run in output_dir and --overwrite-output-dir replaces it: pass one")
    config = load_run_config(args.config, args.overrides)
    task = config.pop("task", "translation")
    if not isinstance(task, str):
        raise ValueError(f"task={task!r} must be a task name")
    runner, argument_types = get_task(task).load()
    parsed = parse_run_config(config, argument_types)  # every field checked, the model config built once
    output_dir = next(arguments.output_dir for arguments in parsed if hasattr(arguments, "output_dir"))
    with exit_on_sigterm(), claim_run_folder(output_dir, resume=args.resume, overwrite=args.overwrite_output_dir):
        if args.resume and is_run_complete(output_dir):
            print(f"{output_dir} holds a finished run: nothing to resume (pass --overwrite-output-dir to train again)")
        else:
            keep_freed_memory_in_heap()
            runner(*parsed, resume=args.resume)
    if args.push_to_hub:
        push(argparse.Namespace(run_dir=output_dir, repo_id=args.push_to_hub, private=args.private,
                                allow_incomplete=False))


def push(args: argparse.Namespace) -> None:
    from .hub.push import push_run

    print(push_run(args.run_dir, args.repo_id, private=args.private, allow_incomplete=args.allow_incomplete))


def evaluate(args: argparse.Namespace) -> None:
    module, _, function = EVALUATIONS[args.name].partition(":")
    getattr(importlib.import_module(module), function)(args.arguments)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lanco-hf", description="lanco-hf: train and evaluate the lanco methods")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (or LANCO_HF_DEBUG=1)")
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="train, evaluate, save and reload a model from a YAML run config")
    train_parser.add_argument("config", help="YAML file under configs/")
    train_parser.add_argument("overrides", nargs="*", help="key=value settings overriding the YAML (dotted keys nest)")
    train_parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in output_dir")
    train_parser.add_argument("--overwrite-output-dir", action="store_true",
                              help="replace the run already in output_dir (its checkpoints are deleted)")
    train_parser.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the finished run to this Hub repo")
    train_parser.add_argument("--private", action="store_true", help="with --push-to-hub: create a private repo")
    train_parser.set_defaults(handler=train)
    push_parser = commands.add_parser("push", help="upload a finished run folder to the Hugging Face Hub")
    push_parser.add_argument("run_dir")
    push_parser.add_argument("repo_id")
    push_parser.add_argument("--private", action="store_true")
    push_parser.add_argument("--allow-incomplete", action="store_true",
                             help="upload a run folder that lacks the completion marker of a finished run")
    push_parser.set_defaults(handler=push)
    evaluate_parser = commands.add_parser("evaluate", help="run an evaluation", add_help=False)
    evaluate_parser.add_argument("name", choices=sorted(EVALUATIONS), help="what to evaluate")
    evaluate_parser.add_argument("arguments", nargs=argparse.REMAINDER, help="arguments of that evaluation")
    evaluate_parser.set_defaults(handler=evaluate)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    import lanco_hf  # noqa: F401  (registers the architectures)

    if args.debug or os.environ.get("LANCO_HF_DEBUG", "").lower() in ("1", "true", "yes"):
        args.handler(args)
        return
    try:
        args.handler(args)
    except _user_errors() as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"lanco-hf {args.command}: error: {message} (--debug shows the traceback)", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
