"""Holdout comparison of the purchase models: each model fitted on the calibration period predicts the
holdout's repeat purchases; totals, per-customer RMSE, the conditional-expectations table by
calibration frequency and period-by-period cumulative tracking.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from analytics.data.schema import DataError
from analytics.models.btyd import (
    HoldoutSplit,
    unit_days,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")

from analytics.models.interval import delta_interval
from analytics.models.purchase import MODEL_NAMES, PurchaseModel, Triples, make_model

FREQUENCY_BUCKETS = 7
"""Conditional-expectations table: calibration frequencies 0..6 and a pooled '7+' group."""


@dataclass
class HoldoutComparison:
    """Purchase models fitted on the calibration period and checked on the holdout.

    Attributes
    ----------
    split : HoldoutSplit
    models : dict[str, PurchaseModel]
        Calibration fits that converged.
    failures : dict[str, str]
        Plain-word reasons for the models that could not be fitted.
    predictions : pd.DataFrame
        Per calibration customer: frequency, frequency_holdout and one column per model with the
        conditional expected number of holdout repeat purchases.
    metrics : pd.DataFrame
        Per model: actual and predicted holdout repeat purchases (totals), error, error_pct,
        rmse and mae (per customer).
    best : str
        Model with the lowest per-customer holdout RMSE.
    """

    split: HoldoutSplit
    models: dict[str, PurchaseModel]
    failures: dict[str, str]
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    best: str


def compare_models(split: HoldoutSplit, *, model_names: tuple[str, ...] = MODEL_NAMES) -> HoldoutComparison:
    """Fit each purchase model on calibration and score its holdout predictions.

    The score is the root mean squared error of each customer's conditional expected holdout
    purchases against their actual count (a proper score for an expectation); totals are reported
    too.

    Parameters
    ----------
    split : HoldoutSplit
        `calibration_holdout_split` output.
    model_names : tuple of str
        Models to compare (default: bg_nbd, pareto_nbd, mbg_nbd).

    Returns
    -------
    HoldoutComparison
        The fits, their holdout predictions and metrics, and the best model.

    Raises
    ------
    DataError
        When no model can be fitted.
    """
    cal = split.calibration
    tr = Triples.from_summary(cal)
    models: dict[str, PurchaseModel] = {}
    failures: dict[str, str] = {}
    for name in model_names:
        try:
            models[name] = make_model(name, time_unit=split.time_unit).fit_triples(tr)
        except DataError as exc:
            failures[name] = str(exc)
    if not models:
        raise DataError(next(iter(failures.values())))
    preds = pd.DataFrame(
        {"frequency": cal["frequency"].to_numpy(), "frequency_holdout": cal["frequency_holdout"].to_numpy()},
        index=cal.index,
    )
    actual = preds["frequency_holdout"].to_numpy(dtype=np.float64)
    rows = []
    for name, model in models.items():
        pred = model.expected_purchases_triples(tr, split.holdout_periods)[tr.inverse]
        preds[name] = pred
        err = pred - actual
        rows.append(
            {
                "model": name,
                "actual": float(actual.sum()),
                "predicted": float(pred.sum()),
                "error": float(err.sum()),
                "error_pct": float(100 * err.sum() / actual.sum()) if actual.sum() > 0 else math.nan,
                "rmse": float(np.sqrt(np.mean(err**2))),
                "mae": float(np.mean(np.abs(err))),
            }
        )
    metrics = pd.DataFrame(rows).set_index("model")
    return HoldoutComparison(split, models, failures, preds, metrics, str(metrics["rmse"].idxmin()))


def model_error_log(comparison: HoldoutComparison, name: str) -> float | None:
    """The model's error on the holdout as a log ratio, log(actual / predicted) of total repeat purchases.

    Parameters
    ----------
    comparison : HoldoutComparison
    name : str
        A model of `comparison.models`.

    Returns
    -------
    float or None
        0.0 for a perfect total; None when the holdout has no repeat purchase or no prediction.
    """
    row = comparison.metrics.loc[name]
    if not (row["actual"] > 0 and row["predicted"] > 0):
        return None
    return float(math.log(row["actual"] / row["predicted"]))


def combined_range(
    centre: float, parameter_range: tuple[float, float] | None, model_error: float | None, *, level: float = 0.90
) -> tuple[float, float] | None:
    """A forecast's range from the parameters' uncertainty plus the model error measured on a holdout.

    On the log scale the two are independent errors: sd = sqrt(sd_parameters^2 + e^2), with
    sd_parameters = log(high / low) / (2 z) from the (delta-method, log-symmetric) parameter range and
    e = log(actual / predicted) on the holdout taken as one standard deviation of the model's error
    (a single measured error, the only one the data gives). The range is centre x exp(+-z sd).

    Parameters
    ----------
    centre : float
        The forecast (positive).
    parameter_range : (low, high) or None
        Its range from the parameters' uncertainty alone (None counts as no parameter uncertainty).
    model_error : float or None
        `model_error_log` of the model (None: no holdout error known, the parameter range is returned).
    level : float
        Coverage, e.g. 0.90.

    Returns
    -------
    (low, high) or None
        None when the centre is not positive or neither source is known.
    """
    if not (centre > 0 and math.isfinite(centre)) or (parameter_range is None and model_error is None):
        return None
    z = float(norm.ppf(0.5 + level / 2))
    sd_parameters = 0.0 if parameter_range is None else math.log(parameter_range[1] / parameter_range[0]) / (2 * z)
    sd = math.sqrt(sd_parameters**2 + (model_error or 0.0) ** 2)
    return centre * math.exp(-z * sd), centre * math.exp(z * sd)


def holdout_interval(comparison: HoldoutComparison, name: str, *, level: float = 0.90) -> dict:
    """The range of a model's holdout forecast (total repeat purchases) with what it covers.

    The parameters' uncertainty alone (delta method on the calibration fit, as the CLV interval)
    gives about +-2% on the full CDNOW log while the models miss the holdout by 2-19%: the range
    reported adds the model error this holdout measured (`combined_range`). It therefore contains
    this holdout's actual count by construction; its use is the width to expect of a forecast of the
    same length (the CLV section applies the same error to the forward forecast).

    Parameters
    ----------
    comparison : HoldoutComparison
    name : str
        A model of `comparison.models`.
    level : float, default 0.9

    Returns
    -------
    dict
        level, low, high (total holdout repeat purchases, the combined range), parameter_low,
        parameter_high (parameters' uncertainty alone; None when it cannot be estimated),
        model_error_pct (predicted / actual - 1, in %, as `metrics.error_pct`) and covers (what the range covers, in words).
    """
    split = comparison.split
    predicted = float(comparison.metrics["predicted"].loc[name])
    parameter = purchases_parameter_range(
        comparison.models[name], Triples.from_summary(split.calibration), split.holdout_periods, level=level
    )
    error = model_error_log(comparison, name)
    both = combined_range(predicted, parameter, error, level=level)
    return {
        "level": level,
        "low": None if both is None else both[0],
        "high": None if both is None else both[1],
        "parameter_low": None if parameter is None else parameter[0],
        "parameter_high": None if parameter is None else parameter[1],
        "model_error_pct": None if error is None else 100 * math.expm1(-error),
        "covers": model_error_text(error, parameter is not None),
    }


def purchases_parameter_range(
    model: PurchaseModel, triples: Triples, periods: float, *, level: float = 0.90
) -> tuple[float, float] | None:
    """Range of the total expected repeat purchases of `triples` in the next `periods` from the
    parameters' uncertainty alone (delta method on the log-parameters, as the CLV interval).

    Parameters
    ----------
    model : PurchaseModel
        A fitted purchase model.
    triples : Triples
        The customers it forecasts (their distinct triples with counts).
    periods : float
        Forecast length in the model's time unit.
    level : float, default 0.9

    Returns
    -------
    (low, high) or None
        None when the parameters' covariance cannot be estimated (a flat ridge or a boundary).
    """
    covariance = model.parameter_covariance(triples)
    if covariance is None:
        return None

    def total(log_params: np.ndarray) -> float:
        return float(
            np.dot(model._with_params(np.exp(log_params)).expected_purchases_triples(triples, periods), triples.weights)
        )

    with np.errstate(all="ignore"):
        bounds = delta_interval(total, np.log(model._params()), covariance, level=level)
    return None if bounds is None else (bounds[0], bounds[1])


def model_error_text(error: float | None, with_parameters: bool = True) -> str:
    """What a forecast range covers, in words (the label the page and the report show).

    Parameters
    ----------
    error : float or None
        `model_error_log` (None: not measured).
    with_parameters : bool
        Whether the parameters' uncertainty is in the range.

    Returns
    -------
    str
    """
    parts = ["the fitted parameters' statistical uncertainty"] if with_parameters else []
    if error is not None:
        parts.append(
            f"the model's error on the holdout (its forecast was {100 * math.expm1(-error):+.1f}% off what happened)"
        )
    if not parts:
        return "nothing could be estimated"
    return " and ".join(parts) + "; not a change in how customers behave, nor a wrong margin"


def conditional_expectations(comparison: HoldoutComparison) -> pd.DataFrame:
    """Mean holdout repeat purchases per customer by calibration frequency 0..6 and 7+ (pooled).

    Unlike lifetimes' plot, the 7+ group is pooled, not dropped.

    Parameters
    ----------
    comparison : HoldoutComparison
        `compare_models` output.

    Returns
    -------
    pd.DataFrame
        frequency_group ('0'..'6', '7+'), customers, actual, and one column per model (predicted
        mean per customer).
    """
    p = comparison.predictions
    group = np.minimum(p["frequency"].to_numpy(), FREQUENCY_BUCKETS)
    labels = [str(i) for i in range(FREQUENCY_BUCKETS)] + [f"{FREQUENCY_BUCKETS}+"]
    frame = p.drop(columns=["frequency"]).rename(columns={"frequency_holdout": "actual"})
    frame["group"] = group
    out = frame.groupby("group").mean()
    out.insert(0, "customers", frame.groupby("group").size())
    out = out.reindex(range(FREQUENCY_BUCKETS + 1))
    out.insert(0, "frequency_group", labels)
    out["customers"] = out["customers"].fillna(0).astype(int)
    return out.reset_index(drop=True)


def cumulative_tracking(comparison: HoldoutComparison) -> pd.DataFrame:
    """Cumulative repeat purchases, actual vs predicted, period by period over calibration + holdout.

    Covers the calibration customers (first purchase on or before calibration end). Predicted
    cumulative repeat purchases at the end of day e are sum over first-purchase days d <= e of
    n_d * E[X((e - d) / unit)], E the model's expectation for a new customer (FHL 2005, fig. 4).

    Parameters
    ----------
    comparison : HoldoutComparison
        `compare_models` output.

    Returns
    -------
    pd.DataFrame
        period (1, 2, ...), period_end (date), actual_cumulative, and one column per model; the
        last period ends on the holdout end (and may be shorter).
    """
    split = comparison.split
    days = split.days
    unit = unit_days(split.time_unit)
    cal_end = int(split.calibration_end.to_datetime64().astype("datetime64[D]").astype(np.int64))
    end = int(split.holdout_end.to_datetime64().astype("datetime64[D]").astype(np.int64))
    first_rows = days.first_row
    first_day = days.day[first_rows]
    cal_customer = np.zeros(len(days.customer_ids), dtype=bool)
    cal_customer[days.customer[first_rows][first_day <= cal_end]] = True
    day0 = int(first_day.min())
    span = end - day0 + 1
    is_first = np.zeros(len(days.day), dtype=bool)
    is_first[first_rows] = True
    repeat = ~is_first & cal_customer[days.customer]
    cum_actual = np.cumsum(np.bincount(days.day[repeat] - day0, minlength=span))
    cohort = np.bincount(first_day[first_day <= cal_end] - day0, minlength=span).astype(np.float64)
    n_periods = math.ceil(span / unit - 1e-9)
    period_end = np.minimum(np.ceil(np.arange(1, n_periods + 1) * unit - 1e-9).astype(np.int64) - 1, span - 1)
    out = pd.DataFrame(
        {
            "period": np.arange(1, n_periods + 1),
            "period_end": (period_end + day0).astype("datetime64[D]").astype("datetime64[ns]"),
            "actual_cumulative": cum_actual[period_end].astype(np.float64),
        }
    )
    lags = np.arange(span, dtype=np.float64) / unit
    for name, model in comparison.models.items():
        expected = model.expected_purchases_new_customer(lags)
        predicted = np.convolve(cohort, expected)[:span]
        out[name] = predicted[period_end]
    return out
