"""RFM scores and named segments, the value x risk matrix, and k-means personas.

RFM (Hughes, "Strategic Database Marketing", 1994): each customer gets three scores 1-5 by
quintile: R from `days_since_last_purchase` (fewer days = 5), F from `orders` (more = 5), M from
`revenue` (total spend, more = 5). We never call the first one "recency": in this project that
name is reserved for the BTYD summary (first to last purchase).

Ties: score = 1 + floor(5 x share of customers with a strictly worse value). Customers with
equal values always get equal scores (rank(method="first") would split identical customers
across scores by row order); the price is that heavily tied data (e.g. 60% one-time buyers) fills
the quintiles unevenly: all one-time buyers get F = 1 and the next value starts higher.

Named segments follow the widely used R x F segment map (the "RFM segments" grid popularised by
Putler and the open-source `rfm` packages), folded to eight names:

    F ->   1        2        3        4        5
    R=5    New      Pot.L    Pot.L    Champ    Champ
    R=4    New      Pot.L    Pot.L    Loyal    Loyal
    R=3    Hib      Hib      Pot.L    Loyal    Loyal
    R=2    Hib      Hib      AtRisk   AtRisk   Can't
    R=1    Lost     Lost     AtRisk   AtRisk   Can't

(Pot.L = Potential loyalists, Hib = Hibernating, Can't = Can't lose them.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from analytics.data.schema import (
    CHURN_DATE,
    CHURNED,
    CUSTOMER_ID,
    SIGNUP_DATE,
    CustomerData,
    DataError,
)
from analytics.engine.customer_days import customer_days
from analytics.engine.memo import LastResult
from analytics.models.btyd import to_day_number

CHAMPIONS = "Champions"
LOYAL = "Loyal"
POTENTIAL_LOYALISTS = "Potential loyalists"
NEW = "New"
AT_RISK = "At risk"
CANT_LOSE = "Can't lose them"
HIBERNATING = "Hibernating"
LOST = "Lost"
SEGMENTS: tuple[str, ...] = (CHAMPIONS, LOYAL, POTENTIAL_LOYALISTS, NEW, AT_RISK, CANT_LOSE, HIBERNATING, LOST)

# SEGMENT_GRID[r - 1][f - 1]
_P, _H = POTENTIAL_LOYALISTS, HIBERNATING
SEGMENT_GRID: tuple[tuple[str, ...], ...] = (
    (LOST, LOST, AT_RISK, AT_RISK, CANT_LOSE),  # R = 1
    (_H, _H, AT_RISK, AT_RISK, CANT_LOSE),  # R = 2
    (_H, _H, _P, LOYAL, LOYAL),  # R = 3
    (NEW, _P, _P, LOYAL, LOYAL),  # R = 4
    (NEW, _P, _P, CHAMPIONS, CHAMPIONS),  # R = 5
)

SEGMENT_ADVICE: dict[str, str] = {
    CHAMPIONS: "Bought recently and often: reward them, ask for reviews and referrals.",
    LOYAL: "Buy often: offer loyalty perks and upsell.",
    POTENTIAL_LOYALISTS: "Recent customers with a few orders: a membership or second-order offer.",
    NEW: "First purchase recently: onboard them well so they come back.",
    AT_RISK: "Bought often but not lately: reach out personally before they go.",
    CANT_LOSE: "Your most frequent buyers have gone quiet: win them back first.",
    HIBERNATING: "Low and long ago: cheap reactivation only.",
    LOST: "Lowest recency and frequency: do not spend much on them.",
}


def quintile_score(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Score 1-5: 1 + floor(5 x share of customers with a strictly worse value).

    Equal values always get equal scores. With 5 or more customers and no ties the best gets 5.

    Parameters
    ----------
    values : pd.Series
        One value per customer.
    higher_is_better : bool, default True
        Whether a higher value is better.

    Returns
    -------
    pd.Series
        int scores 1..5, aligned with `values`.

    Raises
    ------
    DataError
        When a value is missing.
    """
    v = pd.Series(values, dtype="float64")
    if v.isna().any():
        raise DataError("RFM scores need a value for every customer.")
    n = len(v)
    worse = _strictly_worse(v.to_numpy(), higher_is_better)  # customers strictly worse
    return pd.Series(1 + np.floor(5 * worse / n), index=v.index).clip(1, 5).astype(int)


