"""Customer KPIs for one period against the period before, with targets and the report section.

The period is a calendar month (default), quarter or year. The KPIs are read for the **last
complete period** of the data (the period that ends on or before the observation end) and compared
with the period before it; both are named on the result (`KPIReport.current_period`,
`KPIReport.previous_period`).

Definitions (each KPI also carries its own one-line `definition`):

* Transactions only ("purchase basis"): a customer is *active* in a period when they bought in it;
  *new* when their first purchase falls in it; *customers* counts everyone who has bought by the
  period end. A customer is *lost* in period p when they bought in p-1 and not in p. This is strict
  for infrequent buyers (a customer who buys every second month is "lost" every other month), so
  use quarters or years, or the model-based CLV, for non-contractual businesses.
* Customers table with `signup_date` and `churn_date` (or `churned` + `tenure_months`)
  ("subscription basis"): *active* means subscribed at any time in the period, *customers* means on
  the books at the period end, *lost* means `churn_date` falls in the period.
* Churn rate = customers at the start of the period lost during it / customers at its start, so
  churn = 1 - retention and both stay within 0-100% (the "lost / average customers" convention went
  past 100% when a base collapsed: 126% on CDNOW). Retention rate = share of the customers at the
  start of the period still there at its end. For a purchase log both are about buying again next
  period (the repeat rate); the purchase model's retention is in `analytics.business.value`.
* Expected customer lifetime = 1 / churn rate (mean of a geometric lifetime), in periods.
* Simple CLV = average order value x purchase frequency x lifetime - acquisition cost (the
  textbook "average purchase value x purchase frequency x lifespan" formula, e.g. Kumar & Reinartz,
  Customer Relationship Management, ch. 6); every factor is kept on the KPI (`factors`).

Survey and support KPIs (NPS, CSAT, CES, resolution time, first-contact resolution, escalation
rate) are computed over every answer in the customers table: the table carries no survey date, so
they have no previous-period value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.assumptions import LTV_TO_CAC, MARGIN_RATE
from analytics.data.periods import (
    DAYS_PER_MONTH,
    MONTHS_PER_PERIOD,
    PERIOD_CODES,
    check_period,
    last_complete_period,
    period_from_ordinal,
    period_ordinals,
)
from analytics.data.schema import (
    ACQUISITION_COST,
    CES,
    CHURN_DATE,
    CHURNED,
    COMPLAINTS,
    CSAT,
    CUSTOMER_ID,
    ESCALATIONS,
    FIRST_CONTACT_RESOLUTION,
    MONTHLY_CHARGE,
    NPS,
    ORDER_DATE,
    RESOLUTION_HOURS,
    SIGNUP_DATE,
    TENURE_MONTHS,
    TICKETS,
    CustomerData,
    DataError,
)
from analytics.engine.customer_days import CustomerDays, customer_days

if TYPE_CHECKING:
    from analytics.engine.pushdown import PurchaseBehaviour


def customer_spans(customers: pd.DataFrame | None) -> pd.DataFrame | None:
    """Subscription spans: `customer_id`, `start` (signup) and `end` (churn; NaT while active).

    The end is `churn_date`; where that is blank for a customer flagged `churned`, it is
    `signup_date + tenure_months` (months of 365.25/12 days). Customers flagged churned with
    neither are dropped (their exit cannot be placed in time).

    Parameters
    ----------
    customers : pd.DataFrame or None
        The cleaned customers table.

    Returns
    -------
    pd.DataFrame or None
        The spans; None when the table has no signup dates or no churn information at all.
    """
    if customers is None or SIGNUP_DATE not in customers.columns:
        return None
    has_date = CHURN_DATE in customers.columns and customers[CHURN_DATE].notna().any()
    has_flag = CHURNED in customers.columns and TENURE_MONTHS in customers.columns
    if not (has_date or has_flag):
        return None
    df = customers[customers[SIGNUP_DATE].notna()]
    start = pd.to_datetime(df[SIGNUP_DATE])
    end = pd.to_datetime(df[CHURN_DATE]) if CHURN_DATE in df.columns else pd.Series(pd.NaT, index=df.index)
    churned = (
        df[CHURNED].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if CHURNED in df.columns
        else end.notna().to_numpy()
    )
    if TENURE_MONTHS in df.columns:
        derived = start + pd.to_timedelta(df[TENURE_MONTHS] * DAYS_PER_MONTH, unit="D")
        end = end.where(end.notna() | ~churned, derived.dt.normalize())
    keep = ~(churned & end.isna().to_numpy())
    out = pd.DataFrame({CUSTOMER_ID: df[CUSTOMER_ID].to_numpy(), "start": start, "end": end})
    return out[keep].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Per-period table
# --------------------------------------------------------------------------------------------


def _purchase_periods(transactions: pd.DataFrame, period: str) -> pd.DataFrame:
    """Counts per period from purchases (index: period ordinal).

    Computed from the customer-day table (`analytics.engine.customer_days`), built once per frame:
    an order (rows sharing an order id, else one row) counts in the period of its first day.
    """
    return purchase_periods_from_counts(_period_counts(customer_days(transactions), period))


def _period_counts(table: CustomerDays, period: str) -> pd.DataFrame:
    """The per-period counters of `analytics.engine.pushdown.PERIOD_COUNT_COLUMNS`, in numpy."""
    has_order = table.orders > 0
    c = table.customer[has_order]
    n = table.orders[has_order]
    day = table.day[has_order]
    # every calendar day from the first purchase day to the last, so a day's period is a lookup
    # (no sort of the days: np.unique took 1.8 of this function's 2.3 CPU s at 2M customers)
    first_day = int(day.min())
    all_days = np.arange(first_day, int(day.max()) + 1).astype("datetime64[D]")
    p = period_ordinals(pd.Series(all_days), period)[day - first_day]
    full = np.arange(p.min(), p.max() + 1)
    offset = p - full[0]
    size = len(full)
    revenue = np.bincount(offset, weights=table.order_spend[has_order], minlength=size)
    n_orders = np.bincount(offset, weights=n, minlength=size).astype(np.int64)
    # distinct (customer, period) pairs: rows are sorted by customer then day, so by period too
    same_customer = np.r_[False, c[1:] == c[:-1]]
    new_pair = ~(same_customer & np.r_[False, p[1:] == p[:-1]])
    pair_c, pair_p = c[new_pair], offset[new_pair]
    buyers = np.bincount(pair_p, minlength=size)
    pair_first = np.r_[True, pair_c[1:] != pair_c[:-1]]
    new = np.bincount(pair_p[pair_first], minlength=size)
    # retained in p: bought in p and in p-1
    retained_pair = ~pair_first & (np.r_[-2, pair_p[:-1]] == pair_p - 1)
    retained = np.bincount(pair_p[retained_pair], minlength=size)
    # the period of each customer's second order (repeat buyers)
    cumulative = np.cumsum(n)
    customer_start = np.flatnonzero(~same_customer)
    before = np.repeat(np.r_[0, cumulative[customer_start[1:] - 1]], np.diff(np.r_[customer_start, len(c)]))
    so_far = cumulative - before
    reaches_two = (so_far >= 2) & ((so_far - n) < 2)
    second = np.bincount(offset[reaches_two], minlength=size)
    counts = pd.DataFrame(
        {
            "orders": n_orders,
            "revenue": revenue,
            "buyers": buyers,
            "new_customers": new,
            "retained_customers": retained,
            "second_orders": second,
        },
        index=full,
    )
    return counts[counts["orders"] > 0]


def purchase_periods_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """The purchase columns of `period_table` from per-period counters (index: period ordinal).

    Parameters
    ----------
    counts : pd.DataFrame
        Indexed by period ordinal (periods with an order), columns orders, revenue, buyers,
        new_customers, retained_customers, second_orders (see
        `analytics.engine.pushdown.PurchaseBehaviour`); from the customer-day table or from a
        database.

    Returns
    -------
    pd.DataFrame
        Every period from the first to the last: customers (acquired so far), active_customers,
        buyers, new, start, end, retained and lost customers, orders, revenue, repeat_customers
        (customers with 2+ orders so far).
    """
    full = np.arange(int(counts.index.min()), int(counts.index.max()) + 1)
    c = counts.reindex(full, fill_value=0)
    buyers = c["buyers"].to_numpy(np.int64)
    new = c["new_customers"].to_numpy(np.int64)
    retained = c["retained_customers"].to_numpy(np.int64)
    start = np.r_[0, buyers[:-1]]
    return pd.DataFrame(
        {
            "customers": new.cumsum(),
            "active_customers": buyers,
            "buyers": buyers,
            "new_customers": new,
            "start_customers": start,
            "end_customers": buyers,
            "retained_customers": retained,
            "lost_customers": start - retained,
            "orders": c["orders"].to_numpy(np.int64),
            "revenue": c["revenue"].to_numpy(np.float64),
            "repeat_customers": c["second_orders"].to_numpy(np.int64).cumsum(),
        },
        index=full,
    )


def _subscription_periods(spans: pd.DataFrame, period: str, first: int, last: int) -> pd.DataFrame:
    """Counts per period from subscription spans (index: period ordinal)."""
    s = period_ordinals(spans["start"], period)
    end_known = spans["end"].notna().to_numpy()
    e = np.full(len(spans), np.iinfo(np.int64).max, dtype=np.int64)
    if end_known.any():
        e[end_known] = period_ordinals(spans.loc[end_known, "end"], period)
    rows = []
    for p in range(first, last + 1):
        start_n = int(((s < p) & (e >= p)).sum())  # on the books when p begins
        active = int(((s <= p) & (e >= p)).sum())
        end_n = int(((s <= p) & (e > p)).sum())
        lost = int((e == p).sum())
        lost_from_start = int(((s < p) & (e == p)).sum())
        rows.append(
            {
                "customers": end_n,
                "active_customers": active,
                "new_customers": int((s == p).sum()),
                "start_customers": start_n,
                "end_customers": end_n,
                "retained_customers": start_n - lost_from_start,
                "lost_customers": lost,
            }
        )
    return pd.DataFrame(rows, index=np.arange(first, last + 1))


def _safe_div(num: Any, den: Any) -> Any:
    """num / den with NaN where den is 0 (Series or scalars)."""
    if isinstance(den, pd.Series):
        return num / den.where(den != 0)
    return float(num) / float(den) if den else float("nan")


def period_table(
    data: CustomerData, period: str = "month", *, purchases: PurchaseBehaviour | None = None
) -> pd.DataFrame:
    """One row per calendar period with the counts and rates behind the KPIs.

    Parameters
    ----------
    data : CustomerData
        Transactions and/or a customers table with signup and churn dates.
    period : {"month", "quarter", "year"}

    Returns
    -------
    DataFrame indexed by `pandas.Period`, columns: customers, active_customers, new_customers,
    start_customers, end_customers, retained_customers, lost_customers (all counts of customers),
    and when transactions exist: buyers, orders, revenue (currency), repeat_customers,
    average_order_value (currency per order), purchase_frequency (orders per buying customer),
    repeat_purchase_rate (share 0..1 of customers with 2+ orders by the period end); always
    retention_rate and churn_rate (shares 0..1 per period), lifetime_periods (1 / churn rate),
    acquisition_spend and cac (currency) when acquisition costs are known. `attrs["basis"]` says
    whether customer counts come from purchases or subscriptions. With `purchases` (computed in
    a database, `analytics.engine.pushdown.summarise_behaviour`) the purchase counts come from
    there and `data` holds the customers table, if any.
    """
    check_period(period)
    spans = customer_spans(data.customers) if data.has_customers else None
    has_purchases = data.has_transactions or purchases is not None
    if not has_purchases and spans is None:
        raise DataError(
            "Period KPIs need purchases (customer id, order date, amount) or a customers table "
            "with signup_date and churn_date (or churned + tenure_months)."
        )
    end_ord = int(period_ordinals(pd.Series([observation_end_with(data, purchases)]), period)[0])
    table: pd.DataFrame | None = None
    if purchases is not None:
        if period not in purchases.period_counts:
            raise DataError(f"The database was not asked for {period} counts.")
        table = purchase_periods_from_counts(purchases.period_counts[period])
    elif data.has_transactions:
        table = _purchase_periods(data.require_transactions(), period)
    basis = "purchases"
    if spans is not None and len(spans):
        first = int(period_ordinals(spans["start"], period).min())
        if table is not None:
            first = min(first, int(table.index.min()))
        subs = _subscription_periods(spans, period, first, end_ord)
        if table is not None:
            money = table[["buyers", "orders", "revenue", "repeat_customers"]].reindex(subs.index)
            money = money.fillna({"buyers": 0, "orders": 0, "revenue": 0.0}).ffill().fillna(0)
            table = subs.join(money)
        else:
            table = subs
        basis = "subscriptions"
    if table is None:  # a customers table whose rows give no usable span, and no purchases
        raise DataError(
            "Period KPIs need purchases (customer id, order date, amount) or a customers table "
            "with signup_date and churn_date (or churned + tenure_months)."
        )
    table = table.loc[table.index <= end_ord].copy()
    if "revenue" in table.columns:
        table["average_order_value"] = _safe_div(table["revenue"], table["orders"])
        table["purchase_frequency"] = _safe_div(table["orders"], table["buyers"])
        ever = table["customers"] if basis == "purchases" else _buyers_to_date(data, period, table.index, purchases)
        table["repeat_purchase_rate"] = _safe_div(table["repeat_customers"], ever)
    table["retention_rate"] = _safe_div(table["retained_customers"], table["start_customers"])
    # Churn = customers at the period's start who were lost during it / customers at its start, the
    # complement of retention, so always within 0-100% (lost / average of start and end went past
    # 100% when a base collapsed: 126% on CDNOW after its acquisition quarter). Customers who join and
    # leave within one period are not in the start count, so they are not in this rate either.
    churn = _safe_div(table["start_customers"] - table["retained_customers"], table["start_customers"])
    table["churn_rate"] = churn.where(table["start_customers"] > 0)
    table["lifetime_periods"] = _safe_div(pd.Series(1.0, index=table.index), table["churn_rate"])
    _add_acquisition(table, data, period, basis, purchases)
    table.index = pd.PeriodIndex([period_from_ordinal(i, period) for i in table.index])
    table.index.name = "period"
    table.attrs["basis"] = basis
    table.attrs["period"] = period
    return table


def observation_end_with(data: CustomerData, purchases: PurchaseBehaviour | None) -> pd.Timestamp:
    """The data's last day, counting purchases that stayed in a database.

    Parameters
    ----------
    data : CustomerData
        The dataset (its customers table, when the purchases stayed in a database).
    purchases : PurchaseBehaviour or None
        What the database returned, if anything.

    Returns
    -------
    pd.Timestamp
        The observation end (midnight).
    """
    if purchases is None:
        return data.observation_end
    own = data.observation_end_or_none
    return purchases.observation_end if own is None else max(own, purchases.observation_end)


def _buyers_to_date(
    data: CustomerData, period: str, index: pd.Index, purchases: PurchaseBehaviour | None = None
) -> pd.Series:
    """Customers who have bought at least once by the end of each period."""
    first = _first_purchase_days(data, purchases)
    counts = pd.Series(period_ordinals(first, period)).value_counts()
    return counts.reindex(range(int(index.min()), int(index.max()) + 1), fill_value=0).cumsum().reindex(index)


def _acquisition_dates(data: CustomerData, purchases: PurchaseBehaviour | None = None) -> pd.Series | None:
    """When each customer was acquired: signup date, else first purchase (index customer_id)."""
    if data.has_column(SIGNUP_DATE):
        return data.require_customers().set_index(CUSTOMER_ID)[SIGNUP_DATE].dropna()
    if data.has_transactions or purchases is not None:
        return _first_purchase_days(data, purchases)
    return None


def _first_purchase_days(data: CustomerData, purchases: PurchaseBehaviour | None = None) -> pd.Series:
    """Each customer's first purchase day (midnight; index customer_id), from the customer-day table
    (or the database's per-customer rows)."""
    if purchases is not None:
        first_day = purchases.customers["first_day"]
        return pd.Series(first_day.to_numpy().astype("datetime64[D]").astype("datetime64[ns]"), index=first_day.index)
    table = customer_days(data.require_transactions())
    starts = table.starts
    first = table.day[starts].astype("datetime64[D]").astype("datetime64[ns]")
    return pd.Series(first, index=pd.Index(table.customer_ids[table.customer[starts]], name=CUSTOMER_ID))


def _add_acquisition(
    table: pd.DataFrame, data: CustomerData, period: str, basis: str, purchases: PurchaseBehaviour | None = None
) -> None:
    """Add acquisition_spend and cac (spend / new customers with a known cost) per period."""
    if not data.has_column(ACQUISITION_COST):
        return
    acquired = _acquisition_dates(data, purchases)
    if acquired is None or acquired.empty:
        return
    cost = data.require_customers().set_index(CUSTOMER_ID)[ACQUISITION_COST]
    joined = pd.DataFrame({"date": acquired}).join(cost, how="inner").dropna()
    if joined.empty:
        return
    ords = period_ordinals(joined["date"], period)
    grouped = joined.assign(p=ords).groupby("p")[ACQUISITION_COST].agg(["sum", "count"])
    grouped = grouped.reindex(table.index)
    table["acquisition_spend"] = grouped["sum"].fillna(0.0).to_numpy()
    table["cac"] = _safe_div(grouped["sum"], grouped["count"]).to_numpy()


# --------------------------------------------------------------------------------------------
# KPI objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KPI:
    """One KPI value for the chosen period, with its previous value and meaning.

    Attributes
    ----------
    key, label, unit, definition : str
        What it is, as the glossary says.
    value, previous : float or None
        This and the previous period's value; None when not computable.
    change : float or None
        value - previous in the KPI's own unit (for shares a difference of shares: 0.02 =
        2 percentage points).
    higher_is_better : bool or None
        None for neutral counts.
    missing : str or None
        Which column or data would enable a missing value.
    period, previous_period : str
        The periods compared.
    benchmark : float or None
        A rule-of-thumb reference (e.g. LTV:CAC 3).
    factors : tuple
        (name, value) pairs a composite KPI is built from.
    """

    key: str
    label: str
    value: float | None
    unit: str
    definition: str
    previous: float | None = None
    change: float | None = None
    higher_is_better: bool | None = True
    missing: str | None = None
    period: str = ""
    previous_period: str = ""
    benchmark: float | None = None
    factors: tuple[tuple[str, float | None], ...] = ()

    @property
    def relative_change(self) -> float | None:
        """(value - previous) / |previous|, or None."""
        if self.change is None or not self.previous:
            return None
        return self.change / abs(self.previous)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN -> None).

        Returns
        -------
        dict
            Every field by name.
        """
        out: dict[str, Any] = {
            "key": self.key,
            "label": self.label,
            "value": _num(self.value),
            "unit": self.unit,
            "previous": _num(self.previous),
            "change": _num(self.change),
            "higher_is_better": self.higher_is_better,
            "definition": self.definition,
            "missing": self.missing,
            "period": self.period,
            "previous_period": self.previous_period,
        }
        if self.benchmark is not None:
            out["benchmark"] = self.benchmark
        if self.factors:
            out["factors"] = {k: _num(v) for k, v in self.factors}
        return out


def _num(value: Any) -> float | None:
    """Plain float, or None for None / NaN / inf."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


