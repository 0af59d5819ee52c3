"""Churn from three angles: the churn model, the purchase model's P(alive) and the survival curve, and where they agree (issue 15)."""

from __future__ import annotations

import functools

import streamlit as st

from analytics.business.churn_angles import ANGLE_LABELS
from analytics.data.schema import DataError
from ui import angles as ua
from ui import background, models
from ui.angles import LABEL, angles, start_angles
from ui.downloads import csv_download
from ui.frame import header, next_step, require_data
from ui.text import safe_table

header(
    "Churn: three angles",
    "Who is about to leave, seen three ways: the churn model's risk, the purchase model's chance that a customer "
    "is still active (purchase logs) and the survival curve's hazard at the customer's tenure and segment "
    "(subscriptions). Where they agree, act first; where they differ, this page says which one to trust.",
)
data = require_data()

# The angles compute in the background (a refit of the purchase model at the cutoff takes minutes on a
# large upload): the page says what it is doing and reruns itself once they are done.
job = start_angles(data)
if job is not None and not background.settle([job]):
    background.pending([job], LABEL)
    st.stop()
result = None
try:
    with st.spinner(LABEL + "…"):
        result = angles(data)
except DataError as exc:
    st.info(str(exc), icon=":material/info:")
if result is None:
    next_step("Add a churn column (customers table) or a purchase log on the Data page.")
    st.stop()

st.subheader("1. How well each angle tells leavers from stayers")
columns = st.columns(3)
for col, name in zip(columns, ANGLE_LABELS):
    label = ANGLE_LABELS[name].split(" (")[0]
    if name in result.angles:
        angle = result.angles[name]
        col.metric(
            f"{label}: ROC AUC",
            "no label" if angle.auc is None else f"{angle.auc:.3f}",
            help=f"{angle.basis}. 0.5 = coin toss, 1 = perfect; measured on {angle.n_auc:,} customers.",
        )
    else:
        col.metric(f"{label}: ROC AUC", "n/a", help=result.unavailable[name])
        col.caption(f"Not available: {result.unavailable[name]}.")
st.caption(f"Every AUC is measured on the same label: {result.label}.")
st.info(result.advice, icon=":material/lightbulb:")

st.subheader("2. Do the angles flag the same customers?")
names = list(result.angles)
short = {n: ua.short_label(n) for n in names}
matrix = (100 * result.agreement).round(0).rename(index=short, columns=short)
left, right = st.columns([3, 2])
with left:
    st.dataframe(
        matrix,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%d%%") for c in matrix.columns},
    )
    st.caption(
        f"Each angle flags its riskiest {result.flag_share:.0%} of the {len(result.flags):,} current customers. A cell "
        "is the share of the row angle's flagged customers that the column angle flags too."
    )
with right:
    st.metric(
        "Flagged by every angle",
        f"{len(result.all_flag):,}",
        help="Current customers among the riskiest of every available angle.",
    )

if len(result.all_flag):
    flagged = ua.flagged(data)  # its first rows, built once per dataset and settings, not on every run
    table = flagged.head
    valued = "Value" in table.columns
    st.markdown(
        f"**{flagged.rows:,} customers are flagged by every angle**"
        + (", most valuable first" if valued else "")
        + ": they are the safest bet for a retention call."
    )
    st.dataframe(
        safe_table(table),
        hide_index=True,
        width="stretch",
        height=300,
        column_config={
            c: st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0)
            for c in table.columns
            if c.endswith(" risk")
        }
        | {"Value": st.column_config.NumberColumn(format="%,.0f")},
    )
    csv_download(
        f"Download the {flagged.rows:,} customers every angle flags (CSV)",
        functools.partial(ua.flagged_rows, data, models.churn_settings(), models.clv_settings()),  # made on click
        "flagged_by_every_angle.csv",
    )
else:
    st.markdown("**No customer is among the riskiest of every angle**: the angles see leaving differently here.")

with st.expander("How each angle works"):
    st.markdown(
        "- **Churn model**: a classifier (logistic regression or gradient boosting) learns from customers whose "
        "outcome is known; its AUC is out-of-fold (each customer scored by a model that did not see them). Needs a "
        "label.\n"
        "- **Purchase model**: 1 - P(alive) from the lifetime-value page's model (Pareto/NBD, BG/NBD or MBG/NBD); "
        "needs repeat purchases, no label. For the AUC it is refitted on the purchases before the label's cutoff.\n"
        "- **Survival curve**: the Kaplan-Meier curve of the customer's segment gives the chance of leaving in the "
        "next 3 months at their tenure, 1 - S(t + 3) / S(t). Needs tenure and a churn flag (subscriptions).\n"
        "- AUC (area under the ROC curve): the chance that a random leaver is ranked riskier than a random stayer."
    )

next_step(
    "Call the customers every angle flags first (most valuable first), then the ones only the trusted angle flags. "
    "Hold out a random control group (Churn planner) so the Campaign readout can show what the calls saved."
)
