"""Replication of the encouraging loss on translation: Bible EN→ES with the foundation architecture (Explicit
Sparse Transformer, ``configs/explicit_sparse_bible.yaml``), label-smoothed cross-entropy (the config's own
``label_smoothing_factor`` 0.1) against label-smoothed EL with the conservative bonus at log_end 0.5 (the
paper's machine-translation setting: ``label_smoothing`` 0.1 on the likelihood, ``bonus_label_smoothing`` 0.1
on the bonus, rho 1), both for the same number of steps and seeds, scored with BLEU / chrF (sacrebleu, greedy)
on the 627 test verses. Writes ``benchmarks/results/encouraging_loss_translation.{json,md}``.

    # 2 x 3 runs of 300 steps, about 12 min a run on 1 CPU thread
    python -m benchmarks.encouraging_loss_translation
    python -m benchmarks.encouraging_loss_translation --quick    # smoke test, about 2 min once the corpus is cached
"""

from __future__ import annotations

import argparse

from .replication import fmt, runs_dir, train, translation_summary, write_results

CONFIG = "configs/explicit_sparse_bible.yaml"
PAPER = (
    "IWSLT14 De-En / IWSLT17 Fr-En (fairseq): label-smoothed EL (log_end 0.5) > label-smoothed CE "
    "(BLEU tables not verified)"
)
ARMS = {
    "label-smoothed CE (eps 0.1)": ["label_smoothing_factor=0.1"],
    "label-smoothed EL (log_end 0.5, eps 0.1 / 0.1)": [
        "label_smoothing_factor=0",
        "loss.name=encouraging",
        "loss.log_end=0.5",
        "loss.rho=1.0",
        "loss.label_smoothing=0.1",
        "loss.bonus_label_smoothing=0.1",
    ],
}


def markdown(runs: dict[str, list[dict]], settings: dict) -> str:
    lines = [
        "# Encouraging loss on Bible EN→ES translation",
        "",
        (
            f"`lanco-hf train {CONFIG}` with {settings['budget']}; seeds {settings['seeds']}, mean ± sample std; "
            "greedy decoding, sacrebleu BLEU / chrF on the test split."
        ),
        "",
        "| loss | BLEU | chrF | final train loss | steps | train time (s) | paper's direction |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm, results in runs.items():
        paper = "baseline" if arm.startswith("label-smoothed CE") else PAPER
        lines.append(
            f"| {arm} | {fmt([r['test']['bleu'] for r in results])} | {fmt([r['test']['chrf'] for r in results])} | "
            f"{fmt([r['train_loss'] for r in results], digits=3)} | {results[0]['train_steps']} | "
            f"{fmt([r['train_runtime_s'] for r in results], digits=0)} | {paper} |"
        )
    lines += [
        "",
        "The training losses are not comparable across rows: EL adds a (negative) bonus to the likelihood.",
        "Test size: " + ", ".join(sorted({str(r["test"]["size"]) for rs in runs.values() for r in rs})) + " verses.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few steps of a tiny model: checks the pipeline only")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 1 2 3 (quick: 1 2)")
    parser.add_argument("--steps", type=int, default=300, help="training steps of every run (default 300)")
    args = parser.parse_args(argv)
    seeds = args.seeds or ([1, 2] if args.quick else [1, 2, 3])
    common = ["max_train_minutes=null", "save_strategy=no", "disable_tqdm=true"]
    if args.quick:
        common += [
            "max_steps=10",
            "warmup_steps=5",
            "max_test_samples=20",
            "max_new_tokens=32",
            "num_examples_to_show=1",
            "model_config.d_model=64",
            "model_config.encoder_ffn_dim=128",
            "model_config.decoder_ffn_dim=128",
            "model_config.encoder_layers=1",
            "model_config.decoder_layers=1",
        ]
        budget = (
            "QUICK MODE (10 steps, d_model 64, 1+1 layers, 20 test verses): checks the pipeline, not the method; "
            "after 10 steps every p is near 1/V, where the bonus log(1 - p) is about -p, so the arms coincide"
        )
    else:
        common += [f"max_steps={args.steps}"]
        budget = f"{args.steps} steps of batch 64 each (the config's model, optimiser and schedule)"
    folder = runs_dir("encouraging_translation", args.quick)
    runs = {
        arm: [
            train(
                CONFIG, folder / ("el" if "EL" in arm else "ce") / f"seed{seed}", [*common, *overrides, f"seed={seed}"]
            )
            for seed in seeds
        ]
        for arm, overrides in ARMS.items()
    }
    settings = {
        "seeds": seeds,
        "quick": args.quick,
        "budget": budget,
        "config": CONFIG,
        "common_overrides": common,
        "arm_overrides": ARMS,
    }
    payload = {
        "settings": settings,
        "paper": PAPER,
        "results": {
            arm: {
                **translation_summary(results, seeds),
                "loss": results[0]["loss"],
            }
            for arm, results in runs.items()
        },
    }
    write_results("encouraging_loss_translation", payload, markdown(runs, settings), args.quick)


if __name__ == "__main__":
    main()
