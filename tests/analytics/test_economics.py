"""Retention economics: closed forms from the literature, hand computations, invariants."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.business.economics import (
    MAX_RETENTION,
    SOURCE_ACQUISITION,
    SOURCE_DISCOUNTING,
    SOURCE_KEPT,
    SOURCE_REFERRALS,
    SOURCE_SERVE,
    SOURCE_SPEND,
    WATERFALL_SOURCES,
    BaseAssumptions,
    LoyaltyEffects,
    RetentionLift,
    apply_lift,
    clv_gupta_lehmann,
    customer_lifetime_value,
    per_period_rate,
    simulate,
    steady_state_customers,
    whatif,
)
from analytics.business.whatif_inputs import WhatIfSettings, build_assumptions, defaults_from_data
from analytics.data import schema as s
from analytics.data.schema import DataError
from analytics.reports.charts.economics import customers_over_time, profit_waterfall, reichheld_band, waterfall_frame
from analytics.reports.sections.whatif import report_section

# Gupta & Lehmann's worked case: margin 100 a period, paid at the period's end, discount 10%.
GL = BaseAssumptions(
    starting_customers=1.0, retention=0.80, revenue_per_customer=100.0, margin_rate=1.0, discount_rate=0.10, period="Y"
)
POINTS_5 = RetentionLift(5.0, "points")
# A business with every moving part on, used for invariants.
BUSY = BaseAssumptions(
    starting_customers=10_000,
    retention=0.90,
    revenue_per_customer=40.0,
    margin_rate=0.30,
    new_customers=800,
    acquisition_cost=40.0,
    fixed_costs=20_000.0,
    discount_rate=0.008,
)
ALL_EFFECTS = LoyaltyEffects(spend_growth=0.01, referrals=0.05, cost_reduction=0.01, cost_reduction_cap=0.2)


def with_(base: BaseAssumptions, **changes) -> BaseAssumptions:
    return BaseAssumptions(**{**base.__dict__, **changes})


# ---------------------------------------------------------------- closed forms


def test_gupta_lehmann_clv_266_67_to_340_is_plus_27_5_percent():
    assert clv_gupta_lehmann(100, 0.80, 0.10) == pytest.approx(266.6667, abs=1e-4)
    assert clv_gupta_lehmann(100, 0.85, 0.10) == pytest.approx(340.00, abs=1e-9)
    result = whatif(GL, lift=POINTS_5, horizon=12)
    assert result.clv_base == pytest.approx(800 / 3, rel=1e-12)
    assert result.clv_lifted == pytest.approx(340.0, rel=1e-12)
    assert result.clv_change_pct == pytest.approx(27.5, rel=1e-12)


def test_steady_state_base_is_a_over_one_minus_r():
    assert steady_state_customers(2000, 0.80) == pytest.approx(10_000)
    assert steady_state_customers(2000, 0.85) == pytest.approx(13_333.3333, abs=1e-3)
    assert steady_state_customers(2000, 0.80, referrals=0.25) == math.inf  # 0.8 * 1.25 = 1: no steady state
    # A base already at 10,000 with 2,000 new a period stays there; lifted it moves to 13,333.
    base = BaseAssumptions(starting_customers=10_000, retention=0.80, revenue_per_customer=1.0, new_customers=2000)
    result = whatif(base, lift=POINTS_5, horizon=150)
    np.testing.assert_allclose(result.frame_base["customers"], 10_000, rtol=1e-12)
    assert result.frame_lifted["customers"].iloc[-1] == pytest.approx(40_000 / 3, rel=1e-9)


def test_base_grows_towards_steady_state_as_one_minus_r_to_the_t():
    base = BaseAssumptions(starting_customers=0, retention=0.80, revenue_per_customer=1.0, new_customers=2000)
    frame = simulate(base, horizon=200)
    t = frame["period"].to_numpy()
    np.testing.assert_allclose(frame["customers"], 10_000 * (1 - 0.8**t), rtol=1e-12)
    assert frame["customers"].iloc[-1] == pytest.approx(10_000, rel=1e-12)


@pytest.mark.parametrize("retention", [0.80, 0.85])
def test_finite_horizon_profit_converges_to_clv(retention):
    # One customer, no costs: NPV over H periods = CLV * (1 - q**H), q = r / (1 + d).
    q = retention / 1.10
    clv = clv_gupta_lehmann(100, retention, 0.10)
    errors = []
    for horizon in (1, 5, 12, 40, 120, 300):
        npv = simulate(GL, retention=retention, horizon=horizon)["discounted_profit"].sum()
        assert npv == pytest.approx(clv * (1 - q**horizon), rel=1e-12)
        errors.append(clv - npv)
    assert all(a > b > 0 for a, b in zip(errors[:4], errors[1:4]))  # shrinks with the horizon
    assert abs(errors[-1]) < 1e-9 * clv  # and vanishes: 0.73**300


def test_clv_with_linear_spend_growth_matches_closed_form():
    # sum_k m (1 + g (k-1)) q**k = m q / (1 - q) + m g q**2 / (1 - q)**2
    q = 0.8 / 1.1
    expected = 100 * q / (1 - q) + 100 * 0.02 * q**2 / (1 - q) ** 2
    got = customer_lifetime_value(GL, LoyaltyEffects(spend_growth=0.02))
    assert got == pytest.approx(expected, rel=1e-12)
    assert got == pytest.approx(266.6667 + 2 * (0.8 / 0.3) ** 2, rel=1e-6)  # 280.89


# ---------------------------------------------------------------- the lift


def test_lift_in_points_and_relative():
    assert apply_lift(0.80, RetentionLift(5, "points")) == pytest.approx(0.85, abs=1e-15)
    assert apply_lift(0.80, RetentionLift(5, "relative")) == pytest.approx(0.84, abs=1e-15)
    assert apply_lift(0.80, RetentionLift(-5, "points")) == pytest.approx(0.75, abs=1e-15)
    assert apply_lift(0.03, RetentionLift(-5, "points")) == 0.0


def test_yearly_basis_lifts_yearly_retention():
    monthly = 0.80 ** (1 / 12)  # 80% a year
    lifted = apply_lift(monthly, RetentionLift(5, "points", "year"), period="M")
    assert lifted**12 == pytest.approx(0.85, rel=1e-12)
    assert apply_lift(0.80, RetentionLift(5, "points", "year"), period="Y") == pytest.approx(0.85, abs=1e-15)
    # Occasional buyers (30% a month, 0.00005% a year): compounding means nothing, the month is lifted.
    assert apply_lift(0.30, RetentionLift(5, "points", "year"), period="M") == pytest.approx(0.35, abs=1e-15)


def test_lift_is_capped_below_one():
    assert apply_lift(0.98, POINTS_5) == MAX_RETENTION
    result = whatif(with_(GL, retention=0.98), lift=POINTS_5, horizon=12)
    assert result.retention_capped and result.retention_lifted == MAX_RETENTION
    assert "stopped at 99.9%" in result.explanation
    with pytest.raises(ValueError, match="retention"):
        apply_lift(1.2, POINTS_5)
    with pytest.raises(ValueError, match="retention"):
        with_(GL, retention=1.0)
    with pytest.raises(ValueError, match="mode"):
        RetentionLift(5, "percent")
    with pytest.raises(ValueError, match="horizon"):
        whatif(GL, lift=POINTS_5, horizon=0)


@pytest.mark.parametrize("basis", ["period", "year"])
@pytest.mark.parametrize("acquisition", ["constant", "replace"])
def test_lift_of_zero_changes_nothing_exactly(basis, acquisition):
    base = with_(BUSY, acquisition=acquisition)
    result = whatif(base, ALL_EFFECTS, RetentionLift(0.0, "points", basis), horizon=48)
    assert result.retention_lifted == base.retention
    pd.testing.assert_frame_equal(result.frame_base, result.frame_lifted, check_exact=True)
    assert result.profit_change == 0.0
    assert result.profit_change_pct == 0.0
    assert result.clv_change_pct == 0.0
    assert (result.waterfall["amount"] == 0.0).all()


# ---------------------------------------------------------------- the model's mechanics


def test_cost_to_serve_falls_with_tenure_up_to_the_cap():
    # One customer, revenue 100, margin 30%: variable cost 70 falls 5% a period of tenure, at most 25%.
    base = BaseAssumptions(starting_customers=1, retention=0.9, revenue_per_customer=100, margin_rate=0.3)
    loyalty = LoyaltyEffects(cost_reduction=0.05, cost_reduction_cap=0.25)
    margin = simulate(base, loyalty, horizon=10)["margin"].to_numpy()
    assert margin[0] == pytest.approx(0.9 * 30)  # first paid period: no saving yet
    assert margin[2] == pytest.approx(0.9**3 * (30 + 70 * 0.10))  # tenure 3: 10% lower
    assert margin[9] == pytest.approx(0.9**10 * (30 + 70 * 0.25))  # capped at 25%


def test_referrals_bring_free_customers_and_a_larger_steady_state():
    base = BaseAssumptions(
        starting_customers=0, retention=0.8, revenue_per_customer=1.0, new_customers=1000, acquisition_cost=50
    )
    frame = simulate(base, LoyaltyEffects(referrals=0.1), horizon=400)
    assert frame["customers"].iloc[-1] == pytest.approx(steady_state_customers(1000, 0.8, 0.1), rel=1e-9)  # 8,333
    assert frame["customers"].iloc[-1] == pytest.approx(1000 / 0.12, rel=1e-9)
    np.testing.assert_allclose(frame["acquisition_spend"], 50_000)  # referred customers cost nothing
    np.testing.assert_allclose(frame["referred"], 0.1 * frame["retained"])


def test_replacement_keeps_the_base_and_the_lift_saves_acquisition():
    # Replace every lost customer: 10,000 stay 10,000; at r 0.80 -> 0.85 the business replaces
    # 500 fewer a period, at 12 each: 6,000 a period saved.
    base = BaseAssumptions(
        starting_customers=10_000,
        retention=0.80,
        revenue_per_customer=10.0,
        margin_rate=0.5,
        acquisition_cost=12.0,
        acquisition="replace",
    )
    result = whatif(base, lift=POINTS_5, horizon=24)
    np.testing.assert_allclose(result.frame_base["customers"], 10_000)
    np.testing.assert_allclose(result.frame_lifted["customers"], 10_000)
    amounts = dict(zip(result.waterfall["source"], result.waterfall["amount"]))
    assert amounts[SOURCE_ACQUISITION] == pytest.approx(500 * 12 * 24, rel=1e-12)
    assert amounts[SOURCE_KEPT] == pytest.approx(500 * 5 * 24, rel=1e-12)  # 500 more paying 5 margin
    assert "saves" in result.explanation


@pytest.mark.parametrize("acquisition", ["constant", "replace"])
def test_vectorized_matches_the_per_period_loop(acquisition):
    base = with_(BUSY, acquisition=acquisition)
    for loyalty in (LoyaltyEffects(), ALL_EFFECTS, LoyaltyEffects(spend_growth=-0.05)):
        fast = simulate(base, loyalty, retention=0.93, horizon=120)
        slow = simulate(base, loyalty, retention=0.93, horizon=120, method="loop")
        pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-10)


retentions = st.floats(0.0, 0.98)
loyalties = st.builds(
    LoyaltyEffects,
    spend_growth=st.floats(-0.05, 0.05),
    referrals=st.floats(0.0, 0.3),
    cost_reduction=st.floats(0.0, 0.05),
    cost_reduction_cap=st.floats(0.0, 0.5),
)
bases = st.builds(
    BaseAssumptions,
    starting_customers=st.floats(0, 1e5),
    retention=retentions,
    revenue_per_customer=st.floats(0.01, 1e3),
    margin_rate=st.floats(0.01, 1.0),
    new_customers=st.floats(0, 1e4),
    acquisition_cost=st.floats(0, 500),
    fixed_costs=st.floats(0, 1e5),
    discount_rate=st.floats(0, 0.05),
    acquisition=st.sampled_from(["constant", "replace"]),
)


@settings(max_examples=60, deadline=None)
@given(base=bases, loyalty=loyalties, amount=st.floats(-20, 20), horizon=st.integers(1, 120))
def test_waterfall_parts_sum_to_the_profit_change(base, loyalty, amount, horizon):
    result = whatif(base, loyalty, RetentionLift(amount, "points"), horizon)
    parts = result.waterfall["amount"]
    assert list(result.waterfall["source"]) == list(WATERFALL_SOURCES)
    scale = max(abs(result.profit_base), abs(result.profit_lifted), 1.0)
    assert parts.sum() == pytest.approx(result.profit_change, rel=1e-9, abs=1e-9 * scale)
    undiscounted = result.frame_lifted["profit"].sum() - result.frame_base["profit"].sum()
    assert parts.iloc[:-1].sum() == pytest.approx(undiscounted, rel=1e-9, abs=1e-9 * scale)


@settings(max_examples=40, deadline=None)
@given(base=bases, loyalty=loyalties, horizon=st.integers(1, 60))
def test_loop_and_vectorized_agree_everywhere(base, loyalty, horizon):
    fast = simulate(base, loyalty, horizon=horizon)
    slow = simulate(base, loyalty, horizon=horizon, method="loop")
    scale = max(float(fast.abs().max().max()), 1.0)
    np.testing.assert_allclose(fast.to_numpy(), slow.to_numpy(), rtol=1e-9, atol=1e-9 * scale)


@settings(max_examples=40, deadline=None)
@given(base=bases, amount=st.floats(0.1, 20), horizon=st.integers(1, 120))
def test_a_positive_lift_never_lowers_profit(base, amount, horizon):
    result = whatif(base, lift=RetentionLift(amount, "points"), horizon=horizon)
    scale = max(abs(result.profit_base), 1.0)
    assert result.profit_change >= -1e-9 * scale
    assert result.clv_lifted >= result.clv_base


def test_waterfall_without_loyalty_is_all_kept_customers_and_discounting():
    base = with_(BUSY, discount_rate=0.0)
    result = whatif(base, lift=POINTS_5, horizon=36)
    amounts = dict(zip(result.waterfall["source"], result.waterfall["amount"]))
    assert amounts[SOURCE_SPEND] == amounts[SOURCE_REFERRALS] == amounts[SOURCE_SERVE] == 0.0
    assert amounts[SOURCE_ACQUISITION] == 0.0  # constant acquisition: the same spend in both
    assert amounts[SOURCE_DISCOUNTING] == 0.0  # no discounting at d = 0
    assert amounts[SOURCE_KEPT] == pytest.approx(result.profit_change, rel=1e-12)


def test_each_loyalty_effect_lands_in_its_own_bar():
    result = whatif(BUSY, ALL_EFFECTS, POINTS_5, horizon=60)
    amounts = dict(zip(result.waterfall["source"], result.waterfall["amount"]))
    for source in (SOURCE_KEPT, SOURCE_SPEND, SOURCE_REFERRALS, SOURCE_SERVE):
        assert amounts[source] > 0
    assert amounts[SOURCE_DISCOUNTING] < 0
    assert "Loyalty effects bring" in result.explanation


# ---------------------------------------------------------------- the band and its explanation


def test_leverage_identity_profit_pct_is_margin_pct_times_margin_over_profit():
    base = with_(BUSY, fixed_costs=40_000.0)
    result = whatif(base, lift=POINTS_5, horizon=60)
    assert result.profit_change_pct == pytest.approx(result.margin_change_pct * result.leverage, rel=1e-9)
    assert result.leverage > 2


def test_band_positions_and_sentences():
    # One customer kept 80% -> 85% for ever: profit moves like CLV, +27.5%: within the band.
    within = whatif(GL, lift=POINTS_5, horizon=300)
    assert within.profit_change_pct == pytest.approx(27.5, rel=1e-9)
    assert within.band_position == "within"
    # A 1-point lift: 0.81 / 0.29 vs 0.8 / 0.3 = +4.7%, below.
    below = whatif(GL, lift=RetentionLift(1.0), horizon=300)
    assert below.profit_change_pct == pytest.approx(100 * (0.81 / 0.29 / (0.8 / 0.3) - 1), rel=1e-9)
    assert below.band_position == "below" and "under 5" in below.explanation
    # Fixed costs eat most of the margin: the same gain is a big share of a thin profit.
    thin = with_(GL, starting_customers=1000, fixed_costs=20_000.0)
    above = whatif(thin, lift=POINTS_5, horizon=300)
    assert above.band_position == "above"
    assert above.leverage == pytest.approx(266_666.67 / (266_666.67 - 200_000), rel=1e-6)  # 4.0
    assert "thin profit" in above.explanation
    # A loss-making base has no meaningful percentage.
    loss = whatif(with_(GL, fixed_costs=100.0), lift=POINTS_5, horizon=60)
    assert math.isnan(loss.profit_change_pct) and loss.band_position is None
    assert "no profit" in loss.explanation


# ---------------------------------------------------------------- defaults from data


def tx_data(rows: list[tuple[str, str, float]], customers: pd.DataFrame | None = None) -> s.CustomerData:
    frame = pd.DataFrame(rows, columns=[s.CUSTOMER_ID, s.ORDER_DATE, s.AMOUNT])
    frame[s.ORDER_DATE] = pd.to_datetime(frame[s.ORDER_DATE])
    return s.CustomerData(name="hand", transactions=frame, customers=customers)


# Jan {a,b,c,d}  Feb {a,b,c,e}  Mar {a,b,e,f}  Apr {a,e,f,g}: 3 of 4 come back each month.
HAND_ROWS = [
    ("a", "2024-01-01", 10),
    ("b", "2024-01-10", 20),
    ("c", "2024-01-15", 30),
    ("d", "2024-01-20", 40),
    ("a", "2024-02-01", 10),
    ("b", "2024-02-10", 20),
    ("c", "2024-02-15", 30),
    ("e", "2024-02-20", 50),
    ("a", "2024-03-01", 10),
    ("b", "2024-03-10", 20),
    ("e", "2024-03-15", 50),
    ("f", "2024-03-20", 60),
    ("a", "2024-04-01", 10),
    ("e", "2024-04-10", 50),
    ("f", "2024-04-15", 60),
    ("g", "2024-04-30", 70),
    ("a", "2024-04-02", 5),  # a second order in the same month counts once for activity
]


def test_defaults_from_hand_made_purchases():
    d = defaults_from_data(tx_data(HAND_ROWS))
    assert d["retention_rate"].value == pytest.approx(9 / 12)
    assert d["retention_rate"].measured and "75.0%" in d["retention_rate"].source
    assert d["revenue_per_customer"].value == pytest.approx(545 / 16)  # 545 over 16 customer-months
    assert d["new_customers"].value == pytest.approx(1.0)  # e, f, g in Feb, Mar, Apr
    assert d["starting_customers"].value == 4
    assert d["margin_rate"].value == 0.30 and not d["margin_rate"].measured
    assert d["margin_rate"].source.startswith("Assumed — set your own")
    assert not d["spend_growth"].measured and d["spend_growth"].value == 0.0
    # No acquisition cost column: a third of CLV at 30% margin, 10% a year.
    clv = clv_gupta_lehmann(0.3 * 545 / 16, 0.75, per_period_rate(0.10, "M"))
    assert d["acquisition_cost"].value == pytest.approx(clv / 3)
    assert "3:1" in d["acquisition_cost"].source
    assert d["fixed_costs"].value == 0.0 and "Assumed" in d["fixed_costs"].source


def test_an_incomplete_last_month_is_left_out():
    d = defaults_from_data(tx_data([*HAND_ROWS, ("a", "2024-05-03", 10)]))
    assert d["retention_rate"].value == pytest.approx(9 / 12)
    assert "2024-04" in d["starting_customers"].source
    # A customers table whose dates run on past the purchases does not add empty months.
    later = pd.DataFrame({s.CUSTOMER_ID: ["a"], s.SIGNUP_DATE: pd.to_datetime(["2024-09-30"])})
    d = defaults_from_data(tx_data(HAND_ROWS, customers=later))
    assert d["retention_rate"].value == pytest.approx(9 / 12)


def test_quarterly_period():
    rows = [
        (c, f"2024-{m:02d}-{day:02d}", 1.0)
        for c, m, day in [("a", 1, 1), ("b", 2, 1), ("a", 4, 3), ("c", 5, 1), ("a", 7, 1), ("c", 9, 30)]
    ]
    d = defaults_from_data(tx_data(rows), "Q")
    # Q1 {a,b} -> Q2 {a,c}: 1/2; Q2 {a,c} -> Q3 {a,c}: 2/2; pooled 3/4.
    assert d["retention_rate"].value == pytest.approx(0.75)
    assert d["retention_rate"].unit == "share per quarter"


def test_spend_growth_is_measured_within_customers():
    rng = np.random.default_rng(7)
    rows = []
    for i in range(300):
        start = int(rng.integers(1, 6))  # first purchase after the data's first month
        level = rng.uniform(20, 80)
        for k in range(int(rng.integers(2, 12))):
            month = start + k
            if month > 17:
                break
            spend = level * (1 + 0.02 * k) * rng.uniform(0.95, 1.05)
            rows.append((f"c{i}", f"{2023 + month // 12}-{month % 12 + 1:02d}-01", spend))
    rows.append(("first", "2023-01-01", 10.0))
    rows.append(("last", "2024-06-30", 10.0))
    d = defaults_from_data(tx_data(rows))
    assert d["spend_growth"].measured
    assert d["spend_growth"].value == pytest.approx(0.02, abs=0.002)


def test_defaults_from_a_customers_table_with_signup_and_churn_dates():
    customers = pd.DataFrame(
        {
            s.CUSTOMER_ID: list("abcde"),
            s.SIGNUP_DATE: pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-03", "2024-02-10", "2024-03-01"]),
            s.CHURN_DATE: pd.to_datetime([None, "2024-03-15", None, "2024-04-30", None]),
            s.CHURNED: pd.array([False, True, False, True, False], dtype="boolean"),
            s.MONTHLY_CHARGE: [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )
    data = s.CustomerData(name="subs", customers=customers)
    d = defaults_from_data(data)
    # Complete months Feb-Apr 2024 (the data starts on 5 Jan). Active at the end of Feb {a,b,c,d},
    # of Mar {a,c,d,e} (b left on 15 Mar), of Apr {a,c,e} (d left on 30 Apr): Feb->Mar 3/4, Mar->Apr 3/4.
    assert d["retention_rate"].value == pytest.approx(6 / 8)
    assert d["starting_customers"].value == 3
    assert d["revenue_per_customer"].value == pytest.approx(30.0)  # mean charge of a, c, e
    assert d["new_customers"].value == pytest.approx(1.0)  # Feb 2, Mar 1, Apr 0
    assert d["acquisition_cost"].measured is False


def test_defaults_from_churn_flags_and_tenure():
    customers = pd.DataFrame(
        {
            s.CUSTOMER_ID: list("abcd"),
            s.CHURNED: pd.array([True, True, False, False], dtype="boolean"),
            s.TENURE_MONTHS: [10.0, 20.0, 30.0, 40.0],
            s.MONTHLY_CHARGE: [10.0, 10.0, 20.0, 40.0],
            s.ACQUISITION_COST: [50.0, 70.0, None, 90.0],
        }
    )
    data = s.CustomerData(name="telco", customers=customers)
    monthly = defaults_from_data(data, "M")
    assert monthly["retention_rate"].value == pytest.approx(1 - 2 / 100)  # 2 leavers in 100 months
    quarterly = defaults_from_data(data, "Q")
    assert quarterly["retention_rate"].value == pytest.approx(0.98**3)
    assert quarterly["revenue_per_customer"].value == pytest.approx(30.0 * 3)  # current customers c, d
    assert monthly["starting_customers"].value == 2
    assert monthly["new_customers"].value == pytest.approx(2 * 0.02) and not monthly["new_customers"].measured
    assert monthly["acquisition_cost"].value == pytest.approx(70.0) and monthly["acquisition_cost"].measured


def test_unmeasurable_data_raises_a_plain_data_error():
    with pytest.raises(DataError, match="two complete months"):
        defaults_from_data(tx_data([("a", "2024-01-01", 1.0), ("a", "2024-01-31", 1.0)]))
    no_roles = pd.DataFrame({s.CUSTOMER_ID: ["a", "b"], s.PLAN: ["x", "y"]})
    with pytest.raises(DataError, match="Retention cannot be measured"):
        defaults_from_data(s.CustomerData(name="x", customers=no_roles))
    with pytest.raises(ValueError, match="period"):
        defaults_from_data(tx_data(HAND_ROWS), "D")


# ---------------------------------------------------------------- report section


def test_report_section_contract_and_inputs():
    settings = WhatIfSettings(lift_basis="period", horizon_periods=24, fixed_costs=10.0)
    out = report_section(tx_data(HAND_ROWS), settings)
    json.dumps(out, allow_nan=False)
    assert out["retention_rate"] == pytest.approx(0.75)
    assert out["lifted_retention_rate"] == pytest.approx(0.80)
    assert out["lift_points"] == pytest.approx(5.0)
    assert out["horizon_periods"] == 24
    assert out["band"]["low"] == 25 and out["band"]["high"] == 95
    assert out["band"]["position"] in ("below", "within", "above", None)
    assert out["inputs"]["fixed_costs"]["value"] == 10.0 and "Chosen" in out["inputs"]["fixed_costs"]["source"]
    assert out["inputs"]["retention_rate"]["source"].startswith("Measured")
    for name in ("margin_rate", "acquisition_cost", "discount_rate", "horizon", "lift", "spend_growth", "referrals"):
        assert out["inputs"][name]["source"]
    assert sum(w["amount"] for w in out["waterfall"]) == pytest.approx(out["profit_change"], rel=1e-9)


def test_report_section_gives_none_for_a_meaningless_percentage():
    out = report_section(tx_data(HAND_ROWS), WhatIfSettings(fixed_costs=1e6))
    json.dumps(out, allow_nan=False)
    assert out["profit_change_pct"] is None and out["band"]["position"] is None
    assert out["profit_change"] > 0


def test_build_assumptions_reprices_the_assumed_acquisition_cost_at_the_chosen_margin():
    defaults = defaults_from_data(tx_data(HAND_ROWS))
    base, inputs = build_assumptions(defaults, WhatIfSettings(margin_rate=0.6))
    clv = clv_gupta_lehmann(0.6 * 545 / 16, 0.75, per_period_rate(0.10, "M"))
    assert base.acquisition_cost == pytest.approx(clv / 3)
    assert inputs["margin_rate"].source.startswith("Chosen")


# ---------------------------------------------------------------- demo data


@pytest.fixture(scope="module")
def demo() -> s.CustomerData:
    from analytics.data.datasets import load_demo

    return load_demo("subscription")


def test_demo_subscription_defaults(demo):
    d = defaults_from_data(demo)
    assert 0.5 < d["retention_rate"].value < 1
    assert d["revenue_per_customer"].value > 0
    # The generator grows spend 0.8% a month of tenure (data/make_demo_data.py).
    assert d["spend_growth"].measured
    assert d["spend_growth"].value == pytest.approx(0.008, abs=0.002)
    assert d["acquisition_cost"].measured  # the demo has an acquisition cost per customer
    out = report_section(demo)
    json.dumps(out, allow_nan=False)
    assert out["yearly_lifted_retention_rate"] - out["yearly_retention_rate"] == pytest.approx(0.05, abs=1e-9)
    assert out["profit_change_pct"] > 0 and out["band"]["position"] in ("below", "within", "above")


# ---------------------------------------------------------------- charts


def test_charts_build_with_tooltips():
    result = whatif(BUSY, ALL_EFFECTS, POINTS_5, horizon=36)
    line = customers_over_time(result.customers_frame()).to_dict()
    assert line["mark"]["type"] == "line" and line["encoding"]["tooltip"]
    steps = waterfall_frame(result.waterfall)
    assert steps["end"].iloc[-2] == pytest.approx(result.profit_change, rel=1e-9)
    assert steps["kind"].iloc[-1] == "total" and steps["end"].iloc[-1] == pytest.approx(result.profit_change)
    assert SOURCE_ACQUISITION not in set(steps["source"])  # a zero bar is left out
    bars = profit_waterfall(result.waterfall).to_dict()
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["tooltip"]
    band = reichheld_band(
        pd.DataFrame({"scenario": ["A", "B"], "profit_change_pct": [result.profit_change_pct, np.nan]})
    )
    spec = band.to_dict()
    assert spec["layer"][0]["mark"]["type"] == "rect"
    assert len(band.layer[1].data) == 1  # the NaN scenario is left out


def test_chart_labels_are_readable():
    # Waterfall sources sit level, one word per line (angled labels were cut to "More customers k…"
    # and every other one was hidden); customer counts show as whole numbers (a flat base showed 4,277.000000).
    result = whatif(BUSY, ALL_EFFECTS, POINTS_5, horizon=36)
    axis = profit_waterfall(result.waterfall).to_dict()["encoding"]["x"]["axis"]
    assert axis == {"labelAngle": 0, "labelExpr": "split(datum.label, ' ')", "labelLimit": 0}
    line = customers_over_time(result.customers_frame()).to_dict()
    assert line["encoding"]["y"]["axis"]["format"] == ",.0f"
