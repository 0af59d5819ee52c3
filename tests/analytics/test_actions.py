"""Action list ranked by value at stake with reasons in words; the close-the-loop list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.business.actions import (
    action_list,
    close_the_loop,
    customers_at_high_risk,
    filter_actions,
    ranked_actions,
)
from analytics.business.value import value_and_risk
from analytics.data.schema import CUSTOMER_ID, CustomerData, DataError
from tests.analytics.helpers import record_id_positions


def _inputs():
    ids = ["big", "mid", "small", "gone"]
    clv = pd.Series([1240.0, 500.0, 100.0, 5000.0], index=ids)
    risk = pd.Series([0.72, 0.5, 0.9, 0.99], index=ids)
    segment = pd.Series(["At risk", "Loyal", "Lost", "Champions"], index=ids)
    days = pd.Series([94, 10, 300, 400], index=ids)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "nps": [3.0, 9.0, np.nan, 0.0],
            "escalations": [0.0, 2.0, 1.0, 0.0],
            "churned": pd.array([False, False, False, True], dtype="boolean"),
        }
    )
    return clv, risk, segment, days, customers


def test_ranked_by_value_at_stake_with_reasons():
    clv, risk, segment, days, customers = _inputs()
    actions = action_list(clv, risk, segment=segment, days_since_last_purchase=days, customers=customers)
    assert actions["customer_id"].tolist() == ["big", "mid", "small"]  # "gone" has churned
    assert actions["rank"].tolist() == [1, 2, 3]
    assert actions["value_at_stake"].tolist() == pytest.approx([892.8, 250.0, 90.0])
    assert actions["reason"].tolist() == [
        "Top-10% value (CLV 1,240), 72% churn risk, last purchase 94 days ago, detractor (NPS 3)",
        "High value (CLV 500), 50% churn risk, last purchase 10 days ago, 2 escalated tickets",
        "Lower value (CLV 100), 90% churn risk, last purchase 300 days ago, 1 escalated ticket",
    ]
    assert actions["segment"].tolist() == ["At risk", "Loyal", "Lost"]


def test_without_optional_inputs_the_reason_is_shorter():
    clv, risk, *_ = _inputs()
    actions = action_list(clv, risk)
    assert actions["customer_id"].tolist() == ["gone", "big", "mid", "small"]
    assert actions.loc[0, "reason"] == "Top-10% value (CLV 5,000), 99% churn risk"


def test_filter_by_segment_and_minimum():
    clv, risk, segment, days, customers = _inputs()
    actions = action_list(clv, risk, segment=segment, customers=customers)
    assert filter_actions(actions, segments=["Loyal", "Lost"])["customer_id"].tolist() == ["mid", "small"]
    assert filter_actions(actions, min_value_at_stake=100)["customer_id"].tolist() == ["big", "mid"]
    assert filter_actions(actions, top=1)["customer_id"].tolist() == ["big"]


def test_bad_inputs_are_data_errors():
    clv = pd.Series({"a": 10.0})
    with pytest.raises(DataError, match="nothing to rank"):
        action_list(clv, pd.Series({"b": 0.5}))
    with pytest.raises(DataError, match="between 0 and 1"):
        action_list(clv, pd.Series({"a": 7.0}))


def _support_customers():
    return pd.DataFrame(
        {
            "customer_id": ["det", "esc", "open", "fine", "left", "old"],
            "nps": [2.0, 8.0, np.nan, 10.0, 1.0, 4.0],
            "support_tickets": [0.0, 3.0, 2.0, 1.0, 0.0, 0.0],
            "escalations": [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
            "resolution_hours": [np.nan, 12.0, np.nan, 5.0, np.nan, np.nan],
            "churned": pd.array([False, False, False, False, True, False], dtype="boolean"),
        }
    )


def test_close_the_loop_lists_detractors_escalations_and_unresolved_tickets():
    loop = close_the_loop(CustomerData("x", customers=_support_customers().drop(columns=[])))
    # no purchases: every current customer; "left" has churned, "fine" has nothing to close
    assert set(loop["customer_id"]) == {"det", "esc", "open", "old"}
    by_id = loop.set_index("customer_id")
    assert by_id.loc["det", "issues"] == "detractor"
    assert by_id.loc["esc", "reason"] == "1 escalated ticket"
    assert by_id.loc["open", "reason"] == "2 tickets with no resolution recorded"
    assert by_id.loc["det", "reason"] == "Detractor (NPS 2)"
    # one issue each: detractors with the lowest score first
    assert loop["customer_id"].tolist()[:2] == ["det", "old"]


def test_close_the_loop_keeps_recent_buyers_when_purchases_exist():
    customers = _support_customers()
    tx = pd.DataFrame(
        {
            "customer_id": ["det", "esc", "open", "old", "fine"],
            "order_date": pd.to_datetime(["2024-06-20", "2024-06-01", "2024-05-15", "2023-01-01", "2024-06-30"]),
            "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )
    loop = close_the_loop(CustomerData("x", transactions=tx, customers=customers), recent_days=30)
    assert loop["customer_id"].tolist() == ["det", "esc"]  # bought after 2024-05-31
    assert loop.loc[0, "last_purchase"] == pd.Timestamp("2024-06-20")


def test_close_the_loop_needs_a_column():
    with pytest.raises(DataError, match="'nps' column"):
        close_the_loop(CustomerData("x", customers=pd.DataFrame({"customer_id": ["a"], "plan": ["Basic"]})))


def test_days_read_naturally():
    clv = pd.Series({"a": 10.0, "b": 5.0})
    risk = pd.Series({"a": 0.5, "b": 0.5})
    actions = action_list(clv, risk, days_since_last_purchase=pd.Series({"a": 0, "b": 1}))
    assert actions["reason"].str.split(", ").str[-1].tolist() == ["last purchase today", "last purchase 1 day ago"]


def _reason_of_one_row(row) -> str:
    """The reason as worded one customer at a time (the definition the list's columns must match)."""
    from analytics.formatting import money

    share = row.value_percentile
    label = "Top-10% value" if share >= 0.9 else "High value" if share >= 0.5 else "Lower value"
    parts = [f"{label} (CLV {money(row.clv, whole_from=0)})", f"{row.churn_probability:.0%} churn risk"]
    if pd.notna(row.days_since_last_purchase):
        days = int(row.days_since_last_purchase)
        parts.append("last purchase today" if days == 0 else f"last purchase {days} day{'' if days == 1 else 's'} ago")
    if pd.notna(row.nps) and row.nps <= 6:
        parts.append(f"detractor (NPS {row.nps:.0f})")
    for count, word in ((row.escalations, "escalated ticket"), (row.complaints, "complaint")):
        if pd.notna(count) and count > 0:
            parts.append(f"{int(count)} {word}{'' if int(count) == 1 else 's'}")
    return ", ".join(parts)


def test_reasons_read_as_worded_customer_by_customer_at_every_rounding_edge():
    # the list words each number once per rounding (whole units, whole percent, whole days): the same
    # text as wording each customer on their own, at the halves where rounding goes to even
    rng = np.random.default_rng(7)
    n = 3000
    edges = np.array([0.5, 1.5, 2.5, -0.4, -0.5, -1.5, 999.5, 1000.5, 1234567.5, 0.0, -0.0, 7.49999])
    halves = rng.integers(-200, 6000, 1500) / 2  # x.5 amounts: rounding to even
    clv = np.r_[edges, halves, rng.normal(300, 900, n - len(edges) - len(halves))]
    risk = np.r_[[0.005, 0.015, 0.125, 0.995, 0.0, 1.0, 0.5, 0.285, 0.575, 0.9999, 0.00499, 0.07], rng.random(n - 12)]
    ids = [f"c{i}" for i in range(n)]
    days = pd.Series(np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 400, n) + rng.random(n) * 0.9), index=ids)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "nps": np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 11, n)),
            "escalations": rng.choice([0.0, 1.0, 2.0, 3.0, np.nan], n),
            "complaints": rng.choice([0.0, 1.0, 5.0], n),
        }
    )
    actions = action_list(
        pd.Series(clv, index=ids), pd.Series(risk, index=ids), days_since_last_purchase=days, customers=customers
    )
    frame = actions.set_index("customer_id")
    percentile = pd.Series(clv, index=ids).rank(pct=True)
    rows = frame.assign(value_percentile=percentile.reindex(frame.index), complaints=frame["complaints"])
    expected = [_reason_of_one_row(row) for row in rows.itertuples()]
    assert actions["reason"].tolist() == expected
    reason = frame["reason"]
    assert reason["c0"].startswith("Lower value (CLV 0), 0% churn risk")  # 0.5 and 0.5% round to even
    assert reason["c1"].startswith("Lower value (CLV 2), 2% churn risk")  # 1.5 and 1.5% too
    assert reason["c5"].startswith("Lower value (CLV -2), 100% churn risk")
    assert reason["c8"].startswith("Top-10% value (CLV 1,234,568), 57% churn risk")  # 100 x 0.575 < 57.5


