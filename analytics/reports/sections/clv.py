"""The `clv` section of the headless report (purchase-log lifetime value)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from analytics.data.schema import CustomerData, DataError
from analytics.jsonready import to_json_ready

with warnings.catch_warnings():
    warnings.simplefilter("ignore")

from analytics.business.value import boundary_note, purchase_analysis, purchase_retention, unique_notes
from analytics.models.btyd import HoldoutSplit, PurchaseDays, calibration_holdout_split, summarize_customers
from analytics.models.clv import (
    ClvAnalysis,
    ClvSettings,
    analyse_summaries,
    analysis_without_fitter_data,
    forecast_ranges,
)
from analytics.models.holdout import holdout_interval
from analytics.models.purchase import MODEL_NAMES
from analytics.models.spend import GammaGamma


def _calibration_spend_params(calibration: Any) -> dict | None:
    """Gamma-Gamma on the calibration period; repeat buyers whose repeat purchases were all free are left
    out as in `analyse_clv`; None when it cannot be fitted there (e.g. too few repeat buyers)."""
    free = ((calibration["frequency"] > 0) & (calibration["monetary_value"] <= 0)).to_numpy()
    try:
        return GammaGamma().fit(calibration, weights=(~free).astype(float) if free.any() else None).params_
    except DataError:
        return None


def report_section(data: CustomerData, settings: ClvSettings | None = None, fitted: dict | None = None) -> dict:
    """The `clv` section of the headless report (keys are a stable contract).

    Keys: time_unit, calibration_end, holdout_end, observation_end, models.<bg_nbd|pareto_nbd|
    mbg_nbd>.{params, log_likelihood, holdout: {actual, predicted}, holdout_rmse, penalizer} (or
    {error} when a model cannot be fitted), gamma_gamma.{params, log_likelihood,
    frequency_spend_correlation, assumption_ok, assumption_note}, selected, selection_reason,
    final_params (chosen model refitted on the whole history), horizon_months, margin,
    annual_discount_rate, n_customers, total_clv, mean_clv, clv_interval_90 {total, mean} (currency,
    parameters' uncertainty only), expected_purchases_total, expected_purchases_interval_90 and
    clv_interval_90_with_model_error (ranges adding the model's holdout error, with `covers` saying so),
    models.<m>.holdout.interval_90 (the holdout forecast's range, same construction), expected_spend_total, historic_value_total, mean_p_alive, notes.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ClvSettings, optional
        Time unit, calibration end, horizon, margin and discount rate (defaults when None).
    fitted : dict, optional
        The section without `retention` as `fit_section` computed it (on the report's worker
        process) with these settings; None computes it here.

    Returns
    -------
    dict
        The section (keys as listed above; a stable contract).

    Raises
    ------
    DataError
        When the data cannot support this section (the report shows the reason instead).
    """
    if not data.has_transactions:
        raise DataError(
            "Lifetime value from purchase behaviour needs a purchase log (transactions); this data "
            "has none. For subscription data see the retention (sBG) section."
        )
    s = ClvSettings() if settings is None else settings
    # one cached fit shared with kpis and whatif
    section = section_from_analysis(purchase_analysis(data, s), s) if fitted is None else dict(fitted)
    # added: purchase-log retention from the selected model (analytics.business.value)
    section["retention"] = to_json_ready(retention_keys(data, s))
    return section


def fit_inputs(data: CustomerData, settings: ClvSettings) -> tuple[HoldoutSplit, pd.DataFrame]:
    """The per-customer rows `analyse_clv` fits on: its calibration/holdout split and summary.

    The only step of the CLV analysis that reads every purchase (through the cached customer-day
    table); `fit_section` does the rest from these rows alone.

    Parameters
    ----------
    data : CustomerData
        A dataset with purchases.
    settings : ClvSettings
        Time unit and calibration end.

    Returns
    -------
    tuple of (HoldoutSplit, pd.DataFrame)
        The split (as `calibration_holdout_split`) and the summary to its holdout end.

    Raises
    ------
    DataError
        A history too short for a holdout.
    """
    transactions = data.require_transactions("Customer value from purchases")
    split = calibration_holdout_split(
        transactions, calibration_end=settings.calibration_end, time_unit=settings.time_unit
    )
    summary = summarize_customers(transactions, observation_end=split.holdout_end, time_unit=settings.time_unit)
    return split, summary


def without_days(split: HoldoutSplit) -> HoldoutSplit:
    """`split` without its purchase days (the fits and this section read only its calibration summary).

    Parameters
    ----------
    split : HoldoutSplit

    Returns
    -------
    HoldoutSplit
        The same split with no purchase days (small to send to another process).
    """
    days = split.days
    none = np.zeros(0, dtype=np.int64)
    return replace(split, days=PurchaseDays(days.customer_ids[:0], none, none, np.zeros(0)))


def by_position(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its rows numbered 0..n-1 instead of named by customer id (its columns shared, not copied).

    What goes to the report's worker process: the fits read only the numbers, and every per-customer
    result comes back in this same order (`FittedRows`), so the text ids need not travel.

    Parameters
    ----------
    frame : pd.DataFrame

    Returns
    -------
    pd.DataFrame
    """
    numbered = frame.copy(deep=False)
    numbered.index = pd.RangeIndex(len(frame))
    return numbered


def fit_arguments(split: HoldoutSplit, summary: pd.DataFrame) -> tuple[HoldoutSplit, pd.DataFrame]:
    """`fit_section`'s per-customer inputs as they travel to the worker: no purchase days, rows by position.

    Parameters
    ----------
    split, summary : from `fit_inputs`

    Returns
    -------
    tuple of (HoldoutSplit, pd.DataFrame)
    """
    light = without_days(split)
    return replace(light, calibration=by_position(light.calibration)), by_position(summary)


@dataclass(frozen=True)
class FittedRows:
    """A CLV analysis as the report's worker sends it back: the fits, and per-customer numbers by position.

    Attributes
    ----------
    analysis : ClvAnalysis
        The analysis with no per-customer rows (`customers`, `comparison.predictions` and
        `comparison.split.calibration` empty) and its models without the lifetimes fitters' copy of
        their data (nothing here reads it).
    customer_columns : list of str
        The columns of `analysis.customers`, in order.
    new_columns : dict of str to np.ndarray
        Those columns of `analysis.customers` that are not in the summary it was computed from,
        in the summary's row order.
    prediction_columns : dict of str to np.ndarray
        The columns of `comparison.predictions`, in the calibration summary's row order.
    """

    analysis: ClvAnalysis
    customer_columns: list[str]
    new_columns: dict[str, np.ndarray]
    prediction_columns: dict[str, np.ndarray]


def fitted_rows(analysis: ClvAnalysis, summary: pd.DataFrame) -> FittedRows:
    """`analysis` packed for the trip back from the worker (see `FittedRows`; `with_rows` unpacks it).

    Parameters
    ----------
    analysis : ClvAnalysis
        Computed from `summary` (by `analyse_summaries`).
    summary : pd.DataFrame
        The per-customer summary it was computed from.

    Returns
    -------
    FittedRows
    """
    customers, predictions = analysis.customers, analysis.comparison.predictions
    cmp_ = analysis.comparison
    light = analysis_without_fitter_data(analysis)
    light = replace(
        light,
        customers=customers.iloc[:0],
        comparison=replace(
            light.comparison,
            split=replace(cmp_.split, calibration=cmp_.split.calibration.iloc[:0]),
            predictions=predictions.iloc[:0],
        ),
    )
    return FittedRows(
        analysis=light,
        customer_columns=list(customers.columns),
        new_columns={c: customers[c].to_numpy() for c in customers.columns if c not in summary.columns},
        prediction_columns={c: predictions[c].to_numpy() for c in predictions.columns},
    )


def with_rows(fitted: FittedRows, split: HoldoutSplit, summary: pd.DataFrame) -> ClvAnalysis:
    """The analysis `fitted_rows` packed, with this process's own split and summary (ids and all) put back.

    Parameters
    ----------
    fitted : FittedRows
    split : HoldoutSplit
        The split the analysis was computed from (with its customer ids).
    summary : pd.DataFrame
        The summary it was computed from (with its customer ids).

    Returns
    -------
    ClvAnalysis
        Equal to `analyse_summaries(split, summary, settings)`.
    """
    a = fitted.analysis
    customers = pd.DataFrame(
        {
            c: fitted.new_columns[c] if c in fitted.new_columns else summary[c].to_numpy()
            for c in fitted.customer_columns
        },
        index=summary.index,
    )
    predictions = pd.DataFrame(fitted.prediction_columns, index=split.calibration.index)
    comparison = replace(a.comparison, split=split, predictions=predictions)
    return replace(a, customers=customers, comparison=comparison)


def fit_section(split: HoldoutSplit, summary: pd.DataFrame, settings: ClvSettings) -> tuple[FittedRows, dict]:
    """The CLV analysis and this section (without `retention`) from the per-customer rows alone.

    Run on the report's worker process (`analytics.engine.parallel`): its inputs and outputs are
    per-customer numbers, never purchases nor customer ids (`fit_arguments` sends the rows by
    position, `with_rows` puts the caller's ids back).

    Parameters
    ----------
    split : HoldoutSplit
        From `fit_inputs` (its `days` are not needed: `without_days`).
    summary : pd.DataFrame
        From `fit_inputs`.
    settings : ClvSettings
        The CLV settings.

    Returns
    -------
    tuple of (FittedRows, dict)
        The analysis packed for the trip back, and `section_from_analysis` of it.

    Raises
    ------
    DataError
        When no purchase model can be fitted.
    """
    analysis = analyse_summaries(split, summary, settings)
    return fitted_rows(analysis, summary), section_from_analysis(analysis, settings)


def fit_rows(split: HoldoutSplit, summary: pd.DataFrame, settings: ClvSettings) -> FittedRows:
    """`fit_section` without the section: the CLV analysis of the per-customer rows, packed for the
    trip back (`with_rows` unpacks it). Run on the app's worker process (`ui.worker`).

    Parameters
    ----------
    split : HoldoutSplit
        From `fit_arguments`.
    summary : pd.DataFrame
        From `fit_arguments`.
    settings : ClvSettings
        The CLV settings.

    Returns
    -------
    FittedRows
        `fitted_rows(analyse_summaries(split, summary, settings), summary)`.

    Raises
    ------
    DataError
        When no purchase model can be fitted.
    """
    return fitted_rows(analyse_summaries(split, summary, settings), summary)


def section_from_analysis(a: ClvAnalysis, s: ClvSettings) -> dict:
    """The section's JSON-ready dict from a finished analysis.

    Parameters
    ----------
    a : ClvAnalysis
    s : ClvSettings
        The settings it ran with.

    Returns
    -------
    dict
    """
    cmp_ = a.comparison
    models: dict[str, Any] = {}
    for name in MODEL_NAMES:
        if name in cmp_.models:
            mdl = cmp_.models[name]
            row = cmp_.metrics.loc[name]
            models[name] = {
                "params": mdl.params_,
                "log_likelihood": mdl.log_likelihood_,
                "holdout": {
                    "actual": row["actual"],
                    "predicted": row["predicted"],
                    # added: parameters' uncertainty plus the model error this holdout measured
                    "interval_90": holdout_interval(cmp_, name),
                },
                "holdout_rmse": row["rmse"],
                "penalizer": mdl.penalizer_,
            }
        elif name in cmp_.failures:
            models[name] = {"error": cmp_.failures[name]}
    c = a.customers
    forecast = forecast_ranges(a)
    return to_json_ready(
        {
            "time_unit": s.time_unit,
            "calibration_end": cmp_.split.calibration_end,
            "holdout_end": cmp_.split.holdout_end,
            "observation_end": a.observation_end,
            "models": models,
            "gamma_gamma": {
                "params": a.spend_model.params_,
                # added: the spend model fitted on the calibration period alone, as Fader, Hardie &
                # Lee (2005) publish it (CDNOW sample, calibration to 1997-09-30: p 6.25, q 3.74, v 15.44)
                "calibration_params": _calibration_spend_params(cmp_.split.calibration),
                "log_likelihood": a.spend_model.log_likelihood_,
                "frequency_spend_correlation": a.gg_check.correlation,
                "assumption_ok": a.gg_check.ok,
                "assumption_note": a.gg_check.message,
            },
            "selected": a.selected,
            "selection_reason": a.selection_reason,
            "final_params": a.purchase_model.params_,
            "horizon_months": s.horizon_months,
            "margin": s.margin,
            "annual_discount_rate": s.annual_discount_rate,
            "n_customers": len(c),
            "total_clv": a.total_clv,
            "mean_clv": a.mean_clv,
            "clv_interval_90": {"total": a.interval.get("total"), "mean": a.interval.get("mean")},
            "expected_purchases_total": float(c["expected_purchases"].sum()),
            # added: the forecasts' 90% ranges with the selected model's holdout error added
            "expected_purchases_interval_90": forecast["purchases"],
            "clv_interval_90_with_model_error": forecast["clv"],
            "expected_spend_total": float(c["expected_spend"].sum()),
            "historic_value_total": float(c["historic_value"].sum()) if "historic_value" in c else None,
            "mean_p_alive": float(c["p_alive"].mean()),
            "notes": unique_notes(
                a.notes
                + ([] if a.gg_check.ok else [a.gg_check.message])
                + [n for n in [boundary_note(a.selected, a.purchase_model.params_, s.time_unit)] if n]
            ),
        }
    )


def retention_keys(data: CustomerData, settings: ClvSettings | None = None) -> dict:
    """Figures of the purchase model for the report (`clv.retention`): JSON-ready.

    Parameters
    ----------
    data : CustomerData
        A dataset with purchases.
    settings : ClvSettings, optional
        The CLV settings.

    Returns
    -------
    dict
        Yearly retention, expected alive customers and their sources.
    """
    analysis = purchase_analysis(data, settings)
    ret = purchase_retention(analysis)
    return {
        "model": ret.model,
        "expected_alive_customers": ret.expected_alive,
        "yearly_retention_rate": ret.yearly_retention,
        "new_customer_yearly_survival": ret.new_customer_yearly_survival,
        "established_customer_yearly_survival": ret.established_yearly_survival,
        "definition": (
            "Share of the customers the model expects to be active today who are still active a year later; "
            "active = expected alive customers (sum of P(alive))."
        ),
    }
