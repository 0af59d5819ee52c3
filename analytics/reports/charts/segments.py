"""Altair chart for segments compared side by side (frame in, chart out; no Streamlit).

- `segment_interval_chart`: one dot per segment with its interval as a bar through it; segments whose
  own fit was not possible (pooled with all customers) are diamonds and have no interval.
"""

from __future__ import annotations

from typing import cast

import altair as alt
import pandas as pd


def segment_interval_chart(
    table: pd.DataFrame,
    *,
    value: str,
    low: str,
    high: str,
    title: str,
    axis_title: str,
    value_format: str,
    subtitle: str = "",
) -> alt.LayerChart:
    """Dots with interval bars, one row per segment (in the table's order).

    Parameters
    ----------
    table : pd.DataFrame
        Columns segment, customers, pooled (bool), note (str or None) and the `value`, `low`, `high`
        columns (low/high NaN where there is no interval).
    value, low, high : str
        Column names of the figure and its interval.
    title : str
        Chart title (with its horizon or period).
    axis_title : str
        The x axis title, with its unit ('Mean 12-month value (EUR)').
    value_format : str
        d3 format for axis and tooltips ('$,.2f' style without the symbol: ',.2f', '.0%').
    subtitle : str, optional
        A line under the title (e.g. the interval's level).

    Returns
    -------
    alt.LayerChart
        Interval rules under dots (own fit) or diamonds (pooled).
    """
    frame = table.assign(
        fit=lambda t: t["pooled"].map({True: "All customers' fit (segment too small)", False: "Own fit"}),
        note_text=lambda t: t["note"].fillna(""),
    )
    order = list(frame["segment"])
    y = alt.Y("segment:N", sort=order, title=None, axis=alt.Axis(labelLimit=180))
    tooltip = [
        alt.Tooltip("segment:N", title="Segment"),
        alt.Tooltip(f"{value}:Q", title=axis_title, format=value_format),
        alt.Tooltip(f"{low}:Q", title="Interval from", format=value_format),
        alt.Tooltip(f"{high}:Q", title="Interval to", format=value_format),
        alt.Tooltip("customers:Q", title="Customers", format=","),
        alt.Tooltip("fit:N", title="Fitted on"),
        alt.Tooltip("note_text:N", title="Note"),
    ]
    base = alt.Chart(frame, title=alt.Title(title, subtitle=subtitle) if subtitle else title)
    bars = base.mark_rule(strokeWidth=3, opacity=0.55).encode(
        y=y, x=alt.X(f"{low}:Q", title=axis_title, axis=alt.Axis(format=value_format)), x2=f"{high}:Q", tooltip=tooltip
    )
    dots = base.mark_point(size=110, filled=True).encode(
        y=y,
        x=alt.X(f"{value}:Q", title=axis_title, scale=alt.Scale(zero=False)),
        shape=alt.Shape(
            "fit:N",
            title=None,
            scale=alt.Scale(domain=["Own fit", "All customers' fit (segment too small)"], range=["circle", "diamond"]),
            legend=alt.Legend(orient="bottom"),
        ),
        tooltip=tooltip,
    )
    # a step per segment: a fixed pixel height was dropped by Streamlit's stretch layout, stacking every row on one
    return cast(alt.LayerChart, alt.layer(bars, dots).properties(height=alt.Step(40)))
