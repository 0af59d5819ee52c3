"""Churn: which customers are likely to leave, how well we can tell in advance, and why.

Two ways to get the outcome ("label"):

* An explicit column in the customers table (Yes/No, 1/0, True/False, Churned/Stayed,
  "Attrited Customer"/"Existing Customer", Exited, or a churn date where a filled cell means the
  customer left), found by `detect_churn_label` and correctable by naming the column and the value
  that means "left".
* For purchase logs without such a column, `derive_churn_label`: a customer has churned when they
  make no purchase in the `horizon_days` after a cutoff date. Every feature is computed from
  purchases strictly before the cutoff, so the model never sees the outcome it predicts.

Features are prepared by `prepare_features` (text-in-number columns converted, blanks imputed with
a missing-value indicator, rare categories pooled, id-like / free-text / leaking columns left out
and reported). `ChurnModel` compares a regularised logistic regression with histogram gradient
boosting by stratified cross-validation and keeps the better one by ROC AUC. `analyse_churn` runs
the whole chain on a `CustomerData`; `report_section` returns the headless-report dict.

Units: probabilities are shares in 0..1; day-based features are in days; tenure from a customers
table is in months.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from analytics.data.parsing import date_share, is_blank, numeric_share, parse_dates, parse_flags, parse_numbers, to_text
from analytics.data.schema import (
    AMOUNT,
    CHURN_DATE,
    CHURNED,
    CUSTOMER_ID,
    CUSTOMERS,
    ORDER_DATE,
    CustomerData,
    DataError,
)

CAVEAT = (
    "These are associations in your data, not proof of cause: a driver can stand in for something "
    "else that moves with it. Test a change on a group of customers (with a control group) before "
    "counting on it."
)

MODEL_NAMES = ("logistic", "gradient_boosting")
MIN_PER_CLASS = 10  # fewer churners (or stayers) than this and cross-validation is meaningless
LARGE_DATA = 50_000  # above this many labelled customers, 3 CV folds instead of 5
DEFAULT_HORIZON_DAYS = 90
MAX_LEVELS = 100  # text columns with more distinct values are treated as free text
LEAK_AUC = 0.99  # a single column that separates churners this well is a recorded outcome
DAYS_PER_MONTH = 365.25 / 12
MIN_IMPORTANCE = 0.001  # drop in ROC AUC below which a column is not called a driver
MIN_RATIO = 1.1  # churn-rate ratio below which a comparison says nothing

# Normalised column names (lower case, letters and digits only) that hold the churn outcome.
LABEL_NAMES = (
    "churned",
    "churn",
    "churnflag",
    "churnlabel",
    "churnvalue",
    "ischurn",
    "ischurned",
    "haschurned",
    "exited",
    "attritionflag",
    "attrition",
    "attrited",
    "left",
    "hasleft",
    "cancelled",
    "canceled",
    "churnstatus",
    "customerstatus",
    "accountstatus",
    "subscriptionstatus",
    "status",
)
INVERTED_NAMES = ("active", "isactive", "retained", "isretained", "stayed")  # "Yes" = stayed
DATE_LABEL_NAMES = (
    "churndate",
    "dateofchurn",
    "churnedon",
    "churnedat",
    "canceldate",
    "cancellationdate",
    "cancelledon",
    "cancelledat",
    "enddate",
    "leftdate",
    "exitdate",
    "terminationdate",
    "attritiondate",
)
# Parts of a normalised column name that mark a recorded outcome of churn (leaks the label).
LEAK_NAME_PARTS = ("churn", "attrit", "exited", "cancel", "terminat", "deactivat")
LEAK_NAMES = (
    "customerstatus",
    "accountstatus",
    "subscriptionstatus",
    "status",
    "left",
    "hasleft",
    "leftdate",
    "exitdate",
    "enddate",
)
ID_NAMES = (
    "id",
    "rownumber",
    "row",
    "index",
    "uuid",
    "guid",
    "key",
    "customernumber",
    "accountnumber",
    "clientnumber",
    "membernumber",
)
_GENERIC_FLAG_TOKENS = {"yes", "y", "true", "t", "1", "no", "n", "false", "f", "0"}

# Plain names for the features built from purchases.
TRANSACTION_FEATURES = {
    "days_since_last_purchase": "Days since last purchase",
    "n_orders": "Number of orders",
    "total_spend": "Total spend",
    "avg_order_value": "Average order value",
    "tenure_days": "Days since first purchase",
    "gap_mean_days": "Average days between purchases",
    "gap_std_days": "Spread of days between purchases",
    "spend_trend": "Spend trend (recent vs earlier)",
}


def _norm_name(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def label_cell_text(values: pd.Series) -> pd.Series:
    """Cells of a label column as the label reader compares them.

    Parameters
    ----------
    values : pd.Series
        One column as read from the file (any dtype).

    Returns
    -------
    pd.Series
        Trimmed lower-case text, NaN for a blank cell; 1.0 reads as '1', True as 'true'.
    """
    if pd.api.types.is_bool_dtype(values):
        values = values.astype("boolean").astype("string")
    text = to_text(values)
    return text.where(text.isna(), text.astype(str).str.lower())


# ---------------------------------------------------------------------------------------------
# The label
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelChoice:
    """Which column says that a customer has left, and how to read it.

    Attributes
    ----------
    column : the column's name in the customers table.
    kind : "flag" (values mean churned / stayed) or "date" (a filled date cell means churned).
    churn_values, stay_values : for "flag", the cell values (trimmed, lower case) meaning each.
    """

    column: str
    kind: str
    churn_values: tuple[str, ...] = ()
    stay_values: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        if self.kind == "date":
            return f"'{self.column}' (a filled date means the customer left)"
        words = {"true": "yes", "false": "no"}
        churn = " / ".join(f"'{words.get(v, v)}'" for v in self.churn_values)
        return f"'{self.column}' = {churn} (customers who left)"

    def apply(self, frame: pd.DataFrame) -> pd.Series:
        """Churned (True), stayed (False) or unknown (NA) for each row of `frame`."""
        if self.column not in frame.columns:
            raise DataError(f"The churn column '{self.column}' is not in this table.")
        values = frame[self.column]
        out = pd.Series(pd.NA, index=frame.index, dtype="boolean")
        if self.kind == "date":
            blank = is_blank(values).to_numpy()
            dated = parse_dates(values).values.notna().to_numpy()
            out[blank] = False
            out[dated & ~blank] = True
            return out
        text = label_cell_text(values)
        out[text.isin(self.churn_values).to_numpy()] = True
        out[text.isin(self.stay_values).to_numpy()] = False
        return out


def _flag_choice(values: pd.Series, column: str, inverted: bool) -> LabelChoice | None:
    """Read a column of two to four yes/no-like values, or None when it is not one."""
    distinct = [v for v in label_cell_text(values).dropna().unique()]
    if not 1 <= len(distinct) <= 4:
        return None
    flags = parse_flags(pd.Series(distinct, dtype=object))
    if flags.isna().any():
        return None
    churn, stay = [], []
    for value, flag in zip(distinct, flags):
        if inverted and value in _GENERIC_FLAG_TOKENS:
            flag = not flag
        (churn if flag else stay).append(value)
    if not churn and not stay:
        return None
    return LabelChoice(column, "flag", tuple(sorted(churn)), tuple(sorted(stay)))


def _is_date_column(values: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    if pd.api.types.is_bool_dtype(values):
        return False
    return (~is_blank(values)).any() and date_share(values) >= 0.9


def detect_churn_label(
    frame: pd.DataFrame, column: str | None = None, churn_value: object | None = None
) -> LabelChoice:
    """Find the column that says whether each customer has left.

    Parameters
    ----------
    frame : the customers table (one row per customer), raw or cleaned.
    column : name a column to use instead of guessing (the user's correction).
    churn_value : with `column`, the cell value that means "left" (every other filled value then
        means "stayed"). Without it the values are read as Yes/No, 1/0, True/False,
        Churned/Stayed, Attrited/Existing Customer..., or as dates (filled = left).

    Returns
    -------
    LabelChoice

    Raises
    ------
    DataError : no churn column found, or the named column / value cannot be read.
    """
    if column is not None:
        return _override_label(frame, column, churn_value)
    by_norm: dict[str, list[str]] = {}
    for col in frame.columns:
        by_norm.setdefault(_norm_name(col), []).append(str(col))
    for names, inverted in ((LABEL_NAMES, False), (INVERTED_NAMES, True)):
        for name in names:
            for col in by_norm.get(name, []):
                choice = _flag_choice(frame[col], col, inverted)
                if choice is not None and choice.churn_values:
                    return choice
    for name in DATE_LABEL_NAMES:
        for col in by_norm.get(name, []):
            if _is_date_column(frame[col]):
                return LabelChoice(col, "date")
    raise DataError(
        "No churn column found. The customers table needs a column such as 'Churn' (Yes/No, 1/0, "
        "True/False, Churned/Stayed) or a churn date; or choose the column and the value that "
        "means the customer left. With purchase data only, churn can be derived from a period "
        "without purchases."
    )


def _override_label(frame: pd.DataFrame, column: str, churn_value: object | None) -> LabelChoice:
    if column not in frame.columns:
        raise DataError(
            f"There is no column '{column}' in the customers table. Columns: "
            f"{', '.join(map(str, frame.columns[:12]))}{'...' if frame.shape[1] > 12 else ''}."
        )
    values = frame[column]
    distinct = sorted(label_cell_text(values).dropna().unique())
    if churn_value is None:
        choice = _flag_choice(values, column, _norm_name(column) in INVERTED_NAMES)
        if choice is not None:
            return choice
        if _is_date_column(values):
            return LabelChoice(column, "date")
        raise DataError(
            f"Tell us which value of '{column}' means the customer left. Values found: "
            f"{', '.join(distinct[:10])}{'...' if len(distinct) > 10 else ''}."
        )
    wanted = label_cell_text(pd.Series([churn_value], dtype=object)).iloc[0]
    if wanted not in distinct:
        raise DataError(
            f"No cell of '{column}' says '{churn_value}'. Values found: "
            f"{', '.join(distinct[:10])}{'...' if len(distinct) > 10 else ''}."
        )
    return LabelChoice(column, "flag", (wanted,), tuple(v for v in distinct if v != wanted))


# ---------------------------------------------------------------------------------------------
# Purchase logs: derived label and features from transactions
# ---------------------------------------------------------------------------------------------


def _check_transactions(transactions: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in (CUSTOMER_ID, ORDER_DATE, AMOUNT) if c not in transactions.columns]
    if missing:
        raise DataError(f"The purchases table lacks {', '.join(missing)}.")
    tx = transactions[[CUSTOMER_ID, ORDER_DATE, AMOUNT]].dropna(subset=[CUSTOMER_ID, ORDER_DATE])
    if tx.empty:
        raise DataError("The purchases table has no dated purchases.")
    return tx


def suggest_horizon_days(transactions: pd.DataFrame) -> int:
    """Default churn window in days: twice the median gap between a customer's purchase days.

    The median is over customers with at least two purchase days (each customer's own median
    gap). Clipped to 90..365 days; 90 when nobody bought twice. Twice the typical gap means a
    regular customer who goes quiet for that long has very likely lapsed.
    """
    tx = _check_transactions(transactions)
    days = tx[[CUSTOMER_ID]].assign(day=tx[ORDER_DATE].dt.normalize()).drop_duplicates()
    days = days.sort_values([CUSTOMER_ID, "day"])
    gaps = days.groupby(CUSTOMER_ID)["day"].diff().dt.days.dropna()
    if gaps.empty:
        return DEFAULT_HORIZON_DAYS
    per_customer = gaps.groupby(days.loc[gaps.index, CUSTOMER_ID]).median()
    return int(min(365, max(DEFAULT_HORIZON_DAYS, math.ceil(2 * float(per_customer.median())))))


def transaction_features(
    transactions: pd.DataFrame, as_of: pd.Timestamp, window_days: int = DEFAULT_HORIZON_DAYS
) -> pd.DataFrame:
    """Per-customer behaviour from purchases made strictly before `as_of`.

    Parameters
    ----------
    transactions : canonical purchases (customer_id, order_date, amount).
    as_of : the point in time the features describe; purchases on or after it are ignored.
    window_days : length (days) of the two windows compared by `spend_trend`.

    Returns
    -------
    DataFrame indexed by customer_id (customers with a purchase before `as_of`):
    days_since_last_purchase (days from the last purchase to `as_of`), n_orders (rows),
    total_spend and avg_order_value (currency), tenure_days (days from the first purchase to
    `as_of`), gap_mean_days / gap_std_days (between distinct purchase days; NaN with fewer than
    2 / 3 purchase days), spend_trend = (recent - earlier) / (recent + earlier) where recent is
    spend in [as_of - window, as_of) and earlier in [as_of - 2 window, as_of - window)
    (-1 = stopped, +1 = new or growing, 0 = flat or no spend in either window).
    """
    tx = _check_transactions(transactions)
    as_of = pd.Timestamp(as_of)
    tx = tx[tx[ORDER_DATE] < as_of]
    if tx.empty:
        raise DataError(f"No purchases before {as_of:%Y-%m-%d}, so there is no history to learn from.")
    grouped = tx.groupby(CUSTOMER_ID)
    first = grouped[ORDER_DATE].min()
    last = grouped[ORDER_DATE].max()
    out = pd.DataFrame(index=first.index)
    out["days_since_last_purchase"] = (as_of - last).dt.days.astype(float)
    out["n_orders"] = grouped.size().astype(float)
    out["total_spend"] = grouped[AMOUNT].sum().astype(float)
    out["avg_order_value"] = out["total_spend"] / out["n_orders"]
    out["tenure_days"] = (as_of - first).dt.days.astype(float)
    days = tx[[CUSTOMER_ID]].assign(day=tx[ORDER_DATE].dt.normalize()).drop_duplicates()
    days = days.sort_values([CUSTOMER_ID, "day"])
    gaps = days.groupby(CUSTOMER_ID)["day"].diff().dt.days
    gap_by = gaps.groupby(days[CUSTOMER_ID])
    out["gap_mean_days"] = gap_by.mean().reindex(out.index).astype(float)
    out["gap_std_days"] = gap_by.std().reindex(out.index).astype(float)
    window = pd.Timedelta(days=int(window_days))
    recent = tx[tx[ORDER_DATE] >= as_of - window].groupby(CUSTOMER_ID)[AMOUNT].sum()
    earlier_rows = (tx[ORDER_DATE] >= as_of - 2 * window) & (tx[ORDER_DATE] < as_of - window)
    earlier = tx[earlier_rows].groupby(CUSTOMER_ID)[AMOUNT].sum()
    recent = recent.reindex(out.index, fill_value=0.0)
    earlier = earlier.reindex(out.index, fill_value=0.0)
    total = recent + earlier
    out["spend_trend"] = np.where(total > 0, (recent - earlier) / total.where(total > 0, 1.0), 0.0)
    out.index.name = CUSTOMER_ID
    return out


@dataclass(frozen=True)
class DerivedLabel:
    """Churn read from purchases: no purchase in `horizon_days` from `cutoff` on.

    Attributes
    ----------
    features : transaction features as of the cutoff (index customer_id), see
        `transaction_features`.
    churned : bool per customer (same index): no purchase in [cutoff, cutoff + horizon).
    cutoff : first day of the outcome window; features use purchases before it only.
    horizon_days : length of the outcome window, days.
    n_new_after_cutoff : customers whose first purchase is on/after the cutoff (not modelled:
        they have no history before it).
    """

    features: pd.DataFrame
    churned: pd.Series
    cutoff: pd.Timestamp
    horizon_days: int
    n_new_after_cutoff: int

    @property
    def description(self) -> str:
        return (
            f"no purchase in the {self.horizon_days} days from {self.cutoff:%Y-%m-%d} "
            f"(features use purchases before that date only)"
        )


def derive_churn_label(
    transactions: pd.DataFrame,
    cutoff: pd.Timestamp | str | None = None,
    horizon_days: int | None = None,
    observation_end: pd.Timestamp | None = None,
) -> DerivedLabel:
    """Label customers from purchases: churned = no purchase in the horizon after the cutoff.

    Parameters
    ----------
    transactions : canonical purchases.
    cutoff : first day of the outcome window. Default: observation end + 1 day - horizon, i.e.
        the latest cutoff whose whole window has been observed.
    horizon_days : outcome window in days. Default `suggest_horizon_days` (twice the median
        gap between purchases, 90..365 days).
    observation_end : last day the data covers; default the latest purchase date.

    Raises
    ------
    DataError : the window runs past the data, or there is no history before the cutoff.
    """
    tx = _check_transactions(transactions)
    horizon = int(horizon_days) if horizon_days is not None else suggest_horizon_days(tx)
    if horizon < 1:
        raise DataError("The churn window must be at least one day.")
    end = pd.Timestamp(observation_end or tx[ORDER_DATE].max()).normalize()
    cut = (
        pd.Timestamp(cutoff).normalize()
        if cutoff is not None
        else end + pd.Timedelta(days=1) - pd.Timedelta(days=horizon)
    )
    window_end = cut + pd.Timedelta(days=horizon)
    if window_end > end + pd.Timedelta(days=1):
        raise DataError(
            f"The data ends on {end:%Y-%m-%d}, before the {horizon}-day window after "
            f"{cut:%Y-%m-%d} is over. Choose an earlier cutoff or a shorter window."
        )
    features = transaction_features(tx, as_of=cut, window_days=horizon)
    in_window = tx[(tx[ORDER_DATE] >= cut) & (tx[ORDER_DATE] < window_end)]
    churned = pd.Series(~features.index.isin(in_window[CUSTOMER_ID].unique()), index=features.index)
    first = tx.groupby(CUSTOMER_ID)[ORDER_DATE].min()
    return DerivedLabel(features, churned.rename(CHURNED), cut, horizon, int((first >= cut).sum()))


# ---------------------------------------------------------------------------------------------
# Features from customer attributes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureSet:
    """The modelling table and what was left out.

    Attributes
    ----------
    X : one row per customer (index = customer id); float64 columns (NaN = blank) and text
        columns (object, "(blank)" for empty cells).
    numeric, categorical : the column names of each kind.
    dropped : column -> plain-word reason it was left out.
    notes : plain-word conversions made (e.g. text read as numbers).
    display : column -> the name to show the user.
    """

    X: pd.DataFrame
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dropped: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    display: dict[str, str] = field(default_factory=dict)


def _single_column_auc(values: pd.Series, y: np.ndarray) -> float:
    """max(AUC, 1 - AUC) of one column on its own (text: levels ranked by churn rate in-sample)."""
    if values.dtype == object:
        if values.nunique() * 10 > len(values):
            return 0.5  # too few customers per level to judge in-sample
        rates = pd.Series(y).groupby(values.to_numpy()).mean()
        score = values.map(rates).to_numpy(dtype=float)
    else:
        aucs = []
        filled = values.fillna(values.median()).to_numpy(dtype=float)
        if np.unique(filled).size > 1:
            aucs.append(roc_auc_score(y, filled))
        missing = values.isna().to_numpy(dtype=float)
        if 0 < missing.sum() < len(missing):
            aucs.append(roc_auc_score(y, missing))
        return max([max(a, 1 - a) for a in aucs], default=0.5)
    if np.unique(score).size < 2:
        return 0.5
    auc = roc_auc_score(y, score)
    return max(auc, 1 - auc)


def _looks_like_id(name: str, values: pd.Series, filled: int) -> bool:
    distinct = values.nunique()
    if filled < 20 or distinct < 0.95 * filled:
        return False
    if values.dtype == object:
        return True
    norm = _norm_name(name)
    if norm in ID_NAMES or norm.endswith("id") or norm.endswith("number") or "uuid" in norm:
        return True
    whole = values.dropna()
    return bool((whole % 1 == 0).all() and whole.max() - whole.min() + 1 == distinct)


def _typed_column(values: pd.Series) -> tuple[pd.Series | None, str]:
    """(float64 or object series, note) or (None, reason) for a column that cannot be a feature."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean").astype("Float64").astype(float), ""
    if pd.api.types.is_datetime64_any_dtype(values):
        return None, "a date (the time a customer has been with you is carried by tenure)"
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values, errors="coerce").astype(float), ""
    filled = ~is_blank(values)
    if not filled.any():
        return None, "no values"
    sample = values[filled].head(5000)  # decide on a sample; parse the whole column only if numeric
    if numeric_share(sample) >= 0.95 and numeric_share(values) >= 0.95:
        numbers = parse_numbers(values).values
        unread = int((filled & numbers.isna()).sum())
        blanks = int((~filled).sum())
        note = f"read as numbers ({blanks} blank"
        note += f", {unread} unreadable cells treated as blank)" if unread else " cells)"
        return numbers.where(filled), note
    if date_share(sample) >= 0.9:
        return None, "a date (the time a customer has been with you is carried by tenure)"
    return to_text(values), ""


