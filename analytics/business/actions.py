"""Whom to call first: the action list ranked by value at stake, and the "close the loop" list.

Value at stake = CLV x churn probability (currency): the expected value lost if nothing is done
(expected-loss ranking as in Neslin et al. 2006, "Defection detection", JMR). Customers known to
have churned are left out: they need a win-back campaign, not a retention call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from analytics.business.segments import rfm_table, value_risk_matrix
from analytics.business.value import Scores, value_at_stake
from analytics.data.schema import (
    CHURNED,
    COMPLAINTS,
    CUSTOMER_ID,
    ESCALATIONS,
    NPS,
    ORDER_DATE,
    RESOLUTION_HOURS,
    TICKETS,
    CustomerData,
    DataError,
)
from analytics.engine.customer_days import CustomerDays, customer_days
from analytics.engine.id_positions import id_positions
from analytics.formatting import money

DETRACTOR_MAX = 6  # NPS answers 0-6 are detractors (Reichheld 2003)

ACTION_COLUMNS: tuple[str, ...] = (
    "rank",
    CUSTOMER_ID,
    "segment",
    "clv",
    "churn_probability",
    "value_at_stake",
    "days_since_last_purchase",
    NPS,
    "reason",
)


def _plural(n: float, word: str) -> str:
    n = int(n)
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def action_list(
    clv: pd.Series,
    churn_probability: pd.Series,
    *,
    segment: pd.Series | None = None,
    days_since_last_purchase: pd.Series | None = None,
    customers: pd.DataFrame | None = None,
    exclude_churned: bool = True,
    top: int | None = None,
    table: CustomerDays | None = None,
) -> pd.DataFrame:
    """Customers ranked by value at stake, each with a reason in words.

    Parameters
    ----------
    clv : Series (currency), index customer_id
    churn_probability : Series (0..1), index customer_id
    segment : Series of segment names (RFM or persona), optional
    days_since_last_purchase : Series (days), optional
    customers : customers table (customer_id + nps / support_tickets / escalations / complaints /
        churned), optional: adds NPS and support facts to the reason and drops churned customers.
    top : int, optional
        Keep only the first `top` ranks (None = everyone). Ranks, value percentiles and reasons are
        those of the full list; only the first `top` rows are sorted and written (cheap on millions).
    table : CustomerDays, optional
        The customer-day table of the purchases the series were computed from: lines them up by its
        customer codes instead of their text ids where it can (the same result).

    Returns
    -------
    DataFrame with ACTION_COLUMNS (plus escalations / complaints when present), ranked 1..n by
    value_at_stake (currency) descending. Reason example: "High value (CLV 1,240), 72% churn risk,
    last purchase 94 days ago, detractor (NPS 3)". Its `attrs` hold the full list's size
    (`customers_ranked`) and value at stake (`value_at_stake_total`, currency), also when `top`
    keeps fewer rows.
    """
    if clv.index.equals(churn_probability.index):  # two columns of one table (the scores): no join
        df = pd.DataFrame(
            {"clv": clv.array, "churn_probability": churn_probability.array}, index=clv.index.rename(CUSTOMER_ID)
        )
    else:
        df = pd.concat([clv.rename("clv"), churn_probability.rename("churn_probability")], axis=1, join="inner")
    df = df.dropna()
    if df.empty:
        raise DataError("No customer has both a CLV and a churn probability, so there is nothing to rank.")
    if ((df["churn_probability"] < 0) | (df["churn_probability"] > 1)).any():
        raise DataError("Churn probabilities must lie between 0 and 1.")
    df.index.name = CUSTOMER_ID
    facts: dict[str, pd.Series] = {}
    extra: list[str] = []
    if customers is not None and CUSTOMER_ID in customers.columns:
        c = customers.set_index(CUSTOMER_ID)
        if exclude_churned and CHURNED in c.columns:
            gone = c[CHURNED].astype("boolean").fillna(False)
            df = df.drop(index=gone[gone].index.intersection(df.index))
        for col in (NPS, ESCALATIONS, COMPLAINTS):
            if col in c.columns:
                facts[col] = c[col]
                if col != NPS:
                    extra.append(col)
    value = df["clv"].to_numpy(dtype=float)
    stake = value_at_stake(df["clv"], df["churn_probability"]).to_numpy(dtype=float)
    order = _ranked(stake, value, top)
    ranked = len(df)
    # the sum in rank order, as the sorted list sums it (ties in value at stake are equal numbers)
    total = float(stake[order].sum()) if len(order) == ranked else float(np.sort(stake)[::-1].copy().sum())
    out = df.iloc[order]
    # each per-customer series taken for the listed customers only, lined up once per distinct index
    # (the RFM table's segment and days share one) and by the customer-day table's codes where they
    # can be (`analytics.engine.id_positions`: no hash table of millions of text ids)
    aligned = _Aligner(df.index, order, table)
    # (as arrays: a Series would be lined up on the list's ids once more, a pass over millions of them)
    out = out.assign(
        segment=aligned(segment, object) if segment is not None else None,
        days_since_last_purchase=(
            aligned(days_since_last_purchase, float) if days_since_last_purchase is not None else np.nan
        ),
    )
    for col, values in facts.items():
        out[col] = values.reindex(out.index).astype(float)
    if NPS not in out.columns:
        out[NPS] = np.nan
    out["value_at_stake"] = stake[order]
    out["value_percentile"] = _value_percentile(value, order)
    out["reason"] = _reasons(out)
    out = out.reset_index()
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out = out[list(ACTION_COLUMNS) + extra]
    out.attrs.update(customers_ranked=ranked, value_at_stake_total=total)
    return out


def _ranked(stake: np.ndarray, value: np.ndarray, top: int | None) -> np.ndarray:
    """Positions of the first `top` customers (all: None) by value at stake, then CLV, both
    descending, ties in input order: the order `sort_values(["value_at_stake", "clv"],
    ascending=False, kind="stable")` gives (a stable lexsort of the negated numbers; no NaN is left
    here). For the first `top` only the customers at or above the `top`-th value at stake are sorted
    (found by partition): the same first ranks without sorting millions."""
    n = len(stake)
    if top is None or top >= n:
        return np.lexsort((-value, -stake))
    kth = np.partition(stake, n - top)[n - top]
    candidates = np.flatnonzero(stake >= kth)
    return candidates[np.lexsort((-value[candidates], -stake[candidates]))][:top]


def _value_percentile(value: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`Series(value).rank(pct=True)` (average rank of ties / count) at positions `rows`: the ties of
    x occupy the sorted positions left..right-1, average rank (left + right + 1) / 2. For a few rows
    their values are found in one sort of all values; for many, every value's ties from one stable
    sort (two binary searches per customer cost more at millions)."""
    n = len(value)
    if len(rows) * 8 < n:
        ordered = np.sort(value)
        listed = value[rows]
        left = np.searchsorted(ordered, listed, side="left")
        right = np.searchsorted(ordered, listed, side="right")
        return (left + right + 1) / 2 / n
    by_value = np.argsort(value, kind="stable")
    ordered = value[by_value]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    left = np.flatnonzero(first)
    right = np.r_[left[1:], n]
    tie = np.cumsum(first) - 1
    percentile = np.empty(n)
    percentile[by_value] = ((left + right + 1) / 2 / n)[tie]
    return percentile[rows]


