"""``lanco-hf train CONFIG.yaml [key=value ...] [--resume] [--push-to-hub REPO_ID [--private]]``: the run config's
``task`` (default ``translation``) picks the registered task (``lanco_hf.training.tasks``) that trains, evaluates,
saves and reloads the model, and writes ``results.json`` and the model card."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from .parser import add_command, dataclasses_from


@dataclass
class TrainCommandArguments:
    resume: bool = field(default=False, metadata={"help": "Continue from the last complete checkpoint in output_dir."})
    push_to_hub: str | None = field(default=None, metadata={"help": "Upload the finished run to this Hub repo."})
    private: bool = field(default=False, metadata={"help": "With --push-to-hub: create a private repo."})


def tasks_epilog() -> str:
    from ..training.tasks import available_tasks

    return f"tasks (the run config's `task`, default translation): {', '.join(available_tasks())}"


def register(commands) -> None:
    parser = add_command(commands, "train", __doc__, "train, evaluate, save and reload a model from a YAML run config",
                         (TrainCommandArguments,), epilog_factory=tasks_epilog)
    parser.add_argument("config", help="YAML run config (see configs/)")
    parser.add_argument("overrides", nargs="*", help="key=value settings overriding the YAML (dotted keys nest)")
    parser.set_defaults(handler=train)


def train(args: argparse.Namespace) -> None:
    from ..training.arguments import load_run_config, parse_run_config
    from ..training.cpu import keep_freed_memory_in_heap
    from ..training.tasks import get_task
    from .push import push

    (options,) = dataclasses_from(args, (TrainCommandArguments,))
    config = load_run_config(args.config, args.overrides)
    task = get_task(config.pop("task", "translation"))
    keep_freed_memory_in_heap()
    parsed = parse_run_config(config, task.arguments)
    task.runner(*parsed, resume=options.resume)
    if options.push_to_hub:
        output_dir = next(arguments.output_dir for arguments in parsed if hasattr(arguments, "output_dir"))
        push(argparse.Namespace(run_dir=output_dir, repo_id=options.push_to_hub, private=options.private))
