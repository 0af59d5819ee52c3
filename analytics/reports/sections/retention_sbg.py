"""The `retention_sbg` section of the headless report (subscription retention, shifted-beta-geometric)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from analytics.assumptions import ANNUAL_DISCOUNT_RATE, MARGIN_RATE
from analytics.data.schema import (
    MONTHLY_CHARGE,
    CustomerData,
    DataError,
)
from analytics.jsonready import to_json_ready
from analytics.models.sbg import ShiftedBetaGeometric, customer_periods, monthly_rate, subscription_values

if TYPE_CHECKING:  # the CLV module loads lifetimes; the retention section needs only two numbers
    from analytics.models.clv import ClvSettings


#: sBG parameters beyond this mean the fit collapsed to one churn probability shared by everyone.
DEGENERATE_PARAMETER = 1000.0
#: A table whose youngest customer is older than this many months is a left-truncated snapshot.
MAX_YOUNGEST_MONTHS = 3


def informative(model: ShiftedBetaGeometric, periods: Any) -> tuple[bool, str | None]:
    """Whether the sBG fit says something about this base, and if not, why in one sentence.

    Not informative when the optimum is degenerate (alpha and beta run off to huge values: one churn
    probability for everyone, no heterogeneity to learn) or when the table is a left-truncated
    snapshot (no customer in their first months, so the early churn that shapes the curve was never
    observed: Fader & Hardie 2007 fit cohorts followed from their start).

    Parameters
    ----------
    model : ShiftedBetaGeometric
        The fitted model.
    periods : pd.DataFrame
        The customers' periods (`customer_periods`).

    Returns
    -------
    (bool, str or None)
        Whether the fit is informative, and the reason when it is not.
    """
    youngest = float(np.min(periods["periods"])) if len(periods) else 0.0
    if youngest > MAX_YOUNGEST_MONTHS:
        return False, (
            f"not informative here, because the table has no customer in their first {youngest:.0f} months (a "
            "snapshot of customers who had already stayed a while): the early churn that shapes the curve was "
            "never observed"
        )
    if max(model.alpha_, model.beta_) > DEGENERATE_PARAMETER:
        return False, (
            f"not informative here, because the fit ran to alpha {model.alpha_:,.0f} and beta {model.beta_:,.0f}: the "
            "data show one churn rate for everyone and nothing about how customers differ, so the curve is a "
            "plain constant-churn line"
        )
    return True, None


def report_section(data: CustomerData, settings: ClvSettings | None = None) -> dict:
    """The `retention_sbg` section of the headless report (keys are a stable contract).

    Parameters
    ----------
    data : CustomerData
        A dataset with a customers table (tenure and churn).
    settings : ClvSettings, optional
        Its `margin` and `annual_discount_rate` are used (None = the assumed defaults of
        `analytics.assumptions`, 0.30 and 0.10).

    Returns
    -------
    dict
        period ('month'), params {alpha, beta}, log_likelihood, n_customers, n_churned,
        max_observed_periods, survival (list, periods 0..24), retention_rate (list, periods 1..24),
        expected_lifetime_periods (None when infinite), median_lifetime_periods,
        discounted_expected_lifetime (payments), margin, annual_discount_rate, mean_monthly_charge,
        new_customer_clv (margin x mean charge x DEL), active_customers, active_remaining_value_total,
        mean_active_remaining_value (currency; None without monthly_charge).

    Raises
    ------
    DataError
        Without a customers table or when the model cannot be fitted.
    """
    if not data.has_customers:
        raise DataError("The retention model needs a customers table (tenure and churn).")
    margin = MARGIN_RATE if settings is None else settings.margin
    annual = ANNUAL_DISCOUNT_RATE if settings is None else settings.annual_discount_rate
    try:
        end = data.observation_end
    except DataError:  # no dates: fine when tenure_months is given
        end = None
    customers = data.require_customers("The retention model")
    periods = customer_periods(customers, observation_end=end)
    model = ShiftedBetaGeometric().fit(periods["periods"], periods["churned"])
    d = monthly_rate(annual)
    dl = model.discounted_expected_lifetime(d)
    horizon = np.arange(25)
    useful, why_not = informative(model, periods)
    out: dict[str, Any] = {
        "informative": useful,  # added: False with the reason when the fit says nothing about this base
        "not_informative_reason": why_not,
        "period": "month",
        "params": model.params_,
        "log_likelihood": model.log_likelihood_,
        "n_customers": model.n_customers_,
        "n_churned": model.n_churned_,
        "max_observed_periods": model.max_period_,
        "survival": [float(v) for v in model.survival(horizon)],
        "retention_rate": [float(v) for v in model.retention_rate(horizon[1:])],
        "expected_lifetime_periods": model.expected_lifetime(),
        "median_lifetime_periods": model.median_lifetime(),
        "discounted_expected_lifetime": dl,
        "margin": margin,
        "annual_discount_rate": annual,
        "mean_monthly_charge": None,
        "new_customer_clv": None,
        "active_customers": int((~periods["churned"]).sum()),
        "active_remaining_value_total": None,
        "mean_active_remaining_value": None,
    }
    if data.has_column(MONTHLY_CHARGE):
        charge = float(customers[MONTHLY_CHARGE].mean())
        values = subscription_values(customers, model, margin=margin, annual_discount_rate=annual, periods=periods)
        out.update(
            mean_monthly_charge=charge,
            new_customer_clv=margin * charge * dl,
            active_remaining_value_total=float(values["remaining_value"].sum()),
            mean_active_remaining_value=float(values["remaining_value"].mean()) if len(values) else None,
        )
    return to_json_ready(out)
