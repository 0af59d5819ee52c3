"""The headless report as a whole: every section present with its stable keys, or null with a reason."""

from __future__ import annotations

import json

import pytest

from analytics.data.datasets import DATA_DIR, load_demo
from analytics.data.ingest import load_files
from analytics.reports.report import SECTIONS, ReportSettings, build_report

SECTION_KEYS = {
    "kpis": {"period", "current_period", "previous_period", "values", "missing"},
    "clv": {"models", "gamma_gamma", "selected", "mean_clv"},
    "churn": {"target", "n", "churn_rate", "auc", "pr_auc", "brier", "model", "top_drivers"},
    "whatif": {"retention_rate", "lift_points", "profit_change_pct", "clv_change_pct", "inputs"},
}


@pytest.fixture(scope="module")
def sample_report() -> dict:
    return build_report(load_demo("cdnow_sample"), ReportSettings(period="W"))


def test_every_section_runs_on_a_purchase_log(sample_report):
    assert list(sample_report) == ["version", "settings", "data", *SECTIONS, "reasons"]
    # A purchase log has no customers table, so the subscription retention model and the voice of the
    # customer (survey answers per customer) stand aside.
    assert list(sample_report["reasons"]) == ["retention_sbg", "voice"]
    assert sample_report["retention_sbg"] is None
    for section, keys in SECTION_KEYS.items():
        assert keys <= set(sample_report[section]), section
    for model in ("bg_nbd", "pareto_nbd", "mbg_nbd"):
        holdout = sample_report["clv"]["models"][model]["holdout"]
        assert set(holdout) >= {"actual", "predicted"}
    assert set(sample_report["segments"]) == {
        "Champions",
        "Loyal",
        "Potential loyalists",
        "New",
        "At risk",
        "Can't lose them",
        "Hibernating",
        "Lost",
    }
    assert sum(v["customers"] for v in sample_report["segments"].values()) == 2357
    angles = sample_report["churn"]["angles"]
    assert set(angles) == {"classifier", "p_alive"}  # a purchase log: no survival angle
    assert all(0.5 < a["auc"] < 1 and a["customers_measured"] == 2357 for a in angles.values())
    assert isinstance(sample_report["churn"]["agreement"]["all_flag"], int)
    assert sample_report["campaign"]["control_share"] == 0.1 and "uplift" not in sample_report["campaign"]
    cohorts = sample_report["value_by_segment"]["by"]["acquisition_cohort"]
    assert list(cohorts["purchase"]) == ["1997-01", "1997-02", "1997-03"] and cohorts["retention"] is None
    json.dumps(sample_report, allow_nan=False)  # strict JSON: no NaN or numpy types


def test_customers_table_alone_gives_null_sections_with_reasons():
    content = (DATA_DIR / "subscription_customers.csv").read_bytes()
    report = build_report(load_files([("customers.csv", content)]), ReportSettings(period="M"))
    assert report["data"]["customers"] == 6000
    assert report["clv"] is None and "purchase log" in report["reasons"]["clv"]
    sbg = report["retention_sbg"]
    assert set(sbg["params"]) == {"alpha", "beta"} and sbg["n_customers"] == 6000
    personas = report["segments"]  # no purchases: the personas of the table's own columns
    assert sum(p["customers"] for p in personas.values()) == 6000 and "segments" not in report["reasons"]
    assert all(p["revenue"] is None and 0 <= p["churn_rate"] <= 1 for p in personas.values())
    assert report["churn"]["target"].startswith("'Churned'")
    assert 0.2 < report["churn"]["churn_rate"] < 0.35
    assert set(report["churn"]["angles"]) == {"classifier", "survival"}
    assert report["churn"]["agreement"]["all_flag"] > 0
    assert report["voice"]["by_nps_class"]["detractor"]["customers"] == 1121
    assert report["voice"]["value_source"].startswith(
        "12-month value at today's monthly charge (30% margin, discounted 10% a year"
    )
    by_plan = report["value_by_segment"]["by"]["plan"]
    assert by_plan["purchase"] is None and set(by_plan["retention"]) == {"Basic", "Standard", "Premium"}
