"""The customer-day table (analytics.engine) against the pandas/numpy code it replaced.

The reference functions below are the previous implementations, kept here verbatim as the
specification: the engine must give the same per-customer summary, split and KPI counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.business.kpis import _purchase_periods
from analytics.data.datasets import load_demo
from analytics.data.periods import period_ordinals
from analytics.data.schema import AMOUNT, CUSTOMER_ID, ORDER_DATE, ORDER_ID, merge_order_lines
from analytics.engine.customer_days import build_customer_days, customer_days, encode, order_codes
from analytics.models.btyd import calibration_holdout_split, purchase_days, summarize_customers, to_day_number


def reference_purchase_days(transactions: pd.DataFrame, end=None):
    """The numpy implementation of btyd.purchase_days before the engine (codes, days, spend)."""
    day = transactions[ORDER_DATE].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    amount = transactions[AMOUNT].to_numpy(dtype=np.float64)
    ids = transactions[CUSTOMER_ID].to_numpy()
    if end is not None:
        keep = day <= to_day_number(end)
        day, amount, ids = day[keep], amount[keep], ids[keep]
    codes, uniques = pd.factorize(ids, sort=False)
    day0 = int(day.min())
    n_days = int(day.max()) - day0 + 1
    key = codes.astype(np.int64) * n_days + (day - day0)
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    spend = np.add.reduceat(amount[order], starts)
    key = key[starts]
    return pd.Index(uniques), key // n_days, key % n_days + day0, spend


def reference_purchase_periods(transactions: pd.DataFrame, period: str) -> pd.DataFrame:
    """Counts per period from purchases (index: period ordinal)."""
    orders = merge_order_lines(transactions)
    ords = period_ordinals(orders[ORDER_DATE], period)
    o = pd.DataFrame({"c": orders[CUSTOMER_ID].to_numpy(), "p": ords, "a": orders[AMOUNT].to_numpy()})
    full = np.arange(ords.min(), ords.max() + 1)
    revenue = o.groupby("p")["a"].sum().reindex(full, fill_value=0.0)
    n_orders = o.groupby("p").size().reindex(full, fill_value=0)
    active = o[["c", "p"]].drop_duplicates()
    buyers = active.groupby("p").size().reindex(full, fill_value=0)
    first = active.groupby("c")["p"].min()
    new = first.value_counts().reindex(full, fill_value=0).sort_index()
    # retained in p: bought in p and in p-1
    prev = active.assign(p=active["p"] + 1)
    retained = active.merge(prev, on=["c", "p"]).groupby("p").size().reindex(full, fill_value=0)
    start = buyers.shift(1, fill_value=0)
    # the period of each customer's second order (repeat buyers)
    o_sorted = o.sort_values(["c", "p"], kind="stable")
    second = o_sorted.groupby("c")["p"].nth(1)
    repeaters = second.value_counts().reindex(full, fill_value=0).sort_index().cumsum()
    out = pd.DataFrame(
        {
            "customers": new.cumsum(),
            "active_customers": buyers,
            "buyers": buyers,
            "new_customers": new,
            "start_customers": start,
            "end_customers": buyers,
            "retained_customers": retained,
            "lost_customers": start - retained,
            "orders": n_orders,
            "revenue": revenue,
            "repeat_customers": repeaters,
        },
        index=full,
    )
    return out


def random_log(n_rows: int, seed: int, with_orders: bool) -> pd.DataFrame:
    """Text ids, times of day, same-day repeats and (optionally) orders spanning two days."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("K", rng.integers(0, max(n_rows // 5, 1), n_rows).astype(str))
    stamps = pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 700 * 24, n_rows), unit="h")
    frame = pd.DataFrame({CUSTOMER_ID: ids, ORDER_DATE: stamps, AMOUNT: np.round(rng.gamma(2.0, 20.0, n_rows), 2)})
    if with_orders:
        # about two lines per order; an order's lines can fall on different days
        frame[ORDER_ID] = (np.arange(n_rows) // 2).astype(str)
        frame[CUSTOMER_ID] = frame.groupby(ORDER_ID)[CUSTOMER_ID].transform("first")
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def logs():
    yield "cdnow", load_demo("cdnow").transactions
    yield "subscription", load_demo("subscription").transactions
    yield "random", random_log(20_000, 1, with_orders=False)
    yield "random_orders", random_log(20_000, 2, with_orders=True)


@pytest.mark.parametrize("name,transactions", list(logs()), ids=lambda v: v if isinstance(v, str) else "")
def test_purchase_days_match_the_reference(name, transactions):
    last = transactions[ORDER_DATE].max()
    for end in (None, last - pd.Timedelta(days=200)):
        ids, customer, day, spend = reference_purchase_days(transactions, end)
        days = purchase_days(transactions, end=end)
        assert list(days.customer_ids) == list(ids)
        np.testing.assert_array_equal(days.customer, customer)
        np.testing.assert_array_equal(days.day, day)
        np.testing.assert_allclose(days.spend, spend, rtol=1e-12)


@pytest.mark.parametrize("name,transactions", list(logs()), ids=lambda v: v if isinstance(v, str) else "")
def test_kpi_period_counts_match_the_reference(name, transactions):
    for period in ("month", "quarter", "year"):
        expected = reference_purchase_periods(transactions, period)
        got = _purchase_periods(transactions, period)
        assert list(got.columns) == list(expected.columns)
        np.testing.assert_array_equal(got.index, expected.index)
        for column in expected.columns:
            np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(float), rtol=1e-12)


