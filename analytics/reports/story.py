"""The one-screen story: which change leads, and the sentence that says it (Home and the HTML report).

`headline` picks the single most important change between the last two complete periods of a
`KPIReport` and writes it as a sentence a manager can read aloud. "Most important" is the largest
relative change among the KPIs a manager steers by (churn, active customers, revenue, new
customers): a fifth less churn outranks 6% more revenue. Ties keep that order.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.business.glossary import period_name
from analytics.business.kpis import KPI, KPI_SPECS, KPIReport
from analytics.formatting import money

#: Candidates for the headline, in order of precedence on a tie.
HEADLINE_KEYS: tuple[str, ...] = ("churn_rate", "active_customers", "revenue", "new_customers")
#: The cards under the headline, in display order (those the data can give).
CARD_KEYS: tuple[str, ...] = ("active_customers", "retention_rate", "churn_rate", "revenue")


@dataclass(frozen=True)
class Headline:
    """The leading change: which KPI, its relative change, and the sentence (markdown, bold lead).

    Attributes
    ----------
    key : str or None
        The KPI's key (None when no KPI changed).
    relative_change : float or None
        Its relative change.
    sentence : str
        The headline, markdown.
    """

    key: str | None
    relative_change: float | None
    sentence: str


def format_kpi(kpi: KPI, value: float | None, currency: str | None) -> str:
    """A KPI value in its unit: '98.3%', '4,311', '€179,493', '+5'.

    Parameters
    ----------
    kpi : KPI
        The KPI (for its unit).
    value : float or None
        The value to show.
    currency : str or None
        ISO 4217 code of money.

    Returns
    -------
    str
        The text.
    """
    if value is None:
        return "n/a"
    if kpi.unit == "share":
        return f"{value:.1%}"
    if kpi.unit == "currency":
        return money(value, currency, decimals=0)
    if kpi.unit == "score":
        return f"{value:+.0f}"
    if kpi.unit == "customers":
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def format_change(kpi: KPI) -> str | None:
    """The change against the previous period in words a delta can carry: '+0.5 points', '+6.5%'.

    Parameters
    ----------
    kpi : KPI
        The KPI with its previous value.

    Returns
    -------
    str or None
        The change; None without a previous value.
    """
    if kpi.change is None:
        return None
    if kpi.unit == "share":
        return f"{100 * kpi.change:+.1f} points"
    rel = kpi.relative_change
    return None if rel is None else f"{rel:+.1%}"


def _name(key: str, report: KPIReport) -> str:
    """The KPI's glossary name without its period, on the report's basis (a purchase log's buyers)."""
    from analytics.business.glossary import BY_KEY, figure_key, figure_name

    repeat_basis = report.basis == "purchases"
    if figure_key(key, repeat_basis) not in BY_KEY:
        return KPI_SPECS[key].label
    return figure_name(key, repeat_basis)


def _verb(kpi: KPI) -> str:
    return "rose" if (kpi.change or 0) > 0 else "fell" if (kpi.change or 0) < 0 else "held"


def card_label(key: str, fallback: str, month: str, *, subscription: bool = True) -> tuple[str, str | None]:
    """A KPI card's label in the glossary's words with the month filled in, and its hover help.

    Home's cards and the HTML brief's cards use it, so the same figure has the same name on both.

    Parameters
    ----------
    key : str
        The KPI's key.
    fallback : str
        The label when the glossary has no entry ('<fallback>, <month>').
    month : str
        The period shown ('Dec 2025').
    subscription : bool
        False for a purchase log: its month-to-month figures are the repeat rate, lapsed buyers and
        buyers (`glossary.figure_key`), not retention, churn and active customers.

    Returns
    -------
    (str, str or None)
        The label and the glossary's help text (None without an entry).
    """
    from analytics.business.glossary import TERMS, figure_key, help_text

    key = figure_key(key, not subscription)  # a purchase log: repeat rate, lapsed buyers, buyers
    term = next((t for t in TERMS if t.key == key), None)
    if term is None:
        return f"{fallback}, {month}", None
    return term.name.replace("<month>", month), help_text(key)


def headline(report: KPIReport, *, currency: str | None = None, labels: dict[str, str] | None = None) -> Headline:
    """The single most important change of the last complete period, as one sentence.

    Parameters
    ----------
    report : KPIs of the last complete period against the one before (`compute_kpis`).
    currency : ISO code for money figures (None: plain numbers).
    labels : names to use instead of the KPIs' own ({"churn_rate": "Churn"}, from the glossary).

    Returns
    -------
    Headline with the KPI key that leads (None when no KPI has a previous period to compare).
    """
    by_key = {k.key: k for k in report.kpis}
    best: KPI | None = None
    best_score = -1.0
    for key in HEADLINE_KEYS:
        kpi = by_key.get(key)
        if kpi is None or kpi.relative_change is None or kpi.value is None:
            continue
        if abs(kpi.relative_change) > best_score + 1e-12:
            best, best_score = kpi, abs(kpi.relative_change)
    period = period_name(report.current_period)
    previous = period_name(report.previous_period)
    if best is None:
        return Headline(None, None, f"**{period}**: no earlier period to compare with yet.")
    now = format_kpi(best, best.value, currency)
    before = format_kpi(best, best.previous, currency)
    label = (labels or {}).get(best.key, _name(best.key, report))  # the sentence names the period itself
    if best.unit == "share":
        lead = f"**{label} {_verb(best)} to {now} in {period}**, from {before} in {previous}"
        rel = best.relative_change or 0.0
        lead += f" ({abs(rel):.0%} {'higher' if rel > 0 else 'lower'})"
    else:
        lead = (
            f"**{label} {_verb(best)} {abs(best.relative_change or 0):.1%} in {period}**, "
            f"to {now} from {before} in {previous}"
        )
    others = []
    for key in ("active_customers", "revenue"):
        kpi = by_key.get(key)
        if kpi is None or kpi.key == best.key or kpi.value is None:
            continue
        change = format_change(kpi)
        others.append(
            f"{(labels or {}).get(kpi.key, _name(kpi.key, report)).lower()} {format_kpi(kpi, kpi.value, currency)}"
            + (f" ({change})" if change else "")
        )
    tail = f"; {' and '.join(others)}." if others else "."
    return Headline(best.key, best.relative_change, lead + tail)


@dataclass(frozen=True)
class Recommendation:
    """One action for page one of the brief: what to do, why, and the money it concerns.

    Attributes
    ----------
    action : str
        What to do.
    why : str
        Why, in one sentence.
    value : str
        The money it concerns, formatted.
    """

    action: str
    why: str
    value: str


def recommendations(
    *,
    top_value_at_stake: float | None,
    top_n: int,
    top_reason: str | None,
    save_first_customers: int | None,
    save_first_value: float | None,
    lift_text: str | None,
    profit_change: float | None,
    profit_change_pct: float | None,
    years: float | None,
    currency: str | None = None,
) -> list[Recommendation]:
    """The three recommended actions of the executive brief, each with its value at stake.

    1. Call the top of the action list (value at stake = sum of value x churn probability).
    2. Protect the save-first quadrant (high value, high risk) with a retention offer.
    3. Fund the retention lift the what-if tested (its extra profit over the horizon).

    An action the data cannot support (no scores, no what-if) is left out, never filled in.

    Parameters
    ----------
    top_value_at_stake : float or None
        Value at stake of the top of the action list (currency).
    top_n : int
        How many customers that top is.
    top_reason : str or None
        Why the first of them is there.
    save_first_customers, save_first_value : int or float or None
        Size and value of the save-first quadrant.
    lift_text : str or None
        The lift the what-if tested, in words.
    profit_change, profit_change_pct : float or None
        Its extra profit (currency, percent).
    years : float or None
        The what-if horizon.
    currency : str, optional
        ISO 4217 code of money.

    Returns
    -------
    list of Recommendation
        Up to three, in order.
    """
    out = []
    if top_value_at_stake is not None and top_n:
        why = f"They have the most value at stake of all current customers{'; ' + top_reason if top_reason else ''}."
        out.append(
            Recommendation(
                f"Call the top {top_n} customers on the action list this week",
                why,
                f"{money(top_value_at_stake, currency, decimals=0)} at stake",
            )
        )
    if save_first_customers and save_first_value is not None:
        out.append(
            Recommendation(
                f"Offer the {save_first_customers:,} high-value, high-risk customers a reason to stay",
                "Above-median value and above-median churn risk: the 'save first' group of the value x risk matrix.",
                f"{money(save_first_value, currency, decimals=0)} at stake",
            )
        )
    if profit_change is not None and lift_text:
        pct = "" if profit_change_pct is None else f" by {profit_change_pct:+.1f}%"
        out.append(
            Recommendation(
                f"Fund a programme that lifts retention by {lift_text}",
                f"The what-if on your numbers: profit over {years:g} years changes{pct} (discounted to today's money).",
                f"{money(profit_change, currency, decimals=0, signed=True)} profit",
            )
        )
    return out
