"""Churn seen from three angles, and where they agree.

1. **Classifier** (`analytics.models.churn`): the churn model's probability of leaving. It needs
   a label (a churn column, or churn derived from a gap in purchases). Its AUC is out-of-fold.
2. **Purchase model** (the CLV section's chosen model: Pareto/NBD, Schmittlein, Morrison &
   Colombo 1987; BG/NBD, Fader, Hardie & Lee 2005; or MBG/NBD, Batislam et al. 2007): 1 - P(alive),
   for purchase logs. It needs no label, only repeat purchases. For a fair AUC on the classifier's
   derived label, the same model is fitted on the purchases up to the label's cutoff and P(alive)
   is taken at the cutoff, so it never sees the window the label is read from. (Plain BG/NBD gives
   every one-time buyer P(alive) = 1, so it ranks the likeliest leavers as the safest: on the CDNOW
   sample its AUC is 0.34 against 0.78 for Pareto/NBD; the default here is Pareto/NBD.)
3. **Survival** (Kaplan-Meier per segment, Kaplan & Meier 1958): the chance of leaving within
   the next `horizon_months` for a customer of this tenure and segment,
   1 - S_seg(t + h) / S_seg(t), for subscriptions (a customers table with tenure and a churn
   flag). It needs no per-customer model, only tenure and a segment; its AUC is in-sample (a
   few segment curves, little room to overfit).

Each angle flags the riskiest `flag_share` of current customers. The agreement matrix gives, for
each pair of angles, the share of the row angle's flagged customers that the column angle flags
too; `all_flag` are the customers every available angle flags. AUC (Hanley & McNeil 1982) is
scikit-learn's `roc_auc_score`, each angle on the same label and the same customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from analytics.business.churn_analysis import ChurnAnalysis
from analytics.data.schema import CHURNED, CUSTOMER_ID, ORDER_DATE, CustomerData, DataError
from analytics.engine.customer_days import CustomerDays, customer_days
from analytics.engine.id_positions import id_positions
from analytics.models.btyd import summarize_customers
from analytics.models.purchase import make_model
from analytics.models.survival import retention_curves, retention_inputs

CLASSIFIER, PALIVE, SURVIVAL = "classifier", "p_alive", "survival"
ANGLE_LABELS = {
    CLASSIFIER: "Churn model (classifier risk)",
    PALIVE: "Purchase model (1 - P(alive))",
    SURVIVAL: "Survival curve (hazard at this tenure and segment)",
}
DEFAULT_FLAG_SHARE = 0.20
DEFAULT_HORIZON_MONTHS = 3.0
MAX_SEGMENT_LEVELS = 8
MIN_SEGMENT_SIZE = 30


@dataclass(frozen=True)
class Angle:
    """One angle's view: risk per current customer and its AUC on the shared label.

    Attributes
    ----------
    name : str
        The angle.
    risk : pd.Series
        0..1 indexed by customer id, current customers (higher = more likely to leave).
    auc : float or None
        ROC AUC on the label (None when there is no label).
    n_auc : int
        Customers it is measured on.
    basis : str
        How the risk is computed, in words.
    """

    name: str
    risk: pd.Series
    auc: float | None
    n_auc: int
    basis: str


@dataclass(frozen=True)
class ChurnAngles:
    """The angles, their flags, the agreement matrix and the advice.

    Attributes
    ----------
    angles : dict of str to Angle
        The angles this data supports.
    unavailable : dict of str to str
        {name: reason in words} for the others.
    flags : pd.DataFrame
        Index customer id (current customers scored by every angle): one boolean column per angle
        (True = among its riskiest `flag_share`).
    agreement : pd.DataFrame
        Angle x angle: share of the row angle's flagged customers that the column angle flags too
        (diagonal 1).
    all_flag : pd.Index
        Customer ids flagged by every available angle.
    advice : str
        Which angle to trust for this data and why, in words.
    label : str
        The label the AUCs are measured on, in words.
    flag_share : float
        Share of current customers each angle flags.
    notes : list of str
        Plain-word caveats.
    """

    angles: dict[str, Angle]
    unavailable: dict[str, str]
    flags: pd.DataFrame
    agreement: pd.DataFrame
    all_flag: pd.Index
    advice: str
    label: str
    flag_share: float = DEFAULT_FLAG_SHARE
    notes: list[str] = field(default_factory=list)


def _auc(y: pd.Series, score: pd.Series) -> tuple[float | None, int]:
    # the customers in both with a label and a score (AUC does not depend on their order)
    s = score.reindex(y.index).to_numpy(dtype=float, na_value=np.nan)
    known = y.notna().to_numpy() & ~np.isnan(s)
    labels = y[known].astype(bool).to_numpy()
    if not known.any() or len(np.unique(labels)) < 2:
        return None, int(known.sum())
    return float(roc_auc_score(labels, s[known])), int(known.sum())


def _auc_of(churned: np.ndarray, score: np.ndarray) -> tuple[float | None, int]:
    """`_auc` on arrays already aligned: labels (bool) and scores (NaN = none) of the same customers."""
    known = ~np.isnan(score)
    labels = churned[known]
    if not known.any() or len(np.unique(labels)) < 2:
        return None, int(known.sum())
    return float(roc_auc_score(labels, score[known])), int(known.sum())


class _Scored:
    """The churn model's customers (distinct ids) as positions: other per-customer series aligned on
    them by the customer-day table's codes (`analytics.engine.id_positions`: the purchase model's
    customers and the churn scores list the table's customers in its two orders), else by one hash
    table of these ids, built once (`Series.reindex` builds one per call)."""

    def __init__(self, ids: pd.Index, table: CustomerDays | None = None) -> None:
        self.ids = ids
        self.table = table

    def positions(self, ids: pd.Index) -> np.ndarray:
        """Position of each of `ids` among the scored customers' (-1 where it is not one)."""
        return id_positions(self.ids, ids, self.table)

    def values(self, series: pd.Series) -> np.ndarray:
        """`series.reindex(scored ids)` as float values (NaN for a customer it lacks); an id of a scored
        customer twice is refused, as reindex refuses duplicate ids."""
        out = np.full(len(self.ids), np.nan)
        where = self.positions(series.index)
        found = where >= 0
        if np.bincount(where[found], minlength=len(self.ids)).max(initial=0) > 1:  # as reindex refuses
            raise ValueError("cannot reindex on an axis with duplicate labels")
        out[where[found]] = series.to_numpy(dtype=float, na_value=np.nan)[found]
        return out