@dataclass(frozen=True)
class _Spec:
    label: str
    unit: str
    definition: str
    higher_is_better: bool | None


# The stable list of KPI keys (order = display order).
KPI_SPECS: dict[str, _Spec] = {
    "customers": _Spec(
        "Customers",
        "customers",
        "Customers on the books at the period end (purchases: everyone who has bought by then).",
        None,
    ),
    "active_customers": _Spec(
        "Active customers", "customers", "Customers who bought in the period (or were subscribed during it).", True
    ),
    "new_customers": _Spec(
        "New customers", "customers", "Customers whose first purchase (or signup) falls in the period.", True
    ),
    "revenue": _Spec("Revenue", "currency", "Sum of purchase amounts in the period.", True),
    "average_order_value": _Spec("Average order value", "currency", "Revenue / orders in the period.", True),
    "purchase_frequency": _Spec(
        "Purchase frequency", "orders per customer", "Orders / customers who bought in the period.", True
    ),
    "repeat_purchase_rate": _Spec(
        "Repeat-purchase rate", "share", "Share of customers with 2 or more orders by the period end.", True
    ),
    "retention_rate": _Spec(
        "Retention rate",
        "share",
        "Share of the customers at the period start still active at its end (for a purchase log: of last "
        "period's buyers, the share who bought again, i.e. the repeat rate; the purchase model's yearly "
        "retention is on the Lifetime value page).",
        True,
    ),
    "churn_rate": _Spec(
        "Churn rate",
        "share",
        "Customers at the period start lost during it / customers at its start (1 - retention rate), 0-100%.",
        False,
    ),
    "customer_lifetime": _Spec(
        "Expected customer lifetime",
        "periods",
        "1 / churn rate: expected lifetime in periods if churn stays at this rate.",
        True,
    ),
    "mean_tenure_months": _Spec(
        "Observed mean tenure",
        "months",
        "Mean months from acquisition to churn, or to the data's end for current customers.",
        True,
    ),
    "clv_simple": _Spec(
        "Formula lifetime value (average, undiscounted)",
        "currency",
        "Formula CLV: average order value x purchase frequency x expected lifetime x margin; averaged over "
        "everyone and undiscounted, so larger than the model's value of today's customers.",
        True,
    ),
    "clv_model": _Spec(
        "Average 12-month value per customer (model)",
        "currency",
        "Mean customer value over the Lifetime value page's horizon (12 months by default) from its fitted model.",
        True,
    ),
    "nps": _Spec("NPS", "score", "% promoters (9-10) minus % detractors (0-6), from -100 to 100.", True),
    "csat": _Spec("CSAT", "share", "Share of satisfaction answers that are 4 or 5 (of 5).", True),
    "ces": _Spec("CES", "score", "Mean customer effort score (1-7, lower is easier).", False),
    "cac": _Spec("CAC", "currency", "Acquisition spend / new customers in the period.", False),
    "avg_resolution_hours": _Spec(
        "Average resolution time", "hours", "Mean hours to resolve a ticket (weighted by tickets).", False
    ),
    "first_contact_resolution": _Spec(
        "First-contact resolution",
        "share",
        "Share of tickets resolved at the first contact (weighted by tickets).",
        True,
    ),
    "escalation_rate": _Spec("Escalation rate", "share", "Escalated tickets / tickets.", False),
    "complaints_per_day": _Spec("Complaints per day", "per day", "Complaints / days covered by the data.", False),
    "ltv_cac": _Spec(
        "LTV:CAC",
        "ratio",
        f"Lifetime value before acquisition cost / CAC; {LTV_TO_CAC:g}:1 is the common rule of thumb.",
        True,
    ),
}
KPI_KEYS: tuple[str, ...] = tuple(KPI_SPECS)


