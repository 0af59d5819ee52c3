"""The one customer-value module: purchase-model retention, the model base, formula CLV, value at stake."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.business.value import (
    charge_value,
    customer_value,
    formula_clv,
    horizon_label,
    model_base,
    purchase_analysis,
    purchase_retention,
    score_customers,
    survival_given_alive,
    value_at_stake,
)
from analytics.data.datasets import load_demo
from analytics.data.schema import CustomerData, DataError
from analytics.models.clv import ClvSettings


def test_pareto_survival_is_the_gamma_closed_form():
    params = {"r": 0.55, "alpha": 10.58, "s": 0.606, "beta": 11.67}
    got = survival_given_alive("pareto_nbd", params, np.array([0.0, 4.0]), np.array([39.0, 20.0]), 52.0)
    expected = [((11.67 + T) / (11.67 + T + 52.0)) ** 0.606 for T in (39.0, 20.0)]
    assert got == pytest.approx(expected, rel=1e-12)


def test_bg_survival_matches_the_integral_by_hand():
    """With a = b = 1 and x = 0, p is uniform: E_p[(A / (A + p t))^r] = A (1 - (A / (A + t))^(r - 1)) / (t (r - 1))."""
    r, alpha, T, t = 2.5, 4.0, 10.0, 52.0
    A = alpha + T
    by_hand = A * (1 - (A / (A + t)) ** (r - 1)) / (t * (r - 1))
    params = {"r": r, "alpha": alpha, "a": 1.0, "b": 1.0}
    got = survival_given_alive("bg_nbd", params, np.array([0.0]), np.array([T]), t)[0]
    assert got == pytest.approx(by_hand, rel=1e-10)
    # MBG/NBD: one more dropout chance survived, p ~ Beta(1, 2): density 2 (1 - p).
    grid = np.linspace(0, 1, 200_001)
    mbg_hand = np.trapezoid(2 * (1 - grid) * (A / (A + grid * t)) ** r, grid)
    assert survival_given_alive("mbg_nbd", params, np.array([0.0]), np.array([T]), t)[0] == pytest.approx(
        mbg_hand, rel=1e-6
    )


@pytest.fixture(scope="module")
def cdnow_sample_analysis():
    return purchase_analysis(load_demo("cdnow_sample"), ClvSettings(n_bootstrap=0))


def test_yearly_retention_lies_between_new_and_established_customers(cdnow_sample_analysis):
    ret = purchase_retention(cdnow_sample_analysis)
    assert ret.new_customer_yearly_survival < ret.yearly_retention < ret.established_yearly_survival
    assert 0.5 < ret.yearly_retention < 1.0
    assert ret.expected_alive == pytest.approx(cdnow_sample_analysis.customers["p_alive"].sum())
    assert 900 < ret.expected_alive < 1100  # about 1,000 of 2,357 are still active (issue 10)


def test_model_base_values_todays_customers_as_the_clv_section_does(cdnow_sample_analysis):
    base = model_base(cdnow_sample_analysis)
    r = base.yearly_retention ** (1 / 12)
    d = 1.10 ** (1 / 12) - 1
    whatif_value = (
        0.30 * base.revenue_per_customer_month * base.starting_customers * sum((r / (1 + d)) ** k for k in range(1, 13))
    )
    assert whatif_value == pytest.approx(cdnow_sample_analysis.total_clv, rel=0.01)


def test_labels_name_the_horizon():
    assert horizon_label(12) == "12-month value"
    assert horizon_label(60) == "5-year value"
    assert horizon_label(float("inf")) == "lifetime value"


def test_formula_clv_and_value_at_stake():
    assert formula_clv(50.0, 4.0, 3.0, 0.3) == pytest.approx(180.0)
    value = pd.Series([100.0, 200.0, 300.0])
    stake = value_at_stake(value, pd.Series([0.5, 0.5, 1.0]), left=pd.Series([False, True, None]))
    assert stake.tolist() == [50.0, 0.0, 300.0]


def test_charge_value_is_discounted_margin_on_the_monthly_charge():
    # no discounting: 30% of 100 a month for 12 months
    assert charge_value(pd.Series([100.0]), months=12, margin=0.3, annual_discount_rate=0.0).iloc[0] == pytest.approx(
        360
    )
    # 10% a year, each month m discounted by 1.1 ** (-m / 12) (annuity paid at the end of each month)
    expected = 0.3 * 100.0 * sum(1.1 ** (-m / 12) for m in range(1, 13))
    got = charge_value(pd.Series([100.0]), months=12, margin=0.3, annual_discount_rate=0.10).iloc[0]
    assert got == pytest.approx(expected) and got < 360


def test_score_customers_prefers_the_models_and_drops_leavers():
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "monthly_charge": [10.0, 20.0, 30.0], "churned": [False, False, True]}
    )
    data = CustomerData(name="subs", customers=customers)
    vr = pd.DataFrame(
        {"churn_probability": [0.1, 0.5, 0.9], "active": [True, True, False]},
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )
    settings = ClvSettings(horizon_months=12, margin=0.5, annual_discount_rate=0.0)
    scores = score_customers(data, vr, settings)
    assert list(scores.frame.index) == ["a", "b"]  # c has left
    assert scores.frame["value"].tolist() == pytest.approx([0.5 * 10 * 12, 0.5 * 20 * 12])  # charge proxy
    assert scores.frame["churn_probability"].tolist() == [0.1, 0.5]
    assert not scores.model_clv and "monthly charge" in scores.value_source
    with pytest.raises(DataError, match="Churn risk needs"):
        score_customers(data, vr.drop(columns="churn_probability"), settings)


def test_customer_value_sources_share_one_horizon_margin_and_discount():
    """Issue 10: the Churn planner valued a subscriber at 12 x the monthly charge (no margin, no discount)
    while the Action list took 30% margin discounted 10% a year: 12 vs 3.42 charges, 3.5x apart. Both
    now read `customer_value`: margin x charge over the horizon, discounted."""
    settings = ClvSettings(horizon_months=12, margin=0.3, annual_discount_rate=0.10)
    annuity = sum(1.1 ** (-m / 12) for m in range(1, 13))
    customers = pd.DataFrame({"customer_id": ["a", "b"], "monthly_charge": [20.0, np.nan]})
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "c", "c"],
            "order_date": pd.to_datetime(["2024-12-01", "2023-06-01", "2024-06-01"]),
            "amount": [50.0, 999.0, 120.0],
        }
    )
    charged = CustomerData(name="x", customers=customers)
    value, source = customer_value(charged, ["a", "b", "z"], settings)
    assert value.iloc[0] == pytest.approx(0.3 * 20 * annuity) and value.iloc[0] / 20 == pytest.approx(3.42, abs=0.005)
    assert value.iloc[1:].isna().all()  # no charge known: no value (the planner counts it 0)
    assert source.startswith("12-month value at today's monthly charge (30% margin, discounted 10% a year")
    # a model value wins over the charge
    model, source = customer_value(charged, ["b", "a"], settings, clv=pd.Series({"a": 310.0, "b": 45.5}))
    assert model.tolist() == [45.5, 310.0] and "purchase model" in source
    # a purchase log too short for a model: the last 365 days' spend per month (a 50, c 120 / 12 a month)
    short = CustomerData(name="y", transactions=tx)
    value, source = customer_value(short, ["a", "c"], settings)
    assert value.tolist() == pytest.approx([0.3 * 50 / 12 * annuity, 0.3 * 120 / 12 * annuity])
    assert "last year's spend" in source
    with pytest.raises(DataError, match="Value per customer needs"):
        customer_value(CustomerData(name="z", customers=customers[["customer_id"]]), ["a"], settings)


def test_a_fit_at_the_boundary_is_said_once_in_plain_words():
    from analytics.business.value import boundary_note, unique_notes

    note = boundary_note("bg_nbd", {"r": 1.0, "alpha": 2.0, "a": 1e-5, "b": 3.0}, "W")
    assert note is not None and note.startswith("BG/NBD finds no sign of customers dropping out in this window")
    assert boundary_note("pareto_nbd", {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}, "W") is None
    assert unique_notes(["a", "b", "a"]) == ["a", "b"]
