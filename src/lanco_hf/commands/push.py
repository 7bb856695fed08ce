"""``lanco-hf push RUN_DIR REPO_ID [--private] [--allow-incomplete]``: upload a finished run folder (weights, config,
remote code, tokenizer / processor, results.json and the model card re-rendered under the repo's name) in one
commit; ``lanco_hf.hub.push.files_to_upload`` says which files."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from .parser import add_command, dataclasses_from


@dataclass
class PushCommandArguments:
    private: bool = field(default=False, metadata={"help": "Create the repo private."})
    allow_incomplete: bool = field(
        default=False, metadata={"help": "Upload a run folder that lacks the completion marker of a finished run."}
    )


def register(commands) -> None:
    parser = add_command(
        commands, "push", __doc__, "upload a finished run folder to the Hugging Face Hub", (PushCommandArguments,)
    )
    parser.add_argument("run_dir", help="the output_dir of a finished run")
    parser.add_argument("repo_id", help="the Hub repo, e.g. USER/NAME")
    parser.set_defaults(handler=push)


def push(args: argparse.Namespace) -> None:
    from ..hub.push import push_run

    (options,) = dataclasses_from(args, (PushCommandArguments,))
    print(push_run(args.run_dir, args.repo_id, private=options.private, allow_incomplete=options.allow_incomplete))
