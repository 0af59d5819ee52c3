"""Benchmark: the whole headless report at scale, against the plain lifetimes pipeline, same run.

    python benchmarks/bench_scale.py --customers 300000          # ~1.47M purchases
    python benchmarks/bench_scale.py --customers 2000000         # ~9.8M purchases (about 10 min before)
    python benchmarks/bench_scale.py --customers 100000 --skip-baseline

Data: a seeded purchase log simulated from a BG/NBD process (r 0.62, alpha 6 per week, a 0.8,
b 4) with Gamma-Gamma spend (p 6.25, q 3.74, v 15.44), customers acquired over 12 weeks and
observed for 78 weeks: about 4.9 purchases per customer. Written once to
benchmarks/out/scale_<customers>.csv (order_id, customer_id as text 'C0000001', order_date
YYYY-MM-DD, amount) and reused.

Each pipeline runs in its own fresh Python process (so peak memory is its own), one after the
other in this run:

- ours: `analytics.data.ingest.load_files` on the file's bytes (stage `load_files`), then one
  `analytics.reports.report.build_report` with every section, as the CLI runs it: the `data`
  section (stage `report_data`), the shared purchase-model fit (stage `purchase_model`), then
  each section timed from its start to the next one's. With a worker process (`--workers 2`,
  the default from 200,000 purchases on two cores) `purchase_model` only builds the fit's
  per-customer rows and sends them; the fits and the clv section run on the worker while this
  process runs segments, retention_sbg and the churn model (stage `churn_model`), queues the churn
  angle's refit at the label's cutoff behind them, then waits for the fits (stage
  `purchase_model_wait`); kpis, clv and whatif run here while the worker does the refit, then the
  value_by_segment section's per-segment fits start on the worker while campaign, voice, actions
  and churn run here (so the largest working sets of the two processes do not coincide), and
  `churn` and `value_by_segment` come last (their stages include any wait for the worker);
- baseline: the plain lifetimes pipeline: `pandas.read_csv`, `summary_data_from_transaction_data`
  (weekly, day granularity), `BetaGeoFitter`, `GammaGammaFitter` on repeat buyers, and the
  12-month `customer_lifetime_value` (monthly discount 1%).

Printed per stage: CPU seconds (this process and its threads, `time.process_time`), wall
seconds, the process's peak resident memory after the stage (`ru_maxrss`) and the peak of the
process and its worker together during the stage (`both GB`, sampled), and each one's own peak during
the stage (`main GB`, `worker GB`; they may fall at different moments). The worker
process's CPU seconds are a row of their own (`worker_process`, from `getrusage(RUSAGE_CHILDREN)`
once it has finished), so the CPU total counts both processes; its peak memory, and the peak of
the process and its worker together, are sampled every 0.1 s from /proc. The machine is
shared: compare CPU seconds and the ratio to the baseline measured in the same run.
`--json PATH` also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = Path(__file__).resolve().parent / "out"
SIMULATION = dict(r=0.62, alpha=6.0, a=0.8, b=4.0, spend=(6.25, 3.74, 15.44), time_unit="W")


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far, in GB (ru_maxrss is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def children_cpu_s() -> float:
    """CPU seconds (user + system) of this process's finished children: the report's worker process."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return 0


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return b""