def four_rows(order_ids: list[str]) -> pd.DataFrame:
    """Customer a buys on Jan 31 and twice on Feb 1, b once on Feb 1, with these order ids."""
    return pd.DataFrame(
        {
            CUSTOMER_ID: ["a", "a", "a", "b"],
            ORDER_DATE: pd.to_datetime(["2024-01-31", "2024-02-01", "2024-02-01", "2024-02-01"]),
            AMOUNT: [10.0, 5.0, 7.0, 3.0],
            ORDER_ID: order_ids,
        }
    )


def test_orders_equal_to_the_rows_are_held_once():
    """Orders of several lines within one day (baskets): the table's order spend is its spend, and with
    one order a day its orders are its rows: each held once (8 bytes per customer-day), the numbers
    unchanged. An order spanning two days keeps its own arrays."""
    table = build_customer_days(four_rows(["o1", "o2", "o2", "o3"]))
    np.testing.assert_array_equal(table.orders, [1, 1, 1])
    np.testing.assert_array_equal(table.rows, [1, 2, 1])
    np.testing.assert_array_equal(table.order_spend, [10.0, 12.0, 3.0])
    assert table.order_spend is table.spend and table.orders is not table.rows  # 2 lines, 1 order on Feb 1
    spanning = build_customer_days(four_rows(["o1", "o1", "o2", "o3"]))
    assert spanning.order_spend is not spanning.spend
    np.testing.assert_array_equal(spanning.order_spend, [15.0, 7.0, 3.0])
    one_a_line = build_customer_days(four_rows(["o1", "o2", "o3", "o4"]))
    assert one_a_line.orders is one_a_line.rows and one_a_line.order_spend is one_a_line.spend


def test_orders_are_counted_on_their_first_day_and_spend_on_each_rows_day():
    frame = four_rows(["o1", "o1", "o2", "o3"])
    table = build_customer_days(frame)
    assert list(table.customer_ids) == ["a", "b"]
    np.testing.assert_array_equal(table.customer, [0, 0, 1])
    np.testing.assert_array_equal(table.spend, [10.0, 12.0, 3.0])  # each row on its own day
    np.testing.assert_array_equal(table.orders, [1, 1, 1])  # o1 on Jan 31, o2 on Feb 1
    np.testing.assert_array_equal(table.order_spend, [15.0, 7.0, 3.0])  # o1's 15 on its first day
    periods = _purchase_periods(frame, "month")
    assert periods["revenue"].tolist() == [15.0, 10.0]
    assert periods["orders"].tolist() == [1, 2]
    assert periods["retained_customers"].tolist() == [0, 1]
    assert periods["repeat_customers"].tolist() == [0, 1]


def test_summary_and_split_on_cdnow_are_unchanged():
    """CDNOW 1/10 sample (Fader, Hardie & Lee 2005): 2,357 customers, 946 repeat buyers and 2,457
    repeat purchase days in the 39 calibration weeks, 1,882 holdout repeat purchase days."""
    transactions = load_demo("cdnow_sample").transactions
    split = calibration_holdout_split(transactions, calibration_end="1997-09-30", holdout_end="1998-06-30")
    calibration = split.calibration
    assert len(calibration) == 2357
    assert int((calibration["frequency"] > 0).sum()) == 946
    assert int(calibration["frequency"].sum()) == 2457
    assert int(calibration["frequency_holdout"].sum()) == 1882
    summary = summarize_customers(transactions, time_unit="W")
    assert len(summary) == 2357
    assert summary["historic_value"].sum() == pytest.approx(transactions[AMOUNT].sum(), rel=1e-12)


