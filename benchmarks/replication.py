"""Shared pieces of the replications: ``lanco-hf train`` runs that are reused when a finished run with the same
settings (the config with its overrides applied) is already on disk (so an interrupted replication continues where
it stopped, and a replication can be split over processes), mean ± sample standard deviation over seeds, and the
JSON + Markdown result files."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import statistics
from pathlib import Path

from lanco_hf.cli import main
from lanco_hf.training.arguments import load_run_config

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
RUNS_DIR = ROOT / "runs" / "benchmarks"
# ``--quick`` for the translation benchmarks: tiny models on a few verses, a smoke test of the pipeline, not a result
TRANSLATION_QUICK = [
    "max_steps=4",
    "warmup_steps=2",
    "max_train_samples=256",
    "max_test_samples=12",
    "max_new_tokens=16",
    "num_examples_to_show=1",
    "average_checkpoints=1",
    "model_config.d_model=64",
    "model_config.encoder_ffn_dim=128",
    "model_config.decoder_ffn_dim=128",
    "model_config.encoder_layers=2",
    "model_config.decoder_layers=2",
]


def runs_dir(name: str, quick: bool) -> Path:
    """Where a replication's runs go: ``--quick`` runs in a folder of their own, so a smoke test never overwrites a
    finished replication run (which is reused by ``train``)."""
    return RUNS_DIR / (f"{name}_quick" if quick else name)


def train(config: str, output_dir: Path, overrides: list[str], resume: bool = False) -> dict:
    """``lanco-hf train CONFIG output_dir=... OVERRIDES`` (CONFIG relative to the repository root); returns its
    ``results.json``. A run folder holding the results of exactly these settings (the config's values with the
    overrides applied: a comment edited in the config changes nothing) is reused instead of trained again; with
    ``resume``, a run of these settings that was interrupted continues from its last complete checkpoint
    (``lanco-hf train --resume``) instead of starting over."""
    from lanco_hf.training.checkpoints import last_complete_checkpoint

    settings = [f"output_dir={output_dir}", *overrides]
    marker = output_dir / "benchmark_settings.json"
    results_path = output_dir / "results.json"
    signature = run_signature(config, overrides)
    same_settings = _signed_with(marker, signature, config, overrides)
    if results_path.exists() and same_settings:
        print(f"reusing {output_dir}")
        return json.loads(results_path.read_text())
    continuing = resume and same_settings and last_complete_checkpoint(output_dir) is not None
    results_path.unlink(missing_ok=True)  # another settings' results: never read back as this run's
    output_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(signature) + "\n")
    print(f"lanco-hf train {config} {' '.join(settings)}{' --resume' if continuing else ''}", flush=True)
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        main(["train", str(ROOT / config), *settings, "--resume" if continuing else "--overwrite-output-dir"])
    return json.loads(results_path.read_text())


def run_signature(config: str, overrides: list[str]) -> dict:
    """What identifies a run: the settings ``lanco-hf train`` reads from ``config`` with ``overrides`` applied (its
    ``output_dir`` aside, so a run folder can be moved)."""
    run_config = load_run_config(ROOT / config, overrides)
    run_config.pop("output_dir", None)
    return {"run_config": run_config}


def _signed_with(marker: Path, signature: dict, config: str, overrides: list[str]) -> bool:
    """Whether the run folder of ``marker`` was started with the settings of ``signature``. A marker of the earlier
    form (the config file's SHA-256, the run folder and the overrides) still counts while the file is unchanged, and
    is rewritten in the present form, so that later edits of the config's comments keep the run."""
    if not marker.exists():
        return False
    signed = json.loads(marker.read_text())
    if isinstance(signed, list):
        digest = hashlib.sha256((ROOT / config).read_bytes()).hexdigest()
        if signed != [config, digest, f"output_dir={marker.parent}", *overrides]:
            return False
        marker.write_text(json.dumps(signature) + "\n")
        return True
    return signed == signature


# a seq2seq model's size: its width, depth, heads and FFN
SHAPE = (
    "d_model",
    "encoder_layers",
    "decoder_layers",
    "encoder_attention_heads",
    "decoder_attention_heads",
    "encoder_ffn_dim",
    "decoder_ffn_dim",
)


def shape_overrides(config: str) -> list[str]:
    """Overrides giving another arm the shape (``SHAPE``) of ``config`` (a path relative to the repository), so the
    models compared are of the same size whatever that config says."""
    model_config = load_run_config(ROOT / config)["model_config"]
    return [f"model_config.{key}={model_config[key]}" for key in SHAPE]


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def translation_summary(results: list[dict], seeds: list[int]) -> dict:
    """BLEU / chrF mean ± std of one arm's translation runs, and each seed's scores and training figures."""
    return {
        "bleu": mean_std([r["test"]["bleu"] for r in results]),
        "chrf": mean_std([r["test"]["chrf"] for r in results]),
        "per_seed": [
            {
                "seed": seed,
                "bleu": r["test"]["bleu"],
                "chrf": r["test"]["chrf"],
                "train_loss": r["train_loss"],
                "train_steps": r["train_steps"],
                "train_runtime_s": r["train_runtime_s"],
            }
            for seed, r in zip(seeds, results)
        ],
    }


def fmt(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    mean, std = mean_std([scale * v for v in values])
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def write_results(name: str, payload: dict, markdown: str, quick: bool) -> tuple[Path, Path]:
    """``benchmarks/results/<name>.json`` and ``.md`` (``<name>_quick.*`` in quick mode, so a smoke run never
    overwrites a replication)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = f"{name}_quick" if quick else name
    json_path, md_path = RESULTS_DIR / f"{stem}.json", RESULTS_DIR / f"{stem}.md"
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    md_path.write_text(markdown)
    print(markdown)
    print(f"wrote {json_path} and {md_path}")
    return json_path, md_path
