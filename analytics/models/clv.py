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

import contextlib
import copy
import io
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import gammaln, hyp2f1

from analytics.data.schema import CustomerData, DataError
from analytics.models.btyd import (
    HoldoutSplit,
    calibration_holdout_split,
    summarize_customers,
    unit_days,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    from lifetimes.utils import ConvergenceError

MODEL_NAMES: tuple[str, ...] = ("bg_nbd", "pareto_nbd", "mbg_nbd")
MODEL_LABELS: dict[str, str] = {
    "bg_nbd": "BG/NBD",
    "pareto_nbd": "Pareto/NBD",
    "mbg_nbd": "Modified BG/NBD",
}
MIN_REPEAT_BUYERS = 20
"""Fewest repeat buyers we fit a model to: the purchase models have 4 parameters and the spend
model 3, and below ~20 repeat buyers their estimates are mostly noise."""
RETRY_PENALIZERS: tuple[float, ...] = (0.001, 0.01)
"""L2 penalties tried, in order, when a fit does not converge (lifetimes' advice: 0.001-0.1)."""
GG_CORRELATION_LIMIT = 0.3
"""|corr(frequency, spend)| above which we warn that the Gamma-Gamma independence assumption fails."""
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
DISCOUNT_STEP_DAYS = 7.0
"""Width of the calendar grid on which expected purchases are discounted (one week, any unit)."""
FREQUENCY_BUCKETS = 7
"""Conditional-expectations table: calibration frequencies 0..6 and a pooled '7+' group."""


# --------------------------------------------------------------------------------------- settings


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
        Share of revenue kept as contribution margin, 0 < margin <= 1. The default 0.30 is a
        labelled assumption (a typical retail gross margin), not a fact about the data.
    annual_discount_rate : float
        Yearly discount rate for future margin (default 10%).
    model : str or None
        'bg_nbd', 'pareto_nbd' or 'mbg_nbd' to override the holdout-based choice.
    n_bootstrap : int
        Replicates for the CLV interval (0 skips it).
    interval_method : {'parametric', 'resample'}
        How the CLV interval is drawn (see `clv_interval`): parameters from their asymptotic normal
        law (fast, default) or a customer bootstrap with refits (slower).
    random_state : int
        Seed of the bootstrap.
    """

    time_unit: str = "W"
    calibration_end: Any = None
    horizon_months: float = 12.0
    margin: float = 0.30
    annual_discount_rate: float = 0.10
    model: str | None = None
    n_bootstrap: int = 200
    interval_method: str = "parametric"
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
        if self.interval_method not in ("parametric", "resample"):
            raise DataError("The interval method is 'parametric' or 'resample'.")

    @classmethod
    def from_any(cls, settings: Any) -> ClvSettings:
        """ClvSettings as is, defaults for None, or built from an object with `period` and
        `calibration_end` attributes (the headless report's shared settings)."""
        if settings is None:
            return cls()
        if isinstance(settings, cls):
            return settings
        return cls(
            time_unit=getattr(settings, "period", getattr(settings, "time_unit", "W")),
            calibration_end=getattr(settings, "calibration_end", None),
        )

    @property
    def horizon_days(self) -> float:
        return self.horizon_months * DAYS_PER_MONTH

    def horizon_periods(self) -> float:
        """The horizon in model periods (e.g. 12 months = 52.18 weeks)."""
        return self.horizon_days / unit_days(self.time_unit)


# ---------------------------------------------------------------------------------------- triples


def _group_codes(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct rows of `columns` and the position of each group's first row."""
    frame = pd.DataFrame({str(i): c for i, c in enumerate(columns)})
    codes = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
    _, first = np.unique(codes, return_index=True)
    return codes, first


@dataclass(frozen=True)
class Triples:
    """Distinct (frequency, recency, T) triples of a summary, with counts.

    `inverse` maps each summary row to its triple. `xr_*` and `xT_*` are the distinct
    (frequency, recency) and (frequency, T) pairs of the triples, with `xr_index` / `xT_index`
    mapping each triple to its pair: the hypergeometric terms of the models depend on a pair only.
    """

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    weights: np.ndarray
    inverse: np.ndarray
    xr_index: np.ndarray
    xr_frequency: np.ndarray
    xr_recency: np.ndarray
    xT_index: np.ndarray
    xT_frequency: np.ndarray
    xT_T: np.ndarray

    @classmethod
    def from_arrays(cls, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> Triples:
        frequency = np.asarray(frequency, dtype=np.int64)
        recency = np.asarray(recency, dtype=np.float64)
        T = np.asarray(T, dtype=np.float64)
        inverse, first = _group_codes(frequency, recency, T)
        x, rec, age = frequency[first], recency[first], T[first]
        xr_index, xr_first = _group_codes(x, rec)
        xT_index, xT_first = _group_codes(x, age)
        return cls(
            frequency=x,
            recency=rec,
            T=age,
            weights=np.bincount(inverse, minlength=len(first)).astype(np.float64),
            inverse=inverse,
            xr_index=xr_index,
            xr_frequency=x[xr_first],
            xr_recency=rec[xr_first],
            xT_index=xT_index,
            xT_frequency=x[xT_first],
            xT_T=age[xT_first],
        )

    @classmethod
    def from_summary(cls, summary: pd.DataFrame) -> Triples:
        _check_summary(summary)
        return cls.from_arrays(summary["frequency"].to_numpy(), summary["recency"].to_numpy(), summary["T"].to_numpy())

    def with_weights(self, weights: np.ndarray) -> Triples:
        """The same triples with other counts (bootstrap replicates)."""
        return Triples(**{**self.__dict__, "weights": np.asarray(weights, dtype=np.float64)})

    @property
    def n_customers(self) -> float:
        return float(self.weights.sum())

    @property
    def n_repeat_buyers(self) -> float:
        return float(self.weights[self.frequency > 0].sum())


def _check_summary(summary: pd.DataFrame) -> None:
    missing = [c for c in ("frequency", "recency", "T") if c not in summary.columns]
    if missing:
        raise DataError("The customer summary lacks " + ", ".join(missing) + ".")
    if len(summary) == 0:
        raise DataError("There are no customers to model.")


def _summary_unit(summary: pd.DataFrame, time_unit: str) -> None:
    unit = summary.attrs.get("time_unit")
    if unit is not None and unit != time_unit:
        raise DataError(f"The customer summary is in {unit!r} periods but the model was set up for {time_unit!r}.")


# ------------------------------------------------------------------------- Pareto/NBD likelihood


def _pareto_pieces(tr: Triples, scale: float = 1.0) -> dict[str, np.ndarray]:
    """Arrays the Pareto/NBD likelihood needs, with time multiplied by `scale`."""
    return {
        "x": tr.frequency,
        "T": tr.T * scale,
        "xr_index": tr.xr_index,
        "xr_x": tr.xr_frequency,
        "xr_rec": tr.xr_recency * scale,
        "xT_index": tr.xT_index,
        "xT_x": tr.xT_frequency,
        "xT_T": tr.xT_T * scale,
    }


def _pareto_pair_terms(params: np.ndarray, pc: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """log(p_1 / q_1^(r+s+x)) per distinct (x, t_x) pair and log(p_2 / q_2^(r+s+x)) per distinct
    (x, T) pair, so that A_0 = exp(first) - exp(second): Fader & Hardie (2005), "A note on deriving
    the Pareto/NBD model", eqs. (19)-(20), the same algebra as lifetimes' `_log_A_0`."""
    r, alpha, s, beta = params
    if alpha < beta:
        mn, mx, t1, t2 = alpha, beta, r + pc["xr_x"], r + pc["xT_x"]
    else:
        mn, mx, t1, t2 = beta, alpha, s + 1.0, s + 1.0
    d = mx - mn
    rsf1, rsf2 = r + s + pc["xr_x"], r + s + pc["xT_x"]
    q1, q2 = mx + pc["xr_rec"], mx + pc["xT_T"]
    with np.errstate(divide="ignore", invalid="ignore"):
        l1 = np.log(hyp2f1(rsf1, t1, rsf1 + 1.0, d / q1)) - rsf1 * np.log(q1)
        l2 = np.log(hyp2f1(rsf2, t2, rsf2 + 1.0, d / q2)) - rsf2 * np.log(q2)
    return l1, l2


def _pareto_log_a0(params: np.ndarray, pc: dict[str, np.ndarray]) -> np.ndarray:
    """log A_0 per triple (note 009, eqs. (19)-(20))."""
    l1, l2 = _pareto_pair_terms(params, pc)
    a1 = l1[pc["xr_index"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        return a1 + np.log1p(-np.exp(l2[pc["xT_index"]] - a1))


def _pareto_log_likelihood(params: np.ndarray, pc: dict[str, np.ndarray]) -> np.ndarray:
    """Per-triple Pareto/NBD log-likelihood, Fader & Hardie (2005) note 009, eq. (18):

    LL = A_1 + log[ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A_0 ],
    A_1 = log Gamma(r+x) - log Gamma(r) + r log alpha + s log beta.

    Every term but the final combination is computed per distinct pair, so the per-triple work is
    a few gathers and one logaddexp.
    """
    r, alpha, s, beta = params
    l1, l2 = _pareto_pair_terms(params, pc)
    xr_x, xT_x, xT_T = pc["xr_x"], pc["xT_x"], pc["xT_T"]
    const = -gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        alive = gammaln(r + xT_x) + const - (r + xT_x) * np.log(alpha + xT_T) - s * np.log(beta + xT_T)
        died = gammaln(r + xr_x) + const + np.log(s) - np.log(r + s + xr_x) + l1
        i, j = pc["xr_index"], pc["xT_index"]
        return np.logaddexp(alive[j], died[i] + np.log1p(-np.exp(l2[j] - l1[i])))


class _PairwiseParetoNBDFitter(ParetoNBDFitter):
    """lifetimes' Pareto/NBD fitter (its Nelder-Mead optimiser, scaling and predictions) with a
    likelihood that evaluates 2F1 once per distinct pair instead of once per customer."""

    def fit_triples(
        self, tr: Triples, initial_params: np.ndarray | None, tol: float = 1e-4
    ) -> _PairwiseParetoNBDFitter:
        self._pieces = _pareto_pieces(tr, 1.0 / tr.T.max())  # lifetimes scales time so max T = 1
        w = tr.weights
        # lifetimes divides the weighted sum by mean(weights): to stop Nelder-Mead where the
        # unweighted fit stops, scale its objective tolerance the same way.
        return self.fit(
            tr.frequency,
            tr.recency,
            tr.T,
            weights=w,
            initial_params=initial_params,
            tol=tol,
            fatol=tol * len(w) / w.sum(),
            xatol=tol,
        )

    def _negative_log_likelihood(self, params, freq, rec, T, weights, penalizer_coef):
        params = np.asarray(params)
        if np.any(params <= 0.0):
            return np.inf
        ll = _pareto_log_likelihood(params, self._pieces)
        return -(weights * ll).sum() / weights.mean() + penalizer_coef * np.sum(params**2)


# ------------------------------------------------------------------------------ purchase models


def _log_hyp2f1_euler(a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log 2F1(a, b; c; z), falling back on Euler's transformation where 2F1 overflows
    (2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z)), as lifetimes does."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        direct = np.log(hyp2f1(a, b, c, z))
        alt = np.log(hyp2f1(c - a, c - b, c, z)) + (c - a - b) * np.log1p(-z)
    return np.where(np.isinf(direct), alt, direct)


class PurchaseModel:
    """Base of the repeat-purchase models (lifetimes fitters behind a small scikit-learn API).

    Parameters
    ----------
    time_unit : {'D', 'W', 'M'}
        Unit of recency and T in the summaries given to `fit` and of the rate parameter `alpha`.
    penalizer : float
        L2 penalty on the parameters (0 = plain maximum likelihood). When a fit does not converge,
        `fit` retries with the larger penalties in `RETRY_PENALIZERS` before giving up.

    Attributes (after fit)
    ----------------------
    params_ : dict[str, float]
        Fitted parameters; `alpha` (and Pareto/NBD `beta`) in `time_unit` periods.
    log_likelihood_ : float
        Total log-likelihood of the data at `params_` (time measured in `time_unit`).
    penalizer_ : float
        The penalty the accepted fit used.
    n_customers_, n_repeat_buyers_, n_triples_ : int
        Customers, customers with frequency > 0, and distinct (frequency, recency, T) triples.
    time_unit_ : str
    notes_ : list[str]
        Plain-word remarks about the fit (e.g. a penalty was needed).
    fitter_ : the fitted lifetimes object.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    param_names: ClassVar[tuple[str, ...]] = ()
    _fitter_class: ClassVar[type] = object

    def __init__(self, *, time_unit: str = "W", penalizer: float = 0.0) -> None:
        self.time_unit = time_unit
        self.penalizer = penalizer

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, summary: pd.DataFrame) -> PurchaseModel:
        """Fit to a per-customer summary (`analytics.models.btyd.summarize_customers`). Returns self."""
        unit_days(self.time_unit)
        _summary_unit(summary, self.time_unit)
        return self.fit_triples(Triples.from_summary(summary))

    def fit_triples(self, tr: Triples, *, initial: np.ndarray | None = None, retry: bool = True) -> PurchaseModel:
        """Fit to distinct triples with counts. `initial` warm-starts the optimiser (fitter space)."""
        if tr.n_repeat_buyers < MIN_REPEAT_BUYERS:
            raise DataError(
                f"Only {tr.n_repeat_buyers:,.0f} of {tr.n_customers:,.0f} customers bought again after "
                f"their first purchase. The {self.label} model learns from repeat purchases and needs "
                f"at least {MIN_REPEAT_BUYERS} repeat buyers: use a longer purchase history (or a "
                "later calibration end)."
            )
        penalties = [self.penalizer] + ([p for p in RETRY_PENALIZERS if p > self.penalizer] if retry else [])
        problems: list[str] = []
        for penalty in penalties:
            try:
                with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    fitter = self._run(tr, penalty, initial)
                params = {k: float(fitter.params_[k]) for k in self.param_names}
                if not all(math.isfinite(v) and 0 < v < 1e10 for v in params.values()):
                    raise ConvergenceError("parameters went to 0 or infinity")
                self.params_ = params
                ll = self._log_likelihood(tr)
                if not math.isfinite(ll):
                    raise ConvergenceError("the likelihood is not finite at the solution")
            except (ConvergenceError, ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
                problems.append(f"penalty {penalty:g}: {str(exc).strip() or type(exc).__name__}")
                continue
            # lifetimes stores a lambda (`generate_new_data`) on the fitter, which makes the fit
            # unpicklable and so uncacheable (st.cache_data pickles results); nothing here uses it.
            vars(fitter).pop("generate_new_data", None)
            self.fitter_ = fitter
            self.log_likelihood_ = ll
            self.penalizer_ = penalty
            self.time_unit_ = self.time_unit
            self.n_customers_ = int(round(tr.n_customers))
            self.n_repeat_buyers_ = int(round(tr.n_repeat_buyers))
            self.n_triples_ = int((tr.weights > 0).sum())
            self.notes_ = []
            if penalty > 0 and penalty != self.penalizer:
                self.notes_.append(
                    f"The {self.label} fit did not converge as plain maximum likelihood; it converged "
                    f"with a small L2 penalty ({penalty:g}), which shrinks the parameters slightly."
                )
            return self
        raise DataError(
            f"The {self.label} model did not converge on this data, even with a regularising penalty "
            f"(tried {', '.join(f'{p:g}' for p in penalties)}). This usually means very few repeat "
            "purchases or a few extreme buyers; check the data or use another model. Details: " + "; ".join(problems)
        )

    def _refit(self, tr: Triples) -> PurchaseModel:
        """A new model fitted to reweighted triples, warm-started here, same penalty, no retries."""
        other = type(self)(time_unit=self.time_unit, penalizer=self.penalizer_)
        return other.fit_triples(tr, initial=self._initial_point(tr), retry=False)

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit() first.")

    # -- model-specific pieces -------------------------------------------------------------
    def _run(self, tr: Triples, penalty: float, initial: np.ndarray | None):  # pragma: no cover
        raise NotImplementedError

    def _initial_point(self, tr: Triples) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _log_likelihood(self, tr: Triples, params: np.ndarray | None = None) -> float:  # pragma: no cover
        """Total log-likelihood of the triples at `params` (vector in `param_names` order)."""
        raise NotImplementedError

    def _params(self) -> np.ndarray:
        return np.array([self.params_[k] for k in self.param_names])

    def _with_params(self, params: np.ndarray) -> PurchaseModel:
        """A copy of this fitted model with other parameter values (for uncertainty draws)."""
        other = copy.copy(self)
        other.params_ = dict(zip(self.param_names, map(float, params)))
        return other

    def _scale_and_curve(self, tr: Triples, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Factorised conditional expectation: E[X(t_j) | x, t_x, T] = A[i] * C[pair(i), j], with
        A per triple and C per distinct (frequency, T) pair, C(0) = 0."""
        raise NotImplementedError  # pragma: no cover

    def _p_alive(self, tr: Triples) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def expected_purchases_new_customer(self, t: np.ndarray | float) -> np.ndarray:
        """Expected repeat purchases in the first `t` periods of a new customer (unconditional)."""
        self._check_fitted()
        t = np.asarray(t, dtype=np.float64)
        out = np.zeros_like(t)
        pos = t > 0
        fitter = self._fitter_class()  # lifetimes' formula at this object's parameters
        fitter.params_ = pd.Series(self.params_)
        with np.errstate(all="ignore"):
            out[pos] = fitter.expected_number_of_purchases_up_to_time(t[pos])
        return out

    # -- predictions on triples ------------------------------------------------------------
    def expected_purchases_triples(self, tr: Triples, t: float) -> np.ndarray:
        """Conditional expected repeat purchases in the next `t` periods, per triple."""
        self._check_fitted()
        a, c = self._scale_and_curve(tr, np.array([float(t)]))
        return a * c[tr.xT_index, 0]

    def discounted_purchases_triples(
        self, tr: Triples, *, horizon: float, annual_discount_rate: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Discounted expected transactions (DET) and expected transactions over `horizon`
        periods, per triple.

        DET = integral over (0, horizon] of exp(-delta u) dE[X(u) | x, t_x, T], delta =
        ln(1 + annual rate) per year: the discounted expected transactions of Fader, Hardie & Lee
        (2005), "RFM and CLV: using iso-value curves", JMR 42(4), eq. (2), truncated at the
        horizon. The integral is taken with the midpoint rule on a weekly calendar grid (error of
        order (delta * week)^2 ~ 1e-7), so it is the same in any time unit.
        """
        self._check_fitted()
        step = DISCOUNT_STEP_DAYS / unit_days(self.time_unit)
        n = max(1, math.ceil(horizon / step - 1e-9))
        edges = np.minimum(np.arange(n + 1) * step, horizon)
        mid_years = 0.5 * (edges[1:] + edges[:-1]) * unit_days(self.time_unit) / DAYS_PER_YEAR
        discount = np.exp(-math.log1p(annual_discount_rate) * mid_years)
        a, c = self._scale_and_curve(tr, edges[1:])
        increments = np.diff(np.concatenate([np.zeros((c.shape[0], 1)), c], axis=1), axis=1)
        det_pairs = increments @ discount
        return a * det_pairs[tr.xT_index], a * c[tr.xT_index, -1]

    # -- predictions on a summary ----------------------------------------------------------
    def predict(self, summary: pd.DataFrame, *, periods: float) -> np.ndarray:
        """Conditional expected repeat purchases in the next `periods` (time unit), per customer."""
        tr = Triples.from_summary(summary)
        return self.expected_purchases_triples(tr, periods)[tr.inverse]

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """Probability each customer is still active ("alive") at the end of their T."""
        self._check_fitted()
        tr = Triples.from_summary(summary)
        return self._p_alive(tr)[tr.inverse]

    def p_alive_grid(self, *, T: float, max_frequency: int, n_recency: int = 40) -> pd.DataFrame:
        """P(alive) for a customer of age `T` over frequency 0..max_frequency x recency in [0, T].

        Returns a long frame with columns frequency, recency (time unit), p_alive. Recency is only
        meaningful for frequency > 0; frequency-0 rows carry recency 0.
        """
        self._check_fitted()
        rec = np.linspace(0.0, float(T), n_recency)
        x = np.arange(1, int(max_frequency) + 1)
        xx, rr = np.meshgrid(x, rec, indexing="ij")
        f = np.concatenate([[0], xx.ravel()])
        r = np.concatenate([[0.0], rr.ravel()])
        tr = Triples.from_arrays(f, r, np.full(len(f), float(T)))
        return pd.DataFrame({"frequency": f, "recency": r, "p_alive": self._p_alive(tr)[tr.inverse]})


class BetaGeo(PurchaseModel):
    """BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing
    Science 24(2)): Poisson purchasing at a gamma(r, alpha)-distributed rate; after each repeat
    purchase the customer drops out with a beta(a, b)-distributed probability."""

    name = "bg_nbd"
    label = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")
    _fitter_class = BetaGeoFitter

    def _run(self, tr, penalty, initial):
        return self._fitter_class(penalizer_coef=penalty).fit(
            tr.frequency, tr.recency, tr.T, weights=tr.weights, initial_params=initial
        )

    def _initial_point(self, tr):
        p = self.params_
        return np.log([p["r"], p["alpha"] / tr.T.max(), p["a"], p["b"]])

    def _log_likelihood(self, tr, params=None):
        log_params = np.log(self._params() if params is None else params)
        nll = self._fitter_class._negative_log_likelihood(log_params, tr.frequency, tr.recency, tr.T, tr.weights, 0.0)
        return float(-nll * tr.weights.sum())

    def _scale_and_curve(self, tr, t):
        # FHL (2005) eq. (10)
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        x, rec, age = tr.frequency, tr.recency, tr.T
        with np.errstate(all="ignore"):
            odds = np.where(x > 0, a / (b + np.maximum(x, 1) - 1) * ((alpha + age) / (alpha + rec)) ** (r + x), 0.0)
            scale = (a + b + x - 1) / (1 + odds)
        return scale, self._curve(tr.xT_frequency[:, None], tr.xT_T[:, None], t[None, :], b + 0.0)

    def _curve(self, x, age, t, b_shift):
        """[1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b'+x; a+b'+x-1; t/(alpha+T+t))] / (a - 1).

        At a = 1 numerator and denominator both vanish (the expectation is finite): within 1e-4 of
        it we average the values at a = 1 -/+ 1e-4, which is exact to O(1e-8)."""
        r, alpha, a, _ = (self.params_[k] for k in self.param_names)

        def at(a_: float) -> np.ndarray:
            z = t / (alpha + age + t)
            with np.errstate(all="ignore"):
                log_hyp = _log_hyp2f1_euler(r + x, b_shift + x, a_ + b_shift + x - 1, z)
                return -np.expm1(log_hyp + (r + x) * np.log((alpha + age) / (alpha + t + age))) / (a_ - 1)

        h = 1e-4
        return 0.5 * (at(1 - h) + at(1 + h)) if abs(a - 1) < h else at(a)

    def _p_alive(self, tr):
        # Fader, Hardie & Lee (2008), "Computing P(alive) using the BG/NBD model", note 021
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        x = tr.frequency
        odds = a / (b + np.maximum(x, 1) - 1) * ((alpha + tr.T) / (alpha + tr.recency)) ** (r + x)
        return np.where(x > 0, 1.0 / (1.0 + odds), 1.0)


class ModifiedBetaGeo(BetaGeo):
    """Modified BG/NBD (Batislam, Denizel & Filiztekin 2007, IJRM 24(3)): like BG/NBD, but the
    customer may also drop out right after the first purchase, so zero-repeat customers can be dead."""

    name = "mbg_nbd"
    label = "Modified BG/NBD"
    _fitter_class = ModifiedBetaGeoFitter

    def _scale_and_curve(self, tr, t):
        # Wagner & Hoppe (2008) conditional expectation for the MBG/NBD, as in lifetimes
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        x, rec, age = tr.frequency, tr.recency, tr.T
        with np.errstate(all="ignore"):
            scale = (a + b + x) / (1 + a / (b + x) * ((alpha + age) / (alpha + rec)) ** (r + x))
        return scale, self._curve(tr.xT_frequency[:, None], tr.xT_T[:, None], t[None, :], b + 1.0)

    def _p_alive(self, tr):
        # Batislam et al. (2007), appendix A, eq. (5)
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        x = tr.frequency
        return 1.0 / (1.0 + a / (b + x) * ((alpha + tr.T) / (alpha + tr.recency)) ** (r + x))


class ParetoNBD(PurchaseModel):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987, Management Science 33(1)): Poisson
    purchasing at a gamma(r, alpha) rate, exponential lifetimes with a gamma(s, beta) dropout rate."""

    name = "pareto_nbd"
    label = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")
    _fitter_class = ParetoNBDFitter

    def _run(self, tr, penalty, initial):
        start = np.ones(4) if initial is None else initial
        return _PairwiseParetoNBDFitter(penalizer_coef=penalty).fit_triples(tr, start)

    def _initial_point(self, tr):
        p, scale = self.params_, 1.0 / tr.T.max()
        return np.array([p["r"], p["alpha"] * scale, p["s"], p["beta"] * scale])

    def _log_likelihood(self, tr, params=None):
        ll = _pareto_log_likelihood(self._params() if params is None else params, _pareto_pieces(tr))
        return float((tr.weights * ll).sum())

    def _scale_and_curve(self, tr, t):
        # Fader & Hardie (2005), note 009, eq. (41)
        r, alpha, s, beta = self._params()
        x, age = tr.frequency, tr.T
        with np.errstate(all="ignore"):
            log_scale = (
                gammaln(r + x)
                - gammaln(r)
                + r * np.log(alpha)
                + s * np.log(beta)
                - (r + x) * np.log(alpha + age)
                - s * np.log(beta + age)
                + np.log(r + x)
                + np.log(beta + age)
                - np.log(alpha + age)
                - _pareto_log_likelihood(self._params(), _pareto_pieces(tr))
            )
            # (1 - ((beta+T)/(beta+T+t))^(s-1)) / (s-1), -> log(1 + t/(beta+T)) as s -> 1
            log_ratio = -np.log1p(t[None, :] / (tr.xT_T[:, None] + beta))
            curve = -log_ratio if s == 1.0 else -np.expm1((s - 1) * log_ratio) / (s - 1)
        return np.exp(log_scale), curve

    def _p_alive(self, tr):
        # Fader & Hardie (2005), note 009, eqs. (36)-(37)
        r, alpha, s, beta = self._params()
        x = tr.frequency
        log_a0 = _pareto_log_a0(self._params(), _pareto_pieces(tr))
        with np.errstate(all="ignore"):
            odds = np.exp(
                np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + tr.T) + s * np.log(beta + tr.T) + log_a0
            )
        return 1.0 / (1.0 + odds)


MODELS: dict[str, type[PurchaseModel]] = {"bg_nbd": BetaGeo, "pareto_nbd": ParetoNBD, "mbg_nbd": ModifiedBetaGeo}


def make_model(name: str, *, time_unit: str = "W", penalizer: float = 0.0) -> PurchaseModel:
    """A purchase model by name ('bg_nbd', 'pareto_nbd', 'mbg_nbd')."""
    if name not in MODELS:
        raise DataError(f"Unknown model {name!r}: choose one of {', '.join(MODEL_NAMES)}.")
    return MODELS[name](time_unit=time_unit, penalizer=penalizer)


# ------------------------------------------------------------------------------------ spend model


class GammaGamma:
    """Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005, "RFM and CLV", JMR;
    Fader & Hardie 2013, note 025): a customer's purchases are gamma(p, nu) with nu ~ gamma(q, v),
    independent of how often they buy. Fitted on repeat buyers' mean repeat spend (currency).

    Attributes (after fit): params_ {'p', 'q', 'v'}, log_likelihood_, n_customers_, penalizer_,
    population_mean_ (= v p / (q - 1), currency per purchase), fitter_.
    """

    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    @staticmethod
    def _repeat_buyers(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        for col in ("frequency", "monetary_value"):
            if col not in summary.columns:
                raise DataError(f"The customer summary lacks {col}.")
        x = summary["frequency"].to_numpy()
        m = summary["monetary_value"].to_numpy(dtype=np.float64)
        keep = x > 0
        return x[keep].astype(np.float64), m[keep]

    def fit(self, summary: pd.DataFrame, *, weights: np.ndarray | None = None) -> GammaGamma:
        """Fit to the repeat buyers (frequency > 0) of a summary. Returns self.

        `weights` (per summary row, optional) are customer counts, e.g. from a bootstrap.
        """
        x, m = self._repeat_buyers(summary)
        w = (
            np.ones(len(x))
            if weights is None
            else np.asarray(weights, dtype=np.float64)[summary["frequency"].to_numpy() > 0]
        )
        return self._fit_arrays(x, m, w)

    def _fit_arrays(
        self, x: np.ndarray, m: np.ndarray, w: np.ndarray, initial: np.ndarray | None = None, retry: bool = True
    ) -> GammaGamma:
        if w.sum() < MIN_REPEAT_BUYERS:
            raise DataError(
                f"Only {w.sum():,.0f} customers bought more than once; the spend model needs at least "
                f"{MIN_REPEAT_BUYERS} repeat buyers to learn how spend varies between customers."
            )
        keep = w > 0  # zero-weight rows (left out, or not drawn in a bootstrap) play no part
        x, m, w = x[keep], m[keep], w[keep]
        bad = ~np.isfinite(m) | (m <= 0)
        if bad.any():
            raise DataError(
                f"{int(bad.sum()):,} repeat buyer(s) have an average repeat spend of zero or "
                "less. The spend model needs positive spend per purchase: remove free orders or net "
                "refunds into the orders they belong to."
            )
        problems = []
        for penalty in [self.penalizer] + ([p for p in RETRY_PENALIZERS if p > self.penalizer] if retry else []):
            try:
                with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    fitter = GammaGammaFitter(penalizer_coef=penalty).fit(x, m, weights=w, initial_params=initial)
                params = {k: float(fitter.params_[k]) for k in self.param_names}
                if not all(math.isfinite(v) and 0 < v < 1e10 for v in params.values()):
                    raise ConvergenceError("parameters went to 0 or infinity")
            except (ConvergenceError, ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
                problems.append(f"penalty {penalty:g}: {str(exc).strip() or type(exc).__name__}")
                continue
            if params["q"] <= 1:
                raise DataError(
                    "Spend per purchase is so heavy-tailed (a few huge orders) that the spend model "
                    f"finds no finite average (q = {params['q']:.2f} <= 1); check for outliers or "
                    "wrongly scaled amounts."
                )
            self.fitter_, self.params_, self.penalizer_ = fitter, params, penalty
            nll = GammaGammaFitter._negative_log_likelihood(np.log(list(params.values())), x, m, w, 0.0)
            self.log_likelihood_ = float(-nll * w.sum())
            self.n_customers_ = int(round(w.sum()))
            self.population_mean_ = params["v"] * params["p"] / (params["q"] - 1)
            return self
        raise DataError(
            "The spend (Gamma-Gamma) model did not converge even with a regularising penalty. "
            "Details: " + "; ".join(problems)
        )

    def expected_spend_per_purchase(self, frequency: np.ndarray, monetary_value: np.ndarray) -> np.ndarray:
        """Expected spend per future purchase (currency): a credibility-weighted mix of the
        customer's own mean repeat spend and the population mean (note 025, eq. (5))."""
        if not hasattr(self, "params_"):
            raise RuntimeError("GammaGamma is not fitted yet: call fit() first.")
        p, q, v = (self.params_[k] for k in self.param_names)
        x = np.asarray(frequency, dtype=np.float64)
        m = np.where(x > 0, np.asarray(monetary_value, dtype=np.float64), 0.0)
        weight = p * x / (p * x + q - 1)
        return (1 - weight) * (v * p / (q - 1)) + weight * m


@dataclass(frozen=True)
class GammaGammaCheck:
    """Gamma-Gamma assumption: spend per purchase is independent of purchase frequency."""

    correlation: float | None
    n_repeat_buyers: int
    ok: bool
    message: str


def gamma_gamma_check(summary: pd.DataFrame) -> GammaGammaCheck:
    """Pearson correlation of frequency and mean repeat spend among repeat buyers, in plain words."""
    x, m = GammaGamma._repeat_buyers(summary)
    if len(x) < 3 or np.std(x) == 0 or np.std(m) == 0:
        return GammaGammaCheck(
            None,
            len(x),
            True,
            "Too little variation among repeat buyers to check whether spend depends on purchase frequency.",
        )
    corr = float(np.corrcoef(x, m)[0, 1])
    if abs(corr) > GG_CORRELATION_LIMIT:
        direction = "more" if corr > 0 else "less"
        return GammaGammaCheck(
            corr,
            len(x),
            False,
            f"Frequent buyers spend {direction} per purchase than occasional ones (correlation "
            f"{corr:.2f}). The spend model assumes the two are unrelated, so expected spend and CLV "
            "are biased for the most and least frequent buyers: use the CLV ranking with care.",
        )
    return GammaGammaCheck(
        corr,
        len(x),
        True,
        f"How often customers buy and how much they spend per purchase are nearly unrelated "
        f"(correlation {corr:.2f}), as the spend model assumes.",
    )


# -------------------------------------------------------------------------- holdout comparison


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
    too. Raises DataError when no model can be fitted.
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


def conditional_expectations(comparison: HoldoutComparison) -> pd.DataFrame:
    """Mean holdout repeat purchases per customer by calibration frequency 0..6 and 7+ (pooled).

    Columns: frequency_group ('0'..'6', '7+'), customers, actual, and one column per model
    (predicted mean per customer). Unlike lifetimes' plot, the 7+ group is pooled, not dropped.
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


# ---------------------------------------------------------------------------- customer values


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


def _log_hessian(loglik: Any, log_theta: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Central-difference Hessian of `loglik` (a function of log-parameters) at `log_theta`."""
    k = len(log_theta)
    out = np.empty((k, k))
    step = np.eye(k) * h
    for i in range(k):
        for j in range(i, k):
            f = [loglik(log_theta + si * step[i] + sj * step[j]) for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
            out[i, j] = out[j, i] = (f[0] - f[1] - f[2] + f[3]) / (4 * h * h)
    return out


def _normal_draws(loglik: Any, theta: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray | None:
    """Draws of the parameters from the asymptotic normal law of the maximum-likelihood estimate on
    the log scale: N(log theta, inverse observed information). None when the information matrix is
    not positive definite (the estimate sits on a flat ridge or a boundary)."""
    log_theta = np.log(theta)
    try:
        with np.errstate(all="ignore"):
            info = -_log_hessian(loglik, log_theta)
        chol = np.linalg.cholesky(np.linalg.inv(info))
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(chol)):
        return None
    return np.exp(log_theta + rng.standard_normal((n, len(theta))) @ chol.T)


def _gg_loglik(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> Any:
    def loglik(log_params: np.ndarray) -> float:
        return float(-GammaGammaFitter._negative_log_likelihood(log_params, x, m, w, 0.0) * w.sum())

    return loglik


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

    'parametric' (default, fast): parametric bootstrap. Purchase and spend parameters are drawn from
        the asymptotic normal law of their maximum-likelihood estimates on the log scale (covariance
        = inverse observed information, by finite differences of the log-likelihood).
    'resample': customer bootstrap. Each replicate resamples customers with replacement (a
        multinomial draw of counts), refits both models on the reweighted distinct triples
        (warm-started) and values today's customers with the refitted parameters. Slower, no
        normal approximation; the tests check the two agree on CDNOW.

    Either way the customers valued are today's customers; only the parameters vary.

    Returns
    -------
    dict with total (lo, hi), mean (lo, hi) (None when too few replicates succeeded), level,
    replicates (successful), failed, method.
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
        det, _ = model_b.discounted_purchases_triples(
            tr, horizon=horizon, annual_discount_rate=settings.annual_discount_rate
        )
        total = float((settings.margin * spend_b.expected_spend_per_purchase(x, m) * det[tr.inverse]).sum())
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


# --------------------------------------------------------------------------------- the pipeline


@dataclass
class ClvAnalysis:
    """Everything the lifetime-value page and report show (see `analyse_clv`)."""

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
    """
    settings = ClvSettings() if settings is None else settings
    split = calibration_holdout_split(
        transactions, calibration_end=settings.calibration_end, time_unit=settings.time_unit
    )
    comparison = compare_models(split)
    notes = [m for model in comparison.models.values() for m in model.notes_]
    notes += [f"{MODEL_LABELS[k]} could not be fitted: {v}" for k, v in comparison.failures.items()]
    if settings.model is not None:
        selected, reason = settings.model, "chosen by the user"
        if selected in comparison.failures:
            raise DataError(comparison.failures[selected])
    else:
        selected, reason = comparison.best, "lowest holdout error (per-customer RMSE)"
    summary = summarize_customers(transactions, observation_end=split.holdout_end, time_unit=settings.time_unit)
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


def _clean(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN/inf to None, tuples to lists, dates to ISO."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return value


def report_section(data: CustomerData, settings: Any = None) -> dict:
    """The `clv` section of the headless report (keys are a stable contract).

    Keys: time_unit, calibration_end, holdout_end, observation_end, models.<bg_nbd|pareto_nbd|
    mbg_nbd>.{params, log_likelihood, holdout: {actual, predicted}, holdout_rmse, penalizer} (or
    {error} when a model cannot be fitted), gamma_gamma.{params, log_likelihood,
    frequency_spend_correlation, assumption_ok, assumption_note}, selected, selection_reason,
    final_params (chosen model refitted on the whole history), horizon_months, margin,
    annual_discount_rate, n_customers, total_clv, mean_clv, clv_interval_90 {total, mean} (currency),
    expected_purchases_total, expected_spend_total, historic_value_total, mean_p_alive, notes.
    """
    if not data.has_transactions:
        raise DataError(
            "Lifetime value from purchase behaviour needs a purchase log (transactions); this data "
            "has none. For subscription data see the retention (sBG) section."
        )
    s = ClvSettings.from_any(settings)
    a = analyse_clv(data.transactions, s)
    cmp_ = a.comparison
    models: dict[str, Any] = {}
    for name in MODEL_NAMES:
        if name in cmp_.models:
            mdl = cmp_.models[name]
            row = cmp_.metrics.loc[name]
            models[name] = {
                "params": mdl.params_,
                "log_likelihood": mdl.log_likelihood_,
                "holdout": {"actual": row["actual"], "predicted": row["predicted"]},
                "holdout_rmse": row["rmse"],
                "penalizer": mdl.penalizer_,
            }
        elif name in cmp_.failures:
            models[name] = {"error": cmp_.failures[name]}
    c = a.customers
    return _clean(
        {
            "time_unit": s.time_unit,
            "calibration_end": cmp_.split.calibration_end,
            "holdout_end": cmp_.split.holdout_end,
            "observation_end": a.observation_end,
            "models": models,
            "gamma_gamma": {
                "params": a.spend_model.params_,
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
            "expected_spend_total": float(c["expected_spend"].sum()),
            "historic_value_total": float(c["historic_value"].sum()) if "historic_value" in c else None,
            "mean_p_alive": float(c["p_alive"].mean()),
            "notes": a.notes + ([] if a.gg_check.ok else [a.gg_check.message]),
        }
    )


__all__ = [
    "BetaGeo",
    "ClvAnalysis",
    "ClvSettings",
    "GammaGamma",
    "GammaGammaCheck",
    "HoldoutComparison",
    "MODEL_NAMES",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "PurchaseModel",
    "Triples",
    "analyse_clv",
    "clv_interval",
    "compare_models",
    "conditional_expectations",
    "cumulative_tracking",
    "customer_values",
    "gamma_gamma_check",
    "make_model",
    "report_section",
]