@dataclass(frozen=True)
class KPIReport:
    """The KPIs of one period against the period before.

    Attributes
    ----------
    kpis : tuple of KPI
        In KPI order.
    period : str
        month, quarter or year.
    current_period, previous_period : str or None
        The periods compared.
    basis : str
        Whether customer counts come from purchases or subscriptions.
    notes : tuple of str
        Plain-word caveats.
    """

    kpis: tuple[KPI, ...]
    period: str
    current_period: str | None
    previous_period: str | None
    basis: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __getitem__(self, key: str) -> KPI:
        for k in self.kpis:
            if k.key == key:
                return k
        raise KeyError(key)

    def value(self, key: str) -> float | None:
        """The KPI value.

        Parameters
        ----------
        key : str
            A KPI key.

        Returns
        -------
        float or None
            None when not computable.
        """
        return self[key].value

    def to_frame(self) -> pd.DataFrame:
        """The report as a table.

        Returns
        -------
        pd.DataFrame
            One row per KPI: key, label, value, unit, previous, change, definition, missing.
        """
        return pd.DataFrame([k.to_dict() for k in self.kpis]).drop(columns=["factors"], errors="ignore")


def _kpi(
    key: str,
    value: Any,
    previous: Any = None,
    *,
    missing: str | None = None,
    period: str = "",
    previous_period: str = "",
    unit: str | None = None,
    **extra: Any,
) -> KPI:
    spec = KPI_SPECS[key]
    v, p = _num(value), _num(previous)
    if v is None and missing is None:
        missing = "not enough data in the period"
    return KPI(
        key=key,
        label=spec.label,
        value=v,
        unit=unit or spec.unit,
        definition=spec.definition,
        previous=p,
        change=(v - p) if v is not None and p is not None else None,
        higher_is_better=spec.higher_is_better,
        missing=None if v is not None else missing,
        period=period,
        previous_period=previous_period,
        **extra,
    )


