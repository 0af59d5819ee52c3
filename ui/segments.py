"""Cached wrappers and shared helpers for the Segments and Action list pages.

Both pages read the same per-customer value and churn risk (`customer_scores`, built on the shared
model results of `ui.models`), the same RFM table and the same lifecycle stages, so a number on one
page is the number on the other. Heavy work (RFM, personas, stage snapshots, KPIs, the what-if
summary) is cached per dataset with `ui.cache.per_dataset`; the light steps on top of cached model
results (value x risk, stages from p_alive) run in milliseconds and are not cached.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from analytics.business import lifecycle as lc
from analytics.business.churn_analysis import ChurnSettings
from analytics.business.segments import (
    Personas,
    ValueRisk,
    fit_personas,
    remember_rfm_table,
    rfm_table,
    segment_summary,
    value_risk_matrix,
)
from analytics.business.value import (  # noqa: F401  (Scores and the NEEDS_ texts are read by pages)
    NEEDS_PURCHASES,
    NEEDS_RISK,
    NEEDS_VALUE,
    Scores,
    score_customers,
)
from analytics.business.whatif_inputs import WhatIfSettings
from analytics.data.periods import PERIOD_NAMES, PERIODS_PER_YEAR
from analytics.data.schema import CHURNED, CUSTOMER_ID, CustomerData, DataError
from analytics.formatting import percent_points
from analytics.models.clv import ClvSettings
from analytics.reports.charts.health import value_risk_scatter
from analytics.reports.sections.whatif import report_section, section_from_defaults
from ui import currency as cur
from ui import models
from ui import whatif as wi  # the What-if page's keys and slider -> settings conversion
from ui import worker as app_worker
from ui.cache import per_dataset
from ui.downloads import TableHead
from ui.state import setting


def money(x: float) -> str:
    """A money amount for a sentence (currency in force): whole units from 100 up, else two decimals."""
    return cur.money(x, decimals=None, whole_from=100)


# --------------------------------------------------------------------------------------------
# Cached analytics
# --------------------------------------------------------------------------------------------


@per_dataset()
def rfm(data: CustomerData) -> pd.DataFrame:
    """RFM values, quintile scores and named segment per customer, as of the data's last day."""
    if not data.has_transactions:
        raise DataError(f"RFM segments need {NEEDS_PURCHASES}; this data has only a customers table.")
    return rfm_table(data.transactions, as_of=data.observation_end)


RFM_SHOWN = 1_000  # rows of the every-customer RFM table Segments draws (the download holds all)


def rfm_score_rows(data: CustomerData) -> pd.DataFrame:
    """Every customer's RFM values and scores, highest scores first (the cached `rfm` table sorted):
    Segments draws the first `RFM_SHOWN` (`rfm_scores`) and writes them all to a CSV when clicked."""
    return rfm(data).sort_values(["r_score", "f_score", "m_score"], ascending=False).reset_index()


@per_dataset()
def rfm_scores(data: CustomerData) -> TableHead:
    """The first `RFM_SHOWN` of `rfm_score_rows` and their number, sorted once per dataset (not on every
    run). The CSV's rows are sorted again from the cached `rfm` table when clicked: cached packed, they
    were a second copy of it (2.3 MiB at 300,000 customers, for the whole session)."""
    return TableHead.of(rfm_score_rows(data), RFM_SHOWN)


@per_dataset(max_entries=4)
def rfm_summary(data: CustomerData, clv: ClvSettings | None) -> pd.DataFrame:
    """`segment_summary` of the RFM table (eight rows): with each segment's mean model value from the
    shared lifetime-value fit at `clv`, or without it (None). Cached: Segments drew it from the whole
    table twice a run (a second or more at a million customers)."""
    values = None if clv is None else models.clv_analysis(data, clv).customers["clv"]
    return segment_summary(rfm(data), values)


@per_dataset()
def rfm_grid(data: CustomerData) -> pd.DataFrame:
    """Customers by R score (rows "R = 5" first) and F score (columns "F = 1" ...), as Segments shows them."""
    table = rfm(data)
    grid = pd.crosstab(table["r_score"], table["f_score"]).sort_index(ascending=False)
    grid.index, grid.columns = [f"R = {r}" for r in grid.index], [f"F = {f}" for f in grid.columns]
    return grid


