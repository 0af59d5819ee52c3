"""Churn: who is leaving, why, and which of them are worth saving (issue 4).

The churn settings (label source, column, value, window, model) are this page's widgets under the
shared `ch_*` keys of `ui.models.CHURN_DEFAULTS`, so every page sees the same cached fit. The
retention curves and the campaign planner sit in fragments: their widgets never refit the model.
"""

import altair as alt
import streamlit as st

from analytics.business.campaign import CampaignAssumptions, plan_campaign
from analytics.data.schema import CUSTOMER_ID, CustomerData, DataError
from analytics.models.clv import ClvSettings
from analytics.reports.charts.churn import calibration_chart, drivers_chart, gains_chart, profit_chart, retention_chart
from ui import churn as ch
from ui import currency as cur
from ui import look
from ui.campaign import contact_list, control_controls
from ui.downloads import csv_download
from ui.frame import friendly_errors, header, next_step, require_data
from ui.models import CHURN_DEFAULTS, churn_settings, clv_settings, current_churn, current_clv
from ui.text import plain, safe_table

BIND = ch.BIND

header(
    "Churn: who is leaving",
    "Which customers are likely to leave, how well that can be told in advance, what goes with leaving, "
    "how long customers stay, and which of them are worth a retention offer.",
)
data = require_data()


def display_name(data: CustomerData, column: str) -> str:
    """The user's own name for a canonical column of the customers table."""
    for report in data.reports:
        if column in report.columns:
            return report.columns[column]
    return column


def titled(chart: alt.TopLevelMixin, *lines: str) -> alt.TopLevelMixin:
    """The chart with its title on several lines (a half-width column cuts one long line off)."""
    return chart.properties(title=alt.Title(list(lines), anchor="start"))


def label_controls(data: CustomerData) -> None:
    """The widgets that define the outcome and the model (bound to the URL; shared with every page)."""
    grid = st.columns(3)
    slots = iter(grid[i % 3] for i in range(6))  # filled left to right, row by row
    sources = ["auto"] + (["column"] if data.has_customers else []) + (["purchases"] if data.has_transactions else [])
    source = next(slots).selectbox(
        "Where the churn outcome comes from",
        sources,
        format_func=ch.SOURCE_LABELS.get,
        key="ch_label_source",
        bind=BIND,
        help="Automatic: a churn column in the customers table if there is one, else derived from purchases.",
    )
    if data.has_customers and source != "purchases":
        columns = [""] + [col for col in data.customers.columns if col != CUSTOMER_ID]
        column = next(slots).selectbox(
            "Churn column",
            columns,
            key="ch_label_column",
            bind=BIND,
            on_change=ch.reset_churn_value,  # widget functions from ui.churn: they outlive the run (see there)
            format_func=ch.labelled({col: display_name(data, col) for col in columns}, "Detected automatically"),
            help="The column that says whether a customer has left (yes/no, 1/0, churned/stayed, or a churn date).",
        )
        values = [""] + (ch.label_values(data.customers[column]) if column else [])
        next(slots).selectbox(
            "Value that means 'left'",
            values,
            key="ch_churn_value",
            bind=BIND,
            disabled=not column,
            format_func=ch.labelled({}, "Read automatically"),
            help="Pick a churn column first. Every other filled value then means the customer stayed.",
        )
    if data.has_transactions and source != "column":
        next(slots).number_input(
            "No-purchase window for derived churn (days)",
            min_value=CHURN_DEFAULTS["ch_horizon_days"],
            max_value=730,
            step=10,
            key="ch_horizon_days",
            bind=BIND,  # default = min_value = 0 ("automatic")
            help="A customer has churned when they buy nothing for this many days after the cutoff. "
            "0 = twice the typical gap between a customer's purchases (90 to 365 days).",
        )
    next(slots).selectbox(
        "Model",
        list(ch.MODEL_LABELS),
        format_func=ch.MODEL_LABELS.get,
        key="ch_model",
        bind=BIND,
        help="Logistic regression is easier to explain; gradient boosting catches interactions. Both are compared "
        "by stratified cross-validation and the one with the higher ROC AUC is kept.",
    )


with st.expander("The churn outcome and the model (correct them here)", expanded=False):
    label_controls(data)
    st.caption("These settings are in the page's link and are used by every page that shows churn risk.")

try:
    with st.spinner(
        "Fitting and cross-validating the churn models (first time only; about 10 seconds per 10,000 customers)…"
    ):
        analysis = current_churn(data)
