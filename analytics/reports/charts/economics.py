"""Altair charts for the retention what-if (frames in, charts out; no Streamlit).

- `customers_over_time`: customers on the books each period, today vs with the lift.
- `profit_waterfall`: where the extra profit comes from, source by source, ending at the total.
- `reichheld_band`: each scenario's profit change placed against Bain's 25-95% band.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analytics.business.economics import BAND_HIGH_PCT, BAND_LOW_PCT
from analytics.reports.currency import money_title

GAIN_COLOR = "#2e7d32"
LOSS_COLOR = "#c62828"
TOTAL_COLOR = "#1565c0"
BAND_COLOR = "#90caf9"
TOTAL_LABEL = "Extra profit"


def customers_over_time(frame: pd.DataFrame, *, period_name: str = "month") -> alt.Chart:
    """Line chart of customers per period for each scenario.

    Parameters
    ----------
    frame : pd.DataFrame
        Long frame with columns ``period`` (0 = today), ``scenario`` and ``customers`` (count),
        e.g. `WhatIfResult.customers_frame()`.
    period_name : str, default 'month'
        Unit of the period axis ('month', 'quarter', ...).

    Returns
    -------
    alt.Chart
        One line per scenario, with tooltips.
    """
    return (
        alt.Chart(frame, title=f"Customers over time: today vs with the lift (per {period_name})")
        .mark_line(point=False)
        .encode(
            x=alt.X("period:Q", title=f"{period_name.capitalize()}s from now"),
            y=alt.Y("customers:Q", title="Customers", scale=alt.Scale(zero=False), axis=alt.Axis(format=",.0f")),
            color=alt.Color("scenario:N", title="Scenario", sort=None),
            tooltip=[
                alt.Tooltip("scenario:N", title="Scenario"),
                alt.Tooltip("period:Q", title=period_name.capitalize()),
                alt.Tooltip("customers:Q", title="Customers", format=",.0f"),
            ],
        )
    )


def waterfall_frame(waterfall: pd.DataFrame, *, total_label: str = TOTAL_LABEL) -> pd.DataFrame:
    """Steps of a waterfall: each source's start and end, then a total bar from 0.

    Sources whose amount is negligible (under 1e-9 of the largest) are left out; the total is the
    sum of all amounts, so it equals the profit change.

    Parameters
    ----------
    waterfall : pd.DataFrame
        ``source`` and ``amount`` (currency), e.g. `WhatIfResult.waterfall`.
    total_label : str
        Name of the total bar.

    Returns
    -------
    pd.DataFrame
        ``source``, ``amount`` (currency), ``start``, ``end`` and ``kind`` ('gain', 'loss' or
        'total'), in drawing order.
    """
    amounts = waterfall["amount"].to_numpy(float)
    total = float(amounts.sum())
    scale = float(np.abs(amounts).max()) if len(amounts) else 0.0
    keep = np.abs(amounts) > 1e-9 * scale
    steps = waterfall.loc[keep, ["source", "amount"]].reset_index(drop=True)
    ends = steps["amount"].cumsum()
    steps["start"] = ends - steps["amount"]
    steps["end"] = ends
    steps["kind"] = np.where(steps["amount"] >= 0, "gain", "loss")
    total_row = pd.DataFrame(
        {"source": [total_label], "amount": [total], "start": [0.0], "end": [total], "kind": ["total"]}
    )
    return pd.concat([steps, total_row], ignore_index=True)


def profit_waterfall(waterfall: pd.DataFrame, *, currency: str | None = None) -> alt.Chart:
    """Waterfall of the extra profit by source (discounted, currency over the horizon).

    Parameters
    ----------
    waterfall : pd.DataFrame
        ``source`` and ``amount``, e.g. `WhatIfResult.waterfall`.
    currency : str, optional
        ISO code of the amounts, for axis and tooltip titles (None: 'currency not set').

    Returns
    -------
    alt.Chart
        Floating bars (gains, losses) and the total, with tooltips.
    """
    steps = waterfall_frame(waterfall)
    return (
        alt.Chart(steps, title="Where the extra profit comes from")
        .mark_bar()
        .encode(
            # One word per line, level: angled labels were cut short ("More customers k…").
            x=alt.X(
                "source:N",
                title=None,
                sort=list(steps["source"]),
                axis=alt.Axis(labelAngle=0, labelExpr="split(datum.label, ' ')", labelLimit=0),
            ),
            y=alt.Y("start:Q", title=money_title("Profit, discounted", currency)),
            y2="end:Q",
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(domain=["gain", "loss", "total"], range=[GAIN_COLOR, LOSS_COLOR, TOTAL_COLOR]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("source:N", title="Source"),
                alt.Tooltip("amount:Q", title=money_title("Amount", currency), format=",.0f"),
                alt.Tooltip("end:Q", title=money_title("Running total", currency), format=",.0f"),
            ],
        )
    )


def reichheld_band(frame: pd.DataFrame, *, low: float = BAND_LOW_PCT, high: float = BAND_HIGH_PCT) -> alt.LayerChart:
    """Profit change of each scenario against the Reichheld / Bain band (percent).

    Parameters
    ----------
    frame : pd.DataFrame
        Columns ``scenario`` and ``profit_change_pct`` (percent; NaN rows are left out).
    low, high : float
        The band, percent (25 and 95).

    Returns
    -------
    alt.LayerChart
        The shaded band and one dot per scenario.
    """
    points = frame.dropna(subset=["profit_change_pct"])
    values = [0.0, low, high, *points["profit_change_pct"].tolist()]
    pad = 0.08 * (max(values) - min(values))
    domain = [min(values) - pad, max(values) + pad]
    band = pd.DataFrame({"low": [low], "high": [high], "label": [f"Bain: +{low:.0f}% to +{high:.0f}%"]})
    x_scale = alt.Scale(domain=domain)
    rect = (
        alt.Chart(band)
        .mark_rect(color=BAND_COLOR, opacity=0.5)
        .encode(
            x=alt.X("low:Q", scale=x_scale, title="Profit change (%)"),
            x2="high:Q",
            tooltip=[alt.Tooltip("label:N", title="Band")],
        )
    )
    dots = (
        alt.Chart(points)
        .mark_point(filled=True, size=160, color=TOTAL_COLOR)
        .encode(
            x=alt.X("profit_change_pct:Q", scale=x_scale),
            y=alt.Y("scenario:N", title=None, sort=None),
            tooltip=[
                alt.Tooltip("scenario:N", title="Scenario"),
                alt.Tooltip("profit_change_pct:Q", title="Profit change (%)", format="+.1f"),
            ],
        )
    )
    return alt.LayerChart(layer=[rect, dots]).properties(
        title="Your result against the 25–95% profit gain of a 5-point lift"
    )
