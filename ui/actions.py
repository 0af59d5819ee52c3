"""The Action list's ranking and control group, cached per dataset (Action list page, Home).

At a million customers the ranking (a reason in words for every customer, `ranked_actions`) took
about 10 s and the control group's stratified draw about 3 s, on every run of the page: its second
visit took as long as its first. Both are cached per dataset and settings (`ui.cache.per_dataset`),
and the ranking is started in the background once the models are fitted (`prefetch`), so the first
visit finds it ready too. Filters and the control group's share and seed only slice or mark the
cached list; every figure is the one `ranked_actions` and `with_control_group` give.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.business.actions import filter_actions, ranked_actions
from analytics.business.churn_analysis import ChurnSettings
from analytics.business.experiment import GROUP, with_control_group
from analytics.business.value import Scores, horizon_label
from analytics.data.schema import CUSTOMER_ID, NPS, CustomerData
from analytics.models.clv import ClvSettings
from ui import models
from ui import segments as us
from ui.cache import per_dataset
from ui.campaign import control_settings
from ui.downloads import PackedFrame

#: What a page says while the ranking is computed.
LABEL = "Ranking customers by value at stake (a reason in words for each)"
ID, RISK = "Customer", "Churn probability"  # the exported list's id and risk columns


@dataclass(frozen=True)
class Ranking:
    """The Action list of a dataset: the scores it ranks and the ranked list (`ranked_actions`)."""

    scores: Scores
    actions: pd.DataFrame
    segment_label: str


def ranking(data: CustomerData) -> Ranking:
    """The ranked list for this session's settings (raises DataError when value or risk is missing)."""
    return _ranking(data, models.clv_settings(), models.churn_settings())


def start_ranking(data: CustomerData) -> tuple | None:
    """Start `ranking` in the background (`ui.background`): its job key, None once cached."""
    return _ranking.start(data, models.clv_settings(), models.churn_settings())  # type: ignore[attr-defined]


def prefetch_ranking(data: CustomerData) -> None:
    """Start `ranking`, then the control group of the unfiltered list with this session's share and
    seed (what the Action list shows first), for when the page opens (`ui.prefetch`)."""
    clv, churn = models.clv_settings(), models.churn_settings()
    _ranking.prefetch(data, clv, churn)  # type: ignore[attr-defined]
    _groups.prefetch(data, clv, churn, (), 0.0, *control_settings())  # type: ignore[attr-defined]


@per_dataset(max_entries=4, label=LABEL)
def _ranking(data: CustomerData, clv: ClvSettings, churn: ChurnSettings) -> Ranking:
    """`ranked_actions` of `customer_scores` for these settings (those of the key, not the session's
    at run time: a prefetched ranking can run after the user changed them)."""
    scores = us.customer_scores(data, clv, churn)
    us.share_rfm(data)
    actions, label = ranked_actions(data, scores)
    return Ranking(scores, actions, label)


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


def with_groups(data: CustomerData, export: pd.DataFrame, segments: list[str], min_value: float) -> pd.DataFrame:
    """`export` (from `exported` with these filters) with its control group marked, as
    `ui.campaign.contact_list` marks the Churn planner's: the draw is cached per dataset, filters, share and seed."""
    share, seed = control_settings()
    return _marked(data, export, models.clv_settings(), models.churn_settings(), segments, min_value, share, seed)


def _marked(
    data: CustomerData,
    export: pd.DataFrame,
    clv: ClvSettings,
    churn: ChurnSettings,
    segments: list[str],
    min_value: float,
    share: float,
    seed: int,
) -> pd.DataFrame:
    """`export` with its control group marked (`with_groups`, at these settings)."""
    if export.empty:
        return with_control_group(export, id_column=ID, risk_column=RISK)
    groups = _groups(data, clv, churn, tuple(segments), float(min_value), share, seed)
    out = export.copy()
    out.insert(list(out.columns).index(ID) + 1, GROUP, groups)
    return out


@per_dataset(max_entries=8)
def _groups(
    data: CustomerData,
    clv: ClvSettings,
    churn: ChurnSettings,
    segments: tuple[str, ...],
    min_value: float,
    share: float,
    seed: int,
) -> np.ndarray:
    """The `group` column `with_control_group` gives the list `exported(data, segments, min_value)`."""
    export = exported(data, list(segments), min_value, clv, churn)
    return with_control_group(export, id_column=ID, risk_column=RISK, control_share=share, seed=seed)[GROUP].to_numpy()


def packed_export(data: CustomerData, segments: list[str], min_value: float) -> PackedFrame:
    """`with_groups(data, exported(data, segments, min_value), ...)` packed for the CSV download
    (`ui.downloads.PackedFrame`), cached per dataset, settings, filters, share and seed: packing the
    list on every run took 1.2-1.3 CPU s at a million customers, whether or not anyone clicked."""
    share, seed = control_settings()
    filters = (tuple(segments), float(min_value))
    return _packed(data, models.clv_settings(), models.churn_settings(), filters, (share, seed))


@per_dataset(max_entries=4)
def _packed(
    data: CustomerData, clv: ClvSettings, churn: ChurnSettings, filters: tuple, control: tuple[float, int]
) -> PackedFrame:
    """`packed_export` at the settings of its key (`filters`: segments and minimum value at stake;
    `control`: the control group's share and seed)."""
    segments, min_value = list(filters[0]), filters[1]
    export = exported(data, segments, min_value, clv, churn)
    return PackedFrame.of(_marked(data, export, clv, churn, segments, min_value, *control))


def top_value_at_stake(data: CustomerData, top: int) -> float:
    """The value at stake of the list's first `top` customers at this session's settings (Home):
    cached, so a run does not unpickle the whole list (every customer with a reason) to sum `top` values."""
    return _top_value_at_stake(data, models.clv_settings(), models.churn_settings(), top)


@per_dataset(max_entries=4)
def _top_value_at_stake(data: CustomerData, clv: ClvSettings, churn: ChurnSettings, top: int) -> float:
    """`top_value_at_stake` at the settings of its key."""
    return float(_ranking(data, clv, churn).actions["value_at_stake"].head(top).sum())
