"""Lifetime value page helpers: widget labels, progress, cached views on the shared fit, the sBG fit.

The purchase and spend models are fitted once per dataset and settings in
`ui.models.clv_analysis` (every page shares that fit); the settings widgets are the `clv_*` keys
of `ui.models.CLV_DEFAULTS`, owned by the Lifetime value page. Here live the page's own cached
steps on top of that fit (holdout tables, tracking curve, probability-alive map), the
shifted-beta-geometric retention fit for a customers table, and the small tables the page shows.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from analytics.data.schema import CUSTOMER_ID, ORDER_DATE, CustomerData, DataError
from analytics.models.btyd import TIME_UNIT_NAMES, default_calibration_end, from_day_number, to_day_number
from analytics.models.clv import ClvAnalysis, ClvSettings, forecast_ranges
from analytics.models.holdout import conditional_expectations, cumulative_tracking
from analytics.models.purchase import MODEL_LABELS
from analytics.models.sbg import ShiftedBetaGeometric, customer_periods, subscription_values
from analytics.reports.sections.retention_sbg import report_section as sbg_report
from ui import currency as cur
from ui import models
from ui.cache import per_dataset
from ui.downloads import table_download

BIND = "query-params"
K_UNIT, K_HORIZON, K_MARGIN, K_DISCOUNT, K_MODEL, K_CAL_END = (
    "clv_unit",
    "clv_horizon",
    "clv_margin",
    "clv_discount",
    "clv_model",
    "clv_calibration_end",
)
UNIT_LABELS = {"D": "Days", "W": "Weeks", "M": "Months"}
UNIT_SINGULAR = {"D": "day", "W": "week", "M": "month"}
MODEL_CHOICES = {"auto": "Automatic: the best on the holdout"} | MODEL_LABELS
TOP_CUSTOMERS = 20
P_ALIVE_MAX_FREQUENCY = 30  # rows of the probability-alive map at most (repeat purchases 0..30)


def money(x: float | None) -> str:
    """An amount in the currency in force: whole units from 1,000 up, else two decimals."""
    return cur.money(x, decimals=None)


# --- the calibration-end widget -----------------------------------------------------------------
@dataclass(frozen=True)
class CalibrationBounds:
    """Dates a calibration end can take for this purchase log, and the default one.

    first, last : first and last purchase day. default : the day `analyse_clv` uses when none is
    chosen (the last third of the history held out), None when the history is too short.
    """

    first: dt.date
    last: dt.date
    default: dt.date | None


def calibration_bounds(data: CustomerData) -> CalibrationBounds:
    dates = data.transactions[ORDER_DATE]
    first, last = to_day_number(dates.min()), to_day_number(dates.max())
    try:
        default = from_day_number(default_calibration_end(first, last)).date()
    except DataError:
        default = None
    return CalibrationBounds(from_day_number(first).date(), from_day_number(last).date(), default)


def usable_calibration_end(value: object, bounds: CalibrationBounds) -> tuple[dt.date | None, str | None]:
    """The session's calibration end as the date widget needs it (a date inside the data or None),
    and a plain note when a chosen date had to be dropped (e.g. after switching datasets)."""
    if value is None or value == "":
        return None, None
    try:
        day = pd.Timestamp(value).date()
    except (TypeError, ValueError):
        return None, f"'{value}' is not a date, so the default calibration end is used."
    if not bounds.first <= day < bounds.last:
        return None, (
            f"The calibration end chosen before ({day:%d %b %Y}) is outside this data's purchase history "
            f"({bounds.first:%d %b %Y} to {bounds.last:%d %b %Y}), so the default is used."
        )
    return day, None


# --- fitting with progress ----------------------------------------------------------------------
def fit_with_progress(data: CustomerData, settings: ClvSettings, bounds: CalibrationBounds) -> ClvAnalysis:
    """The shared CLV fit for `settings`, inside an st.status that lists the steps.

    Raises DataError (after marking the status as failed) when the data cannot be modelled.
    """
    cal_end = settings.calibration_end
    cal_text = (
        f"{pd.Timestamp(cal_end):%d %b %Y}"
        if cal_end is not None
        else f"{bounds.default:%d %b %Y} (the last third held out)"
        if bounds.default
        else "the default date"
    )
    steps = (
        f"1. Split the purchase history: calibration up to {cal_text}, holdout to {bounds.last:%d %b %Y}.\n"
        "2. Fit BG/NBD, Pareto/NBD and modified BG/NBD on the calibration period and compare each one's "
        "forecast of the holdout with what happened.\n"
        "3. Refit the chosen model and the Gamma-Gamma spend model on the whole history.\n"
        f"4. Value every customer over {settings.horizon_months:g} months and redraw the model parameters "
        f"{settings.n_bootstrap} times for the 90% range."
    )
    with st.status("Fitting the lifetime-value models (first time for these settings only)…", expanded=True) as status:
        st.markdown(steps)
        start = time.perf_counter()
        try:
            analysis = models.clv_analysis(data, settings)
        except DataError:
            status.update(label="The lifetime-value models could not be fitted", state="error", expanded=False)
            raise
        seconds = time.perf_counter() - start
        label = (
            "Models ready (already fitted for these settings)"
            if seconds < 1
            else f"Models fitted in {seconds:,.0f} seconds"
        )
        status.update(label=label, state="complete", expanded=False)
    return analysis


# --- cached views on the shared fit -------------------------------------------------------------
@per_dataset(max_entries=8)
def holdout_views(data: CustomerData, settings: ClvSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(conditional expectations by calibration frequency 0..7+, cumulative tracking per period)."""
    comparison = models.with_purchase_days(models.clv_analysis(data, settings).comparison, data)
    return conditional_expectations(comparison), cumulative_tracking(comparison)