def prepare_features(
    frame: pd.DataFrame,
    *,
    label: pd.Series | None = None,
    exclude: tuple[str, ...] = (),
    id_column: str = CUSTOMER_ID,
    display: dict[str, str] | None = None,
    max_levels: int = MAX_LEVELS,
) -> FeatureSet:
    """Turn customer attributes into model inputs, leaving out what cannot or must not be used.

    Parameters
    ----------
    frame : one row per customer; any mix of numbers, text, text-in-number, dates, flags.
    label : churned (bool, aligned with `frame`, NA allowed) — used only to catch columns that
        give the answer away (single-column AUC above 0.99 on labelled rows).
    exclude : columns never to use (the label column itself, for instance).
    id_column : the customer id column (becomes the index; never a feature).
    display : column -> name to show; defaults to the column name.
    max_levels : text columns with more distinct values are left out as free text.

    Returns
    -------
    FeatureSet — `dropped` lists every left-out column with its reason.
    """
    display = dict(display or {})
    index = pd.Index(frame[id_column].astype(str), name=CUSTOMER_ID) if id_column in frame else frame.index
    dropped: dict[str, str] = {}
    notes: list[str] = []
    columns: dict[str, pd.Series] = {}
    for col in frame.columns:
        if col == id_column or col in exclude:
            continue
        name = display.get(col, str(col))
        norm = _norm_name(name)
        if col == CHURN_DATE or any(p in norm for p in LEAK_NAME_PARTS) or norm in LEAK_NAMES:
            dropped[col] = "named like a churn outcome: recorded when or after the customer left"
            continue
        values, note = _typed_column(frame[col].reset_index(drop=True))
        if values is None:
            dropped[col] = note
            continue
        filled = int(values.notna().sum())
        if filled == 0:
            dropped[col] = "no values"
        elif values.nunique() <= 1:
            dropped[col] = "the same value for every customer"
        elif _looks_like_id(name, values, filled):
            dropped[col] = "an identifier or free text (a different value on almost every row)"
        elif values.dtype == object and values.nunique() > max_levels:
            dropped[col] = (
                f"free text or a detailed code ({values.nunique():,} different values, more than {max_levels})"
            )
        else:
            if note:
                notes.append(f"'{name}' {note}.")
            columns[col] = values
    X = pd.DataFrame(columns)
    X.index = index
    if label is not None and len(X.columns):
        y = pd.Series(label).astype("boolean").reset_index(drop=True)
        known = y.notna().to_numpy()
        y_known = y[known].astype(bool).to_numpy()
        if 0 < y_known.sum() < len(y_known):
            for col in list(X.columns):
                auc = _single_column_auc(X[col].reset_index(drop=True)[known], y_known)
                if auc > LEAK_AUC:
                    dropped[col] = (
                        f"gives the answer away (on its own it separates churners with AUC "
                        f"{auc:.3f}): probably recorded after the fact"
                    )
                    X = X.drop(columns=col)
    categorical = tuple(c for c in X.columns if X[c].dtype == object)
    for col in categorical:
        X[col] = X[col].fillna("(blank)")
    numeric = tuple(c for c in X.columns if c not in categorical)
    shown = {c: display.get(c, str(c)) for c in frame.columns if c != id_column}
    return FeatureSet(X, numeric, categorical, dropped, tuple(notes), shown)


