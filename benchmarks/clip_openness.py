"""Replication of "Delving into the Openness of CLIP" (Ren et al., Findings of ACL 2023) on a small CLIP trained
here, since no pretrained CLIP weights can be downloaded:

1. train transformers' ``CLIPModel`` from scratch on the emoji image-caption set (``configs/clip_emoji.yaml``:
   1,445 training emoji, captions = name, name + CLDR keywords, and a sentence naming the subcategory);
2. on the 461 held-out emoji, classes = the 98 subcategories, vocabularies = the 9 categories: Acc-C, Acc-E and
   Acc-S (3 random expansion orders per target vocabulary, numpy seed 42) with a single prompt, with the
   prompt ensemble, and with REPE (lambda 0.25, K 100 of the top 1000) retrieving from the training captions by
   text features and by image features (LAION-style);
3. REPE's lambda (0 .. 1) and K (1 .. 100) swept on the same features.

Writes ``benchmarks/results/clip_openness.{json,md}`` and the curves ``clip_openness_{extensibility,stability}.png``
(``clip_openness_quick.*`` with ``--quick``). The trained model stays in ``runs/benchmarks/clip_openness`` and is
reused when its settings match.

    # about 20-25 min on 2 quiet CPU cores (1,200 training steps, ~1 s each)
    python -m benchmarks.clip_openness
    python -m benchmarks.clip_openness --quick    # smoke test, about 2 min
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

from transformers import AutoModel, AutoProcessor

from lanco_hf.cli import main as lanco_hf
from lanco_hf.data.emoji import EMOJI_TEMPLATES, emoji_dataset
from lanco_hf.evaluation.openness import OpennessEvaluator, OpennessResult, repe_retrievals, vocabularies_of
from lanco_hf.evaluation.openness_report import openness_markdown, plot_openness_curves
from lanco_hf.evaluation.zero_shot import prompt_class_features

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
RUNS_DIR = ROOT / "runs" / "benchmarks"
CONFIG = "configs/clip_emoji.yaml"
QUICK_OVERRIDES = [
    "model_config.projection_dim=32",
    "model_config.text_config.hidden_size=32",
    "model_config.text_config.intermediate_size=64",
    "model_config.text_config.num_hidden_layers=1",
    "model_config.vision_config.hidden_size=32",
    "model_config.vision_config.intermediate_size=64",
    "model_config.vision_config.num_hidden_layers=1",
    "max_steps=30",
    "per_device_train_batch_size=64",
    "tokenizer_vocab_size=800",
    "logging_steps=10",
]
LAMBDAS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
KS = (1, 10, 100)
PAPER = (
    "The paper reports (CIFAR-100, ImageNet-Entity13/Living17; CLIP, DeCLIP, SLIP, FILIP) that accuracy drops as the "
    "vocabulary expands (Acc-E and especially Acc-S below Acc-C) and that REPE (lambda 0.25, K 100, LAION-5B captions) "
    "raises Acc-E and Acc-S, and standard zero-shot accuracy, without training. Its tables were not extracted here."
)


def train(output_dir: Path, overrides: list[str]) -> dict:
    """``lanco-hf train configs/clip_emoji.yaml output_dir=... OVERRIDES``, reused when already run with them."""
    settings = [f"output_dir={output_dir}", *overrides]
    marker, results = output_dir / "benchmark_settings.json", output_dir / "results.json"
    if results.exists() and marker.exists() and json.loads(marker.read_text()) == [CONFIG, *settings]:
        print(f"reusing {output_dir}")
        return json.loads(results.read_text())
    print(f"lanco-hf train {CONFIG} {' '.join(settings)}", flush=True)
    with contextlib.redirect_stdout(io.StringIO()):
        lanco_hf(["train", str(ROOT / CONFIG), *settings, "--overwrite-output-dir"])
    marker.write_text(json.dumps([CONFIG, *settings]) + "\n")
    return json.loads(results.read_text())


def scores(result: OpennessResult) -> dict[str, float]:
    return {"acc_c": result.acc_c, "acc_e": result.acc_e, "acc_s": result.acc_s}


def sweep_table(title: str, column: str, rows: dict) -> str:
    lines = [f"**{title}**", "", f"| {column} | Acc-C (%) | Acc-E (%) | Acc-S (%) |", "|---|---|---|---|"]
    lines += [
        f"| {key} | {100 * s['acc_c']:.2f} | {100 * s['acc_e']:.2f} | {100 * s['acc_s']:.2f} |"
        for key, s in rows.items()
    ]
    return "\n".join(lines) + "\n"


def findings(results: dict[str, OpennessResult]) -> list[str]:
    """What this run shows about the paper's two claims, with the numbers."""
    base = results["prompts (ensemble)"]
    accuracy, stability = base.accuracy_curve(), base.stability_curve()
    lines = [
        f"- Expansion (prompt ensemble): accuracy on all images of the vocabulary goes from {100 * accuracy[0]:.1f}% "
        f"(target vocabulary only) to {100 * accuracy[-1]:.1f}% (all 9 vocabularies); per-class accuracy on the target "
        f"classes from {100 * stability[0]:.1f}% to {100 * stability[-1]:.1f}%. Acc-C {100 * base.acc_c:.2f}, "
        f"Acc-E {100 * base.acc_e:.2f}, Acc-S {100 * base.acc_s:.2f}: "
        + (
            "accuracy degrades as the vocabulary expands, as in the paper."
            if base.acc_e < base.acc_c and base.acc_s < stability[0]
            else "this run does NOT show the paper's degradation."
        ),
    ]
    for name, result in results.items():
        if name.startswith("REPE"):
            delta = {key: 100 * (value - getattr(base, key)) for key, value in scores(result).items()}
            verdict = "improves" if delta["acc_e"] > 0 and delta["acc_s"] > 0 else "does NOT improve"
            lines.append(
                f"- {name} vs the prompt ensemble: Acc-C {delta['acc_c']:+.2f}, Acc-E {delta['acc_e']:+.2f}, "
                f"Acc-S {delta['acc_s']:+.2f} points: REPE {verdict} both extensibility and stability here."
            )
    return lines