def test_top_keeps_the_full_lists_first_ranks_and_reasons():
    clv, risk, segment, days, customers = _inputs()
    full = action_list(clv, risk, segment=segment, days_since_last_purchase=days, customers=customers)
    top = action_list(clv, risk, segment=segment, days_since_last_purchase=days, customers=customers, top=2)
    pd.testing.assert_frame_equal(top, full.head(2))
    # the value percentile behind "Top-10% value" is the full list's, and the attrs describe the full list
    assert top.attrs == full.attrs == {"customers_ranked": 3, "value_at_stake_total": pytest.approx(1232.8)}


def test_customers_at_high_risk_counts_current_customers_at_50_percent_or_more():
    risk = pd.Series([0.2, 0.5, 0.7, 0.9, 0.49999])
    active = pd.Series([True, True, False, None, True], dtype="boolean")  # unknown status counts as current
    assert customers_at_high_risk(risk, active) == 2  # 0.5 (current) and 0.9 (unknown); 0.7 has left


def test_actions_section_on_the_subscription_demo_agrees_with_the_action_list():
    from analytics.business.churn_analysis import churn_analysis
    from analytics.business.value import purchase_analysis, score_customers, value_and_risk
    from analytics.data.datasets import load_demo
    from analytics.models.clv import ClvSettings
    from analytics.reports.report import ReportSettings, build_report

    data = load_demo("subscription")
    report = build_report(data, ReportSettings(), sections={"actions": "analytics.reports.report:actions_section"})
    section = report["actions"]
    churn = churn_analysis(data)
    assert churn_analysis(data) is churn  # one fit shared by the churn, voice and actions sections
    clv = purchase_analysis(data, ClvSettings(time_unit="W")).customers
    scores = score_customers(data, value_and_risk(clv, churn.scores), ClvSettings(time_unit="W"))
    full, basis = ranked_actions(data, scores)
    assert basis == section["segment_basis"] == "RFM segment"
    assert section["customers_ranked"] == len(full) == 4236
    assert section["value_at_stake_total"] == pytest.approx(full["value_at_stake"].sum(), rel=1e-12)
    for n in (10, 20, 100):
        assert section[f"value_at_stake_top_{n}"] == pytest.approx(full["value_at_stake"].head(n).sum(), rel=1e-12)
    # Home's top 100 before the shared function: value x risk of current customers, largest 100 summed
    stake = scores.frame["value"] * scores.frame["churn_probability"]
    assert section["value_at_stake_top_100"] == pytest.approx(stake.nlargest(100).sum(), rel=1e-12)
    scored = churn.scores
    expected_high = int(((scored["churn_probability"] >= 0.5) & scored["active"].astype(bool)).sum())
    assert section["customers_at_high_risk"] == expected_high == 513
    listed = pd.DataFrame(section["top"])
    assert listed["rank"].tolist() == list(range(1, 21))
    assert listed["customer_id"].tolist() == full[CUSTOMER_ID].head(20).astype(str).tolist()
    assert listed["reason"].tolist() == full["reason"].head(20).tolist()
    assert np.allclose(listed["value_at_stake"], listed["value"] * listed["churn_probability"], rtol=1e-12)


