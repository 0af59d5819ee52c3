"""glibc's allocation thresholds for a long-lived process (the app's server).

Kept apart from `analytics.data.io` (which has `release_heap_memory`, glibc's `malloc_trim`) so that a
process can set them before it imports pandas: this module imports only `ctypes`.
"""

from __future__ import annotations

import ctypes

#: glibc's `mallopt` parameter numbers (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20
"""Blocks of this many bytes or more are mapped on their own: glibc's largest dynamic threshold."""
TRIM_THRESHOLD_BYTES = 128 * 2**10
"""Free memory above this at the top of a heap goes back to the operating system on `free`: glibc's default."""


def keep_heap_trimmed() -> bool:
    """Fix glibc's allocation thresholds, so that a long-lived process hands freed memory back as it goes.

    glibc maps blocks of 128 KiB or more on their own at first, but each time such a block is freed
    it raises that threshold to the block's size (up to 32 MiB) and the heap-trim threshold to
    twice that (`mallopt(3)`, M_MMAP_THRESHOLD: "dynamic mmap threshold"). After the first large
    numpy temporary a process thus carves arrays of up to 32 MiB from its heaps, one heap per thread
    (Streamlit runs every page run on a new thread), and keeps up to 64 MiB free at the top of each;
    `analytics.data.io.release_heap_memory` (`malloc_trim`) at rest then hands back almost nothing
    more (5 MiB measured). Setting both thresholds explicitly turns the adjustment off (glibc's
    `no_dyn_threshold`): blocks of 32 MiB or more are mapped, as glibc ends up doing anyway, and a
    heap's free top goes back as soon as it passes 128 KiB.

    Measured on the app's server holding a 300,000-customer upload at rest (`python
    benchmarks/bench_pages.py --scenarios upload300k --first-only --settle 120`, 2026-11-27):
    434, 464 and 482 MiB above its size before the upload with the dynamic thresholds (590 in
    earlier sessions), 305-322 MiB with fixed ones (`MALLOC_MMAP_THRESHOLD_` of 1, 4, 16 or 32 MiB
    in the server's environment, which also fixes them). The mapping threshold stays at 32 MiB
    because lower ones cost system time on every large temporary: one 300,000-customer report in
    one process took 1.6 s of system time with glibc's defaults, 2.5 s at 16 MiB, 4.7 s at 4 MiB and
    10 s at 1 MiB.

    Returns
    -------
    bool
        True when both thresholds were set; False where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        trim_set = libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
        mmap_set = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):
        return False
    return bool(trim_set) and bool(mmap_set)
