"""The offline HTML report: KPI numbers present, charts as inline SVG, nothing fetched, text escaped.
Also renders every chart builder of analytics.reports.charts.health on the tiny log."""

from __future__ import annotations

import re
from datetime import datetime

import altair as alt
import numpy as np
import pandas as pd
import pytest

from analytics.business.actions import action_list
from analytics.business.cohorts import average_retention_curve, cohort_table
from analytics.business.kpis import compute_kpis, kpi_trend
from analytics.business.lifecycle import lifecycle_snapshots, stage_counts, transition_flows, transition_table
from analytics.business.segments import rfm_table, segment_summary, value_risk_matrix
from analytics.reports.charts.health import (
    cohort_heatmap,
    kpi_trend_chart,
    lifecycle_bar,
    persona_profile_chart,
    retention_curve_chart,
    segment_bars,
    transition_chart,
    value_risk_scatter,
)
from analytics.reports.html_report import build_html_report, chart_to_svg, format_change, format_value
from tests.analytics.helpers import tiny_data, tiny_transactions

EVIL = "</script><script>alert(1)</script>"
MARK_WITH_TOOLTIP = re.compile(r"<(rect|circle)[^>]*><title>")


def _marks(svg: str) -> int:
    return len(MARK_WITH_TOOLTIP.findall(svg))


def _report(**extra) -> str:
    data = tiny_data(with_customers=True)
    kpis = compute_kpis(data)
    clv = pd.Series({"A": 1240.0, "B": 300.0, "C": 80.0, EVIL: 50.0})
    risk = pd.Series({"A": 0.72, "B": 0.4, "C": 0.9, EVIL: 0.5})
    actions = action_list(clv, risk)
    charts = {"Revenue by month": kpi_trend_chart(kpi_trend(data, "revenue"), label="Revenue", unit="currency")}
    return build_html_report(
        kpis=kpis,
        charts=charts,
        actions=actions,
        scenario={"retention_lift": 0.05, "value_of_lift": 123456.7, "assumptions": {"margin": 0.3}},
        dataset="tiny",
        currency="$",
        generated_at=datetime(2024, 4, 1, 9, 30),
        **extra,
    )


def test_report_contains_the_kpi_numbers_and_their_changes():
    html = _report()
    assert "month 2024-03 compared with 2024-02" in html
    # LTV:CAC = formula CLV (37.50 x 4/3 x 2 x 30% = 30) / CAC 40 = 0.75
    for text in ("$150.00", "$37.50", "50.0%", "2.0 months", "0.8:1", "Rule of thumb: 3.0:1"):
        assert text in html, text
    assert "+0.0 pp vs 2024-02" in html  # churn 0.5 -> 0.5 (1 of 2 starting customers lost each month)
    assert "+$20.00 (+15.4%) vs 2024-02" in html  # revenue 130 -> 150
    assert 'data-kpi="nps"' in html and "Generated 2024-04-01 09:30" in html


def test_missing_kpis_say_which_column_enables_them():
    html = build_html_report(kpis=compute_kpis(tiny_data()))
    nps_card = html.split('data-kpi="nps"')[1].split('data-kpi="csat"')[0]
    assert "n/a" in nps_card and "Needs a customers table with a &#x27;nps&#x27; column" in nps_card


def test_report_is_self_contained():
    html = _report()
    assert html.startswith("<!DOCTYPE html>")
    for pattern in (r"\bsrc\s*=", r"\bhref\s*=", r"<link\b", r"@import", r"url\("):
        assert re.search(pattern, html) is None, pattern
    assert "<svg" in html and "<script src" not in html


def test_user_text_is_escaped_everywhere():
    html = _report(notes=[EVIL])
    assert EVIL not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the action table
    # the chart spec is embedded as inert JSON with < and > escaped
    assert '<script type="application/json" class="vega-lite-spec">' in html
    spec_text = html.split('class="vega-lite-spec">')[1].split("</script>")[0]
    assert "<" not in spec_text