def test_actions_section_on_a_customers_table_ranks_by_quadrant_without_purchases():
    from pathlib import Path

    from analytics.data.ingest import load_files
    from analytics.reports.report import ReportSettings, build_report

    path = Path(__file__).resolve().parents[2] / "data" / "subscription_customers.csv"
    data = load_files([(path.name, path.read_bytes())])
    assert not data.has_transactions
    section = build_report(data, ReportSettings(), sections={"actions": "analytics.reports.report:actions_section"})[
        "actions"
    ]
    assert section["segment_basis"] == "Value x risk quadrant"
    assert section["value_source"].startswith("12-month value at today's monthly charge")
    assert section["risk_source"] == "the churn model (probability of leaving)"
    assert section["customers_ranked"] > 0 and len(section["top"]) == 20


def test_action_list_ranks_and_aligns_as_pandas_does_with_ties_and_missing_customers():
    rng = np.random.default_rng(11)
    ids = [f"C{i:03d}" for i in range(300)]
    clv = pd.Series(rng.choice([100.0, 200.0, 50.0], 300), index=ids)
    risk = pd.Series(rng.choice([0.5, 0.25, 1.0], 300), index=ids)  # many ties in value at stake and CLV
    others = ids[::-1][:250] + ["X1", "X2"]  # another order, some ranked customers missing, extras
    segment = pd.Series(pd.Categorical(rng.choice(["Champions", "Lost"], 252)), index=others)
    days = pd.Series(rng.integers(0, 400, 252), index=others)
    out = action_list(clv, risk, segment=segment, days_since_last_purchase=days)
    expected = pd.DataFrame({"clv": clv, "churn_probability": risk})
    expected["value_at_stake"] = expected["clv"] * expected["churn_probability"]
    expected = expected.sort_values(["value_at_stake", "clv"], ascending=False)
    assert out["customer_id"].tolist() == expected.index.tolist()
    pd.testing.assert_series_equal(
        out.set_index("customer_id")["segment"], segment.reindex(expected.index).astype(object), check_names=False
    )
    pd.testing.assert_series_equal(
        out.set_index("customer_id")["days_since_last_purchase"],
        days.reindex(expected.index).astype(float),
        check_names=False,
    )
    assert out["segment"].isna().sum() == 50


