"""Lifetime value: what each customer is worth, from purchase models checked on a holdout (issue 3).

The settings are this page's widgets under the shared `clv_*` keys of `ui.models.CLV_DEFAULTS`
(bound to the URL), so every page sees the same cached fit (`ui.models.clv_analysis`). They sit in
a form: a refit takes seconds to a minute, so it runs once per "Apply", not once per click. A
customers table without a purchase log gets the shifted-beta-geometric retention model instead.
"""

import datetime as dt
import functools

import streamlit as st

from analytics.business.glossary import help_text
from analytics.business.value import FORMULA_VS_MODEL, horizon_label
from analytics.data.schema import CHURNED, MONTHLY_CHARGE, CustomerData, DataError
from analytics.models.clv import ClvAnalysis, ClvSettings
from analytics.models.sbg import lifetime_caveat
from analytics.reports.charts.clv import (
    clv_distribution,
    cumulative_tracking,
    holdout_by_frequency,
    p_alive_matrix,
    retention_curve,
)
from ui import clv as lv
from ui import currency as cur
from ui import look
from ui.downloads import csv_download
from ui.frame import friendly_errors, header, next_step, require_data
from ui.health import factors_text, kpi_report
from ui.models import CLV_DEFAULTS, clv_settings
from ui.text import plain, safe_table

BIND = lv.BIND

header(
    "Lifetime value",
    "What each customer is likely to be worth over the coming months: who is still active, how much they "
    "will buy, and the margin that brings, from purchase models first checked against a period they did not see.",
)
data = require_data()


def settings_form(data: CustomerData) -> lv.CalibrationBounds | None:
    """The settings every page's lifetime value uses (URL-bound); applied together with one button."""
    bounds = lv.calibration_bounds(data) if data.has_transactions else None
    if bounds is not None:  # a date chosen on another dataset (or a bad link) falls back to the default
        raw = st.session_state.get(lv.K_CAL_END)
        chosen, note = lv.usable_calibration_end(raw, bounds)
        if raw is not None and (type(raw) is not dt.date or chosen != raw):  # the date widget holds a date or None
            st.session_state[lv.K_CAL_END] = chosen
        if note:
            st.info(note)
    with st.form("clv_settings_form"):
        st.markdown(
            "**Settings** · every page that shows lifetime value uses them, and they travel in the page's link."
        )
        if bounds is not None:
            a, b, c = st.columns(3)
            a.radio(
                "Model time unit",
                list(lv.UNIT_LABELS),
                index=list(lv.UNIT_LABELS).index(CLV_DEFAULTS[lv.K_UNIT]),
                format_func=lv.UNIT_LABELS.get,
                horizontal=True,
                key=lv.K_UNIT,
                bind=BIND,
                help="The unit the models count time in. Lifetime values do not depend on it; weeks are the "
                "literature's usual choice.",
            )
            default = f"{bounds.default:%Y-%m-%d}" if bounds.default else "none: the history is too short"
            b.date_input(
                f"Calibration ends (empty = {default})",
                value=None,
                min_value=bounds.first,
                # One purchase day (or one row): nothing to split, so the picker is shown but disabled.
                max_value=max(bounds.first, bounds.last - dt.timedelta(days=1)),
                disabled=bounds.last - dt.timedelta(days=1) < bounds.first,
                format="YYYY-MM-DD",
                key=lv.K_CAL_END,
                bind=BIND,
                help="The models learn from purchases up to this day and are checked on the purchases after "
                "it. Empty holds out the last third of the history.",
            )
            c.selectbox(
                "Purchase model",
                list(lv.MODEL_CHOICES),
                format_func=lv.MODEL_CHOICES.get,
                key=lv.K_MODEL,
                bind=BIND,
                help="Automatic uses the model whose holdout forecast is closest, customer by customer.",
            )
        d, e, f = st.columns(3) if bounds is not None else (None, *st.columns(2))
        if d is not None:
            d.number_input(
                "Horizon (months)",
                min_value=1,
                max_value=120,
                value=CLV_DEFAULTS[lv.K_HORIZON],
                step=1,
                key=lv.K_HORIZON,
                bind=BIND,
                help="How far ahead lifetime value counts purchases.",
            )
        e.slider(
            "Margin on revenue (%), an assumption",
            1,
            100,
            CLV_DEFAULTS[lv.K_MARGIN],
            key=lv.K_MARGIN,
            bind=BIND,
            help="The share of revenue you keep after the cost of the goods and serving the customer. "
            "30% is a placeholder, not a fact about your data: set your own.",
        )
        f.slider(
            "Annual discount rate (%)",
            0,
            50,
            CLV_DEFAULTS[lv.K_DISCOUNT],
            key=lv.K_DISCOUNT,
            bind=BIND,
            help="How much less money a year from now is worth to you than money today (e.g. your cost of capital).",
        )
        st.form_submit_button("Apply and refit", icon=":material/refresh:")
    return bounds


