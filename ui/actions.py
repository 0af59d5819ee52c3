"""The Action list's ranking and control group, cached per dataset (Action list page, Home).

At a million customers the ranking (a reason in words for every customer, `ranked_actions`) took
about 10 s and the control group's stratified draw about 3 s, on every run of the page: its second
visit took as long as its first. Both are cached per dataset and settings (`ui.cache.per_dataset`),
and the ranking is started in the background once the models are fitted (`prefetch`), so the first
visit finds it ready too. Filters and the control group's share and seed only slice or mark the
cached list; every figure is the one `ranked_actions` and `with_control_group` give.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.business.actions import ACTION_TOPS, filter_actions, ranked_actions
from analytics.business.churn_analysis import ChurnSettings
from analytics.business.experiment import CONTROL, GROUP, TREATMENT, with_control_group, with_groups
from analytics.business.value import Scores, horizon_label
from analytics.data.schema import CUSTOMER_ID, NPS, CustomerData
from analytics.models.clv import ClvSettings
from ui import models
from ui import segments as us
from ui.cache import per_dataset
from ui.campaign import control_settings

#: What a page says while the ranking is computed.
LABEL = "Ranking customers by value at stake (a reason in words for each)"
ID, RISK = "Customer", "Churn probability"  # the exported list's id and risk columns


@dataclass(frozen=True)
class Ranking:
    """The Action list of a dataset: the scores it ranks and the ranked list (`ranked_actions`)."""

    scores: Scores
    actions: pd.DataFrame
    segment_label: str


@dataclass(frozen=True)
class _Ranked:
    """What `_ranking` caches: the ranked list without its scores, which `ui.segments.customer_scores`
    caches already (the list's clv and churn_probability columns are the scores' own numbers). Held with
    the list they were 8 of its 45 MiB pickled at 300,000 customers, a second copy of every customer id."""

    actions: pd.DataFrame
    segment_label: str


def ranking(data: CustomerData) -> Ranking:
    """The ranked list for this session's settings (raises DataError when value or risk is missing)."""
    return ranking_at(data, models.clv_settings(), models.churn_settings())


def ranking_at(data: CustomerData, clv: ClvSettings, churn: ChurnSettings) -> Ranking:
    """The ranked list at these settings, with the scores it ranks (both read from their caches)."""
    ranked = _ranking(data, clv, churn)
    return Ranking(us.customer_scores(data, clv, churn), ranked.actions, ranked.segment_label)


def start_ranking(data: CustomerData) -> tuple | None:
    """Start `ranking` in the background (`ui.background`): its job key, None once cached."""
    return _ranking.start(data, models.clv_settings(), models.churn_settings())  # type: ignore[attr-defined]


def prefetch_ranking(data: CustomerData) -> None:
    """Start `ranking` and Home's sum of its first 100 values at stake (`top_value_at_stake`), then the
    unfiltered list marked with this session's control group (what the Action list shows first,
    `marked_export`), for when the pages open (`ui.prefetch`)."""
    clv, churn = models.clv_settings(), models.churn_settings()
    _ranking.prefetch(data, clv, churn)  # type: ignore[attr-defined]
    _top_value_at_stake.prefetch(data, clv, churn, ACTION_TOPS[-1])  # type: ignore[attr-defined]
    _marked_export.prefetch(data, clv, churn, ((), 0.0), control_settings())  # type: ignore[attr-defined]


@per_dataset(max_entries=4, label=LABEL)
def _ranking(data: CustomerData, clv: ClvSettings, churn: ChurnSettings) -> _Ranked:
    """`ranked_actions` of `customer_scores` for these settings (those of the key, not the session's
    at run time: a prefetched ranking can run after the user changed them)."""
    scores = us.customer_scores(data, clv, churn)
    us.share_rfm(data)
    actions, label = ranked_actions(data, scores)
    return _Ranked(actions, label)


def for_people(
    actions: pd.DataFrame, segment_label: str, full: pd.DataFrame, horizon_months: float | None = None
) -> pd.DataFrame:
    """The list with readable headers (as shown and exported); columns empty in the `full` list
    (e.g. NPS without survey answers) dropped. The value column names the CLV horizon
    (`horizon_months`; this session's when None)."""
    if horizon_months is None:
        horizon_months = models.clv_settings().horizon_months
    names = {
        "rank": "Rank",
        CUSTOMER_ID: ID,
        "segment": segment_label,
        "clv": horizon_label(horizon_months).capitalize(),
        "churn_probability": RISK,
        "value_at_stake": "Value at stake",
        "days_since_last_purchase": "Days since last purchase",
        NPS: "NPS answer",
        "reason": "Reason",
        "escalations": "Escalations",
        "complaints": "Complaints",
    }
    first = ["rank", CUSTOMER_ID, "value_at_stake", "reason", "segment"]
    filled = [c for c in full.columns if c in first or full[c].notna().any()]
    out = actions[first + [c for c in filled if c not in first]].rename(columns=names)
    out[segment_label] = out[segment_label].astype(str)
    return out


