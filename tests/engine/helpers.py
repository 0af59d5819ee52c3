"""Shared by the engine tests: the purchase files and how to load them into a DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.data.datasets import load_demo

TODAY = pd.Timestamp("2026-11-01")
COLUMNS = {"order_id": "VARCHAR", "customer_id": "VARCHAR", "order_date": "DATE", "amount": "DOUBLE"}


def messy_log(path: Path) -> Path:
    """5,010 rows with every exclusion the typed path can see: blank ids and dates, missing and
    negative amounts, cancellations (order ids starting with C) and 10 exact repeats."""
    rng = np.random.default_rng(0)
    n = 5000
    frame = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "customer_id": np.char.add("K", rng.integers(0, 900, n).astype(str)).astype(object),
            "order_date": (pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 500, n), "D")).strftime(
                "%Y-%m-%d"
            ),
            "amount": np.round(rng.gamma(2.0, 20.0, n), 2).astype(object),
        }
    )
    frame.loc[:9, "customer_id"] = ""
    frame.loc[10:19, "order_date"] = ""
    frame.loc[20:24, "amount"] = None
    frame.loc[25:34, "amount"] = -5.0
    frame.loc[40:44, "order_id"] = "C9"
    frame = pd.concat([frame, frame.iloc[100:110]])
    frame.to_csv(path, index=False)
    return path


def cdnow_log(path: Path) -> Path:
    """The CDNOW 1/10 sample (2,357 customers) as a plain purchase file without order ids."""
    tx = load_demo("cdnow_sample").transactions
    frame = pd.DataFrame(
        {
            "order_id": None,
            "customer_id": tx["customer_id"],
            "order_date": tx["order_date"].dt.strftime("%Y-%m-%d"),
            "amount": tx["amount"],
        }
    )
    frame.drop(columns="order_id").to_csv(path, index=False)
    return path


def table_columns(path: Path) -> dict[str, str]:
    header = path.read_text().splitlines()[0].split(",")
    return {name: COLUMNS[name] for name in header}


def duckdb_file(path: Path) -> str:
    database = path.with_suffix(".duckdb")
    if not database.exists():
        with duckdb.connect(str(database)) as con:
            con.execute(
                f"CREATE TABLE purchases AS SELECT * FROM read_csv(?, header = true, columns = {table_columns(path)})",
                [str(path)],
            )
    return f"duckdb:///{database}"


def postgres_table(url: str, path: Path, prefix: str) -> str:
    """Load the purchase file into a fresh PostgreSQL table named after its folder; returns the name."""
    import psycopg

    table = f"{prefix}_{path.parent.name.rstrip('0123456789')}"
    columns = ", ".join(
        f"{name} {'TEXT' if kind == 'VARCHAR' else 'DOUBLE PRECISION' if kind == 'DOUBLE' else kind}"
        for name, kind in table_columns(path).items()
    )
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(f"CREATE TABLE {table} ({columns})")
        with con.cursor().copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(path.read_bytes())
    return table


def spark_view(spark, path: Path, prefix: str) -> str:
    """Register the purchase file as a Spark temporary view named after its folder; returns the name."""
    schema = ", ".join(
        f"{name} {'STRING' if kind == 'VARCHAR' else kind}" for name, kind in table_columns(path).items()
    )
    view = f"{prefix}_{path.parent.name.rstrip('0123456789')}"
    spark.read.csv(str(path), header=True, schema=schema).createOrReplaceTempView(view)
    return view
