"""Parquet files as pandas writes them, read as pandas would (review findings 6, 10 and 11).

- An integer id column with a missing cell stays exact: Arrow's default conversion gives float64,
  which rounds 64-bit ids above 2**53 and merged 500 customers into 3.
- The row numbers pandas stores beside a filtered frame (`__index_level_0__`) are not a column of the
  user's: kept, they made every repeated row unique and its duplicates went uncounted.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.data.ingest import load_files
from analytics.data.io import frame_from_arrow

BIG = 1_234_567_890_123_456_789  # above 2**53: a float64 cannot hold its neighbours apart


def purchases(n_customers: int = 50, per_customer: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = n_customers * per_customer
    return pd.DataFrame(
        {
            "customer_id": pd.array(BIG + np.repeat(np.arange(n_customers), per_customer), dtype="Int64"),
            "order_id": np.arange(rows) + 1,
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, rows), unit="D"),
            "amount": np.round(rng.uniform(5, 80, rows), 2),
        }
    )


def parquet_bytes(frame: pd.DataFrame, **kwargs) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, **kwargs)
    return buffer.getvalue()


def test_an_integer_column_with_a_missing_cell_keeps_every_id_exact():
    column = pa.chunked_array([pa.array([BIG, BIG + 1, None, BIG + 6], type=pa.int64())])
    frame = frame_from_arrow(pa.table({"customer_id": column, "n": pa.array([1, 2, 3, 4], type=pa.int32())}))
    assert str(frame["customer_id"].dtype) == "Int64"
    assert frame["customer_id"].tolist() == [BIG, BIG + 1, pd.NA, BIG + 6]
    assert str(frame["n"].dtype) == "int32"  # no null: the plain numpy column, as before


def test_a_pandas_parquet_file_with_a_missing_big_id_counts_every_customer():
    frame = purchases()
    frame.loc[5, "customer_id"] = pd.NA
    data = load_files([("shop.parquet", parquet_bytes(frame, index=False))])
    ids = data.transactions["customer_id"].astype(str)
    assert ids.nunique() == 50  # the row without an id is excluded, its customer still has three
    assert str(BIG + 49) in set(ids)


def test_stored_row_numbers_are_not_a_column_and_repeated_rows_are_duplicates():
    frame = purchases()
    repeated = pd.concat([frame, frame.iloc[:30]], ignore_index=True)  # 30 rows sent twice, numbered on
    kept = repeated.drop(index=[100, 101])  # two rows taken out: pandas stores the index in the file
    from_parquet = load_files([("shop.parquet", parquet_bytes(kept))])
    from_csv = load_files([("shop.csv", kept.to_csv(index=False).encode())])
    assert "__index_level_0__" not in from_parquet.transactions.columns
    assert len(from_parquet.transactions) == len(from_csv.transactions) == len(frame) - 2
    assert from_parquet.transactions["amount"].sum() == from_csv.transactions["amount"].sum()
