"""Timers and memory probes shared by the performance benchmarks (docs/performance.md).

Every speed claim is a ratio measured in one run: the candidates are called round-robin (A B C A B C ...) after
warm-up rounds and each one's median is taken, so a machine shared with other jobs slows them alike. Peak memory
is the largest amount of memory allocated by one call above what was allocated before it: on a GPU from
``torch.cuda.max_memory_allocated``, on a CPU from the allocation events of ``torch.profiler`` (torch tensors)
plus ``tracemalloc`` (numpy / scipy arrays, e.g. ReNode's sparse solver).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import torch

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CPU_THREADS = 2


def add_arguments(parser: argparse.ArgumentParser, quick_help: str) -> argparse.ArgumentParser:
    """The options every benchmark takes: ``--quick`` and ``--threads``."""
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument(
        "--threads",
        type=int,
        default=CPU_THREADS,
        help=f"torch CPU threads (default {CPU_THREADS}, the reference machine's cores; use 1 on a machine shared with "
        "other jobs, where every 2-thread parallel region waits for the busier core: see docs/performance.md)",
    )
    return parser


def setup(threads: int = CPU_THREADS) -> torch.device:
    """Fix the CPU thread count and return the device to benchmark on: the GPU when there is one, else the CPU; the
    scripts run unchanged on both."""
    if threads < 1:
        raise ValueError(f"threads={threads}; allowed: an integer >= 1")
    torch.set_num_threads(threads)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_median(
    functions: dict[str, Callable[[], object]], repeats: int, warmup: int = 1, device: torch.device | None = None
) -> dict[str, float]:
    """Median wall time in seconds of each function, calling them round-robin ``warmup + repeats`` times and
    discarding the warm-up rounds."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats={repeats} must be >= 1 and warmup={warmup} >= 0")
    device = device or torch.device("cpu")
    times: dict[str, list[float]] = {name: [] for name in functions}
    for round_ in range(warmup + repeats):
        for name, function in functions.items():
            synchronize(device)
            start = time.perf_counter()
            function()
            synchronize(device)
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def peak_memory_bytes(function: Callable[[], object], device: torch.device | None = None) -> int:
    """Peak bytes allocated by one call of ``function`` above what was allocated before it."""
    device = device or torch.device("cpu")
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        function()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    from torch.profiler import ProfilerActivity, profile

    tracemalloc.start()
    try:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            function()
        _, numpy_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    events = sorted(
        (event for event in prof.profiler.kineto_results.events() if event.name() == "[memory]"),
        key=lambda event: event.start_ns(),
    )
    current = torch_peak = 0
    for event in events:
        current += event.nbytes()
        torch_peak = max(torch_peak, current)
    return torch_peak + numpy_peak


def command(name: str, args: argparse.Namespace) -> str:
    """The command line that reproduces a benchmark run."""
    threads = "" if args.threads == CPU_THREADS else f" --threads {args.threads}"
    return f"python -m benchmarks.{name}{' --quick' if args.quick else ''}{threads}"


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def settings(device: torch.device, quick: bool, **extra) -> dict:
    """What every result file records next to its numbers: date, hardware, mode and the command to reproduce it."""
    return {
        "date": datetime.date.today().isoformat(),
        "hardware": hardware(device),
        "device": device.type,
        "quick": quick,
        **extra,
    }


def markdown_table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, results: dict, markdown: str, quick: bool) -> Path:
    """Write ``benchmarks/results/<name>[_quick].{json,md}``; returns the Markdown path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = f"{name}_quick" if quick else name
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    path = RESULTS_DIR / f"{stem}.md"
    path.write_text(markdown)
    print(markdown)
    print(f"wrote {RESULTS_DIR / stem}.json and .md")
    return path
