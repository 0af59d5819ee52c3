"""Every headline figure: one name, one definition, one formula, its period, where it appears.

The app's Glossary page and the hover help (`help_text`) read these words, so a figure is
described the same way everywhere. Keys match the report's keys where the report has the figure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

BOTH = ("subscription", "purchase_log")
SUBSCRIPTION = ("subscription",)
PURCHASE_LOG = ("purchase_log",)


@dataclass(frozen=True)
class Term:
    """One figure.

    Attributes
    ----------
    key : stable id (the report key where there is one).
    name : the label the pages use (with its period or horizon in words).
    definition : one or two plain sentences.
    formula : how it is computed, in symbols a manager can follow.
    period : the period or horizon it covers ("month", "12 months", "all time", ...).
    kinds : business kinds it applies to ('subscription', 'purchase_log').
    where : pages and report keys that show it.
    """

    key: str
    name: str
    definition: str
    formula: str
    period: str
    kinds: tuple[str, ...]
    where: tuple[str, ...]

    def as_dict(self) -> dict:
        """The entry as plain values (for tables and JSON).

        Returns
        -------
        dict
            Every field by name.
        """
        return asdict(self)


TERMS: tuple[Term, ...] = (
    Term(
        "customers_all_time",
        "Customers (all time)",
        "Everyone in the data: every customer id with a purchase or a customers-table row, including those "
        "who have left.",
        "count of distinct customer ids",
        "all time",
        BOTH,
        ("Home (data badge)", "Data", "report data.customers"),
    ),
    Term(
        "customers",
        "Customers on the books, end of <month>",
        "Subscription: customers signed up by the month's end and not churned by then. Purchase log: everyone "
        "who has bought by the month's end (nobody says they left; see 'Customers still active (purchase "
        "model, today)' for who is likely still buying).",
        "subscriptions: signed up by the month's end and not churned; purchases: distinct buyers to date",
        "month end",
        BOTH,
        ("Customer health", "report kpis.values.customers"),
    ),
    Term(
        "active_customers",
        "Customers active during <month>",
        "Subscription: customers subscribed at any time in the month, including those who left during it "
        "(so more than the customers on the books at its end). Purchase log: customers who bought in the "
        "month (buyers), which is not the same as customers still active.",
        "subscriptions: signed up by the month's end and not churned before it began; purchases: distinct "
        "buyers in the month",
        "month",
        BOTH,
        ("Home", "Customer health", "report kpis.values.active_customers"),
    ),
    Term(
        "new_customers",
        "New customers, <month>",
        "Customers whose first purchase (or signup) falls in the month.",
        "count of first purchases (signups) in the month",
        "month",
        BOTH,
        ("Customer health", "report kpis.values.new_customers"),
    ),
    Term(
        "revenue",
        "Revenue, <month>",
        "Sum of purchase amounts in the month.",
        "sum of amounts",
        "month",
        BOTH,
        ("Home", "Customer health", "report kpis.values.revenue"),
    ),
    Term(
        "average_order_value",
        "Average order value, <month>",
        "Revenue per order in the month.",
        "revenue / orders",
        "month",
        BOTH,
        ("Customer health", "report kpis.values.average_order_value"),
    ),
    Term(
        "purchase_frequency",
        "Orders per buying customer, <month>",
        "Orders in the month per customer who bought in it.",
        "orders / buyers",
        "month",
        BOTH,
        ("Customer health", "report kpis.values.purchase_frequency"),
    ),
    Term(
        "repeat_purchase_rate",
        "Repeat buyers (2+ orders), by end of <month>",
        "Share of the customers who have bought by the month's end who have ordered at least twice.",
        "customers with 2 or more orders / customers to date",
        "all time to the month's end",
        BOTH,
        ("Customer health", "report kpis.values.repeat_purchase_rate"),
    ),
    Term(
        "customer_lifetime",
        "Expected customer lifetime at <month>'s churn",
        "How long a customer stays if the month's churn rate held for ever.",
        "1 / churn rate (in months)",
        "month",
        BOTH,
        ("Customer health", "report kpis.values.customer_lifetime"),
    ),
    Term(
        "mean_tenure_months",
        "Observed mean tenure (all customers)",
        "Mean months from acquisition to leaving, or to the data's end for customers still here.",
        "mean over customers of (churn date or data end - acquisition date)",
        "all time",
        BOTH,
        ("Customer health", "report kpis.values.mean_tenure_months"),
    ),
    Term(
        "cac",
        "Acquisition cost per new customer, <month>",
        "Acquisition spend per customer won in the month.",
        "acquisition spend / new customers",
        "month",
        BOTH,
        ("Customer health", "report kpis.values.cac"),
    ),
    Term(
        "whatif_starting_customers",
        "Starting customers (what-if)",
        "The customers the what-if starts from. Purchase log: the purchase model's expected active customers "
        "today. Subscription with payments: customers who paid in the last complete month; otherwise "
        "customers on the books at its end. Its source sentence on the What-if page says which.",
        "as its source says",
        "the last complete month (or today for the purchase model)",
        BOTH,
        ("What-if", "report whatif.inputs.starting_customers"),
    ),
    Term(
        "whatif_retention_rate",
        "Retention per period (what-if input)",
        "The retention the what-if starts from, per period. Purchase log: the purchase model's yearly retention "
        "spread over the periods of a year. Subscription with payments: the share of one month's payers who pay "
        "again the next, pooled over a year (so it can differ from the month's recorded retention on Home); "
        "otherwise from signup and churn dates. Its source sentence says which.",
        "as its source says",
        "per what-if period, measured over the last 12 complete periods",
        BOTH,
        ("What-if", "report whatif.inputs.retention_rate"),
    ),
    Term(
        "lifecycle_active",
        "Active (lifecycle stage, today)",
        "Segments page: customers whose chance of still being a customer is high (or, without a model, who "
        "bought within their usual gap). A stage, not a count of customers on the books.",
        "P(alive) (or churn model) at or above the Active threshold; else days since the last purchase",
        "today (the data's last day)",
        BOTH,
        ("Segments",),
    ),
    Term(
        "expected_alive_customers",
        "Customers still active (purchase model, today)",
        "For a purchase log nobody says they left; the purchase model estimates for each customer the "
        "probability P(alive) that they still buy from you. The expected number still active is their sum.",
        "sum over customers of P(alive)",
        "today (the data's last day)",
        PURCHASE_LOG,
        ("Lifetime value", "What-if (starting customers)", "report clv.retention.expected_alive_customers"),
    ),
    Term(
        "retention_rate",
        "Retention, <month> (monthly)",
        "Subscription: share of customers on the books at the start of the month still there at its end.",
        "retained customers / customers at the start of the month",
        "month",
        SUBSCRIPTION,
        ("Home", "Customer health", "report kpis.values.retention_rate"),
    ),
    Term(
        "repeat_rate",
        "Repeat rate, <month> (monthly)",
        "Purchase log: share of last month's buyers who bought again this month. Occasional buyers skip "
        "months without leaving, so this is not retention.",
        "buyers of last month who bought this month / buyers of last month",
        "month",
        PURCHASE_LOG,
        ("Home", "Customer health", "report kpis.values.retention_rate (purchase logs)"),
    ),
    Term(
        "lapse_rate",
        "Lapsed buyers, <month> (monthly)",
        "Purchase log: share of last month's buyers who did not buy this month (1 - repeat rate). Occasional "
        "buyers skip months without leaving, so this is not churn; the purchase model's yearly retention is.",
        "buyers of last month who did not buy this month / buyers of last month",
        "month",
        PURCHASE_LOG,
        ("Home", "Customer health", "report kpis.values.churn_rate (purchase logs)"),
    ),
    Term(
        "buyers",
        "Buyers, <month>",
        "Purchase log: customers who bought in the month. Not the customers still active: see the purchase "
        "model's expected active customers.",
        "distinct buyers in the month",
        "month",
        PURCHASE_LOG,
        ("Home", "Customer health", "report kpis.values.active_customers (purchase logs)"),
    ),
    Term(
        "yearly_retention_rate",
        "Yearly retention (purchase model)",
        "Purchase log: share of the customers the purchase model expects to be active today who are still "
        "active a year later. It lies between a new customer's chance of staying a year and an established "
        "customer's.",
        "sum_i P(alive)_i x P(still alive in a year | alive now)_i / sum_i P(alive)_i",
        "next 12 months",
        PURCHASE_LOG,
        (
            "Lifetime value",
            "What-if",
            "report clv.retention.yearly_retention_rate",
            "report whatif.yearly_retention_rate",
        ),
    ),
    Term(
        "churn_rate",
        "Churn, <month> (monthly)",
        "Share of the customers at the start of the month who were lost during it; 1 - retention (or 1 - "
        "repeat rate for a purchase log). Always between 0% and 100%.",
        "lost customers / customers at the start of the month",
        "month",
        BOTH,
        ("Customer health", "report kpis.values.churn_rate"),
    ),
    Term(
        "customers_left_all_time",
        "Customers who have left, all time",
        "Share of every customer ever seen who has left by the data's end (the churn model's outcome). "
        "Much larger than a month's churn because it adds up every month.",
        "customers marked as left / all customers",
        "all time",
        BOTH,
        ("Home", "Churn: who is leaving", "report churn.churn_rate"),
    ),
    Term(
        "clv_model",
        "Average 12-month value per customer (model)",
        "Purchase log: the discounted margin each customer is expected to bring over the horizon (12 months "
        "by default), from the purchase model chosen on the holdout and the Gamma-Gamma spend model.",
        "margin x expected spend per purchase x discounted expected purchases in the horizon (Fader, Hardie & "
        "Lee 2005)",
        "the chosen horizon (12 months by default)",
        PURCHASE_LOG,
        ("Home", "Lifetime value", "HTML report", "report clv.mean_clv", "report kpis.values.clv_model"),
    ),
    Term(
        "clv_simple",
        "Formula lifetime value (average, undiscounted)",
        "The textbook formula on averages over every customer ever seen. It counts customers who have "
        "already left and does not discount, so it is larger than the model's value of today's customers.",
        "average order value x purchases a year x expected lifetime in years x margin",
        "expected lifetime",
        BOTH,
        ("Customer health", "Lifetime value", "report kpis.values.clv_simple"),
    ),
    Term(
        "clv_new_customer",
        "Lifetime value of a new customer (what-if)",
        "Discounted margin a newly won customer brings over their whole expected life at today's "
        "retention (what the what-if compares with the acquisition cost).",
        "margin per period x r / (1 + d - r) (Gupta & Lehmann 2003)",
        "lifetime",
        BOTH,
        ("What-if", "report whatif.clv_base"),
    ),
    Term(
        "value_of_todays_customers",
        "Value of today's customers over the horizon (what-if)",
        "Discounted margin today's customers bring over the what-if horizon at today's retention, without "
        "new customers. With the same horizon, margin and discount it equals the Lifetime value page's total.",
        "starting customers x margin per customer-month x sum_k (r / (1 + d))^k",
        "the what-if horizon (5 years by default)",
        BOTH,
        ("What-if", "report whatif.value_of_todays_customers"),
    ),
    Term(
        "value_at_stake",
        "Value at stake (customers still with you)",
        "What a customer's departure would cost: their value times their churn probability. Customers who "
        "have already left count zero: there is nothing left to save.",
        "value x churn probability, 0 for customers who have left",
        "the value's horizon",
        BOTH,
        ("Home", "Action list", "Segments", "HTML report", "report actions.value_at_stake_top_100"),
    ),
    Term(
        "customers_at_high_risk",
        "Customers not yet left, at high risk",
        "Customers the churn outcome does not mark as left whom the churn model gives a 50% or higher "
        "probability of leaving: the people a retention campaign is about.",
        "count of current customers with churn probability >= 50%",
        "the churn model's horizon",
        BOTH,
        ("Home", "report actions.customers_at_high_risk"),
    ),
    Term(
        "profit_change_pct",
        "Profit change from the retention lift (5 years)",
        "Change in discounted profit over the what-if horizon when retention is lifted by the chosen amount "
        "(points of yearly retention by default).",
        "100 x (profit with the lift - profit today) / profit today",
        "the what-if horizon (5 years by default)",
        BOTH,
        ("Home", "What-if", "HTML report", "report whatif.profit_change_pct"),
    ),
    Term(
        "ltv_cac",
        "Lifetime value : acquisition cost (model value when fitted)",
        "How many times a customer's value covers what it cost to win them. Uses the model's value when "
        "there is one (the same figure as the Lifetime value page).",
        "value per customer / average acquisition cost",
        "the value's horizon",
        BOTH,
        ("Customer health", "report kpis.values.ltv_cac"),
    ),
    Term(
        "p_alive",
        "P(alive)",
        "Purchase log: the model's probability that a customer still buys from you, given when they last "
        "bought and how often they bought before.",
        "BG/NBD, Pareto/NBD or MBG/NBD posterior probability of being active",
        "today",
        PURCHASE_LOG,
        ("Lifetime value", "Segments", "Action list"),
    ),
    Term(
        "churn_probability",
        "Churn probability",
        "The churn model's probability that a customer leaves (as the Churn page defines leaving).",
        "cross-validated classifier score",
        "the churn window",
        BOTH,
        ("Churn: who is leaving", "Action list", "Segments"),
    ),
    Term(
        "csat",
        "CSAT (survey answers to date)",
        "Share of satisfaction answers that are 4 or 5 (of 5).",
        "answers 4-5 / answers",
        "all answers in the data",
        BOTH,
        ("Customer health", "report kpis.values.csat"),
    ),
    Term(
        "ces",
        "CES (survey answers to date)",
        "Mean customer effort score (1-7, lower is easier).",
        "mean of the answers",
        "all answers in the data",
        BOTH,
        ("Customer health", "report kpis.values.ces"),
    ),
    Term(
        "avg_resolution_hours",
        "Average resolution time (all tickets)",
        "Mean hours to resolve a support ticket, weighted by tickets.",
        "sum of hours x tickets / tickets",
        "all tickets in the data",
        BOTH,
        ("Customer health", "report kpis.values.avg_resolution_hours"),
    ),
    Term(
        "first_contact_resolution",
        "First-contact resolution (all tickets)",
        "Share of tickets resolved at the first contact, weighted by tickets.",
        "tickets resolved at first contact / tickets",
        "all tickets in the data",
        BOTH,
        ("Customer health", "report kpis.values.first_contact_resolution"),
    ),
    Term(
        "escalation_rate",
        "Escalation rate (all tickets)",
        "Escalated tickets per ticket.",
        "escalated tickets / tickets",
        "all tickets in the data",
        BOTH,
        ("Customer health", "report kpis.values.escalation_rate"),
    ),
    Term(
        "complaints_per_day",
        "Complaints per day (whole data span)",
        "Complaints divided by the days the data covers.",
        "complaints / days covered",
        "the data's span",
        BOTH,
        ("Customer health", "report kpis.values.complaints_per_day"),
    ),
    Term(
        "nps",
        "NPS (survey answers to date)",
        "Net Promoter Score of the 0-10 'would you recommend us' answers.",
        "% promoters (9-10) - % detractors (0-6)",
        "all answers in the data",
        BOTH,
        ("Home", "Customer health", "report kpis.values.nps"),
    ),
)

BY_KEY: dict[str, Term] = {t.key: t for t in TERMS}

PURCHASE_BASIS_NAMES = {"retention_rate": "repeat_rate", "churn_rate": "lapse_rate", "active_customers": "buyers"}
"""KPI keys whose purchase-log meaning has its own glossary entry."""

PERIOD_ADJECTIVES = {"month": "monthly", "quarter": "quarterly", "year": "yearly"}


def period_name(period: str | None) -> str:
    """'2025-12' -> 'Dec 2025', '2025Q4' -> 'Q4 2025', '2025' -> '2025' (anything else unchanged).

    Parameters
    ----------
    period : str or None
        A period as the report writes it.

    Returns
    -------
    str
        The label ("the last period" when there is none).
    """
    if not period:
        return "the last period"
    try:
        p = pd.Period(period)
    except (ValueError, TypeError):
        return str(period)
    code = p.freqstr[0]
    if code == "M":
        return p.strftime("%b %Y")
    if code == "Q":
        return f"Q{p.quarter} {p.year}"
    return str(p)


def figure_key(key: str, repeat_basis: bool = False) -> str:
    """The glossary key of a KPI: on a purchase log's repeat-buying basis retention is the repeat rate,
    churn the lapse rate and active customers the month's buyers (`PURCHASE_BASIS_NAMES`).

    Parameters
    ----------
    key : str
        A KPI or glossary key.
    repeat_basis : bool
        True when the KPIs are measured from purchases.

    Returns
    -------
    str
        The glossary key.
    """
    return PURCHASE_BASIS_NAMES.get(key, key) if repeat_basis else key


def figure_name(key: str, repeat_basis: bool = False) -> str:
    """A figure's name without its period, for sentences that name the period themselves
    ('Churn', 'Customers active', 'Buyers', 'Lapsed buyers').

    Parameters
    ----------
    key : str
        A KPI or glossary key.
    repeat_basis : bool
        True when the KPIs are measured from purchases (`figure_key`).

    Returns
    -------
    str
        The name.
    """
    name = term(figure_key(key, repeat_basis)).name
    head, marker, _ = name.partition("<month>")
    words = head.replace(",", " ").split() if marker else [name]
    while words and words[-1] in ("during", "of", "at", "end", "by"):
        words.pop()  # the words that led into the period
    return " ".join(words)


def figure_label(key: str, period: str | None = None, *, period_kind: str = "month", repeat_basis: bool = False) -> str:
    """A figure's label with its period or basis: the glossary's name, the period filled in.

    Every page, the HTML report and the report's `kpis.values` labels come from here, so the same figure
    reads the same everywhere ("Churn, Dec 2025 (monthly)", "Customers on the books, end of Q4 2025").

    Parameters
    ----------
    key : str
        A glossary key (KPI keys are glossary keys).
    period : str, optional
        The period as the report writes it ('2025-12'); None for "the last period".
    period_kind : {'month', 'quarter', 'year'}
        The KPIs' period length.
    repeat_basis : bool
        True when retention is measured from repeat buying (a purchase log): 'retention_rate' is then
        labelled by its honest name, the repeat rate.

    Returns
    -------
    str
        The label.
    """
    name = term(figure_key(key, repeat_basis)).name
    if "<month>" not in name:
        return name
    adjective = PERIOD_ADJECTIVES.get(period_kind, period_kind)
    return name.replace("(monthly)", f"({adjective})").replace("<month>", period_name(period))


def term(key: str) -> Term:
    """The glossary entry for `key`.

    Parameters
    ----------
    key : str
        A figure's key, e.g. 'retention_rate'.

    Returns
    -------
    Term
        Its label, definition and formula.
    """
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"No glossary entry '{key}'. Known: {', '.join(BY_KEY)}.") from None


def help_text(key: str) -> str:
    """Hover help for a figure: its definition and formula, in the glossary's words.

    Parameters
    ----------
    key : str
        A figure's key.

    Returns
    -------
    str
        The help text.
    """
    t = term(key)
    return f"{t.definition} Formula: {t.formula}. Period: {t.period}."


def glossary_rows(kind: str | None = None) -> list[dict]:
    """The glossary as table rows, optionally only the figures of one business kind.

    Parameters
    ----------
    kind : str, optional
        'subscription' or 'purchase_log' (None = every figure).

    Returns
    -------
    list of dict
        One row per figure.
    """
    return [
        {
            "Figure": t.name,
            "Definition": t.definition,
            "Formula": t.formula,
            "Period": t.period,
            "Where": ", ".join(t.where),
        }
        for t in TERMS
        if kind is None or kind in t.kinds
    ]
