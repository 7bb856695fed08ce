"""The four seq2seq papers (and the encouraging loss on translation) replicated on Bible EN→ES at a step budget where
the plain Transformer translates, each method against the baseline its paper compares with, trained by
``lanco-hf train`` for the same number of steps with the same data, tokenizer and seeds.

Arms are a config plus overrides; every method arm has a ``baseline`` arm, and the tables (one per paper) give BLEU /
chrF (test split, greedy and beam 5) as mean ± sample std over seeds, the difference to the baseline over the seeds
both finished, a paired bootstrap test over test sentences per seed (sacrebleu's ``PairedTest``, 1,000 resamples:
p-value of "no difference"), validation BLEU learning curves and the paper's own numbers. A reference table comes
first: transformers' own ``MarianMTModel`` of the baseline's shape and settings against the baseline (``marian``), so
that the baseline every paper is judged against is shown to be as good as transformers' own. The grid is ordered:
first the headline pair of each paper with 3 seeds (``--group headline``), then the ablations with one seed
(``--group ablation``).

Runs are checkpointed (``save_steps``) and reused: a finished run is read back, an interrupted one continues from its
last complete checkpoint (``lanco-hf train --resume``), so the grid can be computed over several sessions, one
process per core (``OMP_NUM_THREADS=1``), split with ``--arms`` / ``--seeds``; the results are written for the arms
that have finished runs (``--write`` writes without training). The run folders (``runs/``) stay on the machine that
trained them; what the tables need of a finished run, its ``results.json`` and greedy test translations, is recorded
in ``benchmarks/results/seq2seq_grid_runs/ARM/seedN/`` and committed, and the tables are computed from that record,
so runs made on different machines add up and the paired tests can be recomputed from a fresh clone.

    python -m benchmarks.seq2seq_grid --group headline --arms transformer topk8     # train these arms' runs
    python -m benchmarks.seq2seq_grid --write                                       # tables from what has finished
    python -m benchmarks.seq2seq_grid --write --readme      # also the README's "Replicated so far" rows of the grid
    python -m benchmarks.seq2seq_grid --quick                                       # smoke test: tiny models

``--settings iwslt`` runs the same arms at the papers' own model size and training recipe (fairseq's
``transformer_iwslt_de_en``, MUSE's 12+12 layers at d 384; ``configs/*_iwslt_bible.yaml``), sized for a GPU, in
parallel processes (``--jobs``); ``--fit-seconds`` first times a few steps of every run side by side and sets the
step budget to what fits, the same for every arm (a fixed number, recorded, so the result is reproducible). Each
budget's runs and tables are kept apart (``seq2seq_grid_iwslt_<N>steps.*``); ``--write --steps N`` rewrites one:

    python -m benchmarks.seq2seq_grid --settings iwslt --group headline --seeds 1 2 --jobs 12 --fit-seconds 270
    python -m benchmarks.seq2seq_grid --settings iwslt --write --steps 400
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from .replication import (
    RESULTS_DIR,
    ROOT,
    TRANSLATION_QUICK,
    mean_std,
    runs_dir,
    shape_overrides,
    train,
    translation_summary,
    write_results,
)


@dataclass(frozen=True)
class Arm:
    name: str
    config: str
    overrides: tuple[str, ...] = ()
    baseline: str | None = None  # the arm this one is compared with
    paper: str = ""  # the paper's own numbers and direction
    method: str | None = None  # whose table the arm is in: a key of lanco_hf.hub.methods.METHODS, or REFERENCE
    group: str = "headline"  # "headline" (3 seeds) or "ablation" (1 seed)
    seeds: tuple[int, ...] = field(default=(1, 2, 3))


# One baseline for every paper: the post-norm Transformer (as fairseq's ``transformer`` that all four papers build
# on) with the settings and initialisation that suit it (those of the Marian baseline, ``init_std`` 0.02), the
# strongest Transformer of ``main_job_vs_marian`` (BLEU 19.8 at 1,200 steps, seed 1). It heads every paper's table.
BASE = "configs/transformer_postnorm_bible.yaml"
PRENORM = "configs/transformer_bible.yaml"  # the main job's dense twin: pre-norm, its settings
MUSE = "configs/muse_paper_shape_bible.yaml"  # the paper's shape relation: twice the depth at 3/4 of the width
MARIAN = "configs/marian_bible.yaml"  # transformers' own MarianMTModel of the baseline's shape, with its settings
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
ABLATION = {"group": "ablation", "seeds": (1,)}  # one seed each, more if time allows
# Not a paper's table: transformers' MarianMTModel against the grid's baseline, whose function it is (post-norm, the
# same shape, settings and initialisation; tests/modeling/test_initialisation.py). Its Δ BLEU is Marian's minus the
# lanco Transformer's: lanco's baseline is as good as transformers' own when the difference is not significant.
REFERENCE = "reference"
REFERENCE_HEADING = (
    "Reference: transformers' MarianMTModel",
    "Not a paper's claim: the lanco Transformer must be as good as transformers' own model of the same shape and "
    "settings, trained by the same `lanco-hf train`; Δ BLEU is Marian's minus the lanco Transformer's.",
)
ARMS = {
    arm.name: arm
    for arm in [
        Arm(
            "transformer",
            BASE,
            paper="Transformer baselines (post-norm): IWSLT14 De-En 34.4-35.5 (the papers' re-implementations)",
        ),
        Arm(
            "marian",
            MARIAN,
            (),
            "transformer",
            "transformers' MarianMTModel, the baseline's shape and settings (main_job_vs_marian, seed 1: 20.01 vs "
            "the lanco Transformer's 19.78)",
            REFERENCE,
        ),
        Arm(
            "topk8",
            BASE,
            ("model_config.attn_topk=8",),
            "transformer",
            "Table 1: k=8 37.64 vs full 37.10 (IWSLT17 Fr-En), 33.61 vs 33.73 (WMT16 En-Ro)",
            "explicit_sparse",
        ),
        Arm(
            "adanorm",
            BASE,
            ("model_config.norm_type=adanorm",),
            "transformer",
            "AdaNorm 35.6 vs LayerNorm 35.5 (IWSLT14 De-En), 28.5 vs 28.3 (WMT14 En-De)",
            "adanorm",
        ),
        Arm(
            "muse",
            MUSE,
            (),
            "transformer",
            "MUSE 36.3 vs Transformer 35.3 (IWSLT14 De-En, 12+12 d 384 vs 6+6 d 512)",
            "muse",
        ),
        Arm(
            "gca",
            BASE,
            ("model_config.cross_view_routing=gca",),
            "transformer",
            "GCA > last-layer cross-attention on IWSLT14 De-En and WMT14",
            "cross_view",
        ),
        # the baseline of the EL paper, label-smoothed CE, is the transformer arm itself (it smooths by 0.1)
        Arm(
            "ls_el",
            BASE,
            EL,
            "transformer",
            "label-smoothed EL > label-smoothed CE on IWSLT14 De-En",
            "encouraging_loss",
        ),
        Arm(
            "topk4",
            BASE,
            ("model_config.attn_topk=4",),
            "transformer",
            "Table 1: k=4 37.25 vs full 37.10 (Fr-En)",
            "explicit_sparse",
            **ABLATION,
        ),
        Arm(
            "layernorm_simple",
            BASE,
            ("model_config.norm_type=layernorm_simple",),
            "transformer",
            "LayerNorm-simple 35.5 vs LayerNorm 35.5 (De-En)",
            "adanorm",
            **ABLATION,
        ),
        Arm(
            "detachnorm",
            BASE,
            ("model_config.norm_type=detachnorm",),
            "transformer",
            "DetachNorm 33.9 vs LayerNorm 35.5 (De-En); diverges on WMT14 En-De",
            "adanorm",
            **ABLATION,
        ),
        # DetachNorm does not learn at the baseline's learning rate (BLEU 0.1 at 3 seeds): slow or stuck? The same
        # run at half and a quarter of it
        Arm(
            "detachnorm_lr_half",
            BASE,
            ("model_config.norm_type=detachnorm", "learning_rate=6e-4"),
            "transformer",
            "DetachNorm at half the baseline's learning rate (not a paper setting)",
            "adanorm",
            **ABLATION,
        ),
        Arm(
            "detachnorm_lr_quarter",
            BASE,
            ("model_config.norm_type=detachnorm", "learning_rate=3e-4"),
            "transformer",
            "DetachNorm at a quarter of the baseline's learning rate (not a paper setting)",
            "adanorm",
            **ABLATION,
        ),
        # the official AdaNorm translation script trains pre-norm (--encoder/decoder-normalize-before, C = 2): the
        # pair again on the pre-norm Transformer of the main job's settings
        Arm(
            "transformer_prenorm",
            PRENORM,
            paper="the official AdaNorm script's Transformer is pre-norm",
            method="adanorm",
            **ABLATION,
        ),
        Arm(
            "adanorm_prenorm",
            PRENORM,
            ("model_config.norm_type=adanorm",),
            "transformer_prenorm",
            "AdaNorm 35.6 vs LayerNorm 35.5 (De-En), the official script's pre-norm",
            "adanorm",
            **ABLATION,
        ),
        Arm(
            "muse_simple",
            MUSE,
            ("model_config.muse_variant=muse_simple",),
            "transformer",
            "MUSE-simple 35.8 vs Transformer 35.3 (De-En)",
            "muse",
            **ABLATION,
        ),
        Arm(
            "muse_equal_shape",
            MUSE,
            BASE_SHAPE,
            "transformer",
            "MUSE at the Transformer's exact shape (not a paper setting)",
            "muse",
            **ABLATION,
        ),
    ]
}
QUICK = [*TRANSLATION_QUICK, "eval_steps=2", "save_steps=2"]
DEFAULT_STEPS = 1200  # the post-norm baseline: BLEU 19.8 here (main_job_vs_marian)


@dataclass(frozen=True)
class Settings:
    """Where the grid runs: which config each arm's config becomes, and where runs, records and tables go."""

    name: str  # the runs folder and the results files' stem
    configs: dict[str, str]  # an arm's config -> the config it trains with here (arms of other configs are left out)
    title: str
    excluded: tuple[str, ...] = ()  # arms that have no meaning here
    # a GPU recipe (``common_overrides``) whose step budget is fitted to the machine it is lent: the budget is part
    # of the folders' and files' names, so that each budget's runs are a table of their own, never mixed
    gpu: bool = False

    def stem(self, steps: int) -> str:
        return f"{self.name}_{steps}steps" if self.gpu else self.name