def exported(
    data: CustomerData,
    segments: list[str],
    min_value: float,
    clv: ClvSettings | None = None,
    churn: ChurnSettings | None = None,
) -> pd.DataFrame:
    """The filtered list as the page shows and exports it (before the control group is marked), at
    these settings (this session's when None)."""
    clv, churn = clv or models.clv_settings(), churn or models.churn_settings()
    ranked = _ranking(data, clv, churn)
    filtered = filter_actions(ranked.actions, segments=segments or None, min_value_at_stake=min_value or None)
    return for_people(filtered, ranked.segment_label, ranked.actions, clv.horizon_months)


@dataclass(frozen=True)
class MarkedList:
    """The Action list's export (`exported`) with its control group marked (`with_control_group`'s
    `group` column), as the CSV, Excel and report files hold it: who is control, and the function
    that writes the rows.

    Attributes
    ----------
    rows : callable
        Returns the marked list (`marked_rows`, from the cached ranking): the CSV button calls it when
        clicked, the Excel and report buttons when pressed.
    control : int
        Customers marked control.
    """

    rows: Callable[[], pd.DataFrame]
    control: int


@dataclass(frozen=True)
class _Marked:
    """What `_marked_export` caches: the positions in the export of the customers drawn control (int32).

    The marked list itself is the cached ranking filtered and renamed, plus this column: cached packed
    beside the ranking it was a second copy of every row (6.9 MiB at 300,000 customers, for the whole
    session); these positions are 4 bytes per control customer."""

    control_rows: np.ndarray


def marked_export(data: CustomerData, segments: list[str], min_value: float) -> MarkedList:
    """`exported(data, segments, min_value)` with its control group marked at this session's share and
    seed: the control group is drawn once (cached per dataset, settings, filters, share and seed), and
    the rows are written from the cached ranking when a file is asked for (`marked_rows`). Packing the
    list on every run took 1.2-1.3 CPU s at a million customers, whether or not anyone clicked."""
    share, seed = control_settings()
    clv, churn = models.clv_settings(), models.churn_settings()
    filters = (tuple(segments), float(min_value))
    marked = _marked_export(data, clv, churn, filters, (share, seed))
    rows = functools.partial(marked_rows, data, clv, churn, filters, (share, seed))
    return MarkedList(rows, len(marked.control_rows))


def marked_rows(
    data: CustomerData, clv: ClvSettings, churn: ChurnSettings, filters: tuple, control: tuple[float, int]
) -> pd.DataFrame:
    """The marked list at these settings, filters and control group, as `with_control_group` marks it:
    the export of the cached ranking with the cached draw's `group` column after the customer id."""
    export = exported(data, list(filters[0]), filters[1], clv, churn)
    if export.empty:
        return with_control_group(export, id_column=ID, risk_column=RISK)
    group = np.full(len(export), TREATMENT, dtype=object)
    group[_marked_export(data, clv, churn, filters, control).control_rows] = CONTROL
    return with_groups(export, group, id_column=ID)


@per_dataset(max_entries=4)
def _marked_export(
    data: CustomerData, clv: ClvSettings, churn: ChurnSettings, filters: tuple, control: tuple[float, int]
) -> _Marked:
    """`marked_export`'s control group at the settings of its key (`filters`: segments and minimum value
    at stake; `control`: the control group's share and seed): drawn once."""
    segments, min_value = list(filters[0]), filters[1]
    share, seed = control
    export = exported(data, segments, min_value, clv, churn)
    marked = with_control_group(export, id_column=ID, risk_column=RISK, control_share=share, seed=seed)
    del export
    return _Marked(np.flatnonzero((marked[GROUP] == CONTROL).to_numpy()).astype(np.int32))


def top_value_at_stake(data: CustomerData, top: int) -> float:
    """The value at stake of the list's first `top` customers at this session's settings (Home):
    cached, so a run does not unpickle the whole list (every customer with a reason) to sum `top` values."""
    return _top_value_at_stake(data, models.clv_settings(), models.churn_settings(), top)


@per_dataset(max_entries=4)
def _top_value_at_stake(data: CustomerData, clv: ClvSettings, churn: ChurnSettings, top: int) -> float:
    """`top_value_at_stake` at the settings of its key."""
    return float(_ranking(data, clv, churn).actions["value_at_stake"].head(top).sum())