def share_rfm(data: CustomerData) -> None:
    """Hand the cached RFM table (`rfm`) to the library's memo for the rest of this cached call, so
    the library functions that read it (the personas' features, the action list) do not compute it
    again: at a million customers each took seconds, three times per dataset. `ui.cache.per_dataset`
    empties the memo when the call ends."""
    if data.has_transactions:
        remember_rfm_table(data.require_transactions(), data.observation_end, rfm(data))


@per_dataset(label="Finding personas (k-means on behaviour and attributes, 2 to 8 groups compared)")
def personas(data: CustomerData) -> Personas:
    """k-means personas (k chosen by silhouette) on behaviour and numeric attributes."""
    share_rfm(data)
    return fit_personas(data)


@per_dataset()
def repeat_gap_days(data: CustomerData) -> float:
    """Typical days between purchases (median over repeat buyers), for the one-time buyer rule."""
    return lc.typical_repeat_gap_days(data.transactions, as_of=data.observation_end)


@per_dataset(max_entries=6)
def stage_moves(data: CustomerData, period: str) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """Transition table (stage at the end of the previous `period` x stage now), both dates."""
    before, now, before_date, now_date = lc.lifecycle_snapshots(data, period=period)
    return lc.transition_table(before["stage"], now["stage"]), before_date, now_date


@per_dataset(max_entries=16, label="Working out what a retention lift is worth")
def _whatif_summary(data: CustomerData, settings: WhatIfSettings, kind: str, clv: Any) -> dict[str, Any]:
    """The report's what-if section on the What-if page's measured inputs (`ui.whatif.measured_defaults`).

    A purchase log's inputs come from the shared lifetime-value fit: `report_section` alone would
    fit the purchase model again (`analytics.business.value.purchase_analysis`, 78 s at 300,000
    customers) and keep that second analysis alive for as long as the data lives."""
    try:
        defaults = wi.measured_defaults(data, settings.period, kind, clv)
    except DataError:  # no purchase model on this data: the report's own fallback (the repeat rate, said so)
        return report_section(data, settings, business_kind=kind, clv_settings=clv)
    return section_from_defaults(defaults, settings, kind)


def whatif_summary(data: CustomerData, settings: WhatIfSettings) -> dict[str, Any]:
    """The what-if report section for these settings, on the business kind and purchase model
    (Lifetime value page's settings) every page uses."""
    from ui.kind import business_kind

    return _whatif_summary(data, settings, business_kind(data).kind, models.clv_settings())


def start_whatif_summary(data: CustomerData, settings: WhatIfSettings) -> tuple | None:
    """Start `whatif_summary` in the background (`ui.background`); its job key, None when cached."""
    from ui.kind import business_kind

    return _whatif_summary.start(data, settings, business_kind(data).kind, models.clv_settings())  # type: ignore[attr-defined]


def prefetch_segments(
    data: CustomerData, *, with_personas: bool = False, with_whatif: bool = False, with_views: bool = False
) -> None:
    """Start what Segments and Home wait for before they are opened (`ui.prefetch`): the personas and
    the RFM tables and stage moves Segments draws (`with_personas`: no model needed), the default what-if
    (Home), and Segments' views on the fitted models (`with_views`: the value x risk matrix, the
    lifecycle stages, the RFM table's mean model value), seconds at a million customers."""
    if with_personas:
        personas.prefetch(data)  # type: ignore[attr-defined]
        if data.has_transactions:
            rfm_summary.prefetch(data, None)  # type: ignore[attr-defined]
            rfm_grid.prefetch(data)  # type: ignore[attr-defined]
            rfm_scores.prefetch(data)  # type: ignore[attr-defined]
            stage_moves.prefetch(data, "month")  # type: ignore[attr-defined]  # the page's default period
    if with_whatif:
        from ui.kind import business_kind

        _whatif_summary.prefetch(data, WhatIfSettings(), business_kind(data).kind, models.clv_settings())  # type: ignore[attr-defined]
    if with_views:
        clv, churn = models.clv_settings(), models.churn_settings()
        _value_risk_view.prefetch(data, clv, churn, cur.current(data))  # type: ignore[attr-defined]
        if data.has_transactions:
            rfm_summary.prefetch(data, clv)  # type: ignore[attr-defined]
        _stage_counts.prefetch(data, clv, churn)  # type: ignore[attr-defined]