except DataError as exc:
    st.warning(f"Churn cannot be modelled on this data: {plain(exc)}")
    st.markdown(
        "Churn needs an outcome: a column in the customers table that says who left (Yes/No, 1/0, "
        "Churned/Stayed, or a churn date), or a purchase log (customer id, date, amount) from which a "
        "period without purchases can be read. If your file has such a column under another name, pick it "
        "above under **The churn outcome and the model**."
    )
    next_step("Add a churn column or the purchase log on the Data page, then come back to see who is leaving.")
    st.stop()

# Answer first: who is leaving and whom to offer something; drivers and survival next; the model's
# quality for analysts last. Containers keep that order while the code runs in its own order.
answer_box = st.container()
plan_box = st.container()
drivers_box = st.container()
survival_box = st.container()
analysts_box = st.expander(
    "For analysts: model quality (ROC AUC, PR AUC, Brier score, cross-validation, calibration)", expanded=False
)

with answer_box:
    # --- 1. the outcome ---------------------------------------------------------------------------
    st.subheader("1. Who is leaving")
    rate = analysis.churn_rate
    st.markdown(f"**Churn means:** {analysis.target}.")
    if analysis.derived is not None:
        horizon = analysis.derived.horizon_days
        how = (
            "chosen as twice the typical gap between a customer's purchases"
            if not churn_settings().horizon_days
            else "your choice"
        )
        st.caption(
            f"The {horizon}-day window is {how}; the cutoff is the latest date whose whole window the data covers. "
            "Change the window above."
        )
    a, b, c, d = st.columns(4)
    a.metric("Churned", f"{rate:.1%}", help="Share of the modelled customers who left (by the outcome above).")
    b.metric(
        "How well the model ranks who leaves",
        f"{analysis.model.metrics_['auc']:.2f}",
        help="0.5 is a coin toss, 1 is perfect: the chance that a customer who left was given a higher risk than one "
        "who stayed (ROC AUC, on customers the model did not learn from).",
    )
    c.metric(
        "Leavers among the riskiest 20%",
        f"{analysis.lift_at(0.2):.0%}",
        help="Share of everyone who leaves found among the 20% of customers the model rates riskiest "
        "(a random 20% would find 20%).",
    )
    d.metric("Customers modelled", f"{len(analysis.y):,}", help=f"Not modelled: {analysis.n_unlabelled:,}.")
    st.caption(
        ch.not_modelled_sentence(analysis) + " Rows left out when the file was read are listed on the Data page."
    )

with analysts_box:
    # --- 2. how well it works -----------------------------------------------------------------------
    st.markdown("**How well can we tell in advance?**")
    metrics = analysis.model.metrics_
    chosen = ch.MODEL_LABELS[analysis.model.model_name_]
    a, b, c, d = st.columns([1.6, 1, 1, 1])
    a.metric("Model used", chosen, help="The model whose risk scores every page uses.")
    b.metric(
        "ROC AUC",
        f"{metrics['auc']:.3f}",
        help="Chance that a random churner gets a higher risk than a random stayer: 0.5 = coin toss, 1 = perfect.",
    )
    c.metric(
        "PR AUC",
        f"{metrics['pr_auc']:.3f}",
        help=f"Average precision when working down the risk list: guessing gives the churn rate ({rate:.3f}).",
    )
    d.metric(
        "Brier score",
        f"{metrics['brier']:.3f}",
        help=f"Mean squared error of the predicted risks (lower is better); giving everyone the churn rate scores {rate * (1 - rate):.3f}.",
    )
    st.markdown(
        f"- **ROC AUC {metrics['auc']:.2f}**: how well the model ranks leavers above stayers (0.5 = coin toss, 1 = perfect).\n"
        f"- **PR AUC {metrics['pr_auc']:.2f}**: how clean the top of the risk list is (guessing gives {rate:.2f}, the churn rate).\n"
        f"- **Brier {metrics['brier']:.3f}**: how far the risk percentages are from what happened "
        f"(lower is better; giving everyone {rate:.0%} scores {rate * (1 - rate):.3f})."
    )
    comparison = analysis.model.cv_results_.assign(
        Model=lambda f: f["model"].map(ch.MODEL_LABELS),
        **{
            "ROC AUC": lambda f: f["auc"].map("{:.3f}".format) + " ± " + f["auc_std"].map("{:.3f}".format),
            "PR AUC": lambda f: f["pr_auc"].map("{:.3f}".format),
            "Brier score": lambda f: f["brier"].map("{:.3f}".format),
        },
    )[["Model", "ROC AUC", "PR AUC", "Brier score"]]
    st.dataframe(comparison, hide_index=True, width="stretch")
    st.caption(
        f"Scores on customers each model did not see while learning ({int(metrics['n_splits'])}-fold stratified "
        "cross-validation; ± is the spread over folds). "
        + ("The model with the higher ROC AUC is used." if len(comparison) > 1 else "Only the chosen model was fitted.")
    )

    left, right = st.columns(2)
    with left:
        st.altair_chart(
            look.fit(
                titled(
                    gains_chart(analysis.gains),
                    "Gains: churners caught by contacting",
                    "the riskiest customers first (dashed = random)",
                )
            ),
            width="stretch",
        )
        caught = {share: analysis.lift_at(share) for share in (0.1, 0.2, 0.3)}
        cols = st.columns(3)
        for col, (share, value) in zip(cols, caught.items()):
            col.metric(
                f"Riskiest {share:.0%} catch",
                f"{value:.0%}",
                help=f"Share of all churners among the riskiest {share:.0%} of customers; "
                f"a random {share:.0%} would catch {share:.0%} of them.",
            )
        st.caption(
            f"Contacting the riskiest 20% of customers reaches {caught[0.2]:.0%} of everyone who leaves, "
            f"{caught[0.2] / 0.2:.1f} times what a random 20% would (a perfect model: {min(1.0, 0.2 / rate):.0%})."
        )
    with right:
        st.altair_chart(
            look.fit(
                titled(
                    calibration_chart(analysis.calibration),
                    "Calibration: are predicted risks",
                    "right on average? (dashed = perfect)",
                )
            ),
            width="stretch",
        )
        top_group = analysis.calibration.iloc[-1]
        st.caption(
            f"Among the riskiest tenth of customers the model predicts {top_group['mean_predicted']:.0%} churn and "
            f"{top_group['observed_rate']:.0%} actually left. Points near the dashed line mean a '30% risk' really "
            "is 30%, so risks can be multiplied by value to price a campaign."
        )

