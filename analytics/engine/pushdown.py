"""Push-down: the purchase-level work runs where the purchases live; per-customer rows come back.

    source = connect("duckdb:///data/shop.duckdb")            # or postgresql://user@host:5432/db
    source = spark_source(spark)                               # a SparkSession (local, Databricks, EMR)
    result = summarise_table(source, "purchases")              # counts, exclusions, per-customer rows

The SQL is written once, in DuckDB's dialect, and transpiled with SQLGlot to the dialect of the
connection (PostgreSQL, Spark SQL; Snowflake, BigQuery and the other SQLGlot dialects through the
same call). SQLGlot rather than Ibis: our queries are three fixed statements; SQLGlot is one pure
Python package with no backend drivers, keeps the SQL readable and reviewable as SQL, and covers
more dialects than Ibis' backends, while Ibis would add a dataframe API, its own dependency set per
backend and a second way to say the same query.

What runs in the database (one scan of the purchase table per statement, three statements):

1. the same cleaning rules as `analytics.data.cleaning.clean_transactions` for typed columns, in
   the same order and with the same reasons (no customer id, date missing, amount missing,
   cancellation, refund, future date, exact duplicate), counted per reason;
2. purchases collapsed to (customer, day) and then to one row per customer: first and last
   purchase day, purchase days and spend in total, on the first day, and up to / after the
   calibration end.

What comes back: one row of counts per exclusion reason, and one row per customer (11 numbers);
`triples` aggregates further to distinct (frequency, recency, T) with counts, which is all the
purchase models need to fit. At 100M purchases from 20M customers that is 20M rows (~1.8 GB as
doubles) per customer, or a few hundred thousand triples.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import sqlglot
from sqlglot import exp

from analytics.data import schema as s
from analytics.data.columns import guess_mapping
from analytics.data.io import frame_from_arrow
from analytics.models.btyd import HoldoutSplit, default_calibration_end, from_day_number, to_day_number, unit_days

if TYPE_CHECKING:
    from analytics.business.whatif_inputs import PeriodActivity

EPOCH = pd.Timestamp("1970-01-01")

# Exclusion reasons in the order `clean_transactions` applies them (a row keeps its first reason).
NO_ID = "No customer id"
NO_DATE = "Date missing or not readable"
NO_AMOUNT = "Amount missing or not a number"
CANCELLED = "Cancellation (invoice number starts with C)"
REFUND = "Return or refund (negative amount)"
DUPLICATE = "Exact duplicate of an earlier row"


@dataclass
class Source:
    """A place to run SQL: its SQLGlot dialect and a function that runs a query into a DataFrame.

    Attributes
    ----------
    dialect : str
        SQLGlot dialect name.
    run : callable
        SQL text -> DataFrame.
    label : str
        What to call it in messages.
    close : callable
        Releases the connection.
    read : callable, optional
        SQL text -> DataFrame for bulk reads (`read_table`), when the source has a faster way than
        `run` (DuckDB: its Arrow result, text kept as Arrow text).
    """

    dialect: str
    run: Callable[[str], pd.DataFrame]
    label: str
    close: Callable[[], None] = field(default=lambda: None)
    read: Callable[[str], pd.DataFrame] | None = None

    def query(self, duckdb_sql: str) -> pd.DataFrame:
        """Transpile `duckdb_sql` to this source's dialect and run it.

        Parameters
        ----------
        duckdb_sql : str
            A query in DuckDB's dialect.

        Returns
        -------
        pd.DataFrame
            The result.
        """
        return self._run(self.run, duckdb_sql)

    def read_table(self, table: str) -> pd.DataFrame:
        """Every row and column of `table`, to be cleaned like a file's cells.

        Text columns come back as Arrow text where the source can (DuckDB: `frame_from_arrow`), so
        cleaning reads them as it reads a CSV's cells, not as one Python string per cell.

        Parameters
        ----------
        table : str
            A table or view name, optionally schema-qualified (as `list_tables` gives it).

        Returns
        -------
        pd.DataFrame
            The table's cells.
        """
        duckdb_sql = f"SELECT * FROM {table}"
        if self.read is None:
            return self.query(duckdb_sql)
        return self._run(self.read, duckdb_sql)

    def _run(self, run: Callable[[str], pd.DataFrame], duckdb_sql: str) -> pd.DataFrame:
        sql = (
            duckdb_sql
            if self.dialect == "duckdb"
            else sqlglot.transpile(duckdb_sql, read="duckdb", write=self.dialect)[0]
        )
        try:
            return run(sql)
        except Exception as exc:  # drivers raise their own types; the user needs one sentence
            raise s.DataError(f"The query failed in {self.label}: {str(exc).splitlines()[0]}") from exc


def connect(url: str, *, password: str | None = None) -> Source:
    """A source from a URL: `duckdb:///path/file.duckdb` or `postgresql://user@host:port/db`.

    Credentials: a PostgreSQL password is read from the usual libpq places (PGPASSWORD, ~/.pgpass,
    a service file) or given as `password` (the app passes the one in .streamlit/secrets.toml),
    never from the URL, so URLs can be logged and shared without leaking it.

    Parameters
    ----------
    url : str
        The database URL.
    password : str, optional
        The PostgreSQL password, kept out of the URL.

    Returns
    -------
    Source
        The connection.

    Raises
    ------
    DataError
        For an unknown scheme, a password in the URL, or a failed connection.
    """
    parsed = urlparse(url)
    if parsed.scheme == "duckdb":
        import duckdb

        path = unquote(parsed.path or "")
        if parsed.netloc:  # duckdb://relative/path
            path = parsed.netloc + path
        if not path:
            raise s.DataError("A DuckDB URL names a file: duckdb:///path/to/shop.duckdb")
        try:
            connection = duckdb.connect(path, read_only=True)
        except Exception as exc:
            raise s.DataError(f"Cannot open the DuckDB file {path}: {str(exc).splitlines()[0]}") from exc
        return _duckdb_source(connection, f"DuckDB file {path}")
    if parsed.scheme in ("postgresql", "postgres"):
        if parsed.password:
            raise s.DataError(
                "Do not put the password in the URL (it ends up in logs and shell history): "
                "use PGPASSWORD, ~/.pgpass or a service file."
            )
        import psycopg

        try:
            pg = (
                psycopg.connect(url, autocommit=True, password=password)
                if password
                else psycopg.connect(url, autocommit=True)
            )
        except Exception as exc:
            raise s.DataError(f"Cannot connect to PostgreSQL at {parsed.hostname}: {str(exc).splitlines()[0]}") from exc

        def run(sql: str) -> pd.DataFrame:
            with pg.cursor() as cursor:
                cursor.execute(sql)
                names = [d.name for d in cursor.description or []]
                return pd.DataFrame(cursor.fetchall(), columns=names)

        return Source("postgres", run, f"PostgreSQL {parsed.hostname}:{parsed.port or 5432}", pg.close)
    raise s.DataError(
        f"Unknown database URL '{parsed.scheme}://...': use duckdb:///path/file.duckdb or postgresql://user@host:port/db."
    )


PARQUET_SUFFIXES = (".parquet", ".pq")


def parquet_folder_source(folder: str | Path) -> Source:
    """A source over a server-side folder of Parquet files, for data above the upload limit.

    Each Parquet file (by its name without the suffix) and each sub-folder holding Parquet files
    (all its files as one table, e.g. a partitioned export) is a table, read in place by an
    in-memory DuckDB: nothing is copied or uploaded.

    Parameters
    ----------
    folder : str or Path
        The folder (configured by whoever runs the server, never typed by a user).

    Returns
    -------
    Source
        Queries in DuckDB's dialect; `list_tables` names the tables.

    Raises
    ------
    DataError
        When the folder does not exist or holds no Parquet file.
    """
    import duckdb

    root = Path(folder).expanduser()
    if not root.is_dir():
        raise s.DataError(f"The Parquet folder {root} does not exist on the server.")
    tables: dict[str, str] = {}
    for entry in sorted(root.iterdir()):
        if entry.is_file() and entry.suffix.lower() in PARQUET_SUFFIXES:
            tables[entry.stem] = str(entry)
        elif entry.is_dir() and any(p.suffix.lower() in PARQUET_SUFFIXES for p in entry.rglob("*") if p.is_file()):
            tables[entry.name] = str(entry / "**" / "*.parquet")
    if not tables:
        raise s.DataError(f"The folder {root} holds no Parquet file (.parquet).")
    connection = duckdb.connect()
    for name, path in tables.items():
        literal = exp.Literal.string(path).sql(dialect="duckdb")
        stored = _stored_row_numbers(connection, literal)
        leave_out = f" EXCLUDE ({', '.join(_q(c) for c in stored)})" if stored else ""
        connection.execute(
            f"CREATE VIEW {_q(name)} AS SELECT *{leave_out} FROM read_parquet({literal}, union_by_name = true)"
        )
    return _duckdb_source(connection, f"Parquet folder {root}")


def _stored_row_numbers(connection: Any, files: str) -> list[str]:
    """The unnamed indexes pandas stored beside the data in any of `files` (a DuckDB string literal:
    a path or a glob), as `analytics.data.io` leaves them out of a Parquet upload.

    pandas writes a frame's index into the file (`__index_level_0__`, ...) when it is not a plain
    0..n-1 range (any filtered or concatenated frame); a range index is kept in the file's metadata
    only. Those row numbers are not the user's data: kept as a column, they made every repeated row
    unique, so exact duplicates were not found and their revenue counted twice. A named index (e.g.
    a customer id set as the index) is the user's column and stays. Read from the files' footers."""
    rows = connection.execute(
        f"SELECT DISTINCT decode(value) FROM parquet_kv_metadata({files}) WHERE decode(key) = 'pandas'"
    ).fetchall()
    stored: set[str] = set()
    for (text,) in rows:
        try:
            index_columns = json.loads(text).get("index_columns", [])
        except (ValueError, AttributeError):  # not pandas' metadata after all: nothing to leave out
            continue
        stored.update(c for c in index_columns if isinstance(c, str) and c.startswith("__index_level_"))
    if not stored:
        return []
    columns = connection.execute(f"DESCRIBE SELECT * FROM read_parquet({files}, union_by_name = true)").fetchall()
    return [str(c[0]) for c in columns if c[0] in stored]


def _duckdb_source(connection: Any, label: str) -> Source:
    """A source over a DuckDB connection: queries through pandas, bulk reads through Arrow."""
    return Source(
        "duckdb",
        lambda sql: connection.execute(sql).df(),
        label,
        connection.close,
        read=lambda sql: frame_from_arrow(connection.sql(sql).to_arrow_table()),
    )


def list_tables(source: Source) -> list[str]:
    """The tables and views a source offers (schema-qualified outside the default schema), sorted.

    Parameters
    ----------
    source : Source
        From `connect` or `parquet_folder_source`.

    Returns
    -------
    list of str
        Names to pass to `summarise_table` or to read.
    """
    frame = source.query(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('information_schema', 'pg_catalog') ORDER BY table_schema, table_name"
    )
    default = {"main", "public"}
    return [
        str(name) if schema in default else f"{_q(str(schema))}.{_q(str(name))}"
        for schema, name in zip(frame["table_schema"], frame["table_name"], strict=True)
    ]


def spark_source(spark: Any) -> Source:
    """A source over a SparkSession (tables or temporary views it can see).

    Parameters
    ----------
    spark : SparkSession
        An active session.

    Returns
    -------
    Source
        Queries run through `spark.sql`.
    """
    return Source("spark", lambda sql: spark.sql(sql).toPandas(), "Spark")


def _q(name: str) -> str:
    """A column name quoted for DuckDB SQL (SQLGlot re-quotes it for the target dialect)."""
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def _table(name: str) -> str:
    try:
        return exp.to_table(name, dialect="duckdb").sql(dialect="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise s.DataError(f"'{name}' is not a table name.") from exc


def _text(column: str) -> str:
    return f"NULLIF(TRIM(CAST({_q(column)} AS VARCHAR)), '')"


@dataclass(frozen=True)
class TableSummary:
    """What a purchase table gives, computed where it lives.

    Attributes
    ----------
    rows_read : int
    excluded : list of (reason, rows)
        In the order the cleaning rules apply.
    columns : dict
        Role -> the table's column.
    customers : pd.DataFrame
        One row per customer (index customer_id, sorted): first_day, last_day, n_days, total,
        first_spend, last_day_cal, n_days_cal, total_cal, n_days_holdout. Days are days since
        1970-01-01; spend in currency.
    first_day, last_day, calibration_day : int
        Of all kept purchases, and the calibration end used (days since 1970-01-01).
    """

    rows_read: int
    excluded: list[tuple[str, int]]
    columns: dict[str, str]
    customers: pd.DataFrame
    first_day: int
    last_day: int
    calibration_day: int

    @property
    def rows_used(self) -> int:
        return self.rows_read - sum(rows for _, rows in self.excluded)

    def summary(self, time_unit: str = "W") -> pd.DataFrame:
        """The per-customer BTYD summary to the last purchase day (as `btyd.summarize_customers`).

        Parameters
        ----------
        time_unit : str, default 'W'
            'D', 'W' or 'M'.

        Returns
        -------
        pd.DataFrame
            frequency, recency, T, monetary_value per customer.
        """
        c = self.customers
        return _summary_frame(c, c["n_days"], c["last_day"], c["total"], self.last_day, time_unit)

    def split(self, time_unit: str = "W") -> HoldoutSplit:
        """The calibration/holdout split (as `btyd.calibration_holdout_split`; `days` is None).

        Parameters
        ----------
        time_unit : str, default 'W'
            'D', 'W' or 'M'.

        Returns
        -------
        HoldoutSplit
            The split.
        """
        c = self.customers[self.customers["first_day"] <= self.calibration_day]
        calibration = _summary_frame(
            c, c["n_days_cal"], c["last_day_cal"], c["total_cal"], self.calibration_day, time_unit
        )
        calibration["frequency_holdout"] = c["n_days_holdout"].to_numpy(np.int64)
        calibration["duration_holdout"] = (self.last_day - self.calibration_day) / unit_days(time_unit)
        return HoldoutSplit(
            calibration=calibration,
            days=None,  # type: ignore[arg-type]  # the purchase days stay in the database
            calibration_end=from_day_number(self.calibration_day),
            holdout_end=from_day_number(self.last_day),
            time_unit=time_unit,
        )


def _summary_frame(
    c: pd.DataFrame, n_days: pd.Series, last: pd.Series, total: pd.Series, end: int, unit: str
) -> pd.DataFrame:
    days = unit_days(unit)
    frequency = n_days.to_numpy(np.int64) - 1
    first = c["first_day"].to_numpy(np.int64)
    repeat = total.to_numpy(np.float64) - c["first_spend"].to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat / np.maximum(frequency, 1), 0.0)
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last.to_numpy(np.int64) - first) / days,
            "T": (end - first) / days,
            "monetary_value": monetary,
            "first_purchase": first.astype("datetime64[D]").astype("datetime64[ns]"),
            "historic_value": total.to_numpy(np.float64),
        },
        index=c.index,
    )
    out.attrs["time_unit"] = unit
    return out


def _marked_sql(table: str, roles: dict[str, str], all_columns: list[str], today: pd.Timestamp) -> str:
    """Every row with its exclusion reason (NULL = kept) and the typed canonical columns."""
    order = _text(roles[s.ORDER_ID]) if s.ORDER_ID in roles else "CAST(NULL AS VARCHAR)"
    future = f"Date in the future (after {today:%Y-%m-%d})"
    limit = (today + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    raw = ", ".join(_q(c) for c in all_columns)
    # exact repeats of a row are dropped only when an order id says they are the same order
    duplicate = (
        f"CASE WHEN reason IS NULL AND ROW_NUMBER() OVER (PARTITION BY reason, {raw} ORDER BY customer_key) > 1 "
        f"THEN '{DUPLICATE}' ELSE reason END"
        if s.ORDER_ID in roles
        else "reason"
    )
    return f"""