class _Aligner:
    """Series re-indexed on `target` (as `Series.reindex`) and taken at `rows`, as arrays; the positions found
    once per source index, by the customer-day table's codes when `table` is given and both list
    its customers in one of its orders (`id_positions`), else by hashing the ids."""

    def __init__(self, target: pd.Index, rows: np.ndarray, table: CustomerDays | None = None) -> None:
        self.target = target
        self.rows = rows
        self.table = table
        self._source: pd.Index | None = None
        self._positions = np.empty(0, dtype=np.intp)

    def __call__(self, values: pd.Series, dtype: type) -> np.ndarray:
        """`values.reindex(target).to_numpy(dtype)[rows]` (NaN where a customer has no value)."""
        if values.index.equals(self.target):
            return _values(values, dtype)[self.rows]
        if len(values) == 0:
            return np.full(len(self.rows), np.nan, dtype=dtype)
        if self._source is not values.index:
            self._source = values.index
            self._positions = id_positions(values.index, self.target, self.table)[self.rows]
        found = self._positions >= 0
        taken = _values(values, dtype)[np.where(found, self._positions, 0)]
        taken[~found] = np.nan
        return taken


def _values(values: pd.Series, dtype: type) -> np.ndarray:
    """The values as a numpy array of `dtype`, blanks as NaN (not `Series.to_numpy(na_value=...)`:
    it asks the Series for an attribute that builds a hash table of its millions of ids)."""
    array = values.array
    if isinstance(array, pd.arrays.NumpyExtensionArray):
        return np.asarray(array.to_numpy(), dtype=dtype)
    return np.asarray(array.to_numpy(dtype=dtype, na_value=np.nan), dtype=dtype)


def _worded(values: np.ndarray, key: np.ndarray, words: Callable[[Any], str]) -> np.ndarray:
    """`words(value)` of every value, called once per distinct `key`: values sharing a key (their
    rounding, as the words print them) read the same, so one of them is worded for all."""
    if len(values) == 0:
        return np.empty(0, dtype=object)
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    return np.array([words(values[i]) for i in first], dtype=object)[group]