SETTINGS = {
    # 2 CPU cores: the grid's own small models, 1,200 steps of 64 verse pairs, checkpointed and continued
    "bible": Settings(
        "seq2seq_grid",
        {BASE: BASE, PRENORM: PRENORM, MUSE: MUSE, MARIAN: MARIAN},
        "Seq2seq methods on Bible EN→ES at a budget where models translate",
    ),
    # a GPU: the papers' own model sizes and recipe (fairseq's IWSLT14 De-En), on the same data and tokenizer
    "iwslt": Settings(
        "seq2seq_grid_iwslt",
        {BASE: "configs/transformer_iwslt_bible.yaml", MUSE: "configs/muse_iwslt_bible.yaml"},
        "Seq2seq methods on Bible EN→ES at the papers' own model size and recipe (fairseq's IWSLT14 De-En)",
        excluded=("muse_equal_shape",),  # its overrides are the small baseline's shape
        gpu=True,
    ),
}


def arms_of(settings: Settings) -> dict[str, Arm]:
    """The grid's arms under ``settings``, each with its config replaced by the one it trains with there."""
    return {
        name: replace(arm, config=settings.configs[arm.config])
        for name, arm in ARMS.items()
        if arm.config in settings.configs and name not in settings.excluded
    }


def common_overrides(steps: int, settings: Settings = SETTINGS["bible"]) -> list[str]:
    if settings.gpu:
        # the recipe's warm-up (4,000 of 20k updates) scaled to the budget; four validations; no checkpoints (a
        # GPU machine is lent for one call: nothing to continue from); bf16 mixed precision (fairseq's recipes train
        # in fp16) and TF32 for what stays in fp32: a GPU recipe
        return [
            "bf16=true",
            "tf32=true",
            "max_train_minutes=null",
            "disable_tqdm=true",
            f"max_steps={steps}",
            f"warmup_steps={max(steps // 5, 1)}",
            "eval_strategy=steps",
            f"eval_steps={max(steps // 4, 1)}",
            "predict_with_generate=true",
            "generation_num_beams=1",
            "save_strategy=no",
            "num_beams=5",
        ]
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


