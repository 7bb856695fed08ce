"""Attention kernels: lanco's top-k attention against dense SDPA and against ``entmax``'s sparsemax / entmax15.

8 heads x 64 dims, sequence lengths 128, 256, 512, 1024, a constant number of tokens per batch (batch =
tokens / length); forward + backward (training) and forward only (``torch.inference_mode``), every candidate timed
in the same run, interleaved, median of the repetitions. Candidates (all on the same q, k, v of shape (B, H, T, D)):

- ``dense SDPA``: ``torch.nn.functional.scaled_dot_product_attention``, the reference;
- ``top-k SDPA``: ``lanco_hf.modeling.topk_attention.topk_sdpa_attention`` (k = 8), what lanco models run;
- ``top-k eager``: ``topk_attention_forward``, the path of ``output_attentions=True``;
- ``top-k gather``: the explored gather-based path (``topk_gather_attention`` below): the k kept keys and values
  of every query are gathered and softmax . V runs over those k only;
- ``sparsemax`` / ``entmax15``: PyPI ``entmax`` applied to the scaled scores, then . V.

Targets (docs/performance.md), on forward + backward at length 512: top-k SDPA <= 1.3x dense SDPA; sparsemax >= 2x
top-k SDPA.
Writes ``benchmarks/results/attention_kernels.{json,md}`` (``attention_kernels_quick.*`` with ``--quick``).

    python -m benchmarks.attention_kernels            # 4,096 tokens per batch, 7 repetitions (~10 min on 2 cores)
    python -m benchmarks.attention_kernels --quick    # 1,024 tokens per batch, 5 repetitions (~1 min)
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from lanco_hf.modeling.topk_attention import topk_attention_forward, topk_sdpa_attention

from .common import add_arguments, command, interleaved_median, markdown_table, settings, setup, write_results

HEADS, HEAD_DIM, TOPK = 8, 64, 8
LENGTHS = (128, 256, 512, 1024)
TARGET_LENGTH = 512
TARGET_TOPK_VS_DENSE = 1.3
TARGET_SPARSEMAX_VS_TOPK = 2.0


def topk_gather_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scaling: float, k: int
) -> torch.Tensor:
    """Top-k attention that applies softmax . V over the k kept keys only: the selection is made on scores computed
    without gradient, then the kept keys and values of every query are gathered, (B, H, T, k, D), and the kept
    scores recomputed from them, so the backward pass costs O(T k D) instead of O(T^2 D). Keeps exactly k keys
    (ties at the threshold are broken arbitrarily, unlike the mask-based path). No padding mask.
    Returns (B, T, H, D)."""
    batch, heads, length, dim = query.shape
    keys = key.shape[-2]
    with torch.no_grad():
        index = torch.matmul(query, key.transpose(-1, -2)).topk(k, dim=-1, sorted=False).indices
        rows = torch.arange(batch * heads, device=query.device).view(batch, heads, 1, 1) * keys
        flat = (index + rows).reshape(-1)
    kept_keys = key.reshape(-1, dim).index_select(0, flat).view(batch, heads, length, k, dim)
    kept_values = value.reshape(-1, dim).index_select(0, flat).view(batch, heads, length, k, dim)
    probs = (torch.einsum("bhtd,bhtkd->bhtk", query, kept_keys) * scaling).softmax(-1)
    return torch.einsum("bhtk,bhtkd->bhtd", probs, kept_values).transpose(1, 2)


class _TopkModule(nn.Module):
    """What ``topk_attention_forward`` reads from the calling module."""

    attn_topk = TOPK


def candidates(include_eager: bool = True) -> dict:
    """name -> function(q, k, v) returning (B, T, H, D)."""
    import entmax

    scaling = HEAD_DIM**-0.5
    module = _TopkModule().train()
    functions = {
        "dense SDPA": lambda q, k, v: nn.functional.scaled_dot_product_attention(q, k, v, scale=scaling).transpose(
            1, 2
        ),
        "top-k SDPA": lambda q, k, v: topk_sdpa_attention(q, k, v, None, scaling, 0.0, TOPK),
        "top-k eager": lambda q, k, v: topk_attention_forward(module, q, k, v, None, scaling, 0.0, TOPK)[0],
        "top-k gather": lambda q, k, v: topk_gather_attention(q, k, v, scaling, TOPK),
        "sparsemax": lambda q, k, v: (entmax.sparsemax(q @ k.transpose(-1, -2) * scaling, dim=-1) @ v).transpose(1, 2),
        "entmax15": lambda q, k, v: (entmax.entmax15(q @ k.transpose(-1, -2) * scaling, dim=-1) @ v).transpose(1, 2),
    }
    if not include_eager:
        del functions["top-k eager"]
    return functions


def inputs(batch: int, length: int, device: torch.device, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator(device=device).manual_seed(seed)
    return [
        torch.randn(batch, HEADS, length, HEAD_DIM, generator=generator, device=device, requires_grad=True)
        for _ in range(3)
    ]


def training_call(function, tensors: list[torch.Tensor]):
    """Forward + backward of ``function`` on ``tensors``, gradients cleared afterwards."""

    def call():
        function(*tensors).sum().backward()
        for tensor in tensors:
            tensor.grad = None

    return call


def inference_call(function, tensors: list[torch.Tensor]):
    def call():
        with torch.inference_mode():
            function(*tensors)

    return call


def measure(tokens: int, repeats: int, device: torch.device) -> dict:
    functions = candidates()
    results = {"forward_backward_s": {}, "forward_s": {}, "batch": {}}
    for length in LENGTHS:
        batch = max(1, tokens // length)
        tensors = inputs(batch, length, device)
        results["batch"][length] = batch
        results["forward_backward_s"][length] = interleaved_median(
            {name: training_call(f, tensors) for name, f in functions.items()}, repeats, device=device
        )
        results["forward_s"][length] = interleaved_median(
            {name: inference_call(f, tensors) for name, f in functions.items()}, repeats, device=device
        )
        print(f"length {length}: done", flush=True)
    return results


def targets(results: dict) -> dict:
    times = results["forward_backward_s"][TARGET_LENGTH]
    topk_vs_dense = times["top-k SDPA"] / times["dense SDPA"]
    sparsemax_vs_topk = times["sparsemax"] / times["top-k SDPA"]
    return {
        "topk_vs_dense_at_512": {
            "ratio": topk_vs_dense,
            "target": f"<= {TARGET_TOPK_VS_DENSE}",
            "met": topk_vs_dense <= TARGET_TOPK_VS_DENSE,
        },
        "sparsemax_vs_topk_at_512": {
            "ratio": sparsemax_vs_topk,
            "target": f">= {TARGET_SPARSEMAX_VS_TOPK}",
            "met": sparsemax_vs_topk >= TARGET_SPARSEMAX_VS_TOPK,
        },
    }


def markdown(results: dict) -> str:
    s = results["settings"]
    names = list(results["forward_backward_s"][LENGTHS[0]])
    lines = [
        "# Attention kernels: time relative to dense SDPA",
        "",
        f"{HEADS} heads x {HEAD_DIM} dims, top-k k = {TOPK}, {s['tokens']} tokens per batch (batch = tokens / length); "
        f"{s['hardware']}; median of {s['repeats']} interleaved repetitions; {s['date']}; `{s['command']}`.",
        "",
    ]
    for key, title in (("forward_backward_s", "Forward + backward"), ("forward_s", "Forward only (inference mode)")):
        rows = []
        for length in LENGTHS:
            times = results[key][length]
            rows.append(
                [length, results["batch"][length]]
                + [f"{1000 * times[name]:.1f} ({times[name] / times['dense SDPA']:.2f}x)" for name in names]
            )
        lines += [f"## {title}: ms (x dense SDPA)", "", markdown_table(["length", "batch"] + names, rows), ""]
    lines += ["## Targets (forward + backward, length 512)", ""]
    rows = [
        [name, f"{row['ratio']:.2f}", row["target"], "met" if row["met"] else "missed"]
        for name, row in results["targets"].items()
    ]
    lines += [markdown_table(["ratio", "measured", "target", "verdict"], rows), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, "1,024 tokens per batch, 5 repetitions (~1 min)")
    args = parser.parse_args(argv)
    device = setup(args.threads)
    tokens, repeats = (1024, 5) if args.quick else (4096, 7)
    results = measure(tokens, repeats, device)
    results["settings"] = settings(
        device,
        args.quick,
        tokens=tokens,
        repeats=repeats,
        heads=HEADS,
        head_dim=HEAD_DIM,
        topk=TOPK,
        command=command("attention_kernels", args),
    )
    results["targets"] = targets(results)
    write_results("attention_kernels", results, markdown(results), args.quick)
    return results


if __name__ == "__main__":
    main()