WITH typed AS (
    SELECT {_text(roles[s.CUSTOMER_ID])} AS customer_key,
           CAST({_q(roles[s.ORDER_DATE])} AS DATE) AS purchase_day,
           CAST({_q(roles[s.AMOUNT])} AS DOUBLE) AS spend_amount,
           {order} AS order_key,
           {raw}
    FROM {table}
),
reasoned AS (
    SELECT *, CASE
        WHEN customer_key IS NULL THEN '{NO_ID}'
        WHEN purchase_day IS NULL THEN '{NO_DATE}'
        WHEN spend_amount IS NULL THEN '{NO_AMOUNT}'
        WHEN order_key LIKE 'C%' OR order_key LIKE 'c%' THEN '{CANCELLED}'
        WHEN spend_amount < 0 THEN '{REFUND}'
        WHEN purchase_day > DATE '{limit}' THEN '{future}'
    END AS reason
    FROM typed
),
marked AS (
    SELECT customer_key, purchase_day, spend_amount, order_key, {duplicate} AS reason
    FROM reasoned
)"""


def _roles(source: Source, table: str) -> tuple[dict[str, str], list[str]]:
    sample = source.query(f"SELECT * FROM {table} LIMIT 1000")
    if sample.empty:
        raise s.DataError(f"The table {table} is empty.")
    # other=None is what pandas documents for object columns; pandas-stubs do not allow None there.
    text = sample.astype(object).where(sample.notna(), None).astype(str).where(sample.notna(), "")  # type: ignore[call-overload]
    mapping = guess_mapping(text.reset_index(drop=True), kind=s.TRANSACTIONS)
    missing = [r for r in (s.CUSTOMER_ID, s.ORDER_DATE, s.AMOUNT) if r not in mapping.roles]
    if missing:
        raise s.DataError(
            f"The table {table} has no column for: {', '.join(missing)} (columns: {', '.join(map(str, sample.columns))})."
        )
    return dict(mapping.roles), [str(c) for c in sample.columns]


@dataclass(frozen=True)
class TableCounts:
    """A purchase table's rows and customers counted where it lives, with the cleaning rules.

    Attributes
    ----------
    rows_read : int
    excluded : list of (reason, rows)
        In the order the cleaning rules apply.
    customers : int or None
        Distinct customers among the rows kept (None when not asked for).
    columns : dict
        Role -> the table's column.
    first_day, last_day : int
        Of all kept purchases (days since 1970-01-01).
    marked_sql : str
        The `WITH marked AS (...)` clause that gives every row its exclusion reason (NULL if kept).
    """

    rows_read: int
    excluded: list[tuple[str, int]]
    customers: int | None
    columns: dict[str, str]
    first_day: int
    last_day: int
    marked_sql: str

    @property
    def rows_used(self) -> int:
        return self.rows_read - sum(rows for _, rows in self.excluded)


def count_table(
    source: Source, table: str, *, today: pd.Timestamp | None = None, distinct_customers: bool = True
) -> TableCounts:
    """Rows read, excluded by reason and kept, and distinct customers, in one scan of `table`.

    What the app needs before it reads a table (to refuse one above its row limit, and to say what
    the database counted), without `summarise_table`'s per-customer aggregation: at 4.8M
    purchases (1M customers, a Parquet folder) 31 s for the summary, against one grouped count.

    Parameters
    ----------
    source : Source
        Where the table lives.
    table : str
        The purchase table (or view), optionally schema-qualified.
    today : pd.Timestamp, optional
        For the future-date rule (default: now).
    distinct_customers : bool, default True
        Also count the distinct customers kept (one more hash aggregation in the database).

    Returns
    -------
    TableCounts
        The counts.

    Raises
    ------
    DataError
        When the table cannot be read, or no row can be used.
    """
    name = _table(table)
    roles, all_columns = _roles(source, name)
    today = (today or pd.Timestamp.now()).normalize()
    marked = _marked_sql(name, roles, all_columns, today)
    customers = ", COUNT(DISTINCT customer_key) AS customers" if distinct_customers else ""
    counts = source.query(
        marked + " SELECT reason, COUNT(*) AS n_rows, MIN(purchase_day) AS first_day, MAX(purchase_day) AS last_day"
        f"{customers} FROM marked GROUP BY reason"
    )
    kept = counts[counts["reason"].isna()]
    if kept.empty:
        raise s.DataError(f"No row of {table} can be used (every row is excluded).")
    by_reason = dict(zip(counts["reason"], counts["n_rows"].astype(int), strict=True))
    rules = [NO_ID, NO_DATE, NO_AMOUNT, CANCELLED, REFUND, f"Date in the future (after {today:%Y-%m-%d})", DUPLICATE]
    return TableCounts(
        rows_read=int(counts["n_rows"].sum()),
        excluded=[(reason, by_reason[reason]) for reason in rules if by_reason.get(reason)],
        customers=int(kept["customers"].iloc[0]) if distinct_customers else None,
        columns=roles,
        first_day=to_day_number(kept["first_day"].iloc[0]),
        last_day=to_day_number(kept["last_day"].iloc[0]),
        marked_sql=marked,
    )


def summarise_table(
    source: Source,
    table: str,
    *,
    calibration_end: object | None = None,
    today: pd.Timestamp | None = None,
) -> TableSummary:
    """Clean, count and summarise a purchase table inside its database; per-customer rows come back.

    Parameters
    ----------
    source : Source
        From `connect` or `spark_source`.
    table : str
        The purchase table (or view), optionally schema-qualified.
    calibration_end : date-like, optional
        Last day of the calibration period; default: the last third of the history is held out.
    today : pd.Timestamp, optional
        For the future-date rule (default: now).

    Returns
    -------
    TableSummary
        Row counts, exclusions and the per-customer summaries.
    """
    counted = count_table(source, table, today=today, distinct_customers=False)
    marked = counted.marked_sql
    first_day, last_day = counted.first_day, counted.last_day
    if calibration_end is None:
        cal_day = default_calibration_end(first_day, last_day)
    else:
        cal_day = to_day_number(calibration_end)
    rows_read, excluded, roles = counted.rows_read, counted.excluded, counted.columns
    cal = f"DATE '{from_day_number(cal_day):%Y-%m-%d}'"
    customers = source.query(
        marked
        + f""",
