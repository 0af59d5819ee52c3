"""The what-if's counts per period pushed down, and the `--db` report's what-if, value by segment and campaign.

The same purchase file goes through the embedded path (the customer-day table), a DuckDB file, a
real PostgreSQL server and local Spark: buyers, repeat buyers, new customers and spend per month,
quarter and year, and the sums of the within-customer spend trend must agree (relative difference
under 1e-6); the `--db` report's whatif, value_by_segment and campaign sections must equal the file
report's. PostgreSQL and Spark are skipped with their reason where unavailable.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.business.whatif_inputs import PeriodActivity, transaction_activity
from analytics.data.ingest import load_files
from analytics.engine.pushdown import Source, connect, spark_source, summarise_periods, summarise_table
from analytics.reports.database import database_report
from analytics.reports.report import ReportSettings, build_report
from tests.engine.helpers import TODAY, cdnow_log, duckdb_file, messy_log, postgres_table, spark_view
from tests.engine.test_pushdown_behaviour import assert_close

PERIODS = ("M", "Q", "Y")


@pytest.fixture(scope="module", params=["messy", "cdnow"])
def purchase_file(request, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp(f"whatif_{request.param}")
    return messy_log(folder / "purchases.csv") if request.param == "messy" else cdnow_log(folder / "purchases.csv")


def pushed_activity(source: Source, table: str, period: str) -> PeriodActivity:
    summary = summarise_table(source, table, today=TODAY)
    return summarise_periods(source, table, summary, period=period, today=TODAY)


def check_same(source: Source, table: str, path: Path) -> None:
    data = load_files([(path.name, path.read_bytes())], today=TODAY)
    for period in PERIODS:
        expected = transaction_activity(data, period)
        got = pushed_activity(source, table, period)
        assert list(got.counts.index) == list(expected.counts.index), period
        for column in ("buyers", "again", "new"):
            assert got.counts[column].tolist() == expected.counts[column].tolist(), (period, column)
        np.testing.assert_allclose(got.counts["spend"], expected.counts["spend"], rtol=1e-9)
        assert (got.first_purchase, got.last_purchase) == (expected.first_purchase, expected.last_purchase)
        assert got.observation_end == expected.observation_end
        assert (got.growth is None) == (expected.growth is None), period
        if expected.growth is not None:
            assert_close(dataclasses.asdict(got.growth), dataclasses.asdict(expected.growth), f"growth {period}")


def test_duckdb_file_gives_the_same_what_if_counts(purchase_file):
    source = connect(duckdb_file(purchase_file))
    try:
        check_same(source, "purchases", purchase_file)
    finally:
        source.close()


def test_postgresql_gives_the_same_what_if_counts(purchase_file, postgres_url):
    table = postgres_table(postgres_url, purchase_file, "whatif")
    source = connect(postgres_url)
    try:
        check_same(source, table, purchase_file)
    finally:
        source.close()


def test_spark_gives_the_same_what_if_counts(purchase_file, spark):
    view = spark_view(spark, purchase_file, "whatif")
    check_same(spark_source(spark), view, purchase_file)


def test_weekly_what_if_periods_are_refused_in_a_sentence(purchase_file):
    source = connect(duckdb_file(purchase_file))
    try:
        with pytest.raises(Exception, match="months, quarters or years"):
            pushed_activity(source, "purchases", "W")
    finally:
        source.close()


def test_db_report_whatif_value_by_segment_and_campaign_equal_the_file_report(tmp_path):
    path = cdnow_log(tmp_path / "purchases.csv")
    data = load_files([(path.name, path.read_bytes())], today=TODAY)
    # a campaign readout: 1,000 customers contacted in 1998, one in ten held out; the outcome is
    # whether they bought from 1998-01-01 on, and the value saved is valued by the purchase model
    ids = sorted(data.transactions["customer_id"].astype(str).unique())[:1000]
    contacts = pd.DataFrame({"customer_id": ids, "group": np.where(np.arange(1000) % 10 == 0, "control", "treatment")})
    settings = ReportSettings(
        calibration_end=pd.Timestamp("1997-09-30"),
        readout_list=contacts,
        readout_outcome=data,
        readout_since=pd.Timestamp("1998-01-01"),
        offer_cost=1.0,
    )
    pushed = database_report(duckdb_file(path), {"purchases": "purchases"}, settings)
    names = ("whatif", "value_by_segment", "campaign")
    on_file = build_report(
        data, settings, sections={name: f"analytics.reports.report:{name}_section" for name in names}
    )
    for name in names:
        assert name not in pushed["reasons"], pushed["reasons"].get(name)
        assert_close(pushed[name], on_file[name], name)
    # the figures themselves: CDNOW's three acquisition cohorts, each with its own model
    cohorts = pushed["value_by_segment"]["by"]["acquisition_cohort"]["purchase"]
    assert list(cohorts) == ["1997-01", "1997-02", "1997-03"]
    assert sum(c["customers"] for c in cohorts.values()) == 2357
    assert not any(c["pooled"] for c in cohorts.values())
    assert pushed["whatif"]["business_kind"] == "purchase_log"
    assert pushed["whatif"]["retention_source"] == on_file["whatif"]["retention_source"]
    assert pushed["campaign"]["control_share"] == 0.10
    uplift = pushed["campaign"]["uplift"]
    assert uplift["control"] == 100 and uplift["mean_value_treated"] > 0  # valued: the purchase model's CLV
