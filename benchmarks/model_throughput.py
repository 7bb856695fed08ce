"""Whole models: training and greedy cached generation throughput of every lanco seq2seq architecture against
transformers' ``MarianMTModel`` of identical dimensions (post-norm, ReLU, sinusoidal positions, tied embeddings,
``attn_implementation="sdpa"``), all measured in one run, interleaved, median of the repetitions.

- training: one step (forward, backward, AdamW) on a batch of source and target tokens; tokens/s counts both;
- generation: greedy, cached, every sequence forced to the same number of new tokens (batch 16, 64 new tokens).

Targets (docs/performance.md): the plain lanco core (dense attention, LayerNorm, standard layer) >= 0.95x Marian in
both; every method's overhead is reported as a time ratio to the plain core.
Writes ``benchmarks/results/model_throughput.{json,md}`` (``model_throughput_quick.*`` with ``--quick``).

    python -m benchmarks.model_throughput            # d_model 512, 6+6 layers, batch 16 x 64 (~10 min, 2 cores)
    python -m benchmarks.model_throughput --quick    # d_model 256, 3+3 layers, batch 16 x 32 tokens (~1.5 min)
"""

from __future__ import annotations

import argparse

import torch
from transformers import AutoModelForSeq2SeqLM, GenerationConfig, MarianConfig, MarianMTModel

from lanco_hf import CrossViewConfig, ExplicitSparseConfig, LancoSeq2SeqConfig, MuseConfig

from .common import add_arguments, command, interleaved_median, markdown_table, settings, setup, write_results

FULL = dict(
    vocab_size=8000,
    d_model=512,
    encoder_layers=6,
    decoder_layers=6,
    encoder_attention_heads=8,
    decoder_attention_heads=8,
    encoder_ffn_dim=2048,
    decoder_ffn_dim=2048,
)
QUICK = {
    **FULL,
    "d_model": 256,
    "encoder_layers": 3,
    "decoder_layers": 3,
    "encoder_ffn_dim": 1024,
    "decoder_ffn_dim": 1024,
    "encoder_attention_heads": 4,
    "decoder_attention_heads": 4,
}
COMMON = dict(
    dropout=0.1,
    activation_function="relu",
    pad_token_id=0,
    eos_token_id=2,
    decoder_start_token_id=1,
    max_position_embeddings=1024,
    scale_embedding=True,
)
REFERENCE, PLAIN = "Marian (transformers, SDPA)", "lanco plain"
ARCHITECTURES = {  # name: (config class, options) of the lanco models
    PLAIN: (LancoSeq2SeqConfig, {}),
    "explicit sparse (top-8)": (ExplicitSparseConfig, {"attn_topk": 8}),
    "MUSE": (MuseConfig, {"muse_variant": "muse"}),
    "MUSE-simple": (MuseConfig, {"muse_variant": "muse_simple"}),
    "cross-view (GCA)": (CrossViewConfig, {"cross_view_routing": "gca"}),
    "AdaNorm": (LancoSeq2SeqConfig, {"norm_type": "adanorm"}),
    "LayerNorm-simple": (LancoSeq2SeqConfig, {"norm_type": "layernorm_simple"}),
}
TARGET_VS_MARIAN = 0.95


def build_models(sizes: dict, device: torch.device) -> dict[str, torch.nn.Module]:
    models = {}
    torch.manual_seed(0)
    marian = MarianConfig(
        **sizes,
        **COMMON,
        bos_token_id=None,
        forced_eos_token_id=None,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True,
    )
    models[REFERENCE] = MarianMTModel(marian).to(device)
    models[REFERENCE].set_attn_implementation("sdpa")
    for name, (config_class, options) in ARCHITECTURES.items():
        torch.manual_seed(0)
        config = config_class(**sizes, **COMMON, bos_token_id=1, **options)
        models[name] = AutoModelForSeq2SeqLM.from_config(config).to(device)
    for model in models.values():  # identical decoding settings, nothing read from the model's defaults
        model.generation_config = GenerationConfig(
            decoder_start_token_id=1, pad_token_id=0, eos_token_id=2, bos_token_id=None
        )
    return models


def train_step_functions(models: dict, batch: int, length: int, device: torch.device) -> dict:
    generator = torch.Generator().manual_seed(1)
    vocab = next(iter(models.values())).config.vocab_size
    ids = torch.randint(4, vocab, (batch, length), generator=generator).to(device)
    labels = torch.randint(4, vocab, (batch, length), generator=generator).to(device)
    functions = {}
    for name, model in models.items():
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def step(model=model, optimizer=optimizer):
            model.train()
            model(input_ids=ids, labels=labels).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        functions[name] = step
    return functions


