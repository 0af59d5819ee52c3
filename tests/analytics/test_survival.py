"""Kaplan-Meier retention curves against hand computation, and the inputs built from data."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.data.datasets import load_demo
from analytics.data.periods import DAYS_PER_MONTH
from analytics.data.schema import CustomerData, DataError
from analytics.models.survival import (
    ALL,
    durations_from_customers,
    durations_from_transactions,
    retention_curves,
    retention_inputs,
)
from analytics.reports.charts.churn import retention_chart


def test_kaplan_meier_by_hand():
    # Months 1 (left), 2 (left), 3 (still a customer), 4 (left), 5 (still a customer).
    # S(1) = 4/5 = 0.8; S(2) = 0.8 * 3/4 = 0.6; month 3 is censored; S(4) = 0.6 * 1/2 = 0.3.
    result = retention_curves([1, 2, 3, 4, 5], [True, True, False, True, False])
    curve = result.curves
    assert curve["months"].tolist() == [0, 1, 2, 3, 4, 5]
    assert curve["retention"].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.6, 0.3, 0.3])
    assert curve["at_risk"].tolist() == [5, 5, 4, 3, 2, 1]
    assert result.median() == 4.0  # first month at which retention is at or below 50%
    row = result.summary.iloc[0]
    assert (row["group"], row["customers"], row["churned"], row["median_text"]) == (ALL, 5, 3, "4.0 months")


def test_median_not_reached_is_none_and_said_in_words():
    result = retention_curves([2, 6, 6, 12], [True, False, False, False])
    assert result.curves["retention"].min() == pytest.approx(0.75)
    assert result.median() is None
    assert result.summary["median_text"].iloc[0] == (
        "not reached: more than half are still customers after 12 months, the longest time observed"
    )


def test_groups_get_their_own_curves():
    months = [1, 2, 3, 10, 11, 12]
    left = [True, True, True, False, True, True]
    result = retention_curves(months, left, pd.Series(["Monthly"] * 3 + ["Annual"] * 3), by="Contract")
    assert result.by == "Contract"
    assert result.median("Monthly") == 2.0  # 2/3 after month 1, 1/3 after month 2
    # Annual: 10 still a customer; S(11) = 1 - 1/2 = 0.5, the first time at or below half.
    assert result.median("Annual") == 11.0
    assert result.summary.set_index("group")["churned"].to_dict() == {"Monthly": 3, "Annual": 2}
    with pytest.raises(KeyError):
        result.median("Weekly")


def test_numeric_groups_are_quartiles():
    values = pd.Series(range(1, 101), dtype=float)
    result = retention_curves(values, [True] * 100, values, by="Spend")
    assert sorted(result.summary["group"]) == sorted(["1 to 25", "26 to 50", "51 to 75", "76 to 100"])
    assert result.summary["customers"].tolist() == [25, 25, 25, 25]


def test_bad_inputs_are_plain_errors():
    with pytest.raises(DataError, match="No customer has both a tenure and a known churn status"):
        retention_curves([None, None], [True, False])
    with pytest.raises(DataError, match="negative"):
        retention_curves([-1, 2], [True, False])


def test_durations_from_dates_and_transactions():
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "signup_date": pd.to_datetime(["2024-01-01", "2024-06-01"]),
            "churn_date": pd.to_datetime(["2024-04-01", pd.NaT]),
        }
    )
    churned = pd.Series([True, False])
    months = durations_from_customers(customers, churned, observation_end=pd.Timestamp("2024-12-31"))
    assert months.tolist() == pytest.approx([91 / DAYS_PER_MONTH, 213 / DAYS_PER_MONTH])
    with pytest.raises(DataError, match="tenure \\(months\\) or signup dates"):
        durations_from_customers(customers[["customer_id"]], churned)
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01"]),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    spans = durations_from_transactions(tx)
    assert spans.to_dict() == pytest.approx({"a": 60 / DAYS_PER_MONTH, "b": 0.0})


def test_demo_month_to_month_median_and_chart():
    data = load_demo("subscription")
    customers = data.customers
    months = durations_from_customers(customers, customers["churned"])
    result = retention_curves(months, customers["churned"], customers["Contract"], by="Contract")
    medians = {g: result.median(g) for g in result.summary["group"]}
    # Month-to-month customers churn every month; term contracts mostly at renewal: only the
    # month-to-month curve crosses 50% within the 36 months of data.
    assert medians["Month-to-month"] is not None and 6 < medians["Month-to-month"] < 24
    assert medians["One year"] is None and medians["Two year"] is None
    spec = retention_chart(result.curves, by="Contract").to_dict()
    line = spec["layer"][1]
    assert line["mark"]["interpolate"] == "step-after"
    assert spec["title"] == "Share of customers still with you after m months, by Contract"


def test_retention_inputs_from_customers_and_from_purchases():
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "tenure_months": [3.0, 7.5, None]})
    status = pd.Series({"a": True, "b": False, "c": True})
    frame = retention_inputs(CustomerData(name="t", customers=customers), status)
    assert frame.to_dict("list") == {"customer_id": ["a", "b"], "months": [3.0, 7.5], "churned": [True, False]}

    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-31", "2024-02-01", "2024-03-01"]),
            "amount": 1.0,
        }
    )
    frame = retention_inputs(CustomerData(name="p", transactions=tx), pd.Series({"a": False, "b": True}))
    assert frame["customer_id"].tolist() == ["a", "b"]  # c has no known status
    assert frame["months"].tolist() == pytest.approx([30 / DAYS_PER_MONTH, 0.0])
    assert frame["churned"].tolist() == [False, True]


def test_purchase_spans_count_whole_days_elapsed_with_the_time_of_day():
    """First to last purchase in whole days elapsed (as Timedelta.days), read off the customer-day
    table with each day's earliest and latest time: 23:00 to 01:00 the next day is 0 days, 08:00 to
    07:59 two days later is 1; ids sorted as a group-by sorts them."""
    tx = pd.DataFrame(
        {
            "customer_id": ["b", "a", "a", "b", "c", "b"],
            "order_date": pd.to_datetime(
                [
                    "2024-01-01 08:00",
                    "2024-01-01 23:00",
                    "2024-01-02 01:00",
                    "2024-01-03 07:59",
                    "2024-05-05 12:00",
                    "2024-01-02 12:00",
                ]
            ),
            "amount": 1.0,
        }
    )
    spans = durations_from_transactions(tx)
    assert spans.index.tolist() == ["a", "b", "c"] and spans.index.name == "customer_id"
    assert spans.to_numpy().tolist() == [0.0, 1 / DAYS_PER_MONTH, 0.0]
    utc = tx.assign(order_date=tx["order_date"].dt.tz_localize("UTC"))
    assert durations_from_transactions(utc).to_numpy().tolist() == [0.0, 1 / DAYS_PER_MONTH, 0.0]