def test_actions_and_scenario_sections():
    html = _report()
    assert "Whom to call first (top 4)" in html
    assert "Top-10% value (CLV 1,240), 72% churn risk" in html
    assert "<th>Retention lift</th><td>0.05</td>" in html
    assert "<th>Value of lift</th><td>123,457</td>" in html
    assert "Margin: 0.3" in html
    # every table sits in a box that scrolls sideways on a phone (the action list is 6 columns wide,
    # and at 390 px it widened the whole page to 809 px); printed, it wraps instead
    assert html.count('<div class="tw"><table>') == html.count("<table><thead>")
    assert ".tw{overflow-x:auto;max-width:100%}" in html and ".tw{overflow:visible}" in html


def test_bar_heights_are_proportional():
    chart = (
        alt.Chart(pd.DataFrame({"k": ["a", "b"], "v": [1.0, 2.0]})).mark_bar().encode(x="k:N", y="v:Q", tooltip=["v:Q"])
    )
    svg = chart_to_svg(chart)
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"[^>]*><title>', svg)]
    assert len(heights) == 2
    assert heights[1] / heights[0] == pytest.approx(2.0, rel=0.01)


def test_unsupported_charts_fall_back_to_the_data_table():
    frame = pd.DataFrame({"k": ["a", "b"], "v": [1.0, 2.0]})
    chart = alt.Chart(frame).mark_bar().encode(x="k:N", y="sum(v):Q")
    assert chart_to_svg(chart) is None
    html = build_html_report(kpis=compute_kpis(tiny_data()), charts=[("Aggregated", chart)])
    assert "shown as its data table" in html and "<td>a</td>" in html


def test_every_health_chart_renders_offline():
    data = tiny_data()
    cohorts = cohort_table(data)
    rfm = rfm_table(tiny_transactions(), as_of=pd.Timestamp("2024-03-31"))
    clv = pd.Series({"A": 300.0, "B": 50.0, "C": 10.0, "D": 200.0})
    risk = pd.Series({"A": 0.2, "B": 0.6, "C": 0.9, "D": 0.1})
    before, now, _, _ = lifecycle_snapshots(data)
    z = pd.DataFrame(
        {"orders": [1.2, -0.6], "revenue": [0.4, -0.2]}, index=pd.Index(["Persona 1", "Persona 2"], name="persona")
    )
    charts = {
        "trend": (kpi_trend_chart(kpi_trend(data, "churn_rate"), label="Churn rate", unit="share"), None),
        "spark": (kpi_trend_chart(kpi_trend(data, "revenue"), label="Revenue", unit="currency", compact=True), None),
        "heatmap": (cohort_heatmap(cohorts), 6),  # 6 observed cohort cells
        "revenue heatmap": (cohort_heatmap(cohorts, measure="revenue"), 6),
        "curve": (
            retention_curve_chart(
                average_retention_curve(cohorts), revenue_curve=average_retention_curve(cohorts, revenue=True)
            ),
            0,
        ),
        "segments": (segment_bars(segment_summary(rfm, clv)), 8),
        "value x risk": (value_risk_scatter(value_risk_matrix(clv, risk)), 4),
        "lifecycle": (lifecycle_bar(stage_counts(now["stage"])), 5),
        "transitions": (transition_chart(transition_flows(transition_table(before["stage"], now["stage"]))), 30),
        "personas": (persona_profile_chart(z), 4),
    }
    for name, (chart, marks) in charts.items():
        chart.to_dict()  # valid Vega-Lite
        svg = chart_to_svg(chart)
        assert svg is not None and svg.startswith("<svg"), name
        if marks:
            assert _marks(svg) == marks, name
    scatter = chart_to_svg(charts["value x risk"][0])
    assert ">Save first</text>" in scatter and scatter.count('class="rule"') == 2
    assert ">1</text>" in chart_to_svg(charts["transitions"][0])  # counts written in the cells


