"""CPU allocator tuning for training.

glibc returns large freed blocks to the kernel (``mmap``/``munmap`` above a size threshold), so every
training step of a CPU model page-faults its activations back in; on a 2-core machine that is a third of
the wall time spent in the kernel. Raising the mmap and trim thresholds keeps freed memory in the heap
for reuse (measured: 18.9 s -> 14.9 s for 15 steps of the 7.7M-parameter main-job model).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def keep_freed_memory_in_heap(threshold_bytes: int = 1 << 30) -> bool:
    """Raise glibc's mmap / trim thresholds; returns whether it applied (Linux glibc only)."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, threshold_bytes)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, threshold_bytes)
    )
