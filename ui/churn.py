"""Churn page helpers: widget keys and labels, cached retention curves and campaign inputs.

The churn model itself is fitted once per dataset and settings in `ui.models.churn_analysis` (every
page shares it); the settings widgets are the `ch_*` keys of `ui.models.CHURN_DEFAULTS`, owned by
the Churn page. Here live the page's own cached steps on top of that fit: Kaplan-Meier retention
curves per attribute (`retention`) and the per-customer risk and value at stake the campaign
planner ranks (`campaign_inputs`). The planner itself (`analytics.business.campaign.plan_campaign`) is a
sort and a cumulative sum, milliseconds even on 100,000 customers, so a slider move recomputes it
without any cache or refit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.business.campaign import CampaignAssumptions, CampaignPlan
from analytics.business.churn_analysis import ChurnAnalysis, ChurnSettings, feature_table
from analytics.business.churn_inputs import label_cell_text
from analytics.business.value import customer_value
from analytics.data.schema import CHURNED, CUSTOMER_ID, SIGNUP_DATE, TENURE_MONTHS, CustomerData
from analytics.models.clv import ClvSettings
from analytics.models.survival import RetentionCurves, retention_curves, retention_inputs
from ui import currency as cur
from ui import models
from ui.cache import per_dataset

BIND = "query-params"
# Widget keys of this page beyond the shared model settings (ui.models.CHURN_DEFAULTS).
K_SURVIVAL_BY = "ch_survival_by"
K_OFFER_COST = "ch_offer_cost"
K_SAVE_RATE = "ch_save_rate"
DEFAULT_OFFER_COST = 5.0  # currency per contacted customer: an assumption, set your own
DEFAULT_SAVE_RATE = 20  # % of would-be leavers an offer keeps: an assumption, set your own
MAX_LABEL_VALUES = 30  # a column with more distinct values is not offered as a churn flag
LIST_ATTRIBUTES = 3  # driver attributes copied into the contact list

SOURCE_LABELS = {
    "auto": "Detect automatically",
    "column": "A churn column in the customers table",
    "purchases": "Derived from purchases (no purchase in a window)",
}
MODEL_LABELS = {
    "auto": "Best of both (by ROC AUC)",
    "logistic": "Logistic regression",
    "gradient_boosting": "Gradient boosting",
}
# Durations are built from these, so grouping retention curves by them would be circular.
DURATION_COLUMNS = (TENURE_MONTHS, SIGNUP_DATE, "tenure_days", "days_since_last_purchase")


# --- the page's widget functions ----------------------------------------------------------------
# A widget's format function and callback outlive the page's run: Streamlit keeps them with the widget's
# state for the rest of the session. Written in the page (a lambda, a page function) they keep the page's
# whole namespace alive: its unpickled churn analysis, campaign inputs and data. At 300,000 customers the
# survival selectbox's lambda held ~34 MiB after the user had moved on. These hold only their labels.


def labelled(labels: Mapping[str, str], empty: str) -> Callable[[str], str]:
    """A selectbox's `format_func`: `empty` for the "" option, else the option's label in `labels`
    (the option itself when it has none). Holds a copy of `labels` only."""
    return functools.partial(_label, dict(labels), empty)


def _label(labels: dict[str, str], empty: str, option: str) -> str:
    return empty if option == "" else labels.get(option, option)


def reset_churn_value() -> None:
    """The churn column's `on_change`: the value that meant 'left' in the old column means nothing in the new one."""
    import streamlit as st

    st.session_state["ch_churn_value"] = models.CHURN_DEFAULTS["ch_churn_value"]


def money(x: float) -> str:
    """A money amount in the currency in force: whole units from 100 up, else two decimals."""
    return cur.money(x, decimals=None, whole_from=100)


def label_values(values: pd.Series) -> list[str]:
    """The distinct cells of a column as the churn-label reader sees them (trimmed, lower case).

    Empty when the column has more than `MAX_LABEL_VALUES` distinct values (not a yes/no flag).
    """
    distinct = label_cell_text(values).dropna().unique()
    return [] if len(distinct) > MAX_LABEL_VALUES else sorted(str(v) for v in distinct)


def not_modelled_sentence(analysis: ChurnAnalysis) -> str:
    """How many customers were left out of training and testing, and why, in one sentence."""
    n = analysis.n_unlabelled
    if analysis.derived is not None:
        if n == 0:
            return "Every customer bought before the cutoff, so all of them are modelled."
        return (
            f"{n:,} customers first bought on or after {analysis.derived.cutoff:%d %b %Y}: they have no "
            "history before the cutoff, so they are not modelled (they are still scored on today's data)."
        )
    if n == 0:
        return "Every customer has a readable churn status, so all of them are modelled."
    return (
        f"{n:,} customers have a blank or unreadable churn cell: their outcome is unknown, so they are "
        "left out of training and testing (they still get a risk score)."
    )


def median_sentence(median: float | None, source: str, max_months: float) -> str:
    """What the median customer lifetime (months) means, in one sentence."""
    if median is None:
        return (
            f"More than half of the customers are still with you after {max_months:.0f} months, the longest "
            "time observed, so the median lifetime is not reached yet."
        )
    if source == "purchases" and median < 0.5:
        return (
            f"More than half of the customers never bought again after their first purchase, so the median "
            f"lifetime (first to last purchase) is {median:.1f} months."
        )
    return f"Half of the customers have left after {median:.1f} months."