RECORDED = ("results.json", "test_translations.txt")  # what the tables need of a finished run


def records_dir(quick: bool, name: str = "seq2seq_grid"):
    """Where the grid records its finished runs (``RECORDED`` of each): committed, unlike the run folders; the
    ``--quick`` record is ignored by git (``*_quick*``)."""
    return RESULTS_DIR / (f"{name}_quick_runs" if quick else f"{name}_runs")


def finished_seeds(folder, arm: Arm) -> list[int]:
    """The seeds of ``arm`` with a finished run (a ``results.json``) in ``folder``, in order: its own seeds and any
    other (an ablation given more seeds with ``--seeds``)."""
    names = (path.parent.name.removeprefix("seed") for path in (folder / arm.name).glob("seed*/results.json"))
    return sorted(int(name) for name in names if name.isdigit())


def record_runs(folder, records, arms: dict[str, Arm] = ARMS) -> list[str]:
    """Copy what the tables need of every finished run in ``folder`` (the run folders) into ``records``, replacing
    an earlier record of the same arm and seed; returns the runs copied (``arm/seedN``)."""
    copied = []
    for arm in arms.values():
        for seed in finished_seeds(folder, arm):
            run = folder / arm.name / f"seed{seed}"
            target = records / arm.name / f"seed{seed}"
            target.mkdir(parents=True, exist_ok=True)
            for name in RECORDED:
                shutil.copyfile(run / name, target / name)
            copied.append(f"{arm.name}/seed{seed}")
    return copied


