"""Speed of MUSE, MUSE-simple and layer-wise cross-view decoding (GCA) relative to the plain lanco Transformer of
equal d_model / heads / FFN / depth, measured in one run (same process, same inputs, architectures interleaved so
that a busy machine slows them alike):

- one encoder layer and one decoder layer: forward + backward time;
- the full model: training step (forward, backward, AdamW) time and source tokens/s;
- cached greedy generation: new tokens/s (every sequence forced to the same length);
- the extra memory GCA keeps: the stacked per-layer encoder states carried by ``encoder_outputs`` between
  generation steps (beam search expands them like the last encoder state), against the plain model's.

Targets (issues 3 and 4): MUSE step <= 1.5x the plain model's time, MUSE-simple <= 1.1x, cross-view <= 1.1x.
Writes ``benchmarks/results/seq2seq_speed.{json,md}`` (``seq2seq_speed_quick.*`` with ``--quick``).

    # main-job sizes (d 256, 3+3 layers, batch 64 x 48 tokens), ~10 min on 2 cores
    python -m benchmarks.seq2seq_speed
    python -m benchmarks.seq2seq_speed --quick    # smoke test, well under a minute
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from transformers import AutoModelForSeq2SeqLM

from lanco_hf import CrossViewConfig, LancoSeq2SeqConfig, MuseConfig

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MAIN_JOB = dict(
    vocab_size=8000,
    d_model=256,
    encoder_layers=3,
    decoder_layers=3,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=1024,
    decoder_ffn_dim=1024,
    dropout=0.1,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
    decoder_start_token_id=1,
)
ARCHITECTURES = {  # name: (config class, options); "transformer" is the reference
    "transformer": (LancoSeq2SeqConfig, {}),
    "muse": (MuseConfig, {"muse_variant": "muse"}),
    "muse_simple": (MuseConfig, {"muse_variant": "muse_simple"}),
    "cross_view (gca)": (CrossViewConfig, {"cross_view_routing": "gca"}),
}
TARGETS = {"muse": 1.5, "muse_simple": 1.1, "cross_view (gca)": 1.1}


def build(name: str, sizes: dict) -> torch.nn.Module:
    config_class, options = ARCHITECTURES[name]
    torch.manual_seed(0)
    return AutoModelForSeq2SeqLM.from_config(config_class(**{**sizes, **options}))


def interleaved_median(functions: dict, repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median wall time of each function, calling them round-robin ``repeats`` times after ``warmup`` rounds."""
    times = {name: [] for name in functions}
    for round_ in range(warmup + repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def layer_functions(models: dict, batch: int, length: int) -> dict:
    """Forward + backward of the first encoder layer and of the first decoder layer of each model."""
    generator = torch.Generator().manual_seed(0)
    d_model = models["transformer"].config.d_model
    x = torch.randn(batch, length, d_model, generator=generator, requires_grad=True)
    memory = torch.randn(batch, length, d_model, generator=generator)
    functions = {}
    for name, model in models.items():
        if name == "cross_view (gca)":  # its layers are the plain Transformer's
            continue
        encoder_layer, decoder_layer = model.model.encoder.layers[0].train(), model.model.decoder.layers[0].train()
        functions[f"{name} encoder layer"] = lambda layer=encoder_layer: layer(x)[0].sum().backward()
        functions[f"{name} decoder layer"] = lambda layer=decoder_layer: layer(x, memory)[0].sum().backward()
    return functions


def train_step_functions(models: dict, batch: int, length: int) -> dict:
    generator = torch.Generator().manual_seed(1)
    vocab_size = models["transformer"].config.vocab_size
    ids = torch.randint(4, vocab_size, (batch, length), generator=generator)
    labels = torch.randint(4, vocab_size, (batch, length), generator=generator)
    functions = {}
    for name, model in models.items():
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def step(model=model, optimizer=optimizer):
            model(input_ids=ids, labels=labels).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        functions[name] = step
    return functions


def generation_functions(models: dict, batch: int, length: int, new_tokens: int) -> dict:
    ids = torch.randint(
        4, models["transformer"].config.vocab_size, (batch, length), generator=torch.Generator().manual_seed(2)
    )
    kwargs = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, num_beams=1, do_sample=False, use_cache=True)

    def generate(model):
        with torch.inference_mode():
            model.eval().generate(ids, **kwargs)

    return {name: (lambda model=model: generate(model)) for name, model in models.items()}


def encoder_state_memory(models: dict, batch: int, length: int, beams: int) -> dict:
    """Bytes of the tensors ``encoder_outputs`` keeps between generation steps, for a batch of ``batch`` sources
    decoded with ``beams`` beams (generate() repeats every tensor of it ``beams`` times)."""
    ids = torch.randint(
        4, models["transformer"].config.vocab_size, (batch, length), generator=torch.Generator().manual_seed(3)
    )
    memory = {}
    for name in ("transformer", "cross_view (gca)"):
        with torch.inference_mode():
            outputs = models[name].eval().get_encoder()(input_ids=ids)
        memory[name] = beams * sum(t.numel() * t.element_size() for t in outputs.values() if torch.is_tensor(t))
    return memory


