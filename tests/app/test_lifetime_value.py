"""Lifetime value page (issue 3): holdout check, published CDNOW parameters, customer values, sBG.

What the page shows is checked against the shared cached fit every page uses
(`ui.models.current_clv`), read back by a tiny AppTest script that hits the same in-process cache,
so no model is fitted twice; the literature's numbers (Fader, Hardie & Lee 2005) pin the CDNOW run
and the sBG numbers come from `analytics.reports.sections.retention_sbg.report_section` on the uploaded file read directly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from analytics.business.kpis import compute_kpis
from analytics.business.value import FORMULA_VS_MODEL
from analytics.data.datasets import load_demo
from analytics.data.ingest import build_dataset, read_and_guess
from analytics.formatting import money
from analytics.reports.sections.retention_sbg import report_section as sbg_report
from tests.app import helpers
from tests.app.helpers import captions, click, markdown, metrics, script_result, table, upload_session
from tests.conftest import csv_bytes
from ui import clv as lv

PAGE = "pages/lifetime_value.py"
CUSTOMERS_CSV = Path(__file__).resolve().parents[2] / "data" / "subscription_customers.csv"


def open_page(query: dict | None = None, session: dict | None = None) -> AppTest:
    return helpers.open_page(PAGE, query, session, check_errors=True)


def shared_clv(query: dict | None = None, **session) -> dict:
    """What `ui.models.current_clv` says for this dataset and these settings (a cache hit)."""

    def script() -> None:
        import streamlit as st

        from ui.cache import current_data
        from ui.models import current_clv

        analysis = current_clv(current_data())
        st.session_state["expected"] = {
            "metrics": analysis.comparison.metrics,
            "selected": analysis.selected,
            "mean": analysis.mean_clv,
            "total": analysis.total_clv,
            "interval": analysis.interval,
            "top": analysis.customers["clv"].idxmax(),
            "time_unit": analysis.purchase_model.time_unit_,
        }

    return script_result(script, query=query, session=session)


def chart_data(chart) -> list[pd.DataFrame]:
    """The frames an Altair chart on the page was drawn from (Arrow datasets of its proto)."""
    return [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets]


def apply(at: AppTest) -> AppTest:
    """Press the settings form's button (the form applies every setting at once)."""
    click(at, "Apply and refit")
    assert not at.exception and not at.error
    return at


def usd(x: float) -> str:
    """An amount as the page shows it on CDNOW, whose demo declares US dollars."""
    return money(x, "USD")


def test_cdnow_sample_reproduces_the_published_bg_nbd_fit_and_holdout():
    cdnow = {"dataset": "cdnow_sample", "clv_calibration_end": "1997-09-30"}  # as a shared link carries it
    at = open_page(cdnow)
    assert at.radio(key="clv_unit").value == "W"
    assert at.date_input(key="clv_calibration_end").value == dt.date(1997, 9, 30)
    cal_end = {"clv_calibration_end": dt.date(1997, 9, 30)}  # the date widget's value, as other pages read it
    expected = shared_clv(cdnow, **cal_end)
    m = expected["metrics"]

    # Holdout: 1,882 actual repeat purchases, BG/NBD predicts 1,653 (FHL 2005), as the library computes.
    holdout = table(at, "Predicted repeat purchases").set_index("Model")
    assert holdout.loc["BG/NBD", "Actual repeat purchases"] == "1,882" == f"{m.loc['bg_nbd', 'actual']:,.0f}"
    assert holdout.loc["BG/NBD", "Predicted repeat purchases"] == "1,653" == f"{m.loc['bg_nbd', 'predicted']:,.0f}"
    assert holdout.loc["Pareto/NBD", "Predicted repeat purchases"] == f"{m.loc['pareto_nbd', 'predicted']:,.0f}"
    assert holdout.loc["BG/NBD", "Difference"] == "-12.1%"  # (1,653.4 - 1,882) / 1,882
    used = holdout.index[holdout["Used"] == "yes"].tolist()
    assert used == [lv.MODEL_CHOICES[expected["selected"]]] == ["Pareto/NBD"]  # lowest per-customer RMSE
    assert "lowest holdout error per customer" in markdown(at)

    # Published parameters (weeks): BG/NBD r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9,582.4;
    # Pareto/NBD r 0.553, alpha 10.58, s 0.606, beta 11.67 (the optimum: 10.5777, 11.6687).
    params = table(at, "Log-likelihood").set_index("Model")
    assert params.loc["BG/NBD", ["r", "alpha", "a", "b"]].tolist() == ["0.243", "4.414", "0.793", "2.426"]
    assert params.loc["BG/NBD", "Log-likelihood"] == "-9,582.4"
    assert params.loc["Pareto/NBD", ["r", "alpha", "s", "beta"]].tolist() == ["0.553", "10.578", "0.606", "11.669"]

    # Conditional expectations, 0 calibration purchases: 0.237 actual vs 0.225 predicted per customer.
    cond = table(at, "Repeat purchases in calibration").set_index("Repeat purchases in calibration")
    assert cond.loc["0", ["Actual", "BG/NBD"]].tolist() == ["0.237", "0.225"]
    assert cond.index[-1] == "7+" and cond.loc["7+", "Customers"] == 64

    charts = at.get("vega_lite_chart")
    # Answer first: CLV distribution and P(alive) map, then (analysts' expander) expectations and tracking.
    assert len(charts) == 4
    assert list(chart_data(charts[2])[0]["frequency_group"].unique()) == [str(i) for i in range(7)] + ["7+"]
    lines, rule = chart_data(charts[3])
    assert rule["calibration_end"].tolist() == [pd.Timestamp("1997-09-30")]  # the calibration end is marked
    assert lines["period_end"].max() == pd.Timestamp("1998-06-30")

    # Customer values: the shared fit's mean and total with their 90% range; the top customer first.
    shown = metrics(at)
    assert shown["Average 12-month value per customer (model)"] == usd(expected["mean"])
    assert shown["Total 12-month value"] == usd(expected["total"])
    # the formula CLV beside the model's: the Customer health page's figure, with why the two differ
    formula = compute_kpis(load_demo("cdnow_sample"), period="month")["clv_simple"]
    assert formula.label == "Formula lifetime value (average, undiscounted)"
    assert shown[formula.label] == usd(formula.value)
    assert FORMULA_VS_MODEL in captions(at)
    lo, hi = expected["interval"]["total"]
    assert f"90% range: {usd(lo)} to {usd(hi)}" in captions(at)
    assert lo < expected["total"] < hi
    top = table(at, "p_alive_pct")
    assert len(top) == lv.TOP_CUSTOMERS and top["customer_id"].iloc[0] == str(expected["top"])
    assert at.get("download_button")[0].label == "Download all 2,357 customers (CSV)"
    assert any("nearly unrelated (correlation 0.07)" in s.value for s in at.success)  # Gamma-Gamma check holds

    # Unit invariance: in days the rate parameter is 7x the weekly one and the CLV barely moves.
    weekly_mean = expected["mean"]
    at.radio(key="clv_unit").set_value("D")
    apply(at)
    daily = shared_clv(cdnow, clv_unit="D", **cal_end)
    assert daily["time_unit"] == "D"
    params = table(at, "Log-likelihood").set_index("Model")
    assert params.loc["BG/NBD", "r"] == "0.243"
    assert float(params.loc["BG/NBD", "alpha"]) == pytest.approx(7 * 4.4136, rel=1e-3)
    assert metrics(at)["Average 12-month value per customer (model)"] == usd(daily["mean"])
    assert daily["mean"] == pytest.approx(weekly_mean, rel=0.02)
    assert "alpha and beta are in days" in captions(at)

    # Model override: BG/NBD values every customer and the page says it was the user's choice.
    at.selectbox(key="clv_model").set_value("bg_nbd")
    apply(at)
    chosen = shared_clv(cdnow, clv_unit="D", clv_model="bg_nbd", **cal_end)
    assert chosen["selected"] == "bg_nbd"
    assert "**The values below use BG/NBD**, as you chose in the settings. The holdout favours Pareto/NBD." in markdown(
        at
    )
    assert metrics(at)["Average 12-month value per customer (model)"] == usd(chosen["mean"])


