"""BTYD summary and calibration/holdout split: CDNOW figures, hand computations, failure messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.data.schema import DataError
from analytics.models.btyd import (
    calibration_holdout_split,
    purchase_days,
    simulate_transactions,
    summarize_customers,
)
from tests.analytics.helpers import CAL_END, HOLDOUT_END, cdnow_transactions


def tx(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_date": pd.to_datetime([r[1] for r in rows], format="ISO8601"),
            "amount": [float(r[2]) for r in rows],
        }
    )


def test_cdnow_raw_log_has_the_published_size():
    t = cdnow_transactions()
    assert len(t) == 6919
    assert t["customer_id"].nunique() == 2357


def test_cdnow_calibration_and_holdout_counts():
    split = calibration_holdout_split(cdnow_transactions(), calibration_end=CAL_END, holdout_end=HOLDOUT_END)
    cal = split.calibration
    assert len(cal) == 2357  # everyone first bought in Q1 1997, before calibration end
    assert int((cal["frequency"] > 0).sum()) == 946  # repeat buyers in the 39 calibration weeks
    assert int(cal["frequency"].sum()) == 2457  # repeat purchase days in calibration
    assert int(cal["frequency_holdout"].sum()) == 1882  # FHL 2005: 1,882 holdout repeat purchases
    assert split.holdout_periods == pytest.approx(39.0)  # 273 days
    assert cal["duration_holdout"].iloc[0] == pytest.approx(39.0)
    # a customer who first bought on 1997-01-01 has T = 272 days = 38.857 weeks at calibration end
    first_day = cal["first_purchase"] == pd.Timestamp("1997-01-01")
    assert cal.loc[first_day, "T"].unique() == pytest.approx([272 / 7])


def test_summary_matches_lifetimes_day_granularity_on_cdnow():
    from lifetimes.utils import summary_data_from_transaction_data

    t = cdnow_transactions()
    ours = summarize_customers(t, time_unit="W")
    ref = summary_data_from_transaction_data(
        t, "customer_id", "order_date", monetary_value_col="amount", freq="D", freq_multiplier=7
    ).loc[ours.index]
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col].to_numpy(dtype=float), ref[col].to_numpy(), rtol=1e-12, atol=1e-9)
    assert ours["historic_value"].sum() == pytest.approx(t["amount"].sum())


def test_same_day_purchases_merge_and_monetary_is_mean_of_repeat_days():
    t = tx(
        [
            ("A", "2024-01-01 09:00", 10),
            ("A", "2024-01-01 17:30", 5),  # first day: 15
            ("A", "2024-01-08", 20),
            ("A", "2024-01-15 10:00", 30),
            ("A", "2024-01-15 11:00", 10),  # 20, 40
            ("B", "2024-01-10", 7),
        ]
    )
    s = summarize_customers(t, observation_end="2024-01-29", time_unit="D")
    a, b = s.loc["A"], s.loc["B"]
    assert a["frequency"] == 2  # two repeat purchase days
    assert a["recency"] == 14 and a["T"] == 28
    assert a["monetary_value"] == pytest.approx(30.0)  # (20 + 40) / 2, the first day left out
    assert a["historic_value"] == pytest.approx(75.0)
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0, 19, 0)
    assert s.attrs["time_unit"] == "D"


@pytest.mark.parametrize("unit, days", [("D", 1.0), ("W", 7.0), ("M", 365.25 / 12)])
def test_time_units_divide_day_counts(unit, days):
    t = tx([("A", "2024-01-01", 1), ("A", "2024-03-01", 1)])  # 60 days apart (leap year)
    s = summarize_customers(t, observation_end="2024-04-30", time_unit=unit)
    assert s.loc["A", "recency"] == pytest.approx(60 / days)
    assert s.loc["A", "T"] == pytest.approx(120 / days)


def test_purchases_after_observation_end_are_ignored_and_zero_amounts_count():
    t = tx([("A", "2024-01-01", 0.0), ("A", "2024-01-05", 0.0), ("A", "2024-02-01", 9.0)])
    s = summarize_customers(t, observation_end="2024-01-31", time_unit="D")
    assert s.loc["A", "frequency"] == 1  # the free order on 5 Jan is a purchase
    assert s.loc["A", "T"] == 30
    days = purchase_days(t)
    assert days.spend.tolist() == [0.0, 0.0, 9.0]


def test_holdout_counts_repeat_days_after_calibration_end_only():
    t = tx(
        [
            ("A", "2024-01-01", 1),
            ("A", "2024-02-01", 1),
            ("A", "2024-03-05", 1),
            ("A", "2024-03-05", 2),
            ("A", "2024-03-20", 1),
            ("B", "2024-02-20", 1),
            ("B", "2024-03-10", 1),
            ("C", "2024-03-02", 1),  # first purchase in the holdout: not a calibration customer
        ]
    )
    split = calibration_holdout_split(t, calibration_end="2024-02-29", holdout_end="2024-03-31", time_unit="D")
    cal = split.calibration
    assert sorted(cal.index) == ["A", "B"]
    assert cal.loc["A", "frequency_holdout"] == 2  # 5 Mar (two orders, one day) and 20 Mar
    assert cal.loc["B", "frequency_holdout"] == 1
    assert cal.loc["A", "T"] == 59 and cal.loc["B", "T"] == 9
    assert split.holdout_periods == 31


def test_default_calibration_end_holds_out_the_last_third():
    t = tx([("A", "2024-01-01", 1), ("A", "2024-04-10", 1), ("B", "2024-01-02", 1), ("B", "2024-07-19", 1)])
    split = calibration_holdout_split(t, time_unit="W")  # span 200 days -> 67 held out
    assert split.calibration_end == pd.Timestamp("2024-05-13")
    assert split.holdout_end == pd.Timestamp("2024-07-19")


def test_simulation_is_reproducible_and_canonical():
    a = simulate_transactions(200, r=0.5, alpha=5, a=0.8, b=2.5, random_state=7)
    b = simulate_transactions(200, r=0.5, alpha=5, a=0.8, b=2.5, random_state=7)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["customer_id", "order_date", "amount"]
    assert a["customer_id"].nunique() == 200
    assert (a["amount"] > 0).all()
    first = a.groupby("customer_id")["order_date"].min()
    assert first.max() < pd.Timestamp("2020-01-01") + pd.Timedelta(days=84)
    assert a["order_date"].max() < pd.Timestamp("2020-01-01") + pd.Timedelta(days=546)


def test_short_history_is_refused_with_the_reason():
    t = tx([("A", "2024-01-01", 1), ("A", "2024-01-20", 1), ("B", "2024-01-03", 1)])
    with pytest.raises(DataError, match=r"All purchases fall within 20 day\(s\).*at least 12 weeks"):
        calibration_holdout_split(t)


def test_single_purchase_day_is_refused():
    t = tx([("A", "2024-01-01", 1), ("B", "2024-01-01", 2)])
    with pytest.raises(DataError, match="All purchases fall within 1 day"):
        calibration_holdout_split(t)


def test_calibration_end_outside_the_data_is_refused():
    t = tx([("A", "2024-01-01", 1), ("A", "2024-06-01", 1)])
    with pytest.raises(DataError, match="leaves no holdout period"):
        calibration_holdout_split(t, calibration_end="2024-06-01")
    with pytest.raises(DataError, match="before the first purchase"):
        calibration_holdout_split(t, calibration_end="2023-12-31")


def test_negative_amounts_are_refused():
    t = tx([("A", "2024-01-01", 10), ("A", "2024-01-05", -10)])
    with pytest.raises(DataError, match="1 purchase\\(s\\) have a negative or missing amount"):
        summarize_customers(t)


def test_missing_columns_and_units_are_explained():
    with pytest.raises(DataError, match="lacks the column\\(s\\) amount"):
        summarize_customers(pd.DataFrame({"customer_id": ["A"], "order_date": pd.to_datetime(["2024-01-01"])}))
    with pytest.raises(DataError, match="Unknown time unit 'Y'"):
        summarize_customers(tx([("A", "2024-01-01", 1)]), time_unit="Y")
    with pytest.raises(DataError, match="no transactions"):
        summarize_customers(tx([]))
