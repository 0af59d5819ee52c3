"""What-if: what a retention lift is worth on the business's own numbers (issue 5).

The defaults are measured once per dataset and period (cached); the sliders live in a fragment,
so moving one recomputes only the what-if (a few milliseconds) and never re-measures or refits.
"""

import pandas as pd
import streamlit as st

from analytics.business.whatif_inputs import DefaultValue
from analytics.data.periods import PERIOD_NAMES, PERIODS_PER_YEAR
from analytics.formatting import money, percent_points
from analytics.reports.charts.economics import customers_over_time, profit_waterfall, reichheld_band
from ui import currency as cur
from ui import look, state
from ui import whatif as wi
from ui.frame import friendly_errors, header, next_step, require_data

BIND = "query-params"
CURRENT = "Current sliders"
METRIC_LABELS = {
    "retention_rate": "Retention per period (what-if input)",
    "revenue_per_customer": "Revenue per active customer",
    "new_customers": "New customers",
    "starting_customers": "Starting customers (what-if)",
}
METRIC_FORMATS = {
    "retention_rate": "{:.1%}",
    "revenue_per_customer": "{:,.2f}",
    "new_customers": "{:,.0f}",
    "starting_customers": "{:,.0f}",
}

header(
    "What-if: retention lift",
    "Bain & Company's well-known claim is that keeping 5 points more customers a year lifts profit by 25% to 95%. "
    "Test it on your own numbers: the defaults below come from your data, the sliders are yours, and the page's "
    "link carries the scenario to a colleague.",
)
data = require_data()

top_left, top_right = st.columns([3, 1], vertical_alignment="bottom")
period = top_left.radio(
    "The model steps in",
    wi.PERIOD_CHOICES,
    format_func=wi.PERIOD_LABELS.get,
    horizontal=True,
    key=wi.K_PERIOD,
    bind=BIND,
    help="Retention, revenue and new customers are measured per period of this length.",
)
unit = PERIOD_NAMES[period]
look.sticky_result()
with top_right:
    look.presentation_toggle()

defaults: dict[str, DefaultValue] | None = None
measured = False  # stays False when the measurement raised (friendly_errors has shown why)
with friendly_errors("What-if"), st.spinner("Measuring retention, revenue and new customers from your data…"):
    defaults = wi.whatif_defaults(data, period)
    measured = True
if not measured:
    next_step("Add more history or the customers table on the Data page, then come back to test the retention lift.")
    st.stop()
if defaults is None:
    st.markdown(
        "The what-if needs **retention** and **revenue per customer**: a purchase log (customer id, date, amount), "
        "or a customers table with signup and churn dates (or a churned flag with tenure in months) and a monthly "
        "charge. Add the missing column on the Data page."
    )
    next_step("Add the purchase log or the missing customer columns, then come back to test the retention lift.")
    st.stop()

with st.expander(
    f"Your business today, measured from the data: retention {defaults['retention_rate'].value:.1%} a {unit}, "
    f"{defaults['starting_customers'].value:,.0f} customers",
    expanded=False,
):
    cols = st.columns(4)
    for col, name in zip(cols, ("retention_rate", "revenue_per_customer", "new_customers", "starting_customers")):
        d = defaults[name]
        shown = (
            cur.money(d.value, data, decimals=2)
            if name == "revenue_per_customer"
            else METRIC_FORMATS[name].format(d.value)
        )
        col.metric(METRIC_LABELS[name], shown, help=d.source)
        col.caption(wi.provenance(name, d) + ("" if name == "starting_customers" else f" · per {unit}"))
    st.caption(
        f"Keeping {defaults['retention_rate'].value:.1%} of customers each {unit} means keeping "
        f"{defaults['retention_rate'].value ** PERIODS_PER_YEAR[period]:.1%} of them over a year. "
        f"Money is in {cur.current(data) or 'the file’s currency (set it on the Data page)'}."
    )
    if defaults["new_customers"].measured and defaults["new_customers"].value == 0:
        st.caption(
            f"Nobody bought for the first time in the last {unit}s measured: the data follows a closed group of "
            "customers, so the base can only shrink (set 'New customers' below to 'replace everyone who leaves' "
            "to model a business that keeps winning customers)."
        )
    st.markdown("**Where each number comes from**")
    st.dataframe(wi.defaults_table(defaults, period), hide_index=True, width="stretch")
    st.caption("Measured numbers come from your file; assumed ones are starting points: set your own with the sliders.")


