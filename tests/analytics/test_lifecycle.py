"""Lifecycle stages: probability bands, the one-time-buyer gap rule, and transitions on the tiny log.

Tiny log (test_kpis, 2024 is a leap year). Mean gaps of repeat buyers at 2024-03-31:
A 65 days / 3 = 21.67, B 47, D 6 -> typical gap (median) 21.67 days.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.business.lifecycle import (
    ACTIVE,
    AT_RISK,
    COOLING_DOWN,
    HIGHLY_AT_RISK,
    LOST,
    NEW,
    STAGES,
    LifecycleThresholds,
    lifecycle_from_transactions,
    lifecycle_snapshots,
    lifecycle_stages,
    stage_counts,
    stage_from_alive,
    transition_flows,
    transition_table,
    typical_repeat_gap_days,
)
from analytics.data.schema import DataError
from tests.analytics.helpers import tiny_data, tiny_transactions


def test_probability_bands():
    alive = pd.Series([0.95, 0.8, 0.79, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    assert stage_from_alive(alive).astype(str).tolist() == [
        ACTIVE,
        ACTIVE,
        COOLING_DOWN,
        COOLING_DOWN,
        AT_RISK,
        AT_RISK,
        HIGHLY_AT_RISK,
        HIGHLY_AT_RISK,
        LOST,
        LOST,
    ]
    strict = LifecycleThresholds(active=0.9)
    assert stage_from_alive(pd.Series([0.85]), strict).iloc[0] == COOLING_DOWN
    with pytest.raises(DataError, match="between 0 and 1"):
        stage_from_alive(pd.Series([1.2]))


def test_one_time_buyers_use_the_gap_rule_not_p_alive():
    ids = ["one_recent", "one_cooling", "one_old", "repeat"]
    p_alive = pd.Series([1.0, 1.0, 1.0, 0.3], index=ids)  # BG/NBD: always 1 for one-time buyers
    orders = pd.Series([1, 1, 1, 5], index=ids)
    days = pd.Series([30, 80, 200, 10], index=ids)
    out = lifecycle_stages(p_alive=p_alive, orders=orders, days_since_last_purchase=days, repeat_gap_days=60)
    # gap ratios 0.5, 1.33, 3.33
    assert out["stage"].astype(str).tolist() == [ACTIVE, COOLING_DOWN, LOST, HIGHLY_AT_RISK]
    assert out["rule"].tolist() == ["one-time buyer gap"] * 3 + ["p_alive"]


def test_churn_risk_and_churned_flag():
    ids = ["a", "b", "c"]
    out = lifecycle_stages(
        churn_probability=pd.Series([0.1, 0.7, 0.05], index=ids),
        churned=pd.Series([False, False, True], index=ids),
    )
    assert out["alive"].tolist() == pytest.approx([0.9, 0.3, 0.95])
    assert out["stage"].astype(str).tolist() == [ACTIVE, HIGHLY_AT_RISK, LOST]
    assert out["rule"].tolist() == ["churn risk", "churn risk", "churned"]
    with pytest.raises(DataError, match="probability alive or a churn probability"):
        lifecycle_stages()


def test_typical_repeat_gap():
    assert typical_repeat_gap_days(tiny_transactions()) == pytest.approx(65 / 3)
    one_each = tiny_transactions().drop_duplicates("customer_id")
    with pytest.raises(DataError, match="Nobody bought twice"):
        typical_repeat_gap_days(one_each)


def test_model_free_stages_at_the_end_of_the_log():
    out = lifecycle_from_transactions(tiny_transactions(), as_of=pd.Timestamp("2024-03-31"))
    assert out["gap_ratio"].to_dict() == pytest.approx({"A": 21 / (65 / 3), "B": 29 / 47, "C": 50 / (65 / 3), "D": 0.0})
    assert out["stage"].astype(str).to_dict() == {"A": ACTIVE, "B": ACTIVE, "C": HIGHLY_AT_RISK, "D": ACTIVE}
    assert out.loc["C", "rule"] == "one-time buyer gap"


def test_transitions_between_the_previous_month_end_and_now():
    before, now, before_date, now_date = lifecycle_snapshots(tiny_data())
    assert (before_date, now_date) == (pd.Timestamp("2024-02-29"), pd.Timestamp("2024-03-31"))
    # at Feb 29: A gap 29/2 = 14.5, 26 days since -> 1.79; B one-time, 45 / 14.5; C 19 / 14.5
    assert before["stage"].astype(str).to_dict() == {"A": AT_RISK, "B": LOST, "C": COOLING_DOWN}
    table = transition_table(before["stage"], now["stage"])
    assert list(table.index) == list(STAGES) + [NEW]
    assert table.loc[AT_RISK, ACTIVE] == 1
    assert table.loc[LOST, ACTIVE] == 1
    assert table.loc[COOLING_DOWN, HIGHLY_AT_RISK] == 1
    assert table.loc[NEW, ACTIVE] == 1
    assert table.to_numpy().sum() == 4
    flows = transition_flows(table)
    moved = flows[flows["customers"] > 0]
    assert moved["moved"].all()
    assert moved["share_of_before"].tolist() == [1.0, 1.0, 1.0, 1.0]


def test_stage_counts_lists_every_stage():
    counts = stage_counts(pd.Series([ACTIVE, ACTIVE, LOST]))
    assert counts["stage"].tolist() == list(STAGES)
    assert counts["customers"].tolist() == [2, 0, 0, 0, 1]
    assert counts["share"].tolist() == pytest.approx([2 / 3, 0, 0, 0, 1 / 3])


def test_stages_at_a_day_count_that_whole_day_and_an_order_on_its_first_line_s_day():
    """An order of several lines counts once, on the day of its first line; a snapshot at a day
    (the previous month's end is taken at midnight) counts every purchase of that day."""
    rows = [
        ("A", 1, "2024-01-10 09:00", 10.0),
        ("A", 1, "2024-01-11 10:00", 5.0),  # a second line of order 1, a day later: still one order
        ("A", 2, "2024-02-29 15:30", 20.0),  # on the snapshot day, after midnight
        ("B", 3, "2024-02-01 12:00", 30.0),
        ("B", 4, "2024-03-05 12:00", 30.0),  # after the snapshot day
    ]
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    out = lifecycle_from_transactions(tx, as_of=pd.Timestamp("2024-02-29"), repeat_gap_days=10.0)
    assert out["orders"].to_dict() == {"A": 2, "B": 1}
    assert out["days_since_last_purchase"].to_dict() == {"A": 0, "B": 28}
    # A: own gap 50 days (Jan 10 -> Feb 29, 2 orders), bought today; B one-time: 28 / 10
    assert out["gap_ratio"].to_dict() == pytest.approx({"A": 0.0, "B": 2.8})
    assert out["rule"].to_dict() == {"A": "own repeat gap", "B": "one-time buyer gap"}
    assert typical_repeat_gap_days(tx, as_of=pd.Timestamp("2024-02-29")) == pytest.approx(50.0)
