"""The life of a run folder (``output_dir``): one run at a time, never clobbering another run, and a completion
marker written last.

- ``claim_run_folder(output_dir, resume=..., overwrite=...)`` holds an exclusive lock on the folder for the
  duration of a run (``fcntl.flock`` on ``.lanco_run.lock``, which the kernel releases when the process dies, so
  a killed run never leaves a stale lock); a second run on the same folder fails at once, naming the holder's
  PID. A folder that already holds another run (its checkpoints, weights or results) is refused unless the new
  run resumes it (``--resume``) or replaces it (``--overwrite-output-dir``, the transformers convention, which
  then removes the earlier run's checkpoints so that neither ``save_total_limit`` nor a later ``--resume`` mixes
  the two runs).
- ``mark_run_complete(output_dir)``, called by every task as the last write of a run, records that the folder
  holds a finished run (weights, results, card); ``lanco-hf push`` refuses folders without it and
  ``lanco-hf train --resume`` of a finished run does nothing.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from ..data.cache import atomic_write

LOCK_NAME = ".lanco_run.lock"
RUN_COMPLETE_NAME = "run_complete.json"
# what a run leaves in its folder: any of these means the folder holds a run
RUN_FILES = (
    "results.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "trainer_state.json",
    RUN_COMPLETE_NAME,
)


class RunFolderInUseError(RuntimeError):
    """Another process is running in this ``output_dir``."""


class RunFolderNotEmptyError(ValueError):
    """``output_dir`` holds another run and neither ``--resume`` nor ``--overwrite-output-dir`` was given."""


def mark_run_complete(output_dir: str | Path) -> None:
    """Record that ``output_dir`` holds a finished run; every task calls this after its last write."""
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    atomic_write(Path(output_dir) / RUN_COMPLETE_NAME, json.dumps({"completed": stamp}) + "\n")


def is_run_complete(output_dir: str | Path) -> bool:
    return (Path(output_dir) / RUN_COMPLETE_NAME).is_file()


def checkpoint_folders(output_dir: str | Path) -> list[Path]:
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    return sorted(
        (p for p in output_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*") if p.is_dir() and p.name.split("-", 1)[1].isdigit()),
        key=lambda p: int(p.name.split("-", 1)[1]),
    )


def existing_run(output_dir: str | Path) -> list[str]:
    """The names of what an earlier run left in ``output_dir`` (checkpoints, weights, results), or ``[]``."""
    output_dir = Path(output_dir)
    found = [name for name in RUN_FILES if (output_dir / name).exists()]
    return found + [p.name for p in checkpoint_folders(output_dir)]


def _is_main_process() -> bool:
    """Under ``torchrun`` every rank runs the CLI on the same ``output_dir``: only global rank 0 locks it."""
    return os.environ.get("RANK", "0") == "0"


@contextlib.contextmanager
def claim_run_folder(output_dir: str | Path, *, resume: bool = False, overwrite: bool = False) -> Iterator[Path]:
    """Lock ``output_dir`` for one run (see the module docstring); raises ``RunFolderInUseError`` when another
    process holds it and ``RunFolderNotEmptyError`` when it holds another run and neither ``resume`` nor
    ``overwrite`` is set. On entry the completion marker is removed: the folder is a run in progress."""
    import fcntl

    output_dir = Path(output_dir)
    if not _is_main_process():
        yield output_dir
        return
    output_dir.mkdir(parents=True, exist_ok=True)
    handle = open(output_dir / LOCK_NAME, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunFolderInUseError(
                f"output_dir={str(output_dir)!r} is in use by another lanco-hf run (PID {holder}); wait for it to "
                "finish or choose another output_dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        earlier = existing_run(output_dir)
        if earlier and not (resume or overwrite):
            shown = ", ".join(earlier[:6]) + (", ..." if len(earlier) > 6 else "")
            raise RunFolderNotEmptyError(
                f"output_dir={str(output_dir)!r} already holds a run ({shown}); pass --resume to continue it, "
                "--overwrite-output-dir to replace it, or choose another output_dir"
            )
        if overwrite and not resume:
            for folder in checkpoint_folders(output_dir):
                shutil.rmtree(folder)
        if not resume:
            (output_dir / RUN_COMPLETE_NAME).unlink(missing_ok=True)
        yield output_dir
    finally:
        handle.close()  # releases the lock