def paired_test(records, arm: Arm, seed: int, results: dict, base_results: dict, references: list[str]) -> dict:
    """The paired bootstrap test of ``arm``'s run of ``seed`` (its ``results``) against its baseline's, from their
    recorded test translations. A record whose translations were lost with the machine that trained it keeps the test
    computed then (``paired_test`` in its ``results.json``), used while the baseline's record is the run it was
    computed against (the same test BLEU); otherwise the p-value is ``None``, unknown (the BLEU difference is the
    records')."""
    base, method = records / arm.baseline / f"seed{seed}", records / arm.name / f"seed{seed}"
    if all((run / "test_translations.txt").exists() for run in (base, method)):
        return paired_bootstrap(base, method, references)
    recorded = results.get("paired_test")
    if recorded and recorded["baseline_bleu"] == base_results["test"]["bleu"]:
        return {"p_value": recorded["p_value"], "bleu_delta": recorded["bleu_delta"]}
    return {"p_value": None, "bleu_delta": results["test"]["bleu"] - base_results["test"]["bleu"]}


def finished_runs(folder, arms: dict[str, Arm] = ARMS) -> dict[str, tuple[Arm, dict[int, dict]]]:
    """The results of every arm's finished runs, by seed (arms without one are left out)."""
    finished = {}
    for arm in arms.values():
        runs = {
            seed: json.loads((folder / arm.name / f"seed{seed}" / "results.json").read_text())
            for seed in finished_seeds(folder, arm)
        }
        if runs:
            finished[arm.name] = (arm, runs)
    return finished


def summary(arm: Arm, runs: dict[int, dict]) -> dict:
    """One arm's scores, mean ± std over its finished seeds (``translation_summary``, with beam 5 beside greedy), and
    each seed's scores, training figures and curve."""

    scores = translation_summary(list(runs.values()), list(runs))
    for seed, r in zip(scores["per_seed"], runs.values()):
        seed["bleu_beam5"] = (r.get("test_beam") or {}).get("bleu")
        seed["chrf_beam5"] = (r.get("test_beam") or {}).get("chrf")
        seed["validation_curve"] = r.get("validation_curve")

    def beam(key):  # unknown unless every seed has it (a run rebuilt from an earlier table lacks beam 5's chrF)
        values = [seed[f"{key}_beam5"] for seed in scores["per_seed"]]
        return None if None in values else mean_std(values)

    return {
        "config": arm.config,
        "overrides": list(arm.overrides),
        "baseline": arm.baseline,
        "method": arm.method,
        "paper": arm.paper,
        "parameters": next(iter(runs.values()))["num_parameters"],
        "seeds": list(runs),
        "bleu": scores["bleu"],
        "chrf": scores["chrf"],
        "bleu_beam5": beam("bleu"),
        "chrf_beam5": beam("chrf"),
        "per_seed": scores["per_seed"],
    }


def tabulate(finished: dict[str, tuple[Arm, dict[int, dict]]], folder, references: list[str]) -> dict:
    """Every finished arm's summary. An arm whose baseline finished some of the same seeds also gets, over those
    seeds, the BLEU difference (mean ± std of the per-seed differences) and a paired bootstrap test per seed."""
    table = {}
    for name, (arm, runs) in finished.items():
        table[name] = summary(arm, runs)
        base_runs = finished[arm.baseline][1] if arm.baseline in finished else {}
        paired = [seed for seed in runs if seed in base_runs]
        if not paired:
            continue
        table[name]["paired_seeds"] = paired
        table[name]["bleu_delta"] = mean_std([runs[s]["test"]["bleu"] - base_runs[s]["test"]["bleu"] for s in paired])
        table[name]["chrf_delta"] = mean_std([runs[s]["test"]["chrf"] - base_runs[s]["test"]["chrf"] for s in paired])
        table[name]["significance"] = [
            {
                "seed": seed,
                **paired_test(folder, arm, seed, runs[seed], base_runs[seed], references[: runs[seed]["test"]["size"]]),
            }
            for seed in paired
        ]
    return table


