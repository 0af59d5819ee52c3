"""Cohorts: customers grouped by when they were acquired, and how many of each group stay."""

import streamlit as st

from analytics.business.cohorts import average_retention_curve
from analytics.reports.charts.health import cohort_heatmap, retention_curve_chart
from ui import currency as cur
from ui import health as h
from ui import look
from ui.frame import friendly_errors, header, next_step, require_data

BIND = "query-params"

header(
    "Cohorts",
    "Customers grouped by the period they were acquired in, and the share of each group still active 1, 2, 3 … "
    "periods later. If newer cohorts hold up better than older ones, the business is getting better at keeping "
    "customers.",
)
data = require_data()

a, b, c = st.columns([2, 2, 1], vertical_alignment="bottom")
period = a.radio(
    "Cohorts by",
    h.PERIODS,
    format_func=h.PERIOD_LABELS.get,
    horizontal=True,
    key=h.K_COH_PERIOD,
    bind=BIND,
    help="A cohort is every customer whose first purchase (or signup) falls in one period.",
)
max_cohorts = b.slider(
    "Most recent cohorts shown",
    2,
    36,
    h.DEFAULT_COHORTS,
    key=h.K_COH_MAX,
    bind=BIND,
    help="Older cohorts are left out to keep the heatmap readable; the reading below uses the ones shown.",
)
revenue = c.toggle(
    "Revenue",
    value=False,
    key=h.K_COH_REVENUE,
    bind=BIND,
    help="Show the revenue each cohort keeps (against its first period) instead of its customers.",
)

table = None
with friendly_errors("Cohorts"):
    table = h.cohorts(data, period, int(max_cohorts))
if table is None:
    next_step("Add a purchase log, or signup dates in the customers table, on the Data page to see cohorts.")
    st.stop()

if table.basis == "subscriptions":
    st.caption(
        "No purchase log: a customer counts as active in a period when subscribed at any time in it (signup and churn "
        "dates)" + ("; revenue is the monthly charge of the active customers." if table.revenue is not None else ".")
    )
if revenue and table.revenue is None:
    st.info("Revenue cohorts need purchase amounts or a monthly_charge column: showing customers instead.")
    revenue = False

st.markdown("\n\n".join(h.cohort_reading(table)))

with friendly_errors("Cohort heatmap"):
    measure = "revenue_retention" if revenue else "retention"
    st.altair_chart(
        look.fit(
            h.labelled_heatmap(cohort_heatmap(table, measure=measure, currency=cur.current(data)), table, measure)
        ),
        width="stretch",
    )
    if revenue:
        st.caption(
            f"Each cell is the cohort's revenue in that {period} against its first {period}. Above 100% means it "
            f"spends more than at the start (a first {period} is often partial, so the next one is usually higher)."
        )
    else:
        st.caption(
            f"Each row is a cohort, each column the {period}s since it was acquired; darker means more of it is still "
            f"active. Read down a column to compare cohorts at the same age. Hover a cell for the counts."
        )

st.subheader("Average retention curve")
with friendly_errors("Retention curve"):
    curve = average_retention_curve(table)
    revenue_curve = average_retention_curve(table, revenue=True) if revenue else None
    st.altair_chart(look.fit(retention_curve_chart(curve, period=period, revenue_curve=revenue_curve)), width="stretch")
    reading = h.retention_reading(table)
    if revenue:
        reading += " " + h.retention_reading(table, revenue=True)
    st.caption(
        reading + " Each point averages the cohorts old enough to reach it, weighted by their size; the far right "
        "rests on the oldest cohorts only."
    )

st.markdown(
    "**What to do next.** Find the age at which the curve drops most: that is when customers decide to stay or go, "
    "and where an onboarding call, a reminder or an offer pays off. If recent cohorts hold up worse, check what "
    "changed for them (channel, plan, price) before spending more on acquisition."
)

with st.expander("For analysts: the numbers behind the heatmap"):
    matrix = table.revenue_retention if revenue else table.retention
    shown = (100 * matrix).round(1).rename(columns=lambda k: f"{period} {k}")
    shown.insert(0, "Customers", table.sizes)
    st.dataframe(shown, width="stretch")
    st.caption(
        f"Percent of the cohort's {'first-period revenue' if revenue else 'customers'}; blank = not observed yet "
        f"(the data ends in {table.last_period})."
    )

next_step(
    "Take the age where the curve drops most to the team that owns that moment (onboarding, billing, support), and "
    "compare segments on the Segments page: value and retention by plan, channel or acquisition cohort."
)