@pytest.mark.slow  # the first fit on the 6,000-customer subscription demo (~40 s on a busy machine)
def test_subscription_demo_shows_the_shared_mean_clv_and_the_retention_view():
    at = open_page()
    expected = shared_clv()
    shown = metrics(at)
    assert shown["Average 12-month value per customer (model)"] == lv.money(expected["mean"])
    lo, hi = expected["interval"]["mean"]
    assert f"90% range: {lv.money(lo)} to {lv.money(hi)}" in captions(at)
    assert shown["Customers likely still active"].endswith("of 6,000")
    assert at.date_input(key="clv_calibration_end").value is None  # default: last third held out
    assert at.date_input(key="clv_calibration_end").label == "Calibration ends (empty = 2024-12-31)"
    # The customers table also gets the subscription (sBG) view, fitted by the library's report section.
    assert "alpha 0.457, beta 10.877" in captions(at)
    assert shown["Leave in their first month"] == "4.0%"

    # A calibration end chosen on another dataset is dropped with a note, and the shared fit is reused.
    again = open_page(session={"clv_calibration_end": "1997-09-30"})
    assert any("outside this data's purchase history" in i.value for i in again.info)
    assert metrics(again)["Average 12-month value per customer (model)"] == lv.money(expected["mean"])


def test_customers_only_upload_gets_the_sbg_retention_model():
    content = CUSTOMERS_CSV.read_bytes()
    at = open_page(session=upload_session(CUSTOMERS_CSV.name, content))
    data = build_dataset([read_and_guess(CUSTOMERS_CSV.name, content)], name="customers")
    report = sbg_report(data, None)  # margin 30%, 10% a year: the page's defaults
    assert any("no purchase log" in i.value for i in at.info)
    alpha, beta = report["params"]["alpha"], report["params"]["beta"]
    assert f"alpha {alpha:.3f}, beta {beta:.3f}" in captions(at)
    shown = metrics(at)
    assert shown["Value of a new customer"] == lv.money(report["new_customer_clv"])
    assert shown["Remaining value of active customers"] == lv.money(report["active_remaining_value_total"])
    assert shown["Expected lifetime"] == "unbounded"  # alpha < 1
    assert shown["Median lifetime"] == f"{report['median_lifetime_periods']:,.0f} months"
    assert len(table(at, "remaining_value")) == lv.TOP_CUSTOMERS
    assert not at.radio  # no purchase log: no time unit, calibration or model to choose

    # Value is margin x charge x discounted payments: 50% margin = 5/3 of the 30% value.
    at.slider(key="clv_margin").set_value(50)
    apply(at)
    assert metrics(at)["Value of a new customer"] == lv.money(report["new_customer_clv"] * 50 / 30)


def test_too_short_a_history_is_explained_in_plain_words():
    content = csv_bytes(
        """
        customer_id,date,amount
        a,2024-01-02,10
        a,2024-01-20,12
        b,2024-01-05,8
        b,2024-02-01,9
        """
    )
    at = open_page(session=upload_session("short.csv", content))
    warning = next(w.value for w in at.warning if "Lifetime value cannot be computed" in w.value)
    assert "All purchases fall within 31 day(s)" in warning and "at least 12 weeks of history" in warning
    assert not at.metric
