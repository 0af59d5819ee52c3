"""The one money format (analytics.formatting.money) and the currency in every money chart's titles."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics.business.segments import rfm_table, segment_summary, value_risk_matrix
from analytics.formatting import money
from analytics.reports.charts.churn import profit_chart
from analytics.reports.charts.clv import clv_distribution
from analytics.reports.charts.economics import profit_waterfall
from analytics.reports.charts.health import cohort_heatmap, kpi_trend_chart, segment_bars, value_risk_scatter
from analytics.reports.charts.voice import group_churn_chart


@pytest.mark.parametrize(
    ("value", "code", "kwargs", "text"),
    [
        (179_493.2, "EUR", {}, "€179,493"),
        (90.07, "EUR", {}, "€90.07"),
        (-12.5, "usd", {}, "-$12.50"),
        (1200, "SEK", {"signed": True}, "+SEK 1,200"),
        (523.4, None, {}, "523.40"),
        (523.4, "XX", {}, "523.40"),  # not a code: no guessed symbol
        (1234.6, "JPY", {"decimals": 2}, "¥1,235"),  # no minor units
        (-0.004, "EUR", {"decimals": 2}, "€0.00"),  # never '-€0.00'
        (150.0, "GBP", {"whole_from": 100}, "£150"),
        (12.345, "GBP", {"whole_from": 0}, "£12"),
        (None, "EUR", {}, "n/a"),
        (float("nan"), "EUR", {}, "n/a"),
        (float("inf"), "EUR", {}, "n/a"),
    ],
)
def test_money(value, code, kwargs, text):
    assert money(value, code, **kwargs) == text


def _titles(chart) -> list[str]:
    """Every axis, legend and tooltip title in a chart's spec."""
    spec = json.dumps(chart.to_dict())
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("title"), str) and ("field" in node or "type" in node):
                found.append(node["title"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(spec))
    return found


def test_every_money_chart_names_its_currency():
    rng = np.random.default_rng(0)
    trend = pd.DataFrame({"period": pd.date_range("2025-01-01", periods=6, freq="MS"), "value": rng.random(6) * 100})
    transactions = pd.DataFrame(
        {
            "customer_id": [f"c{i % 40}" for i in range(200)],
            "order_date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, 200), unit="D"),
            "amount": rng.gamma(2.0, 20.0, 200),
        }
    )
    rfm = rfm_table(transactions, as_of=pd.Timestamp("2025-12-31"))
    ids = rfm.index
    clv = pd.Series(rng.gamma(2.0, 50.0, len(ids)), index=ids)
    risk = pd.Series(rng.random(len(ids)), index=ids)
    curve = pd.DataFrame(
        {
            "percent_targeted": [0, 50, 100],
            "customers_targeted": [0, 20, 40],
            "value_saved": [0.0, 500.0, 700.0],
            "cost": [0.0, 200.0, 400.0],
            "profit": [0.0, 300.0, 300.0],
        }
    )
    waterfall = pd.DataFrame({"source": ["More customers kept", "Higher spend"], "amount": [1000.0, 250.0]})
    voice = pd.DataFrame(
        {
            "group": ["Promoter", "Detractor"],
            "customers": [100, 80],
            "churn_rate": [0.1, 0.3],
            "churn_low": [0.05, 0.2],
            "churn_high": [0.17, 0.4],
            "mean_value": [300.0, 250.0],
            "value_at_risk": [3000.0, 6000.0],
        }
    )
    values = pd.DataFrame({"clv": clv.to_numpy()})
    charts = {
        "trend": kpi_trend_chart(trend, label="Revenue", unit="currency", currency="EUR"),
        "segments": segment_bars(segment_summary(rfm, clv), measure="revenue", currency="EUR"),
        "value x risk": value_risk_scatter(value_risk_matrix(clv, risk), currency="EUR"),
        "profit": profit_chart(curve, 50, currency="EUR"),
        "waterfall": profit_waterfall(waterfall, currency="EUR"),
        "voice": group_churn_chart(voice, "Churn by NPS class", currency="EUR"),
        "clv": clv_distribution(values, currency="EUR"),
    }
    for name, chart in charts.items():
        titles = _titles(chart)
        assert any(t.endswith("(EUR)") for t in titles), (name, titles)
        assert not any("(currency)" in t for t in titles), (name, titles)
    unknown = _titles(value_risk_scatter(value_risk_matrix(clv, risk)))
    assert "Customer value (currency not set)" in unknown


def test_cohort_revenue_heatmap_names_its_currency():
    from analytics.business.cohorts import cohort_table
    from analytics.data.datasets import load_demo

    chart = cohort_heatmap(cohort_table(load_demo("cdnow_sample"), period="month"), measure="revenue", currency="USD")
    assert "Revenue (USD)" in _titles(chart)


def test_a_long_money_axis_title_breaks_into_two_lines():
    # 'Revenue (currency not set)' stood taller than the Home chart's plot and pushed its title out of view
    trend = pd.DataFrame({"period": pd.date_range("2025-01-01", periods=3, freq="MS"), "value": [1.0, 2.0, 3.0]})
    spec = kpi_trend_chart(trend, label="Revenue", unit="currency").to_dict()
    assert spec["encoding"]["y"]["title"] == ["Revenue", "(currency not set)"]
    assert (
        kpi_trend_chart(trend, label="Revenue", unit="currency", currency="EUR").to_dict()["encoding"]["y"]["title"]
        == "Revenue (EUR)"
    )
