"""Retention economics: what a retention lift is worth, on a business's own numbers.

The model follows a customer base through `H` periods (weeks, months, quarters or years). Each
period, in this order (the timing of Gupta & Lehmann 2003, "Customers as assets", J. Interactive
Marketing 17(1), where a customer's value is counted from the moment they are won):

1. Of the ``N[t-1]`` customers on the books at the start of period ``t``, a share ``r`` stays
   (``retained[t] = r * N[t-1]``) and ``lost[t] = (1 - r) * N[t-1]`` leave.
2. Each retained customer pays their margin at the end of the period. A customer in their k-th
   paid period (tenure ``k`` periods, ``k >= 1``) earns

   ``margin(k) = R * mu * max(1 + g (k - 1), 0) + R * (1 - mu) * min(c (k - 1), cap)``

   with ``R`` the revenue per customer per period (what a customer pays in their first paid
   period), ``mu`` the margin rate, ``g`` the spend growth per period of tenure and ``c`` the
   per-period fall in the cost of serving a customer, capped at ``cap`` (both loyalty
   effects of Reichheld & Sasser 1990, "Zero defections", HBR 68(5); Reichheld 1996, "The
   Loyalty Effect"). Revenue grows with spend (``R * max(1 + g (k - 1), 0)``) and so does the cost
   of the goods; the cost-to-serve saving is a share of a first-period customer's variable cost
   ``R * (1 - mu)``.
3. Retained customers bring ``referred[t] = rho * retained[t]`` new customers who cost nothing to
   win (Reichheld's referral effect). The business also pays ``acquisition_cost`` for each of
   ``paid[t]`` new customers: a constant ``new_customers`` a period (``acquisition='constant'``),
   or just enough to replace the customers lost (``acquisition='replace'``, a base held at its
   size). New customers join at the end of the period with tenure 0:
   ``N[t] = retained[t] + referred[t] + paid[t]``.
4. ``profit[t] = margin[t] - acquisition_cost * paid[t] - fixed_costs``, discounted by
   ``(1 + d) ** -t`` (discount rate ``d`` per period).

Customers are tracked by tenure (cohort ``s`` is everyone who joined at the end of period ``s``; it
holds ``arrivals[s] * r ** k`` customers at tenure ``k``), so the tenure effects are exact. Today's
customers (``starting_customers``) enter as cohort 0: the model does not know how long they have
been customers, so tenure effects count only tenure built up within the horizon (conservative).

Closed forms the model reproduces (tests pin them):

- Customer lifetime value, margin ``m`` paid at the end of each period survived (Gupta & Lehmann
  2003): ``CLV = m r / (1 + d - r)``. With linear spend growth ``g`` the series
  ``sum_k m (1 + g (k - 1)) q**k`` is arithmetico-geometric:
  ``CLV = m q / (1 - q) + m g q**2 / (1 - q)**2`` where ``q = r / (1 + d)``.
- Steady-state base with a constant ``A`` new customers a period: ``N* = A / (1 - r (1 + rho))``
  (e.g. 2,000 a period: 10,000 customers at r = 0.80, 13,333 at r = 0.85).

The headline claim tested against is Reichheld & Sasser (1990) / Bain & Company (Reichheld &
Schefter 2000, "E-loyalty", HBR 78(4)): raising retention by 5 points raises profit by 25% to 95%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics.assumptions import MARGIN_RATE
from analytics.data.periods import PERIOD_NAMES, PERIODS_PER_YEAR
from analytics.data.schema import DataError

Period = Literal["W", "M", "Q", "Y"]


LiftMode = Literal["points", "relative"]


LiftBasis = Literal["period", "year"]


AcquisitionPolicy = Literal["constant", "replace"]


#: Highest retention a lift can reach. At 100% nobody ever leaves and lifetime value is infinite.
MAX_RETENTION = 0.999


#: Below this yearly retention a 'year' lift falls back to the period's retention (see RetentionLift).
MIN_YEARLY_RETENTION = 0.05


#: Longest horizon the model accepts, in periods.
MAX_HORIZON = 1200


#: The Reichheld / Bain band: profit change, in percent, for a 5-point retention lift.
BAND_LOW_PCT = 25.0


BAND_HIGH_PCT = 95.0


BAND_LIFT_POINTS = 5.0


# Waterfall sources, in the order they are attributed.
SOURCE_KEPT = "More customers kept"


SOURCE_SPEND = "Spend growth with tenure"


SOURCE_REFERRALS = "Referrals"


SOURCE_SERVE = "Lower cost to serve"


SOURCE_ACQUISITION = "Less acquisition spend"


SOURCE_DISCOUNTING = "Discounting"


WATERFALL_SOURCES: tuple[str, ...] = (
    SOURCE_KEPT,
    SOURCE_SPEND,
    SOURCE_REFERRALS,
    SOURCE_SERVE,
    SOURCE_ACQUISITION,
    SOURCE_DISCOUNTING,
)


FRAME_COLUMNS: tuple[str, ...] = (
    "period",
    "customers",
    "retained",
    "lost",
    "new",
    "referred",
    "paid_new",
    "revenue",
    "margin",
    "margin_base",
    "margin_spend_growth",
    "margin_cost_to_serve",
    "acquisition_spend",
    "fixed_costs",
    "profit",
    "discount_factor",
    "discounted_profit",
)


def _check(name: str, value: float, low: float, high: float, *, low_open: bool = False) -> None:
    """Raise DataError with a plain message when `value` is not a finite number in [low, high]."""
    if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value):
        raise DataError(f"{name} must be a finite number, got {value!r}.")
    if value < low or value > high or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise DataError(f"{name} must be in {bracket}{low:g}, {high:g}], got {value:g}.")


def _check_period(period: str) -> None:
    if period not in PERIODS_PER_YEAR:
        raise DataError(f"period must be one of {', '.join(PERIODS_PER_YEAR)}, got {period!r}.")


@dataclass(frozen=True)
class BaseAssumptions:
    """The business as it is today, per period.

    Parameters
    ----------
    starting_customers : customers on the books now (count).
    retention : share of customers at the start of a period still customers at its end (0..1).
    revenue_per_customer : revenue per retained customer per period, currency. With spend growth
        switched on it is what a customer pays in their first paid period.
    margin_rate : share of revenue kept after the cost of goods and of serving (0..1).
    new_customers : customers won (and paid for) per period, count.
    acquisition_cost : cost of winning one new customer, currency.
    fixed_costs : fixed costs per period, currency (the same in every scenario).
    discount_rate : discount rate per period (e.g. 0.10 a year is 0.00797 a month).
    period : the period length, 'W', 'M', 'Q' or 'Y' (used for wording only).
    acquisition : 'constant' wins `new_customers` a period; 'replace' pays to replace every
        customer lost (the base holds its size) and ignores `new_customers`.

    Raises
    ------
    DataError
        For a value out of its range (the message names the field and the range).
    """

    starting_customers: float
    retention: float
    revenue_per_customer: float
    margin_rate: float = MARGIN_RATE
    new_customers: float = 0.0
    acquisition_cost: float = 0.0
    fixed_costs: float = 0.0
    discount_rate: float = 0.0
    period: Period = "M"
    acquisition: AcquisitionPolicy = "constant"

    def __post_init__(self) -> None:
        _check("starting_customers", self.starting_customers, 0.0, 1e12)
        _check("retention", self.retention, 0.0, MAX_RETENTION)
        _check("revenue_per_customer", self.revenue_per_customer, 0.0, 1e12)
        _check("margin_rate", self.margin_rate, 0.0, 1.0)
        _check("new_customers", self.new_customers, 0.0, 1e12)
        _check("acquisition_cost", self.acquisition_cost, 0.0, 1e12)
        _check("fixed_costs", self.fixed_costs, 0.0, 1e15)
        _check("discount_rate", self.discount_rate, 0.0, 10.0)
        _check_period(self.period)
        if self.acquisition not in ("constant", "replace"):
            raise DataError(f"acquisition must be 'constant' or 'replace', got {self.acquisition!r}.")

    @property
    def margin_per_customer(self) -> float:
        """Margin per retained customer per period, currency (``revenue * margin_rate``)."""
        return self.revenue_per_customer * self.margin_rate


@dataclass(frozen=True)
class LoyaltyEffects:
    """Reichheld's loyalty effects (all zero by default: the plain retention effect only).

    Parameters
    ----------
    spend_growth : rise in spend per period of tenure, as a share of first-period spend
        (0.01 = +1% of the first period's spend for every further period; linear, not compound).
    referrals : new customers brought in per retained customer per period (they cost nothing).
    cost_reduction : fall in the cost of serving a customer per period of tenure, as a share of a
        first-period customer's variable cost ``revenue * (1 - margin_rate)``; linear.
    cost_reduction_cap : the most that cost can fall, as a share (default 25%).

    Raises
    ------
    DataError
        For a value out of its range.
    """

    spend_growth: float = 0.0
    referrals: float = 0.0
    cost_reduction: float = 0.0
    cost_reduction_cap: float = 0.25

    def __post_init__(self) -> None:
        _check("spend_growth", self.spend_growth, -1.0, 1.0)
        _check("referrals", self.referrals, 0.0, 0.5)
        _check("cost_reduction", self.cost_reduction, 0.0, 1.0)
        _check("cost_reduction_cap", self.cost_reduction_cap, 0.0, 1.0)

    @property
    def any(self) -> bool:
        """True when at least one effect is switched on."""
        return bool(self.spend_growth or self.referrals or (self.cost_reduction and self.cost_reduction_cap))


@dataclass(frozen=True)
class RetentionLift:
    """A change in retention.

    Parameters
    ----------
    amount : size of the lift: percentage points in 'points' mode (5 -> 0.80 becomes 0.85), percent
        of the current rate in 'relative' mode (5 -> 0.80 becomes 0.84). Negative values lower
        retention.
    mode : 'points' or 'relative'.
    basis : 'period' lifts the retention per period directly; 'year' lifts the yearly retention
        ``r ** n`` (n periods a year) and converts back, ``r' = lifted(r ** n) ** (1 / n)``. Bain's
        25-95% band is quoted for yearly retention, where a 5-point lift is far smaller than 5
        points of monthly retention. When fewer than 5% of customers would stay a whole year
        (purchase-based retention of an occasional-purchase business, where customers skip periods
        rather than leave for good), compounding to a year means nothing and the lift applies to
        the period's retention instead; `whatif` reports the basis used.

    Raises
    ------
    DataError
        For an unknown mode or basis, or a lift out of range.
    """

    amount: float = 5.0
    mode: LiftMode = "points"
    basis: LiftBasis = "period"

    def __post_init__(self) -> None:
        _check("lift", self.amount, -100.0, 100.0)
        if self.mode not in ("points", "relative"):
            raise DataError(f"lift mode must be 'points' or 'relative', got {self.mode!r}.")
        if self.basis not in ("period", "year"):
            raise DataError(f"lift basis must be 'period' or 'year', got {self.basis!r}.")


def _yearly(retention: float, period: str) -> float:
    """Share retained over a year: ``r ** n`` for n periods a year."""
    return retention ** PERIODS_PER_YEAR[period]


def _yearly_meaningful(retention: float, period: str) -> bool:
    """Compounding retention to a year makes sense (at least MIN_YEARLY_RETENTION would stay)."""
    return period == "Y" or _yearly(retention, period) >= MIN_YEARLY_RETENTION


def _lifted(retention: float, lift: RetentionLift, period: str, cap: float) -> tuple[float, bool, LiftBasis]:
    """Retention after the lift clipped to [0, cap], whether the cap was hit, and the basis used."""
    _check("retention", retention, 0.0, 1.0)
    _check_period(period)
    basis: LiftBasis = "year" if lift.basis == "year" and _yearly_meaningful(retention, period) else "period"
    if lift.amount == 0:
        return float(retention), False, basis
    n = PERIODS_PER_YEAR[period] if basis == "year" else 1.0
    start = retention**n
    if lift.mode == "points":
        lifted = start + lift.amount / 100.0
    else:
        lifted = start * (1.0 + lift.amount / 100.0)
    lifted = max(lifted, 0.0)
    per_period = lifted if n == 1.0 else min(lifted, 1.0) ** (1.0 / n)
    return float(min(per_period, cap)), bool(per_period > cap), basis


def apply_lift(retention: float, lift: RetentionLift, *, period: Period = "M", cap: float = MAX_RETENTION) -> float:
    """Retention per period after a lift.

    ``r + amount / 100`` in 'points' mode, ``r * (1 + amount / 100)`` in 'relative' mode; with
    ``basis='year'`` the same applied to the yearly retention ``r ** n`` of `period` and converted
    back. The result stays within ``[0, cap]``: retention of 100% would mean nobody ever leaves,
    so a lift that would reach it stops at `cap` (99.9% a period by default); `whatif` reports
    when that happened. A lift of 0 returns `retention` unchanged, bit for bit.

    Parameters
    ----------
    retention : float
        Retention per period (0..1).
    lift : RetentionLift
        Size, mode and basis of the lift.
    period : str, default 'M'
        The period of `retention`.
    cap : float
        Highest retention allowed.

    Returns
    -------
    float
        Retention per period after the lift.
    """
    return _lifted(retention, lift, period, cap)[0]


def clv_gupta_lehmann(margin: float, retention: float, discount_rate: float) -> float:
    """Lifetime value of a newly won customer, currency.

    Gupta & Lehmann (2003): ``CLV = m r / (1 + d - r)`` for a margin `m` per period paid at the
    end of each period the customer stays, retention `r` and discount rate `d` per period (an
    infinite horizon; acquisition cost not subtracted).

    Parameters
    ----------
    margin : float
        Margin per customer per period (currency).
    retention : float
        Retention per period (0..1).
    discount_rate : float
        Discount rate per period.

    Returns
    -------
    float
        Currency.
    """
    return margin * retention / (1.0 + discount_rate - retention)


def steady_state_customers(new_customers: float, retention: float, referrals: float = 0.0) -> float:
    """Long-run size of a base that wins `new_customers` a period: ``A / (1 - r (1 + rho))``.

    Parameters
    ----------
    new_customers : float
        A, customers won per period.
    retention : float
        r, retention per period.
    referrals : float, default 0
        rho, new customers per retained customer per period.

    Returns
    -------
    float
        Customers; ``inf`` when retained customers bring in at least as many as leave.
    """
    growth = retention * (1.0 + referrals)
    return math.inf if growth >= 1.0 else new_customers / (1.0 - growth)


def per_period_rate(annual_rate: float, period: str) -> float:
    """Discount rate per period equivalent to an annual rate: ``(1 + annual) ** (1 / n) - 1``.

    Parameters
    ----------
    annual_rate : float
        Yearly rate, e.g. 0.10.
    period : str
        'W', 'M', 'Q' or 'Y'.

    Returns
    -------
    float
        Rate per period.
    """
    _check_period(period)
    return (1.0 + annual_rate) ** (1.0 / PERIODS_PER_YEAR[period]) - 1.0


def _tenure_weights(base: BaseAssumptions, loyalty: LoyaltyEffects, tenure: np.ndarray) -> dict[str, np.ndarray]:
    """Revenue and margin parts of one customer in their `tenure`-th paid period (tenure >= 1)."""
    steps = tenure - 1.0
    rev = base.revenue_per_customer
    mu = base.margin_rate
    zero = np.zeros_like(steps)
    spend = np.maximum(1.0 + loyalty.spend_growth * steps, 0.0) if loyalty.spend_growth else zero + 1.0
    saving = np.minimum(loyalty.cost_reduction * steps, loyalty.cost_reduction_cap) if loyalty.cost_reduction else zero
    return {
        "revenue": rev * spend,
        "margin_base": zero + rev * mu,
        "margin_spend_growth": rev * mu * (spend - 1.0) if loyalty.spend_growth else zero,
        "margin_cost_to_serve": rev * (1.0 - mu) * saving if loyalty.cost_reduction else zero,
    }


def _check_horizon(horizon: int) -> None:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or not 1 <= horizon <= MAX_HORIZON:
        raise DataError(f"horizon must be a whole number of periods from 1 to {MAX_HORIZON}, got {horizon!r}.")


def _finish_frame(base: BaseAssumptions, cols: dict[str, np.ndarray], horizon: int) -> pd.DataFrame:
    """Add money columns common to both simulation methods and return the per-period frame."""
    t = np.arange(1, horizon + 1)
    cols["margin"] = cols["margin_base"] + cols["margin_spend_growth"] + cols["margin_cost_to_serve"]
    cols["acquisition_spend"] = cols["paid_new"] * base.acquisition_cost
    cols["fixed_costs"] = np.full(horizon, float(base.fixed_costs))
    cols["profit"] = cols["margin"] - cols["acquisition_spend"] - cols["fixed_costs"]
    cols["discount_factor"] = (1.0 + base.discount_rate) ** -t.astype(float)
    cols["discounted_profit"] = cols["profit"] * cols["discount_factor"]
    cols["period"] = t
    return pd.DataFrame({name: cols[name] for name in FRAME_COLUMNS})


def _flows_vectorized(
    base: BaseAssumptions, loyalty: LoyaltyEffects, retention: float, horizon: int
) -> dict[str, np.ndarray]:
    """Customer flows and money per period without a loop over periods.

    Base size: ``N[t] = phi N[t-1] + A`` with ``phi = r (1 + rho)``, so
    ``N[t] = phi**t N0 + A * sum_{j<t} phi**j`` (constant acquisition) or
    ``N[t] = N0 * max(phi, 1)**t`` (replacement). Money: cohort ``s`` holds ``arrivals[s] r**k``
    customers at tenure ``k``, so ``margin[t] = sum_s arrivals[s] r**(t-s) margin(t-s)``, a
    convolution of arrivals with the survival-weighted per-customer margin.
    """
    r = retention
    rho = loyalty.referrals
    phi = r * (1.0 + rho)
    steps = np.arange(horizon + 1, dtype=float)
    n0 = float(base.starting_customers)
    if base.acquisition == "constant":
        powers = phi**steps
        cumulative = np.concatenate(([0.0], np.cumsum(powers[:-1])))
        customers = powers * n0 + base.new_customers * cumulative
    else:
        customers = n0 * max(phi, 1.0) ** steps
    previous = customers[:-1]
    retained = r * previous
    referred = rho * retained
    if base.acquisition == "constant":
        paid = np.full(horizon, float(base.new_customers))
    else:
        paid = previous * max(1.0 - phi, 0.0)
    new = referred + paid
    arrivals = np.concatenate(([n0], new[:-1]))  # joined at the end of periods 0 .. H-1
    tenure = steps[1:]
    survival = r**tenure
    money = {
        name: np.convolve(arrivals, weight * survival)[:horizon] if weight.any() else np.zeros(horizon)
        for name, weight in _tenure_weights(base, loyalty, tenure).items()
    }
    return {
        "customers": customers[1:],
        "retained": retained,
        "lost": (1.0 - r) * previous,
        "new": new,
        "referred": referred,
        "paid_new": paid,
        **money,
    }


def _flows_loop(
    base: BaseAssumptions, loyalty: LoyaltyEffects, retention: float, horizon: int
) -> dict[str, np.ndarray]:
    """Reference implementation: a per-period loop over a vector of customers by tenure.

    Slower, written to read like the model description; used by the tests and the benchmark as
    the baseline the vectorized version must match.
    """
    r = retention
    weights = _tenure_weights(base, loyalty, np.arange(1, horizon + 1, dtype=float))
    by_tenure = np.zeros(horizon + 1)  # by_tenure[k]: customers with tenure k
    by_tenure[0] = base.starting_customers
    out = {
        name: np.zeros(horizon) for name in ("customers", "retained", "lost", "new", "referred", "paid_new", *weights)
    }
    for i in range(horizon):
        start = by_tenure.sum()
        stayed = np.zeros(horizon + 1)
        stayed[1:] = r * by_tenure[:-1]  # everyone who stays gains one period of tenure
        retained = r * start
        for name, weight in weights.items():
            out[name][i] = float(stayed[1:] @ weight)
        referred = loyalty.referrals * retained
        lost = (1.0 - r) * start
        paid = base.new_customers if base.acquisition == "constant" else max(lost - referred, 0.0)
        stayed[0] = referred + paid
        by_tenure = stayed
        for name, value in (
            ("retained", retained),
            ("lost", lost),
            ("new", referred + paid),
            ("referred", referred),
            ("paid_new", paid),
            ("customers", by_tenure.sum()),
        ):
            out[name][i] = value
    return out


def simulate(
    base: BaseAssumptions,
    loyalty: LoyaltyEffects | None = None,
    *,
    retention: float | None = None,
    horizon: int = 60,
    method: Literal["vectorized", "loop"] = "vectorized",
) -> pd.DataFrame:
    """Per-period customers and money of the base over `horizon` periods.

    Parameters
    ----------
    base : the business today.
    loyalty : loyalty effects (none by default).
    retention : retention to simulate with (defaults to ``base.retention``).
    horizon : number of periods.
    method : 'vectorized' (fast, default) or 'loop' (the per-period reference implementation).

    Returns
    -------
    DataFrame, one row per period 1..horizon: ``customers`` (on the books at the period's end,
    after new customers join), ``retained``, ``lost``, ``new`` (= ``referred`` + ``paid_new``),
    counts; ``revenue``, ``margin`` (= ``margin_base`` + ``margin_spend_growth`` +
    ``margin_cost_to_serve``), ``acquisition_spend``, ``fixed_costs``, ``profit``,
    ``discounted_profit`` in currency per period; ``discount_factor`` ``(1 + d) ** -t``.
    """
    loyalty = loyalty or LoyaltyEffects()
    _check_horizon(horizon)
    r = base.retention if retention is None else retention
    _check("retention", r, 0.0, MAX_RETENTION)
    if method not in ("vectorized", "loop"):
        raise ValueError(f"method must be 'vectorized' or 'loop', got {method!r}.")
    flows = _flows_vectorized if method == "vectorized" else _flows_loop
    return _finish_frame(base, flows(base, loyalty, r, int(horizon)), int(horizon))


def customer_lifetime_value(
    base: BaseAssumptions, loyalty: LoyaltyEffects | None = None, retention: float | None = None
) -> float:
    """Expected discounted margin of one newly won customer over their whole life, currency.

    ``CLV = sum_{k>=1} r**k margin(k) / (1 + d)**k`` with ``margin(k)`` the per-customer margin of
    the module docstring (spend growth and cost to serve included; referrals and acquisition cost
    not). With no loyalty effects it equals Gupta & Lehmann's ``m r / (1 + d - r)``; the series is
    summed until its terms are below 1e-17 of the first.

    Parameters
    ----------
    base : BaseAssumptions
        The business.
    loyalty : LoyaltyEffects, optional
        Loyalty effects (none by default).
    retention : float, optional
        Retention per period (default `base.retention`).

    Returns
    -------
    float
        Currency.
    """
    loyalty = loyalty or LoyaltyEffects()
    r = base.retention if retention is None else retention
    q = r / (1.0 + base.discount_rate)
    if q <= 0.0:
        return 0.0
    if not (loyalty.spend_growth or loyalty.cost_reduction):
        return clv_gupta_lehmann(base.margin_per_customer, r, base.discount_rate)
    terms = min(int(math.ceil(math.log(1e-17) / math.log(q))) + 50, 200_000)
    tenure = np.arange(1, terms + 1, dtype=float)
    weights = _tenure_weights(base, loyalty, tenure)
    margin = weights["margin_base"] + weights["margin_spend_growth"] + weights["margin_cost_to_serve"]
    return float(margin @ q**tenure)


@dataclass(frozen=True)
class WhatIfResult:
    """What a retention lift does to the business over the horizon.

    Money is in the data's currency; ``*_pct`` fields are percent (27.5 means +27.5%) and NaN
    where a percentage has no meaning (a base scenario with no profit).

    Attributes
    ----------
    base, loyalty, lift, horizon : the inputs.
    retention_base, retention_lifted : retention per period before and after the lift.
    retention_capped : the lift would have reached 100% and was stopped at MAX_RETENTION.
    lift_basis_used : 'year' or 'period' (see RetentionLift.basis).
    frame_base, frame_lifted : per-period frames (see `simulate`).
    profit_base, profit_lifted : discounted profit over the horizon (net present value).
    profit_change : ``profit_lifted - profit_base``, currency.
    profit_change_pct : ``100 * profit_change / profit_base``.
    clv_base, clv_lifted, clv_change_pct : lifetime value of one new customer (see
        `customer_lifetime_value`) and its change in percent.
    margin_change_pct : change in discounted margin over the horizon, percent.
    leverage : discounted margin / discounted profit of the base (how much a 1% change in margin
        moves profit, in percent, when costs stay put); NaN when the base makes no profit.
    waterfall : frame (source, amount) of where `profit_change` comes from; the amounts sum to it.
    band_position : 'below', 'within' or 'above' the 25-95% band, or None without a percentage.
    explanation : plain-language sentences on why the business lands where it does.
    """

    base: BaseAssumptions
    loyalty: LoyaltyEffects
    lift: RetentionLift
    horizon: int
    retention_base: float
    retention_lifted: float
    retention_capped: bool
    lift_basis_used: str
    frame_base: pd.DataFrame
    frame_lifted: pd.DataFrame
    profit_base: float
    profit_lifted: float
    profit_change: float
    profit_change_pct: float
    clv_base: float
    clv_lifted: float
    clv_change_pct: float
    margin_change_pct: float
    leverage: float
    waterfall: pd.DataFrame
    band_position: str | None
    explanation: str

    @property
    def lift_points(self) -> float:
        """The lift actually applied, in percentage points of retention per period."""
        return 100.0 * (self.retention_lifted - self.retention_base)

    @property
    def yearly_retention_base(self) -> float:
        """Share of customers kept over a year today, ``r ** n`` (n periods a year)."""
        return _yearly(self.retention_base, self.base.period)

    @property
    def yearly_retention_lifted(self) -> float:
        """Share of customers kept over a year after the lift."""
        return _yearly(self.retention_lifted, self.base.period)

    def customers_frame(self) -> pd.DataFrame:
        """Both scenarios' customers per period, for the chart.

        Returns
        -------
        pd.DataFrame
            Long frame (period, scenario, customers), period 0 included.
        """
        n0 = float(self.base.starting_customers)
        parts = []
        for scenario, frame in (("Today", self.frame_base), ("With the lift", self.frame_lifted)):
            parts.append(
                pd.DataFrame(
                    {
                        "period": np.arange(self.horizon + 1),
                        "scenario": scenario,
                        "customers": np.concatenate(([n0], frame["customers"].to_numpy())),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)


def _pct(new: float, old: float) -> float:
    return 100.0 * (new - old) / abs(old) if old > 0 else math.nan


def _waterfall(
    base: BaseAssumptions,
    loyalty: LoyaltyEffects,
    frame_base: pd.DataFrame,
    frame_lifted: pd.DataFrame,
    r_base: float,
    r_lifted: float,
    horizon: int,
) -> pd.DataFrame:
    """Split the change in discounted profit into sources that add up to it.

    Undiscounted: the change in base margin and acquisition spend the lift would bring without
    referrals (kept customers, less acquisition spend), the extra change referrals bring
    (referrals), and spend growth and cost to serve on all extra customers. Fixed costs cancel.
    `Discounting` is the discounted change minus the undiscounted one, so the parts sum exactly.
    """

    def total(frame: pd.DataFrame, column: str) -> float:
        return float(frame[column].sum())

    def diff(column: str) -> float:
        return total(frame_lifted, column) - total(frame_base, column)

    margin_change = diff("margin_base")
    acquisition_change = diff("acquisition_spend")
    if loyalty.referrals and r_base != r_lifted:
        # What the lift would do without referrals; referrals get the rest.
        plain = replace(loyalty, referrals=0.0)
        without = [_flows_vectorized(base, plain, r, horizon) for r in (r_base, r_lifted)]
        kept = float(without[1]["margin_base"].sum() - without[0]["margin_base"].sum())
        kept_acquisition = float(without[1]["paid_new"].sum() - without[0]["paid_new"].sum()) * base.acquisition_cost
    else:
        kept, kept_acquisition = margin_change, acquisition_change
    amounts = {
        SOURCE_KEPT: kept,
        SOURCE_SPEND: diff("margin_spend_growth"),
        SOURCE_REFERRALS: (margin_change - kept) - (acquisition_change - kept_acquisition),
        SOURCE_SERVE: diff("margin_cost_to_serve"),
        SOURCE_ACQUISITION: -kept_acquisition,
        SOURCE_DISCOUNTING: diff("discounted_profit") - diff("profit"),
    }
    return pd.DataFrame({"source": list(amounts), "amount": list(amounts.values())})


def _long_run_margin_change(base: BaseAssumptions, loyalty: LoyaltyEffects, r: float, r_new: float) -> float:
    """Change in margin-earning customers once the base has settled, percent (no tenure effects)."""
    if r <= 0:
        return math.nan
    if base.acquisition == "replace" or base.new_customers == 0:
        return 100.0 * (r_new / r - 1.0)
    rho = loyalty.referrals
    if r_new * (1 + rho) >= 1.0:
        return math.inf
    return 100.0 * (r_new * (1 - r * (1 + rho)) / (r * (1 - r_new * (1 + rho))) - 1.0)


def _explain(
    res: dict, base: BaseAssumptions, loyalty: LoyaltyEffects, horizon: int, lift_basis: str
) -> tuple[str | None, str]:
    """Band position and the sentences behind it.

    Leverage identity: when acquisition and fixed costs do not move,
    ``profit change % = margin change % x margin / profit``, so a thin profit slice turns a
    modest margin gain into a large percentage gain in profit.
    """
    unit = PERIOD_NAMES[base.period]
    r, r_new = res["retention_base"], res["retention_lifted"]
    moves = f"Retention of {r:.1%} → {r_new:.1%} a {unit}"
    if _yearly_meaningful(r, base.period):
        # the band's yardstick: points of yearly retention
        points = 100.0 * (_yearly(r_new, base.period) - _yearly(r, base.period))
        if base.period != "Y":
            moves += (
                f" ({_yearly(r, base.period):.1%} → {_yearly(r_new, base.period):.1%} a year, {points:+.1f} points)"
            )
        points_text = "points of yearly retention"
    else:
        points = 100.0 * (r_new - r)
        points_text = f"points of retention per {unit}"
    sentences = [
        f"{moves} changes the discounted margin your customers bring in over {horizon} {unit}s by "
        f"{res['margin_change_pct']:+.1f}%."
    ]
    if lift_basis == "year" and res["lift_basis_used"] == "period":
        sentences.append(
            f"Fewer than {MIN_YEARLY_RETENTION:.0%} of customers buy in every {unit} of a year: they skip {unit}s "
            f"rather than leave for good, so the lift was applied to the {unit}'s retention, not the year's."
        )
    if res["retention_capped"]:
        sentences.append(f"The lift was stopped at {MAX_RETENTION:.1%} a {unit}: retention cannot reach 100%.")
    pct = res["profit_change_pct"]
    if not math.isfinite(pct):
        sentences.append(
            f"Today's business makes no profit over this horizon (discounted profit {res['profit_base']:,.0f}), "
            f"so a percentage change means nothing; the lift is worth {res['profit_change']:+,.0f}."
        )
        return None, " ".join(sentences)
    leverage = res["leverage"]
    if leverage > 1.05:
        sentences.append(
            f"Acquisition and fixed costs take {1 - 1 / leverage:.0%} of that margin, so profit is the remaining "
            f"{1 / leverage:.0%} and moves {leverage:.1f}× as much in percent (profit change ≈ margin change × "
            f"margin / profit)."
        )
    else:
        sentences.append("Costs take little of the margin, so profit moves about as much as margin does.")
    amounts = res["waterfall_amounts"]
    if amounts[SOURCE_ACQUISITION] > 0:
        sentences.append(
            f"Replacing fewer lost customers saves {amounts[SOURCE_ACQUISITION]:,.0f} of acquisition spend."
        )
    loyal = sum(amounts[s] for s in (SOURCE_SPEND, SOURCE_REFERRALS, SOURCE_SERVE))
    undiscounted = sum(v for s, v in amounts.items() if s != SOURCE_DISCOUNTING)
    if loyal > 0 and undiscounted > 0:
        sentences.append(f"Loyalty effects bring {loyal / undiscounted:.0%} of the extra profit (before discounting).")
    position = "below" if pct < BAND_LOW_PCT else "above" if pct > BAND_HIGH_PCT else "within"
    band = f"Bain's {BAND_LOW_PCT:.0f}–{BAND_HIGH_PCT:.0f}% band (quoted for {BAND_LIFT_POINTS:.0f} points of yearly retention)"
    reasons = []
    if position == "below":
        long_run = _long_run_margin_change(base, loyalty, r, r_new)
        if leverage < 2.0:
            reasons.append("profit is a large share of margin, so there is little leverage")
        if math.isfinite(long_run) and res["margin_change_pct"] < 0.6 * long_run:
            reasons.append(
                f"the extra customers take time to build up and {horizon} {unit}s capture only part of the "
                f"long-run {long_run:+.0f}% in margin"
            )
        if points < BAND_LIFT_POINTS - 0.05:
            reasons.append(f"the lift is {points:.1f} {points_text}, under {BAND_LIFT_POINTS:.0f}")
    elif position == "above":
        if leverage >= 2.0:
            reasons.append(f"thin profit turns each 1% of margin into {leverage:.1f}% of profit")
        if loyal > 0.25 * undiscounted:
            reasons.append("loyalty effects add to the plain retention effect")
        if points > BAND_LIFT_POINTS + 0.05:
            reasons.append(f"the lift is {points:.1f} {points_text}, over {BAND_LIFT_POINTS:.0f}")
    if position == "within":
        sentences.append(f"Profit {pct:+.1f}% sits within {band}.")
    else:
        because = "; ".join(reasons) if reasons else "of the mix of margin, costs and horizon above"
        sentences.append(f"Profit {pct:+.1f}% is {position} {band} because {because}.")
    return position, " ".join(sentences)


def whatif(
    base: BaseAssumptions,
    loyalty: LoyaltyEffects | None = None,
    lift: RetentionLift | None = None,
    horizon: int = 60,
) -> WhatIfResult:
    """Compare the business today with the same business after a retention lift.

    Parameters
    ----------
    base : the business today (retention, margin, costs, discount rate per period).
    loyalty : loyalty effects, applied in both scenarios (zero by default).
    lift : the retention lift (5 percentage points by default).
    horizon : periods to follow, 1..1200.

    Returns
    -------
    WhatIfResult with the profit change (discounted, currency and percent), the CLV change, the
    waterfall of sources and the placement against the 25-95% band.
    """
    loyalty = loyalty or LoyaltyEffects()
    lift = lift or RetentionLift()
    _check_horizon(horizon)
    horizon = int(horizon)
    r = base.retention
    r_new, capped, basis = _lifted(r, lift, base.period, MAX_RETENTION)
    frame_base = _finish_frame(base, _flows_vectorized(base, loyalty, r, horizon), horizon)
    frame_lifted = (
        frame_base.copy()
        if r_new == r
        else _finish_frame(base, _flows_vectorized(base, loyalty, r_new, horizon), horizon)
    )
    discounted_margin = [float((f["margin"] * f["discount_factor"]).sum()) for f in (frame_base, frame_lifted)]
    profit_base = float(frame_base["discounted_profit"].sum())
    profit_lifted = float(frame_lifted["discounted_profit"].sum())
    clv_base = customer_lifetime_value(base, loyalty, r)
    clv_lifted = clv_base if r_new == r else customer_lifetime_value(base, loyalty, r_new)
    waterfall = _waterfall(base, loyalty, frame_base, frame_lifted, r, r_new, horizon)
    res: dict[str, Any] = {
        "retention_base": r,
        "retention_lifted": r_new,
        "retention_capped": capped,
        "lift_basis_used": basis,
        "profit_base": profit_base,
        "profit_lifted": profit_lifted,
        "profit_change": profit_lifted - profit_base,
        "profit_change_pct": _pct(profit_lifted, profit_base),
        "clv_base": clv_base,
        "clv_lifted": clv_lifted,
        "clv_change_pct": _pct(clv_lifted, clv_base),
        "margin_change_pct": _pct(discounted_margin[1], discounted_margin[0]),
        "leverage": discounted_margin[0] / profit_base if profit_base > 0 else math.nan,
        "waterfall_amounts": dict(zip(waterfall["source"], waterfall["amount"])),
    }  # mixed values: floats, a flag, the basis and the waterfall dict
    position, explanation = _explain(res, base, loyalty, horizon, lift.basis)
    del res["waterfall_amounts"]
    return WhatIfResult(
        base=base,
        loyalty=loyalty,
        lift=lift,
        horizon=horizon,
        frame_base=frame_base,
        frame_lifted=frame_lifted,
        waterfall=waterfall,
        band_position=position,
        explanation=explanation,
        **res,
    )


def lift_applied_text(result: WhatIfResult) -> str:
    """The lift as applied, in words, on the basis actually used (for labels and the report).

    E.g. '+5.0 points of yearly retention (86.8% → 91.8% a year; 98.83% → 99.29% a month)'.

    Parameters
    ----------
    result : WhatIfResult
        The what-if run.

    Returns
    -------
    str
        The sentence.
    """
    unit = PERIOD_NAMES[result.base.period]
    per_period = f"{result.retention_base:.2%} → {result.retention_lifted:.2%} a {unit}"
    if result.lift_basis_used == "year" and result.base.period != "Y":
        points = 100.0 * (result.yearly_retention_lifted - result.yearly_retention_base)
        text = (
            f"{points:+.1f} points of yearly retention ({result.yearly_retention_base:.1%} → "
            f"{result.yearly_retention_lifted:.1%} a year; {per_period})"
        )
    else:
        text = f"{result.lift_points:+.1f} points of retention per {unit} ({per_period})"
    if result.retention_capped:
        text += f", stopped at {MAX_RETENTION:.1%} a {unit}"
    return text
