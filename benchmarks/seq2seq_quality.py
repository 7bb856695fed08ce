"""Translation quality of the lanco seq2seq architectures on Bible EN→ES: the plain Transformer
(``configs/transformer_bible.yaml``, which is also cross-view routing "last": with the same weights the two are
numerically identical), MUSE, MUSE-simple and layer-wise cross-view decoding (GCA), each trained through
``lanco-hf train`` for the same number of steps (default 300 of batch 64: the configs share the main job's model
size and training settings), for several seeds; BLEU / chrF (sacrebleu, greedy) on the test split as mean ± sample
std, next to the papers' claims. A step budget rather than a wall-clock one keeps the comparison independent of
the machine's load; each run's training time is in the table. Writes ``benchmarks/results/seq2seq_quality.{json,md}``
(``seq2seq_quality_quick.*`` with ``--quick``); finished runs are reused, so an interrupted replication continues,
and ``--architectures`` / ``--seeds`` split the runs over processes (one per core, ``OMP_NUM_THREADS=1``).

    python -m benchmarks.seq2seq_quality            # 4 architectures x 3 seeds, about 12 min a run on 1 CPU thread
    python -m benchmarks.seq2seq_quality --quick    # smoke test: 4 tiny runs, about 2 min on a quiet machine
"""

from __future__ import annotations

import argparse

from .replication import TRANSLATION_QUICK, fmt, runs_dir, train, translation_summary, write_results

ARCHITECTURES = {  # name: (config, paper's claim); --architectures takes the config's stem (transformer, muse, ...)
    "Transformer (= cross-view 'last')": (
        "configs/transformer_bible.yaml",
        "baseline: IWSLT14 De-En 34.4 (MUSE paper)",
    ),
    "MUSE": ("configs/muse_bible.yaml", "IWSLT14 De-En 36.3 vs Transformer 34.4"),
    "MUSE-simple": ("configs/muse_simple_bible.yaml", "IWSLT14 De-En 35.8 vs Transformer 34.4"),
    "cross-view (GCA)": (
        "configs/cross_view_bible.yaml",
        "better BLEU than 'last' on IWSLT14 De-En and WMT14 En-De/En-Fr (numbers not retrieved)",
    ),
}


def stem(config: str) -> str:
    return config.split("/")[-1].removesuffix("_bible.yaml")


def markdown(runs: dict[str, list[dict]], settings: dict) -> str:
    lines = [
        "# Seq2seq architectures on Bible EN→ES translation",
        "",
        (
            f"`lanco-hf train configs/<architecture>_bible.yaml` with {settings['budget']}; seeds {settings['seeds']}, "
            "mean ± sample std; greedy decoding, sacrebleu BLEU / chrF on the test split."
        ),
        "",
        "| architecture | parameters | BLEU | chrF | steps | train time (s) | paper's claim |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, results in runs.items():
        steps = fmt([r["train_steps"] for r in results], digits=0)
        lines.append(
            f"| {name} | {results[0]['num_parameters']:,} | {fmt([r['test']['bleu'] for r in results])} | "
            f"{fmt([r['test']['chrf'] for r in results])} | {steps} | "
            f"{fmt([r['train_runtime_s'] for r in results], digits=0)} | {ARCHITECTURES[name][1]} |"
        )
    sizes = sorted({str(r["test"]["size"]) for rs in runs.values() for r in rs})
    lines += [
        "",
        (
            f"Test size: {', '.join(sizes)} verses. The papers' numbers come from 6+6 or 12+12-layer models "
            "trained for hours on GPUs."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few steps of a tiny model: checks the pipeline only")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 1 2 3 (quick: 1)")
    parser.add_argument("--steps", type=int, default=300, help="training steps of every run (default 300)")
    parser.add_argument(
        "--architectures",
        nargs="+",
        choices=[stem(c) for c, _ in ARCHITECTURES.values()],
        default=None,
        help="train only these (default: all; the results are written for all only)",
    )
    args = parser.parse_args(argv)
    seeds = args.seeds or ([1] if args.quick else [1, 2, 3])
    common = ["max_train_minutes=null", "save_strategy=no", "disable_tqdm=true"]
    if args.quick:
        common += TRANSLATION_QUICK
        budget = "QUICK MODE (4 steps, d_model 64, 2+2 layers, 256 training / 12 test verses): checks the pipeline only"
    else:
        common += [f"max_steps={args.steps}"]
        budget = f"{args.steps} steps of batch 64 each (the configs' model, optimiser and schedule)"
    folder = runs_dir("seq2seq_quality", args.quick)
    runs = {
        name: [train(config, folder / stem(config) / f"seed{seed}", [*common, f"seed={seed}"]) for seed in seeds]
        for name, (config, _) in ARCHITECTURES.items()
        if args.architectures is None or stem(config) in args.architectures
    }
    if args.architectures is not None:
        return
    settings = {
        "seeds": seeds,
        "quick": args.quick,
        "budget": budget,
        "common_overrides": common,
        "configs": {name: config for name, (config, _) in ARCHITECTURES.items()},
    }
    payload = {
        "settings": settings,
        "results": {
            name: {
                "config": ARCHITECTURES[name][0],
                "paper": ARCHITECTURES[name][1],
                "parameters": results[0]["num_parameters"],
                **translation_summary(results, seeds),
            }
            for name, results in runs.items()
        },
    }
    write_results("seq2seq_quality", payload, markdown(runs, settings), args.quick)


if __name__ == "__main__":
    main()