# ---------------------------------------------------------------------------------------------
# Metrics (pure functions on labels and scores)
# ---------------------------------------------------------------------------------------------


def _order_by_risk(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Labels sorted from highest to lowest score (ties keep their input order)."""
    return np.asarray(y, dtype=float)[np.argsort(-np.asarray(p, dtype=float), kind="stable")]


def gains_at(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series, share: float) -> float:
    """Share of all churners found among the top `share` of customers by risk.

    The top group is the first ceil(share * n) customers when sorted by descending score
    (cumulative gains, e.g. Ling & Li 1998, "Data mining for direct marketing").
    """
    ordered = _order_by_risk(np.asarray(y), np.asarray(p))
    if ordered.sum() == 0:
        raise DataError("There are no churners, so no share of them can be caught.")
    k = int(math.ceil(share * len(ordered) - 1e-9))
    return float(ordered[:k].sum() / ordered.sum())


def gains_curve(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series, points: int = 100) -> pd.DataFrame:
    """Cumulative gains at 0, 1/points, ..., 1 of customers targeted.

    Returns
    -------
    DataFrame: share_targeted (0..1), share_caught (share of churners in that top group),
    lift (share_caught / share_targeted; NaN at 0), random (= share_targeted, the baseline).
    """
    ordered = _order_by_risk(np.asarray(y), np.asarray(p))
    if ordered.sum() == 0:
        raise DataError("There are no churners, so no share of them can be caught.")
    shares = np.arange(points + 1) / points
    found = np.concatenate([[0.0], np.cumsum(ordered)])
    k = np.ceil(shares * len(ordered) - 1e-9).astype(int)  # same top groups as `gains_at`
    out = pd.DataFrame({"share_targeted": shares, "share_caught": found[k] / ordered.sum()})
    out["lift"] = out["share_caught"] / out["share_targeted"].where(out["share_targeted"] > 0)
    out["random"] = out["share_targeted"]
    return out


def calibration_table(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series, n_bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed churn in groups of equal size by predicted risk.

    Returns
    -------
    DataFrame: mean_predicted, observed_rate (both 0..1), customers — one row per group, lowest
    risk first. A well-calibrated model has observed_rate close to mean_predicted.
    """
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float)})
    bins = min(n_bins, frame["p"].nunique())
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), q=bins, labels=False)
    out = frame.groupby("bin").agg(mean_predicted=("p", "mean"), observed_rate=("y", "mean"), customers=("y", "size"))
    return out.reset_index(drop=True)


