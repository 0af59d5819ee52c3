"""Customer-health pages (Overview and Cohorts): cached KPIs and cohorts, KPI targets, formats.

Every setting that changes a result is a widget bound to the URL under one of the `K_*` keys
below (page prefixes `kpi_` and `coh_`, kept for the session by `ui.state.keep_settings`). The
KPI targets travel as ONE compact string (`analytics.business.kpis.format_targets`, e.g.
"nps:30,churn_rate:0.02", shares as fractions) under `K_TARGETS`, so a shared link carries them.

The plain-word readings (`cohort_reading`, `retention_reading`) are pure functions of the
library's results, so the pages stay thin and the sentences are tested through the pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import altair as alt
import pandas as pd
import streamlit as st

from analytics.business.cohorts import CohortTable, average_retention_curve, cohort_table
from analytics.business.kpis import (
    KPI,
    KPI_SPECS,
    KPIReport,
    compute_kpis,
    format_targets,
    kpi_gaps,
    kpi_trend,
    parse_targets,
    with_model_clv,
)
from analytics.data.schema import CustomerData
from analytics.formatting import money
from ui.cache import per_dataset
from ui.state import setting

if TYPE_CHECKING:  # the model modules load only when a model is asked for
    from analytics.models.clv import ClvSettings

# --- widget keys (URL parameter names) ----------------------------------------------------------
K_PERIOD = "kpi_period"
K_MODEL = "kpi_model"
K_TREND = "kpi_trend"
K_TARGETS = "kpi_targets"
# the target editor's own widgets are scratch space (no prefix: not a shared setting)
K_PICK = "ovt_pick"
K_VALUE = "ovt_value"
K_COH_PERIOD = "coh_period"
K_COH_MAX = "coh_max"
K_COH_REVENUE = "coh_revenue"

PERIODS: tuple[str, ...] = ("month", "quarter", "year")
PERIOD_LABELS = {"month": "Month", "quarter": "Quarter", "year": "Year"}

SECTIONS: dict[str, tuple[str, ...]] = {
    "Customers & revenue": (
        "customers",
        "active_customers",
        "new_customers",
        "revenue",
        "average_order_value",
        "purchase_frequency",
        "repeat_purchase_rate",
    ),
    "Retention": ("retention_rate", "churn_rate", "customer_lifetime", "mean_tenure_months"),
    "Value": ("clv_simple", "clv_model", "cac", "ltv_cac"),
    "Satisfaction & support": (
        "nps",
        "csat",
        "ces",
        "avg_resolution_hours",
        "first_contact_resolution",
        "escalation_rate",
        "complaints_per_day",
    ),
}
#: KPIs with one value per period, so they have a trend (`analytics.business.kpis.kpi_trend`).
TREND_KEYS: tuple[str, ...] = (
    "customers",
    "active_customers",
    "new_customers",
    "revenue",
    "average_order_value",
    "purchase_frequency",
    "repeat_purchase_rate",
    "retention_rate",
    "churn_rate",
    "customer_lifetime",
    "cac",
)
FACTOR_LABELS = {
    "average_order_value": "average order value",
    "purchase_frequency": "orders per buying customer",
    "monthly_charge": "monthly charge",
    "charges_per_period": "charges per period",
    "lifetime_periods": "expected lifetime",
    "margin": "margin",
    "acquisition_cost": "acquisition cost",
}


# --- cached analytics ----------------------------------------------------------------------------


def kpi_report(data: CustomerData, period: str, model_clv: float | None = None) -> KPIReport:
    """Every KPI for the last complete `period` against the one before (see compute_kpis), the model CLV
    labelled with this session's horizon and the formula CLV with its margin (the Lifetime value page's)."""
    from ui.models import clv_settings  # the model modules load only when a model is asked for

    settings = clv_settings()
    report = _kpi_report(data, period, settings.horizon_months, settings.margin)
    if model_clv is None:
        return report
    # the model's two KPIs set on the cached report: no second pass over every purchase (2-4 s at 1M)
    return with_model_clv(report, model_clv, model_clv_horizon_months=settings.horizon_months)


@per_dataset(max_entries=12)
def _kpi_report(data: CustomerData, period: str, horizon_months: float, margin: float) -> KPIReport:
    return compute_kpis(data, period=period, model_clv_horizon_months=horizon_months, margin=margin)


@per_dataset(max_entries=24)
def trend(data: CustomerData, key: str, period: str) -> pd.DataFrame:
    """One KPI per period (columns period, value)."""
    return kpi_trend(data, key, period=period)


#: The period Home's cards and Customer health's cards open on, and the KPI Customer health's trend
#: chart shows first (its selectbox's default): what `prefetch_kpis` computes.
DEFAULT_PERIOD = "month"
DEFAULT_TREND = "churn_rate"
#: The most recent cohorts the Cohorts page shows until the user moves its slider.
DEFAULT_COHORTS = 24


def prefetch_kpis(data: CustomerData) -> None:
    """Start, in the background (`ui.background`), what Home and Customer health compute on their
    first visit before any model (`_first_visit`), then the Cohorts page's default table (3 s at 1M
    customers once the customer-day table is built)."""
    _first_visit.prefetch(data, DEFAULT_PERIOD)  # type: ignore[attr-defined]
    cohorts.prefetch(data, DEFAULT_PERIOD, DEFAULT_COHORTS)  # type: ignore[attr-defined]


@per_dataset(max_entries=2, label="Computing the KPIs")
def _first_visit(data: CustomerData, period: str) -> bool:
    """The KPI report for `period`, the trends Home's cards and chart and Customer health's first
    chart draw, and the customers behind the KPI Customer health's 'Explain a number' shows first
    (`ui.explain.customers_table`), each cached where the pages read it. At 1M customers these took
    10-20 s of Customer health's first visit (the report 4 s, a trend 1-3 s, the 1M customer ids
    sorted and packed 2.5 s). True once done."""
    from analytics.reports.story import CARD_KEYS
    from ui.explain import customers_table, first_explained

    report = kpi_report(data, period)
    for key in dict.fromkeys((DEFAULT_TREND, *CARD_KEYS)):
        if report[key].value is not None:
            trend(data, key, period)
    first = first_explained(report)
    if first is not None:
        customers_table(data, first, period, report.current_period)
    return True


@per_dataset(max_entries=12)
def cohorts(data: CustomerData, period: str, max_cohorts: int) -> CohortTable:
    """Acquisition cohorts (most recent `max_cohorts`)."""
    return cohort_table(data, period=period, max_cohorts=max_cohorts)


def start_model_clv(data: CustomerData) -> tuple | None:
    """Start the purchase-model fit behind the model-based CLV in the background (`ui.background`).

    The same cached fit as the Lifetime value page's (`ui.models.clv_analysis`, this session's
    settings). Returns its job key while it runs, None once it is cached; pass the key to
    `ui.background.settle` and `pending`.
    """
    from ui.models import clv_analysis, clv_settings  # the model modules load only when a model is asked for

    return clv_analysis.start(data, clv_settings())  # type: ignore[attr-defined]


def model_clv(data: CustomerData) -> tuple[float, str]:
    """Mean model-based CLV (currency per customer) and a one-line description of how it was made.

    Reads the fit `start_model_clv` started (fits it here when it was never started; cached in
    ui.models for every page); raises DataError without a purchase log. The two results are cached
    on their own: at 1M customers unpickling the whole lifetime-value analysis for them took seconds.
    """
    from ui.models import clv_settings  # the model modules load only when a model is asked for

    return _model_clv_summary(data, clv_settings())


def prefetch_model_clv(data: CustomerData) -> None:
    """Start `model_clv`'s summary in the background (`ui.prefetch`: Customer health and Home show it)."""
    from ui.models import clv_settings

    _model_clv_summary.prefetch(data, clv_settings())  # type: ignore[attr-defined]