@per_dataset(max_entries=12, label="Fitting the purchase model and the retention curve for each segment")
def segment_models(data: CustomerData, attribute: str, clv: Any) -> dict[str, Any]:
    """The purchase model and the retention curve fitted per segment of `attribute`
    (`analytics.business.segment_value`), on the Lifetime value page's settings `clv`.

    Returns {'purchase': SegmentComparison or None, 'retention': SegmentComparison or None,
    'purchase_missing': reason or None, 'retention_missing': reason or None}.
    """
    from analytics.business import segment_value as sv

    labels = sv.segment_attributes(data)[attribute]
    label = sv.attribute_label(attribute)
    out: dict[str, Any] = {"purchase": None, "retention": None, "purchase_missing": None, "retention_missing": None}
    try:
        out["purchase"] = _purchase_value_by_segment(data, models.clv_analysis(data, clv), labels, label)
    except DataError as exc:
        out["purchase_missing"] = str(exc)
    try:
        out["retention"] = sv.retention_by_segment(
            data, labels, label=label, margin=clv.margin, annual_discount_rate=clv.annual_discount_rate
        )
    except DataError as exc:
        out["retention_missing"] = str(exc)
    return out


def _purchase_value_by_segment(data: CustomerData, analysis: Any, labels: pd.Series, label: str) -> Any:
    """`purchase_value_by_segment`, its fits on the worker process for a large purchase log (`ui.worker`).

    As the report's worker does (`analytics.reports.report`): the pooled analysis goes without its
    holdout rows nor ids, the labels as codes by position (`purchase_value_by_codes`, the same fits)."""
    from analytics.business import segment_value as sv
    from analytics.reports.sections.clv import fitted_rows

    worker = app_worker.for_data(data)
    if worker is None:
        return sv.purchase_value_by_segment(analysis, labels, label=label)
    customers = analysis.customers
    codes, levels = pd.factorize(labels.reindex(customers.index.astype(str)).to_numpy(dtype=object))
    light = replace(
        fitted_rows(analysis, customers).analysis,  # no rows: the per-segment fits read only these columns
        customers=customers[[c for c in SEGMENT_COLUMNS if c in customers]].reset_index(drop=True),
    )
    name = str(labels.name or "")
    return app_worker.result_of(
        worker,
        partial(sv.purchase_value_by_codes, name=name, label=label),
        light,
        codes,
        np.asarray(levels, dtype=object),
        fallback=lambda: sv.purchase_value_by_segment(analysis, labels, label=label),
    )


#: The per-customer columns of the pooled analysis the per-segment fits read (as the report sends them).
SEGMENT_COLUMNS = ("frequency", "recency", "T", "monetary_value", "clv", "p_alive", "expected_purchases")


def prefetch_segment_models(data: CustomerData) -> None:
    """Start the per-segment fits of the attribute Segments shows first (`ui.prefetch`; on the worker
    process for a large purchase log, so they take little of this process's time)."""
    names = segment_attribute_names(data)
    if names:
        segment_models.prefetch(data, next(iter(names)), models.clv_settings())  # type: ignore[attr-defined]


@per_dataset()
def segment_attribute_names(data: CustomerData) -> dict[str, str]:
    """Attribute key -> label of every attribute the data can be segmented by."""
    from analytics.business import segment_value as sv

    return {key: sv.attribute_label(key) for key in sv.segment_attributes(data)}


# --------------------------------------------------------------------------------------------
# Value and risk per customer
# --------------------------------------------------------------------------------------------


def customer_scores(data: CustomerData, clv: ClvSettings | None = None, churn: ChurnSettings | None = None) -> Scores:
    """Value (CLV, or the monthly-charge proxy) and churn risk of every current customer, from the
    shared model results (`ui.models`); see `analytics.business.value.score_customers`. Raises
    DataError naming the columns that would enable it.

    Cached per dataset and settings: Segments, the Action list, the churn angles and Home read it on
    every run, and lining the two models' customers up took seconds a run at a million customers."""
    return _customer_scores(data, clv or models.clv_settings(), churn or models.churn_settings())


