"""Label graph + soft training (Zhao et al., NAACL 2019) replicated on the debtags corpus (Debian package
descriptions -> 24 correlated tags): the paper's four configurations (baseline BCE, + label graph, + soft training,
+ both), each with a small BERT trained from scratch and with the pretrained MiniLM-L6, over several seeds; test
one-error / Hamming loss / macro-F1 / micro-F1 (mean ± std) next to the paper's numbers, and a heat-map of the
learned label graphs against the empirical label co-occurrence.

Every run is a ``lanco-hf train`` of ``configs/label_graph_debtags[_minilm]_<row>.yaml`` with ``seed=<s>``.

    python -m benchmarks.label_graph_debtags            # 4 rows x 2 backbones x 3 seeds (one thread: 30 min scratch, 80 min MiniLM)
    python -m benchmarks.label_graph_debtags --quick    # smoke run: 1 seed, 128 / 64 / 64 texts, 2-4 steps

Writes benchmarks/results/label_graph_debtags.{json,md,png} (label_graph_debtags_quick.* with --quick); the runs
themselves go to runs/benchmarks/label_graph_debtags[_quick]/ (weights deleted unless --keep-models). A finished
run is reused when its config and settings are unchanged, so ``--backbones scratch`` and ``--backbones minilm`` can
run side by side (``OMP_NUM_THREADS=1`` each); a last call with both writes the whole table from the reused runs.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np

from .replication import mean_std, runs_dir, train, write_results

ROWS = {
    "baseline": "baseline (BCE)",
    "graph": "+ label graph",
    "soft": "+ soft training (G fixed at the co-occurrence)",  # with G = I the soft target y G would equal y
    "graph_soft": "+ label graph + soft training",
}
BACKBONES = {"scratch": "label_graph_debtags_{row}.yaml", "minilm": "label_graph_debtags_minilm_{row}.yaml"}
BACKBONE_NAMES = {"scratch": "small BERT from scratch", "minilm": "MiniLM-L6 (pretrained)"}
QUICK_DATA = ["max_train_samples=128", "max_validation_samples=64", "max_test_samples=64", "max_length=32"]
QUICK = {
    "scratch": [*QUICK_DATA, "max_steps=4"],
    "minilm": [*QUICK_DATA, "max_steps=2", "per_device_train_batch_size=16"],
}
METRICS = ("one_error", "hamming_loss", "macro_f1", "micro_f1", "coverage", "ranking_loss")
PERCENT = {"one_error", "macro_f1", "micro_f1"}  # reported in % like the paper; the others as fractions / ranks
# Paper, Table 2 (RMSC: Chinese album reviews, 22 styles; HAN encoder); only these two rows are in the reference
PAPER = [
    {"system": "paper: LSTM baseline (RMSC)", "one_error": 30.5, "hamming_loss": 0.089, "macro_f1": 33.0, "micro_f1": 53.9},
    {"system": "paper: HAN + label graph + soft training (RMSC)", "one_error": 22.6, "hamming_loss": 0.074,
     "macro_f1": 54.4, "micro_f1": 64.5},
]


def run_one(backbone: str, row: str, seed: int, folder: Path, quick: bool, keep_model: bool) -> dict:
    """One ``lanco-hf train`` run (reused when already run with these settings); returns its ``results.json`` plus
    the run's identity."""
    output_dir = folder / f"{backbone}_{row}_seed{seed}"
    config = f"configs/{BACKBONES[backbone].format(row=row)}"
    results = train(config, output_dir, [f"seed={seed}", "disable_tqdm=true", *(QUICK[backbone] if quick else [])])
    if not keep_model:
        (output_dir / "model.safetensors").unlink(missing_ok=True)
    return {"backbone": backbone, "row": row, "seed": seed, **results}


def scale(metric: str, value: float) -> float:
    return 100 * value if metric in PERCENT else value


def summarize(runs: list[dict]) -> list[dict]:
    """Mean ± std over seeds of every test metric (one-error / F1 in %), per backbone and row."""
    summary = []
    for backbone in BACKBONES:
        for row in ROWS:
            selected = [run for run in runs if run["backbone"] == backbone and run["row"] == row]
            if not selected:
                continue
            entry = {"backbone": backbone, "row": row, "runs": len(selected),
                     "threshold": statistics.mean(run["threshold"] for run in selected),
                     "train_runtime_s": statistics.mean(run["train_runtime_s"] for run in selected)}
            for metric in METRICS:
                mean, std = mean_std([scale(metric, run["test"][metric]) for run in selected])
                entry[metric] = {"mean": mean, "std": std}
            summary.append(entry)
    return summary


def off_diagonal_correlation(graph: np.ndarray, reference: np.ndarray) -> float:
    """Pearson correlation of the off-diagonal entries of two label graphs (nan when one of them is constant)."""
    mask = ~np.eye(len(graph), dtype=bool)
    a, b = graph[mask], reference[mask]
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def graph_statistics(runs: list[dict]) -> list[dict]:
    """For each run that learns the graph: how far it moved from the identity and how its off-diagonal mass matches
    the training labels' co-occurrence graph."""
    statistics_ = []
    for run in runs:
        if run["row"] not in ("graph", "graph_soft"):
            continue
        graph, cooccurrence = np.array(run["label_graph"]), np.array(run["train_cooccurrence_graph"])
        statistics_.append({
            "backbone": run["backbone"], "row": run["row"], "seed": run["seed"],
            "mean_diagonal": float(np.diag(graph).mean()),
            "max_off_diagonal": float((graph - np.diag(np.diag(graph))).max()),
            "off_diagonal_correlation_with_cooccurrence": off_diagonal_correlation(graph, cooccurrence),
        })
    return statistics_