@per_dataset(max_entries=4)
def _model_clv_summary(data: CustomerData, settings: ClvSettings) -> tuple[float, str]:
    from analytics.models.purchase import MODEL_LABELS  # the model modules load only when a model is asked for
    from ui.models import clv_analysis

    clv = clv_analysis(data, settings)
    s = clv.settings
    label = MODEL_LABELS.get(clv.selected, clv.selected)
    text = (
        f"Mean of {len(clv.customers):,} customers ({label}): {s.margin:.0%} margin over the next "
        f"{s.horizon_months:g} months, discounted {s.annual_discount_rate:.0%} a year."
    )
    return clv.mean_clv, text


# --- targets -------------------------------------------------------------------------------------


def targets() -> dict[str, float]:
    """The targets set in this session or link ({kpi key: value in the KPI's unit; shares 0..1}).

    Read before the targets widget is drawn (cards show their gap), so on a link's first run the
    value still sits in the URL, not yet in the session.
    """
    return parse_targets(setting(K_TARGETS, st.query_params.get(K_TARGETS, "")))


def set_target(key: str, shown: float | None) -> None:
    """Widget callback: set (or clear with None) one KPI target, given as the editor shows it."""
    current = targets()
    if shown is None:
        current.pop(key, None)
    else:
        current[key] = from_shown(key, shown)
    st.session_state[K_TARGETS] = format_targets(current)


