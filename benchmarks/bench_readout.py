"""Coverage of the campaign readout's 95% interval on simulated campaigns with a known uplift.

    python benchmarks/bench_readout.py [--runs 100] [--customers 5000] [--uplift 0.05]

Each run draws a 5,000-customer contact list, holds out 10% as control (stratified by risk
decile, as the app does), lets treated customers stay with probability 0.75 and control
customers with 0.70 (true uplift 5 points), reads it out and checks whether the Newcombe
interval holds 0.05. Prints the coverage (target >= 90%, nominal 95%) against the plain normal
(Wald) interval computed on the same runs as the baseline.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.business.experiment import read_out, simulate_campaign


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--uplift", type=float, default=0.05)
    args = parser.parse_args()
    newcombe = wald = 0
    widths = []
    start = time.perf_counter()
    for seed in range(args.runs):
        contacts, outcome = simulate_campaign(args.customers, uplift=args.uplift, seed=seed)
        r = read_out(contacts, outcome)
        lo, hi = r.interval_95
        newcombe += lo <= args.uplift <= hi
        widths.append(hi - lo)
        se = math.sqrt(
            r.treated_rate * (1 - r.treated_rate) / r.treated + r.control_rate * (1 - r.control_rate) / r.control
        )
        wald += abs(r.difference - args.uplift) <= 1.959964 * se
    seconds = time.perf_counter() - start
    print(f"runs: {args.runs}, customers: {args.customers:,}, true uplift: {args.uplift:.0%} (control 10%)")
    print(f"Newcombe 95% interval coverage: {newcombe / args.runs:.0%} (target >= 90%)")
    print(f"Wald (normal) 95% interval coverage, same runs: {wald / args.runs:.0%}")
    print(
        f"mean interval width: {100 * sum(widths) / len(widths):.1f} points; {seconds / args.runs * 1000:.0f} ms per run"
    )


if __name__ == "__main__":
    main()
