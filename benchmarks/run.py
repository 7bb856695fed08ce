"""Regenerate every performance table of docs/performance.md in one command: attention kernels, whole-model throughput
against Marian, MFU and scaling; each writes ``benchmarks/results/<name>[_quick].{json,md}``, and the tables are copied
into ``docs/performance.md`` between its ``<!-- performance-tables:start -->`` / ``:end -->`` markers (the written
analysis around them is kept), plots copied next to it as ``docs/performance_<name>.png`` (the result files of quick
runs are not committed).

    python -m benchmarks.run --quick --threads 1    # about 3 minutes on a shared 2-core machine
    python -m benchmarks.run                        # full sizes, 2 threads (estimated 30 minutes on 2 quiet cores)
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from . import attention_kernels, mfu, model_throughput, scaling
from .common import RESULTS_DIR, add_arguments

BENCHMARKS = {
    "attention_kernels": attention_kernels,
    "model_throughput": model_throughput,
    "mfu": mfu,
    "scaling": scaling,
}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
START, END = "<!-- performance-tables:start -->", "<!-- performance-tables:end -->"


def update_docs(quick: bool, docs: Path = DOCS) -> None:
    """Replace the text between the markers of ``docs`` by the Markdown tables of every benchmark that has results
    in this mode (headings demoted one level; plots copied beside ``docs`` as ``performance_<name>.png``)."""
    text = docs.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{docs} needs the markers {START} and {END}")
    sections = []
    for name in BENCHMARKS:
        stem = f"{name}_quick" if quick else name
        if not (RESULTS_DIR / f"{stem}.md").exists():
            continue
        table = (RESULTS_DIR / f"{stem}.md").read_text().strip()
        table = "\n".join("#" + line if line.startswith("#") else line for line in table.splitlines())
        if f"]({stem}.png)" in table:
            shutil.copyfile(RESULTS_DIR / f"{stem}.png", docs.parent / f"performance_{name}.png")
            table = table.replace(f"]({stem}.png)", f"](performance_{name}.png)")
        sections.append(table)
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    docs.write_text(f"{before}{START}\n\n" + "\n\n".join(sections) + f"\n\n{END}{after}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, "the quick sizes of every benchmark (~3 min with --threads 1)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(BENCHMARKS),
        default=list(BENCHMARKS),
        help="run only these benchmarks (the docs keep the latest tables of the others)",
    )
    args = parser.parse_args(argv)
    for name in args.only:
        started = time.perf_counter()
        BENCHMARKS[name].main((["--quick"] if args.quick else []) + ["--threads", str(args.threads)])
        print(f"== {name}: {time.perf_counter() - started:.0f} s", flush=True)
    update_docs(args.quick)
    print(f"updated {DOCS}")


if __name__ == "__main__":
    main()
