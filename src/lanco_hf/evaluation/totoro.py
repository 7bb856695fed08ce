"""``lanco-hf evaluate totoro``: the topology imbalance (Totoro, Chen et al. NeurIPS 2021) of a graph's labelled
set over several splits: the mean influence conflict of the labelled nodes, per class and overall, with the time
the sparse computation took.

    lanco-hf evaluate totoro --dataset cora --split_seeds 0 1 2 3 4 --output totoro_cora.json
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace

from transformers import HfArgumentParser

from ..losses.renode import totoro
from ..training.node_classification import NodeClassificationDataArguments, load_graph, make_split


@dataclass
class TotoroArguments:
    split_seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4], metadata={"help": "Splits to measure."})
    output: str | None = field(default=None, metadata={"help": "Write the results to this JSON file."})


def graph_totoro(data, data_args: NodeClassificationDataArguments, split_seeds: list[int]) -> list[dict]:
    """Per split seed: the graph-level Totoro, the mean conflict of each class's labelled nodes and the seconds."""
    rows = []
    for seed in split_seeds:
        train_mask = make_split(data, replace(data_args, split_seed=seed))[0]
        started = time.perf_counter()
        conflict = totoro(
            data.edge_index,
            train_mask,
            data.y,
            num_classes=len(data.label_names),
            alpha=data_args.pagerank_alpha,
            tol=data_args.pagerank_tol,
        )
        seconds = time.perf_counter() - started
        per_class = {
            name: float(conflict[train_mask & (data.y == c)].mean()) for c, name in enumerate(data.label_names)
        }
        rows.append(
            {
                "split_seed": seed,
                "labelled_nodes": int(train_mask.sum()),
                "totoro": float(conflict[train_mask].mean()),
                "per_class": per_class,
                "seconds": seconds,
            }
        )
    return rows


def main(argv: list[str]) -> None:
    data_args, args = HfArgumentParser((NodeClassificationDataArguments, TotoroArguments)).parse_args_into_dataclasses(
        argv
    )
    data = load_graph(data_args)
    rows = graph_totoro(data, data_args, args.split_seeds)
    print(f"Totoro of {data.description}, {data_args.split} split:")
    print("| split seed | labelled nodes | Totoro | time (s) |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['split_seed']} | {row['labelled_nodes']} | {row['totoro']:.4e} | {row['seconds']:.2f} |")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump({"dataset": data_args.dataset, "data": data_args.__dict__, "splits": rows}, handle, indent=2)
        print(f"wrote {args.output}")
