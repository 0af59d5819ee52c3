"""Campaign planner: expected profit of targeting the riskiest k%, checked against a hand table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.business.campaign import CampaignAssumptions, plan_campaign
from analytics.data.schema import DataError
from analytics.reports.charts.churn import profit_chart

# Ten customers, already in risk order. Offer cost 10, save rate 0.5.
RISK = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
VALUE = [100, 200, 50, 100, 100, 100, 100, 100, 100, 100]
# Each contact adds p * 0.5 * value - 10:
#   35, 70, 7.5, 20, 15, 10, 5, 0, -5, -7.5
# Cumulative profit after 1..10 contacts:
HAND_PROFIT = [35.0, 105.0, 112.5, 132.5, 147.5, 157.5, 162.5, 162.5, 157.5, 150.0]


def test_profit_curve_matches_hand_table():
    plan = plan_campaign(pd.Series(RISK[::-1]), pd.Series(VALUE[::-1]), CampaignAssumptions(10, 0.5))
    curve = plan.curve
    # k% of 10 customers -> ceil(k / 10) contacted: k = 10 -> 1, 11 -> 2, ..., 100 -> 10.
    at = curve.set_index("percent_targeted")
    assert [at.loc[10 * j, "profit"] for j in range(1, 11)] == HAND_PROFIT
    assert at.loc[0, "profit"] == 0 and at.loc[0, "customers_targeted"] == 0
    assert at.loc[1, "customers_targeted"] == 1 and at.loc[11, "customers_targeted"] == 2
    assert at.loc[30, "expected_churners"] == pytest.approx(0.9 + 0.8 + 0.7)
    assert at.loc[30, "expected_saves"] == pytest.approx(1.2)
    # The 7th and 8th contacts tie at 162.5; the smallest k reaching it is 61% (7 customers).
    assert (plan.best_percent, plan.best_customers, plan.best_profit) == (61, 7, 162.5)
    assert plan.best_cost == 70 and plan.best_value_saved == 232.5


def test_one_value_for_everyone_and_no_campaign_when_nothing_pays():
    plan = plan_campaign(np.array([0.5, 0.1]), 100.0, CampaignAssumptions(offer_cost=20, save_rate=0.3))
    # Contacts add 0.5*0.3*100 - 20 = -5 and 0.1*0.3*100 - 20 = -17: best is not to run it.
    assert (plan.best_percent, plan.best_customers, plan.best_profit) == (0, 0, 0.0)
    assert plan.curve["profit"].iloc[-1] == pytest.approx(-22.0)


def test_bad_inputs_are_plain_errors():
    with pytest.raises(DataError, match="between 0 and 1"):
        CampaignAssumptions(offer_cost=5, save_rate=20)
    with pytest.raises(DataError, match="zero or more"):
        CampaignAssumptions(offer_cost=-1, save_rate=0.2)
    with pytest.raises(DataError, match="probabilities between 0 and 1"):
        plan_campaign([0.2, 1.4], 10.0, CampaignAssumptions(1, 0.2))
    with pytest.raises(DataError, match="one number per customer"):
        plan_campaign([0.2, 0.4], [1.0], CampaignAssumptions(1, 0.2))
    with pytest.raises(DataError, match="no customers"):
        plan_campaign([], 1.0, CampaignAssumptions(1, 0.2))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=50),
    st.floats(0, 50),
    st.floats(0, 1),
)
def test_best_point_is_the_curve_maximum(risks, cost, save_rate):
    plan = plan_campaign(risks, 80.0, CampaignAssumptions(cost, save_rate))
    assert plan.best_profit == pytest.approx(plan.curve["profit"].max())
    assert plan.best_profit >= 0  # targeting nobody is always an option
    assert plan.curve["customers_targeted"].iloc[-1] == len(risks)


def test_profit_chart_marks_the_best_point():
    plan = plan_campaign(RISK, VALUE, CampaignAssumptions(10, 0.5))
    spec = profit_chart(plan.curve, plan.best_percent, currency="EUR").to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["rule", "line", "point", "text"]
    assert spec["layer"][3]["encoding"]["text"] == {"value": "Best: top 61%"}
    assert spec["layer"][1]["encoding"]["y"]["title"] == "Expected profit (EUR)"