def plot_graphs(runs: list[dict], path: Path) -> None:
    """Heat-maps: the empirical co-occurrence graph of the training labels, then the learned G of the first seed of
    each backbone's full method, diagonals masked (they dominate) so the off-diagonal support is visible."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = {}
    for run in runs:
        if run["row"] == "graph_soft" and run["backbone"] not in first:
            first[run["backbone"]] = run
    reference = next(iter(first.values()))
    names = reference["label_names"]
    panels = [("empirical co-occurrence P(row | column), train", np.array(reference["train_cooccurrence_graph"]))]
    panels += [(f"learned G, {BACKBONE_NAMES[b]}, seed {r['seed']}", np.array(r["label_graph"])) for b, r in first.items()]
    figure, axes = plt.subplots(1, len(panels), figsize=(7.5 * len(panels), 7.5))
    for axis, (title, graph) in zip(np.atleast_1d(axes), panels):
        shown = np.ma.masked_array(graph, mask=np.eye(len(graph), dtype=bool))
        image = axis.imshow(shown, cmap="viridis")
        axis.set_title(f"{title}\n(diagonal masked; mean diagonal {np.diag(graph).mean():.2f})", fontsize=10)
        axis.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        axis.set_yticks(range(len(names)), names, fontsize=7)
        axis.set_xlabel("supported label j")
        axis.set_ylabel("supporting label i")
        figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def fmt(entry: dict, metric: str) -> str:
    digits = 4 if metric in ("hamming_loss", "ranking_loss") else 2
    return f"{entry[metric]['mean']:.{digits}f} ± {entry[metric]['std']:.{digits}f}"


def markdown_report(summary: list[dict], graphs: list[dict], runs: list[dict], seeds: list[int], quick: bool) -> str:
    first = runs[0]
    header = "| system | one-error ↓ (%) | Hamming ↓ | macro-F1 (%) | micro-F1 (%) | coverage ↓ | ranking loss ↓ | threshold | train time / run (s) |"
    lines = [header, "|" + "---|" * 9]
    for paper in PAPER:
        lines.append(f"| {paper['system']} | {paper['one_error']} | {paper['hamming_loss']} | {paper['macro_f1']} | "
                     f"{paper['micro_f1']} | | | 0.2 | |")
    for entry in summary:
        lines.append(f"| {BACKBONE_NAMES[entry['backbone']]}: {ROWS[entry['row']]} | " + " | ".join(
            fmt(entry, metric) for metric in METRICS) + f" | {entry['threshold']:.2f} | {entry['train_runtime_s']:.0f} |")
    graph_lines = ["| backbone | row | seed | mean diagonal of G | largest off-diagonal | corr(off-diagonal G, co-occurrence) |",
                   "|---|---|---|---|---|---|"]
    for g in graphs:
        graph_lines.append(f"| {BACKBONE_NAMES[g['backbone']]} | {ROWS[g['row']]} | {g['seed']} | {g['mean_diagonal']:.3f} | "
                           f"{g['max_off_diagonal']:.3f} | {g['off_diagonal_correlation_with_cooccurrence']:.3f} |")
    total = sum(run["train_runtime_s"] for run in runs) / 60
    return "\n\n".join([
        f"# Label graph + soft training on debtags{' (quick smoke run: not a result)' if quick else ''}",
        f"Debian package descriptions -> {len(first['label_names'])} debtags of six topical facets "
        f"({first['train_size']:,} training texts; {first['test']['size']:,} test texts). Test metrics, mean ± std over "
        f"seeds {seeds}; the decision threshold of each run is tuned on the validation micro-F1. The paper's numbers are "
        "on its own data (Chinese album reviews, 22 music styles, HAN encoder, threshold 0.2) and are not comparable "
        "in absolute terms: compare the direction of the changes.",
        "\n".join(lines),
        "## Learned label graphs",
        "\n".join(graph_lines),
        "Heat-map: `label_graph_debtags" + ("_quick" if quick else "") + ".png` (co-occurrence vs learned G).",
        f"Total training time {total:.1f} min.",
    ]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 128 training texts, 2-4 steps per run")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per configuration (default 3)")
    parser.add_argument("--backbones", nargs="+", choices=list(BACKBONES), default=list(BACKBONES))
    parser.add_argument("--keep-models", action="store_true", help="keep every run's weights")
    args = parser.parse_args(argv)
    seeds = [0] if args.quick else list(range(args.seeds))
    folder = runs_dir("label_graph_debtags", args.quick)
    runs = [run_one(backbone, row, seed, folder, args.quick, args.keep_models)
            for backbone in args.backbones for row in ROWS for seed in seeds]
    summary = summarize(runs)
    graphs = graph_statistics(runs)
    payload = {
        "protocol": {"rows": ROWS, "backbones": {b: BACKBONE_NAMES[b] for b in args.backbones}, "seeds": seeds,
                     "configs": {b: BACKBONES[b] for b in args.backbones}, "quick_overrides": QUICK if args.quick else None,
                     "dataset": runs[0]["card"]["dataset_description"]},
        "paper": PAPER,
        "summary": summary,
        "graphs": graphs,
        "train_cooccurrence_graph": runs[0]["train_cooccurrence_graph"],  # the same split in every run: stored once
        "runs": [{key: value for key, value in run.items() if key not in ("card", "train_cooccurrence_graph")}
                 for run in runs],
    }
    markdown = markdown_report(summary, graphs, runs, seeds, args.quick)
    json_path, _ = write_results("label_graph_debtags", payload, markdown, args.quick)
    plot_graphs(runs, json_path.with_suffix(".png"))


if __name__ == "__main__":
    main()
