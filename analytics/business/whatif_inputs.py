"""What-if inputs from the data: defaults measured from a business's own history, the settings a
page or the report passes (`WhatIfSettings`) and `build_assumptions`, which turns both into the
frozen assumptions of `analytics.business.economics`. Bad settings raise `DataError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analytics.assumptions import ANNUAL_DISCOUNT_RATE, LTV_TO_CAC, MARGIN_RATE, WHATIF_HORIZON_YEARS, margin_or_default
from analytics.business.economics import (
    MAX_RETENTION,
    AcquisitionPolicy,
    BaseAssumptions,
    LiftBasis,
    LiftMode,
    LoyaltyEffects,
    Period,
    RetentionLift,
    _check,
    _check_horizon,
    _check_period,
    clv_gupta_lehmann,
    per_period_rate,
)
from analytics.data.periods import MONTHS_PER_PERIOD, PERIOD_NAMES, PERIODS_PER_YEAR
from analytics.data.schema import (
    ACQUISITION_COST,
    AMOUNT,
    CHURN_DATE,
    CHURNED,
    CUSTOMER_ID,
    MONTHLY_CHARGE,
    ORDER_DATE,
    SIGNUP_DATE,
    TENURE_MONTHS,
    CustomerData,
    DataError,
)
from analytics.engine.customer_days import customer_days
from analytics.jsonready import json_number

if TYPE_CHECKING:
    from analytics.models.clv import ClvAnalysis, ClvSettings

#: Periods over which retention, revenue and new customers are averaged.
MEASUREMENT_WINDOW = 12


#: Spend growth is offered only when at least this many customers were seen in 2+ periods...
MIN_GROWTH_CUSTOMERS = 50


#: ... and the within-customer trend is this many standard errors away from zero.
MIN_GROWTH_T = 2.0


@dataclass(frozen=True)
class DefaultValue:
    """One input for the what-if, with where it came from.

    Attributes
    ----------
    value : the number, in `unit`.
    unit : e.g. 'share per month', 'currency per customer per month', 'customers'.
    source : a plain sentence: how it was measured, or that it is an assumption to replace.
    measured : True when measured from the data, False when assumed.
    """

    value: float
    unit: str
    source: str
    measured: bool

    def as_dict(self) -> dict:
        """JSON-ready form (NaN becomes None).

        Returns
        -------
        dict
            value, unit, source, measured.
        """
        return {"value": json_number(self.value), "unit": self.unit, "source": self.source, "measured": self.measured}


def _label(p: pd.Period) -> str:
    return p.strftime("%d %b %Y") if p.freqstr.startswith("W") else str(p)


def _complete_range(start: pd.Timestamp, end: pd.Timestamp, period: str) -> tuple[pd.Period, pd.Period]:
    """First and last periods fully covered by data running from `start` to `end` (inclusive days)."""
    first, last = start.to_period(period), end.to_period(period)
    if start.normalize() > first.start_time:
        first += 1
    if end.normalize() < last.end_time.normalize():
        last -= 1
    return first, last


def _need_two_periods(period: str, first: pd.Period, last: pd.Period, what: str) -> None:
    if last.ordinal - first.ordinal < 1:
        unit = PERIOD_NAMES[period]
        raise DataError(
            f"Retention needs {what} in at least two complete {unit}s in a row; the data covers "
            f"{max(last.ordinal - first.ordinal + 1, 0)} complete {unit}(s). Choose a shorter period "
            f"or add more history."
        )


def _retention_value(retention: float, period: str, how: str) -> DefaultValue:
    unit = PERIOD_NAMES[period]
    note = ""
    if retention > MAX_RETENTION:
        note = f" Capped at {MAX_RETENTION:.1%}: at 100% nobody would ever leave."
        retention = MAX_RETENTION
    return DefaultValue(retention, f"share per {unit}", f"Measured: {how}.{note}", True)


@dataclass(frozen=True)
class GrowthSums:
    """What the within-customer spend trend needs (`_spend_growth`), summed over customer-periods.

    Attributes
    ----------
    repeat_customers : int
        Customers seen buying in two or more of the periods.
    repeat_rows : int
        Their customer-periods.
    sxx, sxy, syy : float
        Sums of squares and products of tenure (periods) and spend (currency), each centred on the
        customer's own means, over those customer-periods.
    first_spend : float
        Mean spend in a customer's first period (tenure 0), over every customer counted (NaN when none).
    """

    repeat_customers: int
    repeat_rows: int
    sxx: float
    sxy: float
    syy: float
    first_spend: float


@dataclass(frozen=True)
class PeriodActivity:
    """A purchase log seen per period: what the what-if measures retention, revenue and new customers from.

    Built from the customer-day table (`transaction_activity`) or inside a database
    (`analytics.engine.pushdown.summarise_periods`); both give the same figures.

    Attributes
    ----------
    counts : pd.DataFrame
        Indexed by period ordinal (ascending; periods with a purchase): buyers (customers with a
        purchase in the period), again (of them, those who bought in the period before too), new
        (those whose first purchase falls in it), spend (their purchases, currency).
    first_purchase, last_purchase, observation_end : pd.Timestamp
        The first and last purchase and the end of the data.
    growth : GrowthSums or None
        Over the complete periods measured (`measured_periods`), for customers first seen after
        the data's first period; None when fewer than two complete periods are covered.
    """

    counts: pd.DataFrame
    first_purchase: pd.Timestamp
    last_purchase: pd.Timestamp
    observation_end: pd.Timestamp
    growth: GrowthSums | None


def measured_periods(
    first_purchase: pd.Timestamp, last_purchase: pd.Timestamp, observation_end: pd.Timestamp, period: str
) -> tuple[pd.Period, pd.Period]:
    """First and last complete periods of a purchase log (the data never runs past the last purchase's period).

    Parameters
    ----------
    first_purchase, last_purchase, observation_end : pd.Timestamp
        The first and last purchase and the end of the data.
    period : str
        'W', 'M', 'Q' or 'Y'.

    Returns
    -------
    tuple of pd.Period
        First and last complete periods.
    """
    end = min(observation_end, last_purchase.to_period(period).end_time.normalize())
    return _complete_range(first_purchase, end, period)


def transaction_activity(data: CustomerData, period: str) -> PeriodActivity:
    """The purchase log's activity per period, from the customer-day table.

    Parameters
    ----------
    data : CustomerData
        A dataset with a purchase log.
    period : str
        'W', 'M', 'Q' or 'Y'.

    Returns
    -------
    PeriodActivity
        Counts per period and the spend-trend sums.
    """
    tx = data.require_transactions()
    first_purchase, last_purchase = tx[ORDER_DATE].min(), tx[ORDER_DATE].max()
    pairs = _customer_periods(tx, period)
    codes = pairs["code"]
    spend = pairs.groupby("code")[AMOUNT].sum()  # by period, sorted: the periods with a purchase
    # customers per period counted over the periods' range (no hash of millions of pairs)
    code = codes.to_numpy()
    low = int(code.min()) if len(code) else 0
    size = int(code.max()) - low + 1 if len(code) else 0
    present = spend.index.to_numpy(dtype=np.int64) - low

    def per_period(rows: np.ndarray) -> np.ndarray:
        return np.bincount(code[rows] - low, minlength=size)[present].astype(np.int64)

    everyone = np.ones(len(code), dtype=bool)
    counts = pd.DataFrame(
        {
            "buyers": per_period(everyone),
            "again": per_period(pairs["again"].to_numpy()),
            "new": per_period(code == pairs["first_code"].to_numpy()),
            "spend": spend.to_numpy(),
        },
        index=spend.index.to_numpy(dtype=np.int64),
    )
    counts.index.name = "period"
    first, last = measured_periods(first_purchase, last_purchase, data.observation_end, period)
    growth = None
    if last.ordinal - first.ordinal >= 1:
        growth = _growth_sums(pairs, first.ordinal, last.ordinal, int(codes.min()))
    return PeriodActivity(counts, first_purchase, last_purchase, data.observation_end, growth)


def _measure_transactions(data: CustomerData, period: str, window: int) -> dict[str, DefaultValue]:
    """Retention, revenue, new and starting customers, spend growth from the purchase log."""
    return measure_activity(transaction_activity(data, period), period, window)


def measure_activity(
    activity: PeriodActivity, period: str, window: int = MEASUREMENT_WINDOW
) -> dict[str, DefaultValue]:
    """Repeat rate, revenue, new and starting customers and spend growth from a purchase log's activity.

    Parameters
    ----------
    activity : PeriodActivity
        From `transaction_activity` or a database.
    period : str
        'W', 'M', 'Q' or 'Y'.
    window : int
        Complete periods averaged over.

    Returns
    -------
    dict of str to DefaultValue
        retention_rate (the repeat rate), revenue_per_customer, new_customers, starting_customers,
        spend_growth.

    Raises
    ------
    DataError
        With fewer than two complete periods, or no buyer in the periods measured.
    """
    unit = PERIOD_NAMES[period]
    first, last = measured_periods(activity.first_purchase, activity.last_purchase, activity.observation_end, period)
    _need_two_periods(period, first, last, "purchases")
    counts = activity.counts
    data_start = int(counts.index.min())
    active = counts["buyers"]
    to_code = np.arange(max(first.ordinal + 1, last.ordinal - window + 1), last.ordinal + 1)
    at_risk = float(active.reindex(to_code - 1, fill_value=0).sum())
    if at_risk == 0:
        raise DataError(f"No customer bought in the {unit}s used to measure retention, so it cannot be measured.")
    retention = float(counts["again"].reindex(to_code, fill_value=0).sum()) / at_risk
    span = f"{_label(pd.Period(ordinal=int(to_code[0]) - 1, freq=period))} – {_label(last)}"
    out = {
        "retention_rate": _retention_value(
            retention,
            period,
            f"of the customers who bought in a {unit}, {retention:.1%} bought again the next {unit} "
            f"(pooled over {len(to_code)} pairs of complete {unit}s, {span})",
        )
    }
    window_rows = counts[
        (counts.index >= max(last.ordinal - window + 1, first.ordinal)) & (counts.index <= last.ordinal)
    ]
    n_rev = int(window_rows["buyers"].sum())
    n_periods = len(window_rows)
    spend = float(window_rows["spend"].sum())
    out["revenue_per_customer"] = DefaultValue(
        spend / n_rev,
        f"currency per customer per {unit}",
        f"Measured: revenue per customer who bought in a {unit}, averaged over the last {n_periods} complete "
        f"{unit}s ({spend:,.0f} over {n_rev:,} customer-{unit}s).",
        True,
    )
    new_codes = np.arange(max(first.ordinal, data_start + 1, last.ordinal - window + 1), last.ordinal + 1)
    new = float(counts["new"].reindex(new_codes, fill_value=0).mean())
    out["new_customers"] = DefaultValue(
        new,
        f"customers per {unit}",
        f"Measured: customers making their first purchase, averaged over the last {len(new_codes)} complete "
        f"{unit}s (the data's first {unit} is left out: everyone is new there).",
        True,
    )
    starting = int(active.get(last.ordinal, 0))
    out["starting_customers"] = DefaultValue(
        float(starting),
        "customers",
        f"Measured: customers who bought in the last complete {unit} ({_label(last)}).",
        True,
    )
    assert activity.growth is not None  # two complete periods are covered (checked above)
    out["spend_growth"] = _spend_growth(activity.growth, unit)
    return out


def _customer_periods(transactions: pd.DataFrame, period: str) -> pd.DataFrame:
    """One row per (customer, period) with a purchase, from the customer-day table.

    Columns: customer_id (integer customer code), code (period ordinal), amount (spend in the
    period, currency), first_code (the customer's first period), again (bought in the period
    before too). Sorted by customer, then period.
    """
    table = customer_days(transactions)
    # every calendar day from the first purchase day to the last, so a day's period is a lookup
    first_day = int(table.day.min()) if len(table) else 0
    days = np.arange(first_day, int(table.day.max()) + 1 if len(table) else 0)
    # asi8 (the period ordinals) is public pandas API that pandas-stubs do not declare.
    period_of_day = pd.PeriodIndex(days.astype("datetime64[D]"), freq=period).asi8  # type: ignore[attr-defined]
    code = period_of_day[table.day - first_day]
    customer = table.customer
    same_customer = np.r_[False, customer[1:] == customer[:-1]]
    starts = np.flatnonzero(~(same_customer & np.r_[False, code[1:] == code[:-1]]))
    pair_customer, pair_code = customer[starts], code[starts]
    first_pair = np.r_[True, pair_customer[1:] != pair_customer[:-1]]
    first_code = pair_code[np.flatnonzero(first_pair)]
    return pd.DataFrame(
        {
            CUSTOMER_ID: pair_customer.astype(np.int64),  # int64 as before (the table's codes may be int32)
            "code": pair_code,
            AMOUNT: np.add.reduceat(table.spend, starts),
            "first_code": np.repeat(first_code, np.diff(np.r_[np.flatnonzero(first_pair), len(starts)])),
            "again": ~first_pair & (np.r_[0, pair_code[:-1]] == pair_code - 1),
        },
        copy=False,  # new arrays: not copied again into one block per dtype (1 CPU s at 2M customers)
    )


def _measure_purchase_model(
    data: CustomerData, period: str, window: int, clv_settings: ClvSettings | None, clv: ClvAnalysis | None
) -> dict[str, DefaultValue]:
    """A purchase log's inputs from the same fitted purchase model as the Lifetime value page.

    Starting customers = the model's expected active customers, retention = its yearly retention
    per period, revenue = its revenue per active customer-month (`analytics.business.value`). New
    customers and spend growth stay measured from first purchases; month-to-month repeat buying is
    kept under its own name, ``repeat_rate`` (it is not retention: occasional buyers skip months).
    """
    from analytics.business.value import purchase_analysis

    out = _measure_transactions(data, period, window)
    try:
        analysis = clv if clv is not None else purchase_analysis(data, clv_settings)
    except DataError as err:  # too little history for a purchase model: the repeat rate, said so
        return _repeat_rate_stands_in(out, err)
    return _with_purchase_model(out, analysis, period)


def _repeat_rate_stands_in(out: dict[str, DefaultValue], err: DataError) -> dict[str, DefaultValue]:
    """The measured repeat rate as retention, saying why the purchase model could not give it."""
    repeat = out["retention_rate"]
    out["retention_rate"] = replace(
        repeat,
        source=f"{repeat.source} The purchase model could not be fitted ({err}), so this repeat rate stands in "
        "for retention and understates it for occasional buyers.",
    )
    return out


def _with_purchase_model(out: dict[str, DefaultValue], analysis: ClvAnalysis, period: str) -> dict[str, DefaultValue]:
    """Retention, starting customers and revenue from the purchase model; the repeat rate kept as `repeat_rate`."""
    from analytics.business.value import purchase_model_inputs

    unit = PERIOD_NAMES[period]
    repeat = out.pop("retention_rate")
    out["repeat_rate"] = DefaultValue(
        repeat.value,
        repeat.unit,
        repeat.source.replace("Measured: ", "Measured (repeat rate, not used as retention): ", 1),
        True,
    )
    for name, (value, unit_text, source) in purchase_model_inputs(analysis, PERIODS_PER_YEAR[period], unit).items():
        if name == "retention_rate":
            out[name] = _retention_value(value, period, source[0].lower() + source[1:].rstrip("."))
        else:
            out[name] = DefaultValue(value, unit_text, f"Measured: {source[0].lower() + source[1:]}", True)
    return out


def _growth_sums(pairs: pd.DataFrame, first: int, last: int, data_start: int) -> GrowthSums:
    """`GrowthSums` over the customer-periods `first`..`last` of customers first seen after `data_start`.

    `pairs` is sorted by customer (`_customer_periods`), so each customer's rows are one run:
    per-customer counts and means come from run boundaries (numpy), not a group-by.
    """
    code = pairs["code"].to_numpy()
    first_code = pairs["first_code"].to_numpy()
    keep = (code >= first) & (code <= last) & (first_code > data_start)
    customer = pairs[CUSTOMER_ID].to_numpy()[keep]
    tenure = (code[keep] - first_code[keep]).astype(float)
    spend = pairs[AMOUNT].to_numpy(dtype=float)[keep]
    starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]]) if len(customer) else np.empty(0, np.int64)
    sizes = np.diff(np.r_[starts, len(customer)])
    repeat = np.repeat(sizes >= 2, sizes)
    at_start = np.flatnonzero(sizes >= 2)
    repeat_sizes = sizes[at_start]
    mean_tenure = np.add.reduceat(tenure, starts)[at_start] / repeat_sizes if len(starts) else np.empty(0)
    mean_spend = np.add.reduceat(spend, starts)[at_start] / repeat_sizes if len(starts) else np.empty(0)
    dt = tenure[repeat] - np.repeat(mean_tenure, repeat_sizes)
    ds = spend[repeat] - np.repeat(mean_spend, repeat_sizes)
    opening = tenure == 0
    return GrowthSums(
        repeat_customers=len(at_start),
        repeat_rows=int(repeat.sum()),
        sxx=float((dt * dt).sum()),
        sxy=float((dt * ds).sum()),
        syy=float((ds * ds).sum()),
        first_spend=float(spend[opening].mean()) if opening.any() else math.nan,
    )


def _spend_growth(sums: GrowthSums, unit: str) -> DefaultValue:
    """Within-customer trend of spend per active period against tenure, as a share of first-period spend.

    Fixed-effects (within) regression: spend and tenure are centred on each customer's own means,
    so the slope is how a customer's own spend moves as they stay, not a mix of who stays.
    Customers first seen in the data's first period are left out (their tenure is unknown).
    """
    n_repeat, first_spend, sxx = sums.repeat_customers, sums.first_spend, sums.sxx
    unit_label = f"share of first-{unit} spend per {unit} of tenure"
    if n_repeat < MIN_GROWTH_CUSTOMERS or not first_spend > 0:
        return DefaultValue(
            0.0,
            unit_label,
            f"Not measured: only {n_repeat} customers were seen buying in two or more complete {unit}s after "
            f"the data's first {unit} (at least {MIN_GROWTH_CUSTOMERS} are needed); set to 0.",
            False,
        )
    slope = sums.sxy / sxx if sxx > 0 else 0.0
    dof = max(sums.repeat_rows - n_repeat - 1, 1)
    # residual sum of squares of the centred regression: syy - 2 slope sxy + slope^2 sxx
    residual = max(sums.syy - 2.0 * slope * sums.sxy + slope * slope * sxx, 0.0)
    se = math.sqrt(residual / dof / sxx) if sxx > 0 else math.inf
    growth = slope / first_spend
    t_stat = slope / se if se > 0 else math.inf
    trend = (
        f"a customer's spend per active {unit} changes by {growth:+.2%} of their first {unit}'s spend "
        f"({first_spend:,.2f}) for each further {unit} they stay (within-customer trend over {n_repeat:,} "
        f"customers seen in two or more {unit}s, t = {t_stat:.1f})"
    )
    if abs(t_stat) < MIN_GROWTH_T:
        return DefaultValue(
            0.0, unit_label, f"Not measured with confidence: {trend}; too noisy to use, set to 0.", False
        )
    return DefaultValue(growth, unit_label, f"Measured: {trend}.", True)


def _customer_codes(dates: pd.Series, period: str) -> np.ndarray:
    """Period ordinals of `dates`; NaT becomes a code after every real period."""
    codes = dates.dt.to_period(period).array.asi8.astype(float)
    codes[dates.isna().to_numpy()] = np.inf
    return codes


def _measure_customers(data: CustomerData, period: str, window: int) -> dict[str, DefaultValue]:
    """Retention, revenue, new and starting customers from a customers table."""
    cust = data.require_customers()
    unit = PERIOD_NAMES[period]
    per_period = MONTHS_PER_PERIOD[period]
    churned = cust[CHURNED].fillna(False).to_numpy(bool) if data.has_column(CHURNED) else np.zeros(len(cust), bool)
    out: dict[str, DefaultValue] = {}
    if data.has_column(SIGNUP_DATE) and (CHURN_DATE in cust.columns or not churned.any()):
        churn_dates = cust[CHURN_DATE] if CHURN_DATE in cust.columns else pd.Series(pd.NaT, index=cust.index)
        usable = cust[SIGNUP_DATE].notna().to_numpy() & ~(churned & churn_dates.isna().to_numpy())
        rows = cust.loc[usable]
        signup = _customer_codes(cust.loc[usable, SIGNUP_DATE], period)
        leave = _customer_codes(churn_dates[usable], period)
        first, last = _complete_range(cust.loc[usable, SIGNUP_DATE].min(), data.observation_end, period)
        _need_two_periods(period, first, last, "signups and churn dates")
        to_code = np.arange(max(first.ordinal + 1, last.ordinal - window + 1), last.ordinal + 1)
        # active at the end of period p: signed up by p and not left within p (churn code > p)
        at_risk = sum(int(((signup <= c - 1) & (leave > c - 1)).sum()) for c in to_code)
        stayed = sum(int(((signup <= c - 1) & (leave > c)).sum()) for c in to_code)
        if at_risk == 0:
            raise DataError(f"No customer was active in the {unit}s used to measure retention.")
        retention = stayed / at_risk
        out["retention_rate"] = _retention_value(
            retention,
            period,
            f"of the customers active at the end of a {unit}, {retention:.1%} were still customers at the end of "
            f"the next (signup and churn dates, pooled over the last {len(to_code)} complete {unit}s)",
        )
        active_now = (signup <= last.ordinal) & (leave > last.ordinal)
        starting_how = f"customers active at the end of {_label(last)} (signup and churn dates)"
    elif data.has_column(CHURNED) and data.has_column(TENURE_MONTHS):
        tenure = cust[TENURE_MONTHS].to_numpy(float)
        known = np.isfinite(tenure) & cust[CHURNED].notna().to_numpy()
        exposure = float(np.clip(tenure[known], 0, None).sum())
        leavers = int(churned[known].sum())
        if exposure <= 0:
            raise DataError("The tenure column is empty or zero, so retention cannot be measured.")
        monthly = max(1.0 - leavers / exposure, 0.0)  # geometric-lifetime MLE: churn = leavers / months at risk
        retention = monthly**per_period
        out["retention_rate"] = _retention_value(
            retention,
            period,
            f"{leavers:,} customers left in {exposure:,.0f} customer-months of tenure, a monthly churn of "
            f"{1 - monthly:.2%} (churned flag and tenure in months), i.e. {retention:.1%} retained per {unit}",
        )
        active_now = known & ~churned
        rows = cust
        starting_how = "customers not marked as churned"
    else:
        raise DataError(
            "Retention cannot be measured: the data needs dated purchases, or a customers table with signup and "
            "churn dates, or a churned flag with tenure in months."
        )
    out["starting_customers"] = DefaultValue(float(active_now.sum()), "customers", f"Measured: {starting_how}.", True)
    if not data.has_column(MONTHLY_CHARGE):
        raise DataError(
            "Revenue per customer cannot be measured: add the purchase log, or a monthly charge column to the "
            "customers table."
        )
    charge = float(rows.loc[active_now, MONTHLY_CHARGE].mean()) if active_now.any() else math.nan
    if not math.isfinite(charge):
        charge = float(rows[MONTHLY_CHARGE].mean())
    out["revenue_per_customer"] = DefaultValue(
        charge * per_period,
        f"currency per customer per {unit}",
        f"Measured: the average monthly charge of current customers ({charge:,.2f}) × {per_period:g} months per {unit}.",
        True,
    )
    if data.has_column(SIGNUP_DATE):
        first_s, last_s = _complete_range(cust[SIGNUP_DATE].min(), data.observation_end, period)
        codes = _customer_codes(cust[SIGNUP_DATE].dropna(), period)
        window_codes = np.arange(max(first_s.ordinal, last_s.ordinal - window + 1), last_s.ordinal + 1)
        if len(window_codes):
            new = float(np.mean([(codes == c).sum() for c in window_codes]))
            out["new_customers"] = DefaultValue(
                new,
                f"customers per {unit}",
                f"Measured: signups per {unit}, averaged over the last {len(window_codes)} complete {unit}s.",
                True,
            )
    if "new_customers" not in out:
        r = out["retention_rate"].value
        out["new_customers"] = DefaultValue(
            out["starting_customers"].value * (1 - r),
            f"customers per {unit}",
            "Assumed — set your own: enough new customers to replace those who leave (no signup dates in the data).",
            False,
        )
    out["spend_growth"] = DefaultValue(
        0.0,
        f"share of first-{unit} spend per {unit} of tenure",
        "Not measured: needs a purchase log; set to 0.",
        False,
    )
    return out


def _assumed_acquisition_cost(
    revenue: float, retention: float, margin_rate: float, discount_rate: float, period: str
) -> DefaultValue:
    unit = PERIOD_NAMES[period]
    clv = clv_gupta_lehmann(revenue * margin_rate, retention, discount_rate)
    return DefaultValue(
        clv / LTV_TO_CAC,
        "currency per new customer",
        f"Assumed — set your own: a third of a new customer's lifetime value ({clv:,.2f} at {margin_rate:.0%} "
        f"margin and {discount_rate:.2%} discount a {unit}), the common 3:1 value-to-acquisition-cost rule of thumb.",
        False,
    )


def defaults_from_data(
    data: CustomerData,
    period: Period = "M",
    *,
    window: int = MEASUREMENT_WINDOW,
    business_kind: str | None = None,
    clv_settings: ClvSettings | None = None,
    clv: ClvAnalysis | None = None,
) -> dict[str, DefaultValue]:
    """What-if inputs measured from the data, each with its unit and source.

    Parameters
    ----------
    data : cleaned dataset. The purchase log is used when present; otherwise the customers table
        (signup and churn dates, or a churned flag with tenure in months, plus the monthly charge).
    period : period length, 'W', 'M', 'Q' or 'Y'.
    window : number of recent complete periods averaged over (12 by default).

    Returns
    -------
    dict with keys ``retention_rate`` (share retained per period), ``revenue_per_customer``
    (currency per active customer per period), ``new_customers`` (per period),
    ``starting_customers``, ``spend_growth`` (share of first-period spend per period of tenure;
    0 unless measurable), ``margin_rate`` (assumed 30%), ``acquisition_cost`` (measured from an
    acquisition_cost column, else assumed: a third of lifetime value), ``fixed_costs`` (assumed 0).

    For a purchase log (`analytics.business.kind`, or `business_kind='purchase_log'`) retention,
    starting customers and revenue come from the fitted purchase model, the same one as the
    Lifetime value page (`clv`, or fitted with `clv_settings`): see `_measure_purchase_model`; the
    month-to-month repeat buying is returned as ``repeat_rate``. For a subscription with payments,
    retention is the share of customers paying in period t-1 who pay again in t, pooled over the
    last `window` pairs of complete periods.

    Raises
    ------
    DataError when retention or revenue cannot be measured.
    """
    _check_period(period)
    tx_error: DataError | None = None
    out: dict[str, DefaultValue] | None = None
    from analytics.business.kind import PURCHASE_LOG, detect_business_kind

    # a purchase-log override on data with purchases needs no detection (it would only confirm it)
    purchase_log = data.has_transactions and (
        business_kind == PURCHASE_LOG or detect_business_kind(data, business_kind).kind == PURCHASE_LOG
    )
    if purchase_log:
        out = _measure_purchase_model(data, period, window, clv_settings, clv)
    elif data.has_transactions:
        try:
            out = _measure_transactions(data, period, window)
        except DataError as err:
            tx_error = err
    if out is None:
        if not data.has_customers:
            raise tx_error or DataError("There is no data to measure retention from.")
        try:
            out = _measure_customers(data, period, window)
        except DataError:
            if tx_error is not None:
                raise tx_error from None
            raise
    return _add_assumptions(out, data, period)


def defaults_from_activity(
    activity: PeriodActivity,
    period: Period = "M",
    *,
    window: int = MEASUREMENT_WINDOW,
    clv: ClvAnalysis | DataError | None = None,
    customers: CustomerData | None = None,
) -> dict[str, DefaultValue]:
    """What-if inputs of a purchase log seen per period (e.g. computed in a database), as `defaults_from_data`.

    Parameters
    ----------
    activity : PeriodActivity
        The log's activity per period (`analytics.engine.pushdown.summarise_periods`).
    period : str
        'W', 'M', 'Q' or 'Y'.
    window : int
        Complete periods averaged over.
    clv : ClvAnalysis, DataError or None
        The purchase model's analysis (retention, starting customers and revenue come from it, as
        for a purchase log in `defaults_from_data`), or why it could not be fitted (the repeat rate
        stands in, said so), or None for a subscription business (the repeat rate is retention).
    customers : CustomerData, optional
        A customers table (for a measured acquisition cost).

    Returns
    -------
    dict of str to DefaultValue
        The same keys as `defaults_from_data`.

    Raises
    ------
    DataError
        When retention or revenue cannot be measured.
    """
    _check_period(period)
    out = measure_activity(activity, period, window)
    if isinstance(clv, DataError):
        out = _repeat_rate_stands_in(out, clv)
    elif clv is not None:
        out = _with_purchase_model(out, clv, period)
    return _add_assumptions(out, customers, period)


def _add_assumptions(out: dict[str, DefaultValue], data: CustomerData | None, period: str) -> dict[str, DefaultValue]:
    """Margin, acquisition cost (measured from the customers table when it has one) and fixed costs."""
    unit = PERIOD_NAMES[period]
    out["margin_rate"] = DefaultValue(
        MARGIN_RATE,
        "share of revenue",
        f"Assumed — set your own: {MARGIN_RATE:.0%} of revenue kept after the cost of goods and of serving "
        "customers (margins are not in the data).",
        False,
    )
    if data is not None and data.has_column(ACQUISITION_COST):
        costs = data.require_customers()[ACQUISITION_COST].dropna()
        out["acquisition_cost"] = DefaultValue(
            float(costs.mean()),
            "currency per new customer",
            f"Measured: the average acquisition cost in your customers table ({len(costs):,} customers).",
            True,
        )
    else:
        out["acquisition_cost"] = _assumed_acquisition_cost(
            out["revenue_per_customer"].value,
            out["retention_rate"].value,
            MARGIN_RATE,
            per_period_rate(ANNUAL_DISCOUNT_RATE, period),
            period,
        )
    out["fixed_costs"] = DefaultValue(
        0.0,
        f"currency per {unit}",
        "Assumed — set your own: fixed costs are not in the data; higher fixed costs make profit react more "
        "to retention.",
        False,
    )
    return out


@dataclass(frozen=True)
class WhatIfSettings:
    """Choices for the what-if that the data cannot supply.

    Parameters
    ----------
    lift : size of the retention lift (points, or percent in relative mode), default 5.
    lift_mode : 'points' or 'relative'.
    lift_basis : 'year' (default: the lift applies to yearly retention, as in Bain's band) or
        'period' (to the retention per period itself).
    period : period length 'W', 'M', 'Q' or 'Y' (default month).
    margin_rate : share of revenue kept as margin; None (default) means not chosen: the assumed
        `analytics.assumptions.MARGIN_RATE` (30%) is used and labelled as an assumption.
    discount_rate_annual : yearly discount rate (default 0.10), converted to the period.
    horizon_periods : periods to follow; None means five years.
    acquisition_cost : currency per new customer; None takes the data's default.
    fixed_costs : currency per period (default 0).
    acquisition : 'constant' (win the measured new customers each period) or 'replace'.
    loyalty : Reichheld's loyalty effects (zero by default).

    Raises
    ------
    DataError
        For a lift, period, margin, discount rate, horizon or cost out of range.
    """

    lift: float = 5.0
    lift_mode: LiftMode = "points"
    lift_basis: LiftBasis = "year"
    period: Period = "M"
    margin_rate: float | None = None
    discount_rate_annual: float = ANNUAL_DISCOUNT_RATE
    horizon_periods: int | None = None
    acquisition_cost: float | None = None
    fixed_costs: float = 0.0
    acquisition: AcquisitionPolicy = "constant"
    loyalty: LoyaltyEffects = field(default_factory=LoyaltyEffects)

    def __post_init__(self) -> None:
        RetentionLift(self.lift, self.lift_mode, self.lift_basis)  # validates
        _check_period(self.period)
        if self.margin_rate is not None:
            _check("margin_rate", self.margin_rate, 0.0, 1.0)
        _check("discount_rate_annual", self.discount_rate_annual, 0.0, 1.0)
        if self.horizon_periods is not None:
            _check_horizon(self.horizon_periods)
        if self.acquisition_cost is not None:
            _check("acquisition_cost", self.acquisition_cost, 0.0, 1e12)
        _check("fixed_costs", self.fixed_costs, 0.0, 1e15)

    @property
    def horizon(self) -> int:
        """Horizon in periods."""
        if self.horizon_periods is not None:
            return int(self.horizon_periods)
        return int(round(WHATIF_HORIZON_YEARS * PERIODS_PER_YEAR[self.period]))

    @property
    def effective_margin_rate(self) -> float:
        """The margin rate used: the one chosen, or the assumed default when none was chosen."""
        return margin_or_default(self.margin_rate)

    @property
    def discount_rate(self) -> float:
        """Discount rate per period."""
        return per_period_rate(self.discount_rate_annual, self.period)

    @property
    def retention_lift(self) -> RetentionLift:
        return RetentionLift(self.lift, self.lift_mode, self.lift_basis)


def build_assumptions(
    defaults: dict[str, DefaultValue], settings: WhatIfSettings
) -> tuple[BaseAssumptions, dict[str, DefaultValue]]:
    """Combine measured defaults and settings into `BaseAssumptions`, with the source of every input.

    Parameters
    ----------
    defaults : dict of str to DefaultValue
        `defaults_from_data(data, settings.period)`: what the data measures (retention, revenue,
        new and starting customers, ...), each with its source.
    settings : WhatIfSettings
        The user's choices (margin, discount rate, costs, lift, horizon).

    Returns
    -------
    tuple of (BaseAssumptions, dict of str to DefaultValue)
        The business today for `whatif`, and every input with its value, unit and source
        (measured or chosen) for the assumptions table.
    """
    unit = PERIOD_NAMES[settings.period]
    inputs = {k: defaults[k] for k in ("retention_rate", "revenue_per_customer", "new_customers", "starting_customers")}
    if "repeat_rate" in defaults:  # purchase logs: shown under its own name, not used as retention
        inputs["repeat_rate"] = defaults["repeat_rate"]

    def chosen(value: float, unit_text: str, what: str) -> DefaultValue:
        return DefaultValue(float(value), unit_text, f"Chosen in the what-if settings ({what}).", False)

    if settings.margin_rate is None:
        inputs["margin_rate"] = defaults["margin_rate"]
    else:
        inputs["margin_rate"] = chosen(settings.effective_margin_rate, "share of revenue", "margin")
    if settings.acquisition_cost is not None:
        inputs["acquisition_cost"] = chosen(settings.acquisition_cost, "currency per new customer", "acquisition cost")
    elif defaults["acquisition_cost"].measured:
        inputs["acquisition_cost"] = defaults["acquisition_cost"]
    else:
        inputs["acquisition_cost"] = _assumed_acquisition_cost(
            defaults["revenue_per_customer"].value,
            defaults["retention_rate"].value,
            settings.effective_margin_rate,
            settings.discount_rate,
            settings.period,
        )
    inputs["fixed_costs"] = (
        chosen(settings.fixed_costs, f"currency per {unit}", "fixed costs")
        if settings.fixed_costs
        else defaults["fixed_costs"]
    )
    inputs["discount_rate"] = DefaultValue(
        settings.discount_rate,
        f"share per {unit}",
        f"Chosen in the what-if settings: {settings.discount_rate_annual:.0%} a year, compounded to the {unit}.",
        False,
    )
    inputs["horizon"] = chosen(settings.horizon, f"{unit}s", "horizon")
    basis = "yearly retention" if settings.lift_basis == "year" else f"retention per {unit}"
    inputs["lift"] = chosen(
        settings.lift,
        f"percentage points of {basis}" if settings.lift_mode == "points" else f"percent of {basis}",
        "retention lift",
    )
    for name, unit_text in (
        ("spend_growth", defaults["spend_growth"].unit),
        ("referrals", f"new customers per retained customer per {unit}"),
        ("cost_reduction", f"share of variable cost per {unit} of tenure"),
        ("cost_reduction_cap", "share of variable cost"),
    ):
        value = getattr(settings.loyalty, name)
        off = name != "cost_reduction_cap" and value == 0
        inputs[name] = (
            DefaultValue(0.0, unit_text, "Loyalty effect off (0).", False)
            if off
            else chosen(value, unit_text, "loyalty effect")
        )
    base = BaseAssumptions(
        starting_customers=defaults["starting_customers"].value,
        retention=defaults["retention_rate"].value,
        revenue_per_customer=defaults["revenue_per_customer"].value,
        margin_rate=settings.effective_margin_rate,
        new_customers=defaults["new_customers"].value,
        acquisition_cost=inputs["acquisition_cost"].value,
        fixed_costs=settings.fixed_costs,
        discount_rate=settings.discount_rate,
        period=settings.period,
        acquisition=settings.acquisition,
    )
    return base, inputs
