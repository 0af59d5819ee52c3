"""Benchmark: the purchase-model work of the report (what its worker process fits), against a baseline
build in the same run.

    python benchmarks/bench_fits.py --customers 300000 --baseline /path/to/worktree-at-main
    python benchmarks/bench_fits.py --customers 300000 --rounds 3
    python benchmarks/bench_fits.py --upload10k --baseline /path/to/worktree-at-main --rounds 3

Data: benchmarks/out/scale_<customers>.csv (written by bench_scale.py). The per-customer rows the fits
need (the calibration/holdout split and the summary, `analytics.reports.sections.clv.fit_inputs`) and
the acquisition cohorts are computed once and handed to every run, so only the model work is timed:

- `clv`: `analytics.models.clv.analyse_summaries` (holdout comparison of BG/NBD, MBG/NBD and Pareto/NBD
  on calibration, the final fit, Gamma-Gamma, the 90% CLV interval) and the clv section's figures
  (`section_from_analysis`: holdout ranges, forecast ranges, calibration spend fit);
- `segments`: `analytics.business.segment_value.purchase_value_by_segment` for every segment
  attribute (per-segment purchase and spend fits with their CLV intervals).

- `cutoff` (with --upload10k): the churn angle's refit of the chosen purchase model on the purchases up to
  the derived label's cutoff (`analytics.business.churn_angles.fitted_p_alive` of `cutoff_summary`, as
  the report's worker runs it).

--upload10k takes bench_pages.py's seeded 10,000-customer upload (about 60,000 purchases over two years,
one dropout rate for everyone: the Pareto/NBD runs along its ridge of large s and beta) instead of a
scale file.

Each build runs in a fresh Python process, alternately (baseline, ours, baseline, ours, ...), so
both meet the same machine load; printed: CPU seconds per stage (`time.process_time`) per round and
the ratio of the medians. Without --baseline only this tree is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"


def make_inputs(customers: int, path: Path, upload10k: bool = False) -> None:
    """The fit's per-customer rows and the segment labels of the scale benchmark's file (or of bench_pages'
    10,000-customer upload, with the churn angle's cutoff rows), pickled."""
    sys.path.insert(0, str(ROOT))
    from analytics.business.segment_value import segment_attributes
    from analytics.data.ingest import load_files
    from analytics.reports.report import ReportSettings, clv_settings
    from analytics.reports.sections.clv import fit_inputs, without_days

    cutoff_rows = None
    if upload10k:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_pages import synthetic_purchases

        from analytics.business.churn_analysis import ChurnSettings, churn_analysis
        from analytics.business.churn_angles import cutoff_summary

        data = load_files([("purchases_10k.csv", synthetic_purchases().to_csv(index=False).encode())])
        cut = cutoff_summary(data, churn_analysis(data, ChurnSettings()))
        if cut is not None:
            cutoff_rows = cut[["frequency", "recency", "T"]].copy()
            cutoff_rows.attrs = dict(cut.attrs)
    else:
        source = OUT / f"scale_{customers}.csv"
        if not source.exists():
            raise SystemExit(f"{source} is missing: run benchmarks/bench_scale.py --customers {customers} first.")
        data = load_files([(source.name, source.read_bytes())])
    settings = clv_settings(ReportSettings())
    split, summary = fit_inputs(data, settings)
    with path.open("wb") as handle:
        pickle.dump((without_days(split), summary, settings, segment_attributes(data), cutoff_rows), handle)


def child(root: Path, inputs: Path) -> None:
    """Time the model work with the analytics package of `root`; print the figures as JSON."""
    sys.path.insert(0, str(root))
    warnings.simplefilter("ignore")
    from analytics.business.churn_angles import fitted_p_alive
    from analytics.business.segment_value import purchase_value_by_segment
    from analytics.models.clv import analyse_summaries
    from analytics.reports.sections.clv import section_from_analysis

    with inputs.open("rb") as handle:
        split, summary, settings, attributes, cutoff_rows = pickle.load(handle)
    start = time.process_time()
    analysis = analyse_summaries(split, summary, settings)
    section = section_from_analysis(analysis, settings)
    middle = time.process_time()
    segments = {key: purchase_value_by_segment(analysis, labels, label=key).table for key, labels in attributes.items()}
    end = time.process_time()
    cutoff = None
    p_alive = None
    if cutoff_rows is not None:
        p_alive = fitted_p_alive(cutoff_rows, analysis.selected)  # as the report's worker
        cutoff = round(time.process_time() - end, 3)
    final = analysis.purchase_model
    print(
        json.dumps(
            {
                "clv": round(middle - start, 3),
                "segments": round(end - middle, 3),
                "cutoff": cutoff,
                "selected": section["selected"],
                "final_params": {k: round(v, 6) for k, v in final.params_.items()},
                "final_log_likelihood": round(final.log_likelihood_, 6),
                "total_clv": section["total_clv"],
                "mean_p_alive_at_cutoff": None if p_alive is None else round(float(p_alive.mean()), 6),
                "mean_values": {k: t["mean_value"].round(6).tolist() for k, t in segments.items()},
            }
        )
    )


def run(root: Path, inputs: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(root), "--inputs", str(inputs)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--baseline", type=Path, help="a worktree of the repository at the baseline commit")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--upload10k", action="store_true", help="bench_pages.py's 10,000-customer upload")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.inputs)
        return
    builds = {"ours": ROOT} if args.baseline is None else {"baseline": args.baseline.resolve(), "ours": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "inputs.pkl"
        make_inputs(args.customers, inputs, upload10k=args.upload10k)
        results: dict[str, list[dict]] = {name: [] for name in builds}
        for round_ in range(args.rounds):
            for name, root in builds.items():
                result = run(root, inputs)
                results[name].append(result)
                cutoff = "" if result["cutoff"] is None else f"  cutoff {result['cutoff']:6.2f} s"
                print(
                    f"round {round_ + 1} {name:8s} clv {result['clv']:7.2f} s  segments {result['segments']:6.2f} s{cutoff}"
                )
    stages = ["clv", "segments"] + (["cutoff"] if results["ours"][0]["cutoff"] is not None else [])
    size = "the 10,000-customer upload" if args.upload10k else f"{args.customers:,} customers"
    print(f"\n{size}, load {os.getloadavg()[0]:.1f}; CPU seconds, median of {args.rounds}:")
    medians = {name: {k: statistics.median(r[k] for r in runs) for k in stages} for name, runs in results.items()}
    for name, m in medians.items():
        figures = "  ".join(f"{k} {m[k]:7.2f}" for k in stages)
        print(f"  {name:8s} {figures}  total {sum(m.values()):7.2f}")
        first = results[name][0]
        print(f"           {first['selected']} {first['final_params']} LL {first['final_log_likelihood']}")
    if "baseline" in medians:
        base, ours = medians["baseline"], medians["ours"]
        for stage in stages:
            print(f"  {stage}: {base[stage] / ours[stage]:.2f}x faster")
        same = results["baseline"][0]["selected"] == results["ours"][0]["selected"]
        rel = abs(results["ours"][0]["total_clv"] / results["baseline"][0]["total_clv"] - 1)
        print(f"  same chosen model: {same}; total CLV relative difference {rel:.1e}")


if __name__ == "__main__":
    main()
