"""The main job against a fair baseline: transformers' own ``MarianMTModel`` (``configs/marian_bible.yaml``), the plain
lanco Transformer (dense attention, ``configs/transformer_bible.yaml``) and the Explicit Sparse Transformer
(``configs/explicit_sparse_bible.yaml``, the main job), and the diagnosis of the gap (the lanco Transformer with
Marian's settings, with fairseq's initialisation and with Marian's), all of the main job's shape (its
``model_config`` width, depth, heads and FFN are passed to every arm as overrides), trained by ``lanco-hf train`` for
the same number of steps on the same Bible EN→ES data with the same tokenizer (the cached joint BPE), each with the
training settings that suit it. Validation BLEU is computed every ``--eval-steps`` steps (greedy, through
``Seq2SeqTrainer``'s ``predict_with_generate``), giving learning curves against steps and against training time;
the final models are scored on the test split greedy and with beam 5, and their generation speed (generated tokens
per second, greedy and beam 5, batch 32) is measured round-robin in one process, so every arm sees the same machine.

Writes ``benchmarks/results/main_job_vs_marian.{json,md,png}``; finished runs are reused and ``--arms`` splits the
runs over processes (one per core, ``OMP_NUM_THREADS=1``); the last call writes the results.

    python -m benchmarks.main_job_vs_marian            # 5 arms x the main job's steps, 20-40 min a run on 1 thread
    python -m benchmarks.main_job_vs_marian --quick    # smoke test: tiny models, a few steps
"""

from __future__ import annotations

import argparse
import time

import torch

from .common import interleaved_median
from .replication import RESULTS_DIR, TRANSLATION_QUICK, mean_std, runs_dir, shape_overrides, train, write_results

ARMS = {  # stem (for --arms): (name, config, overrides)
    "marian": ("Marian (transformers MarianMTModel, post-norm)", "configs/marian_bible.yaml", ()),
    "transformer": ("lanco Transformer (dense attention)", "configs/transformer_bible.yaml", ()),
    "explicit_sparse": (
        "Explicit Sparse Transformer (top-k 8), the main job",
        "configs/explicit_sparse_bible.yaml",
        (),
    ),
    # the diagnosis: lanco's post-norm Transformer is Marian's function (tests/modeling/test_initialisation.py), so
    # with Marian's settings only the initialisation differs: fairseq's (the papers' code) or BART / Marian's
    "transformer_postnorm_fairseq_init": (
        "lanco Transformer, post-norm, Marian's settings, fairseq initialisation",
        "configs/transformer_postnorm_bible.yaml",
        ("model_config.init_std=null",),
    ),
    "transformer_postnorm": (
        "lanco Transformer, post-norm, Marian's settings and initialisation",
        "configs/transformer_postnorm_bible.yaml",
        (),
    ),
}


DEFAULT_STEPS = 1200  # every arm the same steps; the main job's budget when the comparison was first run


def main_job_shape() -> list[str]:
    """Overrides giving every arm the main job's shape (width, depth, heads, FFN)."""
    return shape_overrides(ARMS["explicit_sparse"][1])