def _then(
    text: np.ndarray, present: np.ndarray, values: np.ndarray, key: np.ndarray, words: Callable[[Any], str]
) -> np.ndarray:
    """`text` with ", " and `words` of the row's value appended on the rows where `present`."""
    if not present.any():
        return text
    part = np.full(len(text), "", dtype=object)
    part[present] = ", " + _worded(values[present], key[present], words)
    return text + part


def _reasons(rows: pd.DataFrame) -> np.ndarray:
    """The reason in words of each row of the ranked list (value, risk, days since the last purchase,
    NPS detractor, escalated tickets, complaints), e.g. "High value (CLV 1,240), 72% churn risk,
    last purchase 94 days ago, detractor (NPS 3)".

    Built a part at a time over all rows: each number is worded once per distinct rounding (whole
    currency units, whole percent, whole days or tickets), not once per customer (a Python call per
    row and part took 7.5 of the 9.7 CPU s of the full list at 1,000,000 customers).
    """
    share = rows["value_percentile"].to_numpy(dtype=float)
    label = np.where(share >= 0.9, "Top-10% value", np.where(share >= 0.5, "High value", "Lower value"))
    clv = rows["clv"].to_numpy(dtype=float)
    risk = rows["churn_probability"].to_numpy(dtype=float)
    text = (
        label.astype(object)
        + " (CLV "
        + _worded(clv, np.rint(clv), lambda v: money(v, whole_from=0))  # whole units: rint's rounding
        + "), "
        + _worded(risk, np.rint(risk * 100), lambda p: f"{p:.0%}")  # '%' prints rint(100 p)
        + " churn risk"
    )
    days = rows["days_since_last_purchase"].to_numpy(dtype=float)
    text = _then(
        text,
        ~np.isnan(days),
        days,
        np.trunc(days),
        lambda d: "last purchase today" if int(d) == 0 else f"last purchase {_plural(d, 'day')} ago",
    )
    nps = rows[NPS].to_numpy(dtype=float)
    text = _then(text, nps <= DETRACTOR_MAX, nps, nps, lambda n: f"detractor (NPS {n:.0f})")
    for column, word in ((ESCALATIONS, "escalated ticket"), (COMPLAINTS, "complaint")):
        if column in rows.columns:
            counts = rows[column].to_numpy(dtype=float)
            text = _then(text, counts > 0, counts, np.trunc(counts), functools.partial(_plural, word=word))
    return text


def filter_actions(
    actions: pd.DataFrame,
    *,
    segments: Iterable[str] | None = None,
    min_value_at_stake: float | None = None,
    top: int | None = None,
) -> pd.DataFrame:
    """Narrow an action list.

    Parameters
    ----------
    actions : pd.DataFrame
        `action_list` output.
    segments : iterable of str, optional
        Keep these segments (None = all).
    min_value_at_stake : float, optional
        Keep rows with at least this value at stake (currency).
    top : int, optional
        Keep the first `top` rows.

    Returns
    -------
    pd.DataFrame
        The kept rows, in their order.
    """
    out = actions
    if segments is not None:
        out = out[out["segment"].isin(list(segments))]
    if min_value_at_stake is not None:
        out = out[out["value_at_stake"] >= min_value_at_stake]
    return out.head(top) if top is not None else out


CLOSE_LOOP_COLUMNS: tuple[str, ...] = (
    CUSTOMER_ID,
    "issues",
    NPS,
    TICKETS,
    ESCALATIONS,
    RESOLUTION_HOURS,
    "last_purchase",
    "priority",
    "reason",
)


