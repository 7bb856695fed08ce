"""``lanco-hf demo RUN_DIR_OR_REPO [--task TASK] [--port 7860] [--server-name 127.0.0.1] [--share]``: a live Gradio
app of a run folder or a Hub model repo for the task of its model card (translation with the encoder-decoder
attention heat-maps, text classification with the label scores and the learned label graph, zero-shot image
classification with candidate labels). Needs the ``[demo]`` extra."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from ..demo import DEMO_TASKS
from ..modeling.validation import check_choice, check_int
from .parser import add_command, dataclasses_from


@dataclass
class DemoCommandArguments:
    task: str | None = field(
        default=None,
        metadata={"help": f"The app: {', '.join(DEMO_TASKS)} (default: the model card's pipeline_tag)."},
    )
    port: int = field(default=7860, metadata={"help": "The port to serve on."})
    server_name: str = field(
        default="127.0.0.1", metadata={"help": "The address to listen on (0.0.0.0: every interface)."}
    )
    share: bool = field(default=False, metadata={"help": "Also open a public gradio.live link."})

    def __post_init__(self):
        if self.task is not None:
            check_choice("task", self.task, DEMO_TASKS)
        check_int("port", self.port, minimum=1, maximum=65535)
        if not self.server_name:
            raise ValueError("server_name: give an address to listen on, e.g. 127.0.0.1 or 0.0.0.0")


def register(commands) -> None:
    parser = add_command(
        commands, "demo", __doc__, "serve a live Gradio demo of a run folder or a Hub repo", (DemoCommandArguments,)
    )
    parser.add_argument("model", metavar="RUN_DIR_OR_REPO", help="a run folder or a Hub model repo id (USER/NAME)")
    parser.set_defaults(handler=demo)


def demo(args: argparse.Namespace) -> None:
    from ..demo import load_demo

    (options,) = dataclasses_from(args, (DemoCommandArguments,))
    app = load_demo(args.model, task=options.task)
    print(f"lanco-hf demo: {app.task} app of {app.folder}")
    app.blocks().launch(server_name=options.server_name, server_port=options.port, share=options.share)
