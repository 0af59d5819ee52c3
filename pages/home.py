"""Home: the one-screen story (headline, KPI cards with trends, one chart), then the guided steps."""

import streamlit as st

from ui.frame import friendly_errors, header, next_step, require_data

# The title goes on screen before the analysis modules load: on a fresh server their first import
# (pandas, Altair, then scikit-learn and the purchase models) takes seconds, and a visitor should not
# look at a blank page meanwhile. What the story needs loads next; the model modules after the story.
header(
    "Keepwise",
    "Who stays, who leaves, what each customer is worth, and what keeping a few more would earn: "
    "from your own customer data.",
)

from analytics.business.glossary import figure_key, figure_name, help_text, period_name  # noqa: E402
from analytics.formatting import percent  # noqa: E402
from analytics.reports.charts.health import kpi_trend_chart  # noqa: E402
from analytics.reports.story import CARD_KEYS, format_change, format_kpi, headline  # noqa: E402
from ui import currency as cur  # noqa: E402
from ui import look  # noqa: E402
from ui.health import kpi_report, trend  # noqa: E402
from ui.text import plain  # noqa: E402

SPARK_PERIODS = 12  # months of history in each card's sparkline
CHART_PERIODS = 24


def card_help(key: str) -> str:
    """The glossary's hover help for a KPI card, on the KPIs' basis (a purchase log's repeat buying)."""
    return help_text(figure_key(key, kpis.basis == "purchases"))


data = require_data()
code = cur.current(data)

# --- data quality: a badge that links to the Data page ------------------------------------------
rows_read = sum(r.rows_read for r in data.reports)
rows_used = sum(r.rows_used for r in data.reports)
used_share = rows_used / rows_read if rows_read else 1.0
with st.container(horizontal=True, vertical_alignment="center", gap="small"):
    st.badge(
        f"Data: {rows_used:,} of {rows_read:,} rows used",
        icon=":material/check_circle:" if used_share >= 0.98 else ":material/warning:",
        color="green" if used_share >= 0.98 else "orange",
        help="Rows read = rows used + rows left out; the Data page lists every reason.",
    )
    end = data.observation_end_or_none
    st.caption(
        f"{plain(data.name)} · {data.n_customers:,} customers (all time) · "
        + (f"data up to {end:%d %b %Y}" if end is not None else "no dates in the data")
    )
    st.page_link("pages/data.py", label="Check the data", icon=":material/fact_check:")

# --- the story: headline, KPI cards with deltas and sparklines, one chart ----------------------
with friendly_errors("Customer health"):
    kpis = kpi_report(data, "month")
    story = headline(kpis, currency=code)  # the glossary's names, on the KPIs' basis
    st.container(key="home_headline").markdown(story.sentence)
    by_key = {k.key: k for k in kpis.kpis}
    shown = [by_key[k] for k in CARD_KEYS if k in by_key and by_key[k].value is not None][:4]
    row = st.container(horizontal=True, key="home_cards", gap="small")
    for kpi in shown:
        try:
            history = trend(data, kpi.key, "month")["value"].tail(SPARK_PERIODS).tolist()
        except Exception:  # a KPI without per-period values: the card shows no sparkline
            history = None
        row.metric(
            kpi.label,
            format_kpi(kpi, kpi.value, code),
            format_change(kpi),
            delta_color="off" if kpi.higher_is_better is None else "normal" if kpi.higher_is_better else "inverse",
            delta_description=f"vs {period_name(kpis.previous_period)}",
            help=card_help(kpi.key),
            border=True,
            chart_data=history,
            chart_type="area" if kpi.unit == "currency" else "line",
        )
    lead = story.key if story.key in by_key else "active_customers"
    lead_kpi = by_key.get(lead)
    if lead_kpi is not None:
        series = trend(data, lead, "month").tail(CHART_PERIODS)
        chart = kpi_trend_chart(
            series, label=figure_name(lead, kpis.basis == "purchases"), unit=lead_kpi.unit, currency=code
        ).properties(height=230)
        st.altair_chart(look.fit(chart), width="stretch")

# --- the guided steps: visible buttons to each page, each with its headline figure ------------
from ui import background  # noqa: E402

