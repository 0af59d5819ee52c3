"""Voice of the customer: what customers say (NPS, CSAT, CES, tickets) joined to what they do and are worth (issue 15)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.business.voice import SIGNALS, voice_signals
from analytics.data.schema import CUSTOMER_ID, NPS, DataError
from analytics.reports.charts.voice import group_churn_chart
from ui import currency as cur
from ui import segments as us
from ui.downloads import csv_download
from ui.explain import explain
from ui.frame import friendly_errors, header, next_step, require_data
from ui.text import safe_table
from ui.voice import voice

header(
    "Voice of the customer",
    "What customers say joined to what they do and what they are worth: churn, lifetime and customer value of "
    "promoters, passives and detractors (and of CSAT, effort and support groups), the value at risk among the "
    "unhappy, and whom to call back first. Money is in your file's currency.",
)
data = require_data()

try:
    voice_signals(data)
except DataError as exc:
    st.info(str(exc), icon=":material/record_voice_over:")
    next_step(
        "Export your survey answers (NPS, CSAT or CES) and support figures per customer with the customer id and add "
        "them on the Data page: then this page shows how much more unhappy customers leave and what they are worth."
    )
    st.stop()

analysis = None
with friendly_errors("Voice of the customer"), st.spinner("Joining answers to churn and value (first time only)…"):
    analysis = voice(data)
if analysis is None:
    next_step("Check the survey columns on the Data page.")
    st.stop()


def people_table(table: pd.DataFrame, label: str) -> pd.DataFrame:
    """The group table with readable headers (rates in %, money rounded)."""
    out = pd.DataFrame({label: table["group"].astype(str), "Customers": table["customers"]})
    if "churn_rate" in table:
        out["Churned (%)"] = (100 * table["churn_rate"]).round(1)
        out["95% interval (%)"] = [
            f"{100 * lo:.1f} to {100 * hi:.1f}" for lo, hi in zip(table["churn_low"], table["churn_high"])
        ]
    out["Median lifetime (months)"] = [
        "not reached" if pd.isna(m) else f"{m:.1f}" for m in table["median_lifetime_months"]
    ]
    out["Current customers"] = table["current"]
    out["Mean value"] = table["mean_value"].round(0)
    out["Total value"] = table["total_value"].round(0)
    out["Value at risk"] = table["value_at_risk"].round(0)
    return out


st.subheader("1. Do unhappy customers leave more?")
rise = analysis.churn_rise
if NPS in analysis.tables:
    nps = analysis.tables[NPS].set_index("group")
    detractor_risk = float(nps.loc["detractor", "value_at_risk"])
    a, b, c, d = st.columns(4)
    if rise is not None:
        lo, hi = rise.interval_95
        a.metric("Detractors who left", f"{rise.detractor_rate:.1%}", help="NPS 0-6, among those who answered.")
        b.metric("Promoters who left", f"{rise.promoter_rate:.1%}", help="NPS 9-10, among those who answered.")
        c.metric(
            "Rise, detractor vs promoter",
            f"{100 * rise.difference:+.1f} points",
            help=f"95% interval {100 * lo:+.1f} to {100 * hi:+.1f} points (Newcombe 1998).",
        )
        st.markdown(f"**{rise.sentence}**")
    d.metric(
        "Value at risk among detractors",
        us.money(detractor_risk),
        help="Sum over current detractors of customer value x churn probability (your currency).",
    )
    explain(
        "Value at risk among detractors",
        value=us.money(detractor_risk),
        formula="sum over current detractors (NPS 0-6, not churned) of customer value x churn probability",
        period="today: customers still with you, value over the value model's horizon",
        inputs={
            "Current detractors": f"{int(nps.loc['detractor', 'current']):,}",
            "Their total value": us.money(float(nps.loc["detractor", "total_value"])),
            "Value": analysis.value_source,
        },
        customers=analysis.close_the_loop,
        file_name="value_at_risk_detractors.csv",
    )
    if rise is not None and rise.interval_95[0] > 0:
        st.markdown(
            f"Unhappy customers leave clearly more often here: every detractor turned into a promoter is worth about "
            f"{100 * rise.difference:.0f} points less churn. The {int(nps.loc['detractor', 'current']):,} current "
            f"detractors hold {us.money(detractor_risk)} of value at risk."
        )
    elif rise is not None:
        st.markdown("The difference between detractors and promoters cannot be told apart from chance in this data.")
    left, right = st.columns([2, 3])
    with left:
        if "churn_rate" in analysis.tables[NPS]:
            st.altair_chart(
                group_churn_chart(
                    analysis.tables[NPS], "Churn by NPS class (lines = 95% interval)", currency=cur.current(data)
                ),
                width="stretch",
            )
    with right:
        st.dataframe(people_table(analysis.tables[NPS], "NPS class"), hide_index=True, width="stretch")
else:
    st.markdown("The data has no NPS answers; the other signals are below.")
for note in analysis.notes:
    st.caption(note)
st.caption(f"Value: {analysis.value_source}. Mean and total value count current customers only.")

others = [col for col in analysis.tables if col != NPS]
if others:
    st.subheader("2. Satisfaction, effort and support")
    for tab, col in zip(st.tabs([SIGNALS[c] for c in others]), others):
        with tab:
            table = analysis.tables[col]
            if "churn_rate" in table:
                st.altair_chart(
                    group_churn_chart(table, f"Churn by {SIGNALS[col].lower()}", currency=cur.current(data)),
                    width="stretch",
                )
            st.dataframe(people_table(table, SIGNALS[col]), hide_index=True, width="stretch")

st.subheader("3. Close the loop: detractors with the most value at risk")
loop = analysis.close_the_loop
if loop.empty:
    st.markdown("No current detractor to call back (or no NPS answers).")
else:
    shown = loop.rename(
        columns={
            CUSTOMER_ID: "Customer",
            NPS: "NPS answer",
            "value": "Value",
            "churn_probability": "Churn probability",
            "value_at_risk": "Value at risk",
            "escalations": "Escalations",
            "complaints": "Complaints",
        }
    )
    st.markdown(
        f"**{len(loop):,} current detractors**, highest value at risk first: the first 20 hold "
        f"{us.money(float(loop['value_at_risk'].head(20).sum()))} of the {us.money(float(loop['value_at_risk'].sum()))}."
    )
    st.dataframe(
        safe_table(shown.head(200)),
        hide_index=True,
        width="stretch",
        height=320,
        column_config={
            "Churn probability": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
            "Value": st.column_config.NumberColumn(format="%,.0f"),
            "Value at risk": st.column_config.NumberColumn(format="%,.0f"),
        },
    )
    csv_download(f"Download the {len(loop):,} detractors to call back (CSV)", shown, "detractors_by_value_at_risk.csv")
    st.caption("The data holds no survey date, so the list cannot say when each answer was given.")

with st.expander("How these numbers are defined"):
    st.markdown(
        "- **NPS classes** (Reichheld 2003): promoter 9-10, passive 7-8, detractor 0-6. **CSAT**: satisfied 4-5, "
        "neutral 3, dissatisfied 1-2. **CES** (lower is easier): easy 1-3, neutral 4, hard 5-7.\n"
        "- **Churned**: share of the group's customers whose churn flag says they left; the interval is Wilson's "
        "95% score interval. The rise from promoter to detractor is a difference of two shares with Newcombe's "
        "(1998) interval.\n"
        "- **Median lifetime**: months until half of the group has left (Kaplan-Meier); *not reached* when more "
        "than half are still customers.\n"
        "- **Value at risk**: sum over the group's current customers of value x churn probability.\n"
        "- These are associations: unhappy customers may leave for the same reason they are unhappy (slow support, "
        "the wrong plan). Use a control group (Churn planner) to test whether calling them back keeps them."
    )

next_step(
    "Call back the detractors at the top of the list this week (the highest value at risk first), fix the support "
    "problem behind their answer, and hold out a random control group so the Campaign readout page can show "
    "whether the calls keep them."
)