@per_dataset(max_entries=8)
def forecast_view(data: CustomerData, settings: ClvSettings) -> dict[str, dict]:
    """The horizon's purchases and total CLV ranges with the model's holdout error (`forecast_ranges`)."""
    return forecast_ranges(models.clv_analysis(data, settings))


@per_dataset(max_entries=8)
def alive_map(data: CustomerData, settings: ClvSettings) -> tuple[pd.DataFrame, float]:
    """P(alive) over frequency x recency for a customer of the median age T (time unit), and T."""
    analysis = models.clv_analysis(data, settings)
    customers = analysis.customers
    age = float(np.round(np.median(customers["T"]), 1))
    top = int(np.clip(np.quantile(customers["frequency"], 0.99), 1, P_ALIVE_MAX_FREQUENCY))
    return analysis.purchase_model.p_alive_grid(T=age, max_frequency=top, n_recency=40), age


def customer_rows(data: CustomerData, settings: ClvSettings) -> pd.DataFrame:
    """Every customer of the shared fit at `settings`, for the page's CSV button: called when the
    button is clicked (`ui.downloads.csv_download`), from the cached analysis, so the session's cache
    holds no second copy of its rows (it held one packed, 12.4 MiB at 300,000 customers)."""
    return models.clv_analysis(data, settings).customers


# --- tables -------------------------------------------------------------------------------------
def table_height(rows: int) -> int:
    """Pixels for an st.dataframe that shows `rows` rows and the header without scrolling."""
    return 35 * (rows + 1) + 3


def holdout_table(analysis: ClvAnalysis) -> pd.DataFrame:
    """One row per fitted model: holdout repeat purchases predicted vs actual, error, RMSE, used."""
    m = analysis.comparison.metrics
    return pd.DataFrame(
        {
            "Model": [MODEL_LABELS[k] for k in m.index],
            "Predicted repeat purchases": m["predicted"].map("{:,.0f}".format).to_numpy(),
            "Actual repeat purchases": m["actual"].map("{:,.0f}".format).to_numpy(),
            "Difference": m["error_pct"].map(lambda v: "n/a" if not np.isfinite(v) else f"{v:+.1f}%").to_numpy(),
            "Error per customer (RMSE)": m["rmse"].map("{:.3f}".format).to_numpy(),
            "Used": ["yes" if k == analysis.selected else "" for k in m.index],
        }
    )


def params_table(analysis: ClvAnalysis) -> pd.DataFrame:
    """Calibration-period parameters of each model (3 decimals) and its log-likelihood."""
    names = ("r", "alpha", "a", "b", "s", "beta")
    rows = []
    for key, model in analysis.comparison.models.items():
        row = {"Model": MODEL_LABELS[key]}
        row |= {n: f"{model.params_[n]:.3f}" if n in model.params_ else "" for n in names}
        row["Log-likelihood"] = f"{model.log_likelihood_:,.1f}"
        rows.append(row)
    return pd.DataFrame(rows)