# --------------------------------------------------------------------------------------------
# Survey and support KPIs (formulas with known answers, tested on them)
# --------------------------------------------------------------------------------------------


def net_promoter_score(scores: Iterable[float]) -> float:
    """NPS = 100 x (share of 9-10 answers - share of 0-6 answers) (Reichheld 2003, HBR).

    Blank answers are ignored.

    Parameters
    ----------
    scores : iterable of float
        Answers 0..10.

    Returns
    -------
    float
        -100..100; NaN when there is no answer.
    """
    s = pd.Series(list(scores), dtype="float64").dropna()
    if s.empty:
        return float("nan")
    return float(100.0 * ((s >= 9).mean() - (s <= 6).mean()))


def csat_score(scores: Iterable[float]) -> float:
    """CSAT = share (0..1) of answers that are 4 or 5 on a 1-5 scale (top-two-box).

    Parameters
    ----------
    scores : iterable of float
        Answers 1..5.

    Returns
    -------
    float
        0..1.
    """
    s = pd.Series(list(scores), dtype="float64").dropna()
    return float((s >= 4).mean()) if len(s) else float("nan")


def customer_effort_score(scores: Iterable[float]) -> float:
    """CES = mean answer on the 1-7 effort scale (lower is easier; Dixon et al. 2010, HBR).

    Parameters
    ----------
    scores : iterable of float
        Answers 1..7.

    Returns
    -------
    float
        1..7.
    """
    s = pd.Series(list(scores), dtype="float64").dropna()
    return float(s.mean()) if len(s) else float("nan")


