"""Value and retention by segment: the purchase model and the retention curve fitted per segment.

A segment is a level of one customer attribute: a text column of the customers table (plan, region,
contract, acquisition channel, ... with 2 to `MAX_LEVELS` levels), the channel of a customer's first
purchase, or the **acquisition cohort** (the month, quarter or year of the signup date, else of the
first purchase: the finest of the three with at most `MAX_LEVELS` cohorts).

For each segment with enough customers the models are fitted again on that segment's customers only,
with the same model and settings as the pooled fit:

- purchase logs: the purchase model chosen for all customers (BG/NBD, Pareto/NBD or MBG/NBD, chosen on
  the holdout by `analytics.models.clv.analyse_clv`) and the Gamma-Gamma spend model, giving the mean
  customer value over the horizon with its 90% interval (delta method, `clv_interval`), the mean
  P(alive) and expected purchases. The segment's per-customer summary is the pooled one restricted to
  its customers (the same as summarising its own purchases to the same end day: a test checks it).
- customers tables with tenure and churn (subscriptions): the shifted-beta-geometric retention curve
  (Fader & Hardie 2007), giving the share of a new cohort still subscribed after 12 months with its
  90% interval (delta method on the log-parameters, Casella & Berger 2002, sec. 5.5.4), the median
  lifetime and, with a monthly charge, the value of a new customer (margin x mean charge x DEL,
  Fader & Hardie 2010).

A segment below the minimum size, or whose own fit fails, is **pooled**: it is shown with the fit on
all customers and a note says so (for the purchase model its customers are still valued one by one by
the pooled model; for the retention curve it is the pooled curve). A pooled segment has no interval of
its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln

from analytics.data.schema import (
    CHANNEL,
    CUSTOMER_ID,
    MONTHLY_CHARGE,
    ORDER_DATE,
    PLAN,
    REGION,
    SIGNUP_DATE,
    CustomerData,
    DataError,
)
from analytics.engine.customer_days import customer_days
from analytics.models.clv import ClvAnalysis, ClvSettings, clv_interval, customer_values
from analytics.models.interval import delta_interval, log_covariance
from analytics.models.purchase import Triples, make_model
from analytics.models.sbg import ShiftedBetaGeometric, customer_periods, monthly_rate
from analytics.models.spend import GammaGamma

#: Most segments per attribute (more levels are not a segmentation a manager compares side by side).
MAX_LEVELS = 8
#: Fewest customers a segment needs for its own purchase model (4 + 3 parameters).
MIN_PURCHASE_CUSTOMERS = 200
#: Fewest repeat buyers a segment needs for its own purchase and spend models.
MIN_SEGMENT_REPEAT_BUYERS = 40
#: Fewest customers a segment needs for its own retention curve (2 parameters).
MIN_RETENTION_CUSTOMERS = 100
#: Fewest customers seen leaving in a segment for its own retention curve.
MIN_RETENTION_CHURNED = 20
#: Months at which the retention curves are compared.
RETENTION_MONTHS = 12
#: Coverage of every interval here (the same as the Lifetime value page's range).
LEVEL = 0.90
#: The attribute key of the acquisition cohort.
COHORT = "acquisition_cohort"

ATTRIBUTE_LABELS = {PLAN: "Plan", REGION: "Region", CHANNEL: "First purchase channel", COHORT: "Acquisition cohort"}


def attribute_label(attribute: str) -> str:
    """The attribute's name as shown ('Plan', 'Acquisition cohort', or the file's own column name).

    Parameters
    ----------
    attribute : str
        A key of `segment_attributes`.

    Returns
    -------
    str
        The label.
    """
    return ATTRIBUTE_LABELS.get(attribute, attribute)


def _levels_ok(values: pd.Series) -> bool:
    n = values.dropna().nunique()
    return 2 <= n <= MAX_LEVELS


def _cohort(first: pd.Series) -> tuple[pd.Series, str] | None:
    """The finest calendar cohort (month, quarter, year) of these dates with 2..MAX_LEVELS levels."""
    first = pd.to_datetime(first)
    # labelled once per distinct date (a few hundred days), then spread to the customers
    codes, days = pd.factorize(first)
    for freq, name in (("M", "month"), ("Q", "quarter"), ("Y", "year")):
        day_labels = pd.Series(days).dt.to_period(freq).astype(str).to_numpy(dtype=object)
        if 2 <= len(set(day_labels)) <= MAX_LEVELS:
            labels = np.where(codes >= 0, day_labels[np.maximum(codes, 0)], np.nan)
            return pd.Series(labels, index=first.index, dtype=object), name
    return None


def _first_purchases(transactions: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """Each customer's first purchase: its date (by customer id, str) and its row in `transactions`.

    The first row in date order (ties: the earlier row), customers listed in that order. Read from
    the customer-day table (integer codes, no sort or group-by of the purchases) when the dates carry
    no time of day; with times of day the earliest timestamp decides, so the rows are sorted.
    """
    table = customer_days(transactions)
    if table.first_time is None:
        starts = table.starts
        order = np.lexsort((table.first_row[starts], table.day[starts]))
        rows = table.first_row[starts][order]
        ids = table.customer_ids[table.customer[starts][order]].astype(str)
        dates = pd.Series(table.day[starts][order].astype("datetime64[D]").astype("datetime64[ns]"), index=ids)
        return dates.rename(ORDER_DATE), rows
    ordered = transactions[[CUSTOMER_ID, ORDER_DATE]].reset_index(drop=True).sort_values(ORDER_DATE, kind="stable")
    firsts = ordered.groupby(ordered[CUSTOMER_ID].astype(str), sort=False).head(1)
    ids = pd.Index(firsts[CUSTOMER_ID].astype(str).to_numpy(), name=CUSTOMER_ID)
    return firsts[ORDER_DATE].set_axis(ids), firsts.index.to_numpy()


def segment_attributes(data: CustomerData, *, first_purchase: pd.Series | None = None) -> dict[str, pd.Series]:
    """Every attribute customers can be segmented by, as a label per customer id.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    first_purchase : pd.Series, optional
        Each customer's first purchase day by customer id (text), when the purchases are not in
        `data` (e.g. computed in a database: `analytics.reports.database`); then there is no
        first-purchase channel.

    Returns
    -------
    dict of str to pd.Series
        Attribute key -> segment label (str, NaN when blank) indexed by customer id (str). Keys:
        `plan`, `region`, other text columns of the customers table under their own names,
        `channel` (the first purchase's channel) and `acquisition_cohort` (its `.attrs['unit']` says
        month, quarter or year). Only attributes with 2 to `MAX_LEVELS` levels are listed.
    """
    out: dict[str, pd.Series] = {}
    customers = data.customers if data.has_customers else None
    if customers is not None:
        table = customers.assign(**{CUSTOMER_ID: customers[CUSTOMER_ID].astype(str)}).set_index(CUSTOMER_ID)
        for column in table.columns:
            values = table[column]
            if column in (PLAN, REGION) or (
                values.dtype == object and not pd.api.types.is_bool_dtype(values.dropna().infer_objects())
            ):
                text = values.astype(object).where(values.notna()).map(str, na_action="ignore")
                if _levels_ok(text):
                    out[str(column)] = text.rename(str(column))
    transactions = data.transactions if data.has_transactions else None
    if transactions is not None and first_purchase is None:
        first_purchase, first_rows = _first_purchases(transactions)
        if CHANNEL in transactions.columns:
            values = transactions[CHANNEL].iloc[first_rows]
            channel = pd.Series(
                values.astype(object).where(values.notna()).map(str, na_action="ignore").to_numpy(),
                index=first_purchase.index,
            )
            if _levels_ok(channel):
                out[CHANNEL] = channel.rename(CHANNEL)
    start = None
    if customers is not None and SIGNUP_DATE in customers.columns and customers[SIGNUP_DATE].notna().any():
        start = customers.set_index(customers[CUSTOMER_ID].astype(str))[SIGNUP_DATE]
    elif first_purchase is not None:
        start = first_purchase
    if start is not None:
        found = _cohort(start)
        if found is not None:
            labels, unit = found
            labels = labels.rename(COHORT)
            labels.attrs["unit"] = unit
            out[COHORT] = labels
    return out


# ----------------------------------------------------------------------------------------- purchases


@dataclass
class SegmentComparison:
    """One attribute's segments compared (see the module docstring).

    Attributes
    ----------
    attribute : str
        The attribute key (`segment_attributes`).
    label : str
        Its name as shown.
    table : pd.DataFrame
        One row per segment (largest first): segment, customers, and the model's figures; `pooled`
        (bool) and `note` (why it is pooled, or None).
    model : str
        The model fitted ('bg_nbd', ..., or 'sbg').
    notes : list of str
        Plain-word notes (blank labels left out, pooled segments).
    """

    attribute: str
    label: str
    table: pd.DataFrame
    model: str
    notes: list[str] = field(default_factory=list)


def _in_order(segment_of: pd.Series | np.ndarray, attribute: str) -> pd.Series:
    """Customers per segment: cohorts in calendar order, other attributes largest first."""
    counts = pd.Series(segment_of).value_counts()
    return counts.sort_index() if attribute == COHORT else counts


def _blank_note(blank: int, label: str) -> str | None:
    return f"{blank:,} customers with no {label.lower()} are left out of the comparison." if blank else None


def purchase_value_by_segment(analysis: ClvAnalysis, labels: pd.Series, *, label: str = "") -> SegmentComparison:
    """The purchase and spend models fitted per segment: mean value, its interval, P(alive).

    Parameters
    ----------
    analysis : ClvAnalysis
        The pooled analysis (`analytics.business.value.purchase_analysis` or the app's cached one):
        its chosen model, settings and per-customer summary are reused.
    labels : pd.Series
        Segment label per customer id (a value of `segment_attributes`).
    label : str, optional
        The attribute's name, for notes.

    Returns
    -------
    SegmentComparison
        table columns: segment, customers, repeat_buyers, mean_value, value_low, value_high (90%
        interval of the mean value, NaN when pooled or not computable), total_value, mean_p_alive,
        expected_purchases (per customer over the horizon), params (dict, the segment's own fit or the
        pooled one), pooled, note. Money in the data's currency, over `settings.horizon_months`.
    """
    segment_of = labels.reindex(analysis.customers.index.astype(str)).to_numpy(dtype=object)
    return _purchase_comparison(analysis, segment_of, str(labels.name or ""), label)


def purchase_value_by_codes(
    analysis: ClvAnalysis, codes: np.ndarray, levels: np.ndarray, *, name: str, label: str = ""
) -> SegmentComparison:
    """`purchase_value_by_segment` with the labels given by position: no customer id is read.

    For the report's worker process, which holds the analysis's rows by position only (ids as text
    and a lookup on them would take about 0.3 GB there at 2M customers).

    Parameters
    ----------
    analysis : ClvAnalysis
        The pooled analysis.
    codes : np.ndarray of int
        Per row of `analysis.customers`, the position of its label in `levels` (-1 when blank).
    levels : np.ndarray of object
        The labels.
    name : str
        The attribute key (the labels' name in `purchase_value_by_segment`).
    label : str, optional
        The attribute's name, for notes.

    Returns
    -------
    SegmentComparison
        The same as `purchase_value_by_segment` with the equivalent labels by id.
    """
    codes = np.asarray(codes)
    if len(codes) != len(analysis.customers):
        raise ValueError(f"{len(codes):,} labels for {len(analysis.customers):,} customers.")
    levels = np.asarray(levels, dtype=object)
    segment_of = np.where(codes >= 0, levels[np.maximum(codes, 0)], np.nan) if len(levels) else codes * np.nan
    return _purchase_comparison(analysis, segment_of.astype(object), name, label)


def _purchase_comparison(analysis: ClvAnalysis, segment_of: np.ndarray, name: str, label: str) -> SegmentComparison:
    """The per-segment fits with the segment of each row of `analysis.customers` (NaN when blank)."""
    settings: ClvSettings = analysis.settings
    pooled_values = analysis.customers
    summary = pooled_values[["frequency", "recency", "T", "monetary_value"]]
    repeat_buyers = (summary["frequency"] > 0).to_numpy()

    def counts(members: np.ndarray, count: int) -> tuple[dict[str, Any], str | None]:
        repeat = int(repeat_buyers[members].sum())
        if count >= MIN_PURCHASE_CUSTOMERS and repeat >= MIN_SEGMENT_REPEAT_BUYERS:
            return {"repeat_buyers": repeat}, None
        return {"repeat_buyers": repeat}, (
            f"{count:,} customers ({repeat:,} repeat buyers), while a model of its own needs at least "
            f"{MIN_PURCHASE_CUSTOMERS:,} customers and {MIN_SEGMENT_REPEAT_BUYERS:,} repeat buyers, so its "
            "customers are valued by the model of all customers"
        )

    def pooled(members: np.ndarray) -> dict[str, Any]:
        own = pooled_values[members]
        return {
            "mean_value": float(own["clv"].mean()),
            "value_low": math.nan,
            "value_high": math.nan,
            "total_value": float(own["clv"].sum()),
            "mean_p_alive": float(own["p_alive"].mean()),
            "expected_purchases": float(own["expected_purchases"].mean()),
            "params": dict(analysis.purchase_model.params_),
        }

    rows = _compare_segments(
        segment_of,
        name,
        counts,
        lambda members: _fit_purchase_segment(summary[members], analysis.selected, settings),
        pooled,
        "its own model could not be fitted ({}), so its customers are valued by the model of all customers",
    )
    return _comparison(name, int(pd.isna(segment_of).sum()), label, rows, analysis.selected)


def _fit_purchase_segment(summary: pd.DataFrame, model_name: str, settings: ClvSettings) -> dict[str, Any]:
    """The chosen purchase model and the spend model fitted on one segment's summary."""
    tr = Triples.from_summary(summary)
    model = make_model(model_name, time_unit=settings.time_unit).fit_triples(tr)
    spend = GammaGamma().fit(
        summary, weights=np.where((summary["frequency"] > 0) & (summary["monetary_value"] <= 0), 0.0, 1.0)
    )
    values = customer_values(summary, model, spend, settings, triples=tr)
    interval = clv_interval(summary, model, spend, settings, level=LEVEL, triples=tr)
    low, high = interval["mean"] if interval["mean"] is not None else (math.nan, math.nan)
    return {
        "mean_value": float(values["clv"].mean()),
        "value_low": float(low),
        "value_high": float(high),
        "total_value": float(values["clv"].sum()),
        "mean_p_alive": float(values["p_alive"].mean()),
        "expected_purchases": float(values["expected_purchases"].mean()),
        "params": dict(model.params_),
    }


# ----------------------------------------------------------------------------------------- retention


def sbg_log_likelihood(periods: np.ndarray, churned: np.ndarray) -> Any:
    """The sBG log-likelihood (Fader & Hardie 2007, eq. 7) as a function of log(alpha), log(beta).

    Parameters
    ----------
    periods : np.ndarray
        Periods paid for (churned) or survived so far (active), as for `ShiftedBetaGeometric.fit`.
    churned : np.ndarray
        Whether each customer left.

    Returns
    -------
    callable
        log_params -> total log-likelihood.
    """
    t = np.asarray(periods, dtype=np.float64)
    c = np.asarray(churned, dtype=bool)

    def loglik(log_params: np.ndarray) -> float:
        a, b = np.exp(log_params)
        return float(np.sum(np.where(c, betaln(a + 1, b + t - 1), betaln(a, b + t)) - betaln(a, b)))

    return loglik


def _survival_at(log_params: np.ndarray, months: int) -> float:
    a, b = np.exp(log_params)
    return float(np.exp(betaln(a, b + months) - betaln(a, b)))


def _retention_figures(
    model: ShiftedBetaGeometric, part: pd.DataFrame, charge: float | None, margin: float, annual: float
) -> dict[str, Any]:
    theta = np.array([model.alpha_, model.beta_])
    covariance = log_covariance(sbg_log_likelihood(part["periods"].to_numpy(), part["churned"].to_numpy()), theta)
    bounds = (
        None
        if covariance is None
        else delta_interval(lambda lp: _survival_at(lp, RETENTION_MONTHS), np.log(theta), covariance, level=LEVEL)
    )
    low, high = (bounds[0], min(bounds[1], 1.0)) if bounds is not None else (math.nan, math.nan)
    dl = model.discounted_expected_lifetime(monthly_rate(annual))
    return {
        "survival_12": float(model.survival(RETENTION_MONTHS)),
        "survival_low": float(low),
        "survival_high": float(high),
        "median_lifetime_months": model.median_lifetime(),
        "new_customer_value": None if charge is None else float(margin * charge * dl),
        "params": dict(model.params_),
    }


def retention_by_segment(
    data: CustomerData, labels: pd.Series, *, label: str = "", margin: float = 0.3, annual_discount_rate: float = 0.1
) -> SegmentComparison:
    """The sBG retention curve fitted per segment: 12-month survival with its interval, median lifetime.

    Parameters
    ----------
    data : CustomerData
        A dataset with a customers table (tenure or signup date, and churn).
    labels : pd.Series
        Segment label per customer id.
    label : str, optional
        The attribute's name, for notes.
    margin, annual_discount_rate : float
        For the value of a new customer (margin x mean monthly charge x DEL).

    Returns
    -------
    SegmentComparison
        table columns: segment, customers, churned, survival_12 (share of a new cohort still there
        after 12 months), survival_low, survival_high (90% interval, NaN when pooled),
        median_lifetime_months (None beyond 10,000 months), new_customer_value (currency, None
        without monthly_charge), params, pooled, note.

    Raises
    ------
    DataError
        Without a customers table with churn and tenure, or when even the pooled curve cannot be fitted.
    """
    customers = data.require_customers("The retention curve by segment")
    try:
        end = data.observation_end
    except DataError:
        end = None
    periods = customer_periods(customers, observation_end=end)
    periods = periods.assign(**{CUSTOMER_ID: periods[CUSTOMER_ID].astype(str)})
    pooled = ShiftedBetaGeometric().fit(periods["periods"], periods["churned"])
    charges = (
        customers.set_index(customers[CUSTOMER_ID].astype(str))[MONTHLY_CHARGE]
        if MONTHLY_CHARGE in customers.columns
        else None
    )
    segment_of = labels.reindex(periods[CUSTOMER_ID]).to_numpy(dtype=object)
    churned_flags = periods["churned"].to_numpy(dtype=bool)

    def counts(members: np.ndarray, count: int) -> tuple[dict[str, Any], str | None]:
        churned = int(churned_flags[members].sum())
        if count >= MIN_RETENTION_CUSTOMERS and churned >= MIN_RETENTION_CHURNED:
            return {"churned": churned}, None
        return {"churned": churned}, (
            f"{count:,} customers of whom {churned:,} left, while a curve of its own needs at least "
            f"{MIN_RETENTION_CUSTOMERS:,} customers and {MIN_RETENTION_CHURNED:,} leavers, so it shows the "
            "curve of all customers"
        )

    def charge_of(members: np.ndarray) -> float | None:
        return None if charges is None else float(charges.reindex(periods.loc[members, CUSTOMER_ID]).mean())

    def own(members: np.ndarray) -> dict[str, Any]:
        part = periods[members]
        model = ShiftedBetaGeometric().fit(part["periods"], part["churned"])
        return _retention_figures(model, part, charge_of(members), margin, annual_discount_rate)

    def pooled_curve(members: np.ndarray) -> dict[str, Any]:
        figures = _retention_figures(pooled, periods, charge_of(members), margin, annual_discount_rate)
        return dict(figures, survival_low=math.nan, survival_high=math.nan)

    rows = _compare_segments(
        segment_of,
        str(labels.name or ""),
        counts,
        own,
        pooled_curve,
        "its own curve could not be fitted ({}), so it shows the curve of all customers",
    )
    return _comparison(str(labels.name or ""), int(pd.isna(segment_of).sum()), label, rows, "sbg")


def _compare_segments(
    segment_of: np.ndarray,
    attribute: str,
    counts: Callable[[np.ndarray, int], tuple[dict[str, Any], str | None]],
    fit_own: Callable[[np.ndarray], dict[str, Any]],
    pooled: Callable[[np.ndarray], dict[str, Any]],
    failed: str,
) -> list[dict[str, Any]]:
    """One row per segment: its own fit where it is large enough and the fit succeeds, else pooled.

    Parameters
    ----------
    segment_of : np.ndarray
        Segment label per customer (NaN when blank), aligned with the arrays the callables read.
    attribute : str
        The attribute key (cohorts are listed in calendar order, other segments largest first).
    counts : callable
        (members mask, customers) -> (the segment's counts, why it is too small for a fit of its own
        or None).
    fit_own, pooled : callable
        members mask -> the segment's figures from its own fit, or from the fit on all customers.
        `fit_own` raises DataError when its fit fails.
    failed : str
        The note for a failed fit, with `{}` for the error.

    Returns
    -------
    list of dict
        segment, customers, the counts, the figures, pooled (bool) and note (None unless pooled).
    """
    rows = []
    for segment, count in _in_order(segment_of, attribute).items():
        members = segment_of == segment
        found, reason = counts(members, int(count))
        row: dict[str, Any] = {"segment": str(segment), "customers": int(count), **found}
        if reason is None:
            try:
                row.update(fit_own(members))
            except DataError as exc:
                reason = failed.format(exc)
        if reason is not None:
            row.update(pooled(members))
        row.update(pooled=reason is not None, note=reason)
        rows.append(row)
    return rows


def _comparison(name: str, blank: int, label: str, rows: list[dict[str, Any]], model: str) -> SegmentComparison:
    """The rows as a `SegmentComparison`, with notes on `blank` customers (no label) and pooled segments."""
    if not rows:
        raise DataError(f"No customer has a {label.lower() or 'segment'} label, so there is nothing to compare.")
    notes = [n for n in [_blank_note(blank, label or "segment")] if n]
    notes += [f"{r['segment']}: {r['note']}." for r in rows if r["pooled"]]
    return SegmentComparison(name, label, pd.DataFrame(rows), model, notes)


# ----------------------------------------------------------------------------------------- report