def survival_options(analysis: ChurnAnalysis) -> list[str]:
    """Attributes to split retention curves by: the model's inputs, most predictive first."""
    columns = [c for c in analysis.model.importances_["feature"] if c not in DURATION_COLUMNS]
    return [c for c in columns if c in analysis.features.X.columns]  # the columns (their rows may be left out)


@per_dataset(max_entries=16)
def retention(data: CustomerData, settings: ChurnSettings, by: str | None) -> RetentionCurves:
    """Kaplan-Meier retention (months) with the churn label of `settings`, overall or per `by`.

    Durations come from tenure or signup dates in the customers table, else from the first to the
    last purchase (`analytics.models.survival.retention_inputs`); `by` is a column of the churn model's
    inputs (blank groups are left out of the grouped curves).
    """
    analysis = models.churn_analysis(data, settings)
    inputs = retention_inputs(data, analysis.scores.set_index(CUSTOMER_ID)[CHURNED])
    if by is None:
        return retention_curves(inputs["months"], inputs["churned"])
    # the session cache keeps no feature table of derived churn: rebuilt from the purchases here (one view)
    groups = feature_table(analysis, data)[by].reindex(inputs[CUSTOMER_ID].to_numpy())
    name = analysis.features.display.get(by, by)
    return retention_curves(inputs["months"], inputs["churned"], groups.reset_index(drop=True), by=name)


@dataclass(frozen=True)
class CampaignInputs:
    """Who can be contacted, their churn risk and what keeping them is worth.

    customers : one row per active customer in risk order as scored (customer_id,
        churn_probability 0..1, value in the file's currency), plus the model's top driver
        attributes under their display names (customers table only).
    value_source : plain words for where `value` comes from.
    """

    customers: pd.DataFrame
    value_source: str


def campaign_inputs(data: CustomerData, settings: ChurnSettings, clv_settings: ClvSettings | None) -> CampaignInputs:
    """Active customers' risk (from the churn fit of `settings`) and value at stake.

    The value is `analytics.business.value.customer_value`, the one every page uses: with
    `clv_settings` (a purchase log) each customer's model value from the shared CLV fit; without,
    margin x monthly charge (else the last year's spend) over the Lifetime value page's horizon,
    discounted (this session's `ui.models.clv_settings()`, part of the cache key so a new margin
    or horizon is never served the old values). Customers who have left are not listed.
    """
    return _campaign_inputs(data, settings, clv_settings, value_settings(clv_settings))


def prefetch_campaign_inputs(data: CustomerData, settings: ChurnSettings, clv_settings: ClvSettings | None) -> None:
    """Start `campaign_inputs` in the background (`ui.prefetch`): the Churn planner's first visit computed
    it, 2 s at a million customers."""
    _campaign_inputs.prefetch(data, settings, clv_settings, value_settings(clv_settings))  # type: ignore[attr-defined]


def value_settings(clv_settings: ClvSettings | None) -> ClvSettings:
    """The settings the value at stake is computed with: the model's, else the session's."""
    return clv_settings if clv_settings is not None else models.clv_settings()


@per_dataset(max_entries=8)
def _campaign_inputs(
    data: CustomerData, settings: ChurnSettings, clv_settings: ClvSettings | None, value_settings: ClvSettings
) -> CampaignInputs:
    """`campaign_inputs` at the settings of its key."""
    analysis = models.churn_analysis(data, settings)
    scores = analysis.scores[analysis.scores["active"].astype(bool)]
    ids = scores[CUSTOMER_ID].astype(str)
    clv = None
    if clv_settings is not None:
        clv = models.clv_analysis(data, clv_settings).customers["clv"]
    value, source = customer_value(data, ids, value_settings, clv=clv, fit=False)
    value = value.fillna(0.0)
    frame = pd.DataFrame(
        {
            CUSTOMER_ID: ids.to_numpy(),
            "churn_probability": scores["churn_probability"].to_numpy(dtype=float),
            "value": value.to_numpy(dtype=float),
        }
    )
    if analysis.source == "column":
        X = analysis.features.X
        for driver in analysis.drivers[:LIST_ATTRIBUTES]:
            frame[driver.name] = X[driver.column].reindex(ids).to_numpy()
    return CampaignInputs(frame, source)


def contact_list(inputs: CampaignInputs, plan: CampaignPlan, assumptions: CampaignAssumptions) -> pd.DataFrame:
    """The customers the plan contacts (its best k%), riskiest first, ready for a CSV.

    Ranked as `plan_campaign` ranks them (descending risk, ties in input order). Columns: Rank,
    Customer (id), Churn risk (%), Value at stake and Expected value saved (p x save rate x value,
    file currency), then the driver attributes under their display names.
    """
    ranked = inputs.customers.iloc[np.argsort(-inputs.customers["churn_probability"].to_numpy(), kind="stable")]
    top = ranked.head(plan.best_customers).reset_index(drop=True)
    saved = top["churn_probability"] * assumptions.save_rate * top["value"]
    out = pd.DataFrame(
        {
            "Rank": np.arange(1, len(top) + 1),
            "Customer": top[CUSTOMER_ID],
            "Churn risk (%)": (100 * top["churn_probability"]).round(1),
            "Value at stake": top["value"].round(2),
            "Expected value saved": saved.round(2),
        }
    )
    extra = [c for c in top.columns if c not in (CUSTOMER_ID, "churn_probability", "value")]
    return pd.concat([out, top[extra]], axis=1)