def test_value_and_risk_side_by_side_equals_the_aligned_concat():
    ids = pd.Index([f"C{i}" for i in range(6)], name="customer_id")
    clv = pd.DataFrame({"clv": [1.0, 2, 3, 4, 5, 6], "p_alive": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}, index=ids)
    scores = pd.DataFrame({"customer_id": list(ids), "churn_probability": np.linspace(0, 1, 6), "active": True})
    same = value_and_risk(clv, scores)
    pd.testing.assert_frame_equal(
        same, pd.concat([clv, scores.set_index("customer_id")[["churn_probability", "active"]]], axis=1)
    )
    shuffled = scores.iloc[::-1]  # another order: aligned on the ids
    pd.testing.assert_frame_equal(value_and_risk(clv, shuffled), same)


def test_value_and_risk_aligns_the_churn_models_order_by_position_as_concat_does(monkeypatch):
    from analytics.business import value

    rng = np.random.default_rng(2)
    ids = pd.Index([f"C{i}" for i in rng.permutation(400)], name="customer_id")  # first-purchase order
    clv = pd.DataFrame({"clv": rng.gamma(2.0, 50.0, 400), "p_alive": rng.random(400)}, index=ids)
    by_id = sorted(ids)  # the churn model's order
    scores = pd.DataFrame(
        {
            "customer_id": by_id,
            "churn_probability": rng.random(400),
            "active": pd.array(rng.random(400) < 0.8, dtype="boolean"),
        }
    )
    expected = pd.concat([clv, scores.set_index("customer_id")[["churn_probability", "active"]]], axis=1)
    with monkeypatch.context() as patch:  # the same customers in another order: no join
        patch.setattr(value.pd, "concat", None)
        aligned = value_and_risk(clv, scores)
    pd.testing.assert_frame_equal(aligned, expected)
    fewer = scores.iloc[1:]  # a customer missing: the join as before
    pd.testing.assert_frame_equal(
        value_and_risk(clv, fewer),
        pd.concat([clv, fewer.set_index("customer_id")[["churn_probability", "active"]]], axis=1),
    )
    twice = scores.assign(customer_id=[by_id[0], *by_id[:-1]])  # an id twice, one missing: not the same customers
    assert value._same_customers(ids, pd.Index(twice["customer_id"])) is None


