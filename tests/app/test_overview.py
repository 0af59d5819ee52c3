"""Customer health page (issue 6): KPI cards equal the library's KPIs, period change, targets, other data.

Every expected number is computed here with analytics.business.kpis on the same data and formatted
independently of the page's helpers, so a card shows what the library says, in the right unit.
The model-based CLV (a purchase-model fit) is switched off on the subscription demo to keep the
file fast; it is checked on the CDNOW sample, where the fit takes a few seconds.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.business.glossary import help_text, period_name
from analytics.business.kpis import compute_kpis
from analytics.data.datasets import load_demo
from analytics.models.clv import ClvSettings, analyse_clv
from tests.app import helpers
from tests.app.helpers import page_text as text

PAGE = "pages/overview.py"
CUSTOMERS_CSV = Path(__file__).resolve().parents[2] / "data" / "subscription_customers.csv"
GREEN, RED = 1, 0  # Metric.color of a good and a bad move


def open_page(session: dict | None = None, **query: str) -> AppTest:
    return helpers.open_page(PAGE, query, session, check_errors=True)


def cards(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


@pytest.fixture(scope="module")
def subscription():
    return load_demo("subscription")


@pytest.fixture(scope="module")
def subscription_page() -> AppTest:
    return open_page({"kpi_model": False}, dataset="subscription")


def test_cards_show_the_library_kpis_with_units_and_deltas(subscription, subscription_page):
    at, report = subscription_page, compute_kpis(subscription, period="month")
    shown = cards(at)
    nps, churn, revenue = report["nps"], report["churn_rate"], report["revenue"]
    assert shown[report["nps"].label][0] == f"{nps.value:+.1f}"
    assert shown[report["csat"].label][0] == f"{report.value('csat'):.1%}"
    assert shown[report["ces"].label][0] == f"{report.value('ces'):.2f} / 7"
    assert shown[report["revenue"].label][0] == f"{revenue.value:,.0f}"
    assert shown[report["revenue"].label][1] == f"+{revenue.change:,.0f} ({revenue.change / revenue.previous:+.1%})"
    assert shown[report["churn_rate"].label] == (f"{churn.value:.1%}", f"{100 * churn.change:+.1f} pts")
    assert shown[report["avg_resolution_hours"].label][0] == f"{report.value('avg_resolution_hours'):.1f} h"
    assert shown[report["ltv_cac"].label][0] == f"{report.value('ltv_cac'):.1f} : 1"
    assert shown[report["ltv_cac"].label][1] == f"{report.value('ltv_cac') - 3:+.1f} vs 3 : 1"
    # churn is a lower-is-better KPI: its fall is coloured as good news
    churn_card = next(m for m in at.metric if m.label == churn.label)
    assert churn.label == f"Churn, {period_name(report.current_period)} (monthly)"  # the period in the label
    assert churn.change < 0 and churn_card.color == GREEN
    assert churn_card.help.startswith(help_text("churn_rate"))  # the glossary's words
    # the simple CLV shows its factors
    aov = report["average_order_value"].value
    assert f"= {aov:,.2f} average order value ×" in text(at)
    # the period both cards compare
    assert f"**{report.current_period}** (the last complete month) against **{report.previous_period}**" in text(at)
    # data that is missing is listed once, with the column that would enable it
    assert "**Complaints per day**: needs a 'complaints' column" in text(at)
    assert report["complaints_per_day"].label not in shown


def test_period_change_recomputes_every_card(subscription, subscription_page):
    at = subscription_page
    at.radio(key="kpi_period").set_value("quarter").run()
    assert not at.exception
    report = compute_kpis(subscription, period="quarter")
    assert report.current_period == "2025Q4"
    shown = cards(at)
    assert shown[report["customers"].label][0] == f"{report.value('customers'):,.0f}"
    assert shown[report["churn_rate"].label][0] == f"{report.value('churn_rate'):.1%}"
    assert shown[report["customer_lifetime"].label][0].endswith("quarters")
    assert "**2025Q4** (the last complete quarter) against **2025Q3**" in text(at)


def test_setting_a_target_shows_its_gap_and_goes_into_the_link(subscription, subscription_page):
    at = subscription_page
    nps = compute_kpis(subscription, period="quarter").value("nps")
    report = compute_kpis(subscription, period="quarter")
    at.selectbox(key="ovt_pick").set_value("nps").run()
    at.number_input(key="ovt_value_nps").set_value(30.0)
    at.button(key="ovt_set").click().run()
    assert not at.exception
    assert at.session_state["kpi_targets"] == "nps:30"
    gaps = at.dataframe[0].value.set_index("KPI")
    assert gaps.loc[report["nps"].label, "Now"] == f"{nps:+.1f}"
    assert gaps.loc[report["nps"].label, "Target"] == "+30.0"
    assert gaps.loc[report["nps"].label, "Gap"] == f"{nps - 30:+.1f}"
    assert gaps.loc[report["nps"].label, "Status"] == f"off target by {30 - nps:.1f}"
    assert f"Target +30.0: off target by {30 - nps:.1f}" in text(at)


def test_targets_arrive_with_the_link_lower_is_better(subscription):
    at = open_page({"kpi_model": False}, dataset="subscription", kpi_targets="churn_rate:0.05,csat:0.9")
    report = compute_kpis(subscription, period="month")
    gaps = at.dataframe[0].value.set_index("KPI")
    churn, csat = report.value("churn_rate"), report.value("csat")
    assert churn < 0.05  # below a 5% ceiling is on target for churn
    assert gaps.loc[report["churn_rate"].label, "Status"] == f"on target ({100 * (churn - 0.05):+.1f} pts)"
    assert gaps.loc[report["csat"].label, "Status"] == f"off target by {100 * (0.9 - csat):.1f} pts"


def test_cdnow_sample_lists_what_is_missing_and_shows_the_model_clv():
    at = open_page(dataset="cdnow_sample")
    data = load_demo("cdnow_sample")
    report = compute_kpis(data, period="month")
    shown, page_text = cards(at), text(at)
    assert "NPS" not in shown
    assert "**NPS**: needs a customers table with a 'nps' column (0-10 recommendation answers)." in page_text
    assert "**CAC, LTV:CAC**: need a customers table with a 'acquisition_cost' column" in page_text
    assert report["active_customers"].label == f"Buyers, {period_name(report.current_period)}"  # not 'active'
    assert shown[report["active_customers"].label][0] == f"{report.value('active_customers'):,.0f}"
    mean_clv = analyse_clv(data.transactions, ClvSettings()).mean_clv
    assert shown["Average 12-month value per customer (model)"][0] == f"{mean_clv:,.2f}"
    assert "fitting…" not in [value for value, _ in shown.values()]


def test_customers_only_upload_runs_and_names_the_purchase_log():
    session, data = helpers.customers_only_upload()
    at = open_page(session)
    report = compute_kpis(data, period="month")
    shown, page_text = cards(at), text(at)
    assert shown[report["churn_rate"].label][0] == f"{report.value('churn_rate'):.1%}"
    assert shown[report["nps"].label][0] == f"{report.value('nps'):+.1f}"
    assert report["revenue"].label not in shown
    assert (
        "**Revenue, Average order value, Purchase frequency, Repeat-purchase rate**: need transactions "
        "(customer id, order date, amount)."
    ) in page_text
    assert (
        "**Average 12-month value per customer (model)**: Lifetime value from purchase behaviour needs a purchase log"
        in page_text
    )
    # the simple CLV falls back to the monthly charge
    assert "monthly charge × 1.00 charges per period" in page_text


def test_model_clv_fits_in_the_background_and_fills_in_its_card(monkeypatch):
    """The purchase-model fit runs through ui.background like every other page's fits: while it runs the
    card says "fitting…" with a line naming the fit, the rest of the page is drawn and nothing is listed
    as missing; once it is done the next run shows the cached result (the fit ran once, in the job)."""
    import ui.models
    from ui import background

    gate, calls = threading.Event(), []
    real = ui.models.analyse_clv

    def slow_fit(transactions, settings):
        calls.append(threading.current_thread().name)
        gate.wait(60)
        return real(transactions, settings)

    monkeypatch.setattr(ui.models, "analyse_clv", slow_fit)
    monkeypatch.setattr(background, "WAIT_S", 0.1)
    session = {"clv_horizon": 9}  # settings no other test fits (test_angles_page fits 7 in the background)
    at = open_page(session, dataset="cdnow_sample")
    shown, page_text = cards(at), text(at)
    assert shown["Average 9-month value per customer (model)"][0] == "fitting…"
    assert "Fitting the purchase model for the model-based CLV" in page_text
    assert "Targets" in [s.value for s in at.subheader]  # the rest of the page did not wait
    assert "**CLV (model)**" not in page_text and "Average 9-month value per customer (model)**" not in page_text
    gate.set()
    monkeypatch.setattr(background, "WAIT_S", None)  # AppTest does not run the timed fragment that reruns
    at.run()
    mean_clv = real(load_demo("cdnow_sample").transactions, ClvSettings(horizon_months=9)).mean_clv
    assert cards(at)["Average 9-month value per customer (model)"][0] == f"{mean_clv:,.2f}"
    assert calls == [calls[0]] and calls[0].startswith("keepwise-fit-")  # fitted once, in the background


def test_the_page_keeps_no_kpi_report_alive_once_the_user_moves_on():
    """Streamlit keeps a selectbox's format function for the rest of the session; the page's two lambdas
    (and the explain picker's) held its namespace, with the KPI report and the data, after the user had
    moved on (the same leak as the Churn page's, memproc 9a58cb7). Dicts' `.get` hold only the labels."""
    import gc

    from analytics.business.kpis import KPIReport

    at = open_page(dataset="subscription")

    def alive() -> int:
        gc.collect()
        return sum(isinstance(o, KPIReport) for o in gc.get_objects())

    assert not at.exception and at.metric  # the page ran with its cards
    at.switch_page("pages/glossary.py").run()
    assert not at.exception
    assert alive() == 0
