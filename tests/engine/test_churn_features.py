"""Churn features from the customer-day table against the pandas group-bys they replaced.

The reference functions below are the previous implementations (text-id group-bys on every
purchase row), kept here verbatim as the specification: the engine must give the same features,
label, window and new-customer count, on real logs (CDNOW), the subscription demo's payments, and
a log with times of day and missing amounts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.business.churn_inputs import derive_churn_label, suggest_horizon_days, transaction_features
from analytics.data.datasets import load_demo
from analytics.data.schema import AMOUNT, CUSTOMER_ID, ORDER_DATE


def reference_horizon(tx: pd.DataFrame) -> int:
    days = tx[[CUSTOMER_ID]].assign(day=tx[ORDER_DATE].dt.normalize()).drop_duplicates()
    days = days.sort_values([CUSTOMER_ID, "day"])
    gaps = days.groupby(CUSTOMER_ID)["day"].diff().dt.days.dropna()
    if gaps.empty:
        return 90
    per_customer = gaps.groupby(days.loc[gaps.index, CUSTOMER_ID]).median()
    return int(min(365, max(90, math.ceil(2 * float(per_customer.median())))))


def reference_features(tx: pd.DataFrame, as_of: pd.Timestamp, window_days: int) -> pd.DataFrame:
    tx = tx[tx[ORDER_DATE] < as_of]
    grouped = tx.groupby(CUSTOMER_ID)
    first = grouped[ORDER_DATE].min()
    last = grouped[ORDER_DATE].max()
    out = pd.DataFrame(index=first.index)
    out["days_since_last_purchase"] = (as_of - last).dt.days.astype(float)
    out["n_orders"] = grouped.size().astype(float)
    out["total_spend"] = grouped[AMOUNT].sum().astype(float)
    out["avg_order_value"] = out["total_spend"] / out["n_orders"]
    out["tenure_days"] = (as_of - first).dt.days.astype(float)
    days = tx[[CUSTOMER_ID]].assign(day=tx[ORDER_DATE].dt.normalize()).drop_duplicates()
    days = days.sort_values([CUSTOMER_ID, "day"])
    gaps = days.groupby(CUSTOMER_ID)["day"].diff().dt.days
    gap_by = gaps.groupby(days[CUSTOMER_ID])
    out["gap_mean_days"] = gap_by.mean().reindex(out.index).astype(float)
    out["gap_std_days"] = gap_by.std().reindex(out.index).astype(float)
    window = pd.Timedelta(days=int(window_days))
    recent = tx[tx[ORDER_DATE] >= as_of - window].groupby(CUSTOMER_ID)[AMOUNT].sum()
    earlier_rows = (tx[ORDER_DATE] >= as_of - 2 * window) & (tx[ORDER_DATE] < as_of - window)
    earlier = tx[earlier_rows].groupby(CUSTOMER_ID)[AMOUNT].sum()
    recent = recent.reindex(out.index, fill_value=0.0)
    earlier = earlier.reindex(out.index, fill_value=0.0)
    total = recent + earlier
    out["spend_trend"] = np.where(total > 0, (recent - earlier) / total.where(total > 0, 1.0), 0.0)
    out.index.name = CUSTOMER_ID
    return out


def timed_log() -> pd.DataFrame:
    """400 customers, purchases at random times of day, some amounts missing."""
    rng = np.random.default_rng(7)
    n = 6000
    stamps = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700 * 24 * 60, n), "min")
    amount = np.round(rng.gamma(2.0, 30.0, n), 2)
    amount[rng.random(n) < 0.02] = np.nan
    ids = np.char.add("C", rng.integers(0, 400, n).astype(str)).astype(object)
    return pd.DataFrame({CUSTOMER_ID: ids, ORDER_DATE: stamps, AMOUNT: amount})


def logs() -> dict[str, pd.DataFrame]:
    return {
        "cdnow_sample": load_demo("cdnow_sample").transactions,
        "cdnow": load_demo("cdnow").transactions,
        "subscription": load_demo("subscription").transactions,
        "timed": timed_log(),
    }


@pytest.fixture(scope="module", params=["cdnow_sample", "cdnow", "subscription", "timed"])
def log(request) -> pd.DataFrame:
    return logs()[request.param]


def test_window_equals_the_pandas_median_of_medians(log):
    assert suggest_horizon_days(log) == reference_horizon(log)


def test_features_equal_the_pandas_group_bys_at_two_dates(log):
    end = log[ORDER_DATE].max().normalize()
    for as_of, window in ((end + pd.Timedelta(days=1), 120), (end - pd.Timedelta(days=200), 90)):
        ours = transaction_features(log, as_of=as_of, window_days=window)
        expected = reference_features(log, as_of, window)
        assert list(ours.index) == list(expected.index)
        pd.testing.assert_frame_equal(ours, expected, check_exact=False, rtol=1e-9, check_index_type=False)


def test_label_equals_the_pandas_label(log):
    derived = derive_churn_label(log)
    tx = log
    horizon = reference_horizon(tx)
    end = tx[ORDER_DATE].max().normalize()
    cut = end + pd.Timedelta(days=1) - pd.Timedelta(days=horizon)
    features = reference_features(tx, cut, horizon)
    in_window = tx[(tx[ORDER_DATE] >= cut) & (tx[ORDER_DATE] < cut + pd.Timedelta(days=horizon))]
    churned = ~features.index.isin(in_window[CUSTOMER_ID].unique())
    first = tx.groupby(CUSTOMER_ID)[ORDER_DATE].min()
    assert (derived.horizon_days, derived.cutoff) == (horizon, cut)
    assert derived.churned.to_numpy().tolist() == churned.tolist()
    assert derived.n_new_after_cutoff == int((first >= cut).sum())
    pd.testing.assert_frame_equal(derived.features, features, check_exact=False, rtol=1e-9, check_index_type=False)