def generation_functions(models: dict, batch: int, length: int, new_tokens: int, device: torch.device) -> dict:
    vocab = next(iter(models.values())).config.vocab_size
    ids = torch.randint(4, vocab, (batch, length), generator=torch.Generator().manual_seed(2)).to(device)
    kwargs = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, num_beams=1, do_sample=False, use_cache=True)

    def generate(model):
        with torch.inference_mode():
            model.eval().generate(ids, attention_mask=torch.ones_like(ids), **kwargs)

    return {name: (lambda model=model: generate(model)) for name, model in models.items()}


def measure(sizes: dict, batch: int, length: int, new_tokens: int, repeats: int, device: torch.device) -> dict:
    models = build_models(sizes, device)
    train_s = interleaved_median(train_step_functions(models, batch, length, device), repeats, device=device)
    print("training: done", flush=True)
    generation = generation_functions(models, batch, length, new_tokens, device)
    generate_s = interleaved_median(generation, repeats, device=device)
    rows = {}
    for name, model in models.items():
        rows[name] = {
            "parameters": model.num_parameters(only_trainable=True),
            "train_step_s": train_s[name],
            "train_tokens_per_s": 2 * batch * length / train_s[name],
            "train_speed_vs_marian": train_s[REFERENCE] / train_s[name],
            "train_time_vs_plain": train_s[name] / train_s[PLAIN],
            "generation_s": generate_s[name],
            "generation_tokens_per_s": batch * new_tokens / generate_s[name],
            "generation_speed_vs_marian": generate_s[REFERENCE] / generate_s[name],
            "generation_time_vs_plain": generate_s[name] / generate_s[PLAIN],
        }
    plain = rows[PLAIN]
    targets = {
        f"plain training speed vs Marian (>= {TARGET_VS_MARIAN})": plain["train_speed_vs_marian"],
        f"plain generation speed vs Marian (>= {TARGET_VS_MARIAN})": plain["generation_speed_vs_marian"],
    }
    return {"models": rows, "targets": {k: {"ratio": v, "met": v >= TARGET_VS_MARIAN} for k, v in targets.items()}}


def markdown(results: dict) -> str:
    s = results["settings"]
    z = s["sizes"]
    rows = [
        [
            name,
            f"{r['parameters']:,}",
            f"{r['train_tokens_per_s']:.0f}",
            f"{r['train_speed_vs_marian']:.2f}",
            f"{r['train_time_vs_plain']:.2f}",
            f"{r['generation_tokens_per_s']:.0f}",
            f"{r['generation_speed_vs_marian']:.2f}",
            f"{r['generation_time_vs_plain']:.2f}",
        ]
        for name, r in results["models"].items()
    ]
    lines = [
        "# Whole models: throughput against transformers' MarianMTModel",
        "",
        f"d_model {z['d_model']}, {z['encoder_layers']}+{z['decoder_layers']} layers, {z['encoder_attention_heads']} "
        f"heads, FFN {z['encoder_ffn_dim']}, vocabulary {z['vocab_size']}; training batch {s['batch']} x {s['length']} "
        f"source + {s['length']} target tokens (AdamW step); generation batch {s['batch']}, {s['new_tokens']} new "
        f"tokens, greedy, cached. {s['hardware']}; median of {s['repeats']} interleaved repetitions; {s['date']}; "
        f"`{s['command']}`.",
        "",
        markdown_table(
            [
                "model",
                "parameters",
                "train tokens/s",
                "train speed x Marian",
                "train time x plain",
                "generation tokens/s",
                "generation speed x Marian",
                "generation time x plain",
            ],
            rows,
        ),
        "",
        "## Targets",
        "",
        markdown_table(
            ["ratio", "measured", "verdict"],
            [[k, f"{v['ratio']:.2f}", "met" if v["met"] else "missed"] for k, v in results["targets"].items()],
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, "d_model 256, 3+3 layers, 5 repetitions (~1.5 min)")
    args = parser.parse_args(argv)
    device = setup(args.threads)
    if args.quick:
        sizes, batch, length, new_tokens, repeats = QUICK, 16, 32, 64, 5
    else:
        sizes, batch, length, new_tokens, repeats = FULL, 16, 64, 64, 5
    results = measure(sizes, batch, length, new_tokens, repeats, device)
    results["settings"] = settings(
        device,
        args.quick,
        sizes=sizes,
        batch=batch,
        length=length,
        new_tokens=new_tokens,
        repeats=repeats,
        command=command("model_throughput", args),
    )
    write_results("model_throughput", results, markdown(results), args.quick)
    return results


if __name__ == "__main__":
    main()
