"""What a slider move costs on the What-if page, against a cold page run in the same process.

Run from the project root:  python benchmarks/bench_whatif_page.py [--repeat 30]

Prints median and 95th-percentile times of
1. one what-if recomputation (`ui.whatif.run_scenario`: both scenarios, CLV, waterfall, sentence),
   target under 50 ms; and the same plus the three chart specs the fragment draws (serialised as
   Streamlit does: validated, data passed by reference);
2. measuring the defaults from the purchase log (what a slider move must never redo);
3. in AppTest on the subscription demo: a slider move as a fragment-only rerun (what the browser
   does), the same move as a full page rerun with warm caches, and the baseline: a full page run
   with every cache cleared (demo loading and defaults measurement included); with ratios.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest, local_script_runner  # noqa: E402

from analytics.business.whatif_inputs import defaults_from_data  # noqa: E402
from analytics.data.datasets import load_demo  # noqa: E402
from analytics.reports.charts.economics import customers_over_time, profit_waterfall, reichheld_band  # noqa: E402
from benchmarks.bench_whatif import timings  # noqa: E402  (median, p95 in ms after two warm-up calls)
from ui import whatif as wi  # noqa: E402

TARGET_MS = 50.0


def fragment_only_run(at: AppTest) -> AppTest:
    """Rerun only the page's fragment, as the browser does on a slider move.

    AppTest always reruns the whole script, so this queues the fragments registered by the last run
    the way Streamlit's own RerunData does (private API, pinned Streamlit version). The benchmark
    keeps its own copy so it never imports the tests (tests/app/helpers.py has the tests' one).
    """
    fragment_ids = list(at._fragment_storage._fragments)
    original = local_script_runner.RerunData
    local_script_runner.RerunData = functools.partial(original, fragment_id_queue=fragment_ids)
    try:
        return at.run()
    finally:
        local_script_runner.RerunData = original


SLIDERS = {
    wi.K_LIFT: 5.0,
    wi.K_MODE: "points",
    wi.K_BASIS: "year",
    wi.K_MARGIN: 30,
    wi.K_DISCOUNT: 10.0,
    wi.K_YEARS: 5,
    wi.K_CAC: 50.4,
    wi.K_FIXED: 0.0,
    wi.K_ACQUISITION: "constant",
    wi.K_GROWTH: 0.0,
    wi.K_REFERRALS: 0.0,
    wi.K_SERVE: 0.0,
}


def _by_name(data: pd.DataFrame) -> dict:
    """Altair data transformer like Streamlit's: data travels as Arrow, the spec holds only a name."""
    return {"name": f"data-{id(data)}"}


alt.data_transformers.register("by_name", _by_name)


def recomputation(repeat: int) -> float:
    """Section 1; returns the slowest 95th percentile."""
    defaults = defaults_from_data(load_demo("subscription"), "M")
    worst = 0.0
    print("1. One what-if recomputation (subscription demo, monthly)")
    for years, loyal in ((5, False), (5, True), (10, True)):
        values = {**SLIDERS, wi.K_YEARS: years}
        if loyal:
            values.update({wi.K_GROWTH: 0.78, wi.K_REFERRALS: 1.0, wi.K_SERVE: 0.5, wi.K_FIXED: 20_000.0})
        settings = wi.settings_from_values(values, "M")

        def with_charts(settings: wi.WhatIfSettings = settings) -> None:  # this iteration's settings (B023)
            result = wi.run_scenario(defaults, settings)
            row = wi.scenario_row("now", settings, result)
            band = pd.DataFrame({"scenario": ["now"], "profit_change_pct": [row["Profit change %"]]})
            with alt.data_transformers.enable("by_name"):
                for chart in (
                    customers_over_time(result.customers_frame()),
                    profit_waterfall(result.waterfall),
                    reichheld_band(band),
                ):
                    chart.to_dict()  # validated against the Vega-Lite schema, as st.altair_chart does

        med, p95 = timings(lambda settings=settings: wi.run_scenario(defaults, settings), repeat * 5)
        c_med, c_p95 = timings(with_charts, repeat)
        label = f"{years * 12} months, {'all loyalty effects' if loyal else 'no loyalty effects'}"
        print(f"   {label:<40} whatif {med:6.2f} ms (p95 {p95:6.2f})   + charts {c_med:6.2f} ms (p95 {c_p95:6.2f})")
        worst = max(worst, p95)
    verdict = "OK" if worst < TARGET_MS else "TOO SLOW"
    print(
        f"   slowest what-if p95: {worst:.2f} ms (target under {TARGET_MS:.0f} ms) -> {verdict}; the charts' schema "
        "validation (Altair) costs more than the model"
    )
    return worst


def page_runs(repeat: int) -> None:
    """Sections 2 and 3."""
    data = load_demo("subscription")
    m_med, _ = timings(lambda: defaults_from_data(data, "M"), max(repeat // 3, 5))
    print(f"2. Measuring the defaults from the purchase log: {m_med:.1f} ms (median)")

    def cold() -> AppTest:
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.switch_page("pages/whatif.py").run()
        assert not at.exception
        return at

    cold_med, cold_p95 = timings(cold, max(repeat // 3, 5))
    at = cold()
    lifts = iter([6.0, 7.0] * 1000)

    def full_move() -> None:
        at.slider(key=wi.K_LIFT).set_value(next(lifts)).run()

    def fragment_move() -> None:
        at.slider(key=wi.K_LIFT).set_value(next(lifts))
        fragment_only_run(at)

    full_med, full_p95 = timings(full_move, repeat)
    at.run()
    frag_med, frag_p95 = timings(fragment_move, repeat)
    assert not at.exception and at.metric[0].label == "Profit change"
    print("3. AppTest on the subscription demo (median / p95)")
    print(f"   baseline: full page run, caches cleared     {cold_med:7.1f} / {cold_p95:7.1f} ms")
    print(
        f"   slider move, full rerun, warm caches        {full_med:7.1f} / {full_p95:7.1f} ms"
        f"   {cold_med / full_med:5.1f}x faster than the baseline"
    )
    print(
        f"   slider move, fragment only (as in browser)  {frag_med:7.1f} / {frag_p95:7.1f} ms"
        f"   {cold_med / frag_med:5.1f}x faster than the baseline, {full_med / frag_med:.1f}x faster than a full rerun"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    recomputation(args.repeat)
    page_runs(args.repeat)


if __name__ == "__main__":
    main()