def close_the_loop(data: CustomerData, *, recent_days: int = 90) -> pd.DataFrame:
    """Current customers to follow up: NPS detractors, escalated and unresolved tickets.

    * detractor: `nps` <= 6;
    * escalated: `escalations` > 0;
    * unresolved: `support_tickets` > 0 with no `resolution_hours` recorded.

    Churned customers are left out. "Recent": when purchases exist, only customers who bought in
    the last `recent_days` days before the observation end (the table carries no survey or ticket
    dates, so this is the closest honest filter); without purchases, every current customer.

    Parameters
    ----------
    data : CustomerData
        A dataset with a customers table.
    recent_days : int, default 90
        The purchase window that makes a customer "recent".

    Returns
    -------
    pd.DataFrame
        CLOSE_LOOP_COLUMNS sorted by priority (number of issues, detractors with the lowest score
        first).

    Raises
    ------
    DataError
        When none of the columns exists.
    """
    if not data.has_customers:
        raise DataError("The close-the-loop list needs a customers table with NPS answers or support tickets.")
    c = data.require_customers().set_index(CUSTOMER_ID)
    flags: dict[str, pd.Series] = {}
    if data.has_column(NPS):
        flags["detractor"] = c[NPS] <= DETRACTOR_MAX
    if data.has_column(ESCALATIONS):
        flags["escalated"] = c[ESCALATIONS] > 0
    if data.has_column(TICKETS) and RESOLUTION_HOURS in c.columns:
        flags["unresolved"] = (c[TICKETS] > 0) & c[RESOLUTION_HOURS].isna()
    if not flags:
        raise DataError(
            "The close-the-loop list needs an 'nps' column, an 'escalations' column, or "
            "'support_tickets' with 'resolution_hours'."
        )
    f = pd.DataFrame(flags).fillna(False).astype(bool)
    keep = f.any(axis=1)
    if CHURNED in c.columns:
        keep &= ~c[CHURNED].astype("boolean").fillna(False).to_numpy(dtype=bool)
    last = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns]")
    if data.has_transactions:
        last = data.require_transactions().groupby(CUSTOMER_ID)[ORDER_DATE].max().reindex(c.index)
        cutoff = data.observation_end - pd.Timedelta(days=recent_days)
        keep &= (last > cutoff).fillna(False).to_numpy(dtype=bool)
    f = f[keep]
    out = pd.DataFrame(index=f.index)
    out["issues"] = [", ".join(str(name) for name, on in row.items() if on) for _, row in f.iterrows()]
    for col in (NPS, TICKETS, ESCALATIONS, RESOLUTION_HOURS):
        out[col] = c[col].reindex(out.index).astype(float) if col in c.columns else np.nan
    out["last_purchase"] = last.reindex(out.index)
    out["priority"] = f.sum(axis=1).astype(int)
    out["reason"] = [_loop_reason(row) for row in out.itertuples()]
    out = out.sort_values(["priority", NPS, ESCALATIONS], ascending=[False, True, False], na_position="last")
    out.index.name = CUSTOMER_ID
    return out.reset_index()[list(CLOSE_LOOP_COLUMNS)]


def _loop_reason(row: Any) -> str:  # a DataFrame.itertuples() row
    parts = []
    issues = row.issues
    if "detractor" in issues:
        parts.append(f"detractor (NPS {getattr(row, NPS):.0f})")
    if "escalated" in issues:
        parts.append(_plural(getattr(row, ESCALATIONS), "escalated ticket"))
    if "unresolved" in issues:
        parts.append(f"{_plural(getattr(row, TICKETS), 'ticket')} with no resolution recorded")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


HIGH_RISK_PROBABILITY = 0.5  # "at high risk": the churn model gives leaving 50% or more


def customers_at_high_risk(churn_probability: pd.Series, active: pd.Series) -> int:
    """Customers not yet left whose churn probability is `HIGH_RISK_PROBABILITY` (50%) or more.

    Parameters
    ----------
    churn_probability : pd.Series
        The churn model's probability of leaving (0..1) per customer.
    active : pd.Series
        True for customers the churn outcome does not mark as left (same order as
        `churn_probability`).

    Returns
    -------
    int
        Count of customers.
    """
    still_here = active.astype("boolean").fillna(True).to_numpy(dtype=bool)
    return int(((churn_probability.to_numpy(dtype=float) >= HIGH_RISK_PROBABILITY) & still_here).sum())


def ranked_actions(data: CustomerData, scores: Scores, *, top: int | None = None) -> tuple[pd.DataFrame, str]:
    """The Action list of a dataset: current customers ranked by value at stake, and what its
    segment column holds.

    With a purchase log the segment is the customer's RFM segment and the reason names the days since
    the last purchase; with only a customers table it is the value x risk quadrant.

    Parameters
    ----------
    data : CustomerData
        The dataset (its customers table adds NPS and support facts and drops churned customers).
    scores : Scores
        Value and churn risk of current customers (`analytics.business.value.score_customers`).
    top : int, optional
        Keep only the first `top` ranks (`action_list`).

    Returns
    -------
    (pd.DataFrame, str)
        `action_list` output, and the segment column's name in words.
    """
    frame = scores.frame
    table = None
    if data.has_transactions:
        transactions = data.require_transactions()
        rfm = rfm_table(transactions, as_of=data.observation_end)
        segment, label, days = rfm["segment"], "RFM segment", rfm["days_since_last_purchase"]
        table = customer_days(transactions)  # built with the RFM table (cached per frame)
    else:
        matrix = value_risk_matrix(frame["value"].rename("clv"), frame["churn_probability"])
        segment, label, days = matrix.customers["quadrant"], "Value x risk quadrant", None
    actions = action_list(
        frame["value"],
        frame["churn_probability"],
        segment=segment,
        days_since_last_purchase=days,
        customers=data.customers,
        top=top,
        table=table,
    )
    return actions, label


ACTION_TOPS: tuple[int, ...] = (10, 20, 100)  # the Action list's top 10, the brief's top 20, Home's top 100