def pvalue(test: dict) -> str:
    return "unknown" if test["p_value"] is None else f"{test['p_value']:.3f}"


def fmt(pair, seeds: int, digits=2, sign="") -> str:
    """mean ± sample std; the mean alone for one seed (no spread to report)."""
    if pair is None:
        return ""
    mean = f"{pair[0] if round(pair[0], digits) else 0.0:{sign}.{digits}f}"  # no "-0.0"
    return mean if seeds == 1 else f"{mean} ± {pair[1]:.{digits}f}"


def tables(table: dict) -> dict[str, list[str]]:
    """Every paper of the grid, in its order, with its finished arms, each arm's baseline before it."""
    by_method: dict[str, list[str]] = {}
    for arm in ARMS.values():
        if arm.method is None:
            continue
        names = by_method.setdefault(arm.method, [])
        for name in (arm.baseline, arm.name):
            if name in table and name not in names:
                names.append(name)
    return by_method


def heading(key: str) -> tuple[str, str]:
    """A table's title and the line under it: the method's name and paper, or the reference table's."""
    from lanco_hf.hub.methods import METHODS

    if key == REFERENCE:
        return REFERENCE_HEADING
    method = METHODS[key]
    return method.name, f"{method.paper} ({method.url})"


def change(row: dict, arms: dict[str, Arm] = ARMS) -> str:
    """What an arm changes from its baseline: its config where that differs, and its overrides."""
    if row["baseline"] is None:
        return f"baseline: `{row['config']}`"
    parts = ([] if row["config"] == arms[row["baseline"]].config else [row["config"]]) + row["overrides"]
    return " ".join(f"`{part}`" for part in parts)


