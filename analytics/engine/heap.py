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
TRIM_THRESHOLD_BYTES = 16 * 2**20
"""Free memory above this at the top of a heap goes back to the operating system on `free` (glibc's
default is 128 KiB, raised up to 64 MiB by its dynamic adjustment)."""


def keep_heap_trimmed() -> bool:
    """Fix glibc's allocation thresholds, so that a long-lived process hands freed memory back as it goes.

    glibc maps blocks of 128 KiB or more on their own at first, but each time such a block is freed
    it raises that threshold to the block's size (up to 32 MiB) and the heap-trim threshold to
    twice that (`mallopt(3)`, M_MMAP_THRESHOLD: "dynamic mmap threshold"). After the first large
    numpy temporary a process thus carves arrays of up to 32 MiB from its heaps, one heap per thread
    (Streamlit runs every page run on a new thread), and keeps up to 64 MiB free at the top of each.
    `analytics.data.io.release_heap_memory` (`malloc_trim`) at rest does not help: it trims the top
    of the main heap only (glibc's `mtrim`), and handed back 5 MiB more when measured. Setting both
    thresholds explicitly turns the adjustment off (glibc's `no_dyn_threshold`): blocks of 32 MiB
    or more are mapped, as glibc ends up doing anyway, and a heap's free top goes back once it
    passes 16 MiB.

    Measured on the app's server holding a 300,000-customer upload (`python benchmarks/bench_pages.py
    --scenarios upload300k --first-only --settle 120`, 2026-11-27, quiet machine, one run each on
    cef4882's code; the third row set through MALLOC_TRIM_THRESHOLD_ and MALLOC_MMAP_THRESHOLD_), held at
    rest above its size before the upload, and when every page had been
    drawn after the upload:

    ========================================  ===========  ================
    thresholds (trim, map)                    at rest      pages done after
    ========================================  ===========  ================
    glibc's dynamic ones                      411.9 MiB    22.8 s
    128 KiB, 32 MiB                           217.9 MiB    36.5 s
    16 MiB, 32 MiB (these)                    244.6 MiB    24.5 s
    ========================================  ===========  ================

    A low trim threshold hands back every large temporary as soon as it is freed, and the next one
    is faulted in page by page again (Customer health waited 16.4 s for its figures instead of 5.5);
    at 16 MiB the temporaries of a page run are reused and what is left over goes back. Lower
    mapping thresholds cost system time on every large temporary (a 300,000-customer report in one
    process: 1.6 s of system time with glibc's defaults, 2.5 s at 16 MiB, 4.7 s at 4 MiB, 10 s at 1 MiB).

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
