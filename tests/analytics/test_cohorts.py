"""Cohort matrices on the tiny log of test_kpis (by hand):

    cohort Jan = {A, B}: month 0 both, month 1 (Feb) A, month 2 (Mar) A and B
    cohort Feb = {C}:    month 0 C, month 1 nobody
    cohort Mar = {D}:    month 0 D
Revenue: Jan cohort 80 / 30 / 50, Feb cohort 100 / 0, Mar cohort 100.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.business.cohorts import average_retention_curve, cohort_table
from analytics.data.schema import CustomerData, DataError
from tests.analytics.helpers import subscription_customers, tiny_data, tiny_transactions


def test_customer_matrix_on_a_tiny_log():
    table = cohort_table(tiny_data())
    assert list(table.sizes) == [2, 1, 1]
    assert list(table.sizes.index) == ["2024-01", "2024-02", "2024-03"]
    expected = pd.DataFrame(
        [[2, 1, 2], [1, 0, np.nan], [1, np.nan, np.nan]],
        index=table.active.index,
        columns=table.active.columns,
        dtype=float,
    )
    pd.testing.assert_frame_equal(table.active, expected)
    assert table.retention.loc["2024-01"].tolist() == [1.0, 0.5, 1.0]
    assert table.last_period == "2024-03"


def test_revenue_matrix_and_revenue_retention():
    table = cohort_table(tiny_data())
    assert table.revenue.loc["2024-01"].tolist() == [80.0, 30.0, 50.0]
    assert table.revenue.loc["2024-02", 0] == 100.0 and table.revenue.loc["2024-02", 1] == 0.0
    assert table.revenue_retention.loc["2024-01"].tolist() == pytest.approx([1.0, 0.375, 0.625])


def test_average_curve_is_weighted_and_only_over_cohorts_that_reached_k():
    curve = average_retention_curve(cohort_table(tiny_data()))
    assert curve["retention"].tolist() == pytest.approx([1.0, 1 / 3, 1.0])  # k=1: (1 + 0) / (2 + 1)
    assert curve["cohorts"].tolist() == [3, 2, 1]
    assert curve["customers"].tolist() == [4, 3, 2]
    revenue = average_retention_curve(cohort_table(tiny_data()), revenue=True)
    assert revenue["retention"].tolist() == pytest.approx([1.0, 30 / 180, 50 / 80])


def test_partial_last_month_is_left_out():
    tx = tiny_transactions()
    tx.loc[tx["order_date"] == "2024-03-31", "order_date"] = pd.Timestamp("2024-03-30")
    table = cohort_table(CustomerData("t", transactions=tx))
    assert list(table.sizes.index) == ["2024-01", "2024-02"]  # D (March) not yet observable
    assert table.active.columns.tolist() == [0, 1]
    kept = cohort_table(CustomerData("t", transactions=tx), complete_only=False)
    assert list(kept.sizes.index) == ["2024-01", "2024-02", "2024-03"]


def test_long_form_for_the_heatmap():
    long = cohort_table(tiny_data()).to_long()
    assert len(long) == 6  # observed cells only
    row = long[(long["cohort"] == "2024-01") & (long["period_number"] == 1)].iloc[0]
    assert (row["cohort_size"], row["active_customers"], row["retention"], row["revenue"]) == (2, 1, 0.5, 30.0)


def test_subscription_cohorts_from_signup_and_churn_dates():
    # Jan cohort {s1, s2, s5}: Feb all three (s5 leaves Feb 19), Mar s1 (leaves Mar 5) and s2
    table = cohort_table(CustomerData("subs", customers=subscription_customers()))
    assert table.basis == "subscriptions"
    assert table.active.loc["2024-01"].tolist() == [3.0, 3.0, 2.0]
    assert table.active.loc["2024-02"].tolist()[:2] == [1.0, 0.0]  # s3 left within February
    assert table.sizes.loc["2024-03"] == 2
    assert table.revenue is None  # no monthly_charge column


def test_no_dates_is_a_data_error():
    customers = pd.DataFrame({"customer_id": ["a"], "nps": [9.0]})
    with pytest.raises(DataError, match="signup dates"):
        cohort_table(CustomerData("x", customers=customers))