def value_key(key: str) -> str:
    """The target editor's number input for one KPI (one per KPI, so each starts at its own value)."""
    return f"{K_VALUE}_{key}"


def set_picked_target() -> None:
    """Button callback: the editor's KPI and value become a target."""
    pick = st.session_state[K_PICK]
    set_target(pick, st.session_state.get(value_key(pick)))


def clear_targets() -> None:
    st.session_state[K_TARGETS] = ""


def is_share(key: str) -> bool:
    return KPI_SPECS[key].unit == "share"


def to_shown(key: str, value: float) -> float:
    """A KPI value in the unit the target editor uses (shares as %)."""
    return round(value * 100, 2) if is_share(key) else round(value, 2)


def from_shown(key: str, shown: float) -> float:
    return float(shown) / 100 if is_share(key) else float(shown)


def shown_unit(key: str) -> str:
    """The unit of the target editor's number for this KPI."""
    unit = KPI_SPECS[key].unit
    return {
        "share": "%",
        "currency": "your currency",
        "score": "points" if key == "nps" else "1-7 scale",
        "periods": "periods",
    }.get(unit, unit)


# --- formats -------------------------------------------------------------------------------------


FORMATS = {
    "customers": "{:,.0f}",
    "share": "{:.1%}",
    "ratio": "{:.1f} : 1",
    "hours": "{:.1f} h",
    "per day": "{:.2f} / day",
    "orders per customer": "{:.2f} orders",
}
"""How a value of each KPI unit is written (currency and period counts are below)."""
KEY_FORMATS = {"nps": "{:+.1f}", "ces": "{:.2f} / 7"}


def format_value(key: str, value: float | None, unit: str | None = None) -> str:
    """A KPI value with its unit: '98.0%', '+4.8', '3.33 / 7', '52.3 months', '42.0 : 1'."""
    if value is None:
        return "n/a"
    unit = unit or KPI_SPECS[key].unit
    template = KEY_FORMATS.get(key) or FORMATS.get(unit)
    if template:
        return template.format(value)
    if unit == "currency":
        return money(value)
    decimals = 0 if abs(value) >= 100 else 1 if abs(value) >= 1 or value == 0 else 2
    return f"{value:,.{decimals}f} {unit}"


def format_change(key: str, change: float, unit: str | None = None) -> str:
    """A difference in the KPI's unit with its sign ('+0.4 pts' for shares)."""
    unit = unit or KPI_SPECS[key].unit
    if unit == "share":
        return f"{100 * change:+.1f} pts"
    text = format_value(key, abs(change), unit)
    return ("+" if change >= 0 else "-") + text.lstrip("+")


def format_delta(kpi: KPI) -> str | None:
    """The card's change against the previous period: '+169 (+4.1%)', '-0.4 pts'."""
    if kpi.change is None:
        return None
    text = format_change(kpi.key, kpi.change, kpi.unit)
    if kpi.unit != "share" and kpi.relative_change is not None:
        text += f" ({kpi.relative_change:+.1%})"
    return text