def holdout_section(data: CustomerData, analysis: ClvAnalysis) -> None:
    """Each model's forecast of the holdout against what happened, the choice, and the two charts."""
    st.markdown("**Do the models forecast well? The holdout check**")
    split = analysis.comparison.split
    unit = lv.unit_name(split.time_unit)
    n_cal = len(split.calibration)
    st.markdown(
        f"The models learned from purchases up to **{split.calibration_end:%d %b %Y}** ({n_cal:,} customers) and "
        f"then forecast their repeat purchases in the next {split.holdout_periods:,.1f} {unit}, to "
        f"{split.holdout_end:%d %b %Y}. The table compares each forecast with what those customers really did."
    )
    st.dataframe(lv.holdout_table(analysis), hide_index=True, width="stretch")
    st.markdown(lv.selection_sentence(analysis))
    for name, reason in analysis.comparison.failures.items():
        st.warning(f"{lv.MODEL_CHOICES[name]} could not be fitted: {reason}")
    notes = list(dict.fromkeys(analysis.notes))  # the same remark can come from the holdout fit and the refit
    if notes:
        st.info("\n".join(f"- {note}" for note in notes), icon=":material/info:")
    expectations, tracking = lv.holdout_views(data, analysis.settings)
    st.altair_chart(look.fit(holdout_by_frequency(expectations)), width="stretch")
    st.caption(
        "Customers are grouped by how often they bought again during calibration. Where the dashed model lines "
        "follow the solid line, the model tells light buyers from heavy ones, which is what ranks customers "
        "correctly."
    )
    st.altair_chart(
        look.fit(
            cumulative_tracking(tracking, split.calibration_end, time_unit_name=lv.UNIT_SINGULAR[split.time_unit])
        ),
        width="stretch",
    )
    st.caption(
        "Repeat purchases of the calibration customers added up over time. Right of the dotted line the models "
        "forecast a period they never saw: the closer the dashed lines stay to the solid one, the more the "
        "values below can be trusted."
    )
    st.markdown("**Model parameters and the numbers behind the charts**")
    if True:  # (was an expander: this section now sits inside the analysts' expander, which cannot nest)
        st.dataframe(lv.params_table(analysis), hide_index=True, width="stretch")
        st.caption(
            f"Fitted on the calibration period; alpha and beta are in {unit}. BG/NBD and modified BG/NBD use "
            "r, alpha, a, b; Pareto/NBD uses r, alpha, s, beta."
        )
        st.dataframe(lv.expectations_table(expectations), hide_index=True, width="stretch")
        st.caption("Mean holdout repeat purchases per customer, by repeat purchases in calibration (7+ pooled).")


