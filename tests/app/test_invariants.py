"""Cross-page invariants: a figure on Home equals the same figure on its page, in the report and the CLI.

On a purchase log (the CDNOW sample) and on the subscription demo, Home's headline figures are
computed by the same library functions as the headless report (`build_report`, the CLI's JSON).
"""

from __future__ import annotations

import pytest

from analytics.data.datasets import load_demo
from analytics.reports.report import ReportSettings, build_report
from analytics.reports.story import period_label
from tests.app.helpers import metrics, open_page

pytestmark = pytest.mark.slow  # fits every model on two datasets

SECTIONS = {
    "kpis": "analytics.reports.report:kpis_section",
    "clv": "analytics.reports.report:clv_section",
    "whatif": "analytics.reports.report:whatif_section",
}


@pytest.mark.parametrize("dataset", ["cdnow_sample", "subscription"])
def test_home_figures_equal_the_report(dataset):
    report = build_report(load_demo(dataset), ReportSettings(), sections=SECTIONS)
    shown = metrics(open_page(dataset=dataset))
    kpis = report["kpis"]
    month = period_label(kpis["current_period"])
    if f"Retention, {month} (monthly)" in shown:  # a KPI card (the NPS takes its place when surveyed)
        assert shown[f"Retention, {month} (monthly)"] == f"{kpis['values']['retention_rate']:.1%}"
    assert shown["Average 12-month value per customer (model)"] == f"{report['clv']['mean_clv']:,.2f}"
    change = report["whatif"]["profit_change_pct"]
    assert shown["Profit change over 5 years from +5 points of yearly retention"] == f"{change:+.1f}%"
    # the KPI section's model CLV is the clv section's, so LTV:CAC reads the same value as the page
    assert kpis["values"]["clv_model"] == pytest.approx(report["clv"]["mean_clv"])
