"""``lanco-hf evaluate totoro --dataset cora --split-seeds 0 1 2 3 4 [--output FILE]``: the Totoro topology
imbalance of a graph's labelled set over several splits (the node-classification task's data options)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

from ..training.node_classification import NodeClassificationDataArguments, load_graph, make_split

HELP = "Totoro topology imbalance of a graph's labelled set over several splits"


@dataclass
class TotoroArguments:
    split_seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4], metadata={"help": "Splits to measure."})
    output: str | None = field(default=None, metadata={"help": "Write the results to this JSON file."})


def run(data_args: NodeClassificationDataArguments, args: TotoroArguments) -> list[dict]:
    from ..evaluation.totoro import graph_totoro

    data = load_graph(data_args)
    masks = {seed: make_split(data, replace(data_args, split_seed=seed))[0] for seed in args.split_seeds}
    rows = graph_totoro(data, masks, alpha=data_args.pagerank_alpha, tol=data_args.pagerank_tol)
    print(f"Totoro of {data.description}, {data_args.split} split:")
    print("| split seed | labelled nodes | Totoro | time (s) |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['split_seed']} | {row['labelled_nodes']} | {row['totoro']:.4e} | {row['seconds']:.2f} |")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump({"dataset": data_args.dataset, "data": asdict(data_args), "splits": rows}, handle, indent=2)
        print(f"wrote {args.output}")
    return rows


ARGUMENTS = (NodeClassificationDataArguments, TotoroArguments)
