"""The `actions` section of the headless report: whom to call first, as the Action list ranks them."""

from __future__ import annotations

import pandas as pd

from analytics.business.actions import ACTION_TOPS, HIGH_RISK_PROBABILITY, customers_at_high_risk, ranked_actions
from analytics.business.value import Scores
from analytics.data.schema import CUSTOMER_ID, CustomerData


def report_section(
    data: CustomerData,
    scores: Scores,
    *,
    churn_scores: pd.DataFrame | None,
    horizon_months: float,
    listed: int = 20,
) -> dict:
    """The `actions` section of the headless report: whom to call first, as the Action list ranks them.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    scores : Scores
        Value and churn risk of current customers (`score_customers`).
    churn_scores : pd.DataFrame or None
        The churn model's scores (customer_id, churn_probability, active) for the high-risk count,
        or None when there is no churn model.
    horizon_months : float
        The value's horizon (months).
    listed : int, default 20
        How many ranked customers the section lists.

    Returns
    -------
    dict
        customers_ranked (current customers with a value and a churn risk), value_source,
        risk_source, horizon_months, value_at_stake_total and value_at_stake_top_10 / _20 / _100
        (currency: the sum over the first 10 / 20 / 100 ranks), customers_at_high_risk (customers not
        yet left with a churn probability of 50% or more; null without a churn model),
        high_risk_probability (0.5), segment_basis, top (the first `listed` ranks: rank,
        customer_id, segment, value, churn_probability, value_at_stake, reason).
    """
    actions, segment_basis = ranked_actions(data, scores, top=max(listed, *ACTION_TOPS))
    high_risk = (
        None
        if churn_scores is None
        else customers_at_high_risk(churn_scores["churn_probability"], churn_scores["active"])
    )
    top = actions.head(listed)
    return {
        "customers_ranked": int(actions.attrs["customers_ranked"]),
        "value_source": scores.value_source,
        "risk_source": scores.risk_source,
        "horizon_months": float(horizon_months),
        "value_at_stake_total": float(actions.attrs["value_at_stake_total"]),
        **{f"value_at_stake_top_{n}": float(actions["value_at_stake"].head(n).sum()) for n in ACTION_TOPS},
        "customers_at_high_risk": high_risk,
        "high_risk_probability": HIGH_RISK_PROBABILITY,
        "segment_basis": segment_basis,
        "top": [
            {
                "rank": int(row["rank"]),
                "customer_id": str(row[CUSTOMER_ID]),
                "segment": None if pd.isna(row["segment"]) else str(row["segment"]),
                "value": float(row["clv"]),
                "churn_probability": float(row["churn_probability"]),
                "value_at_stake": float(row["value_at_stake"]),
                "reason": str(row["reason"]),
            }
            for row in top.to_dict("records")
        ],
    }