days AS (
    SELECT customer_key, purchase_day, SUM(spend_amount) AS spend
    FROM marked WHERE reason IS NULL GROUP BY customer_key, purchase_day
),
numbered AS (
    SELECT customer_key, purchase_day, spend,
           MIN(purchase_day) OVER (PARTITION BY customer_key) AS first_purchase_day
    FROM days
)
SELECT customer_key AS customer_id,
       MIN(purchase_day) AS first_day,
       MAX(purchase_day) AS last_day,
       COUNT(*) AS n_days,
       SUM(spend) AS total,
       SUM(CASE WHEN purchase_day = first_purchase_day THEN spend ELSE 0 END) AS first_spend,
       MAX(CASE WHEN purchase_day <= {cal} THEN purchase_day END) AS last_day_cal,
       SUM(CASE WHEN purchase_day <= {cal} THEN 1 ELSE 0 END) AS n_days_cal,
       SUM(CASE WHEN purchase_day <= {cal} THEN spend ELSE 0 END) AS total_cal,
       SUM(CASE WHEN purchase_day > {cal} THEN 1 ELSE 0 END) AS n_days_holdout
FROM numbered GROUP BY customer_key ORDER BY customer_key"""
    )
    customers = customers.set_index("customer_id")
    for column in ("first_day", "last_day", "last_day_cal"):
        dates = pd.to_datetime(customers[column])
        customers[column] = ((dates - EPOCH).dt.days).fillna(-1).astype(np.int64)
    for column in ("n_days", "n_days_cal", "n_days_holdout"):
        customers[column] = customers[column].astype(np.int64)
    for column in ("total", "first_spend", "total_cal"):
        customers[column] = customers[column].astype(np.float64)
    customers.index = customers.index.astype(str)
    return TableSummary(
        rows_read=rows_read,
        excluded=excluded,
        columns=roles,
        customers=customers,
        first_day=first_day,
        last_day=last_day,
        calibration_day=cal_day,
    )


# --------------------------------------------------------------------------------------------
# Behaviour: KPI period counts, RFM values and churn features, computed where the purchases are
# --------------------------------------------------------------------------------------------

_PERIOD_SQL = {
    "month": "(EXTRACT(YEAR FROM {d}) - 1970) * 12 + EXTRACT(MONTH FROM {d}) - 1",
    "quarter": "(EXTRACT(YEAR FROM {d}) - 1970) * 4 + CAST(FLOOR((EXTRACT(MONTH FROM {d}) - 1) / 3) AS INTEGER)",
    "year": "EXTRACT(YEAR FROM {d}) - 1970",
}
PERIOD_COUNT_COLUMNS = ("orders", "revenue", "buyers", "new_customers", "retained_customers", "second_orders")


def _orders_sql(roles: dict[str, str]) -> str:
    """CTEs `orders` (one row per order: customer, first day, amount; rows sharing an order id are
    one order, else every row is) and `days` (one row per customer and purchase day), after `marked`."""
    if s.ORDER_ID in roles:
        orders = """SELECT customer_key, MIN(purchase_day) AS purchase_day, SUM(spend_amount) AS amount
    FROM marked WHERE reason IS NULL GROUP BY customer_key, order_key"""
    else:
        orders = "SELECT customer_key, purchase_day, spend_amount AS amount FROM marked WHERE reason IS NULL"
    return f""",
