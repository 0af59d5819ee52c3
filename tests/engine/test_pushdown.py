"""The same purchase file through the embedded path, a DuckDB file, PostgreSQL and Spark.

Each engine must give identical row counts and exclusions, the same per-customer summary and
calibration/holdout split, and the same fitted BG/NBD and Gamma-Gamma parameters (relative
difference under 1e-6). PostgreSQL and Spark are skipped with their reason where unavailable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.data.ingest import load_files
from analytics.data.schema import DataError
from analytics.engine.pushdown import (
    Source,
    TableCounts,
    TableSummary,
    connect,
    count_table,
    spark_source,
    summarise_table,
    triples,
)
from analytics.models.btyd import calibration_holdout_split, summarize_customers
from analytics.models.purchase import BetaGeo
from analytics.models.spend import GammaGamma
from tests.engine.helpers import TODAY, cdnow_log, duckdb_file, messy_log, postgres_table, spark_view


@pytest.fixture(scope="module", params=["messy", "cdnow"])
def purchase_file(request, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp(request.param)
    return messy_log(folder / "purchases.csv") if request.param == "messy" else cdnow_log(folder / "purchases.csv")


def embedded(path: Path):
    data = load_files([(path.name, path.read_bytes())], today=TODAY)
    return data.reports[0], data.transactions


def check_same(pushed: TableSummary, path: Path) -> None:
    report, transactions = embedded(path)
    assert pushed.rows_read == report.rows_read
    assert pushed.rows_used == report.rows_used
    assert pushed.excluded == [(e.reason, e.rows) for e in report.excluded]
    expected = summarize_customers(transactions, time_unit="W").sort_index()
    got = pushed.summary("W").sort_index()
    assert list(got.index) == list(expected.index)
    for column in ("frequency", "recency", "T", "monetary_value", "historic_value"):
        np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(float), rtol=1e-9)
    np.testing.assert_array_equal(got["first_purchase"].to_numpy(), expected["first_purchase"].to_numpy())
    split = calibration_holdout_split(transactions, time_unit="W")
    pushed_split = pushed.split("W")
    assert pushed_split.calibration_end == split.calibration_end
    assert pushed_split.holdout_end == split.holdout_end
    a, b = pushed_split.calibration.sort_index(), split.calibration.sort_index()
    assert list(a.index) == list(b.index)
    for column in ("frequency", "recency", "T", "monetary_value", "frequency_holdout", "duration_holdout"):
        np.testing.assert_allclose(a[column].to_numpy(float), b[column].to_numpy(float), rtol=1e-9)
    # the models fitted on each side agree
    for model in (BetaGeo(time_unit="W"),):
        ours, theirs = model.fit(got).params_, BetaGeo(time_unit="W").fit(expected).params_
        for name, value in theirs.items():
            assert ours[name] == pytest.approx(value, rel=1e-6)
    if path.parent.name.startswith("cdnow"):
        # Gamma-Gamma only where it is identified: the messy log's amounts are drawn alike for
        # every customer, so its fit runs along a ridge (q, v -> infinity) and a 1e-14 change in
        # a sum moves the optimum; CDNOW's spend varies between customers.
        spend_a, spend_b = GammaGamma().fit(got).params_, GammaGamma().fit(expected).params_
        for name, value in spend_b.items():
            assert spend_a[name] == pytest.approx(value, rel=1e-6)
    # the compressed form: distinct triples with counts add up to the customers
    compressed = triples(got)
    assert int(compressed["count"].sum()) == len(got)
    assert len(compressed) <= len(got)


def check_counted(counted: TableCounts, path: Path) -> None:
    """`count_table` (what the app's connection counts before reading) equals the file's cleaning."""
    report, transactions = embedded(path)
    assert (counted.rows_read, counted.rows_used) == (report.rows_read, report.rows_used)
    assert counted.excluded == [(e.reason, e.rows) for e in report.excluded]
    assert counted.customers == transactions["customer_id"].nunique()


def test_duckdb_file_gives_the_same_counts_summary_and_parameters(purchase_file):
    source = connect(duckdb_file(purchase_file))
    try:
        check_same(summarise_table(source, "purchases", today=TODAY), purchase_file)
        check_counted(count_table(source, "purchases", today=TODAY), purchase_file)
    finally:
        source.close()


def test_postgresql_gives_the_same_counts_summary_and_parameters(purchase_file, postgres_url):
    table = postgres_table(postgres_url, purchase_file, "purchases")
    source = connect(postgres_url)
    try:
        check_same(summarise_table(source, table, today=TODAY), purchase_file)
        check_counted(count_table(source, table, today=TODAY), purchase_file)
    finally:
        source.close()


def test_spark_gives_the_same_counts_summary_and_parameters(purchase_file, spark):
    view = spark_view(spark, purchase_file, "purchases")
    check_same(summarise_table(spark_source(spark), view, today=TODAY), purchase_file)
    check_counted(count_table(spark_source(spark), view, today=TODAY), purchase_file)


def test_a_password_in_the_url_is_refused():
    with pytest.raises(DataError, match="password"):
        connect("postgresql://shop:secret@db.example.com:5432/sales")


def test_unknown_url_and_missing_table_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match="duckdb:///"):
        connect("mysql://x@y/z")
    source = connect(duckdb_file(messy_log(tmp_path / "p.csv")))
    try:
        with pytest.raises(DataError, match="query failed"):
            summarise_table(source, "no_such_table")
    finally:
        source.close()


def test_sql_is_transpiled_for_each_dialect():
    seen: list[str] = []

    def run(sql: str) -> pd.DataFrame:
        seen.append(sql)
        return pd.DataFrame({"x": [1]})

    Source("spark", run, "test").query('SELECT CAST(a AS VARCHAR) AS x FROM "t"')
    Source("postgres", run, "test").query('SELECT CAST(a AS DOUBLE) AS x FROM "t"')
    assert seen == ["SELECT CAST(a AS STRING) AS x FROM `t`", 'SELECT CAST(a AS DOUBLE PRECISION) AS x FROM "t"']


@pytest.mark.parametrize("ids", ["text", "integers"])
def test_a_bulk_read_through_arrow_cleans_exactly_as_the_pandas_read(tmp_path, ids):
    """`Source.read_table` (DuckDB's Arrow result, text kept as Arrow text, integer ids cast to text
    in Arrow) gives the same cleaned purchases, exclusions and notes as the same table read through
    DuckDB's pandas conversion (one Python object per text cell): blank and padded ids, a missing
    date, a missing and a negative amount, a future date, exact repeats, decimals and dates typed."""
    from analytics.data.columns import guess_mapping
    from analytics.data.ingest import LoadedTable, build_dataset
    from analytics.data.io import RawTable
    from analytics.data.schema import TRANSACTIONS
    from analytics.engine.pushdown import parquet_folder_source

    rng = np.random.default_rng(3)
    n = 3000
    customer = rng.integers(0, 400, n)
    frame = pd.DataFrame(
        {
            "order_id": np.arange(n) * 7 - 50,  # negative ones too
            "customer_id": customer if ids == "integers" else [f" K{c}" if c % 50 == 0 else f"K{c}" for c in customer],
            "order_date": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 500, n), "D"),
            "amount": np.round(rng.gamma(2.0, 20.0, n), 2),
        }
    )
    frame["order_date"] = frame["order_date"].dt.date
    frame.loc[5, "amount"] = np.nan
    frame.loc[6, "amount"] = -3.0
    frame.loc[7, "order_date"] = None
    frame.loc[8, "order_date"] = pd.Timestamp("2030-01-01").date()
    if ids == "text":
        frame.loc[9, "customer_id"] = "  "
    frame = pd.concat([frame, frame.iloc[100:110]], ignore_index=True)  # exact repeats of one order each
    frame.to_parquet(tmp_path / "purchases.parquet")
    source = parquet_folder_source(tmp_path)
    # DuckDB's own cast of the amounts to DECIMAL, as a database column would be
    source.run("CREATE VIEW typed AS SELECT * REPLACE (CAST(amount AS DECIMAL(12, 2)) AS amount) FROM purchases")
    results = []
    try:
        for cells in (source.read_table("typed"), source.query("SELECT * FROM typed")):
            raw = RawTable(frame=cells, source="typed", file_kind="parquet", notes=("Read.",))
            data = build_dataset(
                [LoadedTable(raw=raw, mapping=guess_mapping(cells, kind=TRANSACTIONS))], name="typed", today=TODAY
            )
            results.append((data.transactions, data.reports))
    finally:
        source.close()
    (arrow, arrow_reports), (pandas, pandas_reports) = results
    pd.testing.assert_frame_equal(arrow, pandas, check_exact=True)
    assert arrow_reports == pandas_reports
    report = arrow_reports[0]
    reasons = [e.reason for e in report.excluded]
    assert ("No customer id" in reasons) == (ids == "text") and "Exact duplicate of an earlier row" in reasons
    assert report.rows_read == len(frame) == report.rows_used + sum(e.rows for e in report.excluded)


@pytest.mark.parametrize("index", ["range", "filtered", "named", "folder"])
def test_a_parquet_folder_leaves_out_the_row_numbers_pandas_stored(tmp_path, index):
    """A Parquet file written by pandas stores its index beside the data (`__index_level_0__`) unless
    it is a plain 0..n-1 range (then in the file's metadata only). Read through a Parquet-folder
    connection, those row numbers made every repeated row unique: exact duplicates were not found
    in the database's counts nor in the read, and their revenue was counted twice. Left out as the
    Parquet upload leaves them out (2773583); a named index is the user's column and stays."""
    from analytics.data.columns import guess_mapping
    from analytics.data.ingest import LoadedTable, build_dataset
    from analytics.data.io import RawTable
    from analytics.data.schema import TRANSACTIONS
    from analytics.engine.pushdown import DUPLICATE, parquet_folder_source

    rng = np.random.default_rng(5)
    n = 400
    frame = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "customer_id": [f"K{c}" for c in rng.integers(0, 60, n)],
            "order_date": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D")).date,
            "amount": np.round(rng.gamma(2.0, 20.0, n), 2),
        }
    )
    repeats = frame.iloc[10:30]  # 20 exact repeats of an order each
    frame = pd.concat([frame, repeats], ignore_index=True)
    expected_revenue = float(frame["amount"].iloc[:n].sum())
    if index in ("filtered", "folder"):
        frame = frame.sort_values("customer_id", kind="stable")  # a sorted (or filtered) frame: no longer a range
        assert not isinstance(frame.index, pd.RangeIndex)
    if index == "named":
        frame = frame.set_index("order_id")  # the user's column, kept by pandas as the index
    if index == "folder":  # a partitioned export: one table of two files, one of them with a range index
        (tmp_path / "purchases").mkdir()
        frame.iloc[:200].to_parquet(tmp_path / "purchases" / "part-0.parquet")
        frame.iloc[200:].reset_index(drop=True).to_parquet(tmp_path / "purchases" / "part-1.parquet")
    else:
        frame.to_parquet(tmp_path / "purchases.parquet")
    stored = pd.read_parquet(tmp_path / ("purchases" if index == "folder" else "purchases.parquet"))
    source = parquet_folder_source(tmp_path)
    try:
        cells = source.read_table("purchases")
        counted = count_table(source, "purchases", today=TODAY)
    finally:
        source.close()
    assert sorted(cells.columns) == ["amount", "customer_id", "order_date", "order_id"]
    assert "__index_level_0__" not in "".join(map(str, stored.columns))  # pandas' reader drops it too
    assert dict(counted.excluded) == {DUPLICATE: 20}
    assert counted.rows_used == n
    raw = RawTable(frame=cells, source="purchases", file_kind="parquet", notes=("Read.",))
    data = build_dataset([LoadedTable(raw=raw, mapping=guess_mapping(cells, kind=TRANSACTIONS))], name="p", today=TODAY)
    report = data.reports[0]
    assert [(e.reason, e.rows) for e in report.excluded] == [(DUPLICATE, 20)]
    assert data.transactions["amount"].sum() == pytest.approx(expected_revenue, rel=1e-12)