def _riskiest(risk: np.ndarray, k: int) -> np.ndarray:
    """True for the first `k` of `risk` sorted from highest to lowest, ties in their order, blanks
    last: the top of `Series.sort_values(ascending=False, kind="stable")`, without the sort (the
    k-th highest value by partition, then the ties at it in order)."""
    flagged = np.zeros(len(risk), dtype=bool)
    known = ~np.isnan(risk)
    n_known = int(known.sum())
    if k >= n_known:
        flagged[known] = True
        flagged[np.flatnonzero(~known)[: k - n_known]] = True
        return flagged
    values = risk[known]
    kth = np.partition(values, n_known - k)[n_known - k]
    flagged[risk > kth] = True
    ties = np.flatnonzero(risk == kth)
    flagged[ties[: k - int(flagged.sum())]] = True
    return flagged


def _flags(angles: dict[str, Angle], on_scored: dict[str, np.ndarray], flag_share: float) -> pd.DataFrame:
    """The customers every angle scores (in the first angle's order), each angle's riskiest
    `flag_share` of them flagged; by position among the scored customers when every angle's are known."""
    views = list(angles.values())
    placed = set(on_scored) == set(angles) and all((p >= 0).all() for p in on_scored.values())
    if not placed:  # not every angle (or customer) placed among the scored customers
        common = views[0].risk.index
        for angle in views[1:]:
            common = common.intersection(angle.risk.index)
        risks = [angle.risk.reindex(common).to_numpy(dtype=float) for angle in views]
    else:
        size = 1 + max(int(p.max(initial=-1)) for p in on_scored.values())
        in_all = np.ones(size, dtype=bool)
        values = {}
        for name in angles:
            where = on_scored[name]
            present = np.zeros(size, dtype=bool)
            present[where] = True
            in_all &= present
            values[name] = np.full(size, np.nan)
            values[name][where] = angles[name].risk.to_numpy(dtype=float)
        first = on_scored[views[0].name]
        kept = in_all[first]
        common = views[0].risk.index[kept]
        order = first[kept]
        risks = [values[name][order] for name in angles]
    flags = pd.DataFrame(index=common)
    k = max(1, int(round(flag_share * len(common))))
    for name, risk in zip(angles, risks):
        flags[name] = _riskiest(risk, k)
    return flags


