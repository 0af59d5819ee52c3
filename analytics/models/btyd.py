"""Per-customer buy-till-you-die summary and the calibration/holdout split.

The summary is the input of every BTYD model (BG/NBD, Pareto/NBD, modified BG/NBD, Gamma-Gamma):

    frequency       int      repeat purchase DAYS: distinct purchase days after the first one
                             (same-day purchases are merged, as in Fader, Hardie & Lee's CDNOW work)
    recency         float    time from the first to the last purchase day, in the chosen unit
    T               float    time from the first purchase day to the observation end, in the unit
    monetary_value  float    mean spend of the repeat purchase days (currency); 0 when frequency 0
    first_purchase  datetime the customer's first purchase day
    historic_value  float    net revenue from the customer up to the observation end (currency)

Time units (`time_unit`): 'D' days, 'W' weeks (= days / 7), 'M' months (= days / (365.25 / 12)).
Time is always counted in whole days first, then divided, so a weekly model sees 272 / 7 = 38.857
weeks where lifetimes' ``freq='W'`` would bucket by calendar week (which moves the CDNOW numbers).

This module is written with numpy sorts and segment reductions instead of
``lifetimes.utils.summary_data_from_transaction_data`` because that function is slow on millions of
rows, its calibration/holdout variant breaks on pandas 3 without a monetary column, and its weekly
mode buckets by calendar week.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.data.periods import DAYS_PER_PERIOD, MODEL_TIME_UNITS, PERIOD_NAMES
from analytics.data.schema import AMOUNT, CUSTOMER_ID, ORDER_DATE, DataError
from analytics.engine.customer_days import customer_days

MODEL_NAMES: tuple[str, ...] = ("bg_nbd", "pareto_nbd", "mbg_nbd")
"""The purchase models compared on the holdout (`analytics.models.purchase`)."""

MODEL_LABELS: dict[str, str] = {
    "bg_nbd": "BG/NBD",
    "pareto_nbd": "Pareto/NBD",
    "mbg_nbd": "Modified BG/NBD",
}
"""Display name of each purchase model: the one definition every page, report and sentence uses."""

TIME_UNIT_NAMES: dict[str, str] = {unit: PERIOD_NAMES[unit] + "s" for unit in MODEL_TIME_UNITS}
"""Plural name of each model time unit ('W' -> 'weeks')."""

SUMMARY_COLUMNS: tuple[str, ...] = ("frequency", "recency", "T", "monetary_value")

MIN_SPAN_DAYS = 84
"""Shortest purchase history (12 weeks) we accept for a default calibration/holdout split: with
less, the holdout (a third of the span) is shorter than a month and says nothing about the models."""


def unit_days(time_unit: str) -> float:
    """Days in one period of a time unit.

    Parameters
    ----------
    time_unit : {'D', 'W', 'M'}
        Days, weeks or months (a month is 365.25 / 12 days).

    Returns
    -------
    float
        Days.

    Raises
    ------
    DataError
        For any other unit.
    """
    try:
        return DAYS_PER_PERIOD[time_unit]
    except KeyError:
        raise DataError(f"Unknown time unit {time_unit!r}: use 'D' (days), 'W' (weeks) or 'M' (months).") from None


@dataclass(frozen=True)
class PurchaseDays:
    """Transactions collapsed to one row per (customer, purchase day), sorted by customer then day.

    Attributes
    ----------
    customer_ids : pd.Index
        Customer identifiers; `customer` holds positions into it.
    customer : np.ndarray of int32 or int64
        Position of the customer in `customer_ids`, one entry per purchase day (the customer-day
        table's read-only arrays: int32 below 2**31 rows; multiply in int64).
    day : np.ndarray of int32 or int64
        Purchase day as days since 1970-01-01.
    spend : np.ndarray of float64
        Total amount spent by the customer that day (currency).
    """

    customer_ids: pd.Index
    customer: np.ndarray
    day: np.ndarray
    spend: np.ndarray

    @property
    def first_row(self) -> np.ndarray:
        """Index of each customer's first purchase day (customers appear in `customer_ids` order)."""
        return np.flatnonzero(np.r_[True, self.customer[1:] != self.customer[:-1]])

    def first_day(self) -> np.ndarray:
        """First purchase day of each customer.

        Returns
        -------
        np.ndarray
            Days since 1970-01-01, aligned with `customer_ids`.
        """
        return self.day[self.first_row]


def _check_transactions(transactions: pd.DataFrame) -> None:
    if transactions is None or len(transactions) == 0:
        raise DataError("There are no transactions, so there is nothing to model.")
    missing = [c for c in (CUSTOMER_ID, ORDER_DATE, AMOUNT) if c not in transactions.columns]
    if missing:
        raise DataError("The transactions table lacks the column(s) " + ", ".join(missing) + "; map them on upload.")
    if not pd.api.types.is_datetime64_any_dtype(transactions[ORDER_DATE]):
        raise DataError("Order dates are not dates; map the order-date column on upload.")
    if transactions[ORDER_DATE].isna().any():
        raise DataError("Some order dates are empty; clean them out before modelling.")
    if not pd.api.types.is_numeric_dtype(transactions[AMOUNT]):
        raise DataError("The amount column is not numeric.")


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Calendar day of each timestamp as int64 days since 1970-01-01 (time of day dropped)."""
    values = dates.dt.tz_localize(None) if getattr(dates.dt, "tz", None) is not None else dates
    return values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def to_day_number(date: object) -> int:
    """One date as days since 1970-01-01.

    Parameters
    ----------
    date : str, date, datetime, Timestamp or datetime64
        The date (a time of day is dropped).

    Returns
    -------
    int
        Days since 1970-01-01.

    Raises
    ------
    DataError
        When `date` is not a date.
    """
    if not isinstance(date, (str, datetime.date, np.datetime64, int, float, np.integer)):
        raise DataError(f"{date!r} is not a date.")
    try:
        stamp = pd.Timestamp(date)
    except (TypeError, ValueError):
        raise DataError(f"{date!r} is not a date.") from None
    if pd.isna(stamp):
        raise DataError("A required date is empty.")
    return int(np.datetime64(stamp.tz_localize(None) if stamp.tz else stamp, "D").astype(np.int64))


def from_day_number(day: int) -> pd.Timestamp:
    """Inverse of `to_day_number`.

    Parameters
    ----------
    day : int
        Days since 1970-01-01.

    Returns
    -------
    pd.Timestamp
        The date (midnight).
    """
    return pd.Timestamp(np.datetime64(int(day), "D"))


def purchase_days(transactions: pd.DataFrame, *, end: object | None = None) -> PurchaseDays:
    """Collapse transactions to one row per customer and purchase day (amounts summed).

    Parameters
    ----------
    transactions : pd.DataFrame
        Canonical transactions (`customer_id`, `order_date`, `amount`).
    end : date-like, optional
        Last day to keep (inclusive). Purchases after it are ignored. Default: keep everything.

    Returns
    -------
    PurchaseDays
        Customer codes, day numbers and spend per customer-day.

    Raises
    ------
    DataError
        Missing columns, empty dates, or negative/missing amounts. Zero amounts (free orders) still
        count as purchases.
    """
    _check_transactions(transactions)
    amount = transactions[AMOUNT].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(amount) | (amount < 0)
    if bad.any() and end is not None:
        bad &= _day_numbers(transactions[ORDER_DATE]) <= to_day_number(end)
    if bad.any():
        raise DataError(
            f"{int(bad.sum()):,} purchase(s) have a negative or missing amount. Purchase and spend "
            "models need non-negative amounts: net refunds/returns into the original order first."
        )
    table = customer_days(transactions)  # built once per frame, shared with the KPIs
    if end is not None:
        table = table.until(to_day_number(end))
    if len(table) == 0:
        raise DataError("No purchases fall on or before the chosen end date.")
    return PurchaseDays(customer_ids=table.customer_ids, customer=table.customer, day=table.day, spend=table.spend)


def _summarise(days: PurchaseDays, end_day: int, time_unit: str) -> pd.DataFrame:
    """Per-customer summary from purchase days that all fall on or before `end_day`."""
    unit = unit_days(time_unit)
    first_row = days.first_row
    last_row = np.r_[first_row[1:], len(days.day)] - 1
    n_days = last_row - first_row + 1
    first_day = days.day[first_row]
    total = np.add.reduceat(days.spend, first_row)
    frequency = n_days - 1
    repeat_spend = total - days.spend[first_row]
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_spend / np.maximum(frequency, 1), 0.0)
    out = pd.DataFrame(
        {
            "frequency": frequency.astype(np.int64),
            "recency": (days.day[last_row] - first_day) / unit,
            "T": (end_day - first_day) / unit,
            "monetary_value": monetary,
            "first_purchase": first_day.astype("datetime64[D]").astype("datetime64[ns]"),
            "historic_value": total,
        },
        index=days.customer_ids[days.customer[first_row]],
    )
    out.index.name = CUSTOMER_ID
    out.attrs["time_unit"] = time_unit
    return out


def summarize_customers(
    transactions: pd.DataFrame, *, observation_end: object | None = None, time_unit: str = "W"
) -> pd.DataFrame:
    """Per-customer BTYD summary (see the module docstring for the columns and units).

    Parameters
    ----------
    transactions : pd.DataFrame
        Canonical transactions (`customer_id`, `order_date`, `amount` >= 0).
    observation_end : date-like, optional
        "Today" for the models (inclusive). Default: the last purchase day. Later purchases are ignored.
    time_unit : {'D', 'W', 'M'}
        Unit of `recency` and `T`.

    Returns
    -------
    pd.DataFrame
        Indexed by `customer_id`, columns frequency, recency, T, monetary_value, first_purchase,
        historic_value; one row per customer with a purchase on or before `observation_end`.
    """
    unit_days(time_unit)
    days = purchase_days(transactions, end=observation_end)
    end_day = int(days.day.max()) if observation_end is None else to_day_number(observation_end)
    return _summarise(days, end_day, time_unit)


@dataclass(frozen=True)
class HoldoutSplit:
    """A calibration/holdout split of the purchase history.

    Attributes
    ----------
    calibration : pd.DataFrame
        Summary (as `summarize_customers`) of the calibration period for every customer whose first
        purchase is on or before `calibration_end`, plus `frequency_holdout` (repeat purchase days in
        (calibration_end, holdout_end]) and `duration_holdout` (holdout length in the time unit).
    days : PurchaseDays
        All purchase days up to `holdout_end` (for the period-by-period tracking chart).
    calibration_end, holdout_end : pd.Timestamp
        Inclusive ends of the two periods (calendar days).
    time_unit : str
        'D', 'W' or 'M'.
    """

    calibration: pd.DataFrame
    days: PurchaseDays
    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    time_unit: str

    @property
    def holdout_periods(self) -> float:
        """Holdout length in the time unit."""
        return (self.holdout_end - self.calibration_end).days / unit_days(self.time_unit)


def default_calibration_end(first_day: int, last_day: int) -> int:
    """Default end of calibration: the last third of the history is held out.

    Parameters
    ----------
    first_day, last_day : int
        First and last purchase day (days since 1970-01-01).

    Returns
    -------
    int
        The calibration end, as a day number.

    Raises
    ------
    DataError
        When the history is shorter than `MIN_SPAN_DAYS`.
    """
    span = last_day - first_day
    if span < MIN_SPAN_DAYS:
        raise DataError(
            f"All purchases fall within {span + 1} day(s). Lifetime-value models need at least "
            f"{MIN_SPAN_DAYS // 7} weeks of history (a calibration period and a later holdout period "
            "to check them against); upload a longer purchase history."
        )
    return last_day - int(round(span / 3))


def calibration_holdout_split(
    transactions: pd.DataFrame,
    *,
    calibration_end: object | None = None,
    holdout_end: object | None = None,
    time_unit: str = "W",
) -> HoldoutSplit:
    """Split the history into a calibration period and a later holdout period.

    Parameters
    ----------
    transactions : pd.DataFrame
        Canonical transactions.
    calibration_end : date-like, optional
        Last day of calibration (inclusive). Default: the last third of the history (first to last
        purchase day) is held out; the history must span at least 12 weeks.
    holdout_end : date-like, optional
        Last day of the holdout (inclusive). Default: the last purchase day.
    time_unit : {'D', 'W', 'M'}
        Unit of recency, T and duration_holdout.

    Returns
    -------
    HoldoutSplit

    Notes
    -----
    Holdout purchases are counted at day granularity like the calibration ones: several orders of a
    customer on one day count once, so 2,357 CDNOW customers make 1,882 holdout repeat purchases.
    """
    unit = unit_days(time_unit)
    days = purchase_days(transactions, end=holdout_end)
    last_day = int(days.day.max()) if holdout_end is None else to_day_number(holdout_end)
    first_day = int(days.day.min())
    if calibration_end is None:
        cal_day = default_calibration_end(first_day, last_day)
    else:
        cal_day = to_day_number(calibration_end)
        if cal_day < first_day:
            raise DataError(
                f"The calibration end {from_day_number(cal_day).date()} is before the first purchase "
                f"({from_day_number(first_day).date()}); choose a later date."
            )
        if cal_day >= last_day:
            raise DataError(
                f"The calibration end {from_day_number(cal_day).date()} leaves no holdout period "
                f"(the data ends {from_day_number(last_day).date()}); choose an earlier date."
            )
    in_cal = days.day <= cal_day
    cal_days = PurchaseDays(days.customer_ids, days.customer[in_cal], days.day[in_cal], days.spend[in_cal])
    summary = _summarise(cal_days, cal_day, time_unit)
    # holdout purchase days of customers who were already customers at calibration end
    known = np.zeros(len(days.customer_ids), dtype=bool)
    known[cal_days.customer[cal_days.first_row]] = True
    hold = ~in_cal & known[days.customer]
    counts = np.bincount(days.customer[hold], minlength=len(days.customer_ids))
    summary["frequency_holdout"] = counts[cal_days.customer[cal_days.first_row]].astype(np.int64)
    summary["duration_holdout"] = (last_day - cal_day) / unit
    return HoldoutSplit(
        calibration=summary,
        days=days,
        calibration_end=from_day_number(cal_day),
        holdout_end=from_day_number(last_day),
        time_unit=time_unit,
    )


def simulate_transactions(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    spend: tuple[float, float, float] | None = (6.25, 3.74, 15.44),
    time_unit: str = "W",
    start: str | datetime.date = "2020-01-01",
    acquisition_days: int = 84,
    observation_days: int = 546,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulate a transaction log from a BG/NBD purchase process and Gamma-Gamma spend.

    Each customer i makes a first purchase on a uniformly random day of the first
    `acquisition_days`, then buys at Poisson rate lambda_i ~ Gamma(shape r, rate alpha) per period
    and, after each repeat purchase, drops out with probability p_i ~ Beta(a, b) (Fader, Hardie &
    Lee 2005, "Counting your customers the easy way", section 3). Spend per purchase is
    Gamma(p, nu_i) with nu_i ~ Gamma(q, rate v) (Fader, Hardie & Lee 2005, "RFM and CLV", appendix).

    Parameters
    ----------
    n_customers : int
        Number of customers.
    r, alpha, a, b : float
        BG/NBD parameters; `alpha` is in periods of `time_unit` (e.g. weeks).
    spend : (p, q, v) or None
        Gamma-Gamma parameters for the amount (currency); None gives amount 1.0 per purchase.
    time_unit : {'D', 'W', 'M'}
        Unit the rate parameters refer to.
    start : date-like
        Calendar date of day 0.
    acquisition_days, observation_days : int
        First purchases fall in days [0, acquisition_days); the log ends after `observation_days`.
    random_state : int or numpy Generator, optional
        Seed for reproducibility.

    Returns
    -------
    pd.DataFrame
        Canonical transactions (customer_id str, order_date datetime64[ns], amount float64), sorted
        by time within customer. Order times carry a time of day, so two purchases can share a day.
    """
    rng = np.random.default_rng(random_state)
    unit = unit_days(time_unit)
    n = int(n_customers)
    lam = rng.gamma(r, 1.0 / alpha, size=n) / unit  # purchases per day
    p_drop = rng.beta(a, b, size=n)
    t = rng.integers(0, acquisition_days, size=n) + rng.random(n)  # first purchase (days)
    customer_parts = [np.arange(n, dtype=np.int64)]
    time_parts = [t.copy()]
    active = np.arange(n, dtype=np.int64)
    while len(active):
        t_new = t[active] + rng.exponential(1.0, size=len(active)) / lam[active]
        ok = t_new < observation_days
        active, t_new = active[ok], t_new[ok]
        t[active] = t_new
        customer_parts.append(active)
        time_parts.append(t_new)
        active = active[rng.random(len(active)) >= p_drop[active]]
    customer = np.concatenate(customer_parts)
    times = np.concatenate(time_parts)
    order = np.lexsort((times, customer))
    customer, times = customer[order], times[order]
    if spend is None:
        amount = np.ones(len(customer))
    else:
        p, q, v = spend
        nu = rng.gamma(q, 1.0 / v, size=n)
        amount = rng.gamma(p, 1.0, size=len(customer)) / nu[customer]
    width = len(str(max(n - 1, 1)))
    names = np.array([f"C{i:0{width}d}" for i in range(n)], dtype=object)
    origin = pd.Timestamp(start).normalize().to_datetime64().astype("datetime64[ns]")
    order_date = origin + (times * 86_400e9).astype("timedelta64[ns]")
    return pd.DataFrame({CUSTOMER_ID: names[customer], ORDER_DATE: order_date, AMOUNT: np.round(amount, 2)})
