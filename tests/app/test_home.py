"""Home: app.py opens on the demo with no upload, and each story step shows its headline number."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from analytics.business.economics import WhatIfSettings
from analytics.business.economics import report_section as whatif_section
from analytics.business.kpis import compute_kpis
from analytics.data.datasets import load_demo
from tests.app.helpers import TIMEOUT

pytestmark = pytest.mark.slow  # the first visit fits every model


@pytest.fixture(scope="module")
def home() -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT).run()
    assert not at.exception
    return at


def test_app_opens_on_the_demo_with_no_upload(home):
    assert home.title[0].value == "Keepwise"
    assert home.sidebar.selectbox[0].value == "demo:subscription"
    assert not home.error


def test_each_step_shows_the_library_figure(home):
    data = load_demo("subscription")
    shown = {m.label: m.value for m in home.metric}
    kpis = compute_kpis(data, period="month")
    assert shown["Rows used"] == "85,454 of 85,797"
    assert shown[f"Retention, {kpis.current_period} (monthly)"] == f"{kpis.value('retention_rate'):.1%}"
    assert shown["NPS"] == f"{kpis.value('nps'):+.0f}"
    change = whatif_section(data, WhatIfSettings())["profit_change_pct"]
    assert shown["Profit change over 5 years from +5 points of yearly retention"] == f"{change:+.1f}%"
    # Model-based steps are there and plausible (their exact values are pinned on their own pages).
    left = f"{(data.customers['churned'] == True).mean():.1%}"  # noqa: E712
    assert shown["Customers who have left, all time"] == left
    assert float(shown["Average 12-month value per customer (model)"].replace(",", "")) > 0
    assert int(shown["Value at stake, top 100 customers still with you"].replace(",", "")) > 0