def _step_lookup(months: np.ndarray, retention: np.ndarray, t: np.ndarray) -> np.ndarray:
    """S(t) of a Kaplan-Meier step curve given at its event times (1 before the first)."""
    idx = np.searchsorted(months, t, side="right") - 1
    return np.where(idx >= 0, retention[np.clip(idx, 0, None)], 1.0)


def survival_segment(analysis: ChurnAnalysis) -> str | None:
    """The classifier's most important text attribute with 2..8 levels of >= 30 customers each.

    Parameters
    ----------
    analysis : ChurnAnalysis
        The churn model's analysis.

    Returns
    -------
    str or None
        The column; None when no attribute qualifies.
    """
    X = analysis.features.X
    for column in analysis.model.importances_["feature"]:
        if column not in X.columns or pd.api.types.is_numeric_dtype(X[column]):
            continue
        counts = X[column].value_counts()
        if 2 <= len(counts) <= MAX_SEGMENT_LEVELS and counts.min() >= MIN_SEGMENT_SIZE:
            return str(column)
    return None


def survival_risk(
    data: CustomerData, churned: pd.Series, segment: pd.Series | None, horizon_months: float
) -> pd.Series:
    """1 - S_seg(t + h) / S_seg(t) per customer with a tenure t (months) and known churn status.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    churned : pd.Series
        Churn status per customer id.
    segment : pd.Series, optional
        Group per customer (one Kaplan-Meier curve per group).
    horizon_months : float
        h, the look-ahead.

    Returns
    -------
    pd.Series
        Risk 0..1 per customer.
    """
    inputs = retention_inputs(data, churned)
    ids = inputs[CUSTOMER_ID].astype(str).to_numpy()
    groups = None if segment is None else segment.reindex(ids).astype(object).fillna("(blank)").reset_index(drop=True)
    curves = retention_curves(inputs["months"], inputs["churned"], groups)
    t = inputs["months"].to_numpy(dtype=float)
    labels = np.full(len(ids), "All customers", dtype=object) if groups is None else groups.to_numpy()
    risk = np.full(len(ids), np.nan)
    for label, curve in curves.curves.groupby("group"):
        curve = curve.sort_values("months")
        members = labels == label
        m, s = curve["months"].to_numpy(float), curve["retention"].to_numpy(float)
        now = _step_lookup(m, s, t[members])
        later = _step_lookup(m, s, t[members] + horizon_months)
        risk[members] = np.where(now > 0, 1 - later / np.where(now > 0, now, 1), 1.0)
    return pd.Series(np.clip(risk, 0, 1), index=ids, name="risk")