def delta_color(kpi: KPI) -> str:
    """Green when the move is good: 'inverse' where lower is better, 'off' for neutral counts."""
    return {True: "normal", False: "inverse", None: "off"}[kpi.higher_is_better]


def factors_text(kpi: KPI) -> str:
    """The formula CLV's factors in words: '38.41 average order value x 1.09 orders ... x 30% margin'."""
    parts = []
    for name, value in kpi.factors:
        if name == "acquisition_cost":
            continue  # LTV:CAC divides by it; the formula CLV itself does not subtract it
        if value is None:
            shown = "?"
        elif name == "margin":
            shown = f"{value:.0%}"
        else:
            shown = f"{value:,.2f}" if name != "lifetime_periods" else f"{value:,.1f}"
        parts.append(f"{shown} {FACTOR_LABELS.get(name, name)}")
    return " × ".join(parts)


def gap_text(key: str, gap: float | None, on_target: bool | None) -> str:
    """'on target (+2.1 pts)', 'short by 25.2', or 'n/a' when the KPI has no value."""
    if gap is None or pd.isna(gap):
        return "n/a: no value on this data"
    amount = format_change(key, gap)
    if on_target is None or pd.isna(on_target):
        return amount
    return f"on target ({amount})" if on_target else f"off target by {amount.lstrip('+-')}"


def gap_table(report: KPIReport, chosen: Mapping[str, float]) -> pd.DataFrame:
    """The gap to each target as the page shows it: KPI, Now, Target, Gap, Status."""
    gaps = kpi_gaps(report, chosen)
    rows = []
    for row in gaps.itertuples(index=False):
        rows.append(
            {
                "KPI": row.label,
                "Now": format_value(row.key, row.value, row.unit),
                "Target": format_value(row.key, row.target, row.unit),
                "Gap": "n/a" if row.gap is None or pd.isna(row.gap) else format_change(row.key, row.gap, row.unit),
                "Status": gap_text(row.key, row.gap, row.on_target),
            }
        )
    return pd.DataFrame(rows, columns=["KPI", "Now", "Target", "Gap", "Status"])


def target_caption(report: KPIReport, key: str, chosen: Mapping[str, float]) -> str:
    """'Target +30.0: off target by 25.2' for a card, or '' without a target."""
    if key not in chosen:
        return ""
    row = kpi_gaps(report, {key: chosen[key]}).iloc[0]
    return f"Target {format_value(key, row['target'], row['unit'])}: {gap_text(key, row['gap'], row['on_target'])}"


NEEDS_WHAT = ("a ", "an ", "'", "transactions", "tenure", "dates", "CAC")
"""Starts of the library's `missing` texts that name what is needed (read as 'needs ...')."""


def missing_groups(items: list[tuple[str, str]]) -> list[tuple[list[str], str]]:
    """Group unavailable KPIs that share a reason: [(labels, 'need(s) ...'), ...] in KPI order."""
    groups: dict[str, list[str]] = {}
    for label, reason in items:
        groups.setdefault(reason.rstrip("."), []).append(label)
    out = []
    for reason, labels in groups.items():
        if reason.startswith(NEEDS_WHAT):
            reason = ("need " if len(labels) > 1 else "needs ") + reason
        out.append((labels, reason))
    return out


# --- cohorts in plain words ----------------------------------------------------------------------

MILESTONE = {"month": 6, "quarter": 2, "year": 1}
CURVE_POINTS = {"month": (1, 3, 6, 12, 24), "quarter": (1, 2, 4, 8), "year": (1, 2, 3)}


LABEL_LIMIT = 24
"""Largest cohorts x periods grid whose cells still carry their percentage as text."""