def classification_metrics(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision) and Brier score (mean squared error of p, 0..1)."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    return {
        "auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
    }


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def _min_frequency(n: int) -> int:
    """Categories rarer than this many customers are pooled into one 'other' level."""
    return int(max(10, 0.005 * n))


def make_pipeline(
    name: str, numeric: tuple[str, ...], categorical: tuple[str, ...], n: int, random_state: int = 0
) -> Pipeline:
    """The scikit-learn pipeline for one model on raw FeatureSet columns.

    "logistic": median imputation with missing indicators + standardisation for numbers, one-hot
    with rare levels pooled for text, L2-regularised logistic regression (C = 1).
    "gradient_boosting": HistGradientBoostingClassifier with native handling of blanks and
    categories (rare levels pooled), early stopping on a 10% validation split.
    """
    min_freq = _min_frequency(n)
    parts = []
    if name == "logistic":
        if numeric:
            num = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                    ("scale", StandardScaler()),
                ]
            )
            parts.append(("num", num, list(numeric)))
        if categorical:
            onehot = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=min_freq, sparse_output=False)
            parts.append(("cat", onehot, list(categorical)))
        model = LogisticRegression(C=1.0, max_iter=2000)
        return Pipeline([("prepare", ColumnTransformer(parts)), ("model", model)])
    if name != "gradient_boosting":
        raise ValueError(f"Unknown model '{name}'; use one of {MODEL_NAMES}.")
    if categorical:
        ordinal = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            min_frequency=min_freq,
            max_categories=200,
        )
        parts.append(("cat", ordinal, list(categorical)))
    if numeric:
        parts.append(("num", "passthrough", list(numeric)))
    model = HistGradientBoostingClassifier(
        learning_rate=0.06,
        max_iter=400,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        categorical_features=list(range(len(categorical))) or None,
        random_state=random_state,
    )
    return Pipeline([("prepare", ColumnTransformer(parts)), ("model", model)])