def _ticket_weighted(values: pd.Series, tickets: pd.Series | None) -> float:
    """Mean of per-customer values weighted by their ticket counts (plain mean without tickets)."""
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    if tickets is None:
        v = v.dropna()
        return float(v.mean()) if len(v) else float("nan")
    w = pd.to_numeric(tickets, errors="coerce").astype("float64")
    ok = v.notna() & w.notna() & (w > 0)
    if not ok.any():
        return float("nan")
    return float((v[ok] * w[ok]).sum() / w[ok].sum())


def _needs(role: str, what: str, data: CustomerData) -> str:
    if not data.has_customers:
        return f"a customers table with a '{role}' column ({what})"
    return f"a '{role}' column ({what}) in the customers table"


def _survey_kpis(data: CustomerData) -> list[KPI]:
    c = data.customers if data.customers is not None and data.has_customers else pd.DataFrame()
    tickets = c[TICKETS] if data.has_column(TICKETS) else None
    out = []
    for key, role, fn, what in (
        ("nps", NPS, net_promoter_score, "0-10 recommendation answers"),
        ("csat", CSAT, csat_score, "1-5 satisfaction answers"),
        ("ces", CES, customer_effort_score, "1-7 effort answers"),
    ):
        if data.has_column(role):
            out.append(_kpi(key, fn(c[role])))
        else:
            out.append(_kpi(key, None, missing=_needs(role, what, data)))
    if data.has_column(RESOLUTION_HOURS):
        out.append(_kpi("avg_resolution_hours", _ticket_weighted(c[RESOLUTION_HOURS], tickets)))
    else:
        out.append(_kpi("avg_resolution_hours", None, missing=_needs(RESOLUTION_HOURS, "hours to resolve", data)))
    if data.has_column(FIRST_CONTACT_RESOLUTION):
        fcr = c[FIRST_CONTACT_RESOLUTION].astype("float64")
        out.append(_kpi("first_contact_resolution", _ticket_weighted(fcr, tickets)))
    else:
        out.append(_kpi("first_contact_resolution", None, missing=_needs(FIRST_CONTACT_RESOLUTION, "share 0..1", data)))
    if data.has_column(ESCALATIONS) and tickets is not None:
        total = float(tickets.sum())
        rate = float(c[ESCALATIONS].sum()) / total if total > 0 else None
        out.append(_kpi("escalation_rate", rate, missing=None if rate is not None else "no tickets recorded"))
    else:
        out.append(
            _kpi(
                "escalation_rate",
                None,
                missing=f"'{ESCALATIONS}' and '{TICKETS}' columns (counts per customer) in a customers table",
            )
        )
    out.append(_complaints_per_day(data))
    return out


