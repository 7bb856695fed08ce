"""Shared pieces of the ReNode replications (``renode_cora``, ``renode_debian``): the paper's protocol (splits x
initialisation seeds, GCN with and without ReNode, optionally with quantity-imbalance losses), the time and peak
memory of the weight computation measured in fresh processes, and the JSON / Markdown / PNG result files."""

from __future__ import annotations

import json
import multiprocessing
import statistics
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import AutoConfig, AutoModel, set_seed

from lanco_hf.graph import personalized_pagerank, totoro
from lanco_hf.losses.renode import renode_weights
from lanco_hf.training.node_classification import (
    NodeClassificationDataArguments,
    NodeTrainingArguments,
    compute_renode_weights,
    f1_scores,
    load_graph,
    make_split,
    train_node_classifier,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
WEIGHT_METHODS = {
    "sparse": "lanco_hf.totoro + renode_weights (two C-column power iterations, scipy.sparse)",
    "sparse_rows": "personalized_pagerank rows of the |L| train nodes (|L|-column power iteration), then Totoro",
    "dense": "dense inverse of the N x N matrix (the official code), float64",
}


def run_protocol(
    data,
    data_args: NodeClassificationDataArguments,
    settings: list[dict],
    split_seeds: list[int],
    init_seeds: list[int],
    training_args: NodeTrainingArguments,
    model_config: dict,
) -> list[dict]:
    """One row per (split seed, setting, init seed) with the test Weighted-F1 / Macro-F1. A setting is
    ``{"name", "loss_type", "renode"}``; the ReNode weights are computed once per split."""
    rows = []
    device = torch.device("cpu" if training_args.use_cpu or not torch.cuda.is_available() else "cuda")
    data = data.to(device)
    progress = tqdm(total=len(split_seeds) * len(settings) * len(init_seeds), desc="training", unit="run")
    for split_seed in split_seeds:
        split_args = replace(data_args, split_seed=split_seed)
        train_mask, valid_mask, test_mask = (mask.to(device) for mask in make_split(data, split_args))
        conflict, weights = compute_renode_weights(data, train_mask, split_args)
        for setting in settings:
            for init_seed in init_seeds:
                set_seed(init_seed)
                config = AutoConfig.for_model(
                    "renode_gcn",
                    num_features=data.num_features,
                    num_labels=len(data.label_names),
                    **{**model_config, "loss_type": setting["loss_type"]},
                )
                model = AutoModel.from_config(config).to(device)
                started = time.monotonic()
                result = train_node_classifier(
                    model, data, train_mask, valid_mask, weights if setting["renode"] else None, training_args
                )
                rows.append(
                    {
                        "setting": setting["name"],
                        "loss_type": setting["loss_type"],
                        "renode": setting["renode"],
                        "split_seed": split_seed,
                        "init_seed": init_seed,
                        "best_epoch": result["best_epoch"],
                        "epochs_run": result["epochs_run"],
                        "train_s": time.monotonic() - started,
                        "totoro": float(conflict[train_mask].mean()),
                        **f1_scores(model, data, test_mask),
                    }
                )
                progress.update()
    progress.close()
    return rows


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and population standard deviation (``np.std``, what the official code reports)."""
    return statistics.fmean(values), statistics.pstdev(values)


def summarize(rows: list[dict], settings: list[dict]) -> list[dict]:
    """Mean ± std of the test scores (in %) per setting, over every split x init seed."""
    summary = []
    for setting in settings:
        selected = [row for row in rows if row["setting"] == setting["name"]]
        entry = {
            "setting": setting["name"],
            "loss_type": setting["loss_type"],
            "renode": setting["renode"],
            "runs": len(selected),
        }
        for metric in ("weighted_f1", "macro_f1"):
            mean, std = mean_std([100 * row[metric] for row in selected])
            entry[metric] = {"mean": mean, "std": std}
        summary.append(entry)
    return summary


def _measure(queue, data_args: dict, method: str) -> None:
    """In a fresh process: build the graph and split, then time ``method`` and sample its resident memory."""
    import psutil

    args = NodeClassificationDataArguments(**data_args)
    data = load_graph(args)
    train_mask = make_split(data, args)[0]
    num_classes = len(data.label_names)
    process = psutil.Process()
    start_rss = process.memory_info().rss
    peak = [start_rss]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    if method == "sparse_rows":
        ppr = personalized_pagerank(
            data.edge_index,
            data.num_nodes,
            train_mask.nonzero().flatten(),
            alpha=args.pagerank_alpha,
            tol=args.pagerank_tol,
        )
        conflict = totoro(data.edge_index, train_mask, data.y, num_classes=num_classes, ppr=ppr)
    else:
        conflict = totoro(
            data.edge_index,
            train_mask,
            data.y,
            num_classes=num_classes,
            alpha=args.pagerank_alpha,
            tol=args.pagerank_tol,
            dense=method == "dense",
        )
    weights = renode_weights(
        data.edge_index,
        train_mask,
        data.y,
        num_classes=num_classes,
        conflict=conflict,
        w_min=args.renode_w_min,
        w_max=args.renode_w_max,
    )
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    queue.put(
        {
            "method": method,
            "seconds": seconds,
            "peak_extra_mib": (peak[0] - start_rss) / 2**20,
            "num_nodes": data.num_nodes,
            "num_edges": int(data.edge_index.shape[1]),
            "num_labelled": int(train_mask.sum()),
            "conflict": conflict[train_mask].tolist(),
            "weights": weights[train_mask].tolist(),
        }
    )


def measure_weight_cost(data_args: NodeClassificationDataArguments, method: str, num_nodes: int) -> dict:
    """Time and peak extra resident memory of one weight computation, in a fresh process; the dense method is
    skipped (with the reason) when two N x N float64 matrices do not fit in the available memory."""
    import psutil

    if method == "dense":
        needed = 2 * num_nodes**2 * 8
        available = psutil.virtual_memory().available
        if needed > 0.8 * available:
            return {
                "method": method,
                "skipped": f"needs about {needed / 2**30:.1f} GiB for two {num_nodes} x {num_nodes} "
                f"float64 matrices; {available / 2**30:.1f} GiB available",
            }
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(queue, asdict(data_args), method))
    process.start()
    result = queue.get()
    process.join()
    return result


def agreement(sparse: dict, dense: dict) -> dict:
    """How far the sparse conflicts / weights are from the dense ones: the largest conflict difference relative to
    the largest conflict, the share of identical weights, and whether every difference is within a group of nodes
    whose dense conflicts tie (to 1e-9 relative), whose order rounding decides."""
    sparse_conflict, dense_conflict = torch.tensor(sparse["conflict"]), torch.tensor(dense["conflict"])
    sparse_weights, dense_weights = torch.tensor(sparse["weights"]), torch.tensor(dense["weights"])
    scale = float(dense_conflict.abs().max())
    ties_only = all(
        sorted(sparse_weights[group].tolist()) == sorted(dense_weights[group].tolist())
        for group in ((dense_conflict - value).abs() <= 1e-9 * scale for value in dense_conflict)
    )
    return {
        "max_conflict_difference_relative": float((sparse_conflict - dense_conflict).abs().max()) / scale,
        "identical_weights_share": float((sparse_weights == dense_weights).float().mean()),
        "differences_only_within_exact_ties": ties_only,
    }


def cost_table(costs: list[dict]) -> str:
    lines = [
        "| graph | method | nodes | edges (directed) | labelled | time (s) | peak extra memory (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for cost in costs:
        if "skipped" in cost:
            lines.append(f"| {cost['graph']} | {cost['method']} | | | | skipped | {cost['skipped']} |")
        else:
            lines.append(
                f"| {cost['graph']} | {cost['method']} | {cost['num_nodes']:,} | {cost['num_edges']:,} | "
                f"{cost['num_labelled']} | {cost['seconds']:.2f} | {cost['peak_extra_mib']:.0f} |"
            )
    return "\n".join(lines)


def score_table(summary: list[dict]) -> str:
    lines = ["| setting | per-node loss | ReNode | runs | Weighted-F1 | Macro-F1 |", "|---|---|---|---|---|---|"]
    for entry in summary:
        w, m = entry["weighted_f1"], entry["macro_f1"]
        lines.append(
            f"| {entry['setting']} | {entry['loss_type']} | {'yes' if entry['renode'] else 'no'} | {entry['runs']} | "
            f"{w['mean']:.1f} ± {w['std']:.1f} | {m['mean']:.1f} ± {m['std']:.1f} |"
        )
    return "\n".join(lines)


def renode_deltas(summary: list[dict]) -> list[dict]:
    """ReNode minus baseline for every per-node loss run both ways."""
    by_key = {(entry["loss_type"], entry["renode"]): entry for entry in summary}
    deltas = []
    for (loss_type, renode), entry in by_key.items():
        if renode and (loss_type, False) in by_key:
            base = by_key[(loss_type, False)]
            deltas.append(
                {
                    "loss_type": loss_type,
                    **{metric: entry[metric]["mean"] - base[metric]["mean"] for metric in ("weighted_f1", "macro_f1")},
                }
            )
    return deltas


def plot_scores(summary: list[dict], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(max(5, 1.2 * len(summary)), 3.5))
    positions = range(len(summary))
    for offset, metric, label in ((-0.2, "weighted_f1", "Weighted-F1"), (0.2, "macro_f1", "Macro-F1")):
        axis.bar(
            [p + offset for p in positions],
            [e[metric]["mean"] for e in summary],
            width=0.4,
            yerr=[e[metric]["std"] for e in summary],
            capsize=3,
            label=label,
        )
    axis.set_xticks(list(positions), [e["setting"] for e in summary], rotation=20, ha="right")
    low = min(min(e[m]["mean"] - e[m]["std"] for e in summary) for m in ("weighted_f1", "macro_f1"))
    axis.set_ylim(max(0, low - 5), None)
    axis.set_ylabel("test score (%)")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_results(name: str, payload: dict, markdown: str, quick: bool) -> Path:
    """``benchmarks/results/<name>.json`` / ``.md`` (``<name>_quick.*`` in quick mode); returns the stem path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = RESULTS_DIR / (f"{name}_quick" if quick else name)
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown)
    print(markdown)
    print(f"wrote {stem}.json and {stem}.md")
    return stem
