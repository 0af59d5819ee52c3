"""RFM, cohorts, what-if pairs and KPI tenure from the customer-day table against the pandas
group-bys on text ids they replaced (kept here verbatim as the specification)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.business.cohorts import _purchase_activity
from analytics.business.kpis import _mean_tenure_months
from analytics.business.segments import rfm_table
from analytics.business.whatif_inputs import _customer_periods
from analytics.data.datasets import load_demo
from analytics.data.periods import period_ordinals
from analytics.data.schema import AMOUNT, CUSTOMER_ID, ORDER_DATE, ORDER_ID, CustomerData, merge_order_lines


def order_log() -> pd.DataFrame:
    """Line items: orders of 1-3 lines, some spanning midnight, at random times of day."""
    rng = np.random.default_rng(3)
    n_orders = 3000
    lines = rng.integers(1, 4, n_orders)
    order = np.repeat(np.arange(n_orders), lines)
    start = pd.Timestamp("2022-03-01") + pd.to_timedelta(rng.integers(0, 600 * 24 * 60, n_orders), "min")
    stamps = start[order] + pd.to_timedelta(rng.integers(0, 300, len(order)), "min")
    customer = np.char.add("K", rng.integers(0, 500, n_orders).astype(str)).astype(object)[order]
    return pd.DataFrame(
        {
            ORDER_ID: np.char.add("O", order.astype(str)).astype(object),
            CUSTOMER_ID: customer,
            ORDER_DATE: stamps,
            AMOUNT: np.round(rng.gamma(2.0, 15.0, len(order)), 2),
        }
    )


@pytest.fixture(scope="module", params=["cdnow_sample", "subscription", "orders"])
def log(request) -> pd.DataFrame:
    if request.param == "orders":
        return order_log()
    return load_demo(request.param).transactions


def test_rfm_values_equal_the_order_group_by(log):
    as_of = log[ORDER_DATE].max() + pd.Timedelta(days=3)
    orders = merge_order_lines(log)
    g = orders.groupby(CUSTOMER_ID, sort=True)
    days = (as_of.normalize() - g[ORDER_DATE].max().dt.normalize()).dt.days
    ours = rfm_table(log, as_of=as_of)
    assert list(ours.index) == list(days.index)
    assert ours["days_since_last_purchase"].tolist() == days.tolist()
    assert ours["orders"].tolist() == g.size().tolist()
    np.testing.assert_allclose(ours["revenue"], g[AMOUNT].sum(), rtol=1e-12)


def test_cohort_activity_equals_the_order_group_by(log):
    last = int(period_ordinals(pd.Series([log[ORDER_DATE].max()]), "month")[0]) - 1
    orders = merge_order_lines(log)
    p = period_ordinals(orders[ORDER_DATE], "month")
    frame = pd.DataFrame({"c": orders[CUSTOMER_ID].to_numpy(), "p": p, "a": orders[AMOUNT].to_numpy()})
    frame["cohort"] = frame.groupby("c")["p"].transform("min")
    frame = frame[frame["p"] <= last]
    frame["k"] = frame["p"] - frame["cohort"]
    expected = frame.groupby(["cohort", "k", "c"])["a"].sum().reset_index()
    ours = _purchase_activity(log, "month", last)
    ours["c"] = pd.Index(pd.unique(log[CUSTOMER_ID].to_numpy()))[ours["c"]]  # codes in order of appearance
    ours = ours.sort_values(["cohort", "k", "c"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours[["cohort", "k", "c", "a"]], expected, check_dtype=False, rtol=1e-12)


def test_customer_periods_equal_the_pandas_pairs(log):
    codes = log[ORDER_DATE].dt.to_period("M").array.asi8
    pairs = (
        pd.DataFrame({CUSTOMER_ID: log[CUSTOMER_ID].to_numpy(), "code": codes, AMOUNT: log[AMOUNT].to_numpy()})
        .groupby([CUSTOMER_ID, "code"], sort=True)[AMOUNT]
        .sum()
        .reset_index()
    )
    pairs["first_code"] = pairs.groupby(CUSTOMER_ID)["code"].transform("min")
    again = pairs[[CUSTOMER_ID, "code"]].assign(code=pairs["code"] + 1).merge(pairs[[CUSTOMER_ID, "code"]])
    ours = _customer_periods(log, "M")
    ours[CUSTOMER_ID] = pd.Index(pd.unique(log[CUSTOMER_ID].to_numpy()))[ours[CUSTOMER_ID]]
    ours = ours.sort_values([CUSTOMER_ID, "code"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours.drop(columns="again"), pairs, check_dtype=False, rtol=1e-12)
    assert ours["again"].sum() == len(again)
    assert sorted(ours.loc[ours["again"], "code"]) == sorted(again["code"])


def test_mean_tenure_equals_the_timestamp_group_by(log):
    g = log.groupby(CUSTOMER_ID)[ORDER_DATE].agg(["min", "max"])
    expected = float(((g["max"] - g["min"]).dt.days / (365.25 / 12)).mean())
    value, _ = _mean_tenure_months(CustomerData(name="t", transactions=log))
    assert value == pytest.approx(expected, rel=1e-12)
