"""Customer value: the ONE definition every page, the HTML report and the CLI use.

What a customer is worth depends on the business kind (`analytics.business.kind`):

* **Purchase log** (customers leave silently): the purchase model chosen on the holdout (BG/NBD,
  Pareto/NBD or MBG/NBD) with the Gamma-Gamma spend model, `analytics.models.clv.analyse_clv`.
  The model value of customer i over a horizon is ``margin x E[spend per purchase]_i x DET_i``
  (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 1), DET the discounted expected purchases.
  "Active" customers are the model's expected alive customers ``sum_i P(alive)_i``; retention is
  the share of them still alive a year later (`purchase_retention`).
* **Subscription** (leaving is recorded): a month's margin ``charge x margin`` kept for as long as
  the customer is expected to stay (the what-if's geometric retention, Gupta & Lehmann 2003).

Besides the model value, the **formula CLV** ``AOV x purchases a year x expected lifetime in years
x margin`` (`formula_clv`) is shown as such: it averages over everyone, including customers who
have already gone, and ignores discounting, so it differs from the model's value of today's
customers (`FORMULA_VS_MODEL`).

Every value carries its horizon in its label (`horizon_label`: "12-month value", "5-year value",
"lifetime value"), and value at stake never counts customers who have left (`value_at_stake`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import roots_jacobi

from analytics.data.periods import DAYS_PER_YEAR
from analytics.data.schema import AMOUNT, CHURNED, CUSTOMER_ID, MONTHLY_CHARGE, ORDER_DATE, CustomerData, DataError
from analytics.engine.customer_days import CustomerDays
from analytics.engine.id_positions import customer_codes
from analytics.engine.memo import LastResult
from analytics.models.btyd import MODEL_LABELS

if TYPE_CHECKING:  # the CLV module loads lifetimes: imported where a fit runs
    from analytics.models.clv import ClvAnalysis, ClvSettings

#: Gauss-Jacobi nodes for the expectation over the BG/NBD dropout probability p ~ Beta(a, b + x).
QUADRATURE_NODES = 48

FORMULA_VS_MODEL = (
    "The formula CLV multiplies averages over every customer ever seen (including those who have already "
    "left) and does not discount; the model's value follows each customer's own purchase history, counts only "
    "what today's customers are expected to buy within the horizon, and discounts it."
)


def horizon_label(months: float) -> str:
    """'12-month value', '5-year value', or 'lifetime value' (an infinite horizon).

    Parameters
    ----------
    months : float
        The horizon in months (inf for a lifetime).

    Returns
    -------
    str
        The label.
    """
    if not math.isfinite(months):
        return "lifetime value"
    if months >= 24 and abs(months / 12 - round(months / 12)) < 1e-9:
        return f"{round(months / 12)}-year value"
    return f"{months:g}-month value"


# ------------------------------------------------------------------- purchase logs: retention


def survival_given_alive(
    model: str, params: dict[str, float], frequency: np.ndarray, T: np.ndarray, t: float
) -> np.ndarray:
    """P(still alive t periods from now | alive now, x repeat purchases over an age of T), per customer.

    Pareto/NBD: the dropout rate mu | alive ~ Gamma(s, beta + T), so ``((beta + T) / (beta + T + t)) ** s``.
    BG/NBD: lambda | alive, x ~ Gamma(r + x, alpha + T) and p | alive, x ~ Beta(a, b + x); a customer
    drops after a purchase with probability p, so ``S = E_p[((alpha + T) / (alpha + T + p t)) ** (r + x)]``.
    MBG/NBD (Batislam et al. 2007) may also drop right after the first purchase: p ~ Beta(a, b + x + 1).

    Parameters
    ----------
    model : str
        'bg_nbd', 'pareto_nbd' or 'mbg_nbd'.
    params : dict of str to float
        The fitted model's parameters.
    frequency, T : np.ndarray
        Repeat purchases and age per customer (model time unit).
    t : float
        Periods ahead.

    Returns
    -------
    np.ndarray
        0..1 per customer.
    """
    x = np.asarray(frequency, dtype=float)
    age = np.asarray(T, dtype=float)
    if model == "pareto_nbd":
        s, beta = params["s"], params["beta"]
        return ((beta + age) / (beta + age + t)) ** s
    if model not in ("bg_nbd", "mbg_nbd"):
        raise DataError(f"Unknown purchase model {model!r}.")
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    shift = 1.0 if model == "mbg_nbd" else 0.0
    out = np.empty_like(x)
    for value in np.unique(x):
        rows = x == value
        bb = b + value + shift
        # Beta(a, bb) on p in [0, 1] = Jacobi weight (1 - u)^(bb - 1) (1 + u)^(a - 1) with p = (1 + u) / 2.
        u, w = roots_jacobi(QUADRATURE_NODES, bb - 1.0, a - 1.0)
        p = (1.0 + u) / 2.0
        w = w / w.sum()
        # once per distinct age among these customers (ages repeat: one per first-purchase day)
        ages, back = np.unique(age[rows], return_inverse=True)
        base = alpha + ages[:, None]
        out[rows] = (((base / (base + p[None, :] * t)) ** (r + value)) * w[None, :]).sum(axis=1)[back]
    return out


def new_customer_survival(model: str, params: dict[str, float], t: float) -> float:
    """P(a customer just won is still alive t periods later) under the population's parameters.

    For MBG/NBD this includes the chance of leaving right after the first purchase (probability p).

    Parameters
    ----------
    model : str
        'bg_nbd', 'pareto_nbd' or 'mbg_nbd'.
    params : dict of str to float
        The fitted model's parameters.
    t : float
        Periods ahead (model time unit).

    Returns
    -------
    float
        0..1.
    """
    surv = float(survival_given_alive(model, params, np.zeros(1), np.zeros(1), t)[0])
    if model != "mbg_nbd":
        return surv
    # MBG: survive the first-purchase drop too. E[(1 - p) S(p)] = b / (a + b) x E_{Beta(a, b+1)}[S(p)].
    a, b = params["a"], params["b"]
    shifted = dict(params, b=b - 1.0) if b > 1.0 else None
    if shifted is None:  # cannot shift below 0: integrate directly
        u, w = roots_jacobi(QUADRATURE_NODES, b - 1.0, a - 1.0)
        p = (1.0 + u) / 2.0
        w = w / w.sum()
        rate = (params["alpha"] / (params["alpha"] + p * t)) ** params["r"]
        return float(((1.0 - p) * rate * w).sum())
    # survival_given_alive with b - 1 + 1 = b uses Beta(a, b); weight (1 - p) turns it into Beta(a, b + 1).
    u, w = roots_jacobi(QUADRATURE_NODES, b, a - 1.0)
    p = (1.0 + u) / 2.0
    w = w / w.sum()
    rate = (params["alpha"] / (params["alpha"] + p * t)) ** params["r"]
    return float(b / (a + b) * (rate * w).sum())


@dataclass(frozen=True)
class PurchaseRetention:
    """Retention of a purchase-log business, from the fitted purchase model.

    Attributes
    ----------
    model : 'bg_nbd' | 'pareto_nbd' | 'mbg_nbd'.
    expected_alive : the model's expected number of customers still active today, ``sum P(alive)``.
    yearly_retention : share of today's active customers still active a year later,
        ``sum_i P(alive)_i S_i(1 year) / sum_i P(alive)_i``.
    new_customer_yearly_survival : P(a customer just won is still active a year later).
    established_yearly_survival : the same for an established customer: one known since the data's
        start (the longest age T) with no sign of leaving yet (no repeat purchase to drop after in
        BG/NBD; the dropout posterior of the longest survivor in Pareto/NBD). New customers are the
        least likely to stay a year and established ones the most, so the base's yearly retention
        lies between the two.
    customers : number of customers modelled.
    """

    model: str
    expected_alive: float
    yearly_retention: float
    new_customer_yearly_survival: float
    established_yearly_survival: float
    customers: int

    def monthly_retention(self) -> float:
        """The constant monthly rate with the same yearly retention, ``R ** (1 / 12)``.

        Returns
        -------
        float
            Share 0..1 per month.
        """
        return self.yearly_retention ** (1.0 / 12.0)


def purchase_retention(analysis: Any) -> PurchaseRetention:
    """Yearly retention and expected alive customers from a `ClvAnalysis` (the CLV section's own fit).

    Parameters
    ----------
    analysis : ClvAnalysis
        `analyse_clv` output (the CLV section's own fit).

    Returns
    -------
    PurchaseRetention
        The figures and their model.
    """
    c = analysis.customers
    model = analysis.selected
    params = analysis.purchase_model.params_
    year = DAYS_PER_YEAR / _unit_days(analysis.settings.time_unit)
    alive = c["p_alive"].to_numpy(float)
    survival = survival_given_alive(model, params, c["frequency"].to_numpy(), c["T"].to_numpy(), year)
    established = float(survival_given_alive(model, params, np.zeros(1), np.array([c["T"].max()]), year)[0])
    return PurchaseRetention(
        model=model,
        expected_alive=float(alive.sum()),
        yearly_retention=float((alive * survival).sum() / alive.sum()) if alive.sum() > 0 else math.nan,
        new_customer_yearly_survival=new_customer_survival(model, params, year),
        established_yearly_survival=established,
        customers=len(c),
    )


def _unit_days(time_unit: str) -> float:
    from analytics.models.btyd import unit_days

    return unit_days(time_unit)


# ------------------------------------------------------------------- the model value of today's customers


_ANALYSES: LastResult[ClvAnalysis] = LastResult("purchase analysis")
"""The last `analyse_clv` result, keyed on the purchases frame it came from (held weakly, compared by
identity), its length and the settings."""


def purchase_analysis(data: CustomerData, settings: ClvSettings | None = None) -> ClvAnalysis:
    """The CLV section's analysis (`analyse_clv`) of this data, computed once per data and settings.

    One entry is kept (the report and the CLI ask for it from several sections in a row), keyed on
    the purchases frame itself (`analytics.engine.memo.LastResult`: a new frame, even one reusing a
    freed frame's id, is never served another's analysis), its length and the settings.

    Parameters
    ----------
    data : CustomerData
        A dataset with purchases.
    settings : ClvSettings, optional
        The CLV settings.

    Returns
    -------
    ClvAnalysis
        The analysis.

    Raises
    ------
    DataError
        Without a purchase log.
    """
    from analytics.models.clv import ClvSettings, analyse_clv

    if not data.has_transactions:
        raise DataError("Customer value from purchases needs a purchase log (customer id, date, amount).")
    transactions = data.require_transactions("Customer value from purchases")
    s = ClvSettings() if settings is None else settings
    return _ANALYSES.get_or_compute(transactions, (len(transactions), s), lambda: analyse_clv(transactions, s))


def remember_purchase_analysis(data: CustomerData, settings: ClvSettings, analysis: ClvAnalysis) -> None:
    """Keep `analysis` as `purchase_analysis(data, settings)` from now on.

    For an analysis computed elsewhere from the same data and settings (the report's worker
    process runs `analyse_clv`'s steps on the same split and summary); the next
    `purchase_analysis` call returns it instead of fitting again.

    Parameters
    ----------
    data : CustomerData
        A dataset with purchases.
    settings : ClvSettings
        The CLV settings the analysis used.
    analysis : ClvAnalysis
        `analyse_clv(data.transactions, settings)`'s result.
    """
    transactions = data.require_transactions("Customer value from purchases")
    _ANALYSES.put(transactions, (len(transactions), settings), analysis)


@dataclass(frozen=True)
class ModelBase:
    """Today's customers as the purchase model sees them, for the what-if.

    Attributes
    ----------
    starting_customers : expected alive customers today.
    yearly_retention : share of them still alive a year later.
    revenue_per_customer_month : the model's expected 12-month spend of today's customers divided by
        the customer-months they are expected to stay active (under the same yearly retention).
    value_of_todays_customers : the CLV section's total value (its horizon, margin and discount).
    horizon_months : that value's horizon.
    retention : the `PurchaseRetention` behind it.
    """

    starting_customers: float
    yearly_retention: float
    revenue_per_customer_month: float
    value_of_todays_customers: float
    horizon_months: float
    retention: PurchaseRetention


def model_base(analysis: Any) -> ModelBase:
    """Starting base, yearly retention and revenue per active customer-month from one fitted model.

    Parameters
    ----------
    analysis : ClvAnalysis
        `analyse_clv` output (the CLV section's own fit).

    Returns
    -------
    ModelBase
        The figures.
    """
    from analytics.models.clv import ClvSettings, customer_values

    ret = purchase_retention(analysis)
    # A fit at its no-dropout boundary has no retention to lift, whether the yearly figure comes out
    # as NaN or as 100% less a rounding error (which of the two depends on the optimizer's last step).
    note = boundary_note(ret.model, analysis.purchase_model.params_, analysis.settings.time_unit)
    if not math.isfinite(ret.yearly_retention) or note is not None:
        raise DataError(
            (note or f"{MODEL_LABELS.get(ret.model, ret.model)} gives no yearly retention on this data.")
            + " It therefore gives no retention rate below 100% to start a what-if from."
        )
    monthly = ret.monthly_retention()
    year = ClvSettings(
        time_unit=analysis.settings.time_unit, horizon_months=12.0, margin=analysis.settings.margin, n_bootstrap=0
    )
    spend_12 = float(
        customer_values(analysis.customers, analysis.purchase_model, analysis.spend_model, year)["expected_spend"].sum()
    )
    customer_months = ret.expected_alive * float(sum(monthly**k for k in range(1, 13)))
    if customer_months <= 0:
        raise DataError("The purchase model expects no customer to be active, so there is no base to value.")
    return ModelBase(
        starting_customers=ret.expected_alive,
        yearly_retention=ret.yearly_retention,
        revenue_per_customer_month=spend_12 / customer_months,
        value_of_todays_customers=analysis.total_clv,
        horizon_months=analysis.settings.horizon_months,
        retention=ret,
    )


# ------------------------------------------------------------------- formula CLV and value at stake


def formula_clv(average_order_value: float, purchases_per_year: float, lifetime_years: float, margin: float) -> float:
    """The textbook formula: ``AOV x purchases a year x expected lifetime (years) x margin``, currency.

    Undiscounted and averaged over everyone; see FORMULA_VS_MODEL for why it differs from the model.

    Parameters
    ----------
    average_order_value : float
        Currency per order.
    purchases_per_year : float
        Orders per customer per year.
    lifetime_years : float
        Expected lifetime.
    margin : float
        Share of revenue kept.

    Returns
    -------
    float
        Currency.
    """
    for name, value in (("average order value", average_order_value), ("purchases a year", purchases_per_year)):
        if not value >= 0:
            raise DataError(f"The {name} must be a non-negative number.")
    return float(average_order_value * purchases_per_year * lifetime_years * margin)


def value_at_stake(value: pd.Series, churn_probability: pd.Series, left: pd.Series | None = None) -> pd.Series:
    """Value x churn probability per customer, 0 for customers who have already left (nothing left to save).

    Parameters
    ----------
    value : pd.Series
        Value per customer (currency).
    churn_probability : pd.Series
        Risk per customer (0..1).
    left : pd.Series, optional
        True for customers who have left.

    Returns
    -------
    pd.Series
        Currency per customer.
    """
    stake = value.astype(float) * churn_probability.astype(float)
    if left is not None:
        gone = np.asarray([bool(v) if pd.notna(v) else False for v in left], dtype=bool)
        stake = stake.where(~gone, 0.0)
    return stake


# ------------------------------------------------------------------- the what-if on the same model


def purchase_model_inputs(analysis: Any, periods_per_year: float, unit: str) -> dict[str, tuple[float, str, str]]:
    """What-if inputs of a purchase log from its fitted purchase model.

    ``starting_customers`` = expected alive customers; ``retention_rate`` per period = the model's
    yearly retention ``R ** (1 / periods a year)``; ``revenue_per_customer`` per period = the model's
    revenue per active customer-month x months per period. The source sentences say so.

    Parameters
    ----------
    analysis : ClvAnalysis
        `analyse_clv` output (the CLV section's own fit).
    periods_per_year : float
        Periods of the what-if in a year.
    unit : str
        The period's name.

    Returns
    -------
    dict
        name -> (value, unit, source).
    """
    base = model_base(analysis)
    ret = base.retention
    label = MODEL_LABELS.get(ret.model, ret.model)
    months = 12.0 / periods_per_year
    per_period = base.yearly_retention ** (1.0 / periods_per_year)
    return {
        "starting_customers": (
            base.starting_customers,
            "customers",
            f"Purchase model ({label}, the Lifetime value page's): the customers expected to be still active today, "
            f"the sum of P(alive) over {ret.customers:,} customers.",
        ),
        "retention_rate": (
            per_period,
            f"share per {unit}",
            f"Purchase model ({label}): of the customers active today, {base.yearly_retention:.1%} are expected to "
            f"be still active a year later (a new customer: {ret.new_customer_yearly_survival:.1%}; an established "
            f"one: {ret.established_yearly_survival:.1%}), i.e. {per_period:.2%} a {unit}.",
        ),
        "revenue_per_customer": (
            base.revenue_per_customer_month * months,
            f"currency per customer per {unit}",
            f"Purchase model ({label} with Gamma-Gamma spend): the revenue today's customers are expected to bring "
            f"in the next 12 months, per month each is expected to stay active "
            f"({base.revenue_per_customer_month:,.2f} a month).",
        ),
    }


def value_of_todays_customers(
    starting_customers: float, margin_per_customer: float, retention: float, discount_rate: float, horizon: int
) -> float:
    """Discounted margin today's customers bring over `horizon` periods, no new customers, currency.

    ``N0 x m x sum_{k=1..H} (r / (1 + d))^k``: margin paid at the end of each period a customer
    stays, as in the what-if's simulation (`analytics.business.economics.simulate`).

    Parameters
    ----------
    starting_customers : float
        N0.
    margin_per_customer : float
        m, currency per period.
    retention : float
        r per period.
    discount_rate : float
        d per period.
    horizon : int
        H periods.

    Returns
    -------
    float
        Currency.
    """
    q = retention / (1.0 + discount_rate)
    total = q * (1.0 - q**horizon) / (1.0 - q) if q != 1.0 else float(horizon)
    return float(starting_customers * margin_per_customer * total)


# --------------------------------------------------------------------------------------------
# Value and risk per current customer (Segments, Action list, Campaign readout)
# --------------------------------------------------------------------------------------------

# Which columns would enable a block that cannot run (shown to the user as is).
NEEDS_PURCHASES = "a purchase log (customer id, order date, amount)"
NEEDS_VALUE = f"{NEEDS_PURCHASES} for a model-based CLV, or a `monthly_charge` column in the customers table"
NEEDS_RISK = f"a `churned` column in the customers table, or {NEEDS_PURCHASES}"


@dataclass(frozen=True)
class Scores:
    """Value and churn risk of current customers.

    Attributes
    ----------
    frame : pd.DataFrame
        Index customer_id; value (currency), churn_probability (0..1), p_alive (0..1, only with
        a purchase log).
    value_source, risk_source : str
        Plain words for where each number comes from.
    model_clv : bool
        True when `value` is the model-based CLV (not the monthly-charge proxy).
    """

    frame: pd.DataFrame
    value_source: str
    risk_source: str
    model_clv: bool


def charge_value(monthly_charge: pd.Series, *, months: float, margin: float, annual_discount_rate: float) -> pd.Series:
    """Value of a subscriber without a purchase log: margin x monthly charge over `months` months.

    Each month is discounted at the yearly rate (present value of an annuity,
    sum_{m=1..M} (1 + d)^(-m/12)).

    Parameters
    ----------
    monthly_charge : pd.Series
        Charge per customer (currency per month).
    months : float
        The horizon.
    margin : float
        Share of the charge kept.
    annual_discount_rate : float
        Yearly discount rate.

    Returns
    -------
    pd.Series
        Currency per customer.
    """
    steps = np.arange(1, int(round(months)) + 1)
    annuity = float(np.sum((1.0 + annual_discount_rate) ** (-steps / 12.0)))
    return margin * monthly_charge.astype(float) * annuity


def customer_value(
    data: CustomerData,
    customer_ids: pd.Index | pd.Series | list,
    settings: ClvSettings,
    *,
    clv: pd.Series | None = None,
    fit: bool = True,
) -> tuple[pd.Series, str]:
    """The value of each customer (currency over `settings.horizon_months`): the one value every page
    ranks, plans and reads out with.

    In order of preference:

    1. the purchase model's CLV (`clv` when given, e.g. the page's cached fit; else
       `purchase_analysis` with `settings` when the data has a purchase log and a model can be fitted);
    2. margin x monthly charge over the horizon, discounted (`charge_value`);
    3. margin x the last 365 days' spend per month over the horizon, discounted (a purchase log too
       short for a purchase model).

    Every source uses the same horizon, margin and discount rate, so a subscriber is worth the same
    on the Churn planner, the Action list and the Campaign readout.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    customer_ids : index, series or list
        The customers to value (as text); a customer the source does not know (no model value, no
        charge, no purchase in the last year) gets NaN, "no value known" (the campaign planner counts it 0).
    settings : ClvSettings
        Horizon, margin and discount rate (and the purchase model's settings).
    clv : pd.Series, optional
        Model CLV by customer id, when already computed with `settings`.
    fit : bool, default True
        Fit the purchase model when `clv` is not given (False when the caller's own fit failed).

    Returns
    -------
    (pd.Series, str)
        Value named "value" indexed by the ids (text), and where it comes from in plain words.

    Raises
    ------
    DataError
        When none of the three sources is available.
    """
    ids = pd.Index(pd.Series(list(customer_ids) if isinstance(customer_ids, list) else customer_ids).astype(str))
    label = horizon_label(settings.horizon_months)
    terms = f"{settings.margin:.0%} margin, discounted {settings.annual_discount_rate:.0%} a year"
    if clv is None and fit and data.has_transactions:
        try:
            clv = purchase_analysis(data, settings).customers["clv"]
        except DataError:
            clv = None
    if clv is not None:
        value = pd.Series(clv, dtype=float)
        if value.index.inferred_type != "string":  # ids are text; skip the per-label pass when they are
            value = value.rename(index=str)
        value = value.reindex(ids).rename("value")
        return value, f"{label} from the purchase model ({terms})"
    if data.has_column(MONTHLY_CHARGE):
        customers = data.require_customers()
        monthly = customers.set_index(customers[CUSTOMER_ID].astype(str))[MONTHLY_CHARGE].astype(float)
        source = f"{label} at today's monthly charge ({terms}; no purchase model)"
    elif data.has_transactions:
        tx = data.require_transactions()
        recent = tx[tx[ORDER_DATE] > data.observation_end - pd.Timedelta(days=365)]
        monthly = recent.groupby(recent[CUSTOMER_ID].astype(str))[AMOUNT].sum() / 12.0
        monthly = monthly.reindex(tx[CUSTOMER_ID].astype(str).unique(), fill_value=0.0)  # bought, not this year
        source = f"{label} at the last year's spend per month ({terms}; too little history for a purchase model)"
    else:
        raise DataError(f"Value per customer needs {NEEDS_VALUE}.")
    value = charge_value(
        monthly.reindex(ids),
        months=settings.horizon_months,
        margin=settings.margin,
        annual_discount_rate=settings.annual_discount_rate,
    )
    return value.rename("value"), source


def value_and_risk(
    clv_customers: pd.DataFrame | None, churn_scores: pd.DataFrame | None, table: CustomerDays | None = None
) -> pd.DataFrame:
    """The model results per customer that `score_customers` ranks from, in one frame.

    Parameters
    ----------
    clv_customers : pd.DataFrame or None
        The purchase model's per-customer table (`ClvAnalysis.customers`: index customer_id, `clv`
        in currency, `p_alive` 0..1), or None when no purchase model could run.
    churn_scores : pd.DataFrame or None
        The churn model's scores (`ChurnAnalysis.scores`: customer_id, `churn_probability` 0..1,
        `active`), or None when no churn model could run.
    table : CustomerDays, optional
        The customer-day table of the purchases both were computed from: when each lists its
        customers in one of the table's orders, they are lined up by its codes (no hash table of
        the text ids; `analytics.engine.id_positions`). The same result.

    Returns
    -------
    pd.DataFrame
        Index customer_id; whichever of clv, p_alive, churn_probability and active are known.

    Raises
    ------
    DataError
        When neither model's results are given.
    """
    frames = []
    if clv_customers is not None:
        frames.append(clv_customers[["clv", "p_alive"]])
    if churn_scores is not None:
        frames.append(churn_scores.set_index(CUSTOMER_ID)[["churn_probability", "active"]])
    if not frames:
        raise DataError("Neither lifetime value nor churn risk can be computed on this data.")
    positions = _same_customers(frames[0].index, frames[1].index, table) if len(frames) == 2 else None
    if positions is not None:
        # the same customers (both models score every customer; the purchase model in order of
        # first purchase, the churn model by id): the churn columns taken by position, in the
        # purchase model's order, as `pd.concat` aligns them (its union of the ids hashed both
        # tables' millions of text ids several times over: 4-5 s at 2M customers)
        churn = frames[1]
        out = pd.DataFrame(
            {
                **{column: frames[0][column].array for column in frames[0].columns},
                **{
                    column: churn[column].array if isinstance(positions, slice) else churn[column].array.take(positions)
                    for column in churn.columns
                },
            }
        )
        out.index = frames[0].index
    else:
        out = pd.concat(frames, axis=1)
    out.index.name = CUSTOMER_ID
    return out


def _same_customers(left: pd.Index, right: pd.Index, table: CustomerDays | None = None) -> np.ndarray | slice | None:
    """Where each of `left`'s ids is in `right` when both hold the same distinct ids, else None.

    By the customer-day table's codes when both list all of `table`'s customers in its orders
    (`customer_codes`); else a slice (every row where it is) when the two are equal and distinct,
    or positions found with one hash table (of `right`'s ids) and one lookup of `left`'s.
    """
    if len(left) != len(right):
        return None
    if table is not None and len(right) == len(table.customer_ids):
        right_codes = customer_codes(table, right)
        left_codes = None if right_codes is None else customer_codes(table, left)
        if right_codes is not None and left_codes is not None:  # both every customer of the table, once
            slot = np.empty(len(right_codes), dtype=np.intp)
            slot[right_codes] = np.arange(len(right_codes))
            return slot[left_codes]
    if not right.is_unique:
        return None
    if left.equals(right):
        return slice(None)
    positions = right.get_indexer(left)
    if (positions < 0).any():
        return None
    seen = np.zeros(len(right), dtype=bool)
    seen[positions] = True
    return positions if seen.all() else None  # every id of `right` once: `left` is distinct too


def score_customers(data: CustomerData, vr: pd.DataFrame, settings: ClvSettings) -> Scores:
    """Value and churn risk of every current customer: the one place pages rank customers from.

    Parameters
    ----------
    data : CustomerData
        The dataset (its customers table gives `monthly_charge` and `churned` where there are any).
    vr : pd.DataFrame
        Model results per customer (index customer_id): any of `clv`, `p_alive` (purchase model),
        `churn_probability` and `active` (churn model); empty when no model could run.
    settings : ClvSettings
        Horizon, margin and discount rate of the value (also used for the monthly-charge proxy).

    Returns
    -------
    Scores
        Value is the model-based CLV, else margin x monthly charge over the horizon
        (`charge_value`); risk is the churn model's probability, else 1 - p_alive. Customers known
        to have left are dropped.

    Raises
    ------
    DataError
        When neither value nor risk can be had, naming the columns that would enable it.
    """
    frame = pd.DataFrame(index=vr.index)
    model_clv = "clv" in vr.columns
    if model_clv:
        value, value_source = customer_value(data, vr.index, settings, clv=vr["clv"], fit=False)
        frame["value"] = value.to_numpy()
    elif data.has_column(MONTHLY_CHARGE):
        customers = data.require_customers()
        known = customers.loc[customers[MONTHLY_CHARGE].notna(), CUSTOMER_ID]
        value, value_source = customer_value(data, known, settings, fit=False)
        frame = frame.join(pd.Series(value.to_numpy(), index=known.to_numpy(), name="value"), how="outer")
    else:
        raise DataError(f"Value per customer needs {NEEDS_VALUE}.")
    if "p_alive" in vr.columns:
        frame["p_alive"] = vr["p_alive"]
    if "churn_probability" in vr.columns:
        frame["churn_probability"] = vr["churn_probability"]
        risk_source = "the churn model (probability of leaving)"
    elif "p_alive" in vr.columns:
        frame["churn_probability"] = 1.0 - vr["p_alive"]
        risk_source = "1 - the purchase model's probability that the customer is still active"
    else:
        raise DataError(f"Churn risk needs {NEEDS_RISK}.")
    current = _current(vr, data).reindex(frame.index, fill_value=True)
    frame = frame[current.to_numpy(dtype=bool)].dropna(subset=["value", "churn_probability"])
    if frame.empty:
        raise DataError("No current customer has both a value and a churn risk.")
    frame.index.name = CUSTOMER_ID
    return Scores(frame=frame, value_source=value_source, risk_source=risk_source, model_clv=model_clv)


def _current(vr: pd.DataFrame, data: CustomerData) -> pd.Series:
    """True for customers not known to have left (churn model's `active`, else `churned`)."""
    if "active" in vr.columns:
        return vr["active"].astype("boolean").fillna(True).astype(bool)
    if data.has_column(CHURNED):
        churned = data.require_customers().set_index(CUSTOMER_ID)[CHURNED].astype("boolean").fillna(False)
        return ~churned.astype(bool)
    return pd.Series(True, index=vr.index)


def boundary_note(model: str, params: dict[str, float], time_unit: str) -> str | None:
    """One plain sentence when a purchase model's fit sits at a boundary, else None.

    BG/NBD and MBG/NBD: a mean dropout probability per purchase ``a / (a + b)`` below 0.1%;
    Pareto/NBD: a mean dropout rate ``s / beta`` under 0.1% a year. Either way the data show no
    sign of customers dropping out in this window, so P(alive) is near 1 for everyone.

    Parameters
    ----------
    model : str
        'bg_nbd', 'pareto_nbd' or 'mbg_nbd'.
    params : dict
        The fitted parameters.
    time_unit : str
        The model's time unit ('D', 'W', 'M').

    Returns
    -------
    str or None
        The sentence, or None when the fit is not at a boundary.
    """
    if model in ("bg_nbd", "mbg_nbd"):
        dropout = params["a"] / (params["a"] + params["b"])
    elif model == "pareto_nbd":
        dropout = params["s"] / params["beta"] * DAYS_PER_YEAR / _unit_days(time_unit)
    else:
        return None
    if dropout >= 1e-3:
        return None
    label = MODEL_LABELS.get(model, model)
    return (
        f"{label} finds no sign of customers dropping out in this window (its dropout rate went to zero): every "
        "customer counts as still active, so retention and value rest on purchase rates alone. A longer history "
        "would show who stops buying."
    )


def unique_notes(notes: list[str]) -> list[str]:
    """Each note once, in order of first appearance (fits retried per model repeat the same remark).

    Parameters
    ----------
    notes : list of str
        Notes, possibly repeated.

    Returns
    -------
    list of str
        The notes without repeats.
    """
    return list(dict.fromkeys(notes))