def _purchases_to(transactions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The purchases dated on or before `cutoff` (midnight) as `p_alive_at` needs them.

    `p_alive_at` ignores purchases after its day, so the whole frame serves (and its cached
    customer-day table is reused: filtering first built a second table, the largest cost and
    memory of this angle at millions of purchases) unless a purchase falls on the cutoff day
    after midnight; then the frame is filtered as before.
    """
    dates = transactions[ORDER_DATE]
    late_on_cutoff_day = (dates > cutoff) & (dates < cutoff + pd.Timedelta(days=1))
    return transactions[dates <= cutoff] if late_on_cutoff_day.any() else transactions


def p_alive_at(
    transactions: pd.DataFrame, as_of: pd.Timestamp, model_name: str = "pareto_nbd", time_unit: str = "W"
) -> pd.Series:
    """P(alive) per customer as of `as_of` from `model_name`, fitted on the purchases up to that day only.

    Parameters
    ----------
    transactions : pd.DataFrame
        Canonical transactions.
    as_of : pd.Timestamp
        The day.
    model_name : str, default 'pareto_nbd'
        The purchase model.
    time_unit : str, default 'W'
        Its time unit.

    Returns
    -------
    pd.Series
        0..1 per customer id.
    """
    summary = summarize_customers(transactions, observation_end=as_of, time_unit=time_unit)
    return pd.Series(fitted_p_alive(summary, model_name, time_unit), index=summary.index.astype(str), name="p_alive")


def fitted_p_alive(summary: pd.DataFrame, model_name: str = "pareto_nbd", time_unit: str = "W") -> np.ndarray:
    """P(alive) of every summary row from `model_name` fitted on these rows.

    Needs only frequency, recency and T (small to send: the report runs it on its worker process).

    Parameters
    ----------
    summary : pd.DataFrame
        Per-customer frequency, recency and T in `time_unit` (`summarize_customers`).
    model_name, time_unit : str
        The purchase model and its time unit (as `p_alive_at`).

    Returns
    -------
    np.ndarray
        0..1, one per row.
    """
    return make_model(model_name, time_unit=time_unit).fit(summary).p_alive(summary)


def cutoff_summary(data: CustomerData, analysis: ChurnAnalysis | None) -> pd.DataFrame | None:
    """The per-customer summary the purchase-model angle fits at the derived label's cutoff.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    analysis : ChurnAnalysis or None
        The churn model's analysis.

    Returns
    -------
    pd.DataFrame or None
        `summarize_customers` to the cutoff (weeks), as `churn_angles` fits it; None when the angle
        reads no P(alive) at a cutoff (no purchases, or a churn column instead of a derived label).
    """
    if not data.has_transactions or analysis is None or analysis.derived is None:
        return None
    cutoff = analysis.derived.cutoff
    tx = _purchases_to(data.require_transactions("The purchase model's angle"), cutoff)
    return summarize_customers(tx, observation_end=cutoff, time_unit="W")


def churn_angles(
    data: CustomerData,
    analysis: ChurnAnalysis | None,
    *,
    p_alive_now: pd.Series | None = None,
    purchase_model: str = "pareto_nbd",
    p_alive_cutoff: pd.Series | None = None,
    flag_share: float = DEFAULT_FLAG_SHARE,
    horizon_months: float = DEFAULT_HORIZON_MONTHS,
) -> ChurnAngles:
    """The three angles on one dataset, their AUCs on the same label, agreement and advice.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    analysis : ChurnAnalysis or None
        The churn model's analysis (None when no churn model can be fitted).
    p_alive_now : pd.Series, optional
        The purchase model's P(alive) today per customer id (the shared CLV fit); used to flag
        current customers. None: refitted here on all purchases.
    purchase_model : str
        Name of the purchase model ('pareto_nbd', 'bg_nbd', 'mbg_nbd'): the CLV section's chosen
        model, refitted up to the label's cutoff for the AUC.
    p_alive_cutoff : pd.Series, optional
        That refit's P(alive) at the cutoff per customer id when computed elsewhere (from
        `cutoff_summary` and `fitted_p_alive`, e.g. on the report's worker process). None: fitted here.
    flag_share : float
        Share of current customers each angle flags (its riskiest).
    horizon_months : float
        Look-ahead of the survival angle.

    Returns
    -------
    ChurnAngles
        The comparison.

    Raises
    ------
    DataError
        When fewer than two angles can be computed (nothing to compare).
    """
    angles: dict[str, Angle] = {}
    unavailable: dict[str, str] = {}
    notes: list[str] = []
    y = None
    label = "no label"
    current = None
    # where each angle's customers are among the scored ones (positions): the angles are aligned,
    # intersected and flagged on those, not by their millions of text ids (`_Scored`)
    on_scored: dict[str, np.ndarray] = {}
    if analysis is not None:
        scored = analysis.scores.set_index(analysis.scores[CUSTOMER_ID].astype(str))
        # the purchases' customer-day table (built by then), when the scores are its customers'
        purchases = data.has_transactions and analysis.source == "purchases"
        table = customer_days(data.require_transactions()) if purchases else None
        index = _Scored(scored.index, table)
        churned = scored[CHURNED].astype("boolean")
        labelled = np.flatnonzero(churned.notna().to_numpy())
        y = churned.iloc[labelled]
        y_churned = y.to_numpy(dtype=bool)
        label = analysis.target
        in_current = np.flatnonzero(scored["active"].astype(bool).to_numpy())
        current = scored.index[in_current]
        oof = scored["oof_probability"].to_numpy(dtype=float, na_value=np.nan)
        auc, n = _auc_of(y_churned, oof[labelled])
        # every angle on the same customers: those with an out-of-fold score (all, or the churn
        # model's cross-validation sample on large data)
        with_oof = ~np.isnan(oof[labelled])
        y, y_churned, labelled = y[with_oof], y_churned[with_oof], labelled[with_oof]
        angles[CLASSIFIER] = Angle(
            CLASSIFIER,
            pd.Series(
                scored["churn_probability"].to_numpy(dtype=float)[in_current], index=current, name="churn_probability"
            ),
            auc,
            n,
            "the churn model's probability of leaving (out-of-fold for the AUC)",
        )
        on_scored[CLASSIFIER] = in_current
    else:
        unavailable[CLASSIFIER] = "no churn label: the classifier needs a churn column or a purchase log to derive one"

    # purchase model: purchase logs (non-contractual), not subscriptions that record who left
    subscription = data.has_column(CHURNED) and analysis is not None and analysis.source == "column"
    if not data.has_transactions:
        unavailable[PALIVE] = "no purchase log: P(alive) is read from the rhythm of repeat purchases"
    elif subscription:
        unavailable[PALIVE] = (
            "this business records who left (a churn column), so leaving is known, not guessed from silence; "
            "P(alive) is for purchase logs where customers leave without telling"
        )
    else:
        try:
            auc, n = None, 0
            if analysis is not None and analysis.derived is not None:
                at_cutoff = p_alive_cutoff
                if at_cutoff is None:
                    cutoff = analysis.derived.cutoff
                    tx = _purchases_to(data.require_transactions("The purchase model's angle"), cutoff)
                    at_cutoff = p_alive_at(tx, cutoff, purchase_model)
                if y is not None:
                    auc, n = _auc_of(y_churned, index.values(1 - pd.Series(at_cutoff, dtype=float))[labelled])
            if p_alive_now is None:
                tx = data.require_transactions("The purchase model's angle")
                p_alive_now = p_alive_at(tx, data.observation_end, purchase_model)
            now = p_alive_now
            now = pd.Series(now, dtype=float)
            now.index = now.index.astype(str)  # as rename(index=str), without a Python call per customer
            if current is not None:  # `(1 - now).reindex(current).dropna()`, by position
                risk_now = index.values(1 - now)[in_current]
                known = ~np.isnan(risk_now)
                risk = pd.Series(risk_now[known], index=current[known], name=now.name)
                on_scored[PALIVE] = in_current[known]
            else:
                risk = (1 - now).dropna()
            angles[PALIVE] = Angle(
                PALIVE,
                risk,
                auc,
                n,
                f"1 - P(alive) of the {purchase_model} purchase model (for the AUC: fitted on purchases up to the "
                "label's cutoff, read at the cutoff)",
            )
        except DataError as exc:
            unavailable[PALIVE] = str(exc)

    if not subscription:
        unavailable[SURVIVAL] = (
            "needs a subscription: a customers table with a churn flag and a tenure or signup date "
            "(a purchase log's first-to-last span is not a lifetime)"
        )
    elif analysis is not None and y is not None:
        segment_col = survival_segment(analysis)
        segment = None
        if segment_col is not None:
            segment = analysis.features.X[segment_col].rename(index=str)
        try:
            risk = survival_risk(data, churned.dropna(), segment, horizon_months)
            auc, n = _auc(y, risk)
            name = analysis.features.display.get(segment_col, segment_col) if segment_col else "everyone together"
            angles[SURVIVAL] = Angle(
                SURVIVAL,
                risk.reindex(current).dropna(),
                auc,
                n,
                f"chance of leaving in the next {horizon_months:g} months at the customer's tenure, from the "
                f"Kaplan-Meier curve of their segment ({name}; in-sample AUC)",
            )
        except DataError as exc:
            unavailable[SURVIVAL] = str(exc)

    if len(angles) < 2:
        missing = "; ".join(f"{ANGLE_LABELS[k]}: {v}" for k, v in unavailable.items())
        raise DataError(f"Churn from several angles needs at least two of them; this data supports one. {missing}.")

    if analysis is not None and SURVIVAL in angles:
        on_scored[SURVIVAL] = index.positions(angles[SURVIVAL].risk.index)
    flags = _flags(angles, on_scored, flag_share)
    names = list(angles)
    agreement = pd.DataFrame(index=names, columns=names, dtype=float)
    for a in names:
        for b in names:
            agreement.loc[a, b] = float((flags[a] & flags[b]).sum() / max(1, flags[a].sum()))
    all_flag = flags.index[flags.all(axis=1).to_numpy()]  # a mask, not a Series (np.asarray of one hashes its ids)
    advice = _advice(angles, unavailable, analysis)
    if PALIVE in angles and purchase_model == "bg_nbd":
        notes.append(
            "The purchase model chosen on the holdout is BG/NBD, which gives every customer who bought only once "
            "P(alive) = 1: as a churn angle it ranks one-time buyers, the likeliest leavers, as the safest. Read its "
            "flags for repeat buyers only."
        )
        advice += " " + notes[-1]
    return ChurnAngles(angles, unavailable, flags, agreement, all_flag, advice, label, flag_share, notes)


def _advice(angles: dict[str, Angle], unavailable: dict[str, str], analysis: ChurnAnalysis | None) -> str:
    measured = {k: a.auc for k, a in angles.items() if a.auc is not None}
    best = max(measured, key=lambda k: measured[k]) if measured else None
    parts = []
    if best is not None:
        ranking = ", ".join(
            f"{ANGLE_LABELS[k].split(' (')[0]} {v:.2f}" for k, v in sorted(measured.items(), key=lambda kv: -kv[1])
        )
        parts.append(f"On this data's label the ROC AUCs are: {ranking}.")
    if CLASSIFIER in angles and analysis is not None and analysis.source == "column":
        parts.append(
            "Trust the churn model first: your data records who left, so it learns from real outcomes and uses every "
            "attribute; the survival curve is the simpler cross-check (it knows only tenure and one segment) and is "
            "the better guide for when in a customer's life leaving happens."
        )
    elif PALIVE in angles and CLASSIFIER in angles:
        lead = "the purchase model" if best == PALIVE else "the churn model"
        parts.append(
            f"Here nobody announces leaving, so both angles guess it from silence; {lead} ranks leavers better on the "
            "held-out window. The purchase model needs repeat buyers and no label and works for one-time buyers too; "
            "the churn model depends on the no-purchase window chosen for its label."
        )
    parts.append("Customers flagged by every angle are the safest bet for a retention call.")
    return " ".join(parts)
