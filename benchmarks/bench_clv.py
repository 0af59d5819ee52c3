"""Benchmark: our lifetime-value pipeline against the plain lifetimes pipeline, same data, same run.

    python benchmarks/bench_clv.py                      # 1,000,000 customers, ~10M transactions
    python benchmarks/bench_clv.py --customers 20000    # quick run
    python benchmarks/bench_clv.py --baseline-customers 200000   # baseline on a smaller log

Data: a seeded transaction log simulated from a BG/NBD purchase process (r 1.2, alpha 5 per week,
a 0.8, b 8) with Gamma-Gamma spend (p 6.25, q 3.74, v 15.44), customers acquired over 12 weeks and
observed for 78 weeks (the CDNOW design of Fader, Hardie & Lee 2005): ~10 purchases a customer.

Both pipelines do: per-customer summary (weekly, day granularity) -> fit BG/NBD, Pareto/NBD,
modified BG/NBD and Gamma-Gamma -> a 12-month CLV for every customer.

- ours: analytics.models.btyd.summarize_customers + analytics.models.purchase (fits on distinct (frequency, recency,
  T) triples with counts as weights; 2F1 once per distinct pair; CLV per triple).
- baseline: lifetimes.utils.summary_data_from_transaction_data(freq='D', freq_multiplier=7) +
  unweighted lifetimes fits + GammaGammaFitter.customer_lifetime_value(freq='W').

Both Pareto/NBD fits start from the same point (lifetimes otherwise starts at random). Printed:
times, speed-up, the largest relative parameter difference per model, total CLV of both, and the
peak resident memory (resource.getrusage) after each pipeline (it includes the simulated log).

Each stage is timed twice: wall clock, and CPU time of this process (time.process_time). On a
shared machine the wall clock depends on what else runs; the CPU-time ratio does not.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.models.btyd import simulate_transactions, summarize_customers
from analytics.models.clv import ClvSettings, customer_values
from analytics.models.purchase import BetaGeo, ModifiedBetaGeo, ParetoNBD, Triples
from analytics.models.spend import GammaGamma

warnings.filterwarnings("ignore")

SIMULATION = dict(
    r=1.2, alpha=5.0, a=0.8, b=8.0, spend=(6.25, 3.74, 15.44), time_unit="W", acquisition_days=84, observation_days=546
)
MODELS = {"bg_nbd": BetaGeo, "pareto_nbd": ParetoNBD, "mbg_nbd": ModifiedBetaGeo}


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far, in GB (ru_maxrss is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


class Stopwatch:
    """Wall-clock and CPU seconds per stage."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._start = (time.perf_counter(), time.process_time())
        self._last = self._start

    def lap(self, stage: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.wall[stage] = now[0] - self._last[0]
        self.cpu[stage] = now[1] - self._last[1]
        self._last = now

    def finish(self) -> None:
        self.wall["total"] = self._last[0] - self._start[0]
        self.cpu["total"] = self._last[1] - self._start[1]

    def line(self) -> str:
        return ", ".join(f"{k} {self.wall[k]:.1f}s ({self.cpu[k]:.1f}s cpu)" for k in self.wall)


def run_ours(tx, settings: ClvSettings) -> dict:
    clock = Stopwatch()
    summary = summarize_customers(tx, time_unit="W")
    tr = Triples.from_summary(summary)
    clock.lap("summary")
    params = {}
    models = {}
    for name, cls in MODELS.items():
        models[name] = cls(time_unit="W").fit_triples(tr)
        params[name] = models[name].params_
        clock.lap(name)
    spend = GammaGamma().fit(summary)
    params["gamma_gamma"] = spend.params_
    clock.lap("gamma_gamma")
    values = customer_values(summary, models["bg_nbd"], spend, settings, triples=tr)
    clock.lap("clv")
    clock.finish()
    return {
        "clock": clock,
        "params": params,
        "total_clv": float(values["clv"].sum()),
        "n_customers": len(summary),
        "n_triples": len(tr.weights),
    }


def run_baseline(tx, settings: ClvSettings) -> dict:
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    from lifetimes.utils import summary_data_from_transaction_data

    clock = Stopwatch()
    s = summary_data_from_transaction_data(
        tx, "customer_id", "order_date", monetary_value_col="amount", freq="D", freq_multiplier=7
    )
    clock.lap("summary")
    f, r, T = s["frequency"], s["recency"], s["T"]
    params = {}
    fitted = {}
    for name, cls, kw in (
        ("bg_nbd", BetaGeoFitter, {}),
        ("pareto_nbd", ParetoNBDFitter, {"initial_params": np.ones(4)}),
        ("mbg_nbd", ModifiedBetaGeoFitter, {}),
    ):
        fitted[name] = cls().fit(f, r, T, **kw)
        params[name] = dict(fitted[name].params_)
        clock.lap(name)
    repeat = s[s["frequency"] > 0]
    gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    params["gamma_gamma"] = dict(gg.params_)
    clock.lap("gamma_gamma")
    monthly = (1 + settings.annual_discount_rate) ** (1 / 12) - 1
    clv = (
        gg.customer_lifetime_value(
            fitted["bg_nbd"],
            f,
            r,
            T,
            s["monetary_value"],
            time=int(settings.horizon_months),
            discount_rate=monthly,
            freq="W",
        )
        * settings.margin
    )
    clock.lap("clv")
    clock.finish()
    return {"clock": clock, "params": params, "total_clv": float(clv.sum()), "n_customers": len(s)}


def simulate(n: int, seed: int):
    t = time.perf_counter()
    tx = simulate_transactions(n, random_state=seed, **SIMULATION)
    print(f"simulated {n:,} customers, {len(tx):,} transactions in {time.perf_counter() - t:.1f} s", flush=True)
    return tx


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument(
        "--baseline-customers",
        type=int,
        default=None,
        help="run the lifetimes baseline (and ours again) on a smaller log of this size",
    )
    ap.add_argument("--seed", type=int, default=2005)
    args = ap.parse_args(argv)
    settings = ClvSettings(horizon_months=12, margin=0.3, annual_discount_rate=0.10, n_bootstrap=0)

    tx = simulate(args.customers, args.seed)
    ours = run_ours(tx, settings)
    ours_peak = peak_rss_gb()
    print(
        f"\nours @ {ours['n_customers']:,} customers ({ours['n_triples']:,} distinct triples): " + ours["clock"].line(),
        flush=True,
    )
    print(f"  peak RSS so far (simulated log + ours): {ours_peak:.2f} GB")

    if args.baseline_customers and args.baseline_customers != args.customers:
        del tx
        gc.collect()
        tx = simulate(args.baseline_customers, args.seed)
        ours_small = run_ours(tx, settings)
        print(f"ours @ {ours_small['n_customers']:,} customers: " + ours_small["clock"].line(), flush=True)
    else:
        ours_small = ours
    base = run_baseline(tx, settings)
    print(f"lifetimes @ {base['n_customers']:,} customers: " + base["clock"].line())
    print(f"  peak RSS of the process (both pipelines): {peak_rss_gb():.2f} GB")

    b, o = base["clock"], ours_small["clock"]
    print(
        f"\nspeed-up end to end: {b.wall['total'] / o.wall['total']:.1f}x wall clock "
        f"({b.wall['total']:.1f} s -> {o.wall['total']:.1f} s), {b.cpu['total'] / o.cpu['total']:.1f}x CPU time "
        f"({b.cpu['total']:.1f} s -> {o.cpu['total']:.1f} s)"
    )
    print("  stage        lifetimes wall (cpu)  ->  ours wall (cpu)")
    for stage in ("summary", *MODELS, "gamma_gamma", "clv"):
        print(f"  {stage:12s} {b.wall[stage]:8.2f} ({b.cpu[stage]:7.2f}) -> {o.wall[stage]:7.2f} ({o.cpu[stage]:6.2f})")
    print("\nlargest relative parameter difference (ours vs lifetimes):")
    for model, p in ours_small["params"].items():
        q = base["params"][model]
        diff = max(abs(p[k] / q[k] - 1) for k in p)
        print(f"  {model:12s} {diff:.1e}   " + ", ".join(f"{k} {p[k]:.4f}" for k in p))
    print(
        f"\ntotal 12-month CLV: ours {ours_small['total_clv']:,.0f}, lifetimes "
        f"{base['total_clv']:,.0f} ({100 * (ours_small['total_clv'] / base['total_clv'] - 1):+.2f}%; lifetimes "
        "discounts month-end steps of 4.345 weeks, ours weekly midpoints of continuous discounting)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
