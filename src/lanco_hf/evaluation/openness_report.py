"""Openness results as a Markdown table and as extensibility / stability curves (PNG, matplotlib), one line
per method, and all of it written to a folder (``write_openness``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .openness import OpennessResult


def openness_markdown(results: Mapping[str, OpennessResult]) -> str:
    """The averaged scores per method, then Acc-C / Acc-E / Acc-S per target vocabulary (percentages)."""
    lines = ["| method | Acc-C (%) | Acc-E (%) | Acc-S (%) |", "|---|---|---|---|"]
    lines += [
        f"| {name} | {100 * r.acc_c:.2f} | {100 * r.acc_e:.2f} | {100 * r.acc_s:.2f} |" for name, r in results.items()
    ]
    names = list(results)
    header = " | ".join(f"{name}: {metric}" for name in names for metric in ("C", "E", "S"))
    lines += ["", f"| target vocabulary | {header} |", "|---" * (1 + 3 * len(names)) + "|"]
    for vocabulary in next(iter(results.values())).vocabularies:
        cells = []
        for result in results.values():
            v = result.vocabularies[vocabulary]
            cells += [f"{100 * v.acc_c:.1f}", f"{100 * v.acc_e:.1f}", f"{100 * v.acc_s:.1f}"]
        lines.append(f"| {vocabulary} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def plot_openness_curves(
    results: Mapping[str, OpennessResult], output_dir: str | Path, prefix: str = "openness"
) -> list[Path]:
    """Write ``{prefix}_extensibility.png`` (``Acc_j``) and ``{prefix}_stability.png`` (``S_j``), averaged over
    target vocabularies and trials, against the number of vocabularies in ``U_j``; returns the two paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    panels = (
        ("extensibility", "accuracy_curve", "Extensibility: accuracy on all images of $U_j$"),
        ("stability", "stability_curve", "Stability: per-class accuracy on the target classes"),
    )
    paths = []
    for suffix, curve, title in panels:
        figure, axes = plt.subplots(figsize=(6, 4))
        for name, result in results.items():
            values = [100 * value for value in getattr(result, curve)()]
            axes.plot(range(1, len(values) + 1), values, marker="o", label=name)
        axes.set(xlabel="vocabularies in $U_j$ (1 = the target vocabulary alone)", ylabel="accuracy (%)", title=title)
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        path = output_dir / f"{prefix}_{suffix}.png"
        figure.savefig(path, dpi=120)
        plt.close(figure)
        paths.append(path)
    return paths


def write_openness(summary: dict, results: dict[str, OpennessResult], output_dir: Path, stem: str = "openness") -> str:
    """``{stem}.json`` (``summary`` plus every result), ``{stem}.md`` and the two curve PNGs; returns the table."""
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = {**summary, "results": {name: result.to_dict() for name, result in results.items()}}
    (output_dir / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    markdown = openness_markdown(results)
    (output_dir / f"{stem}.md").write_text(markdown)
    plot_openness_curves(results, output_dir, prefix=stem)
    return markdown
