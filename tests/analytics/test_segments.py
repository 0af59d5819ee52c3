"""RFM scores (with ties), named segments, value x risk quadrants and k-means personas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.business.segments import (
    AT_RISK,
    CANT_LOSE,
    CHAMPIONS,
    HIBERNATING,
    LOST,
    LOYAL,
    NEW,
    POTENTIAL_LOYALISTS,
    SAVE_FIRST,
    SEGMENTS,
    Personas,
    quintile_score,
    rfm_table,
    segment_names,
    segment_summary,
    value_risk_matrix,
)
from analytics.data.schema import CustomerData, DataError
from analytics.reports.sections.segments import report_section as segments_report_section
from tests.analytics.helpers import tiny_data, tiny_transactions


def test_quintiles_without_ties():
    assert quintile_score(pd.Series(range(1, 11))).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    days = pd.Series(range(10))  # fewer days since the last purchase is better
    assert quintile_score(days, higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_tied_values_get_the_same_score():
    # six one-time buyers: 0 customers below them -> 1; the value 2 has 6 of 10 below -> 1 + floor(3)
    values = pd.Series([1, 1, 1, 1, 1, 1, 2, 3, 4, 5])
    assert quintile_score(values).tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # order of rows does not matter for ties
    shuffled = values.sample(frac=1.0, random_state=3)
    assert quintile_score(shuffled).sort_index().tolist() == quintile_score(values).tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=40))
def test_scores_are_1_to_5_monotone_and_equal_for_equal_values(values):
    s = pd.Series(values)
    scores = quintile_score(s)
    assert scores.between(1, 5).all()
    by_value = scores.groupby(s).nunique()
    assert (by_value == 1).all()
    per_value = scores.groupby(s).first().sort_index()
    assert per_value.is_monotonic_increasing


def test_missing_values_are_a_data_error():
    with pytest.raises(DataError, match="every customer"):
        quintile_score(pd.Series([1.0, np.nan]))


def test_rfm_table_on_the_tiny_log():
    rfm = rfm_table(tiny_transactions(), as_of=pd.Timestamp("2024-03-31"))
    assert rfm["days_since_last_purchase"].to_dict() == {"A": 21, "B": 29, "C": 50, "D": 0}
    assert rfm["orders"].to_dict() == {"A": 4, "B": 2, "C": 1, "D": 2}
    assert rfm["revenue"].to_dict() == {"A": 100.0, "B": 60.0, "C": 100.0, "D": 100.0}
    # n = 4: score = 1 + floor(5 x customers strictly worse / 4)
    assert rfm["r_score"].to_dict() == {"A": 3, "B": 2, "C": 1, "D": 4}
    assert rfm["f_score"].to_dict() == {"A": 4, "B": 2, "C": 1, "D": 2}
    assert rfm["m_score"].to_dict() == {"A": 2, "B": 1, "C": 2, "D": 2}
    assert rfm["rfm"].to_dict() == {"A": "342", "B": "221", "C": "112", "D": "422"}
    assert rfm["segment"].astype(str).to_dict() == {"A": LOYAL, "B": HIBERNATING, "C": LOST, "D": POTENTIAL_LOYALISTS}
    assert "recency" not in rfm.columns


def test_segment_grid_corners_and_middle():
    r = pd.Series([5, 4, 5, 1, 1, 2, 3, 2, 3])
    f = pd.Series([5, 4, 1, 5, 1, 3, 3, 1, 1])
    assert segment_names(r, f).astype(str).tolist() == [
        CHAMPIONS,
        LOYAL,
        NEW,
        CANT_LOSE,
        LOST,
        AT_RISK,
        POTENTIAL_LOYALISTS,
        HIBERNATING,
        HIBERNATING,
    ]


def test_segment_summary_sizes_revenue_and_clv():
    rfm = rfm_table(tiny_transactions(), as_of=pd.Timestamp("2024-03-31"))
    clv = pd.Series({"A": 300.0, "B": 50.0, "C": 10.0, "D": 200.0})
    summary = segment_summary(rfm, clv)
    assert list(summary.index) == list(SEGMENTS)
    assert summary.loc[LOYAL, "customers"] == 1
    assert summary.loc[LOST, "revenue"] == 100.0
    assert summary.loc[CHAMPIONS, "customers"] == 0
    assert summary.loc[POTENTIAL_LOYALISTS, "mean_clv"] == 200.0
    assert summary["customer_share"].sum() == pytest.approx(1.0)
    assert summary["revenue_share"].sum() == pytest.approx(1.0)


def test_segments_report_section():
    section = segments_report_section(tiny_data())
    assert list(section) == list(SEGMENTS)
    assert section[LOYAL] == {"customers": 1, "revenue": 100.0}
    assert section[NEW] == {"customers": 0, "revenue": 0.0}


def test_segments_need_transactions_or_attributes_that_form_personas():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "nps": [9.0, 3.0]})
    with pytest.raises(DataError, match="need purchases.*at least 10 customers"):
        segments_report_section(CustomerData("x", customers=customers))


def test_a_customers_table_without_purchases_gets_its_personas():
    # 30 long-tenure, high-charge customers who stayed and 20 new, low-charge ones who all left,
    # with a RowNumber column (1..50) that must not count as a trait.
    n_stay, n_left = 30, 20
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n_stay + n_left)],
            "row_number": np.arange(1, n_stay + n_left + 1),
            "tenure_months": [60.0 + i % 3 for i in range(n_stay)] + [3.0 + i % 2 for i in range(n_left)],
            "monthly_charge": [100.0 + i % 5 for i in range(n_stay)] + [20.0 + i % 4 for i in range(n_left)],
            "churned": [False] * n_stay + [True] * n_left,
        }
    )
    section = segments_report_section(CustomerData("x", customers=customers))
    assert list(section) == ["Persona 1", "Persona 2"]  # the largest first
    stay, left = section["Persona 1"], section["Persona 2"]
    assert (stay["customers"], stay["churn_rate"], stay["revenue"]) == (30, 0.0, None)
    assert (left["customers"], left["churn_rate"]) == (20, 1.0)
    # means by hand: tenure (60 x 10 + 61 x 10 + 62 x 10) / 30 = 61.0; everyone (1830 + 70) / 50 = 38.0
    assert "more months as a customer (61.0 vs 38.0)" in stay["description"]
    assert "row" not in stay["description"].lower() and "row" not in left["description"].lower()


def test_value_risk_quadrants_at_the_medians():
    clv = pd.Series({"c1": 100.0, "c2": 200.0, "c3": 300.0, "c4": 400.0})
    risk = pd.Series({"c1": 0.1, "c2": 0.9, "c3": 0.2, "c4": 0.8})
    vr = value_risk_matrix(clv, risk)
    assert (vr.value_threshold, vr.risk_threshold) == (250.0, 0.5)
    assert vr.customers["quadrant"].astype(str).to_dict() == {
        "c1": "Low priority",
        "c2": "Low-cost save",
        "c3": "Keep close",
        "c4": SAVE_FIRST,
    }
    assert vr.customers.loc["c4", "value_at_stake"] == pytest.approx(320.0)
    summary = vr.summary()
    assert summary.loc[SAVE_FIRST, "customers"] == 1
    assert summary["customers"].sum() == 4


def test_value_risk_user_thresholds_and_bad_probabilities():
    clv = pd.Series({"c1": 100.0, "c2": 200.0})
    vr = value_risk_matrix(clv, pd.Series({"c1": 0.3, "c2": 0.3}), value_threshold=50, risk_threshold=0.25)
    assert (vr.customers["quadrant"] == SAVE_FIRST).all()
    with pytest.raises(DataError, match="between 0 and 1"):
        value_risk_matrix(clv, pd.Series({"c1": 1.5, "c2": 0.2}))


def _three_groups(seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 80
    groups = np.repeat([0, 1, 2], n)
    orders = np.concatenate([rng.normal(20, 1, n), rng.normal(5, 1, n), rng.normal(5, 1, n)])
    revenue = np.concatenate([rng.normal(500, 20, n), rng.normal(100, 20, n), rng.normal(500, 20, n)])
    nps = np.concatenate([rng.normal(6, 0.4, n), rng.normal(9, 0.3, n), rng.normal(2, 0.4, n)])
    frame = pd.DataFrame({"orders": orders, "revenue": revenue, "nps": nps}, index=[f"c{i}" for i in range(3 * n)])
    return frame, groups


def test_personas_find_the_planted_groups_and_describe_them():
    features, groups = _three_groups()
    personas = Personas(random_state=0).fit(features)
    assert personas.k_ == 3
    assert max(personas.silhouette_, key=personas.silhouette_.get) == 3
    # every planted group maps onto exactly one persona
    crosstab = pd.crosstab(groups, personas.labels_.to_numpy())
    assert ((crosstab > 0).sum(axis=1) == 1).all()
    heavy = personas.labels_.iloc[0]  # first planted group: many orders
    text = personas.descriptions_[heavy]
    assert text.startswith(f"{heavy} (80 customers, 33%)")
    assert "far more orders" in text
    assert personas.profile_.loc[heavy, "orders"] == pytest.approx(features["orders"].iloc[:80].mean())


def test_personas_are_reproducible():
    features, _ = _three_groups(seed=2)
    a = Personas(random_state=7).fit(features)
    b = Personas(random_state=7).fit(features)
    assert a.labels_.equals(b.labels_)
    assert a.descriptions_ == b.descriptions_


def test_personas_need_enough_customers():
    with pytest.raises(DataError, match="at least 10 customers"):
        Personas().fit(pd.DataFrame({"orders": [1.0, 2.0, 3.0]}))


def test_persona_features_combine_behaviour_and_attributes():
    from analytics.business.segments import persona_features

    features = persona_features(tiny_data(with_customers=True))
    assert list(features.index) == ["A", "B", "C", "D"]  # E and F never bought
    assert {"days_since_last_purchase", "orders", "revenue", "average_order_value", "nps"} <= set(features.columns)
    assert features.loc["A", "average_order_value"] == pytest.approx(25.0)
    # resolution_hours is filled for half the customers: kept, blanks get the median of A, C, D
    assert features.loc["B", "resolution_hours"] == pytest.approx(4.0)
    assert "ces" in features.columns and features.notna().all().all()


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_quintile_scores_count_strictly_worse_customers_as_pandas_rank_does(higher_is_better):
    rng = np.random.default_rng(11)
    values = np.r_[rng.integers(0, 40, 3000).astype(float), rng.gamma(2.0, 30.0, 3000).round(1), 0.0, -0.0, -3.5]
    values = pd.Series(rng.permutation(values), index=[f"C{i}" for i in range(len(values))])
    worse = values.rank(method="min", ascending=higher_is_better) - 1
    expected = pd.Series(1 + np.floor(5 * worse / len(values)), index=values.index).clip(1, 5).astype(int)
    pd.testing.assert_series_equal(quintile_score(values, higher_is_better=higher_is_better), expected)
