"""Home: app.py opens on the demo with no upload, and each story step shows its headline number."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from analytics.business.glossary import period_name
from analytics.business.kpis import compute_kpis
from analytics.business.whatif_inputs import WhatIfSettings
from analytics.data.datasets import DEMOS, load_demo
from analytics.reports.sections.whatif import report_section as whatif_section
from analytics.reports.story import headline
from tests.app.helpers import TIMEOUT, markdown

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


def test_home_tells_the_story_with_the_library_figures(home):
    data = load_demo("subscription")
    shown = {m.label: m.value for m in home.metric}
    kpis = compute_kpis(data, period="month")
    month = period_name(kpis.current_period)
    assert month == "Dec 2025"
    # The headline: the biggest relative change among churn, active customers, revenue, new customers.
    assert headline(kpis).key == "churn_rate"
    assert "Churn fell to 1.7% in Dec 2025**, from 2.2% in Nov 2025 (23% lower)" in markdown(home)
    # KPI cards with their deltas against the previous month.
    assert shown[f"Customers active during {month}"] == "4,311"  # including the 75 who left during it
    assert shown[f"Retention, {month} (monthly)"] == f"{kpis.value('retention_rate'):.1%}"
    assert shown[f"Churn, {month} (monthly)"] == "1.7%"  # 1 - retention: lost among the month's starting customers
    assert shown[f"Revenue, {month}"] == "179,493"  # no currency detected or chosen: a plain number
    deltas = {m.label: m.delta for m in home.metric}
    assert deltas[f"Customers active during {month}"] == "+4.1%"  # 4,141 -> 4,311
    assert deltas[f"Churn, {month} (monthly)"] == "-0.5 points"
    assert "85,454 of 85,797 rows used" in markdown(home)  # the data badge
    # Each guided step shows its page's figure.
    assert shown["NPS (survey answers to date)"] == f"{kpis.value('nps'):+.1f}"  # as on Customer health
    change = whatif_section(data, WhatIfSettings())["profit_change_pct"]
    assert shown["Profit change over 5 years from +5 points of yearly retention"] == f"{change:+.1f}%"
    # Model-based steps are there and plausible (their exact values are pinned on their own pages).
    left = f"{(data.customers['churned'] == True).mean():.1%}"  # noqa: E712
    assert shown["Customers who have left, all time"] == left
    assert int(shown["Customers not yet left, at high risk"].replace(",", "")) > 0
    assert float(shown["Average 12-month value per customer (model)"].replace(",", "")) > 0
    assert int(shown["Value at stake, top 100 customers still with you"].replace(",", "")) > 0


def test_home_value_at_stake_is_the_action_lists_first_100(home):
    """Home's figure is the cached sum (`ui.actions.top_value_at_stake`), the Action list's own first 100."""
    shown = {m.label: m.value for m in home.metric}["Value at stake, top 100 customers still with you"]
    home.switch_page("pages/actions.py").run()
    table = next(d.value for d in home.dataframe if list(d.value.columns)[:2] == ["Rank", "Customer"])
    assert shown == f"{table['Value at stake'].head(100).sum():,.0f}"


@pytest.mark.parametrize("demo", [d for d in DEMOS if d != "subscription"])
def test_home_has_a_chart_and_deltas_on_every_demo(demo):
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    at.query_params["dataset"] = demo
    at.run()
    assert not at.exception and not at.error
    data = load_demo(demo)
    kpis = compute_kpis(data, period="month")
    deltas = {m.label: m.delta for m in at.metric if m.delta}
    month = period_name(kpis.current_period)
    assert deltas[kpis["active_customers"].label] == f"{kpis['active_customers'].relative_change:+.1%}"
    assert deltas[f"Revenue, {month}"] == f"{kpis['revenue'].relative_change:+.1%}"
    assert f"in {month}**" in markdown(at)  # the headline sentence
    assert f"Repeat rate, {month} (monthly)" in {m.label for m in at.metric}  # a purchase log: not "retention"
    assert at.get("vega_lite_chart"), "Home shows no chart"


def test_the_currency_chosen_in_the_link_labels_every_money_figure():
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    at.query_params["cur_code"] = "EUR"
    at.run()
    assert not at.exception
    month = period_name(compute_kpis(load_demo("subscription"), period="month").current_period)
    shown = {m.label: m.value for m in at.metric}
    assert shown[f"Revenue, {month}"] == "€179,493"
    assert shown["Value at stake, top 100 customers still with you"].startswith("€")
    assert "revenue €179,493 (+6.5%)" in markdown(at)