def generation_speed(run_dirs: dict[str, str], sources: list[str], repeats: int) -> dict[str, dict[str, float]]:
    """Generated tokens per second of each run's saved model, greedy and beam 5 (batches of 32 sources sorted by
    length, at most 128 new tokens), timed round-robin over the arms."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from lanco_hf.evaluation.translation import translate

    loaded = {
        arm: (AutoModelForSeq2SeqLM.from_pretrained(d).eval(), AutoTokenizer.from_pretrained(d))
        for arm, d in run_dirs.items()
    }
    tokens, calls = {}, {}
    for arm, (model, tokenizer) in loaded.items():
        for beams in (1, 5):

            def run(model=model, tokenizer=tokenizer, beams=beams):
                return translate(
                    model, tokenizer, sources, batch_size=32, progress=False, num_beams=beams, max_source_length=64
                )

            # this first call counts the generated tokens and warms the model up for the timed rounds
            tokens[(arm, beams)] = sum(len(tokenizer(text)["input_ids"]) for text in run())
            calls[f"{arm}/{beams}"] = run
    seconds = interleaved_median(calls, repeats=repeats, warmup=0)
    return {
        arm: {f"tokens_per_s_beam{beams}": tokens[(arm, beams)] / seconds[f"{arm}/{beams}"] for beams in (1, 5)}
        for arm in run_dirs
    }


def plot(curves: dict[str, list[list[dict]]], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for arm, runs in curves.items():
        for i, points in enumerate(runs):
            label = ARMS[arm][0] if i == 0 else None
            color = f"C{list(ARMS).index(arm)}"
            axes[0].plot([p["step"] for p in points], [p["bleu"] for p in points], color=color, label=label, marker=".")
            timed = [p for p in points if p["train_seconds"] is not None]  # None: a resumed run's unknown time
            axes[1].plot(
                [p["train_seconds"] / 60 for p in timed],
                [p["bleu"] for p in timed],
                color=color,
                label=label,
                marker=".",
            )
    axes[0].set_xlabel("training step")
    axes[1].set_xlabel("training time (min, one CPU thread)")
    for axis in axes:
        axis.set_ylabel("validation BLEU (greedy)")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle("Bible EN→ES: learning curves at equal steps and equal time")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def markdown(runs: dict[str, list[dict]], speed: dict, settings: dict) -> str:
    lines = [
        "# The main job against transformers' MarianMTModel (Bible EN→ES)",
        "",
        f"{settings['budget']}; seeds {settings['seeds']} (mean ± sample std). Test split, sacrebleu BLEU / chrF.",
        "",
        "| arm | parameters | BLEU greedy | chrF greedy | BLEU beam 5 | chrF beam 5 | train time (s) | "
        "tokens/s greedy | tokens/s beam 5 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for arm, results in runs.items():

        def stat(key, split="test", results=results):
            values = [r[split][key] for r in results if r.get(split)]
            return "{:.2f} ± {:.2f}".format(*mean_std(values)) if values else ""

        time_mean, _ = mean_std([r["train_runtime_s"] for r in results])
        lines.append(
            f"| {ARMS[arm][0]} | {results[0]['num_parameters']:,} | {stat('bleu')} | {stat('chrf')} | "
            f"{stat('bleu', 'test_beam')} | {stat('chrf', 'test_beam')} | {time_mean:.0f} | "
            f"{speed[arm]['tokens_per_s_beam1']:.0f} | {speed[arm]['tokens_per_s_beam5']:.0f} |"
        )
    steps = sorted({p["step"] for results in runs.values() for r in results for p in r["validation_curve"]})
    lines += [
        "",
        "Validation BLEU (greedy, mean over seeds) by training step:",
        "",
        "| step | " + " | ".join(ARMS[arm][0] for arm in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    for step in steps:
        cells = []
        for results in runs.values():
            values = [p["bleu"] for r in results for p in r["validation_curve"] if p["step"] == step]
            cells.append(f"{sum(values) / len(values):.2f}" if values else "")
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Learning curves against steps and against training time: `main_job_vs_marian.png`. Generation "
        "speed: generated tokens per second on the first 256 test sources, batches of 32, median of "
        f"{settings['speed_repeats']} round-robin repeats in one process (torch threads: {settings['threads']}).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few steps of tiny models: checks the pipeline only")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"training steps (default {DEFAULT_STEPS})")
    parser.add_argument("--eval-steps", type=int, default=100, help="validation BLEU every N steps (default 100)")
    parser.add_argument(
        "--arms",
        nargs="+",
        choices=list(ARMS),
        default=None,
        help="train only these (default: all; the results are written for all only)",
    )
    parser.add_argument("--speed-repeats", type=int, default=3)
    args = parser.parse_args(argv)
    steps = 4 if args.quick else args.steps
    eval_steps = 2 if args.quick else args.eval_steps
    common = [
        "max_train_minutes=null",
        "disable_tqdm=true",
        f"max_steps={steps}",
        "eval_strategy=steps",
        f"eval_steps={eval_steps}",
        "predict_with_generate=true",
        "generation_num_beams=1",
        "per_device_eval_batch_size=64",
        "num_beams=5",
        *main_job_shape(),
        *(TRANSLATION_QUICK if args.quick else []),
    ]
    folder = runs_dir("main_job_vs_marian", args.quick)
    arms = args.arms or list(ARMS)
    runs = {
        arm: [
            train(ARMS[arm][1], folder / arm / f"seed{seed}", [*common, *ARMS[arm][2], f"seed={seed}"])
            for seed in args.seeds
        ]
        for arm in arms
    }
    if args.arms is not None:
        return
    from lanco_hf.data.bible import bible_translation_dataset

    sources = bible_translation_dataset()["test"]["en"][: 16 if args.quick else 256]
    started = time.monotonic()
    speed = generation_speed(
        {arm: folder / arm / f"seed{args.seeds[0]}" for arm in ARMS}, sources, 1 if args.quick else args.speed_repeats
    )
    settings = {
        "seeds": args.seeds,
        "quick": args.quick,
        "steps": steps,
        "eval_steps": eval_steps,
        "budget": f"{steps} steps of 64 verse pairs" + (" (QUICK MODE: tiny models)" if args.quick else ""),
        "common_overrides": common,
        "configs": {arm: [config, *overrides] for arm, (_, config, overrides) in ARMS.items()},
        "speed_repeats": 1 if args.quick else args.speed_repeats,
        "threads": torch.get_num_threads(),
        "speed_seconds": time.monotonic() - started,
    }
    payload = {
        "settings": settings,
        "speed": speed,
        "results": {
            arm: [
                {
                    key: r.get(key)
                    for key in (
                        "num_parameters",
                        "test",
                        "test_beam",
                        "train_steps",
                        "train_runtime_s",
                        "train_loss",
                        "validation_curve",
                    )
                }
                for r in results
            ]
            for arm, results in runs.items()
        },
    }
    json_path, _ = write_results("main_job_vs_marian", payload, markdown(runs, speed, settings), args.quick)
    plot(
        {arm: [r["validation_curve"] for r in results] for arm, results in runs.items()}, json_path.with_suffix(".png")
    )
    print(f"wrote {json_path.with_suffix('.png')} ({RESULTS_DIR})")


if __name__ == "__main__":
    main()
