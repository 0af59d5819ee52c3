"""Home: what the app does, and the guided story through the pages for a workshop."""

from pathlib import Path

import streamlit as st

from analytics.business.economics import WhatIfSettings
from analytics.business.glossary import help_text
from analytics.business.value import horizon_label, value_at_stake
from ui.frame import friendly_errors, header, next_step, require_data
from ui.health import kpi_report
from ui.kind import business_kind
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
kind = business_kind(data)
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
    # A purchase log's month-to-month figure is repeat buying, not retention (glossary: repeat_rate).
    retention_key = "retention_rate" if kind.is_subscription else "repeat_rate"
    a.metric(
        f"{'Retention' if kind.is_subscription else 'Repeat rate'}, {kpis.current_period} (monthly)",
        pct(kpis.value("retention_rate")),
        help=help_text(retention_key),
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
        "Profit change over 5 years from +5 points of yearly retention",
        "n/a" if change is None else f"{change:+.1f}%",
        help="Discounted profit over the horizon, lifted vs today (What-if page for the assumptions).",
    )

with slot, friendly_errors("Churn"), st.spinner("Fitting the churn model (first time only) ..."):
    churn = current_churn(data)
    at_risk = int(((churn.scores["churn_probability"] >= 0.5) & churn.scores["active"].astype(bool)).sum())
    a, b = st.columns(2)
    a.metric(
        "Customers who have left, all time",
        pct(churn.churn_rate),
        help=f"{help_text('customers_left_all_time')} Outcome used: {churn.target}.",
    )
    b.metric(
        "Customers not yet left, at high risk",
        f"{at_risk:,}",
        help="Customers the churn outcome does not mark as left whose churn probability is 50% or more.",
    )

with slot4, friendly_errors("Lifetime value"), st.spinner("Fitting lifetime-value models (first time only) ..."):
    clv = current_clv(data)
    st.metric(
        f"Average {horizon_label(clv.settings.horizon_months)} per customer (model)",
        f"{clv.mean_clv:,.2f}",
        help=help_text("clv_model"),
    )

with slot6, friendly_errors("Action list"):
    both = value_and_risk(data)
    if {"clv", "churn_probability", "active"} <= set(both.columns):
        left = both["active"].map(lambda v: v is False or v == 0)  # customers who have left: nothing to save
        at_stake = value_at_stake(both["clv"], both["churn_probability"], left=left).nlargest(100).sum()
        st.metric(
            "Value at stake, top 100 customers still with you",
            f"{at_stake:,.0f}",
            help=help_text("value_at_stake"),
        )

next_step(
    "Start with the Data page if this is your own file. In a workshop, agree on the health "
    "numbers first, then decide whom to save and what a retention lift is worth before planning actions."
)
