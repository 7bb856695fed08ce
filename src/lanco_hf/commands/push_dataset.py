"""``lanco-hf push-dataset NAME REPO_ID [--private]``: build the lanco-hf corpus ``NAME``
(``lanco_hf.data.load_corpus``) and publish it as a Hub dataset: Parquet shards that ``datasets.load_dataset(REPO_ID)``
reads, and a dataset card with its source, licence, split sizes and features."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from .parser import add_command, dataclasses_from


@dataclass
class PushDatasetCommandArguments:
    private: bool = field(default=False, metadata={"help": "Create the dataset repo private."})
    max_shard_size: str = field(default="500MB", metadata={"help": "The largest Parquet shard, e.g. 500MB."})


def register(commands) -> None:
    from ..data.corpora import CORPORA

    parser = add_command(
        commands,
        "push-dataset",
        __doc__,
        "publish a lanco-hf corpus as a Hugging Face Hub dataset",
        (PushDatasetCommandArguments,),
    )
    parser.add_argument("name", help=f"the corpus: {', '.join(sorted(CORPORA))}")
    parser.add_argument("repo_id", help="the Hub dataset repo, e.g. USER/NAME")
    parser.set_defaults(handler=push_dataset)


def push_dataset(args: argparse.Namespace) -> None:
    from ..data.corpora import get_corpus
    from ..hub.datasets import push_corpus

    (options,) = dataclasses_from(args, (PushDatasetCommandArguments,))
    get_corpus(args.name)  # an unknown name fails before anything is built
    print(push_corpus(args.name, args.repo_id, private=options.private, max_shard_size=options.max_shard_size))