def markdown(results: dict) -> str:
    s = results["settings"]
    lines = [
        "# Seq2seq architectures: speed relative to the plain lanco Transformer",
        "",
        f"{s['mode']}. d_model {s['sizes']['d_model']}, {s['sizes']['encoder_layers']}+{s['sizes']['decoder_layers']} "
        f"layers, {s['sizes']['encoder_attention_heads']} heads, FFN {s['sizes']['encoder_ffn_dim']}; {s['hardware']}. "
        f"Median of {s['repeats']} interleaved repetitions.",
        "",
        f"## One layer, forward + backward (batch {s['batch']} x {s['length']} tokens)",
        "",
        "| layer | time (ms) | x plain |",
        "|---|---|---|",
    ]
    for name, seconds in results["layer_s"].items():
        reference = results["layer_s"][name.replace(name.split(" ")[0], "transformer", 1)]
        lines.append(f"| {name} | {1000 * seconds:.1f} | {seconds / reference:.2f} |")
    lines += [
        "",
        f"## Full model (batch {s['batch']} x {s['length']} source and target tokens; generation: batch "
        f"{s['generation_batch']}, {s['new_tokens']} new tokens, greedy, cached)",
        "",
        "| model | parameters | train step (ms) | x plain | target | train source tokens/s | generation tokens/s | "
        "generation x plain |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in results["models"].items():
        target = TARGETS.get(name)
        verdict = (
            "reference"
            if target is None
            else f"<= {target} ({'met' if row['train_step_ratio'] <= target else 'missed'})"
        )
        lines.append(
            f"| {name} | {row['parameters']:,} | {1000 * row['train_step_s']:.0f} | {row['train_step_ratio']:.2f} | "
            f"{verdict} | {row['train_tokens_per_s']:.0f} | {row['generation_tokens_per_s']:.0f} | "
            f"{row['generation_time_ratio']:.2f} |"
        )
    memory = results["encoder_state_memory"]
    lines += [
        "",
        f"## Memory of the encoder states kept during generation (batch {s['memory_batch']} x {s['length']} tokens, "
        f"{s['beams']} beams)",
        "",
        f"Plain model: {memory['transformer_bytes'] / 2**20:.2f} MiB (the last encoder state); cross-view (gca): "
        f"{memory['cross_view_bytes'] / 2**20:.2f} MiB (the last state plus the stacked states of all "
        f"{s['sizes']['encoder_layers']} layers), i.e. {memory['extra_bytes'] / 2**20:.2f} MiB extra. During training "
        "the per-layer states are kept for the backward pass by every architecture; GCA adds one stacked copy.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small batch, few repetitions: checks the script only")
    args = parser.parse_args(argv)
    if args.quick:
        sizes = {
            **MAIN_JOB,
            "vocab_size": 1000,
            "d_model": 64,
            "encoder_layers": 2,
            "decoder_layers": 2,
            "encoder_ffn_dim": 128,
            "decoder_ffn_dim": 128,
        }
        batch, length, repeats, generation_batch, new_tokens = 4, 16, 2, 2, 4
        mode = "QUICK MODE (tiny model, batch 4 x 16 tokens, 2 repetitions): checks the script, not the speed"
    else:
        sizes, batch, length, repeats, generation_batch, new_tokens = MAIN_JOB, 64, 48, 15, 16, 48
        mode = "Main-job sizes"
    models = {name: build(name, sizes) for name in ARCHITECTURES}
    layer_s = interleaved_median(layer_functions(models, batch, length), repeats)
    train_s = interleaved_median(train_step_functions(models, batch, length), repeats)
    generation_s = interleaved_median(generation_functions(models, generation_batch, length, new_tokens), repeats)
    beams = 5
    memory = encoder_state_memory(models, generation_batch, length, beams)
    results = {
        "settings": {
            "mode": mode,
            "quick": args.quick,
            "sizes": sizes,
            "batch": batch,
            "length": length,
            "repeats": repeats,
            "generation_batch": generation_batch,
            "new_tokens": new_tokens,
            "memory_batch": generation_batch,
            "beams": beams,
            "torch": torch.__version__,
            "hardware": f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads",
        },
        "layer_s": layer_s,
        "models": {
            name: {
                "parameters": model.num_parameters(),
                "train_step_s": train_s[name],
                "train_step_ratio": train_s[name] / train_s["transformer"],
                "train_tokens_per_s": batch * length / train_s[name],
                "generation_tokens_per_s": generation_batch * new_tokens / generation_s[name],
                "generation_time_ratio": generation_s[name] / generation_s["transformer"],
            }
            for name, model in models.items()
        },
        "encoder_state_memory": {
            "transformer_bytes": memory["transformer"],
            "cross_view_bytes": memory["cross_view (gca)"],
            "extra_bytes": memory["cross_view (gca)"] - memory["transformer"],
        },
        "targets": TARGETS,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = "seq2seq_speed_quick" if args.quick else "seq2seq_speed"
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS_DIR / f"{stem}.md").write_text(table)
    print(table)
    print(f"wrote {RESULTS_DIR / stem}.json and .md")


if __name__ == "__main__":
    main()