@per_dataset(max_entries=4)
def _customer_scores(data: CustomerData, clv: ClvSettings, churn: ChurnSettings) -> Scores:
    """`customer_scores` for these settings (those of the key, not the session's at run time: a
    prefetched run can start after the user changed them)."""
    try:
        vr = models.value_and_risk(data, clv, churn)
    except DataError:
        vr = pd.DataFrame(index=pd.Index([], name=CUSTOMER_ID))
    return score_customers(data, vr, clv)


def value_risk(scores: Scores) -> ValueRisk:
    """Value x risk matrix of current customers, split at the medians."""
    return value_risk_matrix(scores.frame["value"].rename("clv"), scores.frame["churn_probability"])


@dataclass(frozen=True)
class ValueRiskView:
    """What Segments shows of the value x risk matrix (`value_risk` of `customer_scores`).

    Attributes
    ----------
    quadrants : pd.DataFrame
        `ValueRisk.summary()`: one row per quadrant.
    customers : int
        Current customers placed in the matrix.
    value_threshold, risk_threshold : float
        The splits (the medians).
    chart : alt.LayerChart
        `value_risk_scatter` of the matrix (a sample of the customers above its `max_points`).
    value_source, risk_source : str
        Where the value and the churn risk come from, in words (`Scores`).
    model_clv : bool
        Whether the value is the lifetime-value model's.
    """

    quadrants: pd.DataFrame
    customers: int
    value_threshold: float
    risk_threshold: float
    chart: Any
    value_source: str
    risk_source: str
    model_clv: bool


def value_risk_view(data: CustomerData) -> ValueRiskView:
    """The value x risk matrix at this session's settings, as Segments draws it (raises DataError as
    `customer_scores`). Cached: placing a million customers and sampling the chart's points took a
    second or more on every run of the page."""
    return _value_risk_view(data, models.clv_settings(), models.churn_settings(), cur.current(data))


@per_dataset(max_entries=4)
def _value_risk_view(data: CustomerData, clv: ClvSettings, churn: ChurnSettings, currency: str | None) -> ValueRiskView:
    """`value_risk_view` at the settings of its key (`currency`: the chart's axis and tooltip titles)."""
    scores = customer_scores(data, clv, churn)
    matrix = value_risk(scores)
    return ValueRiskView(
        quadrants=matrix.summary(),
        customers=len(matrix.customers),
        value_threshold=matrix.value_threshold,
        risk_threshold=matrix.risk_threshold,
        chart=value_risk_scatter(matrix, currency=currency),
        value_source=scores.value_source,
        risk_source=scores.risk_source,
        model_clv=scores.model_clv,
    )


# --------------------------------------------------------------------------------------------
# Lifecycle stage now
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stages:
    """Stage per customer now (`lifecycle_stages` output) and the rule used, in words."""

    frame: pd.DataFrame
    basis: str
    one_time_buyers: int
    repeat_gap_days: float | None


def current_stages(data: CustomerData, clv: ClvSettings | None = None, churn: ChurnSettings | None = None) -> Stages:
    """Stage per customer now; customers marked churned are Lost.

    Where the data records who left (the churn model learns from a churn column: a contractual
    business such as a subscription), stages come from 1 - churn risk. Otherwise (purchases only:
    nobody announces leaving) they come from the purchase model's p_alive, with one-time buyers
    staged by the gap rule because BG/NBD gives them p_alive = 1. `clv`, `churn`: the models' settings
    (this session's when None).
    """
    clv, churn_settings = clv or models.clv_settings(), churn or models.churn_settings()
    churned = data.customers.set_index(CUSTOMER_ID)[CHURNED] if data.has_column(CHURNED) else None
    churn_fit = None
    try:
        churn_fit = models.churn_analysis(data, churn_settings)
    except DataError:
        if not data.has_transactions:
            raise
    if churn_fit is not None and (churn_fit.source == "column" or not data.has_transactions):
        risk = churn_fit.scores.set_index(CUSTOMER_ID)["churn_probability"]
        frame = lc.lifecycle_stages(churn_probability=risk, churned=churned)
        return Stages(
            frame,
            "1 - the churn model's probability of leaving (your data records who left, so the "
            "churn model judges who is still a customer)",
            0,
            None,
        )
    customers = models.clv_analysis(data, clv).customers
    gap = repeat_gap_days(data)
    # BG/NBD's one-time buyers: no repeat purchase on a later day (frequency 0), not orders == 1
    orders = (customers["frequency"] + 1).astype(int)
    frame = lc.lifecycle_stages(
        p_alive=customers["p_alive"],
        orders=orders,
        days_since_last_purchase=rfm(data)["days_since_last_purchase"],
        repeat_gap_days=gap,
        churned=churned,
    )
    return Stages(
        frame,
        "the purchase model's probability that the customer is still active (p_alive)",
        int((orders == 1).sum()),
        gap,
    )