def _children(pid: int) -> list[int]:
    """The child processes of `pid`, except forks that have not yet run another program: a library
    starting a command (e.g. `lscpu` to count cores) forks or vforks first, and until its exec the child
    shows the parent's resident pages, which it shares; summing them would count the parent twice."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            found = [int(child) for child in children.read().split()]
    except OSError:
        return []
    own = _cmdline(pid)
    return [child for child in found if _cmdline(child) != own]


class TreeMemory:
    """Peak resident memory of this process plus its children at the same moment (sampled every
    0.1 s from /proc; Linux only, 0 elsewhere): what the machine holds while the worker runs."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self.children_peak_kb = 0
        self.stage_peak_kb = 0  # since the last `stage_peak`
        self.stage_main_kb = 0  # this process alone, since the last `stage_peak`
        self.stage_worker_kb = 0  # its children alone, since the last `stage_peak`
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.1):
            children = sum(_rss_kb(child) for child in _children(me))
            main = _rss_kb(me)
            self.children_peak_kb = max(self.children_peak_kb, children)
            both = main + children
            self.peak_kb = max(self.peak_kb, both)
            self.stage_peak_kb = max(self.stage_peak_kb, both)
            self.stage_main_kb = max(self.stage_main_kb, main)
            self.stage_worker_kb = max(self.stage_worker_kb, children)

    def stage_peak(self) -> tuple[float, float, float]:
        """The peaks since the last call, in GB, of both processes together, this process alone and
        its worker alone (each process's own peak may fall at another moment); starts a new stage."""
        peaks = (self.stage_peak_kb, self.stage_main_kb, self.stage_worker_kb)
        self.stage_peak_kb = self.stage_main_kb = self.stage_worker_kb = 0
        return peaks[0] / 1e6, peaks[1] / 1e6, peaks[2] / 1e6

    def stop(self) -> float:
        """Stop sampling; the peak in GB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1e6


class Stages:
    """CPU and wall seconds per stage, the peak memory after it, and (with a `TreeMemory`) the peak of
    the process and its worker together during it."""

    def __init__(self, memory: TreeMemory | None = None) -> None:
        self.rows: list[dict] = []
        self._memory = memory
        self._last = (time.perf_counter(), time.process_time())

    def lap(self, stage: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.rows.append(
            {
                "stage": stage,
                "wall_s": round(now[0] - self._last[0], 2),
                "cpu_s": round(now[1] - self._last[1], 2),
                "peak_gb": round(peak_rss_gb(), 2),
            }
        )
        if self._memory is not None:
            both, main, worker = self._memory.stage_peak()
            self.rows[-1].update(both_gb=round(both, 2), main_gb=round(main, 2), worker_gb=round(worker, 2))
        self._last = now


def make_csv(customers: int, seed: int = 13) -> Path:
    """The seeded purchase log as a CSV (written once, then reused)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from analytics.models.btyd import simulate_transactions

    path = OUT / f"scale_{customers}.csv"
    if path.exists():
        return path
    OUT.mkdir(exist_ok=True)
    tx = simulate_transactions(customers, random_state=seed, **SIMULATION)
    ids = tx["customer_id"].str[1:].astype(np.int64).to_numpy()
    table = pa.table(
        {
            "order_id": pa.array(np.arange(1, len(tx) + 1, dtype=np.int64)),
            "customer_id": pa.array(np.char.add("C", np.char.zfill(ids.astype(str), 7))),
            "order_date": pa.array(tx["order_date"].dt.strftime("%Y-%m-%d").to_numpy()),
            "amount": pa.array(tx["amount"].round(2).to_numpy()),
        }
    )
    tmp = path.with_suffix(".tmp")
    pacsv.write_csv(table, tmp)
    tmp.rename(path)
    return path


def run_ours(path: Path, workers: int | None) -> dict:
    """load_files, then ONE `build_report` (every section, as the CLI runs it), each stage timed.

    The stage `report_data` is the report's `data` section (cleaning report, business kind),
    which runs before the first section; each stage ends when the next one starts (the report
    announces the shared purchase-model fit, and with a worker process the churn model and the
    wait for the worker, as stages of their own). The worker process's CPU seconds are counted
    once it has finished (stage `worker_process`, no wall time of its own: it ran alongside).
    """
    from analytics.data.ingest import load_files
    from analytics.reports.report import ReportSettings, build_report, report_workers

    memory = TreeMemory()
    stages = Stages(memory)
    data = load_files([(path.name, path.read_bytes())])
    stages.lap("load_files")
    running = ["report_data"]

    def progress(name: str) -> None:
        stages.lap(running[0])
        running[0] = name

    used = report_workers(data, workers)
    report = build_report(data, ReportSettings(), progress=progress, workers=workers)
    stages.lap(running[0])
    tree_peak = memory.stop()
    # the worker's peak as sampled (getrusage's ru_maxrss of children also counts short-lived
    # subprocesses forked from this process, whose resident size starts as this process's)
    worker = {"stage": "worker_process", "wall_s": 0.0, "cpu_s": round(children_cpu_s(), 2)}
    worker["peak_gb"] = round(memory.children_peak_kb / 1e6, 2)
    return {
        "stages": [*stages.rows, worker],
        "workers": used,
        "tree_peak_gb": round(tree_peak, 2),
        "reasons": report["reasons"],
        "rows": int(len(data.transactions)),
    }


