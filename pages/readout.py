"""Campaign readout: did the offer work? Treated vs control on a later file of the same customers (issue 15)."""

from __future__ import annotations

import contextlib

import pandas as pd
import streamlit as st

from analytics.business.experiment import Readout, outcome_from_data, parse_contact_list, read_out
from analytics.data.schema import DataError
from analytics.reports.charts.campaign import readout_chart
from ui import campaign as uc
from ui import models, state
from ui.churn import DEFAULT_OFFER_COST, K_OFFER_COST, money
from ui.explain import explain
from ui.frame import friendly_errors, header, next_step, require_data
from ui.text import plain

header(
    "Campaign readout",
    "Did the retention offer work? Compare the customers who got it (treatment) with the random control group "
    "held out of the same list, on a later file of the same customers: the uplift in retention (or purchases) "
    "with its 95% interval, the value it saved and what each saved customer cost.",
)
data = require_data()

st.subheader("1. The two files")
left, right = st.columns(2)
with left:
    listed = st.file_uploader(
        "The contact list you sent (CSV or Excel, as downloaded)",
        type=["csv", "txt", "xlsx", "xls"],
        key="readout_list_upload",
        help="The file from the Churn planner or the Action list: one row per customer with the column 'group' "
        "(treatment or control).",
    )
    kept = st.session_state.get(uc.K_LIST_FILE)
    if listed is not None and (kept is None or kept.file_id != listed.file_id):  # spilled once, not each run
        st.session_state[uc.K_LIST_FILE] = state.UploadedBytes.from_widget(listed)
with right:
    later = st.file_uploader(
        "What happened next: a later customers file (with the churn flag) or the next purchase log",
        type=["csv", "txt", "xlsx", "xls", "parquet"],
        accept_multiple_files=True,
        key="readout_outcome_upload",
        help="Exported some weeks after the campaign, for the same customers (same customer ids).",
    )
    kept_later = st.session_state.get(uc.K_OUTCOME_FILES) or []
    if later and [f.file_id for f in later] != [f.file_id for f in kept_later]:
        st.session_state[uc.K_OUTCOME_FILES] = [state.UploadedBytes.from_widget(f) for f in later]

list_file = st.session_state.get(uc.K_LIST_FILE)
outcome_files = st.session_state.get(uc.K_OUTCOME_FILES) or []
share, seed = uc.control_settings()
if list_file is None or not outcome_files:
    st.info(
        "Upload both files to read out a campaign. No campaign yet? Download a contact list from the **Churn** "
        f"page's planner or the **Action list**: each holds out {share:.0%} of the customers at random as a control "
        f"group (seed {seed}), marked in its column *group*. Run the offer on the treatment group only, wait a few "
        "weeks, export your customers (or purchases) again and bring both files here.",
        icon=":material/science:",
    )
    next_step(
        "Hold out a control group in every campaign: without one, nobody can tell what the offer changed from what "
        "would have happened anyway."
    )
    st.stop()

st.caption(
    f"Contact list: **{plain(list_file.name)}**. Later file: **{plain(', '.join(f.name for f in outcome_files))}**."
)

readout: Readout | None = None
with friendly_errors("Campaign readout"):
    contacts = parse_contact_list(uc.read_contact_file(list_file.sha256, list_file.name, list_file.content))
    key = "|".join(f.sha256 for f in outcome_files)
    outcome_data = uc.read_outcome_files(key, tuple(outcome_files))
    a, b = st.columns(2)
    since = None
    if not outcome_data.has_customers or "churned" not in outcome_data.customers.columns:
        first = outcome_data.transactions["order_date"].min() if outcome_data.has_transactions else None
        since = a.date_input(
            "Count purchases from",
            value=first.date() if first is not None and pd.notna(first) else None,
            key="readout_since",
            help="The campaign's start: a customer counts as won back when they bought on or after this day.",
        )
    cost = b.number_input(
        "Offer cost per treated customer (your currency)",
        min_value=0.0,
        value=float(state.setting(K_OFFER_COST, DEFAULT_OFFER_COST)),
        step=1.0,
        format="%.2f",
        key="readout_offer_cost",
    )
    outcome = outcome_from_data(outcome_data, since=pd.Timestamp(since) if since else None)
    value = None
    value_note = "no value per customer is available for this data, so the value saved is not shown"
    with contextlib.suppress(DataError):  # no source of value: the readout says so instead
        value, value_note = models.customer_value(data, contacts["customer_id"])  # as the report's readout
    readout = read_out(contacts, outcome, value=value, offer_cost=float(cost))

