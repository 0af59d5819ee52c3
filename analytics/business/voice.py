"""Voice of the customer joined to behaviour and value: what customers say, what they do, what they are worth.

For every survey or support signal the customers table holds (NPS class, CSAT band, CES band,
support tickets, escalations, complaints) each group gets: customers, churn rate with its 95%
Wilson interval, median lifetime (Kaplan-Meier, months), mean and total customer value of its
current customers, and value at risk.

Definitions
-----------
- NPS classes (Reichheld 2003, "The one number you need to grow", HBR): promoter 9-10,
  passive 7-8, detractor 0-6. CSAT bands (1-5): satisfied 4-5 (the usual "CSAT" share),
  neutral 3, dissatisfied 1-2. CES bands (1-7, lower = easier): easy 1-3, neutral 4, hard 5-7.
- Churn rate: share of the group's customers with a known churn status who have left
  (the customers table's churn flag). The rise from promoter to detractor is the difference
  of two proportions with Newcombe's (1998) hybrid score interval (`analytics.business.experiment`).
- Customer value: the value per customer the caller passes (currency; the one customer-value
  definition), counted over current customers (those who have not left).
- Value at risk = sum over the group's current customers of value x churn probability
  (currency; `analytics.business.value.value_at_stake`, leavers count zero): the value expected
  to be lost if nothing is done, as in the Action list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.business.experiment import newcombe_interval, wilson_interval
from analytics.business.value import value_at_stake
from analytics.data.schema import (
    CES,
    CHURNED,
    COMPLAINTS,
    CSAT,
    CUSTOMER_ID,
    ESCALATIONS,
    NPS,
    TICKETS,
    CustomerData,
    DataError,
)
from analytics.models.survival import retention_curves, retention_inputs

NPS_CLASSES = ("promoter", "passive", "detractor")
SIGNALS: dict[str, str] = {
    NPS: "NPS class",
    CSAT: "CSAT band",
    CES: "CES band",
    TICKETS: "Support tickets",
    ESCALATIONS: "Escalations",
    COMPLAINTS: "Complaints",
}
ENABLING_COLUMNS = (
    "a customers table (customer id) with survey answers: 'nps' (0-10), 'csat' (1-5) or 'ces' (1-7), or support "
    "figures: 'support_tickets', 'escalations', 'complaints'; plus a 'churned' flag (or churn date) so churn can be "
    "compared between groups"
)


def nps_class(scores: pd.Series) -> pd.Series:
    """promoter (9-10), passive (7-8), detractor (0-6); blank where not answered (Reichheld 2003).

    Parameters
    ----------
    scores : pd.Series
        NPS answers 0..10.

    Returns
    -------
    pd.Series
        The class per customer.
    """
    s = pd.to_numeric(scores, errors="coerce")
    out = pd.Series(pd.NA, index=s.index, dtype=object)
    out[s >= 9] = "promoter"
    out[(s >= 7) & (s < 9)] = "passive"
    out[s <= 6] = "detractor"
    return out


def csat_band(scores: pd.Series) -> pd.Series:
    """satisfied (4-5), neutral (3), dissatisfied (1-2).

    Parameters
    ----------
    scores : pd.Series
        CSAT answers 1..5.

    Returns
    -------
    pd.Series
        The band per customer (blank where not answered).
    """
    s = pd.to_numeric(scores, errors="coerce")
    out = pd.Series(pd.NA, index=s.index, dtype=object)
    out[s >= 4] = "satisfied (4-5)"
    out[(s >= 3) & (s < 4)] = "neutral (3)"
    out[s < 3] = "dissatisfied (1-2)"
    return out


def ces_band(scores: pd.Series) -> pd.Series:
    """easy (1-3), neutral (4), hard (5-7); lower effort is better.

    Parameters
    ----------
    scores : pd.Series
        CES answers 1..7.

    Returns
    -------
    pd.Series
        The band per customer (blank where not answered).
    """
    s = pd.to_numeric(scores, errors="coerce")
    out = pd.Series(pd.NA, index=s.index, dtype=object)
    out[s <= 3] = "easy (1-3)"
    out[(s > 3) & (s < 5)] = "neutral (4)"
    out[s >= 5] = "hard (5-7)"
    return out


def count_band(counts: pd.Series, top: int = 3) -> pd.Series:
    """'0', '1', '2', '3+' (with `top` = 3) for ticket, escalation and complaint counts.

    Parameters
    ----------
    counts : pd.Series
        Counts per customer.
    top : int, default 3
        The open-ended top band.

    Returns
    -------
    pd.Series
        The band per customer.
    """
    s = pd.to_numeric(counts, errors="coerce")
    out = pd.Series(pd.NA, index=s.index, dtype=object)
    for k in range(top):
        out[s == k] = str(k)
    out[s >= top] = f"{top}+"
    return out


BANDS: dict[str, Callable[[pd.Series], pd.Series]] = {
    NPS: nps_class,
    CSAT: csat_band,
    CES: ces_band,
    TICKETS: count_band,
    ESCALATIONS: count_band,
    COMPLAINTS: count_band,
}
ORDER = {
    NPS: list(NPS_CLASSES),
    CSAT: ["satisfied (4-5)", "neutral (3)", "dissatisfied (1-2)"],
    CES: ["easy (1-3)", "neutral (4)", "hard (5-7)"],
}


@dataclass(frozen=True)
class ChurnRise:
    """Churn of detractors minus churn of promoters (shares 0..1) with its 95% Newcombe interval.

    Attributes
    ----------
    promoter_rate, detractor_rate : float
        Churn rates of the two groups.
    difference : float
        detractor_rate - promoter_rate.
    interval_95 : tuple of float
        Its 95% interval.
    ratio : float or None
        detractor_rate / promoter_rate (None when promoters never churn).
    """

    promoter_rate: float
    detractor_rate: float
    difference: float
    interval_95: tuple[float, float]
    ratio: float | None

    @property
    def sentence(self) -> str:
        lo, hi = self.interval_95
        times = f" ({self.ratio:.1f} times as often)" if self.ratio else ""
        return (
            f"Detractors left {self.detractor_rate:.0%} of the time and promoters {self.promoter_rate:.0%}: "
            f"{100 * self.difference:+.1f} points{times}, 95% interval {100 * lo:+.1f} to {100 * hi:+.1f} points."
        )


@dataclass(frozen=True)
class VoiceAnalysis:
    """What customers say joined to what they do and what they are worth.

    Attributes
    ----------
    available : dict of str to str
        The signals the data has ({column: label}).
    tables : dict of str to pd.DataFrame
        {column: one row per group: group, customers, answered share, churned, churn_rate,
        churn_low / churn_high (95% Wilson), median_lifetime_months, current, mean_value, total_value,
        value_at_risk (currency)}.
    churn_rise : ChurnRise or None
        Detractor minus promoter churn (None without NPS or churn flags).
    close_the_loop : pd.DataFrame
        Current detractors ranked by value at risk: customer_id, nps, value, churn_probability,
        value_at_risk (+ escalations / complaints where present).
    value_source : str
        Plain words for where the value comes from.
    notes : list of str
        Plain-word caveats (e.g. share of customers who answered).
    """

    available: dict[str, str]
    tables: dict[str, pd.DataFrame]
    churn_rise: ChurnRise | None
    close_the_loop: pd.DataFrame
    value_source: str
    notes: list[str] = field(default_factory=list)


def _group_table(
    groups: pd.Series,
    churned: pd.Series | None,
    months: pd.Series | None,
    value: pd.Series,
    risk: pd.Series,
    order: list[str] | None,
) -> pd.DataFrame:
    answered = groups.dropna()
    labels = order or sorted(answered.unique(), key=lambda g: (len(str(g)), str(g)))
    medians: dict[str, float] = {}
    if churned is not None and months is not None:
        frame = pd.DataFrame({"g": answered, "m": months.reindex(answered.index), "c": churned.reindex(answered.index)})
        frame = frame.dropna()
        if not frame.empty:
            curves = retention_curves(frame["m"], frame["c"].astype(bool), frame["g"].reset_index(drop=True))
            medians = dict(zip(curves.summary["group"], curves.summary["median_months"]))
    rows = []
    for label in labels:
        members = answered.index[answered == label]
        row: dict = {"group": label, "customers": int(len(members))}
        if churned is not None:
            known = churned.reindex(members).dropna().astype(bool)
            left = int(known.sum())
            row["churned"] = left
            row["churn_rate"] = left / len(known) if len(known) else np.nan
            row["churn_low"], row["churn_high"] = wilson_interval(left, len(known)) if len(known) else (np.nan, np.nan)
            current = members[~churned.reindex(members).fillna(False).astype(bool).to_numpy()]
        else:
            current = members
        med = medians.get(str(label))
        row["median_lifetime_months"] = float(med) if med is not None and pd.notna(med) else np.nan
        v = value.reindex(current).dropna()
        row["current"] = int(len(current))
        row["mean_value"] = float(v.mean()) if len(v) else np.nan
        row["total_value"] = float(v.sum())
        row["value_at_risk"] = float(value_at_stake(v, risk.reindex(v.index).fillna(0.0)).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def voice_signals(data: CustomerData) -> dict[str, str]:
    """The survey and support signals the data has.

    Parameters
    ----------
    data : CustomerData
        The dataset.

    Returns
    -------
    dict of str to str
        {column: label}.

    Raises
    ------
    DataError
        Naming the columns that would enable the voice analysis when there are none.
    """
    c = data.customers
    if c is None or not len(c):
        raise DataError(f"Voice of the customer needs {ENABLING_COLUMNS}. This data has only a purchase log.")
    available = {col: label for col, label in SIGNALS.items() if col in c.columns and c[col].notna().any()}
    if not available:
        raise DataError(f"Voice of the customer needs {ENABLING_COLUMNS}. None of these columns is in this data.")
    return available


def analyse_voice(
    data: CustomerData,
    *,
    value: pd.Series,
    risk: pd.Series,
    value_source: str = "",
) -> VoiceAnalysis:
    """Join survey and support signals to churn, lifetime and value.

    Parameters
    ----------
    data : CustomerData
        Needs a customers table with at least one of the SIGNALS columns.
    value : pd.Series
        Customer value per customer id (currency), from the customer-value definition.
    risk : pd.Series
        Churn probability per customer id (0..1), for value at risk.
    value_source : str
        Plain words for where `value` comes from (shown and reported).

    Returns
    -------
    VoiceAnalysis
        The joined view.

    Raises
    ------
    DataError
        Naming the columns that would enable it, when the data has none of the signals.
    """
    available = voice_signals(data)
    c = data.require_customers("Voice of the customer").drop_duplicates(CUSTOMER_ID)
    c = c.set_index(c[CUSTOMER_ID].astype(str))
    value = pd.Series(value, dtype=float).rename(index=str)
    risk = pd.Series(risk, dtype=float).rename(index=str)
    churned = c[CHURNED].astype("boolean") if CHURNED in c.columns and c[CHURNED].notna().any() else None
    months = None
    notes = []
    if churned is not None:
        try:
            inputs = retention_inputs(data, churned.dropna())
            months = inputs.set_index(inputs[CUSTOMER_ID].astype(str))["months"]
        except DataError as exc:
            notes.append(f"No median lifetime: {exc}")
    else:
        notes.append("The data has no churn flag, so churn rates and lifetimes per group are not shown.")
    tables = {col: _group_table(BANDS[col](c[col]), churned, months, value, risk, ORDER.get(col)) for col in available}
    rise = None
    if NPS in available and churned is not None:
        t = tables[NPS].set_index("group")
        if t.loc["promoter", "customers"] and t.loc["detractor", "customers"]:
            classes = nps_class(c[NPS])
            known = churned.dropna().astype(bool)
            pro = known.reindex(classes.index[classes == "promoter"]).dropna()
            det = known.reindex(classes.index[classes == "detractor"]).dropna()
            if len(pro) and len(det):
                lo, hi = newcombe_interval(int(det.sum()), len(det), int(pro.sum()), len(pro))
                p_rate, d_rate = float(pro.mean()), float(det.mean())
                rise = ChurnRise(p_rate, d_rate, d_rate - p_rate, (lo, hi), d_rate / p_rate if p_rate > 0 else None)
    if NPS in available:
        answered = float(c[NPS].notna().mean())
        if answered < 1:
            notes.append(
                f"{answered:.0%} of customers answered the NPS survey; the classes describe those who answered."
            )
    loop = _close_the_loop(c, churned, value, risk)
    return VoiceAnalysis(available, tables, rise, loop, value_source, notes)


def _close_the_loop(c: pd.DataFrame, churned: pd.Series | None, value: pd.Series, risk: pd.Series) -> pd.DataFrame:
    """Current detractors (NPS 0-6) ranked by value at risk, highest first."""
    columns = [CUSTOMER_ID, NPS, "value", "churn_probability", "value_at_risk"]
    if NPS not in c.columns:
        return pd.DataFrame(columns=columns)
    detractors = c.index[nps_class(c[NPS]) == "detractor"]
    if churned is not None:
        detractors = detractors[~churned.reindex(detractors).fillna(False).astype(bool).to_numpy()]
    out = pd.DataFrame(
        {
            CUSTOMER_ID: detractors,
            NPS: c.loc[detractors, NPS].astype(float).to_numpy(),
            "value": value.reindex(detractors).to_numpy(),
            "churn_probability": risk.reindex(detractors).to_numpy(),
        }
    )
    out["value_at_risk"] = value_at_stake(out["value"], out["churn_probability"])
    for col in (ESCALATIONS, COMPLAINTS):
        if col in c.columns:
            out[col] = c.loc[detractors, col].astype(float).to_numpy()
            columns.append(col)
    out = out.sort_values(["value_at_risk", "value"], ascending=False, na_position="last").reset_index(drop=True)
    return out[columns]
