"""The one argument-parser style of every ``lanco-hf`` command: transformers' ``HfArgumentParser`` (options from
argument dataclasses, defaults in ``--help``), shown with dashed flags only (``--split-seeds``; the underscore
spelling is still accepted), and a help epilog that may be computed when help is asked for (the task list)."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

from transformers import HfArgumentParser


class CommandParser(HfArgumentParser):
    """``HfArgumentParser`` that lists each option once, dashed, and computes ``epilog_factory()`` for ``--help``."""

    def __init__(self, dataclass_types=None, *, epilog_factory: Callable[[], str] | None = None, **kwargs):
        self.epilog_factory = epilog_factory
        if kwargs.get("description"):
            # docstring markup reads badly in a terminal
            kwargs["description"] = kwargs["description"].replace("``", "")
        super().__init__(dataclass_types, **kwargs)
        for action in self._actions:
            dashed = [option for option in action.option_strings if "_" not in option.lstrip("-")]
            if dashed and len(dashed) < len(action.option_strings):
                action.option_strings = dashed  # argparse still maps the underscore spelling to the action
            if action.nargs == "?" and action.const is True and action.default is False:
                # an off-by-default switch takes no value, so `lanco-hf --debug train ...` does not read "train"
                # as the flag's value (HfArgumentParser lets a bool flag take an optional yes / no)
                action.__class__, action.nargs, action.type = argparse._StoreConstAction, 0, None

    def format_help(self) -> str:
        if self.epilog_factory is not None:
            self.epilog = self.epilog_factory()
        return super().format_help()


def add_command(subparsers, name: str, doc: str, help: str, dataclass_types=(), **kwargs) -> CommandParser:
    """A sub-command ``name`` whose description is the first paragraph of its module's ``doc``."""
    return subparsers.add_parser(
        name, dataclass_types=dataclass_types, help=help, description=doc.split("\n\n")[0], **kwargs
    )


def dataclasses_from(namespace: argparse.Namespace, dataclass_types) -> tuple:
    """The dataclasses of ``dataclass_types`` filled from a parsed ``namespace`` (their ``__post_init__`` checks
    run)."""
    return tuple(
        dtype(**{field.name: getattr(namespace, field.name) for field in dataclasses.fields(dtype) if field.init})
        for dtype in dataclass_types
    )
