"""Benchmark: read and validate a 1,000,000-row purchase CSV.

Prints wall time and peak memory (peak resident set size of a fresh process per variant) of our
full ingestion (read as text + detect columns + parse + clean + count exclusions), against a
plain `pandas.read_csv` with type inference on the same file in the same run (the baseline).

    python benchmarks/bench_ingest.py [--rows 1000000]
    python benchmarks/bench_ingest.py --session benchmarks/out/scale_300000.csv

`--session FILE` measures instead what one app session holds once FILE is uploaded: the growth of
this process's resident memory (after a garbage collection) when an AppTest session that ran the
app on the demo data is given the upload and opens the Data page, which builds the dataset and
starts the background fits. Measured at the end of that run and after a second run of the page.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.data.ingest import load_files

OUT = Path(__file__).resolve().parent / "out"


def make_csv(rows: int, seed: int = 7) -> Path:
    """A realistic export: ~100k customers, ISO dates, some refunds, blanks and bad cells."""
    rng = np.random.default_rng(seed)
    customers = rng.integers(1, 100_000, rows)
    days = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 1000, rows), "D")
    amount = np.round(rng.gamma(2.0, 25.0, rows), 2)
    amount[rng.random(rows) < 0.01] *= -1
    frame = pd.DataFrame(
        {
            "InvoiceNo": np.arange(rows),
            "CustomerID": customers.astype(str),
            "InvoiceDate": days.strftime("%Y-%m-%d"),
            "TotalPrice": amount.astype(str),
            "Channel": rng.choice(["web", "store", "app"], rows),
        }
    )
    frame.loc[rng.random(rows) < 0.002, "CustomerID"] = ""
    frame.loc[rng.random(rows) < 0.001, "InvoiceDate"] = "n/a"
    OUT.mkdir(exist_ok=True)
    path = OUT / f"purchases_{rows}.csv"
    frame.to_csv(path, index=False)
    return path


def run_variant(variant: str, path: Path) -> dict:
    """Run one variant in this process and return its time (s) and peak RSS (MiB)."""
    start = time.perf_counter()
    if variant == "baseline":
        pd.read_csv(path)
        extra = {}
    else:
        report = load_files([(path.name, path.read_bytes())]).reports[0]
        extra = {
            "rows_read": report.rows_read,
            "rows_used": report.rows_used,
            "excluded": [(e.reason, e.rows) for e in report.excluded],
        }
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"seconds": seconds, "peak_mib": peak, **extra}


def measure(variant: str, path: Path) -> dict:
    """Each variant in a fresh interpreter, so peak memory is its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--variant", variant, "--path", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def session_memory(path: Path) -> dict:
    """MiB this process grows by when one AppTest session uploads `path` and opens the Data page."""
    import gc

    from streamlit.testing.v1 import AppTest

    from ui import background, state

    # the Data page alone: the fits it starts for the other pages (ui.prefetch) would still be
    # growing the process while it is measured
    background.PREFETCH = False

    def resident_mib() -> float:  # Linux: the resident set of this process now
        gc.collect()
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20

    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=900)
    app.run()  # imports and the demo data, before the upload
    before = resident_mib()
    app.session_state[state.K_UPLOADS] = [state.UploadedBytes.of(path.name, path.read_bytes())]
    app.session_state[state.K_SOURCE] = state.UPLOAD
    app.switch_page("pages/data.py")
    start = time.perf_counter()
    app.run()
    seconds = time.perf_counter() - start
    first = resident_mib() - before
    app.run()
    return {
        "file_mib": path.stat().st_size / 2**20,
        "data_page_s": seconds,
        "session_mib": first,
        "session_mib_second_run": resident_mib() - before,
        "exception": bool(app.exception),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--session", type=Path, metavar="FILE", help="measure one app session holding FILE")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--variant", choices=["baseline", "ours"])
    parser.add_argument("--path", type=Path)
    args = parser.parse_args()
    if args.session:
        print(json.dumps(session_memory(args.session)))
        return
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.path)))
        return
    path = make_csv(args.rows)
    print(f"file: {path.name}, {path.stat().st_size / 2**20:.0f} MiB, {args.rows:,} rows")
    base = measure("baseline", path)
    ours = measure("ours", path)
    print(
        f"{'baseline: pandas.read_csv (inferred)':<40} {base['seconds']:7.2f} s   peak RSS {base['peak_mib']:6.0f} MiB"
    )
    print(
        f"{'ours: read + detect + clean + report':<40} {ours['seconds']:7.2f} s   peak RSS {ours['peak_mib']:6.0f} MiB"
    )
    print(
        f"rows read {ours['rows_read']:,} = used {ours['rows_used']:,} + excluded "
        f"{ours['rows_read'] - ours['rows_used']:,}"
    )
    for reason, rows in ours["excluded"]:
        print(f"  {rows:>7,}  {reason}")
    print(
        f"ratio vs baseline: time x{ours['seconds'] / base['seconds']:.1f}, "
        f"peak memory x{ours['peak_mib'] / base['peak_mib']:.1f}"
    )


if __name__ == "__main__":
    main()
