"""glibc's fixed allocation thresholds (`analytics.engine.heap`): freed memory goes back at once."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
glibc_only = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the thresholds are glibc's (mallopt); other C libraries keep theirs"
)

# In a fresh interpreter: free a 30 MiB block (mapped on its own, which raises glibc's dynamic
# thresholds to 30 MiB / 60 MiB), then take and free a 20 MiB block from the heap; print the MiB the
# process still holds of it. `keep_heap_trimmed` returns True (both thresholds set) or the probe fails.
PROBE = """
import sys
import numpy as np
from analytics.engine.heap import keep_heap_trimmed

def rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

if sys.argv[1] == "fixed":
    assert keep_heap_trimmed()
big = np.ones(30 * 2**20, dtype=np.uint8)
del big
before = rss_mib()
block = np.ones(20 * 2**20, dtype=np.uint8)
del block
print(rss_mib() - before)
"""


def _held_after_free(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


@glibc_only
def test_freed_heap_block_goes_back_only_with_fixed_thresholds() -> None:
    # glibc's default: the freed 20 MiB stays with the process (below the raised 60 MiB trim threshold)
    assert _held_after_free("dynamic") > 18.0
    # fixed thresholds: the heap's free top above 16 MiB is handed back on free
    assert _held_after_free("fixed") < 2.0
