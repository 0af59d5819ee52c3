"""Altair charts for lifetime value (frame in, chart out; no Streamlit).

- `clv_distribution`: histogram of per-customer CLV (pre-binned here, so a million customers is a
  few dozen rows in the chart spec).
- `p_alive_matrix`: probability alive by frequency x recency for customers of one age.
- `holdout_by_frequency`: conditional expectations, actual vs predicted holdout purchases per
  customer by calibration frequency 0..7+.
- `cumulative_tracking`: cumulative repeat purchases, actual vs predicted, with a rule at the end
  of calibration.
- `retention_curve`: sBG survival of a new cohort, observed part vs projection.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from analytics.models.purchase import MODEL_LABELS
from analytics.reports.currency import money_title

ACTUAL = "Actual"


def _series_label(name: str) -> str:
    return MODEL_LABELS.get(name, ACTUAL if name == "actual" else name)


def _chart(frame: pd.DataFrame, title: str, subtitle: str) -> alt.Chart:
    return alt.Chart(frame, title=alt.Title(title, subtitle=subtitle))


def _solid_actual_dashed_models() -> alt.SchemaBase | Mapping[str, Any]:
    """Actual data as a solid line, model predictions dashed."""
    return alt.condition(alt.datum.series == ACTUAL, alt.value([1, 0]), alt.value([5, 3]))


def clv_distribution(
    values: pd.DataFrame, *, currency: str | None = None, bins: int = 40, clip_quantile: float = 0.99
) -> alt.Chart:
    """Histogram of `values['clv']` (currency per customer).

    Values above the `clip_quantile` quantile are counted in the last bar so one very valuable
    customer does not squash the rest; the title says so.

    Parameters
    ----------
    values : pd.DataFrame
        `ClvAnalysis.customers`.
    currency : str, optional
        ISO code of the amounts, for the titles (None: 'currency not set').
    bins : int, default 40
        Number of bars.
    clip_quantile : float, default 0.99
        Values above it share the last bar.

    Returns
    -------
    alt.Chart
        The histogram.
    """
    clv = values["clv"].to_numpy(dtype=np.float64)
    clv = clv[np.isfinite(clv)]
    if len(clv) == 0:
        raise ValueError("No CLV values to plot.")
    top = float(np.quantile(clv, clip_quantile)) if len(clv) > 1 else float(clv.max())
    low = min(0.0, float(clv.min()))
    if top <= low:
        top = low + 1.0
    edges = np.linspace(low, top, bins + 1)
    counts, _ = np.histogram(np.clip(clv, low, top), bins=edges)
    frame = pd.DataFrame({"from": edges[:-1], "to": edges[1:], "customers": counts})
    frame["share"] = frame["customers"] / counts.sum()
    title = money_title("Customer lifetime value", currency)
    subtitle = (
        f"{len(clv):,} customers; the last bar also holds the top {100 * (1 - clip_quantile):.0f}% (above {top:,.2f})"
    )
    return (
        _chart(frame, title, subtitle)
        .mark_bar()
        .encode(
            x=alt.X("from:Q", bin="binned", title=money_title("Lifetime value over the horizon", currency)),
            x2="to:Q",
            y=alt.Y("customers:Q", title="Customers"),
            tooltip=[
                alt.Tooltip("from:Q", title=money_title("Value from", currency), format=",.2f"),
                alt.Tooltip("to:Q", title=money_title("Value to", currency), format=",.2f"),
                alt.Tooltip("customers:Q", title="Customers", format=","),
                alt.Tooltip("share:Q", title="Share of customers", format=".1%"),
            ],
        )
    )


def p_alive_matrix(grid: pd.DataFrame, *, time_unit_name: str = "weeks", T: float | None = None) -> alt.Chart:
    """Heatmap of `grid` (frequency, recency, p_alive), e.g. from `PurchaseModel.p_alive_grid`.

    Frequency 0 has no recency (a customer with no repeat purchase); it is shown at recency 0.

    Parameters
    ----------
    grid : pd.DataFrame
        frequency, recency, p_alive.
    time_unit_name : str
        Unit of recency, for the axis.
    T : float, optional
        The customers' age the grid is for, for the title.

    Returns
    -------
    alt.Chart
        The heatmap.
    """
    frame = grid.copy()
    age = f" after {T:,.0f} {time_unit_name}" if T is not None else ""
    return (
        _chart(
            frame,
            f"Probability a customer is still active{age}",
            "Frequent buyers who stopped buying long ago are probably gone (dark).",
        )
        .mark_rect()
        .encode(
            x=alt.X("recency:Q", bin=alt.Bin(maxbins=40), title=f"Recency: first to last purchase ({time_unit_name})"),
            y=alt.Y("frequency:O", sort="descending", title="Repeat purchases (frequency)"),
            color=alt.Color("p_alive:Q", title="P(alive)", scale=alt.Scale(domain=[0, 1], scheme="viridis")),
            tooltip=[
                alt.Tooltip("frequency:Q", title="Repeat purchases"),
                alt.Tooltip("recency:Q", title=f"Recency ({time_unit_name})", format=".1f"),
                alt.Tooltip("p_alive:Q", title="P(alive)", format=".0%"),
            ],
        )
    )


def holdout_by_frequency(table: pd.DataFrame) -> alt.Chart:
    """Actual vs predicted mean holdout purchases per customer by calibration frequency (0..7+).

    Parameters
    ----------
    table : pd.DataFrame
        `analytics.models.holdout.conditional_expectations` output.

    Returns
    -------
    alt.Chart
        Lines per series (actual solid, models dashed).
    """
    series = [c for c in table.columns if c not in ("frequency_group", "customers")]
    long = table.melt(
        id_vars=["frequency_group", "customers"], value_vars=series, var_name="series", value_name="purchases"
    )
    long["series"] = long["series"].map(_series_label)
    order = list(table["frequency_group"])
    return (
        _chart(
            long,
            "Holdout check: purchases per customer by calibration frequency",
            "Mean repeat purchases in the holdout period; the 7+ group pools all heavy buyers.",
        )
        .mark_line(point=True)
        .encode(
            x=alt.X("frequency_group:O", sort=order, title="Repeat purchases in the calibration period"),
            y=alt.Y("purchases:Q", title="Holdout purchases per customer"),
            color=alt.Color("series:N", title=None),
            strokeDash=_solid_actual_dashed_models(),
            tooltip=[
                alt.Tooltip("frequency_group:O", title="Calibration purchases"),
                alt.Tooltip("series:N", title="Series"),
                alt.Tooltip("purchases:Q", title="Per customer", format=".3f"),
                alt.Tooltip("customers:Q", title="Customers", format=","),
            ],
        )
    )


def cumulative_tracking(
    tracking: pd.DataFrame, calibration_end: pd.Timestamp, *, time_unit_name: str = "week"
) -> alt.LayerChart:
    """Cumulative repeat purchases, actual vs each model, with a rule at the calibration end.

    Parameters
    ----------
    tracking : pd.DataFrame
        `analytics.models.holdout.cumulative_tracking` output.
    calibration_end : pd.Timestamp
        Where the holdout starts.
    time_unit_name : str
        Unit name for the axis.

    Returns
    -------
    alt.LayerChart
        Lines, the rule and its label.
    """
    series = [c for c in tracking.columns if c not in ("period", "period_end")]
    long = tracking.melt(id_vars=["period", "period_end"], value_vars=series, var_name="series", value_name="purchases")
    long["series"] = long["series"].map(lambda s: ACTUAL if s == "actual_cumulative" else _series_label(s))
    lines = (
        alt.Chart(long)
        .mark_line()
        .encode(
            x=alt.X("period_end:T", title=f"End of {time_unit_name}"),
            y=alt.Y("purchases:Q", title="Cumulative repeat purchases"),
            color=alt.Color("series:N", title=None),
            strokeDash=_solid_actual_dashed_models(),
            tooltip=[
                alt.Tooltip("period_end:T", title=f"End of {time_unit_name}"),
                alt.Tooltip("series:N", title="Series"),
                alt.Tooltip("purchases:Q", title="Cumulative purchases", format=",.0f"),
            ],
        )
    )
    rule_frame = pd.DataFrame({"calibration_end": [pd.Timestamp(calibration_end)], "label": ["calibration ends"]})
    rule = (
        alt.Chart(rule_frame)
        .mark_rule(strokeDash=[2, 2], color="gray")
        .encode(
            x="calibration_end:T",
            tooltip=[alt.Tooltip("calibration_end:T", title="Calibration ends")],
        )
    )
    text = (
        alt.Chart(rule_frame)
        .mark_text(align="left", dx=4, dy=-4, color="gray")
        .encode(x="calibration_end:T", y=alt.value(12), text="label:N")
    )
    return alt.LayerChart(layer=[lines, rule, text]).properties(
        title=alt.Title(
            "Tracking: cumulative repeat purchases, actual vs predicted",
            subtitle="Left of the line the models saw the data; right of it they forecast the holdout.",
        )
    )


def retention_curve(curve: pd.DataFrame, *, period_name: str = "month") -> alt.Chart:
    """sBG survival of a new cohort.

    Parameters
    ----------
    curve : pd.DataFrame
        `ShiftedBetaGeometric.retention_curve` output.
    period_name : str
        Unit of the period axis.

    Returns
    -------
    alt.Chart
        Observed and projected survival.
    """
    frame = curve.copy()
    frame["part"] = np.where(frame["projected"], "projected", "within observed tenures")
    return (
        _chart(
            frame,
            "Share of a new cohort still subscribed",
            "Shifted-beta-geometric model (Fader & Hardie 2007); retention rises with tenure.",
        )
        .mark_line(point=True)
        .encode(
            x=alt.X("period:Q", title=f"{period_name.capitalize()}s since signup"),
            y=alt.Y("survival:Q", title="Still subscribed", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("part:N", title=None),
            tooltip=[
                alt.Tooltip("period:Q", title=f"{period_name.capitalize()}s"),
                alt.Tooltip("survival:Q", title="Still subscribed", format=".1%"),
                alt.Tooltip("retention_rate:Q", title="Renewal rate that period", format=".1%"),
            ],
        )
    )
