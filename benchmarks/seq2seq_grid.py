"""The four seq2seq papers (and the encouraging loss on translation) replicated on Bible EN→ES at a step budget where
the plain Transformer translates, each method against the baseline its paper compares with, trained by
``lanco-hf train`` for the same number of steps with the same data, tokenizer and seeds.

Arms are a config plus overrides; every headline arm has a ``baseline`` arm, and the tables give BLEU / chrF (test
split, greedy and beam 5) as mean ± sample std over seeds, the difference to the baseline, a paired bootstrap test
over test sentences per seed (sacrebleu's ``PairedTest``, 1,000 resamples: p-value of "no difference"), validation
BLEU learning curves and the paper's own numbers. The grid is ordered: first the headline pair of each paper with 3
seeds (``--group headline``), then the ablations with one seed (``--group ablation``).

Runs are checkpointed (``save_steps``) and reused: a finished run is read back, an interrupted one continues from its
last complete checkpoint (``lanco-hf train --resume``), so the grid can be computed over several sessions, one
process per core (``OMP_NUM_THREADS=1``), split with ``--arms`` / ``--seeds``; the results are written for the arms
that have finished runs (``--write`` writes without training).

    python -m benchmarks.seq2seq_grid --group headline --arms transformer topk8     # train these arms' runs
    python -m benchmarks.seq2seq_grid --write                                       # tables from what has finished
    python -m benchmarks.seq2seq_grid --quick                                       # smoke test: tiny models
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field

from .replication import RESULTS_DIR, TRANSLATION_QUICK, mean_std, runs_dir, shape_overrides, train, write_results


@dataclass(frozen=True)
class Arm:
    name: str
    config: str
    overrides: tuple[str, ...] = ()
    baseline: str | None = None  # the arm this one is compared with
    paper: str = ""
    group: str = "headline"  # "headline" (3 seeds) or "ablation" (1 seed)
    seeds: tuple[int, ...] = field(default=(1, 2, 3))


# One baseline for every paper: the post-norm Transformer (as fairseq's ``transformer`` that all four papers build
# on) with the settings and initialisation that suit it (those of the Marian baseline, ``init_std`` 0.02), the
# strongest Transformer of ``main_job_vs_marian`` (BLEU 19.8 at 1,200 steps, seed 1).
BASE = "configs/transformer_postnorm_bible.yaml"
MUSE = "configs/muse_paper_shape_bible.yaml"  # the paper's shape relation: twice the depth at 3/4 of the width
# label-smoothed EL; the smoothing moves from the Trainer's label_smoothing_factor into the loss
EL = (
    "label_smoothing_factor=0",
    "loss.name=encouraging",
    "loss.log_end=0.5",
    "loss.label_smoothing=0.1",
    "loss.bonus_label_smoothing=0.1",
)
# MUSE at the baseline's own shape (width, depth, heads, FFN): an ablation, not a paper setting
BASE_SHAPE = tuple(shape_overrides(BASE))
ARMS = {
    arm.name: arm
    for arm in [
        Arm(
            "transformer",
            BASE,
            paper="Transformer baselines (post-norm): IWSLT14 De-En 34.4-35.5 (the papers' re-implementations)",
        ),
        Arm(
            "topk8",
            BASE,
            ("model_config.attn_topk=8",),
            "transformer",
            "Explicit Sparse, Table 1: k=8 37.64 vs full 37.10 (IWSLT17 Fr-En), 33.61 vs 33.73 (WMT16 En-Ro)",
        ),
        Arm(
            "adanorm",
            BASE,
            ("model_config.norm_type=adanorm",),
            "transformer",
            "AdaNorm 35.6 vs LayerNorm 35.5 (IWSLT14 De-En), 28.5 vs 28.3 (WMT14 En-De)",
        ),
        Arm("muse", MUSE, (), "transformer", "MUSE 36.3 vs Transformer 35.3 (IWSLT14 De-En, 12+12 d 384 vs 6+6 d 512)"),
        Arm(
            "gca",
            BASE,
            ("model_config.cross_view_routing=gca",),
            "transformer",
            "layer-wise cross-view decoding: GCA > last on IWSLT14 De-En and WMT14",
        ),
        # the baseline of the EL paper, label-smoothed CE, is the transformer arm itself (it smooths by 0.1)
        Arm("ls_el", BASE, EL, "transformer", "label-smoothed EL > label-smoothed CE on IWSLT14 De-En (EL paper)"),
        # ablations: one seed each, more if time allows
        Arm(
            "topk4",
            BASE,
            ("model_config.attn_topk=4",),
            "transformer",
            "Table 1: k=4 37.25 vs full 37.10 (Fr-En)",
            "ablation",
            (1,),
        ),
        Arm(
            "layernorm_simple",
            BASE,
            ("model_config.norm_type=layernorm_simple",),
            "transformer",
            "LayerNorm-simple 35.5 vs LayerNorm 35.5 (De-En)",
            "ablation",
            (1,),
        ),
        Arm(
            "detachnorm",
            BASE,
            ("model_config.norm_type=detachnorm",),
            "transformer",
            "DetachNorm 33.9 vs LayerNorm 35.5 (De-En)",
            "ablation",
            (1,),
        ),
        Arm(
            "muse_simple",
            MUSE,
            ("model_config.muse_variant=muse_simple",),
            "transformer",
            "MUSE-simple 35.8 vs Transformer 35.3 (De-En)",
            "ablation",
            (1,),
        ),
        Arm(
            "muse_equal_shape",
            MUSE,
            BASE_SHAPE,
            "transformer",
            "MUSE at the Transformer's exact shape (not a paper setting)",
            "ablation",
            (1,),
        ),
    ]
}
QUICK = [*TRANSLATION_QUICK, "eval_steps=2", "save_steps=2"]
DEFAULT_STEPS = 1200  # the post-norm baseline: BLEU 19.8 here (main_job_vs_marian)


def common_overrides(steps: int) -> list[str]:
    return [
        "max_train_minutes=null",
        "disable_tqdm=true",
        f"max_steps={steps}",
        "eval_strategy=steps",
        f"eval_steps={max(steps // 6, 1)}",
        "predict_with_generate=true",
        "generation_num_beams=1",
        "per_device_eval_batch_size=64",
        "save_strategy=steps",
        f"save_steps={max(steps // 10, 1)}",
        "save_total_limit=4",
        "num_beams=5",
    ]


def paired_bootstrap(run_dir_a, run_dir_b, references: list[str], samples: int = 1000) -> dict:
    """sacrebleu's paired bootstrap test of system B against system A (greedy test translations of each run)."""
    from sacrebleu.metrics import BLEU
    from sacrebleu.significance import PairedTest

    hyps = [(d / "test_translations.txt").read_text(encoding="utf-8").splitlines() for d in (run_dir_a, run_dir_b)]
    if hyps[0] == hyps[1]:  # sacrebleu counts a zero difference as never reached by chance (p = 1 / (samples + 1))
        return {"p_value": 1.0, "bleu_delta": 0.0}
    test = PairedTest(
        [("baseline", hyps[0]), ("method", hyps[1])], {"BLEU": BLEU()}, [references], test_type="bs", n_samples=samples
    )
    _, results = test()
    method = results["BLEU"][1]
    return {"p_value": method.p_value, "bleu_delta": method.score - results["BLEU"][0].score}