with drivers_box:
    # --- 3. drivers ---------------------------------------------------------------------------------
    st.subheader("3. What goes with leaving")
    if analysis.drivers:
        st.markdown("\n".join(f"- {d.sentence}" for d in analysis.drivers))
    else:
        st.markdown("No single attribute shows a clear high-vs-low difference in churn on its own.")
    st.info(analysis.caveat, icon=":material/info:")
    left, right = st.columns([3, 2])
    with left:
        st.altair_chart(
            look.fit(drivers_chart(analysis.model.importances_, analysis.features.display)), width="stretch"
        )
        st.caption(
            "A longer bar means the model's ranking gets worse when that column is scrambled: it leans on it more."
        )
    with right:
        dropped = analysis.features.dropped
        st.markdown(f"**Columns left out ({len(dropped)})**")
        if dropped:
            st.markdown(
                "\n".join(
                    f"- **{plain(analysis.features.display.get(col, col))}**: {plain(why)}"
                    for col, why in dropped.items()
                )
            )
        else:
            st.caption("None: every column was usable.")
        st.caption(
            "Identifiers, free text and anything recorded when or after a customer left are left out, so the "
            "model cannot cheat by reading the answer."
        )
        for note in analysis.features.notes:
            st.caption(plain(note))


# --- 4. survival --------------------------------------------------------------------------------
@st.fragment
def retention_panel(data: CustomerData) -> None:
    """Kaplan-Meier curves overall or per attribute; the selectbox reruns only this fragment."""
    st.subheader("4. How long customers stay")
    settings = churn_settings()
    current = current_churn(data)
    options = [""] + ch.survival_options(current)
    by = st.selectbox(
        "Compare groups by",
        options,
        key=ch.K_SURVIVAL_BY,
        bind=BIND,
        format_func=ch.labelled(current.features.display, "Everyone together"),  # not a lambda: see ui.churn
    )
    with friendly_errors("Retention curves"):
        overall = ch.retention(data, settings, None)
        median = overall.median()
        curves = ch.retention(data, settings, by) if by else overall
        left, right = st.columns([3, 1])
        with left:
            st.altair_chart(look.fit(retention_chart(curves.curves, curves.by)), width="stretch")
        with right:
            st.metric(
                "Median customer lifetime",
                "not reached" if median is None else f"{median:.1f} months",
                help="Months until half of the customers have left (Kaplan-Meier).",
            )
            st.caption(ch.median_sentence(median, current.source, overall.max_months))
        if by:
            table = curves.summary.rename(
                columns={
                    "group": current.features.display.get(by, by),
                    "customers": "Customers",
                    "churned": "Left",
                    "median_text": "Median lifetime",
                }
            )
            st.dataframe(table.drop(columns="median_months"), hide_index=True, width="stretch")
        months = (
            "tenure (months as a customer)"
            if current.source == "column"
            else "the months from each customer's first to last purchase"
        )
        st.caption(
            f"Each step down is customers leaving; time is {months}. Customers who have not left yet count "
            "only for as long as they have been observed, so the curve is not dragged down by new customers."
        )


with survival_box:
    retention_panel(data)


