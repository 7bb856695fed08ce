"""Scale: how cost grows with the problem size.

- attention variants (dense SDPA, lanco top-k SDPA, the explored top-k gather path, sparsemax, entmax15) and MUSE's
  convolution branch (``DynamicConvolution``, kernels 3 and 15, d_model 512, 8 heads): forward + backward time and
  peak memory at sequence lengths 128 -> 2048, batch 1;
- ReNode weight computation (``lanco_hf.losses.renode.renode_weights``: Totoro conflicts by sparse personalized
  PageRank, then the cosine weights): time and peak memory against the number of nodes, on random graphs with the
  Debian package graph's mean degree and 10 classes x 20 labelled nodes, up to the Debian graph's size (and the
  real Debian package graph itself when it is installed and ``--quick`` is not given).

Writes ``benchmarks/results/scaling.{json,md,png}`` (``scaling_quick.*`` with ``--quick``).

    python -m benchmarks.scaling            # 5 repetitions, + the real Debian graph (~5 min on 2 cores)
    python -m benchmarks.scaling --quick    # 2 repetitions, random graphs only (~1.5 min)
"""

from __future__ import annotations

import argparse

import torch

from lanco_hf.losses.renode import renode_weights
from lanco_hf.modeling.muse import DynamicConvolution

from .attention_kernels import HEAD_DIM, HEADS, candidates, inputs, training_call
from .common import (
    RESULTS_DIR,
    add_arguments,
    command,
    interleaved_median,
    markdown_table,
    peak_memory_bytes,
    settings,
    setup,
    write_results,
)

LENGTHS = (128, 256, 512, 1024, 2048)
MUSE_KERNELS = [3, 15]
DEBIAN_NODES = 63666  # packages in the apt-cache dumpavail that lanco_hf.data.debian_graph reads on this machine
DEBIAN_MEAN_DEGREE = 8  # the Debian graph: 543,252 directed dependency edges over 63,666 packages (8.5)
NODE_COUNTS = (1000, 4000, 16000, DEBIAN_NODES)
CLASSES, LABELLED_PER_CLASS = 10, 20


def convolution_call(length: int, device: torch.device):
    torch.manual_seed(0)
    conv = DynamicConvolution(HEADS * HEAD_DIM, HEADS, MUSE_KERNELS, causal=False, weight_dropout=0.0).to(device)
    values = torch.randn(1, HEADS, length, HEAD_DIM, device=device, requires_grad=True)

    def call():
        conv(values, length).sum().backward()
        values.grad = None
        conv.zero_grad(set_to_none=True)

    return call


def attention_scaling(repeats: int, device: torch.device) -> dict:
    functions = candidates(include_eager=False)
    seconds, memory = {}, {}
    for length in LENGTHS:
        tensors = inputs(1, length, device)
        calls = {name: training_call(f, tensors) for name, f in functions.items()}
        calls["MUSE convolution"] = convolution_call(length, device)
        seconds[length] = interleaved_median(calls, repeats, device=device)
        memory[length] = {name: peak_memory_bytes(call, device) for name, call in calls.items()}
        print(f"length {length}: done", flush=True)
    return {"forward_backward_s": seconds, "peak_bytes": memory}


