"""Closeness to the machine's limit: model FLOPs utilisation (MFU) of a training step of the plain lanco
Transformer at d_model 512, as a fraction of the matrix-multiply peak of the same machine measured in the same run.

- peak: the median throughput of a large square ``torch.matmul`` (fp32 on a CPU; bf16 on a GPU, where the step runs
  under ``torch.autocast(dtype=torch.bfloat16)``);
- model FLOPs of one step: ``6 x`` (the multiply-adds of every ``nn.Linear`` counted by forward hooks on the real
  forward pass, i.e. ``params_in_matmuls x tokens`` with the decoder's cross-attention keys/values on the source
  tokens and the LM head on the target tokens) ``+ 12 x batch x T_q x T_k x d_model`` per attention layer (QK^T and
  PV, forward and backward, causal attention counted in full); embeddings, norms, softmax and the optimizer add
  time but no model FLOPs;
- MFU = model FLOPs / median step time / peak. A training step runs forward, backward and AdamW.

Target (docs/performance.md): >= 35% on CPU. Writes ``benchmarks/results/mfu.{json,md}`` (``mfu_quick.*`` with
``--quick``).

    python -m benchmarks.mfu            # 6+6 layers, batch 16 x 64 tokens, 7 repetitions (~1 min on 2 cores)
    python -m benchmarks.mfu --quick    # 2+2 layers, batch 16 x 64 tokens, 5 repetitions (~20 s)
"""

from __future__ import annotations

import argparse
import contextlib

import torch
from torch import nn
from transformers import AutoModelForSeq2SeqLM

from lanco_hf import LancoSeq2SeqConfig

from .common import add_arguments, command, interleaved_median, markdown_table, settings, setup, write_results

SIZES = dict(
    vocab_size=8000,
    d_model=512,
    encoder_layers=6,
    decoder_layers=6,
    encoder_attention_heads=8,
    decoder_attention_heads=8,
    encoder_ffn_dim=2048,
    decoder_ffn_dim=2048,
    dropout=0.1,
)
TARGET_CPU = 0.35


def linear_forward_flops(model: nn.Module, run) -> int:
    """FLOPs (2 per multiply-add) of every ``nn.Linear`` during ``run()``, counted with forward hooks."""
    total = [0]

    def hook(module, inputs, output):
        total[0] += 2 * (inputs[0].numel() // module.in_features) * module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return total[0]


def attention_training_flops(config, batch: int, source: int, target: int) -> int:
    """QK^T and PV of every attention layer, forward (4 B Tq Tk d) and backward (twice that)."""
    d = config.d_model
    per_pair = lambda tq, tk: 12 * batch * tq * tk * d  # noqa: E731
    encoder = config.encoder_layers * per_pair(source, source)
    decoder = config.decoder_layers * (per_pair(target, target) + per_pair(target, source))
    return encoder + decoder


def measure(layers: int, batch: int, length: int, repeats: int, peak_size: int, device: torch.device) -> dict:
    bf16 = device.type == "cuda"
    dtype = torch.bfloat16 if bf16 else torch.float32
    config = LancoSeq2SeqConfig(**{**SIZES, "encoder_layers": layers, "decoder_layers": layers})
    torch.manual_seed(0)
    model = AutoModelForSeq2SeqLM.from_config(config).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(4, config.vocab_size, (batch, length), generator=generator).to(device)
    labels = torch.randint(4, config.vocab_size, (batch, length), generator=generator).to(device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def step():
        with autocast:
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    linear = linear_forward_flops(model, lambda: model(input_ids=ids, labels=labels))
    model_flops = 3 * linear + attention_training_flops(config, batch, length, length)
    # peak and step interleaved, so that other jobs on the machine slow both alike
    a = torch.randn(peak_size, peak_size, device=device, dtype=dtype)
    b = torch.randn(peak_size, peak_size, device=device, dtype=dtype)
    times = interleaved_median({"matmul": lambda: torch.matmul(a, b), "step": step}, repeats, warmup=2, device=device)
    peak = 2 * peak_size**3 / times["matmul"]
    achieved = model_flops / times["step"]
    return {
        "dtype": str(dtype).replace("torch.", ""),
        "parameters": model.num_parameters(),
        "linear_forward_flops": linear,
        "model_flops_per_step": model_flops,
        "step_s": times["step"],
        "peak_matmul_flops_per_s": peak,
        "achieved_flops_per_s": achieved,
        "mfu": achieved / peak,
        "target": TARGET_CPU if device.type == "cpu" else None,
    }


def markdown(results: dict) -> str:
    s = results["settings"]
    r = results["result"]
    verdict = "n/a (GPU: reported only)" if r["target"] is None else ("met" if r["mfu"] >= r["target"] else "missed")
    lines = [
        "# Model FLOPs utilisation of a training step",
        "",
        f"Plain lanco Transformer, d_model 512, {s['layers']}+{s['layers']} layers, 8 heads, FFN 2048, vocabulary "
        f"8000, batch {s['batch']} x {s['length']} source + {s['length']} target tokens, forward + backward + AdamW, "
        f"{r['dtype']}; peak = {s['peak_size']}^2 {r['dtype']} matmul in the same run. {s['hardware']}; median of "
        f"{s['repeats']} interleaved repetitions; {s['date']}; `{s['command']}`.",
        "",
        markdown_table(
            [
                "parameters",
                "model GFLOP / step",
                "step (ms)",
                "achieved GFLOP/s",
                "matmul peak GFLOP/s",
                "MFU",
                "target",
                "verdict",
            ],
            [
                [
                    f"{r['parameters']:,}",
                    f"{r['model_flops_per_step'] / 1e9:.1f}",
                    f"{1000 * r['step_s']:.0f}",
                    f"{r['achieved_flops_per_s'] / 1e9:.1f}",
                    f"{r['peak_matmul_flops_per_s'] / 1e9:.1f}",
                    f"{100 * r['mfu']:.1f}%",
                    "-" if r["target"] is None else f">= {100 * r['target']:.0f}%",
                    verdict,
                ]
            ],
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, "2+2 layers, 5 repetitions (~20 s)")
    args = parser.parse_args(argv)
    device = setup(args.threads)
    layers, batch, length, repeats = (2, 16, 64, 5) if args.quick else (6, 16, 64, 7)
    peak_size = 4096 if device.type == "cuda" else 2048
    results = {"result": measure(layers, batch, length, repeats, peak_size, device)}
    results["settings"] = settings(
        device,
        args.quick,
        layers=layers,
        batch=batch,
        length=length,
        repeats=repeats,
        peak_size=peak_size,
        command=command("mfu", args),
    )
    write_results("mfu", results, markdown(results), args.quick)
    return results


if __name__ == "__main__":
    main()