def test_the_table_is_built_once_per_frame_and_rebuilt_when_a_column_changes():
    frame = random_log(500, 3, with_orders=False)
    first = customer_days(frame)
    assert customer_days(frame) is first
    frame[AMOUNT] = frame[AMOUNT] * 2
    second = customer_days(frame)
    assert second is not first
    assert second.spend.sum() == pytest.approx(2 * first.spend.sum())


def test_encode_keeps_first_appearance_order_like_factorize():
    values = pd.Series(["b", "a", "b", "c", "a"])
    codes, uniques = encode(values)
    expected_codes, expected_uniques = pd.factorize(values)
    np.testing.assert_array_equal(codes, expected_codes)
    assert list(uniques) == list(expected_uniques)
    codes, uniques = encode(pd.Series([30, 10, 30]))
    assert codes.tolist() == [0, 1, 0] and list(uniques) == [30, 10]


def test_orders_helper_still_agrees_with_the_table():
    transactions = load_demo("subscription").transactions
    table = customer_days(transactions)
    assert int(table.orders.sum()) == len(merge_order_lines(transactions))
    assert period_ordinals(transactions[ORDER_DATE], "month").min() == _purchase_periods(transactions, "month").index[0]


# The table as DuckDB built it before the numpy aggregation, kept as the specification.
DUCKDB_AGGREGATE = """
WITH orders AS (
    SELECT customer, min(day) AS day, coalesce(sum(amount), 0.0) AS amount
    FROM rows GROUP BY customer, order_code
),
by_order AS (
    SELECT customer, day, count(*) AS orders, sum(amount) AS order_spend
    FROM orders GROUP BY customer, day
),
by_row AS (
    SELECT customer, day, coalesce(sum(amount), 0.0) AS spend, min(row) AS first_row,
           count(*) AS n_rows, min(time_of_day) AS first_time, max(time_of_day) AS last_time
    FROM rows GROUP BY customer, day
)
SELECT r.customer, r.day, r.spend, coalesce(o.orders, 0) AS orders,
       coalesce(o.order_spend, 0.0) AS order_spend, r.first_row, r.n_rows, r.first_time, r.last_time
FROM by_row r LEFT JOIN by_order o USING (customer, day)
ORDER BY r.customer, r.day
"""


def duckdb_reference(transactions: pd.DataFrame) -> dict[str, np.ndarray]:
    """The customer-day table from DuckDB's SQL on the same codes (rows without a date left out)."""
    import duckdb
    import pyarrow as pa

    codes, _ = pd.factorize(transactions[CUSTOMER_ID].to_numpy(dtype=object), sort=False)
    stamps = transactions[ORDER_DATE].to_numpy(dtype="datetime64[ns]")
    day = stamps.astype("datetime64[D]").astype(np.int64)
    n = len(transactions)
    if ORDER_ID in transactions.columns and transactions[ORDER_ID].notna().all():
        order_code = pd.factorize(transactions[ORDER_ID].to_numpy(dtype=object))[0]
    else:
        order_code = np.arange(n)
    rows = pa.table(
        {
            "customer": codes,
            "day": day,
            "amount": pa.array(transactions[AMOUNT].to_numpy(dtype=np.float64), from_pandas=True),
            "order_code": order_code,
            "row": np.arange(n),
            "time_of_day": np.where(np.isnat(stamps), 0, stamps.view(np.int64) - day * 86_400 * 10**9),
        }
    ).filter(pa.array(~np.isnat(stamps)))
    with duckdb.connect() as connection:
        connection.register("rows", rows)
        return connection.execute(DUCKDB_AGGREGATE).fetchnumpy()


def messy_log(seed: int) -> pd.DataFrame:
    """Unsorted rows, line items over several days, missing amounts and dates, times of day."""
    frame = random_log(6_000, seed, with_orders=True)
    rng = np.random.default_rng(seed)
    frame.loc[rng.random(len(frame)) < 0.02, AMOUNT] = np.nan
    frame.loc[rng.random(len(frame)) < 0.01, ORDER_DATE] = pd.NaT
    return frame