def data_span_days(data: CustomerData) -> float | None:
    """Days covered by the data: first date (purchase or signup) to the observation end, inclusive.

    Parameters
    ----------
    data : CustomerData
        The dataset.

    Returns
    -------
    float or None
        Days; None without dates.
    """
    firsts = []
    if data.has_transactions:
        firsts.append(data.require_transactions()[ORDER_DATE].min())
    if data.has_column(SIGNUP_DATE):
        firsts.append(data.require_customers()[SIGNUP_DATE].min())
    if not firsts:
        return None
    return float((data.observation_end - min(firsts).normalize()).days + 1)


def _complaints_per_day(data: CustomerData) -> KPI:
    if not data.has_column(COMPLAINTS):
        return _kpi("complaints_per_day", None, missing=_needs(COMPLAINTS, "complaints per customer", data))
    days = data_span_days(data)
    if not days:
        return _kpi(
            "complaints_per_day", None, missing="dates (signup_date or purchases) to know how many days the data covers"
        )
    return _kpi("complaints_per_day", float(data.require_customers()[COMPLAINTS].sum()) / days)


def _mean_tenure_months(
    data: CustomerData, purchases: PurchaseBehaviour | None = None
) -> tuple[float | None, str | None]:
    """Signup to churn (or the data's end) when dates exist, else the tenure column, else first to
    last purchase; in months of 365.25 / 12 days."""
    spans = customer_spans(data.customers) if data.has_customers else None
    if spans is not None and len(spans):
        end = spans["end"].fillna(observation_end_with(data, purchases))
        return float(((end - spans["start"]).dt.days / DAYS_PER_MONTH).mean()), None
    if data.has_column(TENURE_MONTHS):
        return float(data.require_customers()[TENURE_MONTHS].mean()), None
    if purchases is not None:
        days = purchases.customers["last_day"] - purchases.customers["first_day"]
        return float((days / DAYS_PER_MONTH).mean()), None
    if data.has_transactions:
        table = customer_days(data.require_transactions())
        starts = table.starts
        ends = np.r_[starts[1:], len(table)] - 1
        days = table.day[ends] - table.day[starts]
        if table.first_time is not None and table.last_time is not None:  # whole days, as Timedelta.days
            days = days - (table.last_time[ends] < table.first_time[starts])
        return float((days / DAYS_PER_MONTH).mean()), None
    return None, "tenure_months, or signup and churn dates"


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def compute_kpis(
    data: CustomerData,
    *,
    period: str = "month",
    model_clv: float | None = None,
    as_of: pd.Timestamp | str | None = None,
    purchases: PurchaseBehaviour | None = None,
    margin: float = MARGIN_RATE,
    model_clv_horizon_months: float = 12.0,
) -> KPIReport:
    """Every KPI of KPI_KEYS for the last complete period (at or before `as_of`) and the one before.

    Parameters
    ----------
    data : CustomerData
    period : {"month", "quarter", "year"}
        Calendar period of the KPIs; counts and rates are per this period and
        `customer_lifetime` is in these periods.
    model_clv : float, optional
        Mean model-based CLV (currency per customer) from the CLV page, shown beside the simple
        one and used for LTV:CAC when given.
    as_of : date, optional
        Defaults to the data's observation end.
    purchases : PurchaseBehaviour, optional
        Purchase counts computed in a database (`analytics.engine.pushdown.summarise_behaviour`);
        `data` then holds the customers table, if any.
    margin : float, default `analytics.assumptions.MARGIN_RATE`
        Share of revenue kept, for the formula CLV (`analytics.business.value.formula_clv`).
    model_clv_horizon_months : float, default 12
        The horizon of `model_clv`, named in its label ("Average 12-month value per customer (model)").

    Returns
    -------
    KPIReport
        KPIs in KPI_KEYS order; a KPI that cannot be computed has value None and `missing` set.
    """
    check_period(period)
    notes: list[str] = []
    try:
        table = period_table(data, period, purchases=purchases)
    except DataError as err:
        table, no_period_reason = None, str(err)
    cur = prev = None
    if table is not None:
        end = pd.Timestamp(as_of) if as_of is not None else observation_end_with(data, purchases)
        target = last_complete_period(end, period)
        available = table.index[table.index <= target]
        if len(available) == 0:
            table, no_period_reason = None, f"no complete {period} in the data before {end.date()}"
        else:
            cur = available[-1]
            prev = cur - 1 if (cur - 1) in table.index else None
    kpis: list[KPI] = []
    labels = {"period": str(cur) if cur is not None else "", "previous_period": str(prev) if prev is not None else ""}
    unit_periods = {"month": "months", "quarter": "quarters", "year": "years"}[period]

    def from_table(key: str, column: str, missing_if_absent: str, **extra: Any) -> KPI:
        if table is None:
            return _kpi(key, None, missing=no_period_reason, **extra)
        if column not in table.columns:
            return _kpi(key, None, missing=missing_if_absent, **extra)
        now = table.at[cur, column]
        before = table.at[prev, column] if prev is not None else None
        return _kpi(key, now, before, **labels, **extra)

    need_tx = "transactions (customer id, order date, amount)"
    kpis.append(from_table("customers", "customers", need_tx))
    kpis.append(from_table("active_customers", "active_customers", need_tx))
    kpis.append(from_table("new_customers", "new_customers", need_tx))
    kpis.append(from_table("revenue", "revenue", need_tx))
    kpis.append(from_table("average_order_value", "average_order_value", need_tx))
    kpis.append(from_table("purchase_frequency", "purchase_frequency", need_tx))
    kpis.append(from_table("repeat_purchase_rate", "repeat_purchase_rate", need_tx))
    if table is None and (churn := _exposure_churn(data, period)) is not None:
        notes.append(
            "No signup or churn dates: churn is estimated as churned customers per customer-month "
            "of tenure (constant monthly hazard), so it has no previous period."
        )
        kpis[0] = _kpi("customers", int((~data.require_customers()[CHURNED].astype("boolean").fillna(False)).sum()))
        kpis.append(_kpi("retention_rate", 1.0 - churn))
        kpis.append(_kpi("churn_rate", churn))
        lifetime = _kpi("customer_lifetime", 1.0 / churn if churn > 0 else None, unit=unit_periods)
    else:
        kpis.append(from_table("retention_rate", "retention_rate", need_tx))
        kpis.append(from_table("churn_rate", "churn_rate", need_tx))
        lifetime = from_table("customer_lifetime", "lifetime_periods", need_tx, unit=unit_periods)
    if lifetime.value is None and table is not None and cur is not None and table.at[cur, "churn_rate"] == 0:
        lifetime = replace(lifetime, missing="no customer was lost in the period, so the lifetime is unbounded")
    kpis.append(lifetime)
    tenure, tenure_missing = _mean_tenure_months(data, purchases)
    kpis.append(_kpi("mean_tenure_months", tenure, missing=tenure_missing))

    cac = from_table("cac", "cac", _needs(ACQUISITION_COST, "cost to win each customer", data))
    if cac.value is None and data.has_column(ACQUISITION_COST):
        if table is None or "cac" not in table.columns:
            # no acquisition dates: the mean cost over all customers, without a period
            cac = _kpi("cac", float(data.require_customers()[ACQUISITION_COST].mean()))
        else:
            cac = replace(cac, missing="no new customer with a known acquisition cost in the period")
    clv, gross = _simple_clv(kpis, cac, labels, data, period, margin)
    kpis.append(clv)
    if model_clv is not None and _num(model_clv) is not None:
        kpis.append(_kpi("clv_model", model_clv))
    else:
        kpis.append(_kpi("clv_model", None, missing="a fitted CLV model (open the CLV page)"))
    kpis.extend(_survey_kpis(data))
    kpis.append(cac)
    kpis.append(_ltv_cac(model_clv, gross, cac))
    order = {k: i for i, k in enumerate(KPI_KEYS)}
    kpis.sort(key=lambda k: order[k.key])
    basis = table.attrs["basis"] if table is not None else "none"
    kpis = _with_labels(kpis, labels["period"] or None, period, basis == "purchases", model_clv_horizon_months)
    if basis == "purchases":
        notes.append(
            "Active, new and lost customers are read from purchases: lost = bought in the previous period but not in this one."
        )
    elif basis == "subscriptions":
        notes.append("Customer counts and churn come from signup and churn dates; revenue from purchases when present.")
    return KPIReport(
        kpis=tuple(kpis),
        period=period,
        current_period=labels["period"] or None,
        previous_period=labels["previous_period"] or None,
        basis=basis,
        notes=tuple(notes),
    )


