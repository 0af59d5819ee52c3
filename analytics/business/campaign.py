"""Retention campaign planner: how many of the riskiest customers are worth an offer.

Expected profit of contacting the top k% of customers by churn risk (the retention-campaign
profit of Neslin et al. 2006, "Defection detection", J. Marketing Research 43(2), simplified to a
cost per contact and a save rate):

    profit(k) = sum over the contacted customers i of  p_i * save_rate * value_i  -  n_k * cost

where p_i is the churn probability, value_i the value at stake if customer i stays (currency, from
`analytics.business.value.customer_value`: the same value as every other page),
save_rate the chance an offer keeps a customer who would otherwise leave, cost the offer's cost
per contacted customer (currency), and n_k = ceil(k / 100 * n) the number contacted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.data.schema import DataError


@dataclass(frozen=True)
class CampaignAssumptions:
    """What the offer costs and how well it works.

    Attributes
    ----------
    offer_cost : float
        Cost per contacted customer, in the data's currency (>= 0).
    save_rate : float
        Probability (0..1) that the offer keeps a customer who would otherwise leave.
    """

    offer_cost: float
    save_rate: float

    def __post_init__(self) -> None:
        if not (self.offer_cost >= 0 and math.isfinite(self.offer_cost)):
            raise DataError("The offer cost must be zero or more.")
        if not 0 <= self.save_rate <= 1:
            raise DataError("The save rate is a probability between 0 and 1 (e.g. 0.2 for 20%).")


@dataclass(frozen=True)
class CampaignPlan:
    """The profit curve and its best point.

    Attributes
    ----------
    curve : pd.DataFrame
        One row per percent targeted k = 0..100: percent_targeted, customers_targeted,
        expected_churners (sum of p over those contacted), expected_saves (x save rate),
        value_saved (currency), cost (currency), profit (currency).
    best_percent : int
        The k with the highest expected profit (smallest such k; 0 = no campaign pays).
    best_customers, best_profit, best_cost, best_value_saved : int or float
        The curve at best_percent.
    """

    curve: pd.DataFrame
    best_percent: int
    best_customers: int
    best_profit: float
    best_cost: float
    best_value_saved: float


def plan_campaign(
    risk: pd.Series | np.ndarray,
    value: pd.Series | np.ndarray | float,
    assumptions: CampaignAssumptions,
) -> CampaignPlan:
    """Expected profit of targeting the top k% by risk, for k = 0..100.

    Parameters
    ----------
    risk : pd.Series or np.ndarray
        Churn probability per customer (0..1). Customers are ranked by it, highest first (ties
        keep input order).
    value : pd.Series, np.ndarray or float
        Value at stake per customer if they stay (currency; aligned with `risk`, e.g. CLV, or one
        number for everyone). Blank values count as 0.
    assumptions : CampaignAssumptions
        Offer cost and save rate.

    Returns
    -------
    CampaignPlan
        The profit curve and its best point.

    Raises
    ------
    DataError
        No customers, or probabilities outside 0..1.
    """
    p = np.asarray(pd.Series(risk).astype(float))
    if p.size == 0:
        raise DataError("There are no customers to plan a campaign for.")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise DataError("Churn risks must be probabilities between 0 and 1 for every customer.")
    if isinstance(value, (int, float, np.number)):
        v = np.full(p.size, float(value))
    else:
        v = np.nan_to_num(np.asarray(pd.Series(value).astype(float)), nan=0.0)
        if v.size != p.size:
            raise DataError("The value at stake needs one number per customer.")
    order = np.argsort(-p, kind="stable")
    p, v = p[order], v[order]
    cum_churners = np.concatenate([[0.0], np.cumsum(p)])
    cum_value = np.concatenate([[0.0], np.cumsum(p * v)]) * assumptions.save_rate
    percent = np.arange(101)
    n_k = np.ceil(percent / 100 * p.size - 1e-9).astype(int)
    curve = pd.DataFrame(
        {
            "percent_targeted": percent,
            "customers_targeted": n_k,
            "expected_churners": cum_churners[n_k],
            "expected_saves": cum_churners[n_k] * assumptions.save_rate,
            "value_saved": cum_value[n_k],
            "cost": n_k * assumptions.offer_cost,
        }
    )
    curve["profit"] = curve["value_saved"] - curve["cost"]
    best = curve.loc[curve["profit"].idxmax()]  # idxmax returns the first (smallest k) maximum
    return CampaignPlan(
        curve=curve,
        best_percent=int(best["percent_targeted"]),
        best_customers=int(best["customers_targeted"]),
        best_profit=float(best["profit"]),
        best_cost=float(best["cost"]),
        best_value_saved=float(best["value_saved"]),
    )