if readout is None:
    next_step("Fix the file named above and upload it again.")
    st.stop()

st.subheader("2. What the offer changed")
what = "Retention" if readout.outcome_kind == "retention" else "Purchase rate"
lo, hi = readout.interval_95
a, b, c, d = st.columns(4)
a.metric(f"{what}, treated", f"{readout.treated_rate:.1%}", help=f"{readout.treated:,} customers got the offer.")
b.metric(f"{what}, control", f"{readout.control_rate:.1%}", help=f"{readout.control:,} customers were held out.")
c.metric(
    "Uplift",
    f"{100 * readout.difference:+.1f} points",
    help=f"Treated minus control; 95% interval {100 * lo:+.1f} to {100 * hi:+.1f} points (Newcombe 1998).",
)
d.metric(
    "p-value",
    "< 0.001" if readout.p_value < 0.001 else f"{readout.p_value:.3f}",
    help="Chance of a gap at least this large if the offer did nothing.",
)
(st.success if readout.distinguishable and readout.difference > 0 else st.warning)(readout.verdict)
behind = contacts.assign(outcome=contacts["customer_id"].map(outcome.success))
if outcome.kind == "purchase":
    behind["outcome"] = behind["outcome"].fillna(False)
explain(
    "Uplift",
    value=f"{100 * readout.difference:+.1f} points",
    formula="share of the treated who stayed (bought) - share of the control group who stayed (bought); 95% "
    "interval by Newcombe's hybrid score method",
    period=f"from the list's campaign to the later file ({outcome.description})",
    inputs={
        "Treated: stayed / customers": f"{readout.treated_successes:,} / {readout.treated:,}",
        "Control: stayed / customers": f"{readout.control_successes:,} / {readout.control:,}",
        "Not in the later file": f"{readout.not_found:,}",
    },
    customers=behind,
    file_name="campaign_readout_customers.csv",
)
st.altair_chart(readout_chart(readout), width="stretch")

a, b, c = st.columns(3)
a.metric(
    "Customers saved",
    f"{readout.customers_saved:,.0f}",
    help="Uplift x treated customers: how many more stayed (or bought) than without the offer.",
)
b.metric(
    "Value saved",
    "n/a" if readout.value_saved is None else money(readout.value_saved),
    help="Customers saved x the mean value of the treated customers (your currency).",
)
c.metric(
    "Cost per saved customer",
    "n/a" if readout.cost_per_saved is None else money(readout.cost_per_saved),
    help="Offer cost x treated customers / customers saved (your currency); n/a when nothing was saved.",
)
st.caption(
    f"Value per customer: {value_note}. "
    + (
        f"{readout.not_found:,} customers of the list are not in the later file and are left out."
        if readout.not_found
        else "Every customer of the list is in the later file."
    )
)
with st.expander("How this is computed"):
    st.markdown(
        f"- **Outcome**: a customer counts when they {readout.outcome_description}.\n"
        "- **Uplift** = rate of the treated - rate of the control group. The control group was drawn at random "
        "from the same list (the same share of every tenth by churn risk), so without the offer both groups "
        "would have the same rate up to chance.\n"
        "- **95% interval**: Newcombe's hybrid score interval for a difference of two proportions (Newcombe 1998, "
        "*Statistics in Medicine* 17:873-890, method 10), built from the Wilson intervals of the two rates.\n"
        "- **p-value**: pooled two-proportion z-test, two-sided (Agresti 2013, *Categorical Data Analysis*, 3.1.2).\n"
        "- **Value saved** = customers saved x mean value of the treated customers; **cost per saved customer** = "
        "offer cost x treated customers / customers saved."
    )

next_step(
    "If the uplift is clear and a saved customer costs less than they are worth, scale the offer up (keep a control "
    "group). If it cannot be told apart from chance, change the offer or the target group before spending more, "
    "or run it again with a larger control group."
    if readout.distinguishable
    else "The difference cannot be told apart from chance: do not scale this offer on this evidence. Run it again "
    "with a larger control group (the Churn planner's control group setting) or wait longer before reading out."
)
