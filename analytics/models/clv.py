"""Customer lifetime value from a purchase log: buy-till-you-die models validated on a holdout.

Pipeline (`analyse_clv`):

1. Split the history into calibration and holdout (`analytics.models.btyd.calibration_holdout_split`).
2. Fit BG/NBD, Pareto/NBD and modified BG/NBD on calibration; compare each model's prediction of
   holdout repeat purchases with what happened (totals, the conditional-expectations table by
   calibration frequency 0..7+, and period-by-period cumulative tracking). The lowest per-customer
   holdout RMSE wins unless the user picks a model.
3. Refit the chosen model and the Gamma-Gamma spend model on the whole history and value every
   customer: p_alive, expected purchases and spend over the horizon, historic value and CLV.
4. A bootstrap over customers gives a 90% interval for total and mean CLV.

Speed: the purchase models depend on a customer only through (frequency, recency, T), so every
fit and prediction runs on the distinct triples, with their counts as lifetimes `weights` (the
weighted log-likelihood equals the per-customer one; tests check the parameters agree). The
Pareto/NBD likelihood and every conditional expectation are further evaluated once per distinct
(frequency, recency) and (frequency, T) pair, where the Gauss hypergeometric function is costly.

Units: model time is in `time_unit` periods ('D', 'W' = 7 days, 'M' = 365.25/12 days); money is in
the currency of the `amount` column; the CLV horizon is in months and discounting uses an annual
rate, so the same settings give the same CLV whatever the time unit.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analytics.assumptions import ANNUAL_DISCOUNT_RATE, MARGIN_RATE
from analytics.data.periods import DAYS_PER_MONTH
from analytics.data.schema import DataError
from analytics.models.btyd import (
    HoldoutSplit,
    calibration_holdout_split,
    summarize_customers,
    unit_days,
)
from analytics.models.holdout import (
    HoldoutComparison,
    combined_range,
    compare_models,
    model_error_log,
    model_error_text,
    purchases_parameter_range,
)
from analytics.models.interval import (
    SpendByTriple,
    delta_interval,
    discounted_transactions,
    log_covariance,
    total_clv_of,
)
from analytics.models.likelihood import SpendRows, gamma_gamma_log_likelihood
from analytics.models.purchase import MODEL_LABELS, MODEL_NAMES, PurchaseModel, Triples, make_model
from analytics.models.spend import GammaGamma, GammaGammaCheck, gamma_gamma_check


@dataclass(frozen=True)
class ClvSettings:
    """Assumptions that change lifetime-value results (built by the page and the report).

    Attributes
    ----------
    time_unit : {'D', 'W', 'M'}
        Model time unit. Weeks by default, as in the BTYD literature.
    calibration_end : date-like or None
        Last day of the calibration period; None holds out the last third of the history.
    horizon_months : float
        CLV and expected-purchase horizon, in months (converted to the time unit).
    margin : float
        Share of revenue kept as contribution margin, 0 < margin <= 1. The default
        (`analytics.assumptions.MARGIN_RATE`, 0.30) is a labelled assumption (a typical retail
        gross margin), not a fact about the data.
    annual_discount_rate : float
        Yearly discount rate for future margin (default 10%).
    model : str or None
        'bg_nbd', 'pareto_nbd' or 'mbg_nbd' to override the holdout-based choice.
    n_bootstrap : int
        Replicates for the CLV interval of the 'parametric' and 'resample' methods (0 skips the
        interval, whatever the method).
    interval_method : {'delta', 'parametric', 'resample'}
        How the CLV interval is computed (see `clv_interval`): the delta method on the parameters'
        asymptotic normal law (default: 15 valuations), draws from that law (`n_bootstrap`
        valuations), or a customer bootstrap with refits (slowest).
    random_state : int
        Seed of the bootstrap.

    Raises
    ------
    DataError
        For a time unit, horizon, margin, discount rate or model out of range.
    """

    time_unit: str = "W"
    calibration_end: Any = None
    horizon_months: float = 12.0
    margin: float = MARGIN_RATE
    annual_discount_rate: float = ANNUAL_DISCOUNT_RATE
    model: str | None = None
    n_bootstrap: int = 200
    interval_method: str = "delta"
    random_state: int = 0

    def __post_init__(self) -> None:
        unit_days(self.time_unit)
        if not (self.horizon_months > 0 and math.isfinite(self.horizon_months)):
            raise DataError("The CLV horizon must be a positive number of months.")
        if not 0 < self.margin <= 1:
            raise DataError("The margin is a share of revenue: between 0 (excluded) and 1.")
        if not 0 <= self.annual_discount_rate < 10:
            raise DataError("The annual discount rate must be between 0 and 10 (0% to 1000%).")
        if self.model is not None and self.model not in MODEL_NAMES:
            raise DataError(f"Unknown model {self.model!r}: choose one of {', '.join(MODEL_NAMES)}.")
        if self.n_bootstrap < 0:
            raise DataError("The number of bootstrap replicates cannot be negative.")
        if self.interval_method not in ("delta", "parametric", "resample"):
            raise DataError("The interval method is 'delta', 'parametric' or 'resample'.")

    @property
    def horizon_days(self) -> float:
        return self.horizon_months * DAYS_PER_MONTH

    def horizon_periods(self) -> float:
        """The horizon in model periods (e.g. 12 months = 52.18 weeks).

        Returns
        -------
        float
            Periods of `time_unit`.
        """
        return self.horizon_days / unit_days(self.time_unit)


def customer_values(
    summary: pd.DataFrame,
    purchase_model: PurchaseModel,
    spend_model: GammaGamma,
    settings: ClvSettings,
    *,
    triples: Triples | None = None,
) -> pd.DataFrame:
    """Per-customer forecasts and lifetime value.

    CLV_i = margin * E[spend per purchase]_i * DET_i, with DET_i the discounted expected
    transactions over the horizon (`PurchaseModel.discounted_purchases_triples`) and the spend from
    the Gamma-Gamma model: the CLV of Fader, Hardie & Lee (2005), "RFM and CLV", eq. (1).

    Parameters
    ----------
    summary : pd.DataFrame
        `summarize_customers` output (frequency, recency, T, monetary_value).
    purchase_model : PurchaseModel
        A fitted BG/NBD, Pareto/NBD or MBG/NBD model.
    spend_model : GammaGamma
        A fitted spend model.
    settings : ClvSettings
        Horizon, margin and discount rate (and the interval method).
    triples : Triples, optional
        `Triples.from_summary(summary)`, when already computed.

    Returns
    -------
    pd.DataFrame
        Indexed like `summary`; columns frequency, recency, T (time unit), monetary_value,
        historic_value (revenue to date, currency), p_alive (0..1), expected_purchases (repeat
        purchases over the horizon), expected_order_value (currency per purchase), expected_spend
        (revenue over the horizon, undiscounted, currency), clv (discounted margin, currency).
    """
    tr = Triples.from_summary(summary) if triples is None else triples
    det, expected = purchase_model.discounted_purchases_triples(
        tr, horizon=settings.horizon_periods(), annual_discount_rate=settings.annual_discount_rate
    )
    order_value = spend_model.expected_spend_per_purchase(
        summary["frequency"].to_numpy(), summary["monetary_value"].to_numpy()
    )
    expected_i = expected[tr.inverse]
    out = summary[["frequency", "recency", "T", "monetary_value"]].copy()
    if "historic_value" in summary.columns:
        out["historic_value"] = summary["historic_value"].to_numpy()
    out["p_alive"] = purchase_model._p_alive(tr)[tr.inverse]
    out["expected_purchases"] = expected_i
    out["expected_order_value"] = order_value
    out["expected_spend"] = expected_i * order_value
    out["clv"] = settings.margin * order_value * det[tr.inverse]
    return out


def _normal_draws(loglik: Any, theta: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray | None:
    """Draws of the parameters from the asymptotic normal law of the maximum-likelihood estimate on
    the log scale: N(log theta, inverse observed information). None when the information matrix is
    not positive definite (the estimate sits on a flat ridge or a boundary)."""
    covariance = log_covariance(loglik, theta)
    if covariance is None:
        return None
    chol = np.linalg.cholesky(covariance)
    return np.exp(np.log(theta) + rng.standard_normal((n, len(theta))) @ chol.T)


def _gg_loglik(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> Any:
    """The Gamma-Gamma log-likelihood as a function of the log-parameters (lifetimes' value, written
    out in analytics.models.likelihood with the lnG terms computed once per distinct frequency)."""
    rows = SpendRows.from_arrays(x, m, w)

    def loglik(log_params: np.ndarray) -> float:
        return gamma_gamma_log_likelihood(np.exp(log_params), rows)

    return loglik


def _delta_clv_interval(
    purchase_model: PurchaseModel,
    gg_theta: np.ndarray,
    tr: Triples,
    x_r: np.ndarray,
    m_r: np.ndarray,
    value: Any,
    *,
    n: int,
    level: float,
    method: str,
) -> dict[str, Any]:
    """The delta-method interval of `clv_interval` (purchase and spend parameters independent)."""
    result: dict[str, Any] = {
        "level": level,
        "replicates": 0,
        "failed": 0,
        "method": method,
        "total": None,
        "mean": None,
    }
    theta = purchase_model._params()
    cov_purchase = purchase_model.parameter_covariance(tr)
    cov_spend = log_covariance(_gg_loglik(x_r, m_r, np.ones(len(x_r))), gg_theta)
    if cov_purchase is None or cov_spend is None:
        return result
    k = len(theta)
    covariance = np.zeros((k + 3, k + 3))
    covariance[:k, :k], covariance[k:, k:] = cov_purchase, cov_spend
    with np.errstate(all="ignore"):
        bounds = delta_interval(
            lambda lp: value(purchase_model._with_params(np.exp(lp[:k])), np.exp(lp[k:])),
            np.log(np.concatenate([theta, gg_theta])),
            covariance,
            level=level,
        )
    if bounds is None:
        result["failed"] = 1
        return result
    lo, hi, evaluations = bounds
    result.update(total=(lo, hi), mean=(lo / n, hi / n), evaluations=evaluations)
    return result


def clv_interval(
    summary: pd.DataFrame,
    purchase_model: PurchaseModel,
    spend_model: GammaGamma,
    settings: ClvSettings,
    *,
    level: float = 0.90,
    triples: Triples | None = None,
) -> dict[str, Any]:
    """Interval of total and mean CLV (currency) reflecting the uncertainty of the fitted parameters.

    `settings.interval_method`:

    'delta' (default, fastest): the delta method on log total CLV with the same normal law of the
        log-parameters as 'parametric' (`analytics.models.interval`): 15 valuations instead of
        `n_bootstrap`; the tests check it against 'parametric' on CDNOW (endpoints within 1.5%).
    'parametric': parametric bootstrap. Purchase and spend parameters are drawn from
        the asymptotic normal law of their maximum-likelihood estimates on the log scale (covariance
        = inverse observed information, by finite differences of the log-likelihood).
    'resample': customer bootstrap. Each replicate resamples customers with replacement (a
        multinomial draw of counts), refits both models on the reweighted distinct triples
        (warm-started) and values today's customers with the refitted parameters. Slower, no
        normal approximation; the tests check the two agree on CDNOW.

    Either way the customers valued are today's customers; only the parameters vary.

    Parameters
    ----------
    summary : pd.DataFrame
        `summarize_customers` output (frequency, recency, T, monetary_value).
    purchase_model : PurchaseModel
        A fitted BG/NBD, Pareto/NBD or MBG/NBD model.
    spend_model : GammaGamma
        A fitted spend model.
    settings : ClvSettings
        Horizon, margin and discount rate (and the interval method).
    level : float, default 0.9
        Coverage of the interval.
    triples : Triples, optional
        `Triples.from_summary(summary)`, when already computed.

    Returns
    -------
    dict
        total (lo, hi), mean (lo, hi) (None when too few replicates succeeded), level, replicates
        (successful), failed, method.
    """
    tr = Triples.from_summary(summary) if triples is None else triples
    n = len(summary)
    rng = np.random.default_rng(settings.random_state)
    x = summary["frequency"].to_numpy()
    m = summary["monetary_value"].to_numpy(dtype=np.float64)
    repeat = (x > 0) & (m > 0)
    x_r, m_r = x[repeat].astype(np.float64), m[repeat]
    gg_theta = np.array([spend_model.params_[k] for k in GammaGamma.param_names])
    horizon = settings.horizon_periods()
    # every valuation works on distinct triples: spend per purchase is linear in m (see interval.py)
    spend = SpendByTriple(tr, x, m)

    # The delta method moves one parameter at a time: the 6 valuations that move a Gamma-Gamma
    # parameter keep the purchase parameters of the first valuation (the estimate), whose discounted
    # expected transactions are kept and reused (the costly part: 2F1 on the weekly grid).
    first: dict[bytes, np.ndarray] = {}

    def value(model_b: PurchaseModel, gg: np.ndarray) -> float:
        key = model_b._params().tobytes()
        det = first.get(key)
        if det is None:
            det = discounted_transactions(
                model_b, tr, horizon=horizon, annual_discount_rate=settings.annual_discount_rate
            )
            if not first:
                first[key] = det
        return total_clv_of(det, gg, spend, margin=settings.margin)

    if settings.interval_method == "delta":
        return _delta_clv_interval(
            purchase_model, gg_theta, tr, x_r, m_r, value, n=n, level=level, method=settings.interval_method
        )

    def replicates() -> Any:
        if settings.interval_method == "parametric":
            draws = _normal_draws(
                lambda lp: purchase_model._log_likelihood(tr, np.exp(lp)),
                purchase_model._params(),
                settings.n_bootstrap,
                rng,
            )
            gg_draws = _normal_draws(_gg_loglik(x_r, m_r, np.ones(len(x_r))), gg_theta, settings.n_bootstrap, rng)
            if draws is None or gg_draws is None:
                return
            for theta, gg in zip(draws, gg_draws):
                if gg[1] <= 1:  # q <= 1: no finite mean spend
                    yield None
                    continue
                spend_b = copy.copy(spend_model)
                spend_b.params_ = dict(zip(GammaGamma.param_names, map(float, gg)))
                yield purchase_model._with_params(theta), spend_b
        else:
            for _ in range(settings.n_bootstrap):
                counts = rng.multinomial(n, np.full(n, 1.0 / n)).astype(np.float64)
                try:
                    model_b = purchase_model._refit(
                        tr.with_weights(np.bincount(tr.inverse, counts, minlength=len(tr.weights)))
                    )
                    spend_b = GammaGamma(penalizer=spend_model.penalizer_)._fit_arrays(
                        x_r, m_r, counts[repeat], initial=np.log(gg_theta), retry=False
                    )
                except DataError:
                    yield None
                    continue
                yield model_b, spend_b

    totals: list[float] = []
    failed = 0
    for rep in replicates():
        if rep is None:
            failed += 1
            continue
        model_b, spend_b = rep
        total = value(model_b, np.array([spend_b.params_[k] for k in GammaGamma.param_names]))
        if math.isfinite(total):
            totals.append(total)
        else:
            failed += 1
    result: dict[str, Any] = {
        "level": level,
        "replicates": len(totals),
        "failed": failed,
        "method": settings.interval_method,
        "total": None,
        "mean": None,
    }
    if len(totals) < max(10, 0.8 * settings.n_bootstrap):
        return result
    lo, hi = np.quantile(totals, [(1 - level) / 2, (1 + level) / 2])
    result.update(total=(float(lo), float(hi)), mean=(float(lo / n), float(hi / n)))
    return result


@dataclass
class ClvAnalysis:
    """Everything the lifetime-value page and report show (see `analyse_clv`).

    Attributes
    ----------
    settings : ClvSettings
        The settings used.
    comparison : HoldoutComparison
        The purchase models fitted on calibration and scored on the holdout.
    selected, selection_reason : str
        The model valued with, and why (lowest holdout error, or chosen by the user).
    purchase_model : PurchaseModel
        The selected model refitted on the whole history.
    spend_model : GammaGamma
        The spend model, fitted on the whole history.
    gg_check : GammaGammaCheck
        Whether spend and frequency look independent (the Gamma-Gamma assumption).
    customers : pd.DataFrame
        Per customer: the summary (frequency, recency, T, monetary_value), p_alive,
        expected_purchases, expected_spend and clv (currency over the horizon).
    interval : dict
        The 90% interval of the total and mean CLV (level, replicates, method, total, mean).
    observation_end : pd.Timestamp
        The day the values are as of.
    notes : list of str
        Fitting notes in plain words.
    """

    settings: ClvSettings
    comparison: HoldoutComparison
    selected: str
    selection_reason: str
    purchase_model: PurchaseModel
    spend_model: GammaGamma
    gg_check: GammaGammaCheck
    customers: pd.DataFrame
    interval: dict[str, Any]
    observation_end: pd.Timestamp
    notes: list[str] = field(default_factory=list)

    @property
    def total_clv(self) -> float:
        return float(self.customers["clv"].sum())

    @property
    def mean_clv(self) -> float:
        return float(self.customers["clv"].mean())


def analyse_clv(transactions: pd.DataFrame, settings: ClvSettings | None = None) -> ClvAnalysis:
    """Holdout validation, model choice and per-customer lifetime value for a purchase log.

    The validation fits use the calibration period; the chosen model and the spend model are then
    refitted on the whole history (to the last purchase day) to value today's customers.

    Parameters
    ----------
    transactions : pd.DataFrame
        Canonical transactions (`CustomerData.transactions`).
    settings : ClvSettings, optional
        Time unit, calibration end, horizon, margin, discount rate, model and interval choices.

    Returns
    -------
    ClvAnalysis
        The comparison, the chosen models and the value of every customer.

    Raises
    ------
    DataError
        A history too short for a holdout, or no model that can be fitted.
    """
    settings = ClvSettings() if settings is None else settings
    split = calibration_holdout_split(
        transactions, calibration_end=settings.calibration_end, time_unit=settings.time_unit
    )
    summary = summarize_customers(transactions, observation_end=split.holdout_end, time_unit=settings.time_unit)
    return analyse_summaries(split, summary, settings)


def analyse_summaries(split: HoldoutSplit, summary: pd.DataFrame, settings: ClvSettings | None = None) -> ClvAnalysis:
    """`analyse_clv` from the per-customer rows alone: the calibration/holdout split and the summary
    to the holdout end (e.g. computed inside a database by `analytics.engine.pushdown`).

    Parameters
    ----------
    split : HoldoutSplit
        Its `calibration` summary (with frequency_holdout, duration_holdout) is all that is used.
    summary : pd.DataFrame
        Per-customer summary to `split.holdout_end` (`analytics.models.btyd.summarize_customers`).
    settings : ClvSettings, optional

    Returns
    -------
    ClvAnalysis
    """
    settings = ClvSettings() if settings is None else settings
    comparison = compare_models(split)
    notes = [m for model in comparison.models.values() for m in model.notes_]
    notes += [f"{MODEL_LABELS[k]} could not be fitted: {v}" for k, v in comparison.failures.items()]
    if settings.model is not None:
        selected, reason = settings.model, "chosen by the user"
        if selected in comparison.failures:
            raise DataError(comparison.failures[selected])
    else:
        selected, reason = comparison.best, "lowest holdout error (per-customer RMSE)"
    tr = Triples.from_summary(summary)
    model = make_model(selected, time_unit=settings.time_unit).fit_triples(tr)
    notes += model.notes_
    spend = GammaGamma()
    x, m = summary["frequency"].to_numpy(), summary["monetary_value"].to_numpy()
    zero = (x > 0) & (m <= 0)
    if zero.any() and zero.sum() <= 0.01 * (x > 0).sum():
        notes.append(
            f"{int(zero.sum())} repeat buyer(s) whose repeat purchases were all free were left out of the spend model."
        )
        spend.fit(summary, weights=np.where(zero, 0.0, 1.0))
    else:
        spend.fit(summary)
    check = gamma_gamma_check(summary)
    values = customer_values(summary, model, spend, settings, triples=tr)
    interval = (
        clv_interval(summary, model, spend, settings, triples=tr)
        if settings.n_bootstrap > 0
        else {"level": 0.9, "replicates": 0, "failed": 0, "method": None, "total": None, "mean": None}
    )
    return ClvAnalysis(
        settings=settings,
        comparison=comparison,
        selected=selected,
        selection_reason=reason,
        purchase_model=model,
        spend_model=spend,
        gg_check=check,
        customers=values,
        interval=interval,
        observation_end=split.holdout_end,
        notes=notes,
    )


def without_fitter_data(model: Any) -> Any:
    """A shallow copy of a fitted purchase or spend model whose lifetimes fitter no longer holds its
    training data (every figure the model gives is unchanged; no page or section reads that data).

    Parameters
    ----------
    model : PurchaseModel or GammaGamma
        A fitted model.

    Returns
    -------
    The same model, or a light copy of it.
    """
    fitter = getattr(model, "fitter_", None)
    if getattr(fitter, "data", None) is None:
        return model
    light = copy.copy(model)
    light.fitter_ = copy.copy(fitter)
    light.fitter_.data = None
    predict = getattr(fitter, "predict", None)
    if predict is not None and getattr(predict, "__self__", None) is fitter:  # bound to the fitter: rebind
        light.fitter_.predict = getattr(light.fitter_, predict.__name__)
    return light


def analysis_without_fitter_data(analysis: ClvAnalysis) -> ClvAnalysis:
    """`analysis` with its fitted models (the chosen one, the spend model and the holdout comparison's)
    without the lifetimes fitters' copies of their training data (`without_fitter_data`): what the
    app's session cache keeps and the report's worker sends back.

    Parameters
    ----------
    analysis : ClvAnalysis
        A computed analysis.

    Returns
    -------
    ClvAnalysis
        The same figures, lighter to pickle (21 MiB less at 300,000 customers).
    """
    comparison = analysis.comparison
    return replace(
        analysis,
        purchase_model=without_fitter_data(analysis.purchase_model),
        spend_model=without_fitter_data(analysis.spend_model),
        comparison=replace(
            comparison, models={name: without_fitter_data(model) for name, model in comparison.models.items()}
        ),
    )


def forecast_ranges(a: ClvAnalysis, level: float = 0.90) -> dict[str, dict[str, Any]]:
    """90% ranges of the horizon's expected purchases and total CLV that add the selected model's error
    measured on the holdout to the parameters' uncertainty (`analytics.models.holdout.combined_range`).

    The holdout error is measured over the holdout's length and applied as is to the horizon (the
    only measurement of the model's error the data gives).

    Parameters
    ----------
    a : ClvAnalysis
    level : float, default 0.9

    Returns
    -------
    dict
        purchases and clv, each {low, high, covers}; clv also {mean_low, mean_high}.
    """
    s = a.settings
    error = model_error_log(a.comparison, a.selected) if a.selected in a.comparison.models else None
    purchases = float(a.customers["expected_purchases"].sum())
    parameter = purchases_parameter_range(
        a.purchase_model, Triples.from_summary(a.customers), s.horizon_periods(), level=level
    )
    p_range = combined_range(purchases, parameter, error, level=level)
    clv_parameter = a.interval.get("total")
    c_range = combined_range(a.total_clv, None if clv_parameter is None else tuple(clv_parameter), error, level=level)
    n = max(len(a.customers), 1)
    return {
        "purchases": {
            "low": None if p_range is None else p_range[0],
            "high": None if p_range is None else p_range[1],
            "covers": model_error_text(error, parameter is not None),
        },
        "clv": {
            "low": None if c_range is None else c_range[0],
            "high": None if c_range is None else c_range[1],
            "mean_low": None if c_range is None else c_range[0] / n,
            "mean_high": None if c_range is None else c_range[1] / n,
            "covers": model_error_text(error, clv_parameter is not None),
        },
    }
