"""Every headline figure: one name, one definition, one formula, its period, where it appears.

The app's Glossary page and the hover help (`help_text`) read these words, so a figure is
described the same way everywhere. Keys match the report's keys where the report has the figure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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
        "customers",
        "Customers (all time)",
        "Everyone in the data: every customer id with a purchase or a customers-table row.",
        "count of distinct customer ids",
        "all time",
        BOTH,
        ("Data", "report data.customers"),
    ),
    Term(
        "active_customers",
        "Active customers, <month>",
        "Subscription: customers on the books at the end of the month. Purchase log: customers who bought "
        "in the month (buyers), which is not the same as customers still active.",
        "subscriptions: signed up by the month's end and not churned; purchases: distinct buyers in the month",
        "month",
        BOTH,
        ("Customer health", "report kpis.values.active_customers"),
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
        "clv_formula",
        "Formula lifetime value (average, undiscounted)",
        "The textbook formula on averages over every customer ever seen. It counts customers who have "
        "already left and does not discount, so it is larger than the model's value of today's customers.",
        "average order value x purchases a year x expected lifetime in years x margin",
        "expected lifetime",
        BOTH,
        ("Customer health", "report kpis.values.clv_simple"),
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
        ("Home", "Action list", "Segments", "HTML report"),
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
        "Lifetime value : acquisition cost",
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
