"""Cached model results that several pages share: lifetime value and churn risk per customer.

The Lifetime value and Churn pages own the widgets (keys `clv_*` and `ch_*`, kept for the session
by `ui.state.keep_settings`); every other page (Overview, Segments, Actions, Home) reads the same
cached results here, so a model is fitted once per dataset and settings, not once per page.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pandas as pd

from analytics.assumptions import ANNUAL_DISCOUNT_RATE, MARGIN_RATE
from analytics.business.churn_analysis import (
    ChurnAnalysis,
    ChurnSettings,
    analyse_churn,
    analysis_without_feature_table,
    assemble_churn,
    churn_fit_arguments,
    churn_inputs,
    fit_churn_rows,
)
from analytics.business.value import customer_value as one_value
from analytics.business.value import value_and_risk as joined_value_and_risk
from analytics.data.schema import CustomerData, DataError
from analytics.engine.customer_days import customer_days
from analytics.engine.parallel import SharedWorker
from analytics.models.btyd import purchase_days
from analytics.models.clv import (
    ClvAnalysis,
    ClvSettings,
    analyse_clv,
    analyse_summaries,
    analysis_without_fitter_data,
)
from analytics.models.holdout import HoldoutComparison
from analytics.reports.sections.clv import fit_arguments, fit_inputs, fit_rows, fitted_rows, with_rows
from ui import worker as app_worker
from ui.cache import per_dataset
from ui.state import setting

# Widget keys and defaults. Percentages are stored as the widget shows them (30 = 30%).
CLV_DEFAULTS = {
    "clv_unit": "W",  # model time unit: D, W or M
    "clv_horizon": 12,  # months
    "clv_margin": round(100 * MARGIN_RATE),  # % of revenue kept as margin (an assumption: set your own)
    "clv_discount": round(100 * ANNUAL_DISCOUNT_RATE),  # % a year
    "clv_model": "auto",  # auto = best on the holdout, or bg_nbd / pareto_nbd / mbg_nbd
    "clv_calibration_end": "",  # YYYY-MM-DD, "" = the last third of the history is held out
}
CHURN_DEFAULTS = {
    "ch_label_source": "auto",  # auto, column or purchases
    "ch_label_column": "",  # "" = detected
    "ch_churn_value": "",  # "" = detected
    "ch_horizon_days": 0,  # 0 = chosen from the purchase rhythm
    "ch_model": "auto",  # auto, logistic or gradient_boosting
}


def clv_settings() -> ClvSettings:
    """The lifetime-value settings chosen in this session (defaults until the CLV page sets them)."""
    value = {k: setting(k, d) for k, d in CLV_DEFAULTS.items()}
    return ClvSettings(
        time_unit=value["clv_unit"],
        horizon_months=float(value["clv_horizon"]),
        margin=float(value["clv_margin"]) / 100,
        annual_discount_rate=float(value["clv_discount"]) / 100,
        model=None if value["clv_model"] == "auto" else value["clv_model"],
        calibration_end=pd.Timestamp(value["clv_calibration_end"]) if value["clv_calibration_end"] else None,
    )


def churn_settings() -> ChurnSettings:
    """The churn settings chosen in this session (defaults until the Churn page sets them)."""
    value = {k: setting(k, d) for k, d in CHURN_DEFAULTS.items()}
    return ChurnSettings(
        label_source=value["ch_label_source"],
        label_column=value["ch_label_column"] or None,
        churn_value=value["ch_churn_value"] or None,
        horizon_days=int(value["ch_horizon_days"]) or None,
        model=value["ch_model"],
    )


@per_dataset(
    max_entries=4, label="Fitting the lifetime-value model (purchase and spend models, checked on held-out months)"
)
def clv_analysis(data: CustomerData, settings: ClvSettings) -> ClvAnalysis:
    """Holdout validation, model choice and per-customer CLV (needs a purchase log)."""
    if not data.has_transactions:
        raise DataError("Lifetime value from purchase behaviour needs a purchase log (customer id, date, amount).")
    worker = app_worker.for_data(data)
    if worker is None:
        return held_analysis(analyse_clv(data.transactions, settings))
    return held_analysis(analysis_on_worker(data, settings, worker))


def analysis_on_worker(data: CustomerData, settings: ClvSettings, worker: SharedWorker) -> ClvAnalysis:
    """`analyse_clv` with its fits on the worker process, as the report runs it (`build_report`).

    The per-customer rows are summarised here from the customer-day table (`fit_inputs`), the models
    fitted there on those rows by position (`fit_rows`), and the customers' ids put back here
    (`with_rows`): the same analysis. While the worker fits, this job's slot goes to the next queued
    fit (the churn model, the personas), so both cores work."""
    split, summary = fit_inputs(data, settings)
    rows = app_worker.result_of(
        worker,
        fit_rows,
        *fit_arguments(split, summary),
        settings,
        fallback=lambda: fitted_rows(analyse_summaries(split, summary, settings), summary),
    )
    return with_rows(rows, split, summary)


def held_analysis(analysis: ClvAnalysis) -> ClvAnalysis:
    """`analysis` as the session cache keeps it: its fitted models without the lifetimes fitters' copy
    of their training data (no page reads it; the report's worker sends its models the same way), and
    its holdout split without the purchase days (`split.days` is None; `with_purchase_days` puts them
    back from the dataset's customer-day table for the one view that reads them).

    Every figure is unchanged (same parameters, same per-customer rows); the pickle the session holds,
    and unpickles on every call, is 112.6 -> 57.2 MiB at 300,000 customers (fitters' data 21 MiB, the
    purchase days, one row per customer and day, 36 MiB)."""
    light = analysis_without_fitter_data(analysis)
    comparison = light.comparison
    return replace(light, comparison=replace(comparison, split=replace(comparison.split, days=None)))


def with_purchase_days(comparison: HoldoutComparison, data: CustomerData) -> HoldoutComparison:
    """`comparison` with its split's purchase days, taken again from `data`'s customer-day table (cached per
    purchases frame): the same days `calibration_holdout_split` read, as `held_analysis` drops them."""
    if comparison.split.days is not None:
        return comparison
    if data.transactions is None:
        raise DataError("The holdout views need the purchase log the models were fitted on.")
    days = purchase_days(data.transactions, end=comparison.split.holdout_end)
    return replace(comparison, split=replace(comparison.split, days=days))


@per_dataset(max_entries=4, label="Fitting the churn model (cross-validated, with its drivers)")
def churn_analysis(data: CustomerData, settings: ChurnSettings) -> ChurnAnalysis:
    """Churn label, cross-validated models, drivers and a risk score per customer.

    For a large purchase log the models are fitted on the worker process (`churn_on_worker`), as the
    lifetime-value models are. Kept without the feature table of churn derived from purchases
    (`analysis_without_feature_table`: same figures; the retention curves' grouping rebuilds it):
    35.1 -> 11.0 MiB pickled at 300,000 customers, unpickled on every page run that reads it."""
    worker = app_worker.for_data(data)
    analysis = analyse_churn(data, settings) if worker is None else churn_on_worker(data, settings, worker)
    return analysis_without_feature_table(analysis)


def churn_on_worker(data: CustomerData, settings: ChurnSettings, worker: SharedWorker) -> ChurnAnalysis:
    """`analyse_churn` with its model fits on the worker process: the same analysis.

    The label and the attributes are computed here from the purchases (`churn_inputs`), the models
    fitted, scored and explained there on those rows by position (`fit_churn_rows`: no customer id travels),
    and the ids put back here (`assemble_churn`). The cross-validation, refit, scoring and
    permutation importance then take the second core instead of this process's interpreter lock,
    which the pages need; while it waits, this job's slot goes to the next queued fit."""
    inputs = churn_inputs(data, settings)
    fit = app_worker.result_of(
        worker,
        fit_churn_rows,
        *churn_fit_arguments(inputs, settings),
        fallback=lambda: fit_churn_rows(*churn_fit_arguments(inputs, settings)),
    )
    return assemble_churn(inputs, fit)


def start_fits(data: CustomerData) -> dict[str, tuple | None]:
    """Start this session's lifetime-value and churn fits in the background (`ui.background`).

    Returns {"clv": key, "churn": key}: each fit's job key while it is under way, None once cached
    (or, for "clv", when the data has no purchase log); pass them to `ui.background.settle`,
    `done` or `pending`. Called as soon as data arrives (Data page, Home, Segments)."""
    return {
        "clv": clv_analysis.start(data, clv_settings()) if data.has_transactions else None,  # type: ignore[attr-defined]
        "churn": churn_analysis.start(data, churn_settings()),  # type: ignore[attr-defined]
    }


@per_dataset(max_entries=4)
def churn_headline(data: CustomerData, settings: ChurnSettings) -> tuple[int, float, str]:
    """Home's churn card: customers at high risk (`analytics.business.actions.customers_at_high_risk`),
    the share who have left and the outcome used, cached on their own: at 1M customers unpickling the
    whole churn analysis for them took 0.4-1 s of every Home run."""
    from analytics.business.actions import customers_at_high_risk

    churn = churn_analysis(data, settings)
    at_risk = customers_at_high_risk(churn.scores["churn_probability"], churn.scores["active"])
    return int(at_risk), float(churn.churn_rate), churn.target


def current_clv(data: CustomerData) -> ClvAnalysis:
    return clv_analysis(data, clv_settings())


def current_churn(data: CustomerData) -> ChurnAnalysis:
    return churn_analysis(data, churn_settings())


def customer_value(data: CustomerData, customer_ids: pd.Index | pd.Series) -> tuple[pd.Series, str]:
    """`analytics.business.value.customer_value` with this session's CLV settings and the shared fit.

    Raises DataError when the data has no source of value."""
    settings = clv_settings()
    clv = None
    if data.has_transactions:
        try:
            clv = clv_analysis(data, settings).customers["clv"]
        except DataError:
            clv = None
    return one_value(data, customer_ids, settings, clv=clv, fit=False)


def value_and_risk(
    data: CustomerData, clv: ClvSettings | None = None, churn: ChurnSettings | None = None
) -> pd.DataFrame:
    """One row per customer (index customer_id): clv, p_alive (when a purchase log exists) and
    churn_probability, active (when the churn model runs), from the shared fits at these settings
    (this session's when None; `analytics.business.value.value_and_risk`). Missing pieces are simply
    absent. A cached caller passes the settings it is keyed on: run later in the background, it must
    not read settings the user has changed since.

    The two models' customers are lined up by the customer-day table's codes (as the report's
    actions section does), not by hashing both tables' text ids: that took 13-21% of the second
    visits of a 1M-customer session (Segments, Action list, Churn), on every run."""
    customers = scores = None
    with contextlib.suppress(DataError):
        customers = clv_analysis(data, clv or clv_settings()).customers
    with contextlib.suppress(DataError):
        scores = churn_analysis(data, churn or churn_settings()).scores
    table = customer_days(data.transactions) if data.transactions is not None else None
    return joined_value_and_risk(customers, scores, table)