def markdown(table: dict, settings: dict, arms: dict[str, Arm] = ARMS) -> str:
    lines = [
        f"# {settings.get('title', SETTINGS['bible'].title)}",
        "",
        f"`lanco-hf train CONFIG` + overrides, {settings['budget']}; mean ± sample std over seeds; sacrebleu BLEU / "
        "chrF on the test split. Δ BLEU: the per-seed difference to the baseline, mean ± std over the seeds both "
        "finished; p: paired bootstrap (1,000 resamples) of each seed's test translations against the same seed's "
        "baseline (seed: p-value).",
    ]
    for key, names in tables(table).items():
        title, source = heading(key)
        lines += [
            "",
            f"## {title}",
            "",
            source,
            "",
            "| arm | change | seeds | parameters | BLEU greedy | chrF greedy | BLEU beam 5 | Δ BLEU | p | paper |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name in names:
            row = table[name]
            seeds = len(row["seeds"])
            pvalues = ", ".join(f"{t['seed']}: {pvalue(t)}" for t in row.get("significance", []))
            lines.append(
                f"| {name} | {change(row, arms)} | {', '.join(map(str, row['seeds']))} | {row['parameters']:,} | "
                f"{fmt(row['bleu'], seeds)} | {fmt(row['chrf'], seeds)} | {fmt(row['bleu_beam5'], seeds)} | "
                f"{fmt(row.get('bleu_delta'), len(row.get('paired_seeds', [])), sign='+')} | {pvalues} | "
                f"{row['paper']} |"
            )
        missing = [arm.name for arm in arms.values() if arm.method == key and arm.name not in table]
        if missing:
            lines += ["", "No finished run yet: " + ", ".join(missing) + "."]
    lines += [
        "",
        "Settings of every arm: `" + " ".join(settings["common_overrides"]) + "` plus the arm's config and "
        "overrides. Learning curves (validation BLEU, mean over seeds, shaded from the lowest to the highest seed): "
        "the `.png` file beside this one.",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class ReadmeRow:
    """A headline arm's row of the README's "Replicated so far" table (its numbers come from the grid's table)."""

    experiment: str  # may use {parameters} and {baseline_parameters}, in millions
    label: str  # the method's name in the result cell
    claim: str  # the paper's result and direction
    note: str = ""


README_ROWS = {
    "topk8": ReadmeRow(
        "Explicit Sparse: top-k attention (k = 8) vs dense, post-norm Transformer d 192, Bible EN→ES, 1,200 steps",
        "top-k 8",
        "paper (Table 1): k = 8 +0.54 on IWSLT17 Fr-En (37.64 vs 37.10), −0.12 on WMT16 En-Ro",
    ),
    "adanorm": ReadmeRow(
        "AdaNorm vs LayerNorm in post-norm, the same baseline and budget",
        "AdaNorm (C = 2, k = 0.1)",
        "paper: AdaNorm 35.6 vs LayerNorm 35.5 (IWSLT14 De-En)",
        "the official script trains pre-norm: that pair (`transformer_prenorm`, `adanorm_prenorm`) is an ablation of "
        "the grid",
    ),
    "muse": ReadmeRow(
        "MUSE at the paper's shape relation (6+6 layers, d 144, FFN 2d, post-norm; {parameters:.2f}M vs "
        "{baseline_parameters:.2f}M parameters) vs the Transformer",
        "MUSE",
        "paper: MUSE 36.3 vs 35.3 (IWSLT14 De-En)",
    ),
    "gca": ReadmeRow(
        "Layer-wise cross-view decoding: GCA vs last-layer cross-attention",
        "GCA",
        "paper: GCA > last (IWSLT14, WMT14)",
    ),
    "ls_el": ReadmeRow(
        "Label-smoothed encouraging loss (log_end 0.5) vs label-smoothed CE",
        "EL",
        "paper: EL > CE on IWSLT14 De-En",
    ),
}
SIGNIFICANT = 0.05


def seeds_text(seeds: list[int]) -> str:
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


def verdict(row: dict) -> str:
    """Whether an arm reproduces its paper's claim (every paper of the grid claims the method is better than its
    baseline), from its per-seed paired tests: significant (p < 0.05) in the same direction at every seed, at none,
    or neither (undecided). Seeds whose p-value is unknown count as not significant."""
    tests = row["significance"]
    significant = [t for t in tests if t["p_value"] is not None and t["p_value"] < SIGNIFICANT]
    better = [t["seed"] for t in significant if t["bleu_delta"] > 0]
    worse = [t["seed"] for t in significant if t["bleu_delta"] < 0]
    at = f"at {len(tests)} seed{'s' if len(tests) > 1 else ''}"
    if len(better) == len(tests):
        text = f"reproduced {at}: the method is significantly better"
    elif len(worse) == len(tests):
        text = f"*not* reproduced {at}: the method is significantly worse"
    elif not better and not worse:
        text = f"no significant difference {at}"
    elif better and worse:
        text = f"undecided {at}: the seeds disagree"
    else:
        text = f"undecided {at}: significantly {'better' if better else 'worse'} at {seeds_text(better or worse)} only"
    details = "; ".join(f"seed {t['seed']} {t['bleu_delta']:+.2f}, p = {pvalue(t)}" for t in tests)
    return f"{text} ({details})"


def readme_rows(table: dict) -> dict[str, str]:
    """The README rows of the headline arms that have a paired seed with their baseline; the first also gives the
    baseline's own scores."""
    rows = {}

    def scores(row, label):
        seeds = len(row["seeds"])
        return (
            f"{label} {fmt(row['bleu'], seeds)} / {fmt(row['chrf'], seeds, 1)} "
            f"(beam 5 {fmt(row['bleu_beam5'], seeds)}; {seeds_text(row['seeds'])})"
        )

    for name, text in README_ROWS.items():
        row = table.get(name)
        if row is None or not row.get("paired_seeds"):
            continue
        base = table[row["baseline"]]
        paired = len(row["paired_seeds"])
        result = (
            f"{scores(row, text.label)}, Δ BLEU {fmt(row['bleu_delta'], paired, sign='+')}, Δ chrF "
            f"{fmt(row['chrf_delta'], paired, 1, '+')} over {seeds_text(row['paired_seeds'])}, paired bootstrap p = "
            + ", ".join(pvalue(t) for t in row["significance"])
        )
        if not rows:
            result = f"greedy BLEU / chrF: {scores(base, 'Transformer')}; {result}"
        experiment = text.experiment.format(
            parameters=row["parameters"] / 1e6, baseline_parameters=base["parameters"] / 1e6
        )
        claim = f"{text.claim}: {verdict(row)}" + (f"; {text.note}" if text.note else "")
        command = f"`python -m benchmarks.seq2seq_grid --arms {row['baseline']} {name}`"
        rows[name] = f"| {experiment} | {command} | {result} | {claim} |"
    return rows


def update_readme(table: dict, readme=ROOT / "README.md") -> None:
    """Replace the README's grid rows (found by their command cell) by ``readme_rows``."""
    lines = readme.read_text().splitlines(keepends=True)
    for name, row in readme_rows(table).items():
        command = f"| `python -m benchmarks.seq2seq_grid --arms {ARMS[name].baseline} {name}` |"
        found = [i for i, line in enumerate(lines) if command in line]
        if len(found) != 1:
            raise ValueError(f"{readme} needs one row with the command cell {command!r} (found {len(found)})")
        lines[found[0]] = row + "\n"
    readme.write_text("".join(lines))


def plot(table: dict, path) -> None:
    """One panel per paper, its arms and the baseline: validation BLEU against training step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    panels = {key: names for key, names in tables(table).items() if any(ARMS[n].baseline for n in names)}
    columns = max(min(len(panels), 3), 1)
    rows = max(-(-len(panels) // columns), 1)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    for axis, (key, names) in zip(axes.flat, panels.items()):
        for i, name in enumerate(names):
            curves = [seed["validation_curve"] for seed in table[name]["per_seed"] if seed["validation_curve"]]
            if not curves:
                continue
            length = min(len(curve) for curve in curves)  # every seed is evaluated at the same steps
            steps = [point["step"] for point in curves[0][:length]]
            bleu = np.array([[point["bleu"] for point in curve[:length]] for curve in curves])
            axis.plot(
                steps,
                bleu.mean(axis=0),
                color=f"C{i}",
                label=f"{name} ({len(curves)} seed{'s' if len(curves) > 1 else ''})",
            )
            if len(curves) > 1:
                axis.fill_between(steps, bleu.min(axis=0), bleu.max(axis=0), color=f"C{i}", alpha=0.2)
        axis.set_title(heading(key)[0], fontsize=9)
        axis.set_xlabel("training step")
        axis.set_ylabel("validation BLEU (greedy)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def train_runs(runs: list[tuple[str, Path, list[str]]], jobs: int) -> list[str]:
    """Train ``runs`` (config, run folder, overrides), each continued from its last checkpoint where it has one. With
    ``jobs`` 1 they train one after the other in this process and the first error stops the grid, as it always did;
    with more, ``jobs`` at a time in processes of their own, and the failures (run folder: error) are returned after
    every run has ended, so that one failing run does not stop the others."""
    if jobs == 1:
        for config, folder, overrides in runs:
            train(config, folder, overrides, resume=True)
        return []
    failures = []
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(train, config, folder, overrides, True): folder for config, folder, overrides in runs}
        for future, folder in futures.items():
            try:
                future.result()
            except (Exception, SystemExit) as error:  # reported with the others once every run has ended
                failures.append(f"{folder}: {type(error).__name__}: {error}")
    return failures


def steps_that_fit(seconds_per_step: list[float], seconds: float, multiple: int = 100) -> int:
    """The largest multiple of ``multiple`` steps that the slowest run, at its measured pace, trains in ``seconds``
    (at least ``multiple``)."""
    if not seconds_per_step or seconds <= 0:
        raise ValueError(f"--fit-seconds needs timed runs and a positive budget (got {seconds})")
    return max(int(seconds / max(seconds_per_step) // multiple) * multiple, multiple)


def time_runs(runs: list[tuple[str, Path, list[str]]], steps: int, folder: Path, jobs: int) -> list[float]:
    """Seconds a step of every run (config, its folder's name in ``folder``, overrides), trained side by side
    (``jobs`` at a time) for ``steps`` steps with no evaluation: the pace of the real runs on this machine (the first
    step's start-up included, so it errs slow)."""
    shutil.rmtree(folder, ignore_errors=True)  # never the reused results of an earlier timing (another machine's)
    probes = [
        (config, folder / name, [*overrides, *PROBE, f"max_steps={steps}", f"warmup_steps={steps}"])
        for config, name, overrides in runs
    ]
    failures = train_runs(probes, jobs)
    if failures:
        raise RuntimeError("timing runs failed:\n" + "\n".join(failures))
    paces = []
    for _, run, _ in probes:
        results = json.loads((run / "results.json").read_text())
        paces.append(results["train_runtime_s"] / results["train_steps"])
        print(f"{run}: {paces[-1]:.3f} s a step")
    return paces


# a timing run trains only: no evaluation, no checkpoints, a few test sentences, greedy
PROBE = [
    "max_train_minutes=null",
    "disable_tqdm=true",
    "eval_strategy=no",
    "save_strategy=no",
    "max_test_samples=8",
    "num_beams=1",
    "num_examples_to_show=1",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few steps of tiny models: checks the pipeline only")
    parser.add_argument("--settings", choices=list(SETTINGS), default="bible", help="bible (CPU, default) or iwslt")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"training steps (default {DEFAULT_STEPS})")
    parser.add_argument("--group", choices=["headline", "ablation", "all"], default="all")
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: each arm's own seeds")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at the same time, a process each")
    parser.add_argument(
        "--fit-seconds",
        type=float,
        default=None,
        help="set --steps to what the slowest run trains in this many seconds, timed with --probe-steps steps of "
        "every run side by side first",
    )
    parser.add_argument("--probe-steps", type=int, default=30, help="steps of the timing runs of --fit-seconds")
    parser.add_argument("--write", action="store_true", help="only write the tables from the finished runs")
    parser.add_argument("--readme", action="store_true", help="also rewrite the README's rows of the grid")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1 (got {args.jobs})")
    settings = SETTINGS[args.settings]
    arms = arms_of(settings)
    unknown = sorted(set(args.arms or []) - set(arms))
    if unknown:
        parser.error(f"--arms {' '.join(unknown)}: not in the {args.settings} settings (they have {', '.join(arms)})")
    if args.readme and args.settings != "bible":
        parser.error("--readme rewrites the README's rows of the bible settings only")
    # last, so that they also shrink the arms that set a shape; the step budget stays --steps' (or the fitted one)
    tiny = [o for o in QUICK if not o.startswith("max_steps=")] if args.quick else []
    if args.quick and settings.gpu:
        import torch

        tiny += [] if torch.cuda.is_available() else ["bf16=false", "tf32=false"]  # a CPU smoke test of the GPU recipe
    chosen = [
        arm
        for arm in arms.values()
        if (args.arms is None or arm.name in args.arms) and (args.group == "all" or arm.group == args.group)
    ]
    # the first seed of every arm first, so a stopped grid has the most pairs
    order = [
        (arm, (args.seeds or arm.seeds)[position])
        for position in range(max((len(args.seeds or arm.seeds) for arm in chosen), default=0))
        for arm in chosen
        if position < len(args.seeds or arm.seeds)
    ]
    steps = 4 if args.quick else args.steps
    if args.fit_seconds is not None and not args.write:
        paces = time_runs(
            [
                (arm.config, Path(arm.name) / f"seed{seed}", [*arm.overrides, f"seed={seed}", *tiny])
                for arm, seed in order
            ],
            args.probe_steps,
            runs_dir(f"{settings.name}_timing", args.quick),
            args.jobs,
        )
        steps = steps_that_fit(paces, args.fit_seconds, multiple=2 if args.quick else 100)
        print(f"{steps} steps fit in {args.fit_seconds:.0f} s at the slowest run's pace ({max(paces):.3f} s a step)")
    common = common_overrides(steps, settings)
    folder = runs_dir(settings.stem(steps), args.quick)
    failures = []
    if not args.write:
        failures = train_runs(
            [
                (arm.config, folder / arm.name / f"seed{seed}", [*common, *arm.overrides, f"seed={seed}", *tiny])
                for arm, seed in order
            ],
            args.jobs,
        )
    records = records_dir(args.quick, settings.stem(steps))
    for run in record_runs(folder, records, arms):
        print(f"recorded {run} in {records}")
    finished = finished_runs(records, arms)
    if not finished:
        print(f"no finished runs yet in {records}")
    else:
        budgets = {r["train_steps"] for _, runs in finished.values() for r in runs.values()}
        if len(budgets) > 1:
            raise SystemExit(f"{records} holds runs of different step budgets {sorted(budgets)}: compare equal steps")
        if args.write:  # the budget the recorded runs were trained with
            steps = budgets.pop()
            common = common_overrides(steps, settings)
        write_tables(finished, records, arms, settings, steps, [*common, *tiny], args)
    if failures:
        raise SystemExit("runs that failed:\n" + "\n".join(failures))


def write_tables(finished, records, arms, settings: Settings, steps: int, overrides: list[str], args) -> None:
    from lanco_hf.data.bible import bible_translation_dataset
    from lanco_hf.training.arguments import load_run_config

    table = tabulate(finished, records, bible_translation_dataset()["test"]["es"])
    base = load_run_config(ROOT / settings.configs[BASE])
    batch = base["per_device_train_batch_size"] * base.get("gradient_accumulation_steps", 1)  # pairs an update
    payload = {
        "steps": steps,
        "quick": args.quick,
        "common_overrides": overrides,
        "title": settings.title,
        "budget": f"{steps} steps of {batch} verse pairs" + (" (QUICK MODE: tiny models)" if args.quick else ""),
    }
    json_path, _ = write_results(
        settings.stem(steps), {"settings": payload, "arms": table}, markdown(table, payload, arms), args.quick
    )
    plot(table, json_path.with_suffix(".png"))
    if args.readme and not args.quick:
        update_readme(table)
    print(f"results in {RESULTS_DIR}")


if __name__ == "__main__":
    main()