def value_section(data: CustomerData, analysis: ClvAnalysis) -> None:
    """Total and mean CLV with their 90% range, the distribution, the P(alive) map, top customers."""
    s = analysis.settings
    customers = analysis.customers
    unit = lv.unit_name(s.time_unit)
    st.subheader("What your customers are worth")
    interval = analysis.interval
    value_label = horizon_label(s.horizon_months)
    a, b, c, d = st.columns(4)
    a.metric(
        f"Total {value_label}",
        lv.money(analysis.total_clv),
        help=f"Discounted margin all {len(customers):,} customers are expected to bring in the next "
        f"{s.horizon_months:g} months (your currency).",
    )
    b.metric(f"Average {value_label} per customer (model)", lv.money(analysis.mean_clv), help=help_text("clv_model"))
    c.metric(
        "Customers likely still active",
        f"{customers['p_alive'].sum():,.0f} of {len(customers):,}",
        help="Sum of each customer's probability of still being active today.",
    )
    d.metric(f"Purchases in the next {s.horizon_months:g} months", f"{customers['expected_purchases'].sum():,.0f}")
    if interval.get("total") is not None:
        (lo, hi), (mlo, mhi) = interval["total"], interval["mean"]
        a.caption(f"90% range: {lv.money(lo)} to {lv.money(hi)}")
        b.caption(f"90% range: {lv.money(mlo)} to {lv.money(mhi)}")
        how = (
            "from the models' parameters' statistical uncertainty (delta method)"
            if interval.get("method") == "delta"
            else f"from redrawing the models' parameters {interval['replicates']} times within their statistical uncertainty"
        )
        st.caption(f"The ranges come {how}; they do not cover a wrong margin or a change in how customers behave.")
    forecast = lv.forecast_view(data, s)
    if forecast["purchases"]["low"] is not None:
        purchases, value = forecast["purchases"], forecast["clv"]
        d.caption(f"90% range: {purchases['low']:,.0f} to {purchases['high']:,.0f}")
        st.caption(
            f"With the model's own error added, the purchases forecast ranges over {purchases['low']:,.0f} to "
            f"{purchases['high']:,.0f} and the total over {lv.money(value['low'])} to {lv.money(value['high'])}: "
            f"these ranges cover {purchases['covers']}."
        )
    else:
        st.caption("No range could be computed: the parameter uncertainty could not be estimated on this data.")
    formula = kpi_report(data, "month", analysis.mean_clv)["clv_simple"]
    if formula.value is not None:
        st.metric(
            formula.label,
            lv.money(formula.value),
            help=help_text("clv_simple"),
            width="content",
        )
        st.caption(
            f"= {factors_text(formula)} (the Customer health page's figure). Beside the model's "
            f"{lv.money(analysis.mean_clv)}: {FORMULA_VS_MODEL}"
        )
    st.markdown(
        f"**How it is computed.** Each customer's lifetime value = margin ({s.margin:.0%}) x expected spend per "
        f"purchase (Gamma-Gamma model) x the purchases the {lv.MODEL_CHOICES[analysis.selected]} model expects in the "
        f"next {s.horizon_months:g} months, each discounted at {s.annual_discount_rate:.0%} a year (Fader, Hardie & Lee "
        f"2005). Historic value, what each customer has spent so far, adds up to "
        f"{lv.money(float(customers['historic_value'].sum()))}."
    )
    left, right = st.columns(2)
    with left:
        st.altair_chart(look.fit(clv_distribution(customers, currency=cur.current(data))), width="stretch")
        share = customers["clv"].nlargest(max(1, len(customers) // 10)).sum() / max(analysis.total_clv, 1e-12)
        st.caption(
            f"The most valuable tenth of customers holds {share:.0%} of the total: a few customers carry the "
            "future, so know who they are."
        )
    with right:
        grid, age = lv.alive_map(data, s)
        st.altair_chart(look.fit(p_alive_matrix(grid, time_unit_name=unit, T=age)), width="stretch")
        st.caption(
            f"For a customer who first bought {age:,.0f} {unit} ago: someone who bought often but not recently "
            "has probably left (dark), while a rare buyer who bought recently is likely still active."
        )
    st.markdown(f"**The {lv.TOP_CUSTOMERS} most valuable customers**")
    st.dataframe(
        safe_table(lv.top_customers(customers)),
        hide_index=True,
        width="stretch",
        height=lv.table_height(lv.TOP_CUSTOMERS),
        column_config={
            "customer_id": "Customer",
            "p_alive_pct": st.column_config.NumberColumn("Still active", format="%.0f%%"),
            "expected_purchases": st.column_config.NumberColumn(
                f"Purchases in {s.horizon_months:g} months", format="%.2f"
            ),
            "expected_spend": st.column_config.NumberColumn(f"Spend in {s.horizon_months:g} months", format="%,.2f"),
            "historic_value": st.column_config.NumberColumn("Spent so far", format="%,.2f"),
            "clv": st.column_config.NumberColumn("Lifetime value", format="%,.2f"),
        },
    )
    csv_download(
        f"Download all {len(customers):,} customers (CSV)",
        functools.partial(lv.customer_rows, data, s),  # taken from the cached analysis when clicked
        "customer_lifetime_value.csv",
        prepare=lv.customers_csv_frame,
        currency=cur.current(data),
    )
    st.caption(
        f"Money in your currency; expected spend is undiscounted revenue, lifetime value is discounted margin. "
        f"In the file, recency and T are in {unit}."
    )


def spend_check(analysis: ClvAnalysis) -> None:
    """The Gamma-Gamma independence assumption, stated plainly."""
    st.markdown("**Can spend per purchase be predicted separately? (Gamma-Gamma independence check)**")
    check = analysis.gg_check
    spend = analysis.spend_model
    if check.ok:
        st.success(check.message, icon=":material/check_circle:")
    else:
        st.warning(check.message, icon=":material/warning:")
    st.caption(
        f"The spend model (Gamma-Gamma, fitted on the {spend.n_customers_:,} repeat buyers: p {spend.params_['p']:.2f}, "
        f"q {spend.params_['q']:.2f}, v {spend.params_['v']:.2f}) expects {lv.money(spend.population_mean_)} per purchase "
        "from a typical customer and leans more on a customer's own average the more often they have bought."
    )


def subscription_section(data: CustomerData, settings: ClvSettings) -> None:
    """sBG retention from the customers table: parameters, curve, expected lifetime, subscriber value."""
    if not data.has_column(CHURNED):
        st.info(
            "The subscription retention model needs a customers table with a churned (yes/no) column and "
            "either tenure in months or a signup date. Map them on the Data page to use it."
        )
        return
    with friendly_errors("Subscription retention"):
        fit = lv.retention_fit(data)
        summary = lv.retention_summary(data, settings.margin, settings.annual_discount_rate)
        model = fit.model
        life, median = summary["expected_lifetime_periods"], summary["median_lifetime_periods"]
        a, b, c, d = st.columns(4)
        a.metric("Leave in their first month", f"{1 - summary['survival'][1]:.1%}")
        b.metric(
            "Expected lifetime",
            "unbounded" if life is None else f"{life:,.1f} months",
            help="Average months a new customer pays for (unbounded when a core of customers never leaves).",
        )
        beyond = median is not None and median > model.max_period_
        c.metric(
            "Median lifetime",
            "not reached" if median is None else f"{median:,.0f} months",
            help="Months until half of a new cohort has left"
            + (
                f"; beyond the longest tenure in the data ({model.max_period_} months), so projected."
                if beyond
                else "."
            ),
        )
        d.metric(
            "Discounted expected payments",
            f"{summary['discounted_expected_lifetime']:,.1f}",
            help=f"Monthly payments a new customer is expected to make, discounted at "
            f"{settings.annual_discount_rate:.0%} a year.",
        )
        caveat = lifetime_caveat(summary["n_churned"], life, model.max_period_)
        if caveat:
            st.warning(caveat)
        alpha, beta = summary["params"]["alpha"], summary["params"]["beta"]
        st.caption(
            f"Shifted-beta-geometric model (Fader & Hardie 2007) fitted to {summary['n_customers']:,} customers, "
            f"{summary['n_churned']:,} of whom left: alpha {alpha:.3f}, beta {beta:.3f}. Each customer has their own "
            "monthly chance of leaving; those quick to leave go first, so the renewal rate rises with tenure."
            + (
                " With alpha below 1 a core of customers practically never leaves, so the average lifetime is "
                "unbounded; the discounted value stays finite."
                if life is None
                else ""
            )
        )
        st.altair_chart(
            look.fit(retention_curve(model.retention_curve(max(24, model.max_period_ + 12)))), width="stretch"
        )
        st.caption(
            f"Share of a new cohort still paying after each month; beyond {model.max_period_} months (the longest "
            "tenure in the data) the curve is a projection."
        )
        if not data.has_column(MONTHLY_CHARGE):
            st.info("Add each customer's monthly charge (a monthly_charge column) to turn these lifetimes into money.")
            return
        a, b, c = st.columns(3)
        a.metric(
            "Value of a new customer",
            lv.money(summary["new_customer_clv"]),
            help=f"Margin ({settings.margin:.0%}) x average monthly charge ({lv.money(summary['mean_monthly_charge'])}) "
            "x discounted expected payments (Fader & Hardie 2010); your currency.",
        )
        b.metric(
            "Remaining value of active customers",
            lv.money(summary["active_remaining_value_total"]),
            help=f"{summary['active_customers']:,} active customers; your currency.",
        )
        c.metric("Mean remaining value per active customer", lv.money(summary["mean_active_remaining_value"]))
        table = lv.subscriber_download(data, settings.margin, settings.annual_discount_rate)  # packed once
        st.markdown(f"**The {lv.TOP_CUSTOMERS} most valuable active subscribers**")
        st.dataframe(
            safe_table(table.head),
            hide_index=True,
            width="stretch",
            height=lv.table_height(lv.TOP_CUSTOMERS),
            column_config={
                "customer_id": "Customer",
                "tenure_months": st.column_config.NumberColumn("Tenure (months)", format="%.1f"),
                "renewals": "Renewals so far",
                "monthly_charge": st.column_config.NumberColumn("Monthly charge", format="%,.2f"),
                "retention_next": st.column_config.NumberColumn("Renews next month", format="percent"),
                "expected_payments": st.column_config.NumberColumn("Discounted payments ahead", format="%.1f"),
                "remaining_value": st.column_config.NumberColumn("Remaining value", format="%,.2f"),
            },
        )
        csv_download(
            f"Download all {table.rows:,} active subscribers (CSV)",
            table.packed,
            "subscriber_value.csv",
            currency=cur.current(data),
        )
        st.caption(
            "The most valuable active subscribers first: margin x their monthly charge x the payments still "
            "expected from someone with their tenure, discounted. The subscription view has no horizon: it "
            "counts every future month, discounted."
        )


answer = st.container()  # the answer first; the assumptions that produce it right after it
current = clv_settings()
with st.expander(
    f"Assumptions: {current.margin:.0%} margin, {current.horizon_months:g}-month horizon, "
    f"{current.annual_discount_rate:.0%} a year discount (change them here; every page uses them)",
    expanded=False,
):
    bounds = settings_form(data)
settings = clv_settings()

if bounds is None:
    st.info(
        "This data has no purchase log (customer id, purchase date, amount), so the purchase models cannot run. "
        "The subscription retention model values customers from the customers table instead."
    )
    st.subheader("Subscription retention and value")
    subscription_section(data, settings)
    next_step(
        "Use the value of a new customer as the ceiling for what winning one may cost, and the remaining-value list "
        "to decide whom to keep with an offer: the early months are where customers leave most, so onboarding is "
        "where retention money works hardest."
    )
    st.stop()

analysis = None
with friendly_errors("Lifetime value"):
    try:
        analysis = lv.fit_with_progress(data, settings, bounds)
    except DataError as exc:
        st.warning(f"Lifetime value cannot be computed on this data: {plain(exc)}")
        st.markdown(
            "The purchase models learn from customers who bought more than once, over a history long enough to "
            "hold a later period out as a check. Try the automatic model or another calibration end above, or "
            "upload a longer purchase history on the Data page."
        )

if analysis is not None:
    with answer, friendly_errors("Customer values"):
        value_section(data, analysis)
        st.markdown(
            "**What to do next.** Call the most valuable customers whose chance of still being active is slipping "
            "(the Action list ranks them), and keep what you pay to win a new customer well below the mean value."
        )
    with st.expander("For analysts: how well the models forecast (holdout check, parameters, spend model)"):
        with friendly_errors("Holdout check"):
            holdout_section(data, analysis)
        with friendly_errors("Spend model check"):
            spend_check(analysis)

if data.has_column(CHURNED):
    with st.expander("Subscription view: retention model from the customers table", expanded=analysis is None):
        subscription_section(data, settings)

next_step(
    "Give the customers at the top of the list, above all those whose chance of still being active is slipping, a "
    "personal reason to come back before they drift away. Keep what you pay to win a new customer well below the "
    "mean lifetime value, and set the margin to your real one first: lifetime value moves with it one for one."
)
