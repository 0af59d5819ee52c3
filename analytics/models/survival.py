"""Retention curves: the share of customers still with you after m months (Kaplan-Meier).

The estimator is lifelines' `KaplanMeierFitter` (Kaplan & Meier 1958, "Nonparametric estimation
from incomplete observations"): customers who have not left yet are censored at their current
tenure, so they count while observed and do not pull the curve down.

Durations are in months (30.44 days = 365.25 / 12). Inputs come from a customers table (tenure
in months + churned) via `durations_from_customers`, or from purchases (first to last purchase +
a churn label) via `durations_from_transactions`; `retention_inputs` picks the right one for a
dataset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from analytics.data.periods import DAYS_PER_MONTH
from analytics.data.schema import (
    CHURN_DATE,
    CUSTOMER_ID,
    ORDER_DATE,
    SIGNUP_DATE,
    TENURE_MONTHS,
    CustomerData,
    DataError,
)
from analytics.engine.customer_days import NS_PER_DAY, customer_days

ALL = "All customers"
OTHER = "Other"


@dataclass(frozen=True)
class RetentionCurves:
    """Kaplan-Meier curves overall or per group.

    Attributes
    ----------
    curves : one row per group and event time: group, months, retention (0..1),
        ci_lower / ci_upper (95% confidence band), at_risk (customers still observed).
    summary : one row per group: group, customers, churned, median_months (NaN when the
        curve never falls to 50%), median_text (plain words).
    by : the attribute the groups come from (None = everyone together).
    max_months : the longest duration observed.
    """

    curves: pd.DataFrame
    summary: pd.DataFrame
    by: str | None
    max_months: float

    def median(self, group: str = ALL) -> float | None:
        """Median lifetime of one group.

        Parameters
        ----------
        group : str
            The group's label (default: everyone).

        Returns
        -------
        float or None
            Months; None when the curve does not fall to 50% within the data.
        """
        row = self.summary[self.summary["group"] == group]
        if row.empty:
            raise KeyError(f"No group '{group}'.")
        value = row["median_months"].iloc[0]
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _median_text(median: float | None, max_months: float) -> str:
    if median is None:
        return (
            f"not reached: more than half are still customers after {max_months:.0f} months, the longest time observed"
        )
    return f"{median:.1f} months"


def _fit_group(durations: np.ndarray, events: np.ndarray, label: str) -> tuple[pd.DataFrame, float | None]:
    kmf = KaplanMeierFitter(label=label).fit(durations, event_observed=events)
    sf = kmf.survival_function_[label]
    ci = kmf.confidence_interval_
    table = kmf.event_table
    frame = pd.DataFrame(
        {
            "group": label,
            "months": sf.index.to_numpy(dtype=float),
            "retention": sf.to_numpy(dtype=float),
            "ci_lower": ci.iloc[:, 0].to_numpy(dtype=float),
            "ci_upper": ci.iloc[:, 1].to_numpy(dtype=float),
            "at_risk": table["at_risk"].reindex(sf.index).to_numpy(dtype=float),
        }
    )
    median = float(kmf.median_survival_time_)
    return frame, (None if math.isinf(median) else median)


def _group_labels(groups: pd.Series, max_groups: int) -> pd.Series:
    """Text levels (largest `max_groups` kept, the rest 'Other'); numbers cut into quartiles."""
    if pd.api.types.is_numeric_dtype(groups) and not pd.api.types.is_bool_dtype(groups):
        numbers = groups.astype(float)
        if numbers.nunique() > max_groups:
            codes = pd.qcut(numbers, q=4, labels=False, duplicates="drop")
            span = numbers.groupby(codes).agg(["min", "max"])
            names = {
                code: f"{lo + 0.0:,.4g}" if lo == hi else f"{lo + 0.0:,.4g} to {hi + 0.0:,.4g}"
                for code, (lo, hi) in span.iterrows()
            }
            return codes.map(names, na_action="ignore").astype(object)
        return numbers.map(lambda v: f"{v:g}", na_action="ignore").astype(object)
    text = groups.astype(object).where(groups.notna()).map(str, na_action="ignore")
    keep = text.value_counts().index[:max_groups]
    return text.where(text.isin(keep) | text.isna(), OTHER)


def retention_curves(
    months: pd.Series | np.ndarray,
    churned: pd.Series | np.ndarray,
    groups: pd.Series | None = None,
    *,
    by: str | None = None,
    max_groups: int = 8,
) -> RetentionCurves:
    """Kaplan-Meier retention overall, or per level of `groups`.

    Parameters
    ----------
    months : pd.Series or np.ndarray
        Time each customer has been observed, months (to leaving, or to the data's end).
    churned : pd.Series or np.ndarray
        True when the customer left at `months` (the event); False = still a customer.
    groups : pd.Series, optional
        Attribute per customer (text: the `max_groups` largest levels, others pooled as 'Other';
        numbers with many values: quartiles). Customers with a blank group are left out of the
        grouped curves.
    by : str, optional
        The attribute's name, for titles.
    max_groups : int, default 8
        Most levels drawn.

    Returns
    -------
    RetentionCurves
        The curves with confidence bands, numbers at risk and medians.

    Raises
    ------
    DataError
        No customers with a known duration, or negative durations.
    """
    frame = pd.DataFrame(
        {
            "months": pd.to_numeric(pd.Series(np.asarray(months, dtype=float)), errors="coerce"),
            "churned": pd.Series(churned).astype("boolean").to_numpy(),
        }
    )
    if groups is not None:
        frame["group"] = _group_labels(pd.Series(groups).reset_index(drop=True), max_groups).to_numpy()
    else:
        frame["group"] = ALL
    frame = frame.dropna(subset=["months", "churned", "group"])
    if frame.empty:
        raise DataError("No customer has both a tenure and a known churn status, so there is no retention curve.")
    if (frame["months"] < 0).any():
        raise DataError("Some tenures are negative (left before joining?); check the dates.")
    max_months = float(frame["months"].max())
    curves, rows = [], []
    for label, part in frame.groupby("group", sort=True):
        curve, median = _fit_group(part["months"].to_numpy(), part["churned"].to_numpy(dtype=bool), str(label))
        curves.append(curve)
        rows.append(
            {
                "group": str(label),
                "customers": int(len(part)),
                "churned": int(part["churned"].sum()),
                "median_months": median,
                "median_text": _median_text(median, float(part["months"].max())),
            }
        )
    summary = pd.DataFrame(rows).sort_values("customers", ascending=False, kind="stable").reset_index(drop=True)
    return RetentionCurves(pd.concat(curves, ignore_index=True), summary, by, max_months)


def durations_from_customers(
    customers: pd.DataFrame,
    churned: pd.Series,
    observation_end: pd.Timestamp | None = None,
    tenure_column: str | None = None,
) -> pd.Series:
    """Months each customer has been observed, from a customers table.

    Uses `tenure_column` (months) when given, else the canonical `tenure_months`, else the days
    from `signup_date` to `churn_date` (churned) or to `observation_end` (still active), divided
    by 30.44.

    Parameters
    ----------
    customers : pd.DataFrame
        The cleaned customers table.
    churned : pd.Series
        Churn status aligned with `customers`.
    observation_end : pd.Timestamp, optional
        "Today" for customers still active.
    tenure_column : str, optional
        A column holding tenure in months.

    Returns
    -------
    pd.Series
        Months per customer, aligned with `customers`.

    Raises
    ------
    DataError
        Neither a tenure column nor signup dates.
    """
    column = tenure_column or (TENURE_MONTHS if TENURE_MONTHS in customers.columns else None)
    if column is not None:
        if column not in customers.columns:
            raise DataError(f"There is no column '{column}' for the tenure.")
        return pd.to_numeric(customers[column], errors="coerce").astype(float)
    if SIGNUP_DATE not in customers.columns or customers[SIGNUP_DATE].isna().all():
        raise DataError("Retention curves need a tenure (months) or signup dates in the customers table.")
    if observation_end is None:
        raise DataError("Without a tenure column, the end of the observation period is needed.")
    end = pd.Series(pd.Timestamp(observation_end), index=customers.index)
    if CHURN_DATE in customers.columns:
        left = pd.Series(churned, index=customers.index).fillna(False).astype(bool)
        end = end.where(~left | customers[CHURN_DATE].isna(), customers[CHURN_DATE])
    return ((end - customers[SIGNUP_DATE]).dt.days / DAYS_PER_MONTH).astype(float)


def durations_from_transactions(transactions: pd.DataFrame) -> pd.Series:
    """Months from each customer's first to last purchase.

    Parameters
    ----------
    transactions : pd.DataFrame
        Canonical transactions.

    Returns
    -------
    pd.Series
        Months, indexed by customer_id.
    """
    for col in (CUSTOMER_ID, ORDER_DATE):
        if col not in transactions.columns:
            raise DataError(f"The purchases table lacks {col}.")
    if getattr(transactions[ORDER_DATE].dt, "tz", None) is not None:  # elapsed time across clock changes
        span = transactions.groupby(CUSTOMER_ID)[ORDER_DATE].agg(["min", "max"])
        return ((span["max"] - span["min"]).dt.days / DAYS_PER_MONTH).rename("months")
    # Off the customer-day table every page reuses (a group-by on text ids took seconds at 1M
    # customers, on every visit of Churn): each customer's first and last purchase day plus the
    # time of day of its earliest and latest row, whole days elapsed as Timedelta.days counts them.
    table = customer_days(transactions)
    codes, first_row, last_row = table.first_and_last()  # customers sorted by id, as a group-by gives
    first = table.day[first_row].astype(np.int64) * NS_PER_DAY  # int64: the table's days may be int32
    last = table.day[last_row].astype(np.int64) * NS_PER_DAY
    if table.first_time is not None and table.last_time is not None:
        first = first + table.first_time[first_row]
        last = last + table.last_time[last_row]
    days = (last - first) // NS_PER_DAY
    index = pd.Index(table.customer_ids[codes], name=CUSTOMER_ID)
    return pd.Series(days / DAYS_PER_MONTH, index=index, name="months")


def retention_inputs(data: CustomerData, churned: pd.Series) -> pd.DataFrame:
    """One row per customer with a known churn status: customer_id, months, churned.

    Parameters
    ----------
    data : CustomerData
        The dataset. With a customers table, months come from `durations_from_customers` (tenure,
        or signup to churn / observation end); with purchases only, from
        `durations_from_transactions` (first to last purchase).
    churned : pd.Series
        Churned (bool, NA = unknown) indexed by customer_id, e.g. the churn analysis label.

    Returns
    -------
    pd.DataFrame
        customer_id, months, churned, for `retention_curves`.

    Raises
    ------
    DataError
        No durations can be built, or no customer has a known status.
    """
    status = pd.Series(churned).astype("boolean")
    status.index = status.index.astype(str)
    customers = data.customers if data.has_customers else None
    if customers is not None and (TENURE_MONTHS in customers or SIGNUP_DATE in customers):
        ids = customers[CUSTOMER_ID].astype(str)
        aligned = status.reindex(ids).set_axis(customers.index)
        end = None if TENURE_MONTHS in customers else data.observation_end
        months = durations_from_customers(customers, aligned, end)
        frame = pd.DataFrame({CUSTOMER_ID: ids, "months": months, "churned": aligned})
    elif data.has_transactions:
        months = durations_from_transactions(data.require_transactions())
        months.index = months.index.astype(str)
        frame = pd.DataFrame(
            {CUSTOMER_ID: months.index, "months": months.to_numpy(), "churned": status.reindex(months.index).to_numpy()}
        )
    else:
        raise DataError("Retention curves need a tenure, signup dates, or purchase dates.")
    frame = frame.dropna(subset=["months", "churned"]).reset_index(drop=True)
    if frame.empty:
        raise DataError("No customer has both a known duration and a known churn status.")
    return frame