@dataclass(frozen=True)
class StageCounts:
    """Customers per lifecycle stage now (`lifecycle.stage_counts` of `current_stages`) and its rule.

    Attributes
    ----------
    counts : pd.DataFrame
        stage, customers, share (0..1): all five stages, in order.
    basis, one_time_buyers, repeat_gap_days
        As `Stages`.
    """

    counts: pd.DataFrame
    basis: str
    one_time_buyers: int
    repeat_gap_days: float | None


def stage_counts(data: CustomerData) -> StageCounts:
    """Customers per stage now at this session's settings (Segments, the Action list's report).
    Cached: staging a million customers took a second or more on every run of the page."""
    return _stage_counts(data, models.clv_settings(), models.churn_settings())


@per_dataset(max_entries=4)
def _stage_counts(data: CustomerData, clv: ClvSettings, churn: ChurnSettings) -> StageCounts:
    """`stage_counts` at the settings of its key."""
    stages = current_stages(data, clv, churn)
    return StageCounts(
        lc.stage_counts(stages.frame["stage"]), stages.basis, stages.one_time_buyers, stages.repeat_gap_days
    )


# --------------------------------------------------------------------------------------------
# The what-if scenario for the report
# --------------------------------------------------------------------------------------------


def scenario_settings() -> tuple[WhatIfSettings, bool]:
    """The What-if page's current sliders when they were set in this session, else the defaults.

    Returns (settings, from_page).
    """
    keys = (wi.K_PERIOD, *wi.SCENARIO_KEYS)
    if all(setting(k, None) is not None for k in keys):
        values = {k: setting(k, None) for k in wi.SCENARIO_KEYS}
        try:
            return wi.settings_from_values(values, setting(wi.K_PERIOD, "M")), True
        except (DataError, ValueError, TypeError, KeyError):
            pass
    return WhatIfSettings(), False


def scenario_summary(section: dict[str, Any], settings: WhatIfSettings, from_page: bool) -> dict[str, str]:
    """Plain-word lines of the what-if for the HTML report (money in the file's currency)."""
    unit = PERIOD_NAMES[section["period"]]
    years = section["horizon_periods"] / PERIODS_PER_YEAR[section["period"]]
    basis = "yearly retention" if section["lift_basis_used"] == "year" else f"retention per {unit}"
    mode = "percentage points" if settings.lift_mode == "points" else "%"

    profit, clv_base = section["profit_change"], section["clv_base"]
    return {
        "Scenario": "the What-if page's current sliders"
        if from_page
        else "the default scenario (the What-if page was not opened in this session)",
        "Retention lift": f"{settings.lift:g} {mode} of {basis}",
        f"Retention per {unit}": f"{section['retention_rate']:.1%} today, "
        f"{section['lifted_retention_rate']:.1%} with the lift",
        "Profit change": "n/a"
        if profit is None
        else f"{percent_points(section['profit_change_pct'])} over {years:g} years ({profit:+,.0f} in today's money)",
        "Lifetime value of a new customer": "n/a"
        if clv_base is None
        else f"{clv_base:,.2f} today, {section['clv_lifted']:,.2f} with the lift ({percent_points(section['clv_change_pct'])})",
        "Assumptions": f"margin {settings.effective_margin_rate:.0%} of revenue, "
        f"discount {settings.discount_rate_annual:.0%} a year",
    }
