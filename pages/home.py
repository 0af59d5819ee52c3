"""Home: what the app does, and the guided story through the pages for a workshop."""

from pathlib import Path

import streamlit as st

from analytics.business.economics import WhatIfSettings
from ui.frame import friendly_errors, header, next_step, require_data
from ui.health import kpi_report
from ui.models import current_churn, current_clv, value_and_risk
from ui.segments import whatif_summary

PAGES_DIR = Path(__file__).resolve().parent


def step(number: int, page: str, title: str, explain: str) -> st.delta_generator.DeltaGenerator:
    """One story step: a link to its page (when that page exists) and a box for its headline."""
    box = st.container(border=True)
    with box:
        left, right = st.columns([3, 2], vertical_alignment="center")
        with left:
            if (PAGES_DIR / f"{page}.py").exists():
                st.page_link(f"pages/{page}.py", label=f"**{number}. {title}**")
            else:
                st.markdown(f"**{number}. {title}**")
            st.caption(explain)
    return right


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


header(
    "Keepwise",
    "Customer-centric companies count customers kept and what they are worth, not units sold. "
    "Keepwise reads your own customer data and shows who stays, who leaves, what each customer "
    "is worth, and what keeping a few more of them would earn.",
)
data = require_data()
_end = data.observation_end_or_none
st.markdown(
    f"**{data.name}** — {data.n_customers:,} customers, "
    + (f"data up to {_end:%d %b %Y}. " if _end is not None else "no dates in the data. ")
    + "Follow the steps in order in a workshop; each is one click to its page."
)

slot = step(
    1, "data", "Data: what was read", "Every row used or left out, and why. Check it before trusting any figure."
)
rows_read = sum(r.rows_read for r in data.reports)
rows_used = sum(r.rows_used for r in data.reports)
slot.metric(
    "Rows used", f"{rows_used:,} of {rows_read:,}", help="Rows read = rows used + rows left out (see the Data page)."
)

slot = step(
    2, "overview", "Customer health", "Retention, churn, satisfaction and support KPIs against the previous period."
)
with slot, friendly_errors("Customer health"):
    kpis = kpi_report(data, "month")
    a, b = st.columns(2)
    a.metric(
        f"Retention ({kpis.current_period})",
        pct(kpis.value("retention_rate")),
        help="Share of last period's customers who were customers again this period.",
    )
    if kpis.value("nps") is not None:
        b.metric("NPS", f"{kpis.value('nps'):+.0f}", help="% promoters (9-10) minus % detractors (0-6).")

slot = step(
    3, "churn", "Who is leaving", "A risk score per customer, the drivers in plain words, and a campaign that pays."
)
slot4 = step(4, "lifetime_value", "What they are worth", "Lifetime value per customer from validated purchase models.")
slot5 = step(5, "whatif", "What a retention lift is worth", "The 5% retention claim, tested on your numbers.")
slot6 = step(6, "actions", "Whom to call first", "Customers ranked by value at stake, with the reason in words.")

with slot5, friendly_errors("What-if"):
    scenario = whatif_summary(data, WhatIfSettings())
    change = scenario["profit_change_pct"]
    st.metric(
        "Profit change from +5 points of yearly retention",
        "n/a" if change is None else f"{change:+.1f}%",
        help="Discounted profit over the horizon, lifted vs today (What-if page for the assumptions).",
    )

with slot, friendly_errors("Churn"), st.spinner("Fitting the churn model (first time only) ..."):
    churn = current_churn(data)
    at_risk = int(((churn.scores["churn_probability"] >= 0.5) & churn.scores["active"].astype(bool)).sum())
    a, b = st.columns(2)
    a.metric("Churn rate", pct(churn.churn_rate), help=f"Outcome used: {churn.target}.")
    b.metric("Active customers at high risk", f"{at_risk:,}", help="Churn probability of 50% or more.")

with slot4, friendly_errors("Lifetime value"), st.spinner("Fitting lifetime-value models (first time only) ..."):
    clv = current_clv(data)
    st.metric(
        "Average customer lifetime value",
        f"{clv.mean_clv:,.2f}",
        help="Discounted margin each customer is expected to bring over the chosen horizon (file currency).",
    )

with slot6, friendly_errors("Action list"):
    both = value_and_risk(data)
    if {"clv", "churn_probability"} <= set(both.columns):
        at_stake = (both["clv"] * both["churn_probability"]).nlargest(100).sum()
        st.metric(
            "Value at stake, top 100 customers",
            f"{at_stake:,.0f}",
            help="Sum of lifetime value x churn probability over the 100 customers with the most at stake.",
        )

next_step(
    "Start with the Data page if this is your own file. In a workshop, agree on the health "
    "numbers first, then decide whom to save and what a retention lift is worth before planning actions."
)
