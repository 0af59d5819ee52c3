"""Altair charts for churn (frames in, charts out; no Streamlit).

- `gains_chart`: share of churners caught vs share of customers contacted, with the random line.
- `calibration_chart`: predicted vs observed churn per risk group, with the diagonal.
- `drivers_chart`: permutation importance per attribute (drop in ROC AUC when shuffled).
- `retention_chart`: Kaplan-Meier retention curves (steps) with 50% line.
- `profit_chart`: expected campaign profit by percent targeted, best point marked.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from analytics.reports.currency import money_title

MODEL_COLOR = "#1565c0"
BASELINE_COLOR = "#9e9e9e"
BEST_COLOR = "#2e7d32"


def _share_axes(x: str, x_title: str, y: str, y_title: str) -> dict[str, alt.X | alt.Y]:
    """Quantitative x and y encodings for shares (0..1) shown as percentages."""
    return {
        "x": alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(format="%")),
        "y": alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format="%")),
    }


def _tooltips(*fields: tuple[str, str, str]) -> list[alt.Tooltip]:
    """Tooltips from (quantitative field, title, d3 format) triples."""
    return [alt.Tooltip(f"{name}:Q", title=title, format=fmt) for name, title, fmt in fields]


def gains_chart(gains: pd.DataFrame) -> alt.LayerChart:
    """Cumulative gains curve: churners caught by contacting the riskiest customers first.

    Parameters
    ----------
    gains : pd.DataFrame
        `analytics.models.churn.gains_curve` output (share_targeted, share_caught, lift, random;
        shares 0..1).

    Returns
    -------
    alt.LayerChart
        The model's curve and the random baseline (dashed), with tooltips.
    """
    base = alt.Chart(gains)
    model = base.mark_line(color=MODEL_COLOR).encode(
        **_share_axes(
            "share_targeted", "Customers contacted (riskiest first)", "share_caught", "Share of churners caught"
        ),
        tooltip=_tooltips(
            ("share_targeted", "Contacted", ".0%"),
            ("share_caught", "Churners caught", ".0%"),
            ("lift", "Lift (x random)", ".2f"),
        ),
    )
    random = base.mark_line(color=BASELINE_COLOR, strokeDash=[4, 4]).encode(x="share_targeted:Q", y="random:Q")
    return alt.LayerChart(layer=[random, model]).properties(
        title="Gains: churners caught by contacting the riskiest customers first (dashed = random)"
    )


def calibration_chart(calibration: pd.DataFrame) -> alt.LayerChart:
    """Predicted vs observed churn rate per risk group.

    Parameters
    ----------
    calibration : pd.DataFrame
        `calibration_table` output (predicted and observed churn rates per risk group, shares 0..1).

    Returns
    -------
    alt.LayerChart
        A line through the risk groups against the dashed diagonal of perfect calibration.
    """
    top = float(max(calibration["mean_predicted"].max(), calibration["observed_rate"].max(), 0.01))
    diagonal = pd.DataFrame({"x": [0.0, top], "y": [0.0, top]})
    line = alt.Chart(diagonal).mark_line(color=BASELINE_COLOR, strokeDash=[4, 4]).encode(x="x:Q", y="y:Q")
    points = (
        alt.Chart(calibration)
        .mark_line(point=True, color=MODEL_COLOR)
        .encode(
            **_share_axes(
                "mean_predicted", "Predicted churn (average in group)", "observed_rate", "Observed churn in group"
            ),
            tooltip=_tooltips(
                ("mean_predicted", "Predicted", ".1%"),
                ("observed_rate", "Observed", ".1%"),
                ("customers", "Customers", ","),
            ),
        )
    )
    return alt.LayerChart(layer=[line, points]).properties(
        title="Calibration: are predicted risks right on average? (dashed = perfect)"
    )


def drivers_chart(importances: pd.DataFrame, display: dict[str, str] | None = None, top: int = 12) -> alt.Chart:
    """Horizontal bars of permutation importance.

    Parameters
    ----------
    importances : pd.DataFrame
        `ChurnModel.importances_` (feature, importance, importance_std; importance = mean drop in
        held-out ROC AUC when the column is shuffled).
    display : dict of str to str, optional
        Column -> name to show.
    top : int, default 12
        How many attributes to show.

    Returns
    -------
    alt.Chart
        One bar per attribute, largest first, with tooltips.
    """
    display = display or {}
    frame = importances.head(top).assign(name=lambda f: f["feature"].map(lambda c: display.get(c, str(c))))
    return (
        alt.Chart(frame, title="What the model leans on (drop in ROC AUC when the column is shuffled)")
        .mark_bar(color=MODEL_COLOR)
        .encode(
            x=alt.X("importance:Q", title="Drop in ROC AUC"),
            y=alt.Y("name:N", title=None, sort="-x"),
            tooltip=[
                alt.Tooltip("name:N", title="Attribute"),
                alt.Tooltip("importance:Q", title="Drop in ROC AUC", format=".4f"),
                alt.Tooltip("importance_std:Q", title="Spread over shuffles", format=".4f"),
            ],
        )
    )


def retention_chart(curves: pd.DataFrame, by: str | None = None) -> alt.LayerChart:
    """Kaplan-Meier retention curves as steps, one per group, with a 50% reference line.

    Parameters
    ----------
    curves : pd.DataFrame
        `RetentionCurves.curves` (group, months, retention, ci_lower, ci_upper, at_risk).
    by : str, optional
        The grouping attribute's name, for the title and legend.

    Returns
    -------
    alt.LayerChart
        Step lines of retention (share 0..1) by months since joining.
    """
    title = "Share of customers still with you after m months" + (f", by {by}" if by else "")
    lines = (
        alt.Chart(curves)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("months:Q", title="Months since joining"),
            y=alt.Y("retention:Q", title="Still a customer", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("group:N", title=by or "Group"),
            tooltip=[
                alt.Tooltip("group:N", title=by or "Group"),
                alt.Tooltip("months:Q", title="Months", format=".1f"),
                alt.Tooltip("retention:Q", title="Still a customer", format=".1%"),
                alt.Tooltip("ci_lower:Q", title="95% band from", format=".1%"),
                alt.Tooltip("ci_upper:Q", title="95% band to", format=".1%"),
                alt.Tooltip("at_risk:Q", title="Customers observed", format=","),
            ],
        )
    )
    half = alt.Chart(pd.DataFrame({"y": [0.5]})).mark_rule(color=BASELINE_COLOR, strokeDash=[4, 4]).encode(y="y:Q")
    return alt.LayerChart(layer=[half, lines]).properties(title=title)


def profit_chart(curve: pd.DataFrame, best_percent: int, currency: str | None = None) -> alt.LayerChart:
    """Expected campaign profit by share of customers contacted, the best point marked.

    Parameters
    ----------
    curve : pd.DataFrame
        `CampaignPlan.curve` (percent_targeted 0..100, customers_targeted, value_saved, cost,
        profit; currency amounts).
    best_percent : int
        `CampaignPlan.best_percent`.
    currency : str, optional
        ISO code of the amounts, for axis and tooltip titles (None: 'currency not set').

    Returns
    -------
    alt.LayerChart
        Profit line, zero line and the labelled best point.
    """

    def unit(title: str) -> str:
        return money_title(title, currency)

    tooltip = [
        alt.Tooltip("percent_targeted:Q", title="Riskiest % contacted"),
        alt.Tooltip("customers_targeted:Q", title="Customers contacted", format=","),
        alt.Tooltip("value_saved:Q", title=unit("Expected value saved"), format=",.0f"),
        alt.Tooltip("cost:Q", title=unit("Offer cost"), format=",.0f"),
        alt.Tooltip("profit:Q", title=unit("Expected profit"), format=",.0f"),
    ]
    line = (
        alt.Chart(curve)
        .mark_line(color=MODEL_COLOR)
        .encode(
            x=alt.X("percent_targeted:Q", title="Riskiest customers contacted (%)"),
            y=alt.Y("profit:Q", title=unit("Expected profit")),
            tooltip=tooltip,
        )
    )
    best = curve[curve["percent_targeted"] == best_percent]
    point = (
        alt.Chart(best)
        .mark_point(size=120, filled=True, color=BEST_COLOR)
        .encode(x="percent_targeted:Q", y="profit:Q", tooltip=tooltip)
    )
    label = (
        alt.Chart(best)
        .mark_text(align="left", dx=8, dy=-8, color=BEST_COLOR)
        .encode(x="percent_targeted:Q", y="profit:Q", text=alt.value(f"Best: top {best_percent}%"))
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=BASELINE_COLOR).encode(y="y:Q")
    return alt.LayerChart(layer=[zero, line, point, label]).properties(
        title="Expected profit of a retention offer by how many of the riskiest customers get it"
    )
