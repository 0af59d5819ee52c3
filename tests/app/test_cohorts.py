"""Cohorts page (issue 6): the heatmap's numbers and the plain reading equal the library's cohort table.

Expected values come from analytics.business.cohorts on the same data and settings; the reading's sentence
is rebuilt here from the table's cells, so the page says what the matrix holds.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from analytics.business.cohorts import average_retention_curve, cohort_table
from analytics.data.datasets import load_demo
from tests.app import helpers
from tests.app.helpers import customers_only_upload
from tests.app.helpers import page_text as text

PAGE = "pages/cohorts.py"


def open_page(session: dict | None = None, **query: str) -> AppTest:
    return helpers.open_page(PAGE, query, session, check_errors=True)


@pytest.fixture(scope="module")
def subscription():
    return load_demo("subscription")


@pytest.fixture(scope="module")
def page() -> AppTest:
    return open_page(dataset="subscription")


def test_reading_and_matrix_equal_the_library(subscription, page):
    table = cohort_table(subscription, period="month", max_cohorts=24)
    assert list(table.retention.index[[0, -1]]) == ["2024-01", "2025-12"]
    # the reading names the most recent cohort that has reached month 6: June 2025
    share, size = table.retention.loc["2025-06", 6], table.sizes["2025-06"]
    assert f"Of the {size:,} customers acquired in Jun 2025, **{share:.0%} still bought 6 months later**" in text(page)
    # recent half of the cohorts that reached month 6 against the older half, size-weighted
    reached = table.retention[6].dropna().index
    older, recent = reached[: len(reached) // 2], reached[len(reached) // 2 :]
    old_r = table.active.loc[older, 6].sum() / table.sizes[older].sum()
    new_r = table.active.loc[recent, 6].sum() / table.sizes[recent].sum()
    assert "(Oct 2024 to Jun 2025)" in text(page) and f"{new_r:.0%} against {old_r:.0%}" in text(page)
    # the average curve in words
    curve = average_retention_curve(table).set_index("period_number")["retention"]
    assert (
        f"On average a cohort keeps {curve[1]:.0%} of its customers after 1 month, {curve[3]:.0%} after 3 months"
        in text(page)
    )
    # the heatmap carries each cell's percentage; the curve's axis counts whole months
    heatmap, curve_chart = (json.loads(c.proto.spec) for c in page.get("vega_lite_chart"))
    assert [layer["mark"]["type"] for layer in heatmap["layer"]] == ["rect", "text"]
    assert curve_chart["encoding"]["x"]["axis"] == {"format": "d", "tickMinStep": 1}
    # the numbers behind the heatmap
    shown = page.dataframe[0].value
    assert len(shown) == 24
    assert shown.loc["2025-06", "Customers"] == size
    assert shown.loc["2025-06", "month 6"] == pytest.approx(round(100 * share, 1))


def test_revenue_toggle_and_max_cohorts(subscription, page):
    page.toggle(key="coh_revenue").set_value(True).run()
    page.slider(key="coh_max").set_value(6).run()
    assert not page.exception
    table = cohort_table(subscription, period="month", max_cohorts=6)
    shown = page.dataframe[0].value
    assert list(shown.index) == ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]
    assert shown.loc["2025-07", "month 3"] == pytest.approx(round(100 * table.revenue_retention.loc["2025-07", 3], 1))
    revenue_curve = average_retention_curve(table, revenue=True).set_index("period_number")["retention"]
    assert f"{revenue_curve[1]:.0%} of its first-period revenue after 1 month" in text(page)
    assert "Percent of the cohort's first-period revenue" in text(page)


def test_quarter_cohorts(subscription, page):
    page.radio(key="coh_period").set_value("quarter").run()
    assert not page.exception
    table = cohort_table(subscription, period="quarter", max_cohorts=6)
    share, size = table.retention.loc["2025Q2", 2], table.sizes["2025Q2"]
    assert f"Of the {size:,} customers acquired in Q2 2025, **{share:.0%} still bought 2 quarters later**" in text(page)


def test_cdnow_sample_three_cohorts():
    at = open_page(dataset="cdnow_sample")
    table = cohort_table(load_demo("cdnow_sample"), period="month", max_cohorts=24)
    assert list(table.sizes.index) == ["1997-01", "1997-02", "1997-03"]
    assert table.sizes.sum() == 2357
    share = table.retention.loc["1997-03", 6]
    assert f"Of the {table.sizes['1997-03']:,} customers acquired in Mar 1997, **{share:.0%} still bought" in text(at)
    assert len(at.dataframe[0].value) == 3


def test_customers_only_upload_uses_signup_and_churn_dates():
    session, data = customers_only_upload()
    at = open_page(session)
    table = cohort_table(data, period="month", max_cohorts=24)
    assert table.basis == "subscriptions"
    assert "No purchase log: a customer counts as active in a period when subscribed" in text(at)
    label = table.retention[6].dropna().index[-1]
    assert f"**{table.retention.loc[label, 6]:.0%} were still subscribed 6 months later**" in text(at)