@pytest.mark.parametrize(
    "transactions",
    [
        messy_log(4),
        messy_log(5).drop(columns=ORDER_ID),
        random_log(5_000, 6, with_orders=False).sort_values(ORDER_DATE, kind="stable"),  # as cleaning sorts
        random_log(5_000, 7, with_orders=True).sort_values(ORDER_DATE, kind="stable"),
        load_demo("cdnow").transactions,
    ],
    ids=["messy", "messy_without_orders", "sorted", "sorted_orders", "cdnow"],
)
def test_numpy_table_equals_duckdbs_sql(transactions):
    expected = duckdb_reference(transactions)
    table = build_customer_days(transactions)
    for name, field in [
        ("customer", "customer"),
        ("day", "day"),
        ("orders", "orders"),
        ("first_row", "first_row"),
        ("n_rows", "rows"),
    ]:
        np.testing.assert_array_equal(getattr(table, field), expected[name], err_msg=name)
    np.testing.assert_allclose(table.spend, expected["spend"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(table.order_spend, expected["order_spend"], rtol=1e-12, atol=1e-9)
    if table.first_time is None:
        assert not expected["first_time"].any() and not expected["last_time"].any()
    else:
        np.testing.assert_array_equal(table.first_time, expected["first_time"])
        np.testing.assert_array_equal(table.last_time, expected["last_time"])


@pytest.mark.parametrize(
    "ids",
    [
        ["536365", "-17", "536365", "42", "-17"],  # integers: hashed as numbers
        ["00123", "123", "00123", "x9"],  # leading zeros and text: hashed as text, "00123" != "123"
        ["99999999999999999999", "1", "99999999999999999999"],  # past int64: text
        ["7", "+7", "7.0", "7"],  # written differently, so different orders
    ],
)
def test_order_codes_are_encode_codes_whether_ids_read_as_integers_or_not(ids):
    values = pd.Series(ids, dtype="string[pyarrow]")
    codes, count = order_codes(values)
    expected_codes, expected_uniques = pd.factorize(pd.Series(ids, dtype=object))
    np.testing.assert_array_equal(codes, expected_codes)
    assert count == len(expected_uniques)


def test_integer_order_ids_count_orders_as_text_order_ids_do():
    frame = random_log(5_000, 4, with_orders=True)
    as_text = frame.assign(**{ORDER_ID: frame[ORDER_ID].astype(object)})
    as_arrow = frame.assign(**{ORDER_ID: frame[ORDER_ID].astype("string[pyarrow]")})
    text_table, arrow_table = build_customer_days(as_text), build_customer_days(as_arrow)
    np.testing.assert_array_equal(arrow_table.orders, text_table.orders)
    np.testing.assert_allclose(arrow_table.order_spend, text_table.order_spend, rtol=1e-12)
    assert int(arrow_table.orders.sum()) == len(merge_order_lines(frame)) == 2_500


@pytest.mark.parametrize(
    "ids",
    [
        ["C10", "C9", "c1", "C1", "é", "e", "😀", "\uffff", "a\x00b", "a", ""],
        [30, 1, 20, 7],
        ["x", "\ud800", "a"],  # a lone surrogate: no UTF-8, sorted by numpy
    ],
)
def test_id_rank_is_the_rank_of_numpys_sort(ids):
    from analytics.data.codes import text_order

    values = np.array(ids, dtype=object if isinstance(ids[0], str) else None)
    np.testing.assert_array_equal(text_order(values), np.argsort(values, kind="stable"))


def _purchases_on_random_days(customers: np.ndarray, days: int, rng: np.random.Generator) -> pd.DataFrame:
    """One purchase of 1.0 per entry of `customers`, each on a random day of the `days` from 2024-01-01."""
    return pd.DataFrame(
        {
            CUSTOMER_ID: customers,
            ORDER_DATE: pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, days, len(customers)), unit="D"),
            AMOUNT: 1.0,
        }
    )


def test_by_id_sorts_any_set_of_customers_as_argsort_of_their_id_ranks():
    rng = np.random.default_rng(4)
    ids = [f"C{v}" for v in rng.permutation(5000)]  # text order unlike first appearance
    table = build_customer_days(_purchases_on_random_days(np.repeat(ids, 2), 300, rng))
    for present in (np.arange(len(ids)), np.sort(rng.choice(len(ids), 1200, replace=False)), np.array([], dtype=int)):
        np.testing.assert_array_equal(table.by_id(present), np.argsort(table.id_rank[present], kind="stable"))
    assert table.customer_ids[table.id_order].tolist() == sorted(ids)