@st.fragment
def campaign_panel(inputs: ch.CampaignInputs, clv_choice: ClvSettings | None) -> None:
    """Offer assumptions, profit curve, best k% and the contact list; reruns alone, never refits.
    `clv_choice`: the lifetime-value settings `inputs` were computed with (None: no purchase model)."""
    a, b = st.columns(2)
    cost = a.number_input(
        "Offer cost per contacted customer (your currency)",
        min_value=0.0,
        value=ch.DEFAULT_OFFER_COST,
        step=1.0,
        format="%.2f",
        key=ch.K_OFFER_COST,
        bind=BIND,
        help="Discount, gift or call time per customer contacted, whether or not they would have left.",
    )
    save = b.slider(
        "Chance the offer keeps a customer who would leave (%)",
        0,
        100,
        ch.DEFAULT_SAVE_RATE,
        1,
        key=ch.K_SAVE_RATE,
        bind=BIND,
        help="An assumption: 10-30% is common for retention offers; test it on a small group first.",
    )
    assumptions = CampaignAssumptions(float(cost), save / 100)
    plan = plan_campaign(inputs.customers["churn_probability"], inputs.customers["value"], assumptions)
    st.caption(
        f"Value at stake: {inputs.value_source}. Only customers who have not left yet are ranked, "
        f"{len(inputs.customers):,} in all."
    )
    a, b, c, d = st.columns(4)
    a.metric(
        "Best share to contact",
        f"Top {plan.best_percent}%" if plan.best_customers else "Nobody",
        help="Riskiest customers first.",
    )
    b.metric("Customers to contact", f"{plan.best_customers:,}")
    c.metric(
        "Expected profit", ch.money(plan.best_profit), help="Expected value kept minus offer costs (your currency)."
    )
    d.metric("Offer cost in total", ch.money(plan.best_cost), help="Your currency.")
    st.altair_chart(look.fit(profit_chart(plan.curve, plan.best_percent, currency=cur.current(data))), width="stretch")
    if plan.best_customers == 0:
        riskiest = inputs.customers.nlargest(max(1, len(inputs.customers) // 10), "churn_probability")
        st.markdown(
            f"**No campaign pays at these assumptions.** The riskiest tenth of customers are worth "
            f"{ch.money(riskiest['value'].mean())} each on average and {riskiest['churn_probability'].mean():.0%} "
            f"of them are expected to leave, so an offer costing {ch.money(assumptions.offer_cost)} that keeps "
            f"{assumptions.save_rate:.0%} of leavers costs more than it saves. Lower the cost, aim at valuable "
            "customers instead (the Action list ranks by value at stake), or keep the budget."
        )
        return
    st.markdown(
        f"Offer it to the riskiest **{plan.best_percent}%** ({plan.best_customers:,} customers): it costs "
        f"{ch.money(plan.best_cost)} and is expected to keep {ch.money(plan.best_value_saved)} of value, a profit of "
        f"**{ch.money(plan.best_profit)}**. Beyond that point each extra contact costs more than it is expected to save."
    )
    share, _ = control_controls()
    # built, marked and packed once per settings, assumptions and control group (cached), not every run
    contacts = contact_list(data, churn_settings(), clv_choice, assumptions)
    held_out = contacts.held_out
    csv_download(
        f"Download the {contacts.table.rows:,} customers to contact (CSV)",
        contacts.table.packed,
        "customers_to_contact.csv",
        currency=cur.current(data),
    )
    st.dataframe(safe_table(contacts.table.head), hide_index=True, width="stretch")
    st.caption(
        "The first 10 of the list, riskiest first: churn risk in %, value at stake and expected value saved in "
        f"your currency. The file is safe to open in a spreadsheet. **Send the offer only to the treatment group**: "
        f"the {held_out:,} customers marked *control* ({share:.0%} of each risk tenth, drawn at random) are kept out "
        "so the Campaign readout page can measure what the offer really saved."
    )


with plan_box:
    # --- 5. campaign --------------------------------------------------------------------------------
    st.subheader("2. Whom to offer something: campaign planner")
    clv_choice = None
    if data.has_transactions:
        with (
            friendly_errors("Lifetime value for the value at stake"),
            st.spinner("Fitting lifetime-value models (first time only)…"),
        ):
            current_clv(data)
            clv_choice = clv_settings()
    inputs = None
    with friendly_errors("Campaign planner"):
        inputs = ch.campaign_inputs(data, churn_settings(), clv_choice)

    if inputs is not None:
        campaign_panel(inputs, clv_choice)

next_step(
    "Contact the customers the planner says pay for an offer, riskiest first, and work on the strongest driver "
    "you can change (the first sentence of section 3). Keep a random control group out of every offer, so you "
    "measure what it really saves before scaling it up."
)