def run(quick: bool) -> dict:
    stem = "clip_openness_quick" if quick else "clip_openness"
    training = train(RUNS_DIR / stem, QUICK_OVERRIDES if quick else [])
    model_dir = RUNS_DIR / stem
    model, processor = AutoModel.from_pretrained(model_dir), AutoProcessor.from_pretrained(model_dir)
    dataset = emoji_dataset()
    test = dataset["test"]
    vocabularies = vocabularies_of(dataset.values(), "subcategory", "category")
    evaluator = OpennessEvaluator(
        model,
        processor,
        test["image"],
        test["subcategory"],
        vocabularies,
        templates=EMOJI_TEMPLATES,
        trials=1 if quick else 3,
        seed=42,
        progress=True,
    )
    num_retrieved, k = (200, 20) if quick else (1000, 100)
    retrievals = repe_retrievals(
        evaluator, dataset["train"], "captions", "image", ["text", "image"], k, num_retrieved, EMOJI_TEMPLATES[0]
    )
    single = prompt_class_features(evaluator.encoder, evaluator.classnames, EMOJI_TEMPLATES[:1])
    results = {"prompt (single)": evaluator.evaluate(single), "prompts (ensemble)": evaluator.evaluate()}
    for name, retrieval in retrievals.items():
        results[name] = evaluator.evaluate(evaluator.repe_features(retrieval, 0.25))
    lambda_sweep = {
        name: {lam: scores(evaluator.evaluate(evaluator.repe_features(retrieval, lam))) for lam in LAMBDAS}
        for name, retrieval in retrievals.items()
    }
    k_sweep = {}
    for kk in KS:
        retrieval = repe_retrievals(
            evaluator, dataset["train"], "captions", "image", ["text"], kk, num_retrieved, EMOJI_TEMPLATES[0]
        )["REPE (text index)"]
        k_sweep[kk] = scores(evaluator.evaluate(evaluator.repe_features(retrieval, 0.25)))

    chance = sum(1 / len(classes) for classes in vocabularies.values()) / len(vocabularies)
    payload = {
        "training": training,
        "setting": {
            "images": len(test),
            "classes": len(evaluator.classnames),
            "vocabularies": len(vocabularies),
            "templates": list(EMOJI_TEMPLATES),
            "trials": evaluator.trials,
            "seed": evaluator.seed,
            "repe": {"lam": 0.25, "k": k, "num_retrieved": num_retrieved, "query": EMOJI_TEMPLATES[0]},
            "chance_acc_c": chance,
        },
        "results": {name: result.to_dict() for name, result in results.items()},
        "lambda_sweep": lambda_sweep,
        "k_sweep": k_sweep,
        "retrievals": {name: retrieval.to_dict() for name, retrieval in retrievals.items()},
        "paper": PAPER,
    }
    zero_shot = training.get("zero_shot", {})
    markdown = "\n".join(
        [
            f"# CLIP openness on emoji{' (quick smoke run)' if quick else ''}",
            "",
            (
                f"A `CLIPModel` with {training['num_parameters']:,} parameters trained from scratch for "
                f"{training['train_steps']} steps ({training['train_runtime_s'] / 60:.1f} min) on "
                f"{training['train_size']:,} emoji; zero-shot accuracy over all {zero_shot.get('classes')} "
                "subcategories "
                f"of the {len(test)} test emoji: {100 * zero_shot.get('test_accuracy', 0):.1f}% (chance "
                f"{100 * zero_shot.get('chance', 0):.1f}%). {len(vocabularies)} vocabularies (categories), "
                f"{evaluator.trials} random expansion order(s) per target vocabulary; chance Acc-C {100 * chance:.1f}%."
            ),
            "",
            openness_markdown(results),
            sweep_table(f"REPE lambda, text index (K = {k})", "lambda", lambda_sweep["REPE (text index)"]),
            sweep_table(f"REPE lambda, image index (K = {k})", "lambda", lambda_sweep["REPE (image index)"]),
            sweep_table("REPE K (lambda = 0.25, text index)", "K", k_sweep),
            "## Findings",
            "",
            *findings(results),
            "",
            f"Paper: {PAPER}",
            "",
            f"Curves: `{stem}_extensibility.png`, `{stem}_stability.png`.",
            "",
        ]
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS_DIR / f"{stem}.md").write_text(markdown)
    plot_openness_curves(results, RESULTS_DIR, prefix=stem)
    print(markdown)
    print(f"wrote {RESULTS_DIR / stem}.json, .md and the two PNG curves")
    return payload


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny model, 30 steps, 1 order per vocabulary")
    run(parser.parse_args().quick)
