"""Altair charts for the voice of the customer (frames in, charts out; no Streamlit).

- `group_churn_chart`: churn rate per survey or support group with its 95% interval, value at risk
  in the tooltip.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from analytics.reports.currency import money_title

BAR_COLOR = "#c62828"


def group_churn_chart(table: pd.DataFrame, title: str, currency: str | None = None) -> alt.LayerChart:
    """Bars of churn rate per group (order as in `table`) with 95% Wilson interval whiskers.

    Parameters
    ----------
    table : pd.DataFrame
        `analytics.business.voice` group table (group, customers, churn_rate, churn_low,
        churn_high, mean_value, value_at_risk; rates 0..1, money in the data's currency).
    title : str
        The chart's title.
    currency : str, optional
        ISO code of the values, for the tooltip titles.

    Returns
    -------
    alt.LayerChart
        Bars and whiskers, with tooltips.
    """
    order = [str(g) for g in table["group"]]
    frame = table.assign(group=table["group"].astype(str))
    base = alt.Chart(frame).encode(y=alt.Y("group:N", title=None, sort=order))
    bars = base.mark_bar(color=BAR_COLOR, opacity=0.85).encode(
        x=alt.X("churn_rate:Q", title="Churned (share of the group)", axis=alt.Axis(format="%")),
        tooltip=[
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("customers:Q", title="Customers", format=","),
            alt.Tooltip("churn_rate:Q", title="Churned", format=".1%"),
            alt.Tooltip("churn_low:Q", title="95% interval from", format=".1%"),
            alt.Tooltip("churn_high:Q", title="95% interval to", format=".1%"),
            alt.Tooltip("mean_value:Q", title=money_title("Mean value (current customers)", currency), format=",.0f"),
            alt.Tooltip("value_at_risk:Q", title=money_title("Value at risk", currency), format=",.0f"),
        ],
    )
    whiskers = base.mark_rule(color="black", strokeWidth=2).encode(x="churn_low:Q", x2="churn_high:Q")
    return alt.LayerChart(layer=[bars, whiskers]).properties(title=title, height=alt.Step(34))
