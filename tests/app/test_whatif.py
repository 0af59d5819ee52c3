"""What-if page (issue 5): defaults from the data, sliders in a fragment, URL state, saved scenarios.

Expected numbers are checked two ways: against hand-readable figures measured on the demo data
(97.8% monthly retention, 4,277 customers, +12.0% profit for 5 points of yearly retention), and
against the library computed directly with the same settings, so the page shows what the model says.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui.whatif as wi
from analytics.business.economics import whatif
from analytics.business.whatif_inputs import WhatIfSettings, build_assumptions, defaults_from_data
from analytics.data.datasets import load_demo
from tests.app import helpers
from tests.app.helpers import captions, click, fragment_only_run, markdown, metrics, upload_session
from tests.conftest import csv_bytes

PAGE = "pages/whatif.py"
CUSTOMERS_CSV = Path(__file__).resolve().parents[2] / "data" / "subscription_customers.csv"


def open_page(**query: str) -> AppTest:
    return helpers.open_page(PAGE, query)


def comparison(at: AppTest) -> pd.DataFrame:
    """The side-by-side scenario table (the last dataframe on the page), indexed by row label."""
    return at.dataframe[-1].value.set_index("")


def expected_pct(demo: str, settings: WhatIfSettings) -> str:
    """Profit change the library computes for these settings, formatted as the page does."""
    base, _ = build_assumptions(defaults_from_data(load_demo(demo), settings.period), settings)
    return f"{whatif(base, settings.loyalty, settings.retention_lift, settings.horizon).profit_change_pct:+.1f}%"


@pytest.fixture()
def measure_calls(monkeypatch) -> list[str]:
    """Count every real measurement of the defaults (cache misses of ui.whatif.whatif_defaults).

    Caches are shared within this module (tests/app/conftest.py), so this test starts from empty ones.
    """
    st.cache_data.clear()
    calls: list[str] = []
    real = wi.defaults_from_data

    def counting(data, period="M", **kwargs):
        calls.append(period)
        return real(data, period, **kwargs)

    monkeypatch.setattr(wi, "defaults_from_data", counting)
    return calls


def test_subscription_demo_opens_with_every_default_from_the_data():
    at = open_page()
    shown = metrics(at)
    # Measured on the demo: 97.8% of payers pay again next month; 40.91 a month; 212 new a month.
    assert [
        shown["Retention per period (what-if input)"],
        shown["Revenue per active customer"],
        shown["New customers"],
        shown["Starting customers (what-if)"],
    ] == [
        "97.8%",
        "40.91",
        "212",
        "4,277",
    ]
    assert captions(at).count("Measured · per month") == 3
    table = at.dataframe[0].value.set_index("Input")
    assert table.loc["Retention per month", "From"] == "Measured"
    assert table.loc["Spend growth with tenure", "From"] == "Measured"
    assert table.loc["Spend growth with tenure", "Value"] == "+0.78% of first-month spend per month of tenure"
    assert table.loc["Margin", "From"] == "Assumed — set your own"
    assert table.loc["Fixed costs per month", "From"] == "Assumed — set your own"
    assert table.loc["Acquisition cost per new customer", "From"] == "Measured"  # the acquisition_cost column
    # Default: 5 points of YEARLY retention (76.3% -> 81.3% a year = 97.8% -> 98.3% a month).
    assert shown["Profit change"] == "+12.0%" == expected_pct("subscription", WhatIfSettings(acquisition_cost=50.4))
    assert shown["Retention per month"] == "98.3%"
    assert "below Bain's 25–95% band" in markdown(at)
    assert at.slider(key=wi.K_LIFT).value == 5.0 and at.slider(key=wi.K_GROWTH).value == 0.0
    assert at.slider(key=wi.K_CAC).value == 50.4  # measured 50.35, on the slider's 0.1 grid
    assert "Use the measured +0.78%" in [b.label for b in at.button]
    assert list(comparison(at).columns) == ["Current sliders"]


def test_slider_move_recomputes_the_whatif_and_never_remeasures(measure_calls):
    at = open_page()
    assert measure_calls == ["M"]
    at.slider(key=wi.K_LIFT).set_value(10.0).run()  # a full rerun: the cached defaults are reused
    assert not at.exception and measure_calls == ["M"]
    assert metrics(at)["Profit change"] == "+25.2%"
    at.slider(key=wi.K_LIFT).set_value(12.0)
    fragment_only_run(at)  # what the browser does: only the fragment reruns
    assert not at.exception and measure_calls == ["M"]
    assert metrics(at)["Profit change"] == "+30.8%"
    assert "Starting customers (what-if)" not in metrics(at)  # outside the fragment: not redrawn
    at.slider(key=wi.K_LIFT).set_value(0.0)
    fragment_only_run(at)
    assert metrics(at)["Profit change"] == "+0.0%" and metrics(at)["Extra profit over 5 years"] == "+0"
    assert "No extra profit" in captions(at)
    at.run()  # a full rerun redraws the whole page (the period radio sits outside the fragment)
    at.radio(key=wi.K_PERIOD).set_value("Q").run()  # a new period is measured once, then cached
    assert measure_calls == ["M", "Q"]


def test_a_shared_link_reopens_the_same_sliders():
    at = open_page(
        dataset="cdnow_sample",
        wi_period="quarter",
        wi_lift="8",
        wi_mode="relative %",
        wi_basis="retention per period",
        wi_margin="45",
        wi_years="3",
        wi_cac="3.5",
        wi_growth="0.5",
        wi_ref="99",
    )
    assert at.radio(key=wi.K_PERIOD).value == "Q"
    assert at.radio(key=wi.K_MODE).value == "relative"
    assert at.radio(key=wi.K_BASIS).value == "period"
    values = {s.key: s.value for s in at.slider}
    assert values[wi.K_LIFT] == 8.0 and values[wi.K_MARGIN] == 45 and values[wi.K_YEARS] == 3
    assert values[wi.K_CAC] == 3.5 and values[wi.K_GROWTH] == 0.5
    assert values[wi.K_REFERRALS] == 0.0  # 99 is out of range (0-10): the slider keeps its default
    settings = wi.settings_from_values({**values, **{r.key: r.value for r in at.radio}}, "Q")
    assert settings.horizon == 12 and settings.lift_mode == "relative" and settings.margin_rate == 0.45
    assert metrics(at)["Profit change"] == expected_pct("cdnow_sample", settings)
    # the purchase model's expected active customers (issue 10: not the 300 buyers of the last quarter)
    assert metrics(at)["Starting customers (what-if)"] == "978"


def test_relative_switch_and_basis_switch_on_cdnow_sample():
    at = open_page(dataset="cdnow_sample")
    # Retention from the purchase model (86.8% of today's active customers stay a year = 98.8% a
    # month), not the 30% of a month's buyers who buy again the next month; the lift is yearly.
    assert metrics(at)["Retention per period (what-if input)"] == "98.8%"
    assert metrics(at)["Retention per month"] == "99.3%"  # (86.8% + 5 points) ** (1 / 12)
    at.radio(key=wi.K_MODE).set_value("relative").run()
    assert metrics(at)["Retention per month"] == "99.2%"  # (86.8% x 1.05) ** (1 / 12)


def test_literal_monthly_basis_is_an_explained_switch():
    at = open_page()
    assert "on **retention per period** it takes 97.8% → 99.9% a month (stopped at 99.9%" in captions(at)
    at.radio(key=wi.K_BASIS).set_value("period").run()
    assert metrics(at)["Retention per month"] == "99.9%"
    assert metrics(at)["Profit change"] == "+64.0%"
    assert "stopped at 99.9% a month" in markdown(at)


def test_save_compare_and_reload_scenarios():
    at = open_page()
    at.text_input(key=wi.K_NAME).set_value("Bain reading")
    click(at, "Save this scenario")
    at.slider(key=wi.K_LIFT).set_value(10.0).run()
    at.text_input(key=wi.K_NAME).set_value("Ambitious")
    click(at, "Save this scenario")
    table = comparison(at)
    assert list(table.columns) == ["Bain reading", "Ambitious", "Current sliders"]
    assert list(table.loc["Profit change %"]) == ["+12.0%", "+25.2%", "+25.2%"]
    assert list(table.loc["Retention per month"]) == ["97.8% → 98.3%", "97.8% → 98.8%", "97.8% → 98.8%"]
    assert len(at.get("vega_lite_chart")) == 3  # customers, waterfall, band with all scenarios
    at.selectbox(key=wi.K_PICK).set_value("Bain reading").run()
    click(at, "Load it")
    assert at.slider(key=wi.K_LIFT).value == 5.0
    assert metrics(at)["Profit change"] == "+12.0%"


def test_measured_spend_growth_is_offered_not_imposed():
    at = open_page()
    assert at.slider(key=wi.K_GROWTH).value == 0.0
    click(at, "Use the measured +0.78%")
    assert at.slider(key=wi.K_GROWTH).value == 0.78
    assert comparison(at).loc["Loyalty effects", "Current sliders"] == "spend +0.78%/month"
    assert "Loyalty effects bring" in markdown(at)


def test_cdnow_full_log_opens_with_defaults():
    at = open_page(dataset="cdnow")
    shown = metrics(at)
    # the purchase model (BG/NBD): 18,784 expected active customers, 93% of them active a year later
    assert [
        shown["Retention per period (what-if input)"],
        shown["Revenue per active customer"],
        shown["Starting customers (what-if)"],
    ] == [
        "99.4%",
        "$3.83",  # CDNOW's amounts are US dollars
        "18,784",
    ]
    assert shown["New customers"] == "0"  # CDNOW follows one cohort: nobody new after Q1 1997
    assert 0 < float(shown["Profit change"].rstrip("%")) < 100
    assert "Not measured with confidence" in captions(at)  # spend trend t = -1.9: not offered
    assert "the data follows a closed group of customers" in captions(at)
    assert "the base shrinks in both scenarios; the lift keeps +" in captions(at)


def open_with_upload(name: str, content: bytes) -> AppTest:
    """The page on an upload, seeded in session state as the Data page leaves it."""
    return helpers.open_page(PAGE, session=upload_session(name, content))


def test_customers_table_alone_uses_churned_flag_and_tenure():
    frame = pd.read_csv(CUSTOMERS_CSV).drop(columns=["Signup Date", "Churn Date"])
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    at = open_with_upload("customers.csv", buffer.getvalue().encode())
    # By hand from the file: 1,764 leavers over 70,707.2 customer-months = 2.49% churn a month;
    # 4,236 not churned paying 35.58 a month on average; 4,236 x 2.49% = 106 to replace each month.
    churned = frame["Churned"] == "Yes"
    churn = churned.sum() / frame["Tenure Months"].sum()
    assert (churned.sum(), round(churn, 4)) == (1764, 0.0249)
    shown = metrics(at)
    assert [
        shown["Retention per period (what-if input)"],
        shown["Revenue per active customer"],
        shown["Starting customers (what-if)"],
    ] == [
        "97.5%",
        "35.58",
        "4,236",
    ]
    assert shown["New customers"] == f"{(~churned).sum() * churn:,.0f}" == "106"
    table = at.dataframe[0].value.set_index("Input")
    assert table.loc["Retention per month", "How"].startswith("1,764 customers left in")
    assert table.loc["New customers per month", "From"] == "Assumed — set your own"
    assert table.loc["Spend growth with tenure", "From"] == "Not measured: starts at 0"
    assert "Not measured: needs a purchase log" in captions(at)
    assert shown["Profit change"].endswith("%") and shown["Profit change"] != "n/a"


def test_upload_without_retention_columns_says_what_is_missing():
    content = csv_bytes(
        """
        customer_id,plan,monthly_charge
        a1,Basic,19.9
        a2,Pro,49.0
        """
    )
    at = open_with_upload("plans.csv", content)
    messages = [i.value for i in at.info]
    assert any("Retention cannot be measured" in m and "signup and churn dates" in m for m in messages)
    assert not at.slider and not at.error


def _home_whatif() -> None:
    import streamlit as st

    from analytics.business import value
    from analytics.business.whatif_inputs import WhatIfSettings
    from analytics.reports.sections.whatif import report_section
    from ui import models, segments
    from ui.cache import current_data
    from ui.kind import business_kind

    data = current_data()
    value._ANALYSES.clear()
    section = segments.whatif_summary(data, WhatIfSettings())
    kept = value._ANALYSES.get(data.transactions, (len(data.transactions), models.clv_settings()))
    report = report_section(
        data, WhatIfSettings(), business_kind=business_kind(data).kind, clv_settings=models.clv_settings()
    )
    value._ANALYSES.clear()
    st.session_state["expected"] = {
        "second_analysis_kept": kept is not None,
        "home": [section[k] for k in ("clv_base", "retention_rate", "profit_change")],
        "report": [report[k] for k in ("clv_base", "retention_rate", "profit_change")],
    }


def test_home_whatif_uses_the_shared_lifetime_value_fit():
    """Home's what-if (and the prefetch) reads the app's cached purchase-model fit: no second fit kept alive."""
    found = helpers.script_result(_home_whatif, query={"dataset": "cdnow_sample"})
    assert found["second_analysis_kept"] is False
    assert found["home"] == pytest.approx(found["report"], rel=1e-9)  # the same numbers as the report's own fit