def test_action_list_puts_two_columns_of_one_table_side_by_side_as_the_inner_join_does(monkeypatch):
    from analytics.business import actions as actions_module

    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {"value": rng.gamma(2.0, 50.0, 300), "churn_probability": rng.random(300)},
        index=pd.Index([f"C{i}" for i in rng.permutation(300)], name="customer_id"),
    )
    shuffled = frame["churn_probability"].sample(frac=1.0, random_state=0)  # another index: the inner join
    expected = action_list(frame["value"], shuffled)
    with monkeypatch.context() as patch:
        patch.setattr(actions_module.pd, "concat", None)
        same = action_list(frame["value"], frame["churn_probability"])
    pd.testing.assert_frame_equal(same, expected)
    assert same.attrs == expected.attrs


def test_first_ranks_by_partition_are_the_full_sorts_first_ranks_with_ties_percentiles_and_total():
    from analytics.business.actions import _ranked, _value_percentile

    rng = np.random.default_rng(5)
    value = rng.choice([0.0, 50.0, 100.0, 200.0, 200.0 + 1e-9], 5000)
    risk = rng.choice([0.0, 0.25, 0.5, 1.0], 5000)
    stake = value * risk  # many ties in value at stake, in CLV, and zeros
    full = np.lexsort((-value, -stake))
    for top in (1, 7, 100, 1300, 4999):
        np.testing.assert_array_equal(_ranked(stake, value, top), full[:top])
    np.testing.assert_array_equal(_ranked(stake, value, None), full)
    ranks = pd.Series(value).rank(pct=True).to_numpy()
    np.testing.assert_array_equal(_value_percentile(value, full[:300]), ranks[full[:300]])  # bit for bit
    np.testing.assert_array_equal(_value_percentile(value, full), ranks[full])  # every row: from one sort
    ids = [f"C{i:05d}" for i in range(5000)]
    clv, churn = pd.Series(value, index=ids), pd.Series(risk, index=ids)
    everyone = action_list(clv, churn)
    first = action_list(clv, churn, top=100)
    pd.testing.assert_frame_equal(first, everyone.head(100))
    assert first.attrs["value_at_stake_total"] == everyone.attrs["value_at_stake_total"]  # the same sum, same order
    assert everyone.attrs["value_at_stake_total"] == everyone["value_at_stake"].sum()


def test_ranked_actions_line_up_rfm_and_scores_by_the_customer_day_tables_codes(monkeypatch):
    from analytics.business import actions as actions_module
    from analytics.business.churn_analysis import churn_analysis
    from analytics.business.value import purchase_analysis, score_customers
    from analytics.data.datasets import load_demo
    from analytics.engine.customer_days import customer_days
    from analytics.engine.id_positions import customer_codes
    from analytics.models.clv import ClvSettings

    data = load_demo("cdnow_sample")
    settings = ClvSettings(time_unit="W")
    clv = purchase_analysis(data, settings).customers
    churn = churn_analysis(data).scores
    table = customer_days(data.require_transactions())
    lined_up = value_and_risk(clv, churn, table)
    pd.testing.assert_frame_equal(lined_up, value_and_risk(clv, churn))  # by codes = by hashing the ids
    assert customer_codes(table, clv.index) is not None  # first purchase order
    assert customer_codes(table, pd.Index(churn["customer_id"])) is not None  # by id
    scores = score_customers(data, lined_up, settings)
    calls = record_id_positions(monkeypatch, actions_module)
    listed, _ = ranked_actions(data, scores, top=50)
    assert len(calls) == 1  # one lookup for the RFM table's segment and days
    source, target, passed = calls[0]
    assert passed is table  # both in the table's orders (RFM by id, the scores by first purchase): by codes
    assert customer_codes(table, source) is not None and customer_codes(table, target) is not None
    monkeypatch.setattr(actions_module, "customer_days", lambda transactions: None)  # no table: hashed
    pd.testing.assert_frame_equal(ranked_actions(data, scores, top=50)[0], listed)
    assert listed["segment"].notna().all() and listed["days_since_last_purchase"].notna().all()