def test_value_formats():
    assert format_value(0.1234, "share") == "12.3%"
    assert format_value(1234.5, "currency", "€") == "€1,234"
    assert format_value(12.345, "currency") == "12.35"
    assert format_value(3.456, "ratio") == "3.5:1"
    assert format_value(None, "share") == "n/a"
    assert format_value(np.nan, "customers") == "n/a"
    kpi = compute_kpis(tiny_data())["customers"]
    assert format_change(kpi) == "+1 (+33.3%) vs 2024-02"


def _brief() -> str:
    from analytics.reports.charts.economics import customers_over_time
    from analytics.reports.story import CARD_KEYS, headline, recommendations

    kpis = compute_kpis(tiny_data(with_customers=True))
    recs = recommendations(
        top_value_at_stake=2961.4,
        top_n=20,
        top_reason="high value, 78% churn risk",
        save_first_customers=975,
        save_first_value=54977.0,
        lift_text="5 points",
        profit_change=381118.0,
        profit_change_pct=12.0,
        years=5,
        currency="EUR",
    )
    frame = pd.DataFrame(
        {
            "period": [0, 1, 0, 1],
            "scenario": ["Today", "Today", "With the lift", "With the lift"],
            "customers": [100.0, 90.0, 100.0, 95.0],
        }
    )
    return _report(
        headline=headline(kpis, currency="EUR").sentence + EVIL,
        headline_kpis=CARD_KEYS,
        recommendations=recs,
        scenario_chart=customers_over_time(frame),
        currency_code="EUR",
    )


def test_page_one_is_an_executive_brief_printed_on_its_own():
    html = _brief()
    brief, detail = html.split("</header>", 1)
    assert "<header class='brief'>" in brief and detail.startswith("<h2>The detail</h2>")
    # the headline with its bold lead, escaped user text, three actions with the money at stake
    assert "<p class='headline'><strong>" in brief and EVIL not in html
    assert brief.count("<li><strong>") == 3 and "Three things to do now" in brief
    assert "<span class='stake'>€2,961 at stake</span>" in brief
    assert "<span class='stake'>€54,977 at stake</span>" in brief
    assert "<span class='stake'>+€381,118 profit</span>" in brief
    # the what-if scenario and its chart on page one; revenue with its currency
    assert "What a retention lift is worth" in brief and "<svg" in brief and "Value of lift" in brief
    assert "€150" in brief  # revenue card in euros (the tiny data's last month)
    # print-ready: its own page, A4 and Letter margins, the detail's data tables printed open
    assert "@page{margin:12mm}" in html and ".brief{break-after:page" in html
    assert "onclick='window.print()'" in brief
    for pattern in (r"\bsrc\s*=", r"\bhref\s*=", r"<link\b", r"@import", r"url\("):  # still offline
        assert re.search(pattern, html) is None, pattern


def test_without_a_brief_the_report_starts_with_the_detail_as_before():
    html = _report()
    assert "<header class='brief'>" not in html and "<h2>Key figures</h2>" in html and "What-if scenario" in html


def test_brief_cards_carry_the_same_labels_as_home():
    from analytics.reports.story import CARD_KEYS, card_label

    # a purchase log's month-to-month figure is the repeat rate, on Home and in the brief alike
    label, help_ = card_label("retention_rate", "Retention", "Jun 1998", subscription=False)
    assert label == "Repeat rate, Jun 1998 (monthly)" and help_ and "not retention" in help_
    assert card_label("retention_rate", "Retention", "Dec 2025")[0] == "Retention, Dec 2025 (monthly)"
    assert card_label("no_such_kpi", "Something", "Dec 2025") == ("Something, Dec 2025", None)
    html = _report(headline="**x**", headline_kpis=CARD_KEYS, kpi_labels={"retention_rate": label})
    brief = html.split("</header>", 1)[0]
    assert f'<div class="k">{label}</div>' in brief and '<div class="k">Retention rate</div>' not in brief