def expectations_table(table: pd.DataFrame) -> pd.DataFrame:
    """The conditional-expectations frame with readable headers (means per customer, 3 decimals)."""
    out = table.rename(
        columns={"frequency_group": "Repeat purchases in calibration", "customers": "Customers", "actual": "Actual"}
        | MODEL_LABELS
    )
    for col in out.columns[2:]:
        out[col] = out[col].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    return out


def top_customers(customers: pd.DataFrame, n: int = TOP_CUSTOMERS) -> pd.DataFrame:
    """The `n` customers with the highest CLV: still-active chance (%), expected purchases and spend
    over the horizon, historic value and CLV (currency)."""
    top = customers.nlargest(n, "clv")
    return pd.DataFrame(
        {
            CUSTOMER_ID: top.index.astype(str),
            "p_alive_pct": 100 * top["p_alive"].to_numpy(),
            "expected_purchases": top["expected_purchases"].to_numpy(),
            "expected_spend": top["expected_spend"].to_numpy(),
            "historic_value": top["historic_value"].to_numpy() if "historic_value" in top else np.nan,
            "clv": top["clv"].to_numpy(),
        }
    )


def customers_csv_frame(customers: pd.DataFrame) -> pd.DataFrame:
    """Every customer, highest CLV first, with the canonical column names (for the CSV download)."""
    return customers.sort_values("clv", ascending=False).reset_index()


def selection_sentence(analysis: ClvAnalysis) -> str:
    """Which model the values use and why, in one sentence."""
    m = analysis.comparison.metrics
    chosen = MODEL_LABELS[analysis.selected]
    others = ", ".join(f"{MODEL_LABELS[k]} {v:.3f}" for k, v in m["rmse"].items() if k != analysis.selected)
    best = MODEL_LABELS[analysis.comparison.best]
    if analysis.settings.model is None:
        return (
            f"**The values below use {chosen}**: it has the lowest holdout error per customer "
            f"(RMSE {m.loc[analysis.selected, 'rmse']:.3f}" + (f" against {others}" if others else "") + ")."
        )
    tail = "" if analysis.selected == analysis.comparison.best else f" The holdout favours {best}."
    return f"**The values below use {chosen}**, as you chose in the settings.{tail}"


# --- subscription retention (sBG) ---------------------------------------------------------------
@dataclass(frozen=True)
class RetentionFit:
    """The sBG model fitted to the customers table, and each customer's monthly lifetime."""

    model: ShiftedBetaGeometric
    periods: pd.DataFrame


@per_dataset(max_entries=4)
def retention_fit(data: CustomerData) -> RetentionFit:
    """Shifted-beta-geometric retention (months) from tenure and churn in the customers table."""
    if not data.has_customers:
        raise DataError("The subscription retention model needs a customers table (tenure and churn).")
    try:
        end = data.observation_end
    except DataError:  # no dates at all: fine when tenure_months is given
        end = None
    periods = customer_periods(data.customers, observation_end=end)
    return RetentionFit(ShiftedBetaGeometric().fit(periods["periods"], periods["churned"]), periods)


@per_dataset(max_entries=8)
def retention_summary(data: CustomerData, margin: float, annual_discount_rate: float) -> dict:
    """The headless report's `retention_sbg` numbers for these assumptions (so page and report agree):
    params, expected and median lifetime (months), discounted expected payments, new-customer and
    active customers' remaining value (currency)."""
    return sbg_report(data, ClvSettings(margin=margin, annual_discount_rate=annual_discount_rate))


def subscriber_table(
    data: CustomerData, fit: RetentionFit, *, margin: float, annual_discount_rate: float
) -> pd.DataFrame:
    """Active subscribers with their expected remaining value (currency), highest first."""
    values = subscription_values(
        data.customers, fit.model, margin=margin, annual_discount_rate=annual_discount_rate, periods=fit.periods
    )
    return values.sort_values("remaining_value", ascending=False).reset_index(drop=True)


@table_download(shown=TOP_CUSTOMERS)
def subscriber_download(data: CustomerData, margin: float, annual_discount_rate: float) -> pd.DataFrame:
    """`subscriber_table` of the cached sBG fit at these assumptions, for the page's first rows and
    its CSV button: built and packed once per dataset and assumptions (`ui.downloads.table_download`),
    not on every run of the page."""
    return subscriber_table(data, retention_fit(data), margin=margin, annual_discount_rate=annual_discount_rate)


def unit_name(time_unit: str) -> str:
    """'weeks', 'days' or 'months'."""
    return TIME_UNIT_NAMES[time_unit]
