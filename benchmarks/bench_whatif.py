"""Time one what-if recomputation (what a slider move costs) against the per-period loop.

Run from the project root:  python benchmarks/bench_whatif.py [--repeat 200]

Prints, for horizons of 12 to 120 periods, the median and 95th-percentile time of
- `whatif` (both scenarios, CLV, waterfall, explanation) with every loyalty effect on, and
- the same two scenario simulations done by the per-period cohort loop (the baseline, measured
  in the same run), with the ratio. Target: one `whatif` well under 50 ms at 120 periods.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.business.economics import LoyaltyEffects, simulate, whatif
from analytics.business.whatif_inputs import WhatIfSettings, build_assumptions, defaults_from_data
from analytics.data.datasets import load_demo

# The demo subscription business's measured inputs, with every loyalty effect switched on.
SETTINGS = WhatIfSettings(
    fixed_costs=10_000.0, loyalty=LoyaltyEffects(spend_growth=0.008, referrals=0.02, cost_reduction=0.01)
)
BASE, _ = build_assumptions(defaults_from_data(load_demo("subscription")), SETTINGS)
LOYALTY = SETTINGS.loyalty
LIFT = SETTINGS.retention_lift


def timings(fn, repeat: int) -> tuple[float, float]:
    """Median and 95th percentile, milliseconds, after two warm-up calls."""
    fn()
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(int(0.95 * len(samples)), len(samples) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    worst = 0.0
    print(
        f"{'horizon':>7} | {'whatif median':>13} {'p95':>8} | {'2 sims fast':>11} | {'2 sims loop':>11} {'p95':>8} | ratio"
    )
    for horizon in (12, 36, 60, 120):
        lifted = min(BASE.retention + 0.005, 0.999)

        # Loop values bound as defaults: each closure keeps this iteration's horizon (ruff B023).
        def fast(horizon: int = horizon, lifted: float = lifted) -> None:
            simulate(BASE, LOYALTY, horizon=horizon)
            simulate(BASE, LOYALTY, retention=lifted, horizon=horizon)

        def loop(horizon: int = horizon, lifted: float = lifted) -> None:
            simulate(BASE, LOYALTY, horizon=horizon, method="loop")
            simulate(BASE, LOYALTY, retention=lifted, horizon=horizon, method="loop")

        w_med, w_p95 = timings(lambda horizon=horizon: whatif(BASE, LOYALTY, LIFT, horizon), args.repeat)
        f_med, _ = timings(fast, args.repeat)
        l_med, l_p95 = timings(loop, max(args.repeat // 4, 10))
        print(
            f"{horizon:>7} | {w_med:>10.2f} ms {w_p95:>5.2f} ms | {f_med:>8.2f} ms | {l_med:>8.2f} ms {l_p95:>5.2f} ms"
            f" | loop / fast = {l_med / f_med:.1f}x"
        )
        worst = max(worst, w_p95)
    print(
        f"Slowest whatif 95th percentile: {worst:.2f} ms (target: under 50 ms) -> {'OK' if worst < 50 else 'TOO SLOW'}"
    )


if __name__ == "__main__":
    main()