def _strictly_worse(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Per value, how many values are strictly worse: `rank(method="min", ascending=higher_is_better) - 1`
    as float64, from one sort of the values and their distinct counts (pandas' rank took 1 CPU s per
    column at 2M customers, this 0.25 s)."""
    _, where, counts = np.unique(values if higher_is_better else -values, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - counts).astype(np.float64)[where.reshape(-1)]


def rfm_table(transactions: pd.DataFrame, *, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per-customer RFM values, scores and segment.

    Parameters
    ----------
    transactions : DataFrame with customer_id, order_date, amount (optional order_id)
    as_of : date, default the last order date
        "Today" for `days_since_last_purchase`.

    Returns
    -------
    DataFrame indexed by customer_id: days_since_last_purchase (days), orders (count),
    revenue (currency, total spend), r_score, f_score, m_score (1-5), rfm (e.g. "545"), segment.
    The last table is kept (one entry, `analytics.engine.memo.LastResult`, keyed on the purchases
    frame itself): the report's segments and actions sections read the same one. Callers must not
    modify it.
    """
    if transactions is None or len(transactions) == 0:
        raise DataError("RFM segments need purchases (customer id, order date, amount); this data has none.")
    key = (len(transactions), None if as_of is None else pd.Timestamp(as_of))
    return _LAST_RFM.get_or_compute(transactions, key, lambda: _rfm_table(transactions, as_of))


_LAST_RFM: LastResult[pd.DataFrame] = LastResult("RFM table")
"""The last RFM table, keyed on its purchases frame (held weakly, compared by identity), its length and `as_of`."""


def remember_rfm_table(transactions: pd.DataFrame, as_of: pd.Timestamp | None, table: pd.DataFrame) -> None:
    """Keep `table` as `rfm_table(transactions, as_of)` from now on.

    For a table computed earlier from the same purchases and kept elsewhere (the app's cache hands
    out a copy of it): the functions that read the RFM table (`persona_features`, the action list)
    then use it instead of computing it again.

    Parameters
    ----------
    transactions : pd.DataFrame
        The purchases it was computed from.
    as_of : pd.Timestamp or None
        Its "today", as given to `rfm_table`.
    table : pd.DataFrame
        `rfm_table(transactions, as_of)`'s result.
    """
    _LAST_RFM.put(transactions, (len(transactions), None if as_of is None else pd.Timestamp(as_of)), table)


def _rfm_table(transactions: pd.DataFrame, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """`rfm_table` computed (not cached)."""
    table = customer_days(transactions)  # orders counted on their first day, integer customer codes
    has_order = table.orders > 0
    code, day = table.customer[has_order], table.day[has_order]
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    ends = np.r_[starts[1:], len(code)] - 1
    as_of_day = int(day.max()) if as_of is None else to_day_number(pd.Timestamp(as_of).normalize())
    by_id = table.by_id(code[starts])
    out = pd.DataFrame(
        {
            "days_since_last_purchase": (as_of_day - day[ends].astype(np.int64))[by_id],  # int64, as before
            "orders": np.add.reduceat(table.orders[has_order], starts)[by_id],
            "revenue": np.add.reduceat(table.order_spend[has_order], starts)[by_id],
        },
        index=pd.Index(table.customer_ids[code[starts][by_id]], name=CUSTOMER_ID),
    )
    return rfm_scores(out)


def rfm_scores(values: pd.DataFrame) -> pd.DataFrame:
    """Scores, code and segment from per-customer RFM values (wherever they were computed).

    Parameters
    ----------
    values : pd.DataFrame
        Indexed by customer_id: days_since_last_purchase (days), orders (count), revenue (currency).

    Returns
    -------
    pd.DataFrame
        `values` with r_score, f_score, m_score (1-5), rfm (e.g. "545") and segment added.
    """
    out = values.copy()
    out["r_score"] = quintile_score(out["days_since_last_purchase"], higher_is_better=False)
    out["f_score"] = quintile_score(out["orders"])
    out["m_score"] = quintile_score(out["revenue"])
    # "545": looked up among the 125 codes (joining millions of small strings took seconds)
    digits = 25 * out["r_score"].to_numpy() + 5 * out["f_score"].to_numpy() + out["m_score"].to_numpy() - 31
    out["rfm"] = pd.Series(_RFM_CODES[digits], index=out.index)
    out["segment"] = segment_names(out["r_score"], out["f_score"])
    return out


_RFM_CODES = np.array([f"{r}{f}{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)], dtype=object)
"""The RFM code of scores (r, f, m) at position 25 (r - 1) + 5 (f - 1) + (m - 1)."""


def segment_names(r_score: pd.Series, f_score: pd.Series) -> pd.Series:
    """Named segment from R and F scores (SEGMENT_GRID), as an ordered categorical.

    Parameters
    ----------
    r_score, f_score : pd.Series
        Recency and frequency scores 1..5.

    Returns
    -------
    pd.Series
        Segment names in SEGMENTS order.
    """
    r = np.asarray(r_score, dtype=int) - 1
    f = np.asarray(f_score, dtype=int) - 1
    grid = np.array(SEGMENT_GRID, dtype=object)
    names = grid[r, f]
    return pd.Series(
        pd.Categorical(names, categories=list(SEGMENTS), ordered=True), index=getattr(r_score, "index", None)
    )


def segment_summary(rfm: pd.DataFrame, clv: pd.Series | None = None) -> pd.DataFrame:
    """Size, revenue and mean CLV per named segment (all eight segments, in SEGMENTS order).

    Parameters
    ----------
    rfm : pd.DataFrame
        `rfm_table` output.
    clv : pd.Series, optional
        Lifetime value by customer_id.

    Returns
    -------
    pd.DataFrame
        Indexed by segment: customers, customer_share (0..1), revenue (currency), revenue_share
        (0..1), mean_days_since_last_purchase, mean_orders, mean_clv (currency, NaN without `clv`),
        advice.
    """
    out = _per_group(
        rfm,
        "segment",
        SEGMENTS,
        revenue=("revenue", "sum"),
        mean_days_since_last_purchase=("days_since_last_purchase", "mean"),
        mean_orders=("orders", "mean"),
    )
    out["revenue"] = out["revenue"].fillna(0.0)
    out["customer_share"] = out["customers"] / max(len(rfm), 1)
    total = out["revenue"].sum()
    out["revenue_share"] = out["revenue"] / total if total > 0 else 0.0
    if clv is not None:
        joined = rfm[["segment"]].join(clv.rename("clv"), how="left")
        out["mean_clv"] = joined.groupby("segment", observed=False)["clv"].mean().reindex(out.index)
    else:
        out["mean_clv"] = np.nan
    out["advice"] = [SEGMENT_ADVICE[s] for s in out.index]
    return out


def _per_group(frame: pd.DataFrame, by: str, order: Sequence[str], **aggregations: tuple[str, str]) -> pd.DataFrame:
    """customers per group plus named aggregations, one row per group in `order` (empty groups 0)."""
    out = frame.groupby(by, observed=False).agg(customers=(by, "size"), **aggregations).reindex(list(order))
    out["customers"] = out["customers"].fillna(0).astype(int)
    out.index.name = by
    return out


# --------------------------------------------------------------------------------------------
# Value x risk
# --------------------------------------------------------------------------------------------

SAVE_FIRST = "Save first"
KEEP_CLOSE = "Keep close"
LOW_COST_SAVE = "Low-cost save"
LOW_PRIORITY = "Low priority"
QUADRANT_ADVICE: dict[str, str] = {
    SAVE_FIRST: "High value and high churn risk: personal outreach now.",
    KEEP_CLOSE: "High value, low risk: keep them happy, upsell carefully.",
    LOW_COST_SAVE: "Low value, high risk: automated, cheap retention only.",
    LOW_PRIORITY: "Low value, low risk: no special action.",
}


@dataclass(frozen=True)
class ValueRisk:
    """Customers placed in a value x risk matrix.

    Attributes
    ----------
    customers : pd.DataFrame
        Indexed by customer_id: clv (currency), churn_probability (0..1), value_at_stake
        (= clv x churn_probability, currency), high_value, high_risk (bool) and quadrant.
    value_threshold, risk_threshold : float
        The splits, in the same units (medians unless given).
    """

    customers: pd.DataFrame
    value_threshold: float
    risk_threshold: float

    def summary(self) -> pd.DataFrame:
        """Per quadrant: customers, total clv, value_at_stake, mean churn_probability, advice.

        Returns
        -------
        pd.DataFrame
            One row per quadrant.
        """
        out = _per_group(
            self.customers,
            "quadrant",
            tuple(QUADRANT_ADVICE),
            clv=("clv", "sum"),
            value_at_stake=("value_at_stake", "sum"),
            mean_churn_probability=("churn_probability", "mean"),
        )
        out["advice"] = list(QUADRANT_ADVICE.values())
        return out


def value_risk_matrix(
    clv: pd.Series,
    churn_probability: pd.Series,
    *,
    value_threshold: float | None = None,
    risk_threshold: float | None = None,
) -> ValueRisk:
    """Place customers by CLV (currency) and churn probability (0..1).

    Split at the medians or at the given thresholds; "Save first" = value >= threshold and
    risk >= threshold.

    Parameters
    ----------
    clv : pd.Series
        Lifetime value by customer_id.
    churn_probability : pd.Series
        Churn risk by customer_id.
    value_threshold, risk_threshold : float, optional
        The splits (default: the medians).

    Returns
    -------
    ValueRisk
        The matrix.
    """
    df = pd.concat([clv.rename("clv"), churn_probability.rename("churn_probability")], axis=1, join="inner").dropna()
    if df.empty:
        raise DataError("No customer has both a CLV and a churn probability.")
    if ((df["churn_probability"] < 0) | (df["churn_probability"] > 1)).any():
        raise DataError("Churn probabilities must lie between 0 and 1.")
    vt = float(df["clv"].median()) if value_threshold is None else float(value_threshold)
    rt = float(df["churn_probability"].median()) if risk_threshold is None else float(risk_threshold)
    df["value_at_stake"] = df["clv"] * df["churn_probability"]
    df["high_value"] = df["clv"] >= vt
    df["high_risk"] = df["churn_probability"] >= rt
    quadrant = np.select(
        [df["high_value"] & df["high_risk"], df["high_value"], df["high_risk"]],
        [SAVE_FIRST, KEEP_CLOSE, LOW_COST_SAVE],
        default=LOW_PRIORITY,
    )
    df["quadrant"] = pd.Categorical(quadrant, categories=list(QUADRANT_ADVICE))
    df.index.name = CUSTOMER_ID
    return ValueRisk(customers=df, value_threshold=vt, risk_threshold=rt)


# --------------------------------------------------------------------------------------------
# Personas
# --------------------------------------------------------------------------------------------

FEATURE_LABELS: dict[str, str] = {
    "days_since_last_purchase": "days since the last purchase",
    "orders": "orders",
    "revenue": "total spend",
    "average_order_value": "average order value",
    "tenure_months": "months as a customer",
    "monthly_charge": "monthly charge",
    "nps": "NPS answer",
    "csat": "CSAT answer",
    "ces": "effort score",
    "support_tickets": "support tickets",
    "resolution_hours": "resolution hours",
    "escalations": "escalations",
    "first_contact_resolution": "first-contact resolution",
    "complaints": "complaints",
    "acquisition_cost": "acquisition cost",
}
_EXCLUDED_ATTRIBUTES = {CUSTOMER_ID, CHURNED, CHURN_DATE, SIGNUP_DATE}


def persona_features(data: CustomerData, *, max_missing_share: float = 0.5) -> pd.DataFrame:
    """Numeric per-customer features for clustering (index customer_id, original units).

    Behaviour from purchases (days_since_last_purchase, orders, revenue, average_order_value)
    plus every numeric customer attribute that is filled for at least half of the customers
    (outcomes like `churned`, dates and row numbers such as RowNumber 1..n excluded). Blanks are filled with the column median.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    max_missing_share : float, default 0.5
        Attributes blank for more customers are left out.

    Returns
    -------
    pd.DataFrame
        One row per customer, one column per feature.
    """
    parts = []
    if data.has_transactions:
        rfm = rfm_table(data.require_transactions(), as_of=data.observation_end)
        behaviour = rfm[["days_since_last_purchase", "orders", "revenue"]].astype(float)
        behaviour["average_order_value"] = behaviour["revenue"] / behaviour["orders"]
        parts.append(behaviour)
    if data.has_customers:
        c = data.require_customers().set_index(CUSTOMER_ID)
        numeric = [
            col
            for col in c.columns
            if col not in _EXCLUDED_ATTRIBUTES
            and (pd.api.types.is_numeric_dtype(c[col]) and not pd.api.types.is_bool_dtype(c[col]))
            and c[col].notna().mean() >= 1 - max_missing_share
            and c[col].nunique(dropna=True) > 1
            and not _is_row_number(c[col])
        ]
        if numeric:
            parts.append(c[numeric].astype(float))
    if not parts:
        raise DataError("Personas need purchases or numeric customer attributes.")
    features = pd.concat(parts, axis=1, join="outer") if len(parts) > 1 else parts[0]
    if data.has_transactions:
        features = features.loc[features["orders"].notna()]
    features = features.loc[:, features.nunique() > 1]
    if features.shape[1] == 0:
        raise DataError("Personas need at least one attribute that varies between customers.")
    return features.fillna(features.median())


def _is_row_number(values: pd.Series) -> bool:
    """True for a column of distinct whole numbers with no gap (RowNumber 1..n): a row label, not a trait."""
    present = values.dropna()
    if present.empty or not present.is_unique or not np.allclose(present, present.round()):
        return False
    return bool(present.max() - present.min() + 1 == len(present))


def _transform(features: pd.DataFrame) -> pd.DataFrame:
    """log1p for non-negative right-skewed columns (skew > 1), so a few big spenders do not form
    clusters of their own, then z-scores."""
    x = features.astype(float).copy()
    for col in x.columns:
        if (x[col] >= 0).all() and cast(float, x[col].skew()) > 1:  # stubs type reductions as any scalar
            x[col] = np.log1p(x[col])
    std = x.std(ddof=0).replace(0, 1.0)
    return (x - x.mean()) / std


class Personas:
    """k-means personas with k chosen by silhouette, each described in one sentence.

    Parameters
    ----------
    k_range : (int, int)
        Smallest and largest k tried (inclusive), default 2..8.
    sample_size : int
        Customers sampled to fit k-means on large data.
    silhouette_size : int
        Customers of that sample the silhouette of each k is scored on (Rousseeuw 1987; the score is
        quadratic in customers: 1,000 instead of 3,000 is 9x less work, measured 1.4 s -> 0.15 s for
        seven k on the subscription demo, with the same k chosen on the three demos).
    random_state : int

    Attributes
    ----------
    k_ : chosen number of personas
    silhouette_ : dict k -> mean silhouette (on the sample)
    labels_ : Series customer_id -> persona name ("Persona 1" is the largest)
    profile_ : DataFrame persona x feature, cluster means in original units, plus "customers"
    z_ : DataFrame persona x feature, z-score of the cluster mean against everyone (transformed scale)
    descriptions_ : dict persona -> sentence
    """

    def __init__(
        self,
        k_range: tuple[int, int] = (2, 8),
        sample_size: int = 3000,
        random_state: int = 0,
        silhouette_size: int = 1000,
    ) -> None:
        self.k_range = k_range
        self.sample_size = sample_size
        self.silhouette_size = silhouette_size
        self.random_state = random_state

    def fit(self, features: pd.DataFrame) -> Personas:
        """Cluster customers on standardised features (k chosen by silhouette).

        Parameters
        ----------
        features : pd.DataFrame
            `persona_features` output (rows = customers, original units).

        Returns
        -------
        Personas
            self, fitted (`k_`, `labels_`, `z_`, `profile_`, `descriptions_`).
        """
        if features.shape[1] == 0 or len(features) < 10:
            raise DataError("Personas need at least 10 customers and one numeric feature.")
        z = _transform(features)
        lo, hi = self.k_range
        hi = min(hi, len(features) - 1)
        rng = np.random.default_rng(self.random_state)
        sample = z.to_numpy()
        if len(z) > self.sample_size:
            sample = sample[rng.choice(len(z), self.sample_size, replace=False)]
        # scikit-learn is imported here, not with the module: the charts and pages that only need the
        # segment names must not pay its ~1 s import (a fresh server's first paint waits for it)
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score
        from threadpoolctl import threadpool_limits

        self.silhouette_: dict[int, float] = {}
        models: dict[int, KMeans] = {}
        # One thread: on small samples OpenMP start-up and contention cost 20x the work (measured).
        with threadpool_limits(limits=1):
            for k in range(lo, hi + 1):
                km = KMeans(n_clusters=k, n_init=4, random_state=self.random_state).fit(sample)
                if len(set(km.labels_)) < 2:
                    continue
                self.silhouette_[k] = float(
                    silhouette_score(
                        sample,
                        km.labels_,
                        sample_size=min(self.silhouette_size, len(sample)),
                        random_state=self.random_state,
                    )
                )
                models[k] = km
        if not self.silhouette_:
            raise DataError("The customers are too alike to form personas.")
        self.k_ = max(self.silhouette_, key=lambda k: self.silhouette_[k])
        raw = pd.Series(models[self.k_].predict(z.to_numpy()), index=features.index)
        order = raw.value_counts().index  # largest first
        names = {c: f"Persona {i + 1}" for i, c in enumerate(order)}
        self.labels_ = raw.map(names).rename("persona")
        self.z_ = z.groupby(self.labels_).mean().reindex([names[c] for c in order])
        profile = features.groupby(self.labels_).mean().reindex(self.z_.index)
        profile.insert(0, "customers", self.labels_.value_counts().reindex(self.z_.index).astype(int))
        self.profile_ = profile
        self.overall_ = features.mean()
        self.descriptions_ = {p: self._describe(p) for p in self.z_.index}
        return self

    def _describe(self, persona: str, top: int = 3) -> str:
        # One persona's row (a label in a unique index gives a Series; the stubs allow a DataFrame).
        z = cast(pd.Series, self.z_.loc[persona])
        profile = cast(pd.Series, self.profile_.loc[persona])
        strongest = z.abs().sort_values(ascending=False).index[:top]
        n = int(profile["customers"])
        share = n / len(self.labels_)
        phrases = []
        for col in strongest:
            if abs(z[col]) < 0.25:
                continue
            size = "far " if abs(z[col]) >= 1 else ""
            direction = "more" if z[col] > 0 else "fewer"
            if col not in {
                "orders",
                "days_since_last_purchase",
                "tenure_months",
                "support_tickets",
                "escalations",
                "complaints",
            }:
                direction = "higher" if z[col] > 0 else "lower"
            label = FEATURE_LABELS.get(col, col.replace("_", " "))
            phrases.append(f"{size}{direction} {label} ({_fmt(profile[col])} vs {_fmt(self.overall_[col])})")
        if not phrases:
            body = "close to the average customer on every feature"
        else:
            body = ", ".join(phrases[:-1]) + (" and " if len(phrases) > 1 else "") + phrases[-1]
        return f"{persona} ({n:,} customers, {share:.0%}): {body}."


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2g}" if abs(x) < 1 else f"{x:,.1f}"


def fit_personas(data: CustomerData, *, random_state: int = 0, k_range: Sequence[int] = (2, 8)) -> Personas:
    """Build features from the data and fit Personas (convenience for pages and reports).

    Parameters
    ----------
    data : CustomerData
        The dataset.
    random_state : int
        Seed of k-means.
    k_range : sequence of int
        Smallest and largest number of personas tried.

    Returns
    -------
    Personas
        Fitted.
    """
    return Personas(k_range=(int(k_range[0]), int(k_range[1])), random_state=random_state).fit(persona_features(data))
