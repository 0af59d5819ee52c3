"""KPI period counts, cohorts, RFM values and churn features pushed down: the same figures as the embedded path.

The same purchase file goes through the embedded path (the customer-day table), a DuckDB file, a
real PostgreSQL server and local Spark; every counter, cohort matrix, RFM value, churn feature,
label and the churn window must agree (relative difference under 1e-6), and the `--db` report's kpis, churn and
segments sections must equal the file report's. PostgreSQL and Spark are skipped with their reason
where unavailable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.business.churn_inputs import derive_churn_label, transaction_features
from analytics.business.cohorts import cohort_table
from analytics.business.kpis import _period_counts
from analytics.business.segments import rfm_table
from analytics.data.ingest import load_files
from analytics.data.schema import CUSTOMER_ID, CustomerData
from analytics.engine.customer_days import customer_days
from analytics.engine.pushdown import (
    PERIOD_COUNT_COLUMNS,
    PurchaseBehaviour,
    connect,
    spark_source,
    summarise_behaviour,
)
from analytics.reports.database import database_report
from analytics.reports.report import ReportSettings, build_report
from tests.engine.helpers import TODAY, cdnow_log, duckdb_file, messy_log, postgres_table, spark_view

PERIODS = ("month", "quarter", "year")


@pytest.fixture(scope="module", params=["messy", "cdnow"])
def purchase_file(request, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp(f"behaviour_{request.param}")
    return messy_log(folder / "purchases.csv") if request.param == "messy" else cdnow_log(folder / "purchases.csv")


def embedded(path: Path):
    return load_files([(path.name, path.read_bytes())], today=TODAY)


def check_same(pushed: PurchaseBehaviour, path: Path) -> None:
    data = embedded(path)
    tx = data.transactions
    table = customer_days(tx)
    for period in PERIODS:
        expected = _period_counts(table, period)
        got = pushed.period_counts[period]
        assert list(got.index) == list(expected.index)
        for column in PERIOD_COUNT_COLUMNS:
            np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(float), rtol=1e-9)
    rfm = rfm_table(tx, as_of=data.observation_end)
    values = pushed.rfm_values()
    assert list(values.index) == list(rfm.index)
    for column in values.columns:
        np.testing.assert_allclose(values[column].to_numpy(float), rfm[column].to_numpy(float), rtol=1e-9)
    derived = derive_churn_label(tx, observation_end=data.observation_end)
    assert pushed.horizon_days == derived.horizon_days
    assert pd.Timestamp(pushed.cutoff_day, unit="D") == derived.cutoff
    now = transaction_features(tx, data.observation_end + pd.Timedelta(days=1), derived.horizon_days)
    for got, expected in ((pushed.features("cut"), derived.features), (pushed.features("now"), now)):
        assert list(got.index) == list(expected.index)
        assert list(got.columns) == list(expected.columns)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, check_index_type=False)
    churned = pushed.customers.loc[derived.features.index, "churned"]
    assert churned.tolist() == derived.churned.tolist()
    ids = pd.DataFrame({CUSTOMER_ID: pushed.customers.index})
    for period in PERIODS:
        expected_cohorts = cohort_table(data, period=period)
        got_cohorts = cohort_table(CustomerData(name="db", customers=ids), period=period, purchases=pushed)
        assert got_cohorts.last_period == expected_cohorts.last_period
        pd.testing.assert_series_equal(got_cohorts.sizes, expected_cohorts.sizes)
        for name in ("active", "retention", "revenue", "revenue_retention"):
            pd.testing.assert_frame_equal(
                getattr(got_cohorts, name), getattr(expected_cohorts, name), check_exact=False, rtol=1e-9
            )


def test_duckdb_file_gives_the_same_counts_rfm_and_churn_features(purchase_file):
    source = connect(duckdb_file(purchase_file))
    try:
        check_same(summarise_behaviour(source, "purchases", periods=PERIODS, today=TODAY), purchase_file)
    finally:
        source.close()


def test_postgresql_gives_the_same_counts_rfm_and_churn_features(purchase_file, postgres_url):
    table = postgres_table(postgres_url, purchase_file, "behaviour")
    source = connect(postgres_url)
    try:
        check_same(summarise_behaviour(source, table, periods=PERIODS, today=TODAY), purchase_file)
    finally:
        source.close()


def test_spark_gives_the_same_counts_rfm_and_churn_features(purchase_file, spark):
    view = spark_view(spark, purchase_file, "behaviour")
    check_same(summarise_behaviour(spark_source(spark), view, periods=PERIODS, today=TODAY), purchase_file)


def assert_close(got, expected, path="churn"):
    """Equal structures, floats within a relative 1e-6."""
    if isinstance(expected, dict):
        assert set(got) == set(expected), path
        for key in expected:
            assert_close(got[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), path
        for i, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert_close(a, b, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-12, nan_ok=True), path
    else:
        assert got == expected, path


def test_db_report_kpis_churn_and_segments_equal_the_file_report(tmp_path):
    path = cdnow_log(tmp_path / "purchases.csv")
    settings = ReportSettings(calibration_end=pd.Timestamp("1997-09-30"))
    pushed = database_report(duckdb_file(path), {"purchases": "purchases"}, settings)
    sections = {name: f"analytics.reports.report:{name}_section" for name in ("kpis", "churn", "segments")}
    on_file = build_report(embedded(path), settings, sections=sections)
    assert pushed["segments"] == on_file["segments"]
    assert pushed["kpis"]["current_period"] == on_file["kpis"]["current_period"] == "1998-06"
    for key, value in on_file["kpis"]["values"].items():
        assert pushed["kpis"]["values"][key] == (pytest.approx(value, rel=1e-6) if value is not None else None), key
    assert pushed["kpis"]["values"]["active_customers"] == 138
    angles = {"angles", "angles_unavailable", "angles_label", "agreement"}
    assert_close(
        {k: v for k, v in pushed["churn"].items() if k not in angles},
        {k: v for k, v in on_file["churn"].items() if k not in angles},
    )
    assert pushed["churn"]["auc"] > 0.7
    assert pushed["churn"]["angles"] is None and "every purchase" in pushed["churn"]["angles_unavailable"]["all"]
    assert "whatif" not in pushed["reasons"]  # tests/engine/test_pushdown_whatif.py compares it with the file