def test_first_and_last_are_each_customers_first_and_last_kept_day_sorted_by_id():
    """The first and last purchase day per customer (lifecycle's history, survival's spans) equal a
    pandas group-by's min and max day over the rows kept, customers in the group-by's id order."""
    rng = np.random.default_rng(7)
    ids = [f"C{v}" for v in rng.permutation(3000)]  # text order unlike first appearance
    frame = _purchases_on_random_days(rng.choice(ids, 12_000), 400, rng).sort_values(ORDER_DATE, kind="stable")
    table = build_customer_days(frame)
    day = pd.Series(table.day)
    customer = pd.Series(table.customer_ids[table.customer])
    for keep in (None, table.day <= table.day.min() + 150, rng.random(len(table)) < 0.3, np.zeros(len(table), bool)):
        rows = np.ones(len(table), bool) if keep is None else keep
        expected = day[rows].groupby(customer[rows]).agg(["min", "max"])
        codes, first, last = table.first_and_last(keep)
        assert table.customer_ids[codes].tolist() == expected.index.tolist()
        np.testing.assert_array_equal(table.customer[first], codes)
        np.testing.assert_array_equal(table.customer[last], codes)
        np.testing.assert_array_equal(table.day[first], expected["min"].to_numpy())
        np.testing.assert_array_equal(table.day[last], expected["max"].to_numpy())


@pytest.mark.parametrize(
    "ids,shortcut",
    [
        (["5", "3", "9", "-4", "100"], True),  # distinct integers, a narrow range: every row an order
        (["5", "3000000000000", "-9", "77"], True),  # distinct, a wide range (sorted instead of a bitmap)
        (["5", "3", "5", "8"], False),  # a repeated integer: one order of two rows
        (["00123", "123", "7", "8"], False),  # read alike as integers, different as text: two orders
        (["7", "x", "9", "10"], False),  # not all integers
    ],
)
def test_order_ids_count_as_their_codes_do_when_every_row_might_be_an_order(ids, shortcut):
    from analytics.engine.customer_days import _distinct_integer_ids

    frame = pd.DataFrame(
        {
            CUSTOMER_ID: ["A", "A", "A", "B"][: len(ids)] + ["B"] * (len(ids) - 4),
            ORDER_DATE: pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-01-03", "2024-01-05", "2024-01-06"][: len(ids)]
            ),
            AMOUNT: np.arange(1.0, len(ids) + 1.0),
            ORDER_ID: pd.Series(ids, dtype="string[pyarrow]"),
        }
    )
    codes, count = order_codes(frame[ORDER_ID])
    assert _distinct_integer_ids(frame[ORDER_ID]) == shortcut
    assert not shortcut or count == len(ids)
    table = build_customer_days(frame)
    reference = build_customer_days(frame.assign(**{ORDER_ID: frame[ORDER_ID].astype(object)}))  # hashed as text
    np.testing.assert_array_equal(table.orders, reference.orders)
    np.testing.assert_array_equal(table.order_spend, reference.order_spend)
    assert int(table.orders.sum()) == count


@pytest.mark.parametrize("sorted_by_date", [True, False])
def test_until_renumbers_customers_as_if_the_rows_were_filtered_first(sorted_by_date):
    """The shortcut for a frame in date order (no sort) and the general path give the table built
    from the rows on or before the end day."""
    frame = random_log(20_000, 5, with_orders=True)
    if sorted_by_date:
        frame = frame.sort_values(ORDER_DATE, kind="stable").reset_index(drop=True)
    table = build_customer_days(frame)
    assert table._in_first_row_order == sorted_by_date
    end = frame[ORDER_DATE].max() - pd.Timedelta(days=250)
    got = table.until(to_day_number(end))
    expected = build_customer_days(frame[frame[ORDER_DATE].dt.normalize() <= end])
    assert list(got.customer_ids) == list(expected.customer_ids)
    for name in ("customer", "day", "orders", "rows"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
    np.testing.assert_allclose(got.spend, expected.spend, rtol=1e-12)
    # first rows count positions in the whole frame: the same rows, found by their dates
    np.testing.assert_array_equal(
        frame[ORDER_DATE].to_numpy()[got.first_row].astype("datetime64[D]").astype(np.int64), got.day
    )


@pytest.mark.parametrize("high", [5, 70_000, 3_000_000_000])
def test_stable_order_of_codes_is_numpys_stable_argsort(high):
    from analytics.engine.customer_days import _stable_order

    codes = np.random.default_rng(3).integers(0, high, 50_000)
    for typed in (codes.astype(np.int64), codes.astype(np.uint32) if high < 1 << 32 else codes):
        np.testing.assert_array_equal(_stable_order(typed), np.argsort(typed, kind="stable"))
    np.testing.assert_array_equal(_stable_order(np.array([], dtype=np.int32)), np.array([], dtype=np.intp))