orders AS (
    {orders}
),
days AS (
    SELECT customer_key, DATE_DIFF('day', DATE '1970-01-01', purchase_day) AS day_number,
           SUM(spend_amount) AS spend, COUNT(*) AS n_rows
    FROM marked WHERE reason IS NULL GROUP BY customer_key, purchase_day
),
gaps AS (
    SELECT customer_key, day_number, spend, n_rows,
           day_number - LAG(day_number) OVER (PARTITION BY customer_key ORDER BY day_number) AS gap
    FROM days
)"""


@dataclass(frozen=True)
class PurchaseBehaviour:
    """Per-period counts and per-customer behaviour of a purchase table, computed where it lives.

    Attributes
    ----------
    period_counts : dict
        Period name ('month', ...) -> DataFrame indexed by period ordinal (periods with an order)
        with PERIOD_COUNT_COLUMNS: orders and their revenue (an order counts in the period of its
        first day), buyers, customers whose first order falls in it (new_customers), buyers who
        also bought in the period before (retained_customers), customers whose second order
        falls in it (second_orders).
    customers : pd.DataFrame
        One row per customer (index customer_id, sorted): first_day, last_day, last_order_day
        (day numbers), orders, revenue (currency), median_gap (days between purchase days; NaN
        with one purchase day), and the churn features at the cutoff (`transaction_features`
        columns prefixed `cut_`, NaN for customers first seen after it) and at the end of the
        data (prefixed `now_`), churned (no purchase in the window from the cutoff).
    horizon_days, cutoff_day, last_day : int
        The churn window (days), its first day and the last purchase day (day numbers).
    cohort_cells : dict
        Period name -> DataFrame (cohort, k, customers, revenue): customers whose first order
        falls in period `cohort` who ordered in period cohort + k, and their order revenue
        (`analytics.business.cohorts.cohort_cells`).
    """

    period_counts: dict[str, pd.DataFrame]
    customers: pd.DataFrame
    horizon_days: int
    cutoff_day: int
    last_day: int
    cohort_cells: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def observation_end(self) -> pd.Timestamp:
        """The last purchase day."""
        return from_day_number(self.last_day)

    def rfm_values(self) -> pd.DataFrame:
        """RFM values as of the last purchase day (`analytics.business.segments.rfm_table`'s inputs).

        Returns
        -------
        pd.DataFrame
            days_since_last_purchase (days), orders (count), revenue (currency) per customer.
        """
        c = self.customers
        return pd.DataFrame(
            {
                "days_since_last_purchase": self.last_day - c["last_order_day"].to_numpy(np.int64),
                "orders": c["orders"].to_numpy(np.int64),
                "revenue": c["revenue"].to_numpy(np.float64),
            },
            index=pd.Index(c.index, name=s.CUSTOMER_ID),
        )

    def features(self, when: str) -> pd.DataFrame:
        """The churn features at the cutoff ('cut') or after the last day ('now'), as `transaction_features`.

        Parameters
        ----------
        when : {'cut', 'now'}
            Which date.

        Returns
        -------
        pd.DataFrame
            One row per customer with a purchase before that date.
        """
        prefix = f"{when}_"
        columns = [c for c in self.customers.columns if c.startswith(prefix)]
        frame = self.customers.loc[self.customers[f"{prefix}n_orders"] > 0, columns]
        return frame.rename(columns=lambda c: c[len(prefix) :]).astype(float)


def _feature_columns(prefix: str, as_of: int, window: int) -> str:
    """SQL aggregates for `transaction_features` at day number `as_of` (on the `gaps` CTE)."""
    before = f"day_number < {as_of}"
    return f"""
       SUM(CASE WHEN {before} THEN n_rows ELSE 0 END) AS {prefix}n_orders,
       SUM(CASE WHEN {before} THEN spend ELSE 0 END) AS {prefix}total_spend,
       MAX(CASE WHEN {before} THEN day_number END) AS {prefix}last_day,
       AVG(CASE WHEN {before} THEN gap END) AS {prefix}gap_mean_days,
       STDDEV_SAMP(CASE WHEN {before} THEN gap END) AS {prefix}gap_std_days,
       SUM(CASE WHEN {before} AND day_number >= {as_of - window} THEN spend ELSE 0 END) AS {prefix}recent,
       SUM(CASE WHEN day_number < {as_of - window} AND day_number >= {as_of - 2 * window} THEN spend ELSE 0 END)
           AS {prefix}earlier"""


def _finish_features(frame: pd.DataFrame, prefix: str, as_of: int) -> None:
    """Turn the SQL aggregates of `_feature_columns` into the `transaction_features` columns, in place."""
    n = frame.pop(f"{prefix}n_orders").astype(float)
    last = frame.pop(f"{prefix}last_day").astype(float)
    recent = frame.pop(f"{prefix}recent").astype(float)
    earlier = frame.pop(f"{prefix}earlier").astype(float)
    total = frame.pop(f"{prefix}total_spend").astype(float)
    gap_mean = frame.pop(f"{prefix}gap_mean_days").astype(float)
    gap_std = frame.pop(f"{prefix}gap_std_days").astype(float)
    both = recent + earlier
    with np.errstate(invalid="ignore", divide="ignore"):
        frame[f"{prefix}days_since_last_purchase"] = as_of - last
        frame[f"{prefix}n_orders"] = n
        frame[f"{prefix}total_spend"] = total
        frame[f"{prefix}avg_order_value"] = total / n.where(n > 0)
        frame[f"{prefix}tenure_days"] = (as_of - frame["first_day"].astype(float)).where(n > 0)
        frame[f"{prefix}gap_mean_days"] = gap_mean
        frame[f"{prefix}gap_std_days"] = gap_std
        frame[f"{prefix}spend_trend"] = np.where(both > 0, (recent - earlier) / both.where(both > 0, 1.0), 0.0)


def summarise_behaviour(
    source: Source,
    table: str,
    *,
    periods: tuple[str, ...] = ("month",),
    horizon_days: int | None = None,
    today: pd.Timestamp | None = None,
) -> PurchaseBehaviour:
    """KPI period counts, RFM values and churn features of a purchase table, inside its database.

    Same cleaning as `summarise_table`; the definitions are those of the embedded path
    (`analytics.business.kpis`, `segments.rfm_table`, `churn_inputs.derive_churn_label` with its
    default cutoff: the latest whose whole window is observed). Days are whole calendar days: a
    database column typed DATE carries no time of day. Three statements come back: one row per
    period and counter, one row per customer with their median gap, and one row per customer
    with their behaviour.

    Parameters
    ----------
    source : Source
        From `connect` or `spark_source`.
    table : str
        The purchase table (or view).
    periods : tuple of str, default ('month',)
        The calendar periods to count ('month', 'quarter', 'year').
    horizon_days : int, optional
        The churn window; default twice the median of the customers' median gaps (90..365 days).
    today : pd.Timestamp, optional
        For the future-date rule (default: now).

    Returns
    -------
    PurchaseBehaviour
        The counts and per-customer rows.
    """
    from analytics.business.churn_inputs import horizon_from_median_gaps

    name = _table(table)
    roles, all_columns = _roles(source, name)
    today = (today or pd.Timestamp.now()).normalize()
    base = _marked_sql(name, roles, all_columns, today) + _orders_sql(roles)
    counts: dict[str, pd.DataFrame] = {}
    cells: dict[str, pd.DataFrame] = {}
    for period in periods:
        expression = _PERIOD_SQL[period].format(d="purchase_day")
        frame = source.query(
            base
            + f""",
order_periods AS (
    SELECT customer_key, purchase_day, amount, {expression} AS p FROM orders
),
pairs AS (SELECT customer_key, p FROM order_periods GROUP BY customer_key, p),
firsts AS (SELECT customer_key, MIN(p) AS p FROM pairs GROUP BY customer_key),
ranked AS (
    SELECT p, ROW_NUMBER() OVER (PARTITION BY customer_key ORDER BY purchase_day) AS k FROM order_periods
),
per_period AS (SELECT p, COUNT(*) AS orders, SUM(amount) AS revenue FROM order_periods GROUP BY p),
buyers AS (SELECT p, COUNT(*) AS buyers FROM pairs GROUP BY p),
new_customers AS (SELECT p, COUNT(*) AS new_customers FROM firsts GROUP BY p),
retained AS (
    SELECT a.p, COUNT(*) AS retained_customers FROM pairs a JOIN pairs b
    ON a.customer_key = b.customer_key AND b.p = a.p - 1 GROUP BY a.p
),
second_orders AS (SELECT p, COUNT(*) AS second_orders FROM ranked WHERE k = 2 GROUP BY p)
SELECT per_period.p AS p, orders, revenue, buyers,
       COALESCE(new_customers, 0) AS new_customers,
       COALESCE(retained_customers, 0) AS retained_customers,
       COALESCE(second_orders, 0) AS second_orders
FROM per_period
JOIN buyers ON buyers.p = per_period.p
LEFT JOIN new_customers ON new_customers.p = per_period.p
LEFT JOIN retained ON retained.p = per_period.p
LEFT JOIN second_orders ON second_orders.p = per_period.p
ORDER BY p"""
        )
        frame.index = pd.Index(frame.pop("p").astype(np.int64), name="period")
        frame["revenue"] = frame["revenue"].astype(float)
        for column in PERIOD_COUNT_COLUMNS:
            if column != "revenue":
                frame[column] = frame[column].astype(np.int64)
        counts[period] = frame[list(PERIOD_COUNT_COLUMNS)]
        cells[period] = _cohort_cells(source, base, expression)
    medians = source.query(
        base
        + """
SELECT customer_key AS customer_id, MIN(day_number) AS first_day, MAX(day_number) AS last_day,
       MEDIAN(gap) AS median_gap
FROM gaps GROUP BY customer_key"""
    )
    last_day = int(medians["last_day"].max())
    median_gaps = medians["median_gap"].dropna().to_numpy(float)
    horizon = int(horizon_days) if horizon_days is not None else horizon_from_median_gaps(median_gaps)
    cut, now = last_day + 1 - horizon, last_day + 1
    behaviour = source.query(
        base
        + f""",
per_customer_orders AS (
    SELECT customer_key, COUNT(*) AS orders, SUM(amount) AS revenue,
           DATE_DIFF('day', DATE '1970-01-01', MAX(purchase_day)) AS last_order_day
    FROM orders GROUP BY customer_key
),
per_customer_days AS (
    SELECT customer_key, MIN(day_number) AS first_day, MAX(day_number) AS last_day,
           MAX(CASE WHEN day_number >= {cut} AND day_number < {cut + horizon} THEN 1 ELSE 0 END) AS bought_in_window,
           {_feature_columns("cut_", cut, horizon)},
           {_feature_columns("now_", now, horizon)}
    FROM gaps GROUP BY customer_key
)
SELECT d.customer_key AS customer_id, o.orders, o.revenue, o.last_order_day, d.*
FROM per_customer_days d JOIN per_customer_orders o ON o.customer_key = d.customer_key
ORDER BY d.customer_key"""
    )
    behaviour = behaviour.drop(columns="customer_key").set_index("customer_id")
    behaviour.index = behaviour.index.astype(str)
    behaviour = behaviour.sort_index()
    for column in ("first_day", "last_day", "last_order_day", "orders"):
        behaviour[column] = behaviour[column].astype(np.int64)
    behaviour["revenue"] = behaviour["revenue"].astype(float)
    behaviour["churned"] = behaviour.pop("bought_in_window").astype(np.int64) == 0
    behaviour["median_gap"] = medians.set_index(medians["customer_id"].astype(str))["median_gap"].astype(float)
    for prefix, as_of in (("cut_", cut), ("now_", now)):
        _finish_features(behaviour, prefix, as_of)
    return PurchaseBehaviour(counts, behaviour, horizon, cut, last_day, cells)


#: What-if period code -> calendar period of `_PERIOD_SQL` (the same ordinals as pandas' Period).
_WHATIF_PERIODS = {"M": "month", "Q": "quarter", "Y": "year"}


def summarise_periods(
    source: Source, table: str, summary: TableSummary, *, period: str = "M", today: pd.Timestamp | None = None
) -> PeriodActivity:
    """The what-if's view of a purchase table, computed inside its database (`PeriodActivity`).

    Same cleaning as `summarise_table`. Customer-periods are built in the database from the kept
    rows (a customer's spend in a calendar period); two statements come back: one row per period
    (buyers, those who bought in the period before too, new customers, spend) and one row with the
    sums of the within-customer spend trend (`analytics.business.whatif_inputs.GrowthSums`).

    Parameters
    ----------
    source : Source
        From `connect` or `spark_source`.
    table : str
        The purchase table (or view).
    summary : TableSummary
        `summarise_table`'s result for the same table (first and last purchase day).
    period : {'M', 'Q', 'Y'}
        The what-if period.
    today : pd.Timestamp, optional
        For the future-date rule (default: now; pass `summarise_table`'s).

    Returns
    -------
    PeriodActivity
        As `analytics.business.whatif_inputs.transaction_activity` gives on a file.

    Raises
    ------
    DataError
        For weekly periods (not counted in the database yet).
    """
    from analytics.business.whatif_inputs import GrowthSums, PeriodActivity, measured_periods

    if period not in _WHATIF_PERIODS:
        raise s.DataError("With --db the what-if counts months, quarters or years; weekly periods need the file.")
    name = _table(table)
    roles, all_columns = _roles(source, name)
    first_purchase, last_purchase = from_day_number(summary.first_day), from_day_number(summary.last_day)
    today = (today or pd.Timestamp.now()).normalize()
    expression = _PERIOD_SQL[_WHATIF_PERIODS[period]].format(d="purchase_day")
    base = (
        _marked_sql(name, roles, all_columns, today)
        + f""",
day_periods AS (SELECT customer_key, {expression} AS p, spend_amount FROM marked WHERE reason IS NULL),
pairs AS (SELECT customer_key, p, SUM(spend_amount) AS spend FROM day_periods GROUP BY customer_key, p),
firsts AS (SELECT customer_key, MIN(p) AS first_p FROM pairs GROUP BY customer_key)"""
    )
    counts = source.query(
        base
        + """,
flagged AS (
    SELECT a.p, a.spend, f.first_p, CASE WHEN b.customer_key IS NULL THEN 0 ELSE 1 END AS again
    FROM pairs a JOIN firsts f ON f.customer_key = a.customer_key
    LEFT JOIN pairs b ON b.customer_key = a.customer_key AND b.p = a.p - 1
)
SELECT p, COUNT(*) AS buyers, SUM(again) AS again, SUM(CASE WHEN p = first_p THEN 1 ELSE 0 END) AS new_buyers,
       SUM(spend) AS spend
FROM flagged GROUP BY p ORDER BY p"""
    )
    frame = pd.DataFrame(
        {
            "buyers": counts["buyers"].astype(np.int64).to_numpy(),
            "again": counts["again"].astype(np.int64).to_numpy(),
            "new": counts["new_buyers"].astype(np.int64).to_numpy(),
            "spend": counts["spend"].astype(float).to_numpy(),
        },
        index=pd.Index(counts["p"].astype(np.int64).to_numpy(), name="period"),
    )
    first, last = measured_periods(first_purchase, last_purchase, last_purchase, period)
    growth = None
    if last.ordinal - first.ordinal >= 1:
        sums = source.query(
            base
            + f""",
obs AS (
    SELECT a.customer_key, CAST(a.p - f.first_p AS DOUBLE) AS t, a.spend
    FROM pairs a JOIN firsts f ON f.customer_key = a.customer_key
    WHERE a.p >= {first.ordinal} AND a.p <= {last.ordinal} AND f.first_p > {int(frame.index.min())}
),
per_customer AS (
    SELECT customer_key, COUNT(*) AS n, AVG(t) AS mean_t, AVG(spend) AS mean_spend FROM obs GROUP BY customer_key
),
centred AS (
    SELECT o.t - c.mean_t AS dt, o.spend - c.mean_spend AS ds
    FROM obs o JOIN per_customer c ON c.customer_key = o.customer_key WHERE c.n >= 2
)
SELECT r.repeat_customers, c.repeat_rows, c.sxx, c.sxy, c.syy, z.first_spend
FROM (SELECT COUNT(*) AS repeat_customers FROM per_customer WHERE n >= 2) r
CROSS JOIN (SELECT COUNT(*) AS repeat_rows, SUM(dt * dt) AS sxx, SUM(dt * ds) AS sxy, SUM(ds * ds) AS syy
            FROM centred) c
CROSS JOIN (SELECT AVG(spend) AS first_spend FROM obs WHERE t = 0) z"""
        ).iloc[0]

        def number(key: str, empty: float = 0.0) -> float:
            value = sums[key]
            return empty if value is None or pd.isna(value) else float(value)

        growth = GrowthSums(
            repeat_customers=int(number("repeat_customers")),
            repeat_rows=int(number("repeat_rows")),
            sxx=number("sxx"),
            sxy=number("sxy"),
            syy=number("syy"),
            first_spend=number("first_spend", math.nan),
        )
    return PeriodActivity(frame, first_purchase, last_purchase, last_purchase, growth)


def _cohort_cells(source: Source, base: str, expression: str) -> pd.DataFrame:
    """Customers and order revenue per (acquisition cohort, periods since) from the database."""
    frame = source.query(
        base
        + f""",
order_periods AS (SELECT customer_key, amount, {expression} AS p FROM orders),
firsts AS (SELECT customer_key, MIN(p) AS cohort FROM order_periods GROUP BY customer_key),
per_customer AS (
    SELECT f.cohort, o.p - f.cohort AS k, o.customer_key, SUM(o.amount) AS amount
    FROM order_periods o JOIN firsts f ON f.customer_key = o.customer_key
    GROUP BY f.cohort, o.p, o.customer_key
)
SELECT cohort, k, COUNT(*) AS customers, SUM(amount) AS revenue
FROM per_customer GROUP BY cohort, k ORDER BY cohort, k"""
    )
    return pd.DataFrame(
        {
            "cohort": frame["cohort"].astype(np.int64),
            "k": frame["k"].astype(np.int64),
            "customers": frame["customers"].astype(np.int64),
            "revenue": frame["revenue"].astype(float),
        }
    )


def triples(summary: pd.DataFrame) -> pd.DataFrame:
    """Distinct (frequency, recency, T) with counts: what a purchase model is fitted on.

    Parameters
    ----------
    summary : pd.DataFrame
        A per-customer summary.

    Returns
    -------
    pd.DataFrame
        frequency, recency, T, count.
    """
    grouped = summary.groupby(["frequency", "recency", "T"], sort=True).size()
    return grouped.rename("count").reset_index()
