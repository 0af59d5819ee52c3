"""Acquisition cohorts: who is still active k periods after their first purchase (or signup).

A cohort is the set of customers acquired in one calendar period (first purchase, or
`signup_date` for a customers table without purchases). Period k = 0 is the acquisition period.

* From transactions, a customer is *active* in period k when they bought in it; revenue is what
  the cohort spent in it.
* From a customers table, a customer is *active* in period k when subscribed at any time in it
  (signup period <= k <= churn period); revenue is the `monthly_charge` of the active customers
  times the months per period, when that column exists.

Cells after the last complete period of the data are NaN (not observed), so the matrix is a
triangle. The average retention curve at k is the cohort-size weighted mean over the cohorts
that reached k: sum of active customers / sum of cohort sizes (the standard cohort "survival"
average, e.g. Fader & Hardie, "How to project customer retention", 2007).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from analytics.business.kpis import customer_spans, observation_end_with
from analytics.data.periods import (
    MONTHS_PER_PERIOD,
    PERIOD_CODES,
    check_period,
    last_complete_period,
    period_from_ordinal,
    period_ordinals,
)
from analytics.data.schema import (
    CUSTOMER_ID,
    MONTHLY_CHARGE,
    SIGNUP_DATE,
    CustomerData,
    DataError,
)
from analytics.engine.customer_days import customer_days

if TYPE_CHECKING:
    from analytics.engine.pushdown import PurchaseBehaviour


@dataclass(frozen=True)
class CohortTable:
    """Cohort matrices (rows: cohort label like "2024-03", columns: periods since acquisition).

    Attributes
    ----------
    period : "month" | "quarter" | "year"
    sizes : Series, customers acquired per cohort
    active : DataFrame, active customers per cohort and period number (NaN = not yet observed)
    retention : DataFrame, active / size (share 0..1)
    revenue : DataFrame or None, currency per cohort and period number
    revenue_retention : DataFrame or None, revenue in period k / revenue in period 0
    basis : "purchases" or "subscriptions"
    last_period : label of the last period observed (the last complete one by default)
    """

    period: str
    sizes: pd.Series
    active: pd.DataFrame
    retention: pd.DataFrame
    revenue: pd.DataFrame | None
    revenue_retention: pd.DataFrame | None
    basis: str
    last_period: str

    def to_long(self) -> pd.DataFrame:
        """Tidy frame for charts (observed cells only).

        Returns
        -------
        pd.DataFrame
            cohort, cohort_size, period_number, active_customers, retention, revenue,
            revenue_retention.
        """
        # Stacking single-level columns gives a Series (the stubs also allow a DataFrame).
        long = cast(pd.Series, self.active.stack()).rename("active_customers").reset_index()
        long.columns = ["cohort", "period_number", "active_customers"]
        cells = self.active.stack().index  # observed cells; a ratio may be NaN there (0 revenue at start)

        def aligned(frame: pd.DataFrame) -> np.ndarray:
            return frame.stack(future_stack=True).reindex(cells).to_numpy()

        long["retention"] = aligned(self.retention)
        if self.revenue is not None and self.revenue_retention is not None:
            long["revenue"] = aligned(self.revenue)
            long["revenue_retention"] = aligned(self.revenue_retention)
        long.insert(1, "cohort_size", long["cohort"].map(self.sizes).astype(int))
        long["period_number"] = long["period_number"].astype(int)
        return long


def _matrix(cells: pd.DataFrame, value: str, cohorts: np.ndarray, last: int) -> pd.DataFrame:
    """cohort x k matrix of `value` from cells (cohort, k, value); unobserved cells NaN."""
    n_k = int(last - cohorts.min() + 1)
    m = cells.pivot(index="cohort", columns="k", values=value).fillna(0)
    m = m.reindex(index=cohorts, columns=range(n_k), fill_value=0).astype(float)
    horizon = last - cohorts  # last observed k per cohort
    mask = np.arange(n_k)[None, :] > horizon[:, None]
    return m.mask(mask)


def cohort_table(
    data: CustomerData,
    *,
    period: str = "month",
    complete_only: bool = True,
    max_cohorts: int | None = None,
    purchases: PurchaseBehaviour | None = None,
) -> CohortTable:
    """Acquisition-cohort retention matrices from transactions (preferred) or signup/churn dates.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    period : {'month', 'quarter', 'year'}
        The cohort and column period.
    complete_only : bool
        Drop the last period when the data ends before its last day (a partial period would
        understate activity).
    max_cohorts : int, optional
        Keep only the most recent cohorts (the heatmap stays readable).
    purchases : PurchaseBehaviour, optional
        Cohort cells computed in a database (`analytics.engine.pushdown.summarise_behaviour`);
        `data` then holds the customers table, if any.

    Returns
    -------
    CohortTable
        Cohort sizes, active customers, retention and (with purchases) revenue matrices.

    Raises
    ------
    DataError
        When there are neither transactions nor signup dates.
    """
    check_period(period)
    if purchases is None and not data.has_transactions and not data.has_column(SIGNUP_DATE):
        raise DataError(
            "Cohorts need purchases (customer id, order date, amount) or a customers table with signup dates."
        )
    end = data.observation_end if purchases is None else observation_end_with(data, purchases)
    last_p = last_complete_period(end, period) if complete_only else end.to_period(PERIOD_CODES[period])
    last = int(last_p.ordinal)
    if purchases is not None:
        if period not in purchases.cohort_cells:
            raise DataError(f"The database was not asked for {period} cohorts.")
        cells = purchases.cohort_cells[period]
        cells = cells[cells["cohort"] + cells["k"] <= last]
        has_revenue, basis = True, "purchases"
    else:
        if data.has_transactions:
            per_customer = _purchase_activity(data.require_transactions(), period, last)
            basis = "purchases"
        else:
            per_customer = _subscription_activity(data, period, last)
            basis = "subscriptions"
        has_revenue = bool(per_customer["a"].notna().any())
        cells = cohort_cells(per_customer)
    if cells.empty:
        raise DataError(f"No customer was acquired before the last complete {period} of the data.")
    cohorts = np.sort(cells["cohort"].unique())
    if max_cohorts is not None:
        cohorts = cohorts[-max_cohorts:]
        cells = cells[cells["cohort"].isin(cohorts)]
    active = _matrix(cells, "customers", cohorts, last)
    sizes = active[0].astype(int)
    retention = active.div(sizes, axis=0)
    revenue = revenue_retention = None
    if has_revenue:
        revenue = _matrix(cells, "revenue", cohorts, last)
        revenue_retention = revenue.div(revenue[0].where(revenue[0] > 0), axis=0)
    labels = [str(period_from_ordinal(c, period)) for c in cohorts]
    for m in (active, retention, revenue, revenue_retention):
        if m is not None:
            m.index = pd.Index(labels, name="cohort")
            m.columns.name = "period_number"
    sizes.index = pd.Index(labels, name="cohort")
    return CohortTable(
        period=period,
        sizes=sizes.rename("customers"),
        active=active,
        retention=retention,
        revenue=revenue,
        revenue_retention=revenue_retention,
        basis=basis,
        last_period=str(last_p),
    )


def cohort_cells(per_customer: pd.DataFrame) -> pd.DataFrame:
    """Customers and revenue per (cohort, k) from rows (cohort, k, c, a), one per customer and period.

    Parameters
    ----------
    per_customer : pd.DataFrame
        cohort and k (period ordinals), c (customer), a (their revenue in the period; NaN unknown).

    Returns
    -------
    pd.DataFrame
        cohort, k, customers (count), revenue (currency; unknown amounts add nothing).
    """
    grouped = per_customer.groupby(["cohort", "k"], sort=True)
    return pd.DataFrame({"customers": grouped.size(), "revenue": grouped["a"].sum()}).reset_index()


def _purchase_activity(transactions: pd.DataFrame, period: str, last: int) -> pd.DataFrame:
    """(cohort, k, c, a): each customer's order spend per period k since their first order's period,
    from the customer-day table (integer customer codes, orders counted on their first day)."""
    table = customer_days(transactions)
    has_order = table.orders > 0
    code, day, spend = table.customer[has_order], table.day[has_order], table.order_spend[has_order]
    days, day_index = np.unique(day, return_inverse=True)
    p = period_ordinals(pd.Series(days.astype("datetime64[D]")), period)[day_index]
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    cohort = np.repeat(p[starts], np.diff(np.r_[starts, len(code)]))  # rows are sorted by day
    # one row per (customer, period): rows are sorted by customer then day, so by period too
    new_pair = np.r_[True, (code[1:] != code[:-1]) | (p[1:] != p[:-1])]
    pair_starts = np.flatnonzero(new_pair)
    frame = pd.DataFrame(
        {
            "cohort": cohort[pair_starts],
            "k": (p - cohort)[pair_starts],
            "c": code[pair_starts].astype(np.int64),  # int64 as before (the table's codes may be int32)
            "a": np.add.reduceat(spend, pair_starts) if len(pair_starts) else np.empty(0),
            "p": p[pair_starts],
        }
    )
    return frame[frame["p"] <= last].drop(columns="p").reset_index(drop=True)


def _subscription_activity(data: CustomerData, period: str, last: int) -> pd.DataFrame:
    """Rows (cohort, k, c, a) for each customer and each period they were subscribed in."""
    spans = customer_spans(data.customers)
    if spans is None:  # signup dates but no churn information: everyone is still active
        c = data.require_customers()[data.require_customers()[SIGNUP_DATE].notna()]
        spans = pd.DataFrame(
            {CUSTOMER_ID: c[CUSTOMER_ID].to_numpy(), "start": c[SIGNUP_DATE].to_numpy(), "end": pd.NaT}
        )
    s = period_ordinals(spans["start"], period)
    e = np.full(len(spans), last, dtype=np.int64)
    known = spans["end"].notna().to_numpy()
    if known.any():
        e[known] = np.minimum(period_ordinals(spans.loc[known, "end"], period), last)
    keep = s <= last
    s, e, ids = s[keep], e[keep], spans[CUSTOMER_ID].to_numpy()[keep]
    lengths = e - s + 1
    rows = pd.DataFrame(
        {
            "c": np.repeat(ids, lengths),
            "cohort": np.repeat(s, lengths),
            "k": np.concatenate([np.arange(n) for n in lengths]) if len(lengths) else np.array([], dtype=int),
        }
    )
    if data.has_column(MONTHLY_CHARGE):
        charge = data.require_customers().set_index(CUSTOMER_ID)[MONTHLY_CHARGE]
        rows["a"] = rows["c"].map(charge).to_numpy(dtype=float) * MONTHS_PER_PERIOD[PERIOD_CODES[period]]
    else:
        rows["a"] = np.nan
    return rows


def average_retention_curve(table: CohortTable, *, revenue: bool = False) -> pd.DataFrame:
    """Cohort-size weighted retention by periods since acquisition.

    Parameters
    ----------
    table : CohortTable
        `cohort_table` output.
    revenue : bool
        Revenue retention (revenue / period-0 revenue) instead of customers.

    Returns
    -------
    pd.DataFrame
        period_number, retention (share 0..1), cohorts (how many cohorts reached that k) and
        customers (their total size).
    """
    if revenue:
        if table.revenue is None:
            raise DataError("Revenue cohorts need purchase amounts or a monthly_charge column.")
        num, base = table.revenue, table.revenue[0]
    else:
        num, base = table.active, table.sizes.astype(float)
    observed = num.notna()
    numer = num.sum(axis=0)
    denom = observed.mul(base, axis=0).sum(axis=0)
    out = pd.DataFrame(
        {
            "period_number": num.columns.astype(int),
            "retention": (numer / denom.where(denom > 0)).to_numpy(),
            "cohorts": observed.sum(axis=0).to_numpy(dtype=int),
            "customers": observed.mul(table.sizes, axis=0).sum(axis=0).to_numpy(dtype=int),
        }
    )
    return out[out["cohorts"] > 0].reset_index(drop=True)
