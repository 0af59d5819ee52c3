"""Altair charts for campaign readouts (frames in, charts out; no Streamlit).

- `readout_chart`: retention (or purchase) rate of the treated and the control group, each with its
  95% Wilson interval.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from analytics.business.experiment import Readout, wilson_interval

GROUP_COLORS = {"Treated": "#1565c0", "Control": "#9e9e9e"}


def readout_frame(readout: Readout) -> pd.DataFrame:
    """The readout's two groups as rows for the chart.

    Parameters
    ----------
    readout : Readout
        `read_out` output.

    Returns
    -------
    pd.DataFrame
        One row per group: group, customers, rate (0..1), low / high (95% Wilson interval).
    """
    rows = []
    for name, x, n in (
        ("Treated", readout.treated_successes, readout.treated),
        ("Control", readout.control_successes, readout.control),
    ):
        low, high = wilson_interval(x, n)
        rows.append({"group": name, "customers": n, "rate": x / n, "low": low, "high": high})
    return pd.DataFrame(rows)


def readout_chart(readout: Readout) -> alt.LayerChart:
    """Bars of the two groups' rates with 95% interval whiskers.

    Parameters
    ----------
    readout : Readout
        `read_out` output.

    Returns
    -------
    alt.LayerChart
        Bars and whiskers, with tooltips.
    """
    what = "Stayed" if readout.outcome_kind == "retention" else "Bought again"
    frame = readout_frame(readout)
    base = alt.Chart(frame).encode(y=alt.Y("group:N", title=None, sort=["Treated", "Control"]))
    bars = base.mark_bar().encode(
        x=alt.X("rate:Q", title=f"{what} (share of the group)", axis=alt.Axis(format="%")),
        color=alt.Color(
            "group:N",
            scale=alt.Scale(domain=list(GROUP_COLORS), range=list(GROUP_COLORS.values())),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("customers:Q", title="Customers", format=","),
            alt.Tooltip("rate:Q", title=what, format=".1%"),
            alt.Tooltip("low:Q", title="95% interval from", format=".1%"),
            alt.Tooltip("high:Q", title="95% interval to", format=".1%"),
        ],
    )
    whiskers = base.mark_rule(color="black", strokeWidth=2).encode(x="low:Q", x2="high:Q")
    return alt.LayerChart(layer=[bars, whiskers]).properties(
        title=f"{what}: treated vs control (lines = 95% interval)", height=alt.Step(40)
    )
