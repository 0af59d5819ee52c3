"""The customer-day table held narrow: int32 columns, shared arrays, read-only; consumers combine in int64.

The table stays in memory for a whole session (1.43M rows at 300,000 customers), so its integer
columns are int32 while they fit. Every consumer that multiplies or accumulates them must do so in
int64: the overflow test below runs them on customer codes past 150,000 and a 55-year span of days
(customer x span and day x nanoseconds both pass 2**31) and compares every result, values and dtypes,
with the same consumers fed the table widened to int64 (as the table was built before).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest

import analytics.engine.customer_days as engine
from analytics.business.churn_inputs import (
    _median_gap_per_customer,
    derive_churn_label,
    suggest_horizon_days,
    transaction_features,
)
from analytics.business.cohorts import _purchase_activity
from analytics.business.kind import regular_payer_share
from analytics.business.kpis import _purchase_periods
from analytics.business.lifecycle import _purchase_history
from analytics.business.segment_value import _first_purchases
from analytics.business.segments import rfm_table
from analytics.business.whatif_inputs import _customer_periods
from analytics.data.schema import AMOUNT, CUSTOMER_ID, ORDER_DATE, ORDER_ID
from analytics.engine.customer_days import CustomerDays, build_customer_days, customer_days, index_dtype
from analytics.models.btyd import calibration_holdout_split, summarize_customers
from analytics.models.survival import durations_from_transactions

INTEGER_COLUMNS = ("customer", "day", "orders", "first_row", "rows")
ARRAYS = (*INTEGER_COLUMNS, "spend", "order_spend")


def _log(order_ids: bool = True) -> pd.DataFrame:
    """A small purchase log in date order, with order ids of one row each (as most exports)."""
    frame = pd.DataFrame(
        {
            CUSTOMER_ID: ["a", "b", "a", "c", "b", "a", "c"],
            ORDER_DATE: pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-01-03", "2024-01-05", "2024-01-05", "2024-02-01", "2024-02-02"]
            ),
            AMOUNT: [10.0, 20.0, 5.0, 7.5, 1.0, 3.0, 4.0],
        }
    )
    if order_ids:
        frame[ORDER_ID] = pd.array([str(n) for n in range(1, len(frame) + 1)], dtype="string[pyarrow]")
    return frame


def test_integer_columns_are_int32_and_equal_columns_are_one_array() -> None:
    table = build_customer_days(_log())
    assert {name: getattr(table, name).dtype for name in ARRAYS} == {
        **dict.fromkeys(INTEGER_COLUMNS, np.dtype(np.int32)),
        "spend": np.dtype(np.float64),
        "order_spend": np.dtype(np.float64),
    }
    assert table.orders is table.rows  # one row per order: one array for both
    assert table.order_spend is table.spend
    assert table.customer.tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert table.day.tolist() == [19723, 19725, 19754, 19723, 19727, 19727, 19755]
    assert table.first_row.tolist() == [0, 2, 5, 1, 4, 3, 6]
    assert table.id_order.dtype == np.int32


def test_multi_line_orders_keep_their_own_narrow_counts() -> None:
    # order 7 spans two days (its lines dated 1 and 2 Feb): orders and order_spend differ from rows and spend
    frame = _log()
    frame[ORDER_ID] = pd.array(["1", "2", "3", "4", "5", "7", "7"], dtype="string[pyarrow]")
    frame[CUSTOMER_ID] = ["a", "b", "a", "c", "b", "a", "a"]
    table = build_customer_days(frame)
    assert table.orders is not table.rows and table.order_spend is not table.spend
    assert table.orders.dtype == np.int32 and table.rows.dtype == np.int32
    assert table.customer.tolist() == [0, 0, 0, 0, 1, 1, 2]
    assert table.orders.tolist() == [1, 1, 1, 0, 1, 1, 1]  # a's 2 Feb line belongs to the order of 1 Feb
    assert table.rows.tolist() == [1, 1, 1, 1, 1, 1, 1]
    assert table.order_spend.tolist() == [10.0, 5.0, 7.0, 0.0, 20.0, 1.0, 7.5]


def test_every_array_is_read_only() -> None:
    frame = _log()
    frame[ORDER_DATE] = frame[ORDER_DATE] + pd.to_timedelta([0, 1, 2, 3, 4, 5, 6], unit="h")  # times of day
    table = build_customer_days(frame)
    assert table.first_time is not None and table.last_time is not None
    for name in (*ARRAYS, "first_time", "last_time"):
        array = getattr(table, name)
        assert not array.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1
        with pytest.raises(ValueError, match="read-only"):
            array[:1] += 1  # a view of it is read-only too
    with pytest.raises(ValueError, match="read-only"):
        table.id_order[0] = 1
    assert table.customer.tolist() == [0, 0, 0, 1, 1, 2, 2]  # nothing changed


@pytest.mark.parametrize("in_date_order", [True, False])
def test_until_keeps_the_narrow_read_only_columns(in_date_order: bool) -> None:
    frame = _log()
    if not in_date_order:  # the general path of `until` (codes re-sorted), not the prefix one
        frame = frame.iloc[[6, 5, 4, 3, 2, 1, 0]].reset_index(drop=True)
    table = build_customer_days(frame)
    assert table._in_first_row_order is in_date_order
    cut = table.until(19727)  # up to 5 Jan 2024
    assert len(cut) == 5 if in_date_order else len(cut) == 5
    for name in ARRAYS:
        array = getattr(cut, name)
        assert not array.flags.writeable, name
        assert array.dtype == getattr(table, name).dtype, name
    assert cut.orders is cut.rows and cut.order_spend is cut.spend


def test_empty_and_wide_bounds() -> None:
    empty = build_customer_days(_log().iloc[:0])
    assert len(empty) == 0
    assert all(getattr(empty, name).dtype == np.int32 for name in INTEGER_COLUMNS)
    assert index_dtype(2**31 - 1) is np.int32
    assert index_dtype(2**31) is np.int64  # more rows than int32 holds: int64, as before


def _widened(table: CustomerDays) -> CustomerDays:
    """The table as it was built before it was narrowed: int64 columns (shared arrays kept shared)."""
    wide: dict[int, np.ndarray] = {}
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(table):
        value = getattr(table, field.name)
        if isinstance(value, np.ndarray):
            if id(value) not in wide:
                wide[id(value)] = value.astype(np.int64) if value.dtype.kind == "i" else value.copy()
            changes[field.name] = wide[id(value)]
    return dataclasses.replace(table, **changes)


def _overflowing_log() -> pd.DataFrame:
    """150,000 one-purchase customers, then three more (codes past 150,000) buying from 1970 to 2024.

    Customer code x day span (19,967 days; z's gap too) and day x nanoseconds per day pass 2**31; some
    orders have several lines and one spans two days.
    """
    fillers = 150_000
    late = pd.DataFrame(
        {
            CUSTOMER_ID: ["x", "x", "x", "y", "y", "z", "x", "z"],
            ORDER_DATE: pd.to_datetime(
                [
                    "1970-01-05 10:00",
                    "1995-06-01 00:00",
                    "1995-06-02 08:30",
                    "2001-03-04 00:00",
                    "2024-09-01 23:00",
                    "2024-09-01 00:00",
                    "2024-08-30 00:00",
                    "1970-01-02 00:00",
                ]
            ),
            AMOUNT: [12.5, 3.0, 4.0, 8.0, 2.0, 6.0, 1.5, 9.0],
            ORDER_ID: ["o1", "o2", "o2", "o3", "o4", "o5", "o6", "o7"],  # o2 spans two days
        }
    )
    filler = pd.DataFrame(
        {
            CUSTOMER_ID: [f"f{n:06d}" for n in range(fillers)],
            ORDER_DATE: pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(fillers) % 1500, unit="D"),
            AMOUNT: np.arange(fillers) % 97 + 0.25,
            ORDER_ID: [f"f{n}" for n in range(fillers)],
        }
    )
    frame = pd.concat([filler, late], ignore_index=True)
    frame[ORDER_ID] = frame[ORDER_ID].astype("string[pyarrow]")
    return frame


def _results(frame: pd.DataFrame) -> dict[str, Any]:
    """Every consumer of the table (each builds or reuses the frame's cached table)."""
    history = calibration_holdout_split(frame, calibration_end="2024-06-30")
    label = derive_churn_label(frame, horizon_days=90)
    return {
        "horizon": suggest_horizon_days(frame),
        "median_gaps": _median_gap_per_customer(customer_days(frame)),
        "features": transaction_features(frame, pd.Timestamp("2024-09-02")),
        "label_features": label.features,
        "label": label.churned,
        "label_new": label.n_new_after_cutoff,
        "periods": _purchase_periods(frame, "month"),
        "history": _purchase_history(frame, pd.Timestamp("2024-09-01")),
        "durations": durations_from_transactions(frame),
        "rfm": rfm_table(frame, as_of=pd.Timestamp("2024-09-02")),
        "customer_periods": _customer_periods(frame, "M"),
        "activity": _purchase_activity(frame, "quarter", 10**6),
        "first_purchases": _first_purchases(frame),
        "regular": regular_payer_share(frame),
        "summary": summarize_customers(frame, observation_end="2024-09-01"),
        "calibration": history.calibration,
    }


def _assert_same(got: Any, expected: Any, name: str) -> None:
    if isinstance(got, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)
    elif isinstance(got, pd.Series):
        pd.testing.assert_series_equal(got, expected, check_exact=True, obj=name)
    elif isinstance(got, tuple):
        assert len(got) == len(expected), name
        for i, (left, right) in enumerate(zip(got, expected, strict=True)):
            _assert_same(left, right, f"{name}[{i}]")
    elif isinstance(got, np.ndarray):
        assert got.dtype == expected.dtype, name
        np.testing.assert_array_equal(got, expected, err_msg=name)
    else:
        assert got == expected, name


def test_consumers_give_the_int64_results_past_the_int32_products(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _overflowing_log()
    narrow = build_customer_days(frame)
    assert narrow.customer.dtype == np.int32 and narrow.day.dtype == np.int32
    assert int(narrow.customer.max()) * (int(narrow.day.max()) - int(narrow.day.min())) > 2**31
    assert narrow.orders is not narrow.rows  # multi-line orders: `_orders_by_day` ran

    got = _results(frame)
    build = engine.build_customer_days
    monkeypatch.setattr(engine, "build_customer_days", lambda transactions: _widened(build(transactions)))
    expected = _results(frame.copy())  # another frame object: its own (wide) table, no cached results
    for name in got:
        _assert_same(got[name], expected[name], name)
    # the customers whose products overflow int32, checked by hand
    durations = got["durations"]
    assert isinstance(durations, pd.Series)
    month = 365.25 / 12
    assert durations["x"] == pytest.approx((pd.Timestamp("2024-08-30") - pd.Timestamp("1970-01-05 10:00")).days / month)
    assert durations["y"] == pytest.approx((pd.Timestamp("2024-09-01 23:00") - pd.Timestamp("2001-03-04")).days / month)
    history = got["history"]
    assert isinstance(history, pd.DataFrame)
    assert history.loc["x", "first"] == pd.Timestamp("1970-01-05")
    assert history.loc["x", "last"] == pd.Timestamp("2024-08-30")
    assert history.loc["x", "orders"] == 3 and history["days_since_last"].dtype == np.int64
    rfm = got["rfm"]
    assert isinstance(rfm, pd.DataFrame)
    assert rfm.loc["y", "days_since_last_purchase"] == 1 and rfm["days_since_last_purchase"].dtype == np.int64
    # median gaps: x 9,278 days, y 8,582, z 19,966 (z's code x 19,967 passes 2**31): clipped at a year
    assert got["horizon"] == 365
    assert got["median_gaps"].tolist() == [9_278.0, 8_582.0, 19_966.0]
    assert durations["z"] == pytest.approx(19_966 / month)
