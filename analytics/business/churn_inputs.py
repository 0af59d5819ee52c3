"""What the churn model learns from, measured from the data: the label and the features.

The label ("churned") comes either from an explicit column of the customers table
(`detect_churn_label`, correctable by naming the column and the value that means "left"), or, for
purchase logs, from `derive_churn_label`: a customer has churned when they make no purchase in the
`horizon_days` after a cutoff; every feature is computed from purchases strictly before the cutoff.
`prepare_features` turns customer attributes into model inputs (text-in-number columns converted,
id-like / free-text / leaking columns left out and reported).

Units: day-based features are in days; tenure from a customers table is in months.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from analytics.data.codes import id_codes
from analytics.data.parsing import date_share, is_blank, numeric_share, parse_dates, parse_flags, parse_numbers, to_text
from analytics.data.schema import (
    AMOUNT,
    CHURN_DATE,
    CHURNED,
    CUSTOMER_ID,
    ORDER_DATE,
    DataError,
)
from analytics.engine.customer_days import CustomerDays, customer_days

DEFAULT_HORIZON_DAYS = 90


MAX_LEVELS = 100  # text columns with more distinct values are treated as free text


LEAK_AUC = 0.99  # a single column that separates churners this well is a recorded outcome


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
        """Churned (True), stayed (False) or unknown (NA) for each row of `frame`.

        Parameters
        ----------
        frame : pd.DataFrame
            The customers table holding the label column.

        Returns
        -------
        pd.Series
            Nullable booleans aligned with `frame`.
        """
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
    churn: list[str] = []
    stay: list[str] = []
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
    return bool((~is_blank(values)).any()) and date_share(values) >= 0.9


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


def _check_transactions(transactions: pd.DataFrame) -> pd.DataFrame:
    """The purchases with an id and a date (the frame itself when none is missing, so the cached
    customer-day table of the frame is reused)."""
    missing = [c for c in (CUSTOMER_ID, ORDER_DATE, AMOUNT) if c not in transactions.columns]
    if missing:
        raise DataError(f"The purchases table lacks {', '.join(missing)}.")
    incomplete = transactions[ORDER_DATE].isna().to_numpy()
    known = id_codes(transactions, CUSTOMER_ID)
    # cleaning's id codes say at once that every row has an id (isna over millions of text ids
    # reads every string: ~3 CPU s per call at 10M purchases)
    if known is None or len(known.codes) == 0 or known.codes.min() < 0 or known.uniques.hasnans:
        incomplete = incomplete | transactions[CUSTOMER_ID].isna().to_numpy()
    tx = transactions[~incomplete] if incomplete.any() else transactions
    if tx.empty:
        raise DataError("The purchases table has no dated purchases.")
    return tx


def _group_starts(codes: np.ndarray) -> np.ndarray:
    """Index of the first element of each run of equal values in a sorted code array."""
    if len(codes) == 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])


def _median_gap_per_customer(table: CustomerDays) -> np.ndarray:
    """Each repeat customer's median gap (days) between consecutive purchase days."""
    repeat = np.r_[False, table.customer[1:] == table.customer[:-1]]
    gaps = np.diff(table.day, prepend=0)[repeat]
    owner = table.customer[repeat].astype(np.int64)  # int64: owner x width passes 2**31 (int32 codes)
    if len(gaps) == 0:
        return np.empty(0)
    # by customer, then gap: one sort of a combined integer key's values (no permutation to apply
    # after; the median needs only the sorted values), then the key split back
    width = int(gaps.max()) + 1
    key = owner * width + gaps
    key.sort(kind="stable")  # timsort: the key is already in runs by customer
    owner = key // width
    gaps = key - owner * width
    starts = _group_starts(owner)
    counts = np.diff(np.r_[starts, len(gaps)])
    low = gaps[starts + (counts - 1) // 2]
    high = gaps[starts + counts // 2]
    return (low + high) / 2.0


def suggest_horizon_days(transactions: pd.DataFrame) -> int:
    """Default churn window in days: twice the median gap between a customer's purchase days.

    The median is over customers with at least two purchase days (each customer's own median
    gap). Clipped to 90..365 days; 90 when nobody bought twice. Twice the typical gap means a
    regular customer who goes quiet for that long has very likely lapsed. Computed on the
    customer-day table (`analytics.engine.customer_days`).

    Parameters
    ----------
    transactions : pd.DataFrame
        Canonical transactions.

    Returns
    -------
    int
        Days.
    """
    return horizon_from_median_gaps(_median_gap_per_customer(customer_days(_check_transactions(transactions))))


def horizon_from_median_gaps(median_gaps: np.ndarray) -> int:
    """Twice the median over customers of their own median gap, clipped to 90..365 days.

    Parameters
    ----------
    median_gaps : np.ndarray
        Each repeat customer's median gap between purchase days (days).

    Returns
    -------
    int
        The churn window in days (90 when there is no repeat customer).
    """
    if len(median_gaps) == 0:
        return DEFAULT_HORIZON_DAYS
    return int(min(365, max(DEFAULT_HORIZON_DAYS, math.ceil(2 * float(np.median(median_gaps))))))


def _day_of(as_of: pd.Timestamp | str) -> int:
    """The day number (days since 1970-01-01) of midnight starting `as_of`'s day."""
    stamp = pd.Timestamp(as_of)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return int((stamp.normalize() - pd.Timestamp("1970-01-01")).days)


def features_from_days(table: CustomerDays, as_of_day: int, window_days: int) -> pd.DataFrame:
    """`transaction_features` from a customer-day table (integer codes, numpy; no pandas group-by).

    Parameters
    ----------
    table : CustomerDays
        The purchases collapsed to (customer, day).
    as_of_day : int
        Day number of the cutoff (midnight); purchases on or after it are ignored.
    window_days : int
        Length (days) of the two windows compared by `spend_trend`.

    Returns
    -------
    pd.DataFrame
        As `transaction_features`: one row per customer with a purchase before the cutoff, sorted
        by customer id.
    """
    return _features(table, as_of_day, window_days)[0]


def _rows(kept: np.ndarray | None, positions: np.ndarray) -> np.ndarray:
    """Rows of the table at `positions` among the `kept` rows (None: every row kept)."""
    return positions if kept is None else kept[positions]


def _features(table: CustomerDays, as_of_day: int, window_days: int) -> tuple[pd.DataFrame, np.ndarray]:
    """`features_from_days` and the customer code of each of its rows."""
    keep = table.day < as_of_day
    if not keep.any():
        raise DataError(
            f"No purchases before {pd.Timestamp(as_of_day, unit='D'):%Y-%m-%d}, so there is no history to learn from."
        )
    # the rows kept (every row for features as of the end of the data: no copy then)
    kept = None if keep.all() else np.flatnonzero(keep)

    def column(values: np.ndarray) -> np.ndarray:
        return values if kept is None else values[kept]

    code, day, spend = column(table.customer), column(table.day), column(table.spend)
    starts = _group_starts(code)
    ends = np.r_[starts[1:], len(code)] - 1
    sizes = np.diff(np.r_[starts, len(code)])
    owner = np.repeat(np.arange(len(starts)), sizes)
    first_day, last_day = day[starts], day[ends]
    # whole days from a timestamp to the cutoff (midnight) drop a started day, as Timedelta.days does
    late_first = table.first_time[_rows(kept, starts)] > 0 if table.first_time is not None else False
    late_last = table.last_time[_rows(kept, ends)] > 0 if table.last_time is not None else False
    n_rows = np.add.reduceat(column(table.rows), starts).astype(float)
    total = np.add.reduceat(spend, starts)
    n_gaps = sizes - 1
    gap = np.empty(len(day))  # days since the customer's previous purchase day, 0 on the first
    np.subtract(day[1:], day[:-1], out=gap[1:])
    gap[starts] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        gap_mean = np.add.reduceat(gap, starts) / np.where(n_gaps > 0, n_gaps, np.nan)
        deviation = np.subtract(gap, gap_mean[owner], out=gap)
        deviation[starts] = 0.0  # a customer's first day has no gap
        gap_std = np.sqrt(
            np.add.reduceat(np.square(deviation, out=deviation), starts) / np.where(n_gaps > 1, n_gaps - 1, np.nan)
        )
    del gap, deviation
    window = int(window_days)
    recent = np.bincount(owner, weights=np.where(day >= as_of_day - window, spend, 0.0), minlength=len(starts))
    earlier_rows = (day >= as_of_day - 2 * window) & (day < as_of_day - window)
    earlier = np.bincount(owner, weights=np.where(earlier_rows, spend, 0.0), minlength=len(starts))
    both = recent + earlier
    columns = {
        "days_since_last_purchase": (as_of_day - last_day - late_last).astype(float),
        "n_orders": n_rows,
        "total_spend": total,
        "avg_order_value": total / n_rows,
        "tenure_days": (as_of_day - first_day - late_first).astype(float),
        "gap_mean_days": gap_mean,
        "gap_std_days": gap_std,
        "spend_trend": np.where(both > 0, (recent - earlier) / np.where(both > 0, both, 1.0), 0.0),
    }
    # sorted by customer id (as a pandas group-by): the customers' codes in the table's cached id
    # order, no sort; each column taken once into one block (no frame-wide copy or take after)
    # (every customer present, as today: the cached order itself)
    by_id = table.id_order if len(starts) == len(table.customer_ids) else table.by_id(code[starts])
    values = np.empty((len(columns), len(by_id)))
    for j, per_customer in enumerate(columns.values()):
        np.take(per_customer, by_id, out=values[j])
    codes = code[starts][by_id]
    index = pd.Index(table.customer_ids[codes], name=CUSTOMER_ID)
    return pd.DataFrame(values.T, index=index, columns=list(columns), copy=False), codes


def transaction_features(
    transactions: pd.DataFrame, as_of: pd.Timestamp, window_days: int = DEFAULT_HORIZON_DAYS
) -> pd.DataFrame:
    """Per-customer behaviour from purchases made before the day of `as_of`.

    Parameters
    ----------
    transactions : canonical purchases (customer_id, order_date, amount).
    as_of : the day the features describe (from its midnight); purchases on or after it are ignored.
    window_days : length (days) of the two windows compared by `spend_trend`.

    Returns
    -------
    DataFrame indexed by customer_id (customers with a purchase before `as_of`, sorted by id):
    days_since_last_purchase (whole days from the last purchase to `as_of`), n_orders (rows),
    total_spend and avg_order_value (currency), tenure_days (whole days from the first purchase to
    `as_of`), gap_mean_days / gap_std_days (between distinct purchase days; NaN with fewer than
    2 / 3 purchase days), spend_trend = (recent - earlier) / (recent + earlier) where recent is
    spend in [as_of - window, as_of) and earlier in [as_of - 2 window, as_of - window)
    (-1 = stopped, +1 = new or growing, 0 = flat or no spend in either window). Computed from the
    customer-day table of the purchases (`analytics.engine.customer_days`, built once per frame).
    """
    table = customer_days(_check_transactions(transactions))
    return features_from_days(table, _day_of(as_of), window_days)


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
    transactions : pd.DataFrame
        Canonical purchases.
    cutoff : pd.Timestamp or str, optional
        First day of the outcome window. Default: observation end + 1 day - horizon, i.e. the
        latest cutoff whose whole window has been observed.
    horizon_days : int, optional
        Outcome window in days. Default `suggest_horizon_days` (twice the median gap between
        purchases, 90..365 days).
    observation_end : pd.Timestamp, optional
        Last day the data covers; default the latest purchase date.

    Returns
    -------
    DerivedLabel
        The label per customer, the cutoff and the window, in plain words too.

    Raises
    ------
    DataError
        The window runs past the data, or there is no history before the cutoff.
    """
    tx = _check_transactions(transactions)
    table = customer_days(tx)
    horizon = (
        int(horizon_days) if horizon_days is not None else horizon_from_median_gaps(_median_gap_per_customer(table))
    )
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
    cut_day = _day_of(cut)
    features, codes = _features(table, cut_day, horizon)
    in_window = (table.day >= cut_day) & (table.day < cut_day + horizon)
    bought = np.zeros(len(table.customer_ids), dtype=bool)
    bought[table.customer[in_window]] = True
    churned = pd.Series(~bought[codes], index=features.index)
    n_new = int((table.day[table.starts] >= cut_day).sum())
    return DerivedLabel(features, churned.rename(CHURNED), cut, horizon, n_new)


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