# On a fresh server the model modules (scikit-learn, the purchase models) load in the background:
# the steps show at once and their figures fill in when the models have loaded and fitted.
loading = background.load_modules("ui.models", "ui.segments")
if loading is None or background.settle([loading]):
    from analytics.business.actions import ACTION_TOPS
    from analytics.business.value import horizon_label
    from analytics.business.whatif_inputs import WhatIfSettings
    from ui.actions import start_ranking, top_value_at_stake
    from ui.health import model_clv
    from ui.models import churn_headline, churn_settings, clv_settings, start_fits
    from ui.segments import start_whatif_summary, whatif_summary

    # The fits start now, in the background: the steps below fill in as each one is done.
    jobs = {**start_fits(data), "whatif": start_whatif_summary(data, WhatIfSettings())}
    jobs["ranking"] = start_ranking(data)  # the Action list's, cached: it reads both fits
else:
    jobs = {"clv": loading, "churn": loading, "whatif": loading, "ranking": loading}

st.markdown("#### Where to go next")
look.home_css()
grid = st.container(horizontal=True, key="home_steps", gap="small")
steps = [
    ("pages/overview.py", "1. Customer health", ":material/monitor_heart:", "Retention, churn, satisfaction, support."),
    ("pages/churn.py", "2. Who is leaving", ":material/person_remove:", "Risk per customer, drivers, a campaign."),
    ("pages/lifetime_value.py", "3. What they are worth", ":material/savings:", "Lifetime value per customer."),
    (
        "pages/whatif.py",
        "4. What a lift is worth",
        ":material/trending_up:",
        "The 5% retention claim, on your numbers.",
    ),
    ("pages/actions.py", "5. Whom to call first", ":material/checklist:", "Customers ranked by value at stake."),
    ("pages/share.py", "6. Share it", ":material/share:", "A link or an offline report for the room."),
]
slots = []
for i, (page, title, icon, explain) in enumerate(steps):
    box = grid.container(border=True, key=f"home_step_{i + 1}")
    with box:
        st.page_link(page, label=title, icon=icon, width="stretch")
        st.caption(explain)
    slots.append(box)

with slots[0], friendly_errors("Customer health"):
    if kpis.value("nps") is not None:
        st.metric(kpis["nps"].label, f"{kpis.value('nps'):+.1f}", help=card_help("nps"))  # as Customer health
    else:
        st.metric(kpis["retention_rate"].label, percent(kpis.value("retention_rate")), help=card_help("retention_rate"))

background.settle(
    [k for k in jobs.values() if k is not None], wait=loading is None
)  # a moment's wait: quick fits show at once


def fitting(*names: str) -> bool:
    """True, with a note in the card, while one of these background fits is still under way."""
    if all(background.done(jobs[n]) for n in names if jobs[n] is not None):
        return False
    st.caption("The model is still fitting: this card fills in when it is done.")
    return True


with slots[3], friendly_errors("What-if"):
    if not fitting("whatif"):
        scenario = whatif_summary(data, WhatIfSettings())
        change = scenario["profit_change_pct"]
        st.metric(
            "Profit change over 5 years from +5 points of yearly retention",
            "n/a" if change is None else f"{change:+.1f}%",
            help="Discounted profit over the horizon, lifted vs today (What-if page for the assumptions).",
        )

with slots[1], friendly_errors("Churn"):
    if not fitting("churn"):
        at_risk, churn_rate, target = churn_headline(data, churn_settings())  # not the whole analysis unpickled
        a, b = st.columns(2)
        a.metric(figure_name("customers_at_high_risk"), f"{at_risk:,}", help=help_text("customers_at_high_risk"))
        b.metric(
            "Customers who have left, all time",
            percent(churn_rate),
            help=f"{help_text('customers_left_all_time')} Outcome used: {target}.",
        )

with slots[2], friendly_errors("Lifetime value"):
    if not fitting("clv"):
        mean_clv, _ = model_clv(data)  # Customer health's cached mean, not the whole analysis unpickled
        st.metric(
            f"Average {horizon_label(clv_settings().horizon_months)} per customer (model)",
            cur.money(mean_clv, data, decimals=2),
            help=help_text("clv_model"),
        )

with slots[4], friendly_errors("Action list"):
    if not fitting("clv", "churn", "ranking"):
        # The Action list's own ranking, its first 100 ranks (the report's actions.value_at_stake_top_100)
        top = ACTION_TOPS[-1]
        at_stake = top_value_at_stake(data, top)  # cached: not the whole list unpickled on every run
        st.metric(
            f"Value at stake, top {top} customers still with you",
            cur.money(at_stake, data),
            help=help_text("value_at_stake"),
        )

with slots[5]:
    st.caption("The Action list page makes a one-file report to print or send; the Share page makes a link.")

background.pending([k for k in jobs.values() if k is not None])  # reruns the page once every fit is done

next_step(
    "In a workshop, agree on the headline and the cards first, then open the steps in order: who leaves, "
    "what they are worth, what a retention lift is worth, and whom to call first."
)
