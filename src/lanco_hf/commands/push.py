"""``lanco-hf push RUN_DIR [REPO_ID] [--space SPACE_ID] [--private] [--allow-incomplete]``: upload a finished run
folder (weights, config, remote code, tokenizer / processor, results.json and the model card re-rendered under the
repo's name) to the model repo ``REPO_ID`` in one commit (``lanco_hf.hub.push.files_to_upload`` says which files),
and with ``--space`` publish its live demo as a Gradio Space (``app.py``, ``requirements.txt``, the Space card)
that runs ``REPO_ID``, or without ``REPO_ID`` the run's model files uploaded into the Space."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from .parser import add_command, dataclasses_from


@dataclass
class PushCommandArguments:
    space: str | None = field(
        default=None,
        metadata={"help": "Also publish the run's live demo as this Gradio Space (USER/NAME; needs lanco-hf[demo])."},
    )
    space_requirement: str | None = field(
        default=None,
        metadata={
            "help": "The Space's requirements.txt line that installs lanco-hf (default: lanco-hf[demo]==VERSION from "
            "PyPI; e.g. a git+https:// URL of your copy)."
        },
    )
    private: bool = field(default=False, metadata={"help": "Create the repo (and the Space) private."})
    allow_incomplete: bool = field(
        default=False, metadata={"help": "Upload a run folder that lacks the completion marker of a finished run."}
    )


def register(commands) -> None:
    parser = add_command(
        commands,
        "push",
        __doc__,
        "upload a finished run folder to the Hugging Face Hub (a model repo, a demo Space, or both)",
        (PushCommandArguments,),
    )
    parser.add_argument("run_dir", help="the output_dir of a finished run")
    parser.add_argument("repo_id", nargs="?", help="the Hub model repo, e.g. USER/NAME (optional with --space)")
    parser.set_defaults(handler=push)


def push(args: argparse.Namespace) -> None:
    from ..hub.push import push_run

    (options,) = dataclasses_from(args, (PushCommandArguments,))
    if args.repo_id is None and options.space is None:
        raise ValueError("repo_id: give the model repo (USER/NAME), --space SPACE_ID for a demo Space, or both")
    if options.space is not None:  # what the Space needs (gradio, the task's app, lanco-hf) before any upload
        from ..hub.space import space_files

        space_files(Path(args.run_dir), options.space, args.repo_id, options.space_requirement)
    if args.repo_id is not None:
        print(push_run(args.run_dir, args.repo_id, private=options.private, allow_incomplete=options.allow_incomplete))
    if options.space is not None:
        from ..hub.space import push_space

        print(
            push_space(
                args.run_dir,
                options.space,
                model_repo=args.repo_id,
                requirement=options.space_requirement,
                private=options.private,
                allow_incomplete=options.allow_incomplete,
            )
        )