def labelled_heatmap(chart: alt.Chart, table: CohortTable, measure: str) -> alt.Chart | alt.LayerChart:
    """The library's cohort heatmap with taller rows and, on a readable grid, each cell's percentage
    (white on dark cells)."""
    chart = chart.properties(height=alt.Step(22))
    matrix = table.revenue_retention if measure == "revenue_retention" else table.retention
    if matrix.shape[0] > LABEL_LIMIT or matrix.shape[1] > LABEL_LIMIT:
        return chart
    values = matrix.stack()
    middle = float(values.min() + values.max()) / 2
    text = chart.mark_text(fontSize=10).encode(
        text=alt.Text(f"{measure}:Q", format=".0%"),
        color=alt.condition(f"datum.{measure} > {middle}", alt.value("white"), alt.value("black")),
    )
    return alt.layer(chart, text).properties(title=chart.title)


def cohort_name(label: str, period: str) -> str:
    """'2025-01' -> 'Jan 2025', '2025Q1' -> 'Q1 2025', '2025' -> '2025'."""
    p = pd.Period(label, freq={"month": "M", "quarter": "Q", "year": "Y"}[period])
    if period == "month":
        return p.strftime("%b %Y")
    if period == "quarter":
        return f"Q{p.quarter} {p.year}"
    return str(p.year)


def periods_text(k: int, period: str) -> str:
    return f"{k} {period}" + ("s" if k != 1 else "")


def cohort_reading(table: CohortTable) -> list[str]:
    """Plain sentences for a manager about the cohort matrix.

    1. One cohort: of the customers acquired in <the most recent cohort that reached the
       milestone k (6 months, 2 quarters, 1 year, or the longest observed)>, what share was still
       active k periods later.
    2. Recent against older cohorts at that k (size-weighted; 'about the same' within 2 points).
    """
    period, ret = table.period, table.retention
    observed = [int(k) for k in ret.columns if ret[k].notna().any()]
    k = min(MILESTONE[period], max(observed))
    verb = "still bought" if table.basis == "purchases" else "were still subscribed"
    if k == 0:
        return [f"Only the acquisition {period} of each cohort is observed so far: come back after another {period}."]
    reached = ret[k].dropna()
    label = reached.index[-1]
    size = int(table.sizes[label])
    out = [
        f"Of the {size:,} customers acquired in {cohort_name(label, period)}, **{reached.iloc[-1]:.0%} {verb} "
        f"{periods_text(k, period)} later** ({period} {k}, counting the acquisition {period} as {period} 0)."
    ]
    if len(reached) >= 2:
        half = len(reached) // 2
        older, recent = reached.index[:half], reached.index[half:]

        def weighted(rows: pd.Index) -> float:
            return float(table.active.loc[rows, k].sum() / table.sizes[rows].sum())

        old_r, new_r = weighted(older), weighted(recent)
        span_old = _span(older, period)
        span_new = _span(recent, period)
        diff = new_r - old_r
        if abs(diff) < 0.02:
            verdict = "hold up about the same as"
        else:
            verdict = "hold up **better** than" if diff > 0 else "hold up **worse** than"
        out.append(
            f"Recent cohorts ({span_new}) {verdict} older ones ({span_old}): {new_r:.0%} against {old_r:.0%} "
            f"still active {periods_text(k, period)} after acquisition."
        )
    else:
        out.append(
            f"Only one cohort has been observed for {periods_text(k, period)}, so there is no trend across cohorts yet."
        )
    return out


def _span(labels: pd.Index, period: str) -> str:
    first, last = cohort_name(labels[0], period), cohort_name(labels[-1], period)
    return first if first == last else f"{first} to {last}"


def retention_reading(table: CohortTable, *, revenue: bool = False) -> str:
    """'On average a cohort keeps 96% of its customers after 1 month, 88% after 6 ...'."""
    curve = average_retention_curve(table, revenue=revenue).set_index("period_number")["retention"]
    points = [k for k in CURVE_POINTS[table.period] if k in curve.index and pd.notna(curve[k])]
    if not points:
        return f"No cohort has been observed beyond its acquisition {table.period} yet."
    what = " of its first-period revenue" if revenue else " of its customers"
    parts = [
        f"{curve[k]:.0%}{what if i == 0 else ''} after {periods_text(k, table.period)}" for i, k in enumerate(points)
    ]
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return f"On average a cohort keeps {listed}."
