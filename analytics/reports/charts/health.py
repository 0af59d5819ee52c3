"""Altair charts for customer health: KPI trends, cohorts, segments, value x risk, lifecycle.

Pure builders: frame (or result object) in, `alt.Chart` out, with tooltips and titles that say
the unit. The encodings stay simple (one mark per view, flat data) so the offline HTML report can
redraw them as inline SVG (see analytics.reports.html_report).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analytics.business.cohorts import CohortTable
from analytics.business.lifecycle import STAGES
from analytics.business.segments import FEATURE_LABELS, QUADRANT_ADVICE, SAVE_FIRST, SEGMENTS, ValueRisk
from analytics.reports.currency import money_title

STAGE_COLOURS = ("#2e7d32", "#9ccc65", "#ffb300", "#f4511e", "#8d6e63")
QUADRANT_COLOURS = ("#d32f2f", "#1976d2", "#ffa000", "#9e9e9e")
MAX_POINTS = 5000  # Altair's default row limit; larger frames are sampled for the scatter


def _unit_format(unit: str, *, axis: bool = False) -> str:
    if unit == "currency":
        return ",.0f" if axis else ",.2f"
    return {"share": ".1%", "customers": ",.0f"}.get(unit, ",.2f")


def _axis_lines(title: str, max_chars: int = 18) -> str | list[str]:
    """An axis title in two lines when it is long: 'Revenue (EUR)' stays, 'Revenue (currency not set)'
    becomes ['Revenue', '(currency not set)']."""
    if len(title) <= max_chars or " (" not in title:
        return title
    head, _, tail = title.partition(" (")
    return [head, f"({tail}"]


def period_axis(periods: pd.Series, *, max_labels: int = 12) -> alt.Axis:
    """A time axis with ticks on period starts only, one per period (or every k-th when crowded).

    Vega's default time ticks fall between months on short spans, which repeated labels like
    "Jan 2011" and set ticks off the points; `tickCount` with a calendar interval puts each tick
    on a period start, where the points are.

    Parameters
    ----------
    periods : pd.Series
        The period starts on the axis.
    max_labels : int, default 12
        Most tick labels shown.

    Returns
    -------
    alt.Axis
        The axis for an `alt.X(..., axis=...)`.
    """
    stamps = pd.to_datetime(pd.Series(periods)).sort_values()
    spacing = float(stamps.diff().dt.days.median()) if len(stamps) > 1 else 30.0
    if spacing >= 300:
        interval, fmt, per_year = "year", "%Y", 1
    elif spacing >= 80:
        interval, fmt, per_year = "month", "Q%q %Y", 4
    else:
        interval, fmt, per_year = "month", "%b %Y", 12
    n = max(len(stamps), 1)
    every = max(1, -(-n // max_labels))  # ceil(n / max_labels) periods between labels
    months = {"year": 1, "month": 12 // per_year}[interval] * every if interval == "month" else every
    return alt.Axis(format=fmt, tickCount={"interval": interval, "step": months}, labelOverlap=True, grid=False)


def kpi_trend_chart(
    trend: pd.DataFrame, *, label: str, unit: str = "", compact: bool = False, currency: str | None = None
) -> alt.Chart:
    """Line of a KPI per period.

    Parameters
    ----------
    trend : pd.DataFrame
        `analytics.business.kpis.kpi_trend` output (period, value).
    label : str
        The KPI's name, for the axis title and tooltip.
    unit : str, optional
        "share" (formatted as percent), "currency" (the title names `currency`), "customers" or
        another unit name (shown after the label, e.g. 'Resolution time (hours)').
    compact : bool, default False
        A small axis-less sparkline for KPI cards.
    currency : str, optional
        ISO code of the amounts when `unit` is "currency" (axis and tooltip read 'Revenue (EUR)';
        None: 'Revenue (currency not set)').

    Returns
    -------
    alt.Chart
        The line, with tooltips.
    """
    fmt = _unit_format(unit)
    # money names its currency; a share reads as % on the axis and a count is plain, so neither says "(share)"
    plain_units = ("", "share", "customers")
    y_title = (
        money_title(label, currency) if unit == "currency" else label if unit in plain_units else f"{label} ({unit})"
    )
    base = alt.Chart(trend).encode(
        x=alt.X(
            "period:T",
            title=None if compact else "Period",
            axis=None if compact else period_axis(trend["period"]),
            scale=alt.Scale(nice=False),
        ),
        y=alt.Y(
            "value:Q",
            # a long title ('Revenue (currency not set)') stands taller than a short chart's plot and pushed
            # the chart's own title out of its box: broken into two lines it fits (checked in Chromium)
            title=None if compact else _axis_lines(y_title),
            axis=None if compact else alt.Axis(format=_unit_format(unit, axis=True)),
            scale=alt.Scale(zero=False),
        ),
        tooltip=[
            alt.Tooltip("period:T", title="Period", format="%b %Y"),
            alt.Tooltip("value:Q", title=y_title, format=fmt),
        ],
    )
    chart = base.mark_line(point=not compact, strokeWidth=2)
    if compact:
        return chart.properties(height=50, width="container")
    return chart.properties(title=f"{label} by period", height=260)


def cohort_heatmap(table: CohortTable, *, measure: str = "retention", currency: str | None = None) -> alt.Chart:
    """Cohort x periods-since-acquisition heatmap.

    Parameters
    ----------
    table : CohortTable
        `analytics.business.cohorts` output.
    measure : str, default 'retention'
        "retention" (share of the cohort's customers active), "revenue_retention" (revenue /
        period-0 revenue), "active_customers" or "revenue" (currency).
    currency : str, optional
        ISO code of the amounts, for the revenue titles.

    Returns
    -------
    alt.Chart
        One cell per cohort and period, with tooltips.
    """
    long = table.to_long()
    if measure not in long.columns:
        raise ValueError(f"Unknown cohort measure '{measure}'.")
    is_share = measure in ("retention", "revenue_retention")
    titles = {
        "retention": "Share of the cohort active",
        "revenue_retention": "Revenue vs acquisition period",
        "active_customers": "Active customers",
        "revenue": money_title("Revenue", currency),
    }
    fmt = ".0%" if is_share else ",.0f"
    tooltip = [
        alt.Tooltip("cohort:O", title="Cohort"),
        alt.Tooltip("period_number:O", title=f"{table.period.capitalize()}s since acquisition"),
        alt.Tooltip("cohort_size:Q", title="Cohort customers", format=","),
        alt.Tooltip("active_customers:Q", title="Active customers", format=","),
        alt.Tooltip("retention:Q", title="Active share", format=".1%"),
    ]
    if "revenue" in long.columns:
        tooltip.append(alt.Tooltip("revenue:Q", title=titles["revenue"], format=",.0f"))
    return (
        alt.Chart(long)
        .mark_rect()
        .encode(
            x=alt.X("period_number:O", title=f"{table.period.capitalize()}s since acquisition"),
            y=alt.Y("cohort:O", title="Acquisition cohort"),
            color=alt.Color(
                f"{measure}:Q", title=titles[measure], scale=alt.Scale(scheme="blues"), legend=alt.Legend(format=fmt)
            ),
            tooltip=tooltip,
        )
        .properties(
            title=f"Cohorts: {titles[measure][0].lower() + titles[measure][1:]} by {table.period}s since acquisition",
            height=alt.Step(12),
        )
    )


def retention_curve_chart(
    curve: pd.DataFrame, *, period: str = "month", revenue_curve: pd.DataFrame | None = None
) -> alt.Chart:
    """Average retention curve, optionally with the revenue curve as a second line.

    Parameters
    ----------
    curve : pd.DataFrame
        `analytics.business.cohorts.average_retention_curve` output.
    period : str, default 'month'
        Name of the period, for the axis.
    revenue_curve : pd.DataFrame, optional
        The same for revenue retention.

    Returns
    -------
    alt.Chart
        The curve(s), share 0..1 by periods since acquisition.
    """
    frames = [curve.assign(measure="Customers")]
    if revenue_curve is not None:
        frames.append(revenue_curve.assign(measure="Revenue"))
    long = pd.concat(frames, ignore_index=True)
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "period_number:Q",
                title=f"{period.capitalize()}s since acquisition",
                axis=alt.Axis(format="d", tickMinStep=1),
            ),
            y=alt.Y(
                "retention:Q",
                title="Retained share of the cohort",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("measure:N", title="Measure"),
            tooltip=[
                alt.Tooltip("measure:N", title="Measure"),
                alt.Tooltip("period_number:Q", title=f"{period.capitalize()}s since acquisition"),
                alt.Tooltip("retention:Q", title="Retained", format=".1%"),
                alt.Tooltip("cohorts:Q", title="Cohorts averaged"),
                alt.Tooltip("customers:Q", title="Customers in them", format=","),
            ],
        )
        .properties(title="Average retention curve (weighted by cohort size)", height=280)
    )


def segment_bars(summary: pd.DataFrame, *, measure: str = "customers", currency: str | None = None) -> alt.Chart:
    """Horizontal bars per named RFM segment.

    Parameters
    ----------
    summary : pd.DataFrame
        `analytics.business.segments.segment_summary` output.
    measure : str, default 'customers'
        "customers", "revenue" (currency) or "mean_clv" (currency).
    currency : str, optional
        ISO code of the amounts, for axis and tooltip titles.

    Returns
    -------
    alt.Chart
        One bar per segment, with tooltips.
    """
    titles = {
        "customers": "Customers",
        "revenue": money_title("Revenue", currency),
        "mean_clv": money_title("Mean customer value", currency),
    }
    frame = summary.reset_index()
    tooltip = [
        alt.Tooltip("segment:N", title="Segment"),
        alt.Tooltip("customers:Q", title="Customers", format=","),
        alt.Tooltip("customer_share:Q", title="Share of customers", format=".1%"),
        alt.Tooltip("revenue:Q", title=titles["revenue"], format=",.0f"),
        alt.Tooltip("revenue_share:Q", title="Share of revenue", format=".1%"),
        alt.Tooltip("advice:N", title="What to do"),
    ]
    if frame["mean_clv"].notna().any():
        tooltip.insert(5, alt.Tooltip("mean_clv:Q", title=titles["mean_clv"], format=",.0f"))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("segment:N", title=None, sort=list(SEGMENTS)),
            x=alt.X(f"{measure}:Q", title=titles[measure]),
            color=alt.Color("segment:N", sort=list(SEGMENTS), legend=None),
            tooltip=tooltip,
        )
        .properties(title=f"RFM segments: {titles[measure][0].lower() + titles[measure][1:]}", height=alt.Step(26))
    )


def value_risk_scatter(
    matrix: ValueRisk, *, max_points: int = MAX_POINTS, random_state: int = 0, currency: str | None = None
) -> alt.LayerChart:
    """CLV against churn probability, quadrant lines at the thresholds and the "Save first" label.

    Above `max_points` customers, the "Save first" customers with the most value at stake and a
    random sample of the others are drawn (the tooltip counts stay exact in the summary table).

    Parameters
    ----------
    matrix : ValueRisk
        `analytics.business.segments` value/risk matrix.
    max_points : int
        Most customers drawn.
    random_state : int, default 0
        Seed of the sample.
    currency : str, optional
        ISO code of the values, for axis and tooltip titles.

    Returns
    -------
    alt.LayerChart
        Points, threshold rules and the quadrant label.
    """
    df = matrix.customers.reset_index()
    if len(df) > max_points:
        save = df[df["quadrant"] == SAVE_FIRST].nlargest(max_points // 2, "value_at_stake")
        rest = df.drop(save.index)
        df = pd.concat([save, rest.sample(max_points - len(save), random_state=random_state)])
    df["quadrant"] = df["quadrant"].astype(str)
    points = (
        alt.Chart(df)
        .mark_circle(size=28, opacity=0.6)
        .encode(
            x=alt.X(
                "churn_probability:Q",
                title="Churn probability",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y("clv:Q", title=money_title("Customer value", currency)),
            color=alt.Color(
                "quadrant:N",
                title="Quadrant",
                scale=alt.Scale(domain=list(QUADRANT_ADVICE), range=list(QUADRANT_COLOURS)),
            ),
            tooltip=[
                alt.Tooltip("customer_id:N", title="Customer"),
                alt.Tooltip("clv:Q", title=money_title("Customer value", currency), format=",.0f"),
                alt.Tooltip("churn_probability:Q", title="Churn probability", format=".0%"),
                alt.Tooltip("value_at_stake:Q", title=money_title("Value at stake", currency), format=",.0f"),
                alt.Tooltip("quadrant:N", title="Quadrant"),
            ],
        )
    )
    v_rule = alt.Chart(pd.DataFrame({"x": [matrix.risk_threshold]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    h_rule = alt.Chart(pd.DataFrame({"y": [matrix.value_threshold]})).mark_rule(strokeDash=[4, 4]).encode(y="y:Q")
    top = float(df["clv"].max())
    label = (
        alt.Chart(pd.DataFrame({"x": [0.98], "y": [top], "text": [SAVE_FIRST]}))
        .mark_text(align="right", baseline="top", fontWeight="bold", color=QUADRANT_COLOURS[0])
        .encode(x="x:Q", y="y:Q", text="text:N")
    )
    return alt.LayerChart(layer=[points, v_rule, h_rule, label]).properties(
        title="Value x risk: save the top-right quadrant first", height=360
    )


def stake_concentration_chart(value_at_stake: pd.Series, *, currency: str | None = None) -> alt.Chart:
    """Share of the list's value at stake covered by calling its first N customers (ranked highest first).

    Parameters
    ----------
    value_at_stake : pd.Series
        Value x churn probability per customer (currency), in the list's order (highest first).
    currency : str, optional
        ISO code of the amounts, for the tooltip.

    Returns
    -------
    alt.Chart
        A rising line from 0 to 100% with tooltips (customers called, share and amount covered).
    """
    values = value_at_stake.to_numpy(dtype=float)
    total = float(values.sum())
    covered = values.cumsum()
    frame = pd.DataFrame(
        {
            "called": range(1, len(values) + 1),
            "covered": covered,
            "share": covered / total if total > 0 else 0.0,
        }
    )
    if len(frame) > MAX_POINTS:  # the curve is smooth: every k-th customer draws it, and the last
        step = int(np.ceil(len(frame) / MAX_POINTS))
        rows = np.unique(np.append(np.arange(0, len(frame), step), len(frame) - 1))
        frame = frame.iloc[rows]
    return (
        alt.Chart(frame, title="Value at stake covered, calling down the list")
        .mark_area(line=True, opacity=0.25)
        .encode(
            x=alt.X("called:Q", title="Customers called, highest value at stake first"),
            y=alt.Y(
                "share:Q",
                title="Share of the value at stake",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            tooltip=[
                alt.Tooltip("called:Q", title="Customers called", format=","),
                alt.Tooltip("share:Q", title="Share of the value at stake", format=".0%"),
                alt.Tooltip("covered:Q", title=money_title("Value at stake covered", currency), format=",.0f"),
            ],
        )
        .properties(height=280)
    )


def lifecycle_bar(counts: pd.DataFrame) -> alt.Chart:
    """Customers per lifecycle stage.

    Parameters
    ----------
    counts : pd.DataFrame
        `analytics.business.lifecycle.stage_counts` output.

    Returns
    -------
    alt.Chart
        One bar per stage, with tooltips.
    """
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("stage:N", sort=list(STAGES), title="Lifecycle stage"),
            y=alt.Y("customers:Q", title="Customers"),
            color=alt.Color(
                "stage:N",
                sort=list(STAGES),
                scale=alt.Scale(domain=list(STAGES), range=list(STAGE_COLOURS)),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("stage:N", title="Stage"),
                alt.Tooltip("customers:Q", title="Customers", format=","),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        .properties(title="Customers by lifecycle stage", height=260)
    )


def transition_chart(flows: pd.DataFrame) -> alt.LayerChart:
    """From-stage x to-stage heatmap of customers.

    Parameters
    ----------
    flows : pd.DataFrame
        `analytics.business.lifecycle.transition_flows` output.

    Returns
    -------
    alt.LayerChart
        Cells coloured by share of the row, labelled with customer counts.
    """
    order_before = list(STAGES) + ["New"]
    base = alt.Chart(flows).encode(
        x=alt.X("stage_now:N", sort=list(STAGES), title="Stage now"),
        y=alt.Y("stage_before:N", sort=order_before, title="Stage at the previous period end"),
        tooltip=[
            alt.Tooltip("stage_before:N", title="Before"),
            alt.Tooltip("stage_now:N", title="Now"),
            alt.Tooltip("customers:Q", title="Customers", format=","),
            alt.Tooltip("share_of_before:Q", title="Share of the row", format=".1%"),
        ],
    )
    # log colour: the diagonal (customers who stayed) would otherwise wash out every move
    cells = base.mark_rect().encode(
        color=alt.Color("customers:Q", title="Customers", scale=alt.Scale(type="symlog", scheme="oranges"))
    )
    labels = base.mark_text(fontSize=11).encode(text=alt.Text("customers:Q", format=","))
    return alt.LayerChart(layer=[cells, labels]).properties(
        title="Customers moving between lifecycle stages", height=alt.Step(34)
    )


def persona_profile_chart(z: pd.DataFrame) -> alt.Chart:
    """Persona x feature heatmap of z-scores: how each persona differs from the average customer.

    Parameters
    ----------
    z : pd.DataFrame
        `Personas.z_` (personas x features, standard deviations from the mean).

    Returns
    -------
    alt.Chart
        One cell per persona and feature, with tooltips.
    """
    named = z.rename(columns=lambda c: FEATURE_LABELS.get(c, c.replace("_", " ")))
    long = named.reset_index().melt(id_vars=[z.index.name or "index"], var_name="feature", value_name="z")
    long = long.rename(columns={z.index.name or "index": "persona"})
    return (
        alt.Chart(long)
        .mark_rect()
        .encode(
            x=alt.X("feature:N", title=None),
            y=alt.Y("persona:N", title=None),
            color=alt.Color(
                "z:Q", title="vs average (sd)", scale=alt.Scale(scheme="redblue", domainMid=0, reverse=True)
            ),
            tooltip=[
                alt.Tooltip("persona:N"),
                alt.Tooltip("feature:N"),
                alt.Tooltip("z:Q", title="Standard deviations", format="+.2f"),
            ],
        )
        .properties(title="Personas: how each differs from the average customer", height=alt.Step(30))
    )
