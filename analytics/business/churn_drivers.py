"""Churn drivers in plain words: which customer attributes go with a higher churn rate, measured on the
labelled customers and said as one sentence each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analytics.business.churn_inputs import _GENERIC_FLAG_TOKENS, _norm_name
from analytics.models.churn import MIN_IMPORTANCE

MIN_RATIO = 1.1  # churn-rate ratio below which a comparison says nothing


@dataclass(frozen=True)
class Driver:
    """One column that helps predict churn, with a plain-word comparison of churn rates.

    Attributes
    ----------
    column, name : str
        The column and its display name.
    importance : float
        Mean drop in held-out ROC AUC when the column is shuffled.
    sentence : str
        The comparison in plain words.
    high_group, low_group : str
        The groups compared.
    high_rate, low_rate : float
        Their observed churn rates (0..1).
    ratio : float
        high_rate / low_rate (inf when low_rate is 0).
    """

    column: str
    name: str
    importance: float
    sentence: str
    high_group: str
    low_group: str
    high_rate: float
    low_rate: float
    ratio: float


def _fmt(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _compare(hi_subject: str, lo_object: str, hi_rate: float, lo_rate: float, context: str = "") -> str:
    """'<hi> churn 3.1x as often as <lo> (<context>43% vs 14%).' or the zero-rate variant."""
    if lo_rate == 0:
        return f"{hi_subject} churn ({hi_rate:.0%}) while {lo_object} do not (0%{context and '; ' + context})."
    return (
        f"{hi_subject} churn {hi_rate / lo_rate:.1f}x as often as {lo_object} "
        f"({context + '; ' if context else ''}{hi_rate:.0%} vs {lo_rate:.0%})."
    )


def _group_rates(groups: pd.Series, y: pd.Series, min_size: int) -> pd.DataFrame:
    stats = y.groupby(groups.to_numpy()).agg(["mean", "size"])
    return stats[stats["size"] >= min_size].sort_values("mean", ascending=False, kind="stable")


def _at_most_two_values(values: np.ndarray) -> bool:
    """`nunique() <= 2` of filled numbers, by comparisons instead of a hash table of millions of values."""
    if len(values) == 0:
        return True
    other = values[values != values[0]]
    return len(other) == 0 or bool((other == other[0]).all())


def driver_sentence(values: pd.Series, y: pd.Series, name: str, min_group: int = 30) -> Driver | None:
    """Compare observed churn between the groups of one column.

    Text columns (and numbers with at most two values): the level with the highest churn rate vs
    the one with the lowest, among levels with at least `min_group` customers, e.g.
    "Month-to-month customers churn 3.1x as often as Two year ones (Contract; 43% vs 14%)."
    Numbers: customers in the top quarter of values vs the bottom quarter (when more than a
    quarter share the lowest value: above it vs at it). `importance` is left at 0 (see
    `describe_drivers`).

    Parameters
    ----------
    values : pd.Series
        The column, one value per labelled customer.
    y : pd.Series
        1 for customers who churned, aligned with `values`.
    name : str
        The column's display name.
    min_group : int, default 30
        Fewest customers in a group compared.

    Returns
    -------
    Driver or None
        The comparison; None when no two groups are large enough.
    """
    filled = values.notna().to_numpy()
    # by position, not by customer id (a text-id lookup per customer cost ~1.7 s per driver at 2M;
    # masks over millions of text ids cost a comparison of the ids per mask)
    values = pd.Series(values.to_numpy()[filled], name=values.name)
    y = pd.Series(np.asarray(y, dtype=float)[filled])
    if values.dtype == object or _at_most_two_values(values.to_numpy()):
        levels = values.map(lambda v: v if isinstance(v, str) else _fmt(v))
        rates = _group_rates(levels, y, min_group)
        if len(rates) < 2:
            return None
        hi, lo = str(rates.index[0]), str(rates.index[-1])
        hi_rate, lo_rate = float(rates["mean"].iloc[0]), float(rates["mean"].iloc[-1])
        flag_like = {_norm_name(hi), _norm_name(lo)} & (_GENERIC_FLAG_TOKENS | {"blank"})
        if flag_like or values.dtype != object:
            hi, lo = f"{name} = {hi}", f"{name} = {lo}"
            sentence = _compare(f"Customers with {hi}", f"those with {lo}", hi_rate, lo_rate)
        else:
            sentence = _compare(f"{hi} customers", f"{lo} ones", hi_rate, lo_rate, name)
    else:
        q25, q75 = (float(q) for q in values.quantile([0.25, 0.75]))
        bottom_mask = values <= q25
        top_mask = values >= q75 if q75 > q25 else values > q25
        if top_mask.sum() < min_group or bottom_mask.sum() < min_group:
            return None
        top = f"top quarter ({'≥ ' + _fmt(q75) if q75 > q25 else '> ' + _fmt(q25)})"
        bottom = f"bottom quarter (≤ {_fmt(q25)})"
        top_rate, bottom_rate = float(y[top_mask].mean()), float(y[bottom_mask].mean())
        (hi, hi_rate), (lo, lo_rate) = sorted([(top, top_rate), (bottom, bottom_rate)], key=lambda g: -g[1])
        hi_subject = f"Customers in the {hi.replace(' quarter', ' quarter of ' + name, 1)}"
        sentence = _compare(hi_subject, f"those in the {lo}", hi_rate, lo_rate)
    ratio = hi_rate / lo_rate if lo_rate > 0 else math.inf
    return Driver(str(values.name), name, 0.0, sentence, hi, lo, hi_rate, lo_rate, ratio)


def describe_drivers(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    importances: pd.DataFrame,
    display: dict[str, str] | None = None,
    n: int = 5,
) -> list[Driver]:
    """Plain-word drivers for the `n` most important columns.

    The ranking comes from `importances` (permutation importance). A column counts when shuffling
    it costs at least 0.001 of ROC AUC and more than its spread over repeats, and when its
    groups differ by at least 1.1x in observed churn (see `driver_sentence`); a column whose
    effect does not show as a simple high-vs-low contrast is left out of the sentences.

    Parameters
    ----------
    X : pd.DataFrame
        The attributes of the labelled customers.
    y : np.ndarray or pd.Series
        1 (or True) for customers who churned.
    importances : pd.DataFrame
        `ChurnModel.importances_` (feature, importance, importance_std).
    display : dict of str to str, optional
        Column -> name to show.
    n : int, default 5
        Most drivers returned.

    Returns
    -------
    list of Driver
        Strongest first.
    """
    display = display or {}
    y = pd.Series(np.asarray(pd.Series(y).astype(float)), index=X.index)
    min_group = int(max(10, min(30, 0.02 * len(X))))
    out: list[Driver] = []
    rows = zip(
        importances["feature"].astype(str),
        importances["importance"].astype(float),
        importances["importance_std"].astype(float),
    )
    for feature, importance, spread in rows:
        if len(out) >= n or importance < MIN_IMPORTANCE:
            break
        if importance <= spread:
            continue
        driver = driver_sentence(X[feature], y, display.get(feature, feature), min_group)
        if driver is not None and driver.ratio >= MIN_RATIO:
            out.append(replace(driver, importance=float(importance)))
    return out