def with_model_clv(report: KPIReport, model_clv: float | None, *, model_clv_horizon_months: float = 12.0) -> KPIReport:
    """`report` with the model-based CLV: its `clv_model` and `ltv_cac` KPIs as `compute_kpis` makes them.

    The same report as `compute_kpis(data, ..., model_clv=model_clv, model_clv_horizon_months=...)`
    on the data `report` was computed from, without a second pass over every purchase (at 1M
    customers that pass took 2-4 s of the Customer health page).

    Parameters
    ----------
    report : KPIReport
        Computed by `compute_kpis` (with or without a model CLV).
    model_clv : float or None
        Mean model-based CLV (currency per customer); None (or NaN) marks it missing.
    model_clv_horizon_months : float, default 12
        The horizon of `model_clv`, named in its label.

    Returns
    -------
    KPIReport
        A new report; only `clv_model` and `ltv_cac` differ from `report`.
    """
    if model_clv is not None and _num(model_clv) is not None:
        clv = _kpi("clv_model", model_clv)
    else:
        clv = _kpi("clv_model", None, missing="a fitted CLV model (open the CLV page)")
    gross = report["clv_simple"].value  # `_simple_clv`'s gross value: its KPI's value, or None
    ltv_cac = _ltv_cac(model_clv, gross, report["cac"])
    changed = {
        k.key: k
        for k in _with_labels(
            [clv, ltv_cac],
            report.current_period,
            report.period,
            report.basis == "purchases",
            model_clv_horizon_months,
        )
    }
    return replace(report, kpis=tuple(changed.get(k.key, k) for k in report.kpis))


def _with_labels(
    kpis: list[KPI], current: str | None, period: str, repeat_basis: bool, horizon_months: float
) -> list[KPI]:
    """Each KPI labelled with its period or basis, in the glossary's words (`glossary.figure_label`)."""
    from analytics.business.glossary import figure_key, figure_label, help_text
    from analytics.business.value import horizon_label

    out = []
    for k in kpis:
        label = figure_label(k.key, k.period or current, period_kind=period, repeat_basis=repeat_basis)
        if k.key == "clv_model":
            label = label.replace("12-month value", horizon_label(horizon_months))
        out.append(replace(k, label=label, definition=help_text(figure_key(k.key, repeat_basis))))
    return out


def _exposure_churn(data: CustomerData, period: str) -> float | None:
    """Churn per period from churned flags and tenure when there are no dates.

    Monthly hazard h = churned customers / total customer-months of tenure (the maximum-likelihood
    rate of a constant-hazard model with censoring); per period of m months: 1 - (1 - h)^m.
    """
    if not (data.has_column(CHURNED) and data.has_column(TENURE_MONTHS)):
        return None
    c = data.require_customers()
    churned = c[CHURNED].astype("boolean").fillna(False).to_numpy(dtype=bool)
    exposure = float(c[TENURE_MONTHS].clip(lower=0).sum())
    if exposure <= 0:
        return None
    h = min(1.0, churned.sum() / exposure)
    return float(1.0 - (1.0 - h) ** MONTHS_PER_PERIOD[PERIOD_CODES[period]])