def scenario_sliders(defaults: dict[str, DefaultValue], period: str) -> dict:
    """All scenario widgets (bound to the URL); returns {key: value}."""
    unit = PERIOD_NAMES[period]
    values: dict = {}
    with st.container(border=True):
        st.markdown("**1. The retention lift**")
        a, b, c = st.columns([2, 1, 2])
        values[wi.K_LIFT] = a.slider(
            "Retention lift",
            0.0,
            20.0,
            wi.DEFAULT_LIFT,
            0.5,
            key=wi.K_LIFT,
            bind=BIND,
            help="How much more of your customers you keep: in percentage points (5: 80% → 85%) or relative % "
            "(5: 80% → 84%).",
        )
        values[wi.K_MODE] = b.radio(
            "Measured in", list(wi.MODE_LABELS), format_func=wi.MODE_LABELS.get, key=wi.K_MODE, bind=BIND
        )
        values[wi.K_BASIS] = c.radio(
            "The lift applies to",
            list(wi.BASIS_LABELS),
            format_func=wi.BASIS_LABELS.get,
            key=wi.K_BASIS,
            bind=BIND,
            disabled=period == "Y",
            help="Bain's 25–95% is quoted for yearly retention (the default); 'per period' lifts the retention of "
            f"each {unit} itself, a much bigger change.",
        )
        st.caption(wi.basis_sentence(defaults["retention_rate"].value, values[wi.K_LIFT], values[wi.K_MODE], period))
    with st.container(border=True):
        st.markdown("**2. Your economics** — assumptions the data cannot give; set your own")
        a, b, c = st.columns(3)
        values[wi.K_MARGIN] = a.slider(
            "Margin (% of revenue)",
            1,
            100,
            wi.DEFAULT_MARGIN_PCT,
            1,
            key=wi.K_MARGIN,
            bind=BIND,
            help="Share of revenue left after the cost of goods and of serving customers.",
        )
        values[wi.K_DISCOUNT] = b.slider(
            "Discount rate (% a year)",
            0.0,
            30.0,
            wi.DEFAULT_DISCOUNT_PCT,
            0.5,
            key=wi.K_DISCOUNT,
            bind=BIND,
            help="Money later is worth less today; 8-12% a year is common.",
        )
        values[wi.K_YEARS] = c.slider("Horizon (years)", 1, 10, wi.DEFAULT_YEARS, 1, key=wi.K_YEARS, bind=BIND)
        cac = wi.acquisition_range(defaults)
        values[wi.K_CAC] = a.slider(
            "Acquisition cost per new customer",
            0.0,
            cac.high,
            cac.value,
            cac.step,
            format=cac.format,
            key=wi.K_CAC,
            bind=BIND,
            help=defaults["acquisition_cost"].source,
        )
        fixed = wi.fixed_cost_range(defaults)
        values[wi.K_FIXED] = b.slider(
            f"Fixed costs per {unit}",
            0.0,
            fixed.high,
            fixed.value,
            fixed.step,
            format=fixed.format,
            key=wi.K_FIXED,
            bind=BIND,
            help="The same in both scenarios; the larger they are, the more profit reacts to retention.",
        )
        values[wi.K_ACQUISITION] = c.radio(
            "New customers",
            list(wi.ACQUISITION_LABELS),
            format_func=wi.ACQUISITION_LABELS.get,
            key=wi.K_ACQUISITION,
            bind=BIND,
            help=f"Measured: {defaults['new_customers'].value:,.0f} new customers a {unit}. 'Replace' holds the base "
            "at its size, so a lift saves acquisition spend instead of growing the base.",
        )
    with st.container(border=True):
        st.markdown("**3. Loyalty effects** — Reichheld's reasons the gain is large; each starts at zero")
        a, b, c = st.columns(3)
        values[wi.K_GROWTH] = a.slider(
            f"Spend growth (% of first-{unit} spend per {unit} of tenure)",
            -5.0,
            15.0,
            0.0,
            0.01,
            key=wi.K_GROWTH,
            bind=BIND,
        )
        measured = wi.measured_growth_percent(defaults)
        if measured is not None:
            a.button(
                f"Use the measured {measured:+.2f}%",
                on_click=wi.set_widget,
                args=(wi.K_GROWTH, measured),
                help=defaults["spend_growth"].source,
            )
        else:
            a.caption(defaults["spend_growth"].source)
        values[wi.K_REFERRALS] = b.slider(
            f"Referrals (new customers per 100 retained, per {unit})",
            0.0,
            10.0,
            0.0,
            0.05,
            key=wi.K_REFERRALS,
            bind=BIND,
            help="Referred customers cost nothing to win.",
        )
        values[wi.K_SERVE] = c.slider(
            f"Lower cost to serve (% per {unit} of tenure, at most 25%)",
            0.0,
            5.0,
            0.0,
            0.05,
            key=wi.K_SERVE,
            bind=BIND,
            help="Long-standing customers need less help; a share of the variable cost.",
        )
    return values