def random_graph(num_nodes: int, mean_degree: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Undirected random graph (both directions, no self-loops), labels in ``CLASSES`` classes, a train mask with
    ``LABELLED_PER_CLASS`` nodes per class."""
    generator = torch.Generator().manual_seed(seed)
    edges = num_nodes * mean_degree // 2
    source = torch.randint(0, num_nodes, (edges,), generator=generator)
    target = torch.randint(0, num_nodes, (edges,), generator=generator)
    keep = source != target
    edge_index = torch.stack([torch.cat([source[keep], target[keep]]), torch.cat([target[keep], source[keep]])])
    edge_index = torch.unique(edge_index, dim=1)
    labels = torch.randint(0, CLASSES, (num_nodes,), generator=generator)
    train_mask = torch.zeros(num_nodes, dtype=torch.bool)
    for label in range(CLASSES):
        members = (labels == label).nonzero().flatten()
        train_mask[members[:LABELLED_PER_CLASS]] = True
    return edge_index, train_mask, labels


def renode_call(edge_index: torch.Tensor, train_mask: torch.Tensor, labels: torch.Tensor, num_classes: int):
    return lambda: renode_weights(edge_index, train_mask, labels, num_classes=num_classes)


def renode_scaling(repeats: int, with_debian: bool, device: torch.device) -> list[dict]:
    rows = []
    graphs = [(f"random, {n:,} nodes", *random_graph(n, DEBIAN_MEAN_DEGREE, seed=0), CLASSES) for n in NODE_COUNTS]
    if with_debian:
        try:
            from lanco_hf.data.debian_graph import debian_package_graph

            data = debian_package_graph()
            train_mask = torch.zeros(data.num_nodes, dtype=torch.bool)
            for label in range(len(data.label_names)):
                train_mask[(data.y == label).nonzero().flatten()[:LABELLED_PER_CLASS]] = True
            graphs.append(("Debian package graph", data.edge_index, train_mask, data.y, len(data.label_names)))
        except Exception as error:  # the package list is an apt data source that may be missing
            rows.append({"graph": "Debian package graph", "skipped": f"{type(error).__name__}: {error}"})
    for name, edge_index, train_mask, labels, num_classes in graphs:
        call = renode_call(edge_index, train_mask, labels, num_classes)
        seconds = interleaved_median({name: call}, repeats)[name]
        rows.append(
            {
                "graph": name,
                "nodes": int(labels.shape[0]),
                "edges": int(edge_index.shape[1]),
                "labelled": int(train_mask.sum()),
                "seconds": seconds,
                "peak_bytes": peak_memory_bytes(call),
            }
        )
        print(f"ReNode {name}: done", flush=True)
    return rows


def plot(results: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    attention = results["attention"]
    for name in attention["forward_backward_s"][LENGTHS[0]]:
        seconds = [attention["forward_backward_s"][n][name] * 1000 for n in LENGTHS]
        axes[0].plot(LENGTHS, seconds, marker="o", label=name)
        axes[1].plot(LENGTHS, [attention["peak_bytes"][n][name] / 2**20 for n in LENGTHS], marker="o", label=name)
    for axis, label in ((axes[0], "forward + backward (ms)"), (axes[1], "peak memory (MiB)")):
        axis.set(xscale="log", yscale="log", xlabel="sequence length (batch 1, 8 heads x 64)", ylabel=label)
        axis.minorticks_off()
        axis.set_xticks(LENGTHS, [str(n) for n in LENGTHS])
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    renode = [row for row in results["renode"] if "seconds" in row]
    axes[2].plot([r["nodes"] for r in renode], [r["seconds"] for r in renode], marker="o", label="time (s)")
    twin = axes[2].twinx()
    twin.plot(
        [r["nodes"] for r in renode],
        [r["peak_bytes"] / 2**20 for r in renode],
        marker="s",
        color="C1",
        label="peak memory (MiB)",
    )
    axes[2].set(xscale="log", xlabel="nodes", ylabel="ReNode weights: time (s)", title="ReNode weight computation")
    twin.set_ylabel("peak memory (MiB)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def markdown(results: dict, image: str) -> str:
    s = results["settings"]
    attention = results["attention"]
    names = list(attention["forward_backward_s"][LENGTHS[0]])
    cell = lambda n, name: (  # noqa: E731
        f"{1000 * attention['forward_backward_s'][n][name]:.1f} / {attention['peak_bytes'][n][name] / 2**20:.1f}"
    )
    rows = [[n] + [cell(n, name) for name in names] for n in LENGTHS]
    times = attention["forward_backward_s"]
    growth = [["x time, 2048 vs 128"] + [f"{times[LENGTHS[-1]][name] / times[LENGTHS[0]][name]:.0f}" for name in names]]
    renode_rows = [
        [r["graph"], "-", "-", "-", f"skipped: {r['skipped']}", "-"]
        if "skipped" in r
        else [
            r["graph"],
            f"{r['nodes']:,}",
            f"{r['edges']:,}",
            r["labelled"],
            f"{r['seconds']:.2f}",
            f"{r['peak_bytes'] / 2**20:.1f}",
        ]
        for r in results["renode"]
    ]
    lines = [
        "# Scaling with sequence length and graph size",
        "",
        f"{s['hardware']}; median of {s['repeats']} interleaved repetitions; {s['date']}; `{s['command']}`.",
        "",
        "## Attention and MUSE convolution: forward + backward ms / peak MiB (batch 1, 8 heads x 64 dims)",
        "",
        markdown_table(["length"] + names, rows + growth),
        "",
        "## ReNode weight computation (sparse personalized PageRank + Totoro + cosine weights)",
        "",
        markdown_table(
            ["graph", "nodes", "edges (directed)", "labelled", "time (s)", "peak memory (MiB)"], renode_rows
        ),
        "",
        f"![scaling]({image})",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, "2 repetitions, random graphs only (~1.5 min)")
    args = parser.parse_args(argv)
    device = setup(args.threads)
    repeats = 2 if args.quick else 5
    results = {
        "attention": attention_scaling(repeats, device),
        "renode": renode_scaling(repeats, with_debian=not args.quick, device=device),
    }
    results["settings"] = settings(
        device,
        args.quick,
        repeats=repeats,
        lengths=LENGTHS,
        node_counts=NODE_COUNTS,
        mean_degree=DEBIAN_MEAN_DEGREE,
        command=command("scaling", args),
    )
    stem = "scaling_quick" if args.quick else "scaling"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    plot(results, RESULTS_DIR / f"{stem}.png")
    write_results("scaling", results, markdown(results, f"{stem}.png"), args.quick)
    return results


if __name__ == "__main__":
    main()