def run_baseline(path: Path) -> dict:
    """The plain lifetimes pipeline on the same file."""
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    stages = Stages()
    tx = pd.read_csv(path, parse_dates=["order_date"])
    stages.lap("read_csv")
    summary = summary_data_from_transaction_data(
        tx, "customer_id", "order_date", monetary_value_col="amount", freq="D", freq_multiplier=7
    )
    stages.lap("summary")
    bgf = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    stages.lap("bg_nbd")
    repeat = summary[summary["frequency"] > 0]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    stages.lap("gamma_gamma")
    clv = ggf.customer_lifetime_value(
        bgf,
        summary["frequency"],
        summary["recency"],
        summary["T"],
        summary["monetary_value"],
        time=12,
        freq="W",
        discount_rate=0.01,
    )
    stages.lap("clv_12_months")
    return {"stages": stages.rows, "total_clv": float(clv.sum())}


def child(kind: str, path: Path, workers: int | None) -> None:
    warnings.filterwarnings("ignore")
    result = run_ours(path, workers) if kind == "ours" else run_baseline(path)
    print(json.dumps(result))


def run_child(kind: str, path: Path, workers: int | None = None) -> dict:
    extra = [] if workers is None else ["--workers", str(workers)]
    process = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--file", str(path), *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def table(title: str, result: dict) -> str:
    rows = result["stages"]
    both = any("both_gb" in row for row in rows)
    head = f"  {'stage':<20}{'cpu s':>9}{'wall s':>9}{'peak GB':>9}"
    head += f"{'both GB':>9}{'main GB':>9}{'worker GB':>10}" if both else ""
    lines = [title, head]
    for row in rows:
        line = f"  {row['stage']:<20}{row['cpu_s']:>9.1f}{row['wall_s']:>9.1f}{row['peak_gb']:>9.2f}"
        if "both_gb" in row:
            line += f"{row['both_gb']:>9.2f}{row['main_gb']:>9.2f}{row['worker_gb']:>10.2f}"
        lines.append(line)
    cpu = sum(r["cpu_s"] for r in rows)
    wall = sum(r["wall_s"] for r in rows)
    lines.append(f"  {'total':<20}{cpu:>9.1f}{wall:>9.1f}{max(r['peak_gb'] for r in rows):>9.2f}")
    if "tree_peak_gb" in result:
        lines.append(
            f"  {result['workers']} process(es); peak memory of the process and its worker together: "
            f"{result['tree_peak_gb']:.2f} GB (sampled every 0.1 s)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument(
        "--workers", type=int, choices=[1, 2], help="the report's processes (default: as build_report chooses)"
    )
    parser.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.file), args.workers)
        return

    start = time.perf_counter()
    path = make_csv(args.customers)
    size_mb = path.stat().st_size / 1e6
    print(f"{path.name}: {args.customers:,} customers, {size_mb:,.0f} MB (made in {time.perf_counter() - start:.0f} s)")
    ours = run_child("ours", path, args.workers)
    print(f"{ours['rows']:,} purchases ({ours['rows'] / args.customers:.2f} per customer)")
    print(table("ours (load_files + build_report):", ours))
    for name, reason in ours["reasons"].items():
        print(f"  {name} not available: {reason}")
    result = {"customers": args.customers, "rows": ours["rows"], "ours": ours}
    if not args.skip_baseline:
        baseline = run_child("baseline", path)
        print(table("plain lifetimes pipeline:", baseline))
        ours_cpu = sum(r["cpu_s"] for r in ours["stages"])
        base_cpu = sum(r["cpu_s"] for r in baseline["stages"])
        ours_wall = sum(r["wall_s"] for r in ours["stages"])
        base_wall = sum(r["wall_s"] for r in baseline["stages"])
        print(f"ratio ours / plain lifetimes: CPU {ours_cpu / base_cpu:.2f}x, wall {ours_wall / base_wall:.2f}x")
        result["baseline"] = baseline
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