def _simple_clv(
    kpis: list[KPI], cac: KPI, labels: dict[str, str], data: CustomerData, period: str, margin: float
) -> tuple[KPI, float | None]:
    """The formula CLV (`analytics.business.value.formula_clv`: average order value x orders per period x
    expected lifetime in periods x margin), and the same figure as the gross value for LTV:CAC."""
    from analytics.business.value import formula_clv

    by = {k.key: k for k in kpis}
    aov, freq, life = by["average_order_value"], by["purchase_frequency"], by["customer_lifetime"]
    factor_names = ("average_order_value", "purchase_frequency")
    if (aov.value is None or freq.value is None) and data.has_column(MONTHLY_CHARGE):
        # no purchases: a subscription pays its monthly charge once a month
        charge = float(data.require_customers()[MONTHLY_CHARGE].mean())
        aov = replace(aov, value=charge, previous=None)
        freq = replace(freq, value=float(MONTHS_PER_PERIOD[PERIOD_CODES[period]]), previous=None)
        factor_names = ("monthly_charge", "charges_per_period")
    factors = (
        (factor_names[0], aov.value),
        (factor_names[1], freq.value),
        ("lifetime_periods", life.value),
        ("margin", margin),
        ("acquisition_cost", cac.value),
    )
    if aov.value is None or freq.value is None or life.value is None:
        missing = [k.label.lower() for k in (aov, freq, life) if k.value is None]
        return _kpi("clv_simple", None, missing="needs " + ", ".join(missing), factors=factors), None
    # orders per period x lifetime in periods = orders a year x lifetime in years
    value = formula_clv(aov.value, freq.value, life.value, margin)
    prev = None
    if aov.previous is not None and freq.previous is not None and life.previous is not None:
        prev = formula_clv(aov.previous, freq.previous, life.previous, margin)
    return _kpi("clv_simple", value, prev, factors=factors, **labels), value


def _ltv_cac(model_clv: float | None, gross: float | None, cac: KPI) -> KPI:
    ltv = _num(model_clv) if model_clv is not None else gross
    if cac.value is None or not cac.value:
        return _kpi("ltv_cac", None, missing=cac.missing or "CAC", benchmark=LTV_TO_CAC)
    if ltv is None:
        return _kpi("ltv_cac", None, missing="a CLV (simple or model)", benchmark=LTV_TO_CAC)
    return _kpi("ltv_cac", ltv / cac.value, benchmark=LTV_TO_CAC)


def kpi_trend(data: CustomerData, key: str, *, period: str = "month") -> pd.DataFrame:
    """A KPI per period (for sparklines).

    Available for the per-period KPIs (customers .. customer_lifetime, cac); the last row is the
    last complete period.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    key : str
        A per-period KPI key.
    period : str, default 'month'
        The period.

    Returns
    -------
    pd.DataFrame
        period (Timestamp of the period start), value.

    Raises
    ------
    DataError
        For a KPI without per-period values on this data.
    """
    column = {"customer_lifetime": "lifetime_periods"}.get(key, key)
    table = period_table(data, period)
    if column not in table.columns:
        raise DataError(
            f"'{KPI_SPECS.get(key, _Spec(key, '', '', None)).label}' has no per-period values for this data."
        )
    last = last_complete_period(data.observation_end, period)
    series = table.loc[table.index <= last, column]
    return pd.DataFrame({"period": pd.PeriodIndex(series.index).to_timestamp(), "value": series.to_numpy(dtype=float)})


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


def parse_targets(text: str | None, *, strict: bool = False) -> dict[str, float]:
    """Read targets from their URL form "nps:30,retention_rate:0.9" (shares as fractions).

    Parameters
    ----------
    text : str or None
        The URL form.
    strict : bool
        Raise on unknown keys and malformed parts instead of skipping them.

    Returns
    -------
    dict of str to float
        KPI key -> target.

    Raises
    ------
    DataError
        With `strict`, for an unknown key or a malformed part.
    """
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, raw = part.partition(":")
        key = key.strip()
        try:
            if not sep or key not in KPI_SPECS:
                raise ValueError
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
        except ValueError:
            if strict:
                raise DataError(f"Cannot read the target '{part}': write key:number, e.g. nps:30.") from None
            continue
        out[key] = value
    return out


def format_targets(targets: Mapping[str, float]) -> str:
    """The compact URL form of targets, keys in KPI order: "retention_rate:0.9,nps:30".

    Parameters
    ----------
    targets : mapping of str to float
        KPI key -> target.

    Returns
    -------
    str
        The URL form.
    """
    parts = []
    for key in KPI_KEYS:
        if key in targets and _num(targets[key]) is not None:
            parts.append(f"{key}:{float(targets[key]):.10g}")
    return ",".join(parts)


def kpi_gaps(report: KPIReport, targets: Mapping[str, float]) -> pd.DataFrame:
    """Gap to target per KPI that has a target.

    Parameters
    ----------
    report : KPIReport
        The KPIs.
    targets : mapping of str to float
        KPI key -> target.

    Returns
    -------
    pd.DataFrame
        key, label, unit, value, target, gap (= value - target, KPI unit), higher_is_better,
        on_target (bool; None when the value is missing or the KPI is neutral).
    """
    rows = []
    for key, target in targets.items():
        if key not in KPI_SPECS:
            continue
        kpi = report[key]
        gap = kpi.value - target if kpi.value is not None else None
        if gap is None or kpi.higher_is_better is None:
            on_target = None
        else:
            on_target = bool(gap >= 0) if kpi.higher_is_better else bool(gap <= 0)
        rows.append(
            {
                "key": key,
                "label": kpi.label,
                "unit": kpi.unit,
                "value": kpi.value,
                "target": float(target),
                "gap": gap,
                "higher_is_better": kpi.higher_is_better,
                "on_target": on_target,
            }
        )
    cols = ["key", "label", "unit", "value", "target", "gap", "higher_is_better", "on_target"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------------------------
# Report section
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiSettings:
    """Settings of the KPI report.

    Parameters
    ----------
    period : {"month", "quarter", "year"}
        Calendar period the KPIs are measured over (default month).
    model_clv : float or None
        Model-based CLV per customer (currency) for LTV:CAC; None uses the simple CLV.

    Raises
    ------
    DataError
        For an unknown period.
    """

    period: str = "month"
    model_clv: float | None = None

    def __post_init__(self) -> None:
        check_period(self.period)