@st.fragment
def scenario_panel(data_key: str, defaults: dict[str, DefaultValue], period: str) -> None:
    """Result beside the sliders, then charts and scenarios. Reruns alone on a slider move: no measuring, no fitting.

    The result column is sticky (ui.look.sticky_result): at 1440x900 it stays beside whichever
    slider moves; on a phone it sits above the sliders and stays pinned under the top bar.
    """
    unit = PERIOD_NAMES[period]
    result_col, sliders_col = st.columns([2, 3], gap="medium")
    with sliders_col:
        values = scenario_sliders(defaults, period)
    settings = wi.settings_from_values(values, period)
    result = wi.run_scenario(defaults, settings)
    years = settings.horizon / PERIODS_PER_YEAR[period]
    code = cur.current(data)
    end_base = float(result.frame_base["customers"].iloc[-1])
    end_lift = float(result.frame_lifted["customers"].iloc[-1])

    with result_col, st.container(key=look.RESULT_KEY, border=True):
        st.markdown(f"**What a {settings.lift:g}-{'point' if settings.lift_mode == 'points' else '%'} lift is worth**")
        st.metric(
            "Profit change",
            percent_points(result.profit_change_pct),
            help="Discounted profit over the horizon, with the lift vs today.",
        )
        st.metric(
            f"Extra profit over {years:g} years",
            money(result.profit_change, code, decimals=0, signed=True),
            help=f"Discounted to today, in {code or 'your file’s currency'}.",
        )
        st.metric(
            f"Customers after {years:g} years",
            f"{end_lift:,.0f}",
            f"{end_lift - end_base:+,.0f} vs no lift",
            help="Customers on the books at the end of the horizon, with the lift; the delta is against today's path.",
        )
        st.metric(
            "Value of a new customer",
            money(result.clv_lifted, code, decimals=2),
            percent_points(result.clv_change_pct),
            help="Lifetime value of a new customer: the discounted margin a newly won customer brings "
            f"(today: {money(result.clv_base, code, decimals=2)}).",
        )
        st.metric(
            f"Retention per {unit}",
            f"{result.retention_lifted:.1%}",
            f"{result.lift_points:+.2f} points from {result.retention_base:.1%}",
        )

    st.markdown(f"**Why your business lands here.** {result.explanation}")
    if result.profit_base <= 0:
        st.warning(
            "Today's business makes a loss over this horizon with these costs, so the percentage change is "
            "not shown; lower the fixed or acquisition costs, or raise the margin."
        )

    left, right = st.columns(2)
    with left:
        frame = result.customers_frame()
        st.altair_chart(look.fit(customers_over_time(frame, period_name=unit)), width="stretch")
        st.caption(wi.customers_sentence(result, years, unit))
    with right:
        st.altair_chart(look.fit(profit_waterfall(result.waterfall, currency=code)), width="stretch")
        st.caption(wi.waterfall_sentence(result.waterfall))

    st.subheader("Save and compare scenarios")
    saved = wi.saved_scenarios(data_key, period)
    a, b = st.columns([3, 1], vertical_alignment="bottom")
    name = a.text_input("Scenario name", placeholder=f"Scenario {len(saved) + 1}", key=wi.K_NAME).strip()
    if b.button("Save this scenario", type="primary", width="stretch"):
        name = name or f"Scenario {len(saved) + 1}"
        wi.save_scenario(
            data_key, wi.SavedScenario(name, period, dict(values), wi.scenario_row(name, settings, result))
        )
        st.toast(f"Saved “{name}”.")
    rows = [s.row for s in saved.values()] + [wi.scenario_row(CURRENT, settings, result)]
    band = pd.DataFrame(
        {"scenario": [r["Scenario"] for r in rows], "profit_change_pct": [r["Profit change %"] for r in rows]}
    ).astype({"profit_change_pct": float})
    st.altair_chart(look.fit(reichheld_band(band)), width="stretch")
    st.caption(
        "Each dot is a scenario's profit change; the blue band is Bain's 25–95% for a 5-point lift of yearly "
        "retention. Dots left of it: your margins or horizon give a lift less leverage than Bain's clients had."
    )
    st.dataframe(wi.comparison_table(rows), hide_index=True, width="stretch")
    if saved:
        a, b, c = st.columns([3, 1, 1], vertical_alignment="bottom")
        chosen = a.selectbox("Saved scenario", list(saved), key=wi.K_PICK)
        b.button("Load it", on_click=wi.load_scenario, args=(data_key, period, chosen), width="stretch")
        c.button("Forget saved", on_click=wi.delete_scenarios, args=(data_key, period), width="stretch")
        st.caption("Saved scenarios stay in this browser session only.")
    look.link_notice("the current sliders")


scenario_panel(state.data_key(), defaults, period)

next_step(
    "Save a cautious and an ambitious scenario, send the link to whoever owns the margin and cost numbers to check "
    "the assumptions, and weigh the extra profit against what a retention programme would cost to run."
)
