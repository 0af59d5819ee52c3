"""AppTest runs of the Segments page: the subscription demo, CDNOW sample and a customers-only upload.

Caches are kept within this module (tests/app/conftest.py), so the demo's models are fitted once.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.business.segments import SEGMENTS, rfm_table, segment_summary
from analytics.data.datasets import load_demo
from tests.app.helpers import open_page, telco_customers, upload_then_open

PAGE = "pages/segments.py"


def text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info])


def table(at: AppTest, first_column: str) -> pd.DataFrame:
    return next(t.value for t in [*at.table, *at.dataframe] if list(t.value.columns)[:1] == [first_column])


def chart_fields(at: AppTest) -> list[str]:
    """The x field of every Vega-Lite chart on the page (layered charts: their first layer)."""
    fields = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        view = spec["layer"][0] if "layer" in spec else spec
        fields.append(view.get("encoding", {}).get("x", {}).get("field"))
    return fields


def expected_sizes(demo: str) -> list[int]:
    data = load_demo(demo)
    summary = segment_summary(rfm_table(data.transactions, as_of=data.observation_end))
    return summary["customers"].tolist()


@pytest.mark.slow
def test_subscription_demo_segments_value_risk_personas_and_stages():
    at = open_page(PAGE)
    assert not at.exception
    assert not at.error
    segments = table(at, "Segment")
    assert segments["Segment"].tolist() == list(SEGMENTS)
    assert segments["Customers"].tolist() == expected_sizes("subscription")
    assert segments["Customers"].sum() == 6000  # everyone who ever paid
    assert segments["Mean 12-month value"].notna().sum() == 8  # the model's CLV filled in after the fit
    quadrants = table(at, "Quadrant")
    save_first = int(quadrants.set_index("Quadrant").at["Save first", "Customers"])
    current = int(quadrants["Customers"].sum())
    churned = load_demo("subscription").customers["churned"].astype(bool)
    assert current == int((~churned).sum())  # customers who already left are not in the matrix
    page = text(at)
    assert f"**{save_first:,} customers ({save_first / current:.0%} of the {current:,} current customers)" in page
    assert "Your customers fall into 3 personas" in page
    assert sum(m.value.startswith("- Persona ") for m in at.markdown) == 3  # one sentence each
    assert "Between 30 Nov 2025 and 31 Dec 2025" in page
    assert "the churn model judges who is still a customer" in page  # subscription: churn column exists

    # value and retention by segment: plan first; contract shows the generator's churn effect
    assert at.selectbox(key="seg_by").options == [
        "Plan",
        "Region",
        "Contract",
        "Acquisition Channel",
        "Acquisition cohort",
    ]
    at.selectbox(key="seg_by").set_value("Contract").run()
    assert not at.exception
    by_contract = next(d.value for d in at.dataframe if "Still there after 12 months" in d.value.columns)
    row = by_contract.set_index("Segment")
    assert list(row.index) == ["Month-to-month", "One year", "Two year"]
    assert row.at["Month-to-month", "Still there after 12 months"] == "52.8%"
    assert row.at["Two year", "Still there after 12 months"] == "96.4%"
    page = text(at)
    assert (
        "**96% of new Two year customers are still there after a year, 53% of Month-to-month** (clearly apart)." in page
    )

    at.segmented_control(key="seg_measure").set_value("revenue").run()
    assert "revenue" in chart_fields(at)
    at.segmented_control(key="seg_period").set_value("quarter").run()
    assert not at.exception
    assert "Between 30 Sep 2025 and 31 Dec 2025" in text(at)


def test_cdnow_sample_runs_with_one_time_buyer_rule():
    at = open_page(PAGE, dataset="cdnow_sample")
    assert not at.exception
    assert not at.error
    segments = table(at, "Segment")
    assert segments["Customers"].tolist() == expected_sizes("cdnow_sample")
    assert int(segments.set_index("Segment").at["New", "Customers"]) == 0  # nobody joined after March 1997
    page = text(at)
    assert "Your customers fall into 2 personas" in page
    assert "**One-time buyers** (1,218)" in page  # BG/NBD frequency 0: p_alive is 1, the gap rule applies
    assert "Between 31 May 1998 and 30 Jun 1998" in page
    # a purchase log: acquisition cohorts by first-purchase month, the purchase model fitted per cohort
    assert at.selectbox(key="seg_by").options == ["Acquisition cohort"]
    by_cohort = next(d.value for d in at.dataframe if "Chance still active" in d.value.columns)
    assert by_cohort["Segment"].tolist() == ["1997-01", "1997-02", "1997-03"]
    assert by_cohort["Customers"].tolist() == [781, 857, 719]
    assert "1997-02 customers are worth the most" in page
    # every customer's RFM scores: the first 1,000 drawn, highest first; all 2,357 in the download
    scores = next(d.value for d in at.dataframe if "r_score" in d.value.columns)
    assert len(scores) == 1_000
    assert scores["r_score"].is_monotonic_decreasing
    assert any("The first 1,000 of 2,357 customers" in c.value for c in at.caption)
    assert "Download the scores of all 2,357 customers (CSV)" in [b.label for b in at.get("download_button")]


def test_customers_only_upload_says_what_rfm_needs():
    telco = telco_customers()
    at = upload_then_open(PAGE, "telco.csv", telco.to_csv(index=False).encode())
    assert not at.exception
    assert not at.error
    page = text(at)
    assert "RFM segments need a purchase log (customer id, order date, amount)" in page
    assert "Moves between stages need a purchase log" in page
    assert "12-month value at today's monthly charge (30% margin, discounted 10% a year; no purchase model)" in page
    quadrants = table(at, "Quadrant")
    current = int((telco["churn"] == "No").sum())
    assert int(quadrants["Customers"].sum()) == current


def test_a_rerun_draws_from_cached_views_without_recomputing_them(monkeypatch):
    """Segments' tables and charts on the fitted models come from caches (`ui.segments.rfm_summary`,
    `value_risk_view`, `stage_counts`, `rfm_grid`), not from the whole per-customer tables on every run:
    at a million customers the page took 4-13 s to draw with every fit done (segment summaries twice,
    the value x risk matrix, every customer's lifecycle stage, on each run). A rerun summarises,
    places and stages nobody again, and draws the same page."""
    from analytics.business import lifecycle
    from analytics.business import segments as bs
    from ui import segments as us

    at = open_page(PAGE, dataset="cdnow_sample")
    assert not at.exception and not at.error
    drawn = text(at), table(at, "Segment"), table(at, "Quadrant")
    calls: list[str] = []

    def counted(name, func):
        return lambda *args, **kwargs: calls.append(name) or func(*args, **kwargs)

    monkeypatch.setattr(bs, "_per_group", counted("summary", bs._per_group))  # segment and quadrant summaries
    monkeypatch.setattr(lifecycle, "lifecycle_stages", counted("stages", lifecycle.lifecycle_stages))
    monkeypatch.setattr(us, "value_risk_matrix", counted("matrix", us.value_risk_matrix))
    monkeypatch.setattr(pd, "crosstab", counted("grid", pd.crosstab))
    at.run()
    at.run()
    assert not at.exception and not at.error
    assert calls == []
    again = text(at), table(at, "Segment"), table(at, "Quadrant")
    assert again[0] == drawn[0]
    pd.testing.assert_frame_equal(again[1], drawn[1])
    pd.testing.assert_frame_equal(again[2], drawn[2])
    assert drawn[1]["Mean 12-month value"].notna().sum() == 7  # filled in (no New customer in CDNOW)
