"""Voice of the customer page: the demo's detractor effect on screen, equal to the library; a purchase log is told what to add."""

from __future__ import annotations

import pytest

from analytics.data.datasets import load_demo
from tests.app.helpers import markdown, metrics, open_page

PAGE = "pages/voice.py"


def report_voice() -> dict:
    """The headless report's voice section: the same value module and churn model as the page."""
    from analytics.reports.report import ReportSettings, voice_section

    return voice_section(load_demo("subscription"), ReportSettings())


@pytest.mark.slow  # first fits of the lifetime-value and churn models
def test_subscription_demo_shows_the_detractor_effect_and_the_callback_list():
    at = open_page(PAGE, check_errors=True)
    shown = metrics(at)
    report = report_voice()
    rise = report["churn_rise_detractor_vs_promoter"]
    assert shown["Detractors who left"] == f"{rise['detractor_churn_rate']:.1%}" == "44.8%"
    assert shown["Promoters who left"] == f"{rise['promoter_churn_rate']:.1%}" == "23.5%"
    assert shown["Rise, detractor vs promoter"] == "+21.3 points"
    assert "Unhappy customers leave clearly more often" in markdown(at)
    nps = next(d.value for d in at.dataframe if "NPS class" in d.value.columns)
    assert list(nps["NPS class"]) == ["promoter", "passive", "detractor"]
    assert list(nps["Customers"]) == [1301, 1334, 1121]
    loop = next(d.value for d in at.dataframe if "Value at risk" in d.value.columns and "Customer" in d.value.columns)
    assert loop["Value at risk"].is_monotonic_decreasing
    assert str(loop["Customer"].iloc[0]) == str(report["close_the_loop_top"][0]["customer_id"])
    assert loop["Value at risk"].iloc[0] == pytest.approx(report["close_the_loop_top"][0]["value_at_risk"], rel=1e-9)
    assert len(at.tabs) == 4  # CSAT, CES, tickets, escalations


def test_purchase_log_is_told_which_columns_would_enable_the_page():
    at = open_page(PAGE, dataset="cdnow_sample", check_errors=True)
    assert any("'nps' (0-10)" in i.value and "support_tickets" in i.value for i in at.info)
    assert not at.metric