class ChurnModel:
    """Compare logistic regression and gradient boosting by stratified CV; keep the better.

    Parameters
    ----------
    model : "auto" (compare both, pick the higher mean CV ROC AUC), "logistic" or
        "gradient_boosting".
    n_splits : CV folds; None = 5, or 3 above 50,000 labelled customers.
    random_state : seeds the folds, the boosting validation split and permutation importance.
    max_permutation_rows : permutation importance is computed on at most this many held-out rows.
    n_repeats : shuffles per column for permutation importance.

    Attributes (after fit)
    ----------------------
    model_name_ : the chosen model.
    cv_results_ : DataFrame, one row per model compared: auc, auc_std, pr_auc, brier (means over
        folds, on held-out folds).
    metrics_ : dict for the chosen model: auc, auc_std, pr_auc, brier, n_splits.
    oof_proba_ : Series of out-of-fold churn probability (0..1) per customer (index of X).
    pipeline_ : the chosen pipeline refit on all rows (for scoring current customers).
    importances_ : DataFrame feature, importance (mean drop in held-out ROC AUC when the column
        is shuffled), importance_std — largest first.
    """

    def __init__(
        self,
        model: str = "auto",
        n_splits: int | None = None,
        random_state: int = 0,
        max_permutation_rows: int = 5000,
        n_repeats: int = 5,
    ) -> None:
        self.model = model
        self.n_splits = n_splits
        self.random_state = random_state
        self.max_permutation_rows = max_permutation_rows
        self.n_repeats = n_repeats

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> ChurnModel:
        """Cross-validate, choose, compute importances, refit on everything. Returns self."""
        # One OpenMP thread: gradient boosting's thread pool slows down 3-4x (measured: 100,000
        # rows, 3.5 s on one thread vs 11-15 s on two) whenever other processes share the cores,
        # as they do on a server; on an idle machine two threads would gain well under 2x.
        with threadpool_limits(limits=1):
            return self._fit(X, y)

    def _fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> ChurnModel:
        if self.model not in ("auto",) + MODEL_NAMES:
            raise ValueError(f"model must be 'auto' or one of {MODEL_NAMES}, not {self.model!r}.")
        if X.shape[1] == 0:
            raise DataError("No usable customer attributes are left to learn churn from.")
        y_arr = np.asarray(pd.Series(y).astype(bool), dtype=int)
        if len(y_arr) != len(X):
            raise ValueError("X and y have different lengths.")
        n_churn = int(y_arr.sum())
        n_stay = len(y_arr) - n_churn
        if min(n_churn, n_stay) < MIN_PER_CLASS:
            raise DataError(
                f"Too few {'churned' if n_churn < n_stay else 'staying'} customers "
                f"({min(n_churn, n_stay)}) to learn from; at least {MIN_PER_CLASS} of each are needed."
            )
        numeric = tuple(c for c in X.columns if X[c].dtype != object)
        categorical = tuple(c for c in X.columns if X[c].dtype == object)
        n_splits = self.n_splits or (3 if len(X) > LARGE_DATA else 5)
        n_splits = max(2, min(n_splits, n_churn, n_stay))
        folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state).split(X, y_arr))
        names = MODEL_NAMES if self.model == "auto" else (self.model,)
        rows, oof_by, held_out = [], {}, {}
        for name in names:
            template = make_pipeline(name, numeric, categorical, len(X), self.random_state)
            oof = np.zeros(len(X))
            per_fold = []
            for i, (train, test) in enumerate(folds):
                fitted = clone(template).fit(X.iloc[train], y_arr[train])
                oof[test] = fitted.predict_proba(X.iloc[test])[:, 1]
                per_fold.append(classification_metrics(y_arr[test], oof[test]))
                if i == 0:
                    held_out[name] = (fitted, test)
            fold_frame = pd.DataFrame(per_fold)
            rows.append(
                {
                    "model": name,
                    "auc": fold_frame["auc"].mean(),
                    "auc_std": fold_frame["auc"].std(ddof=1),
                    "pr_auc": fold_frame["pr_auc"].mean(),
                    "brier": fold_frame["brier"].mean(),
                }
            )
            oof_by[name] = oof
        self.cv_results_ = pd.DataFrame(rows)
        best = self.cv_results_.sort_values("auc", ascending=False, kind="stable").iloc[0]
        self.model_name_ = str(best["model"])
        self.metrics_ = {k: float(best[k]) for k in ("auc", "auc_std", "pr_auc", "brier")}
        self.metrics_["n_splits"] = n_splits
        self.oof_proba_ = pd.Series(oof_by[self.model_name_], index=X.index, name="churn_probability")
        self.importances_ = self._importances(X, y_arr, *held_out[self.model_name_])
        self.pipeline_ = make_pipeline(self.model_name_, numeric, categorical, len(X), self.random_state)
        self.pipeline_.fit(X, y_arr)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_customers_ = len(X)
        return self

    def _importances(self, X: pd.DataFrame, y: np.ndarray, fitted: Pipeline, test: np.ndarray) -> pd.DataFrame:
        rng = np.random.default_rng(self.random_state)
        rows = (
            test
            if len(test) <= self.max_permutation_rows
            else rng.choice(test, self.max_permutation_rows, replace=False)
        )
        if len(np.unique(y[rows])) < 2:
            rows = test
        result = permutation_importance(
            fitted,
            X.iloc[rows],
            y[rows],
            scoring="roc_auc",
            n_repeats=self.n_repeats,
            random_state=self.random_state,
        )
        out = pd.DataFrame(
            {
                "feature": list(X.columns),
                "importance": result.importances_mean,
                "importance_std": result.importances_std,
            }
        )
        return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Columns [P(stay), P(churn)] for each row, from the model refit on all customers."""
        if not hasattr(self, "pipeline_"):
            raise ValueError("Call fit() first.")
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise DataError(f"Columns the model was trained on are missing: {', '.join(missing)}.")
        return self.pipeline_.predict_proba(X[list(self.feature_names_in_)])


# ---------------------------------------------------------------------------------------------
# Drivers in plain words
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Driver:
    """One column that helps predict churn, with a plain-word comparison of churn rates.

    importance : mean drop in held-out ROC AUC when the column is shuffled.
    high_group / low_group : the groups compared; high_rate / low_rate their observed churn
        rates (0..1); ratio = high_rate / low_rate (inf when low_rate is 0).
    """

    column: str
    name: str
    importance: float
    sentence: str
    high_group: str
    low_group: str
    high_rate: float
    low_rate: float
    ratio: float


def _fmt(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _compare(hi_subject: str, lo_object: str, hi_rate: float, lo_rate: float, context: str = "") -> str:
    """'<hi> churn 3.1x as often as <lo> (<context>43% vs 14%).' or the zero-rate variant."""
    if lo_rate == 0:
        return f"{hi_subject} churn ({hi_rate:.0%}) while {lo_object} do not (0%{context and '; ' + context})."
    return (
        f"{hi_subject} churn {hi_rate / lo_rate:.1f}x as often as {lo_object} "
        f"({context + '; ' if context else ''}{hi_rate:.0%} vs {lo_rate:.0%})."
    )


def _group_rates(groups: pd.Series, y: pd.Series, min_size: int) -> pd.DataFrame:
    stats = y.groupby(groups.to_numpy()).agg(["mean", "size"])
    return stats[stats["size"] >= min_size].sort_values("mean", ascending=False, kind="stable")


def driver_sentence(values: pd.Series, y: pd.Series, name: str, min_group: int = 30) -> Driver | None:
    """Compare observed churn between the groups of one column.

    Text columns (and numbers with at most two values): the level with the highest churn rate vs
    the one with the lowest, among levels with at least `min_group` customers, e.g.
    "Month-to-month customers churn 3.1x as often as Two year ones (Contract; 43% vs 14%)."
    Numbers: customers in the top quarter of values vs the bottom quarter (when more than a
    quarter share the lowest value: above it vs at it). Returns None when no two groups are
    large enough. `importance` is left at 0 (see `describe_drivers`).
    """
    y = pd.Series(np.asarray(y, dtype=float), index=values.index)
    values = values[values.notna()]
    y = y[values.index]
    if values.dtype == object or values.nunique() <= 2:
        levels = values.map(lambda v: v if isinstance(v, str) else _fmt(v))
        rates = _group_rates(levels, y, min_group)
        if len(rates) < 2:
            return None
        hi, lo = str(rates.index[0]), str(rates.index[-1])
        hi_rate, lo_rate = float(rates["mean"].iloc[0]), float(rates["mean"].iloc[-1])
        flag_like = {_norm_name(hi), _norm_name(lo)} & (_GENERIC_FLAG_TOKENS | {"blank"})
        if flag_like or values.dtype != object:
            hi, lo = f"{name} = {hi}", f"{name} = {lo}"
            sentence = _compare(f"Customers with {hi}", f"those with {lo}", hi_rate, lo_rate)
        else:
            sentence = _compare(f"{hi} customers", f"{lo} ones", hi_rate, lo_rate, name)
    else:
        q25, q75 = (float(q) for q in values.quantile([0.25, 0.75]))
        bottom_mask = values <= q25
        top_mask = values >= q75 if q75 > q25 else values > q25
        if top_mask.sum() < min_group or bottom_mask.sum() < min_group:
            return None
        top = f"top quarter ({'≥ ' + _fmt(q75) if q75 > q25 else '> ' + _fmt(q25)})"
        bottom = f"bottom quarter (≤ {_fmt(q25)})"
        top_rate, bottom_rate = float(y[top_mask].mean()), float(y[bottom_mask].mean())
        (hi, hi_rate), (lo, lo_rate) = sorted([(top, top_rate), (bottom, bottom_rate)], key=lambda g: -g[1])
        hi_subject = f"Customers in the {hi.replace(' quarter', ' quarter of ' + name, 1)}"
        sentence = _compare(hi_subject, f"those in the {lo}", hi_rate, lo_rate)
    ratio = hi_rate / lo_rate if lo_rate > 0 else math.inf
    return Driver(str(values.name), name, 0.0, sentence, hi, lo, hi_rate, lo_rate, ratio)


def describe_drivers(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    importances: pd.DataFrame,
    display: dict[str, str] | None = None,
    n: int = 5,
) -> list[Driver]:
    """Plain-word drivers for the `n` most important columns.

    The ranking comes from `importances` (permutation importance). A column counts when shuffling
    it costs at least 0.001 of ROC AUC and more than its spread over repeats, and when its
    groups differ by at least 1.1x in observed churn (see `driver_sentence`); a column whose
    effect does not show as a simple high-vs-low contrast is left out of the sentences.
    """
    display = display or {}
    y = pd.Series(np.asarray(pd.Series(y).astype(float)), index=X.index)
    min_group = int(max(10, min(30, 0.02 * len(X))))
    out: list[Driver] = []
    for row in importances.itertuples():
        if len(out) >= n or row.importance < MIN_IMPORTANCE:
            break
        if row.importance <= row.importance_std:
            continue
        driver = driver_sentence(X[row.feature], y, display.get(row.feature, row.feature), min_group)
        if driver is not None and driver.ratio >= MIN_RATIO:
            out.append(replace(driver, importance=float(row.importance)))
    return out


# ---------------------------------------------------------------------------------------------
# The whole analysis on a CustomerData
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChurnSettings:
    """Choices that change the churn results (built by the page from widgets).

    label_source : "auto" (a churn column if the customers table has one, else derived from
        purchases), "column" or "purchases".
    label_column, churn_value : correct the detected churn column / the value meaning "left".
    horizon_days : for derived churn, the no-purchase window in days (None = twice the median
        gap between purchases, 90..365).
    cutoff : for derived churn, the first day of the window (None = observation end + 1 -
        horizon).
    model : "auto", "logistic" or "gradient_boosting".
    n_splits : CV folds (None = 5, or 3 above 50,000 customers).
    random_state : seed for folds, boosting and permutation importance.
    max_permutation_rows : sample size for permutation importance.
    n_drivers : how many plain-word drivers to return.
    """

    label_source: str = "auto"
    label_column: str | None = None
    churn_value: str | None = None
    horizon_days: int | None = None
    cutoff: str | None = None
    model: str = "auto"
    n_splits: int | None = None
    random_state: int = 0
    max_permutation_rows: int = 5000
    n_drivers: int = 5


@dataclass(frozen=True)
class ChurnAnalysis:
    """Everything the churn page and report show.

    target : the column or rule used as the outcome, in plain words.
    scores : one row per customer: customer_id, churned (label; NA = unknown), oof_probability
        (out-of-fold, labelled customers), churn_probability (the risk to act on: out-of-fold
        for labelled customers of a customers table, the refit model otherwise; for derived churn,
        the refit model on features as of the end of the data), active (not churned yet).
    gains : `gains_curve` of the out-of-fold probabilities; calibration : `calibration_table`.
    """

    target: str
    source: str  # "column" or "purchases"
    features: FeatureSet
    model: ChurnModel
    y: pd.Series
    scores: pd.DataFrame
    gains: pd.DataFrame
    calibration: pd.DataFrame
    drivers: list[Driver]
    label: LabelChoice | None = None
    derived: DerivedLabel | None = None
    n_unlabelled: int = 0  # customers with unknown churn (column) / first seen after the cutoff
    caveat: str = CAVEAT

    @property
    def churn_rate(self) -> float:
        return float(self.y.mean())

    def lift_at(self, share: float) -> float:
        """Share of churners caught in the top `share` of customers by out-of-fold risk."""
        return gains_at(self.y.to_numpy(), self.model.oof_proba_.to_numpy(), share)


def _display_names(data: CustomerData) -> dict[str, str]:
    names: dict[str, str] = {}
    for report in data.reports:
        if report.table == CUSTOMERS:
            names.update(report.columns)
    return names


def analyse_churn(data: CustomerData, settings: ChurnSettings = ChurnSettings()) -> ChurnAnalysis:
    """Label, features, model comparison, metrics, drivers and scores for one dataset.

    Raises
    ------
    DataError : no usable label (no churn column and no purchases), too few churners, or no
        usable attributes.
    """
    if settings.label_source not in ("auto", "column", "purchases"):
        raise ValueError("label_source must be 'auto', 'column' or 'purchases'.")
    label = None
    if settings.label_source != "purchases" and data.has_customers:
        try:
            label = detect_churn_label(data.customers, settings.label_column, settings.churn_value)
        except DataError:
            if settings.label_source == "column" or not data.has_transactions:
                raise
    if label is None and not data.has_transactions:
        raise DataError("Churn needs a customers table with a churn column, or purchase data.")
    model = ChurnModel(settings.model, settings.n_splits, settings.random_state, settings.max_permutation_rows)
    if label is not None:
        return _analyse_column(data, label, model, settings)
    return _analyse_purchases(data, model, settings)


def _analyse_column(
    data: CustomerData, label: LabelChoice, model: ChurnModel, settings: ChurnSettings
) -> ChurnAnalysis:
    customers = data.customers.reset_index(drop=True)
    y_all = label.apply(customers)
    display = _display_names(data)
    exclude = (label.column, CHURNED)
    features = prepare_features(customers, label=y_all, exclude=exclude, display=display)
    known = y_all.notna().to_numpy()
    X = features.X[known]
    y = pd.Series(y_all[known].astype(bool).to_numpy(), index=X.index, name=CHURNED)
    model.fit(X, y)
    risk = pd.Series(np.nan, index=features.X.index)
    risk[known] = model.oof_proba_.to_numpy()
    if (~known).any():
        risk[~known] = model.predict_proba(features.X[~known])[:, 1]
    scores = pd.DataFrame(
        {
            CUSTOMER_ID: features.X.index.astype(str),
            CHURNED: y_all.to_numpy(),
            "oof_probability": np.where(known, risk.to_numpy(), np.nan),
            "churn_probability": risk.to_numpy(),
            "active": ~y_all.fillna(False).to_numpy(dtype=bool),
        }
    )
    shown = display.get(label.column, label.column)
    target = LabelChoice(shown, label.kind, label.churn_values, label.stay_values).description
    return _finish(
        target, "column", features, model, X, y, scores, settings, label=label, n_unlabelled=int((~known).sum())
    )


def _analyse_purchases(data: CustomerData, model: ChurnModel, settings: ChurnSettings) -> ChurnAnalysis:
    derived = derive_churn_label(data.transactions, settings.cutoff, settings.horizon_days, data.observation_end)
    X = derived.features
    display = {c: TRANSACTION_FEATURES.get(c, c) for c in X.columns}
    features = FeatureSet(X, tuple(X.columns), (), {}, (), display)
    y = pd.Series(derived.churned.to_numpy(), index=X.index, name=CHURNED)
    model.fit(X, y)
    as_of = data.observation_end + pd.Timedelta(days=1)
    now = transaction_features(data.transactions, as_of=as_of, window_days=derived.horizon_days)
    now = now[list(X.columns)]
    oof = model.oof_proba_.reindex(now.index)
    scores = pd.DataFrame(
        {
            CUSTOMER_ID: now.index.astype(str),
            CHURNED: y.reindex(now.index).astype("boolean").to_numpy(),
            "oof_probability": oof.to_numpy(),
            "churn_probability": model.predict_proba(now)[:, 1],
            "active": True,
        }
    )
    return _finish(
        derived.description,
        "purchases",
        features,
        model,
        X,
        y,
        scores,
        settings,
        derived=derived,
        n_unlabelled=derived.n_new_after_cutoff,
    )


def _finish(
    target: str,
    source: str,
    features: FeatureSet,
    model: ChurnModel,
    X: pd.DataFrame,
    y: pd.Series,
    scores: pd.DataFrame,
    settings: ChurnSettings,
    **extra: object,
) -> ChurnAnalysis:
    oof = model.oof_proba_.to_numpy()
    drivers = describe_drivers(X, y, model.importances_, features.display, settings.n_drivers)
    return ChurnAnalysis(
        target=target,
        source=source,
        features=features,
        model=model,
        y=y,
        scores=scores,
        gains=gains_curve(y.to_numpy(), oof),
        calibration=calibration_table(y.to_numpy(), oof),
        drivers=drivers,
        **extra,
    )


def _clean_float(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def report_section(data: CustomerData, settings: ChurnSettings = ChurnSettings()) -> dict:
    """The `churn` section of the headless report (JSON-serialisable; keys are a stable contract).

    Keys: target (column or rule used, plain words), n (customers modelled), churn_rate (0..1),
    auc, pr_auc, brier (cross-validated, means over folds), model ('logistic' |
    'gradient_boosting'), top_drivers (plain-word sentences), lift_top_10 / lift_top_20 /
    lift_top_30 (share of churners among the top 10/20/30% by risk, 0..1), dropped_columns
    ({column: reason}), customers_not_modelled (churn status unknown, or for churn derived from
    purchases: first purchase after the cutoff), caveat.
    """
    return section_from_analysis(analyse_churn(data, settings))


def section_from_analysis(analysis: ChurnAnalysis) -> dict:
    """The report dict of `report_section` from an analysis already computed (e.g. cached)."""
    metrics = analysis.model.metrics_
    return {
        "target": analysis.target,
        "n": int(len(analysis.y)),
        "churn_rate": _clean_float(analysis.churn_rate),
        "auc": _clean_float(metrics["auc"]),
        "pr_auc": _clean_float(metrics["pr_auc"]),
        "brier": _clean_float(metrics["brier"]),
        "model": analysis.model.model_name_,
        "top_drivers": [d.sentence for d in analysis.drivers],
        "lift_top_10": _clean_float(analysis.lift_at(0.1)),
        "lift_top_20": _clean_float(analysis.lift_at(0.2)),
        "lift_top_30": _clean_float(analysis.lift_at(0.3)),
        "dropped_columns": {
            analysis.features.display.get(c, str(c)): reason for c, reason in analysis.features.dropped.items()
        },
        "customers_not_modelled": analysis.n_unlabelled,
        "caveat": analysis.caveat,
    }
