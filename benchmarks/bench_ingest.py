"""Benchmark: read and validate a 1,000,000-row purchase CSV.

Prints wall time and peak memory (peak resident set size of a fresh process per variant) of our
full ingestion (read as text + detect columns + parse + clean + count exclusions), against a
plain `pandas.read_csv` with type inference on the same file in the same run (the baseline).

    python benchmarks/bench_ingest.py [--rows 1000000]
    python benchmarks/bench_ingest.py --session benchmarks/out/scale_300000.csv

`--file FILE --before CHECKOUT` measures `load_files` on FILE (e.g. benchmarks/out/scale_2000000.csv)
with this checkout and with another one (e.g. a `git worktree` at the commit before a change),
alternating fresh processes (`--repeat` times each), and checks that both give the same cleaned
frame and report (a SHA-256 of every cell in order, and the exclusions):

    python benchmarks/bench_ingest.py --file benchmarks/out/scale_2000000.csv --before ../base --repeat 2

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

# the checkout whose `analytics` is measured: this one, or the one after --code (see `before_after`)
CODE = Path(sys.argv[sys.argv.index("--code") + 1]) if "--code" in sys.argv else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CODE))

from analytics.data.ingest import load_files  # noqa: E402 (after choosing the checkout)

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


def load_once(path: Path) -> dict:
    """`load_files` on `path` in this process: wall and CPU seconds, peak RSS, and a digest of the result."""
    import hashlib

    content = path.read_bytes()
    start, cpu = time.perf_counter(), time.process_time()
    data = load_files([(path.name, content)], today=pd.Timestamp("2026-01-01"))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tx = data.transactions
    digest = hashlib.sha256()
    for column in tx.columns:  # every cell, in order, with the column's name and dtype
        digest.update(f"{column}:{tx[column].dtype}".encode())
        digest.update(pd.util.hash_pandas_object(tx[column], index=False).to_numpy().tobytes())
    report = data.reports[0]
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_mib": peak,
        "digest": digest.hexdigest()[:16],
        "rows_read": report.rows_read,
        "rows_used": report.rows_used,
        "excluded": [(e.reason, e.rows, list(e.examples)) for e in report.excluded],
        "notes": list(report.notes),
    }


def before_after(path: Path, before: Path, repeat: int) -> None:
    """Alternate fresh processes of this checkout and `before` on `path`; print times and check results."""
    here = Path(__file__).resolve()
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for _ in range(repeat):
        for label, code in (("before", Path(before).resolve()), ("after", here.parent.parent)):
            out = subprocess.run(
                [sys.executable, str(here), "--load-once", str(path.resolve()), "--code", str(code)],
                capture_output=True,
                text=True,
                check=True,
            )
            runs[label].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"file: {path.name}, {path.stat().st_size / 2**20:.0f} MiB; load_files, {repeat} fresh process(es) each")
    for label, results in runs.items():
        for r in results:
            print(
                f"  {label:<7} wall {r['seconds']:6.2f} s  cpu {r['cpu_seconds']:6.2f} s  peak RSS {r['peak_mib']:6.0f} MiB"
                f"  rows {r['rows_read']:,} = {r['rows_used']:,} + {r['rows_read'] - r['rows_used']:,}  {r['digest']}"
            )
    best = {label: min(r["seconds"] for r in results) for label, results in runs.items()}
    cpu = {label: min(r["cpu_seconds"] for r in results) for label, results in runs.items()}
    print(
        f"best wall: before {best['before']:.2f} s, after {best['after']:.2f} s (x{best['before'] / best['after']:.2f}); "
        f"cpu: before {cpu['before']:.2f} s, after {cpu['after']:.2f} s (x{cpu['before'] / cpu['after']:.2f})"
    )
    keys = ("digest", "rows_read", "rows_used", "excluded", "notes")
    same = all({k: r[k] for k in keys} == {k: runs["before"][0][k] for k in keys} for rs in runs.values() for r in rs)
    print("same cleaned frame and report:", "yes" if same else "NO")


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
    parser.add_argument("--file", type=Path, help="a CSV to load with this checkout and with --before")
    parser.add_argument("--before", type=Path, help="another checkout of the repository (the code before a change)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--load-once", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_once:
        print(json.dumps(load_once(args.load_once)))
        return
    if args.file:
        before_after(args.file, args.before, args.repeat)
        return
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