def summary(arm: Arm, results: list[dict]) -> dict:
    def stat(split, key):
        values = [r[split][key] for r in results if r.get(split)]
        return mean_std(values) if values else None

    return {
        "config": arm.config,
        "overrides": list(arm.overrides),
        "baseline": arm.baseline,
        "paper": arm.paper,
        "parameters": results[0]["num_parameters"],
        "seeds": list(arm.seeds)[: len(results)],
        "bleu": stat("test", "bleu"),
        "chrf": stat("test", "chrf"),
        "bleu_beam5": stat("test_beam", "bleu"),
        "chrf_beam5": stat("test_beam", "chrf"),
        "per_seed": [
            {
                "bleu": r["test"]["bleu"],
                "chrf": r["test"]["chrf"],
                "train_loss": r["train_loss"],
                "train_steps": r["train_steps"],
                "train_runtime_s": r["train_runtime_s"],
                "bleu_beam5": (r.get("test_beam") or {}).get("bleu"),
                "validation_curve": r.get("validation_curve"),
            }
            for r in results
        ],
    }


def fmt(pair, seeds: int, digits=2) -> str:
    """mean ± sample std; the mean alone for one seed (no spread to report)."""
    if pair is None:
        return ""
    return f"{pair[0]:.{digits}f}" if seeds == 1 else f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def markdown(table: dict, settings: dict) -> str:
    lines = [
        "# Seq2seq methods on Bible EN→ES at a budget where models translate",
        "",
        f"`lanco-hf train CONFIG` + overrides, {settings['budget']}; mean ± sample std over seeds; sacrebleu BLEU / "
        "chrF on the test split. Δ: difference of the mean BLEU to the baseline arm; p: paired bootstrap "
        "(1,000 resamples) of each seed's test translations against the same seed's baseline.",
        "",
        "| arm | baseline | seeds | parameters | BLEU greedy | chrF greedy | BLEU beam 5 | Δ BLEU | p per seed | "
        "paper |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in table.items():
        delta = ""
        if row["baseline"] in table:
            delta = f"{row['bleu'][0] - table[row['baseline']]['bleu'][0]:+.2f}"
        pvalues = ", ".join(f"{t['p_value']:.3f}" for t in row.get("significance", []))
        seeds = len(row["per_seed"])
        lines.append(
            f"| {name} | {row['baseline'] or ''} | {seeds} | {row['parameters']:,} | "
            f"{fmt(row['bleu'], seeds)} | {fmt(row['chrf'], seeds)} | {fmt(row['bleu_beam5'], seeds)} | {delta} | "
            f"{pvalues} | "
            f"{row['paper']} |"
        )
    lines += [
        "",
        "Settings of every arm: `" + " ".join(settings["common_overrides"]) + "` plus the arm's config and "
        "overrides (in the JSON file). Learning curves: the `.png` file beside this one.",
        "",
    ]
    return "\n".join(lines)


def plot(table: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for i, (name, row) in enumerate(table.items()):
        for j, seed in enumerate(row["per_seed"]):
            curve = seed["validation_curve"] or []
            axis.plot(
                [p["step"] for p in curve],
                [p["bleu"] for p in curve],
                color=f"C{i % 10}",
                label=name if j == 0 else None,
                alpha=0.8,
            )
    axis.set_xlabel("training step")
    axis.set_ylabel("validation BLEU (greedy)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few steps of tiny models: checks the pipeline only")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"training steps (default {DEFAULT_STEPS})")
    parser.add_argument("--group", choices=["headline", "ablation", "all"], default="all")
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: each arm's own seeds")
    parser.add_argument("--write", action="store_true", help="only write the tables from the finished runs")
    args = parser.parse_args(argv)
    steps = 4 if args.quick else args.steps
    common = common_overrides(steps)
    tiny = QUICK if args.quick else []  # last, so that they also shrink the arms that set a shape
    folder = runs_dir("seq2seq_grid", args.quick)
    chosen = [
        arm
        for arm in ARMS.values()
        if (args.arms is None or arm.name in args.arms) and (args.group == "all" or arm.group == args.group)
    ]
    if not args.write:
        rounds = max((len(args.seeds or arm.seeds) for arm in chosen), default=0)
        for position in range(rounds):  # the first seed of every arm first, so a stopped grid has the most pairs
            for arm in chosen:
                seeds = args.seeds or arm.seeds
                if position < len(seeds):
                    seed = seeds[position]
                    train(
                        arm.config,
                        folder / arm.name / f"seed{seed}",
                        [*common, *arm.overrides, f"seed={seed}", *tiny],
                        resume=True,
                    )
    finished = {}
    for arm in ARMS.values():
        results = []
        for seed in arm.seeds:
            path = folder / arm.name / f"seed{seed}" / "results.json"
            if path.exists():
                results.append(json.loads(path.read_text()))
        if results:
            finished[arm.name] = (arm, results)
    if not finished:
        print("no finished runs yet")
        return
    from lanco_hf.data.bible import bible_translation_dataset

    references = bible_translation_dataset()["test"]["es"]
    table = {}
    for name, (arm, results) in finished.items():
        table[name] = summary(arm, results)
        if arm.baseline in finished:
            table[name]["significance"] = [
                {
                    "seed": seed,
                    **paired_bootstrap(
                        folder / arm.baseline / f"seed{seed}",
                        folder / name / f"seed{seed}",
                        references[: results[0]["test"]["size"]],
                    ),
                }
                for seed in arm.seeds
                if (folder / arm.baseline / f"seed{seed}" / "results.json").exists()
                and (folder / name / f"seed{seed}" / "results.json").exists()
            ]
    settings = {
        "steps": steps,
        "quick": args.quick,
        "common_overrides": [*common, *tiny],
        "budget": f"{steps} steps of 64 verse pairs" + (" (QUICK MODE: tiny models)" if args.quick else ""),
    }
    json_path, _ = write_results(
        "seq2seq_grid", {"settings": settings, "arms": table}, markdown(table, settings), args.quick
    )
    plot(table, json_path.with_suffix(".png"))
    print(f"results in {RESULTS_DIR}")


if __name__ == "__main__":
    main()
