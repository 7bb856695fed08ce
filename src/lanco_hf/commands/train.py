"""``lanco-hf train CONFIG [key=value ...] [--resume | --overwrite-output-dir] [--push-to-hub REPO_ID]``: CONFIG is a
YAML file or the name of a built-in config (``lanco-hf configs`` lists them); the run config's ``task`` (default
``translation``) picks the registered task (``lanco_hf.training.tasks``) that trains, evaluates, saves and reloads
the model, and writes ``results.json`` and the model card. The whole config is checked
before any data is read, and the run holds a lock on its ``output_dir`` (``lanco_hf.training.run_folder``)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from .parser import add_command, dataclasses_from


@dataclass
class TrainCommandArguments:
    resume: bool = field(default=False, metadata={"help": "Continue from the last complete checkpoint in output_dir."})
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Replace the run already in output_dir (its checkpoints are deleted)."}
    )
    push_to_hub: str | None = field(default=None, metadata={"help": "Upload the finished run to this Hub repo."})
    private: bool = field(default=False, metadata={"help": "With --push-to-hub: create a private repo."})


def tasks_epilog() -> str:
    from ..training.tasks import available_tasks

    return f"tasks (the run config's `task`, default translation): {', '.join(available_tasks())}"


def register(commands) -> None:
    parser = add_command(
        commands,
        "train",
        __doc__,
        "train, evaluate, save and reload a model from a YAML run config",
        (TrainCommandArguments,),
        epilog_factory=tasks_epilog,
    )
    parser.add_argument("config", help="a YAML run config, or the name of a built-in one (see `lanco-hf configs`)")
    parser.add_argument("overrides", nargs="*", help="key=value settings overriding the YAML (dotted keys nest)")
    parser.set_defaults(handler=train)


def train(args: argparse.Namespace) -> None:
    from ..data.progress import progress_bars
    from ..training.arguments import load_run_config, parse_run_config
    from ..training.cpu import keep_freed_memory_in_heap
    from ..training.preemption import exit_on_sigterm
    from ..training.run_folder import claim_run_folder, is_run_complete
    from ..training.tasks import get_task
    from .push import push

    (options,) = dataclasses_from(args, (TrainCommandArguments,))
    if options.resume and options.overwrite_output_dir:
        raise ValueError("--resume continues the run in output_dir and --overwrite-output-dir replaces it: pass one")
    config = load_run_config(args.config, args.overrides)
    name = config.pop("task", "translation")
    if not isinstance(name, str):
        raise ValueError(f"task={name!r} must be a task name")
    task = get_task(name)
    parsed = parse_run_config(config, task.arguments)  # every field checked, the model config built once
    if task.check is not None:
        task.check(*parsed)
    output_dir = next(arguments.output_dir for arguments in parsed if hasattr(arguments, "output_dir"))
    quiet = any(getattr(arguments, "disable_tqdm", False) for arguments in parsed)  # the data's progress bars too
    claim = claim_run_folder(output_dir, resume=options.resume, overwrite=options.overwrite_output_dir)
    with exit_on_sigterm(), progress_bars(enabled=not quiet), claim:
        if options.resume and is_run_complete(output_dir):
            print(f"{output_dir} holds a finished run: nothing to resume (pass --overwrite-output-dir to train again)")
        else:
            keep_freed_memory_in_heap()
            task.runner(*parsed, resume=options.resume)
    if options.push_to_hub:
        push(
            argparse.Namespace(
                run_dir=output_dir, repo_id=options.push_to_hub, private=options.private, allow_incomplete=False
            )
        )
