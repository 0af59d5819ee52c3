"""Purchase models (buy-till-you-die): BG/NBD, Pareto/NBD and modified BG/NBD on distinct triples.

Every model depends on a customer only through (frequency, recency, T), so fits and predictions run
on the distinct triples (`Triples`) with their counts as lifetimes `weights`; the Pareto/NBD
likelihood is further evaluated once per distinct (frequency, recency) and (frequency, T) pair.
Model time is in `time_unit` periods ('D', 'W' or 'M'); the parameters depend on it (`time_unit_`).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import gammaln, hyp2f1

from analytics.data.periods import DAYS_PER_YEAR
from analytics.data.schema import DataError
from analytics.models.btyd import MODEL_LABELS as MODEL_LABELS  # re-exported: defined once in btyd
from analytics.models.btyd import MODEL_NAMES as MODEL_NAMES
from analytics.models.btyd import unit_days
from analytics.models.interval import log_covariance
from analytics.models.likelihood import (
    LIFETIMES_START,
    PARETO_MAXITER,
    PARETO_PRECISION_GRADIENT,
    PARETO_TOL,
    FitFailed,
    Objective,
    ParetoPairs,
    PurchaseRows,
    bg_nbd_log_likelihood,
    bg_nbd_rows_objective,
    fit_bfgs,
    hessian_from_gradient,
    mbg_nbd_log_likelihood,
    mbg_nbd_rows_objective,
    pareto_nbd_guarded_objective,
    pareto_nbd_objective,
    pareto_pair_terms,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import lifetimes.fitters as lifetimes_fitters
    import lifetimes.fitters.pareto_nbd_fitter as lifetimes_pareto
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    from lifetimes.utils import ConvergenceError

logger = logging.getLogger(__name__)


def _log_lifetimes_print(*values: object, **_: object) -> None:
    """Stands in for `print` inside lifetimes: its text goes to this module's log (debug level)."""
    logger.debug("lifetimes: %s", " ".join(str(v) for v in values))


# lifetimes prints the optimiser's result when a fit does not converge (and then raises
# ConvergenceError, which the fits below handle). Its modules' `print` is pointed at our log, so
# nothing swaps sys.stdout, which would be process-wide in a multithreaded server.
lifetimes_fitters.print = _log_lifetimes_print
lifetimes_pareto.print = _log_lifetimes_print


# MODEL_NAMES and MODEL_LABELS are defined once in analytics.models.btyd (no lifetimes import there, so
# the customer-value module can name a model without loading the fitters) and re-exported here.


MIN_REPEAT_BUYERS = 20
"""Fewest repeat buyers we fit a model to: the purchase models have 4 parameters and the spend
model 3, and below ~20 repeat buyers their estimates are mostly noise."""


RETRY_PENALIZERS: tuple[float, ...] = (0.001, 0.01)
"""L2 penalties tried, in order, when a fit does not converge (lifetimes' advice: 0.001-0.1)."""


DISCOUNT_STEP_DAYS = 7.0
"""Width of the calendar grid on which expected purchases are discounted (one week, any unit)."""


def _group_codes(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct rows of `columns` and the position of each group's first row."""
    frame = pd.DataFrame({str(i): c for i, c in enumerate(columns)})
    codes = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
    _, first = np.unique(codes, return_index=True)
    return codes, first


@dataclass(frozen=True)
class Triples:
    """Distinct (frequency, recency, T) triples of a summary, with counts.

    The hypergeometric terms of the models depend on a (frequency, recency) or (frequency, T) pair
    only, so they are computed once per pair.

    Attributes
    ----------
    frequency, recency, T : np.ndarray
        The distinct triples.
    weights : np.ndarray
        Customers per triple.
    inverse : np.ndarray
        Maps each summary row to its triple.
    xr_index, xr_frequency, xr_recency : np.ndarray
        The distinct (frequency, recency) pairs and each triple's pair.
    xT_index, xT_frequency, xT_T : np.ndarray
        The distinct (frequency, T) pairs and each triple's pair.
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
        """The distinct triples of per-customer arrays, with counts.

        Parameters
        ----------
        frequency, recency, T : np.ndarray
            One value per customer (BTYD meaning, in the time unit).

        Returns
        -------
        Triples
            The distinct triples.
        """
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
        """The distinct triples of a per-customer summary, with counts.

        Parameters
        ----------
        summary : pd.DataFrame
            `summarize_customers` output (frequency, recency, T, monetary_value).

        Returns
        -------
        Triples
            The distinct triples.
        """
        _check_summary(summary)
        return cls.from_arrays(summary["frequency"].to_numpy(), summary["recency"].to_numpy(), summary["T"].to_numpy())

    def with_weights(self, weights: np.ndarray) -> Triples:
        """The same triples with other counts (bootstrap replicates).

        Parameters
        ----------
        weights : np.ndarray
            Customers per triple.

        Returns
        -------
        Triples
            A copy with those counts.
        """
        weights = np.asarray(weights, dtype=np.float64)
        other = Triples(**{f.name: getattr(self, f.name) for f in fields(self) if f.name != "weights"}, weights=weights)
        if "_rows" in self.__dict__:  # the same grouping, other weights
            other.__dict__["_rows"] = replace(self._rows, weights=weights)
        return other

    @functools.cached_property
    def _rows(self) -> PurchaseRows:
        return PurchaseRows.from_arrays(self.frequency, self.recency, self.T, self.weights)

    def purchase_rows(self, scale: float = 1.0) -> PurchaseRows:
        """The triples as the BG likelihoods' rows (grouped once per Triples), time multiplied by `scale`.

        Parameters
        ----------
        scale : float, default 1
            lifetimes fits with time scaled so that max T = 1.

        Returns
        -------
        PurchaseRows
        """
        return self._rows if scale == 1.0 else self._rows.scaled(scale)

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


def _pareto_pieces(tr: Triples, scale: float = 1.0) -> ParetoPairs:
    """Arrays the Pareto/NBD likelihood needs, with time multiplied by `scale`."""
    return ParetoPairs(
        x=tr.frequency,
        T=tr.T * scale,
        weights=tr.weights,
        xr_index=tr.xr_index,
        xT_index=tr.xT_index,
        xr_x=tr.xr_frequency,
        xr_rec=tr.xr_recency * scale,
        xT_x=tr.xT_frequency,
        xT_T=tr.xT_T * scale,
    )


def _pareto_log_a0(params: np.ndarray, pc: ParetoPairs) -> np.ndarray:
    """log A_0 per triple (note 009, eqs. (19)-(20))."""
    l1, l2 = pareto_pair_terms(params, pc)
    a1 = l1[pc.xr_index]
    with np.errstate(divide="ignore", invalid="ignore"):
        return a1 + np.log1p(-np.exp(l2[pc.xT_index] - a1))


def _predictable(params: np.ndarray, pc: ParetoPairs) -> bool:
    """True when the value-only log-likelihood at `params` is finite for every triple.

    BFGS evaluates the 2F1 terms with their gradient, which falls back on the quadrature wherever
    scipy's series overflows; value-only evaluations (P(alive), predictions, Nelder-Mead) keep
    scipy's result there (`analytics.models.likelihood.PARETO_QUADRATURE_VALUE_MAX_RHO`). A BFGS
    optimum where the two differ would give NaN P(alive): such a fit goes to Nelder-Mead instead.
    """
    with np.errstate(all="ignore"):
        return bool(np.isfinite(_pareto_log_likelihood(params, pc)).all())


def _pareto_log_likelihood(params: np.ndarray, pc: ParetoPairs) -> np.ndarray:
    """Per-triple Pareto/NBD log-likelihood, Fader & Hardie (2005) note 009, eq. (18):

    LL = A_1 + log[ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A_0 ],
    A_1 = log Gamma(r+x) - log Gamma(r) + r log alpha + s log beta.

    Every term but the final combination is computed per distinct pair, so the per-triple work is
    a few gathers and one logaddexp.
    """
    r, alpha, s, beta = params
    l1, l2 = pareto_pair_terms(params, pc)
    xr_x, xT_x, xT_T = pc.xr_x, pc.xT_x, pc.xT_T
    const = -gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        alive = gammaln(r + xT_x) + const - (r + xT_x) * np.log(alpha + xT_T) - s * np.log(beta + xT_T)
        died = gammaln(r + xr_x) + const + np.log(s) - np.log(r + s + xr_x) + l1
        i, j = pc.xr_index, pc.xT_index
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
        total = -(weights * ll).sum() / weights.mean() + penalizer_coef * np.sum(params**2)
        # Where 2F1 overflows in both forms the log-likelihood reads +inf (or NaN): not a better fit
        # but a point the formula cannot evaluate. Refused like a non-positive parameter, or
        # Nelder-Mead chases it until its iteration limit (minutes on a 10,000-customer log).
        return total if np.isfinite(total) else np.inf


def _log_hyp2f1_euler(a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log 2F1(a, b; c; z), falling back on Euler's transformation where 2F1 overflows
    (2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z)), as lifetimes does."""
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.array(np.log(hyp2f1(a, b, c, z)), dtype=np.float64)
        overflow = np.isinf(out)
        if overflow.any():  # the second form only where the first one overflows (few cells)
            a, b, c, z = a[overflow], b[overflow], c[overflow], z[overflow]
            out[overflow] = np.log(hyp2f1(c - a, c - b, c, z)) + (c - a - b) * np.log1p(-z)
    return out


def _lifetimes_fitter(fitter, theta: np.ndarray, scale: float, tr: Triples):
    """A lifetimes fitter holding parameters fitted here (for code that wants lifetimes' own methods).

    `theta` are the log-parameters in lifetimes' order and scaled time (max T = 1); the rates are
    brought back to the model's time unit as lifetimes does.
    """
    names = ("r", "alpha", "s", "beta") if isinstance(fitter, ParetoNBDFitter) else ("r", "alpha", "a", "b")
    params = pd.Series(np.exp(theta), index=list(names))
    params[["alpha", "beta"] if names[2] == "s" else ["alpha"]] /= scale
    fitter.params_ = params
    fitter._scale = scale
    fitter.data = pd.DataFrame({"frequency": tr.frequency, "recency": tr.recency, "T": tr.T, "weights": tr.weights})
    fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time
    return fitter


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
        """Fit to a per-customer summary by maximum likelihood.

        Parameters
        ----------
        summary : pd.DataFrame
            `summarize_customers` output (frequency, recency, T, monetary_value).

        Returns
        -------
        PurchaseModel
            self, fitted (`params_`, `log_likelihood_`, ...).
        """
        unit_days(self.time_unit)
        _summary_unit(summary, self.time_unit)
        return self.fit_triples(Triples.from_summary(summary))

    def fit_triples(self, tr: Triples, *, initial: np.ndarray | None = None, retry: bool = True) -> PurchaseModel:
        """Fit to distinct triples with counts.

        Parameters
        ----------
        tr : Triples
            Distinct (frequency, recency, T) with counts.
        initial : np.ndarray, optional
            Starting point for the optimiser (fitter space; `_refit` starts from this fit).
        retry : bool, default True
            Try other starting points when the first fit does not converge.

        Returns
        -------
        PurchaseModel
            self, fitted.
        """
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
                with np.errstate(all="ignore"):  # warnings: see analytics.models.likelihood
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

    def parameter_covariance(self, tr: Triples) -> np.ndarray | None:
        """Inverse observed information of the log-parameters on the triples `tr` (delta-method intervals).

        The Hessian of the log-likelihood by central differences (`analytics.models.interval.log_covariance`,
        40 likelihood evaluations). The holdout range, the forecast range and the CLV interval of one
        model on one set of customers all need it: the last result is kept on the model, keyed on its
        parameters and a digest of the triples and their counts, and returned as is when asked again.

        Parameters
        ----------
        tr : Triples
            The customers whose likelihood is used.

        Returns
        -------
        np.ndarray or None
            The covariance, None when it is not positive definite (a flat ridge or a boundary).
        """
        theta = self._params()
        digest = hashlib.blake2b(theta.tobytes(), digest_size=16)
        for values in (tr.frequency, tr.recency, tr.T, tr.weights):
            digest.update(np.ascontiguousarray(values).tobytes())
        key = digest.hexdigest()
        kept = self.__dict__.get("_covariance")
        if kept is not None and kept[0] == key:
            return kept[1]
        covariance = log_covariance(lambda lp: self._log_likelihood(tr, np.exp(lp)), theta)
        self._covariance = (key, covariance)
        return covariance

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
        """Expected repeat purchases in the first `t` periods of a new customer (unconditional).

        Parameters
        ----------
        t : float or np.ndarray
            Periods (time unit).

        Returns
        -------
        np.ndarray
            Expected repeat purchases, one per `t`.
        """
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
        """Conditional expected repeat purchases in the next `t` periods, per triple.

        Parameters
        ----------
        tr : Triples
            Distinct (frequency, recency, T) with counts.
        t : float
            Periods (time unit).

        Returns
        -------
        np.ndarray
            One value per triple.
        """
        self._check_fitted()
        a, c = self._scale_and_curve(tr, np.array([float(t)]))
        return a * c[tr.xT_index, 0]

    def discounted_purchases_triples(
        self, tr: Triples, *, horizon: float, annual_discount_rate: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Discounted expected transactions (DET) and expected transactions over `horizon` periods, per triple.

        DET = integral over (0, horizon] of exp(-delta u) dE[X(u) | x, t_x, T], delta =
        ln(1 + annual rate) per year: the discounted expected transactions of Fader, Hardie & Lee
        (2005), "RFM and CLV: using iso-value curves", JMR 42(4), eq. (2), truncated at the
        horizon. The integral is taken with the midpoint rule on a weekly calendar grid (error of
        order (delta * week)^2 ~ 1e-7), so it is the same in any time unit.

        Parameters
        ----------
        tr : Triples
            Distinct (frequency, recency, T) with counts.
        horizon : float
            Periods (time unit).
        annual_discount_rate : float
            Yearly discount rate.

        Returns
        -------
        tuple of np.ndarray
            (DET, expected transactions), one value per triple each.
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
        """Conditional expected repeat purchases in the next `periods` (time unit), per customer.

        Parameters
        ----------
        summary : pd.DataFrame
            `summarize_customers` output (frequency, recency, T, monetary_value).
        periods : float
            The horizon (time unit).

        Returns
        -------
        np.ndarray
            One value per summary row.
        """
        tr = Triples.from_summary(summary)
        return self.expected_purchases_triples(tr, periods)[tr.inverse]

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """Probability each customer is still active ("alive") at the end of their T.

        Parameters
        ----------
        summary : pd.DataFrame
            `summarize_customers` output (frequency, recency, T, monetary_value).

        Returns
        -------
        np.ndarray
            0..1, one per summary row.
        """
        self._check_fitted()
        tr = Triples.from_summary(summary)
        return self._p_alive(tr)[tr.inverse]

    def p_alive_grid(self, *, T: float, max_frequency: int, n_recency: int = 40) -> pd.DataFrame:
        """P(alive) for a customer of age `T` over frequency 0..max_frequency x recency in [0, T].

        Recency is only meaningful for frequency > 0; frequency-0 rows carry recency 0.

        Parameters
        ----------
        T : float
            The customer's age (time unit).
        max_frequency : int
            Highest frequency shown.
        n_recency : int, default 40
            Recency steps.

        Returns
        -------
        pd.DataFrame
            Long frame: frequency, recency (time unit), p_alive.
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
    label = MODEL_LABELS["bg_nbd"]
    param_names = ("r", "alpha", "a", "b")
    _fitter_class = BetaGeoFitter

    _objective: ClassVar[Objective] = staticmethod(bg_nbd_rows_objective)
    _log_likelihood_of: ClassVar[Callable[..., float]] = staticmethod(bg_nbd_log_likelihood)

    def _run(self, tr, penalty, initial):
        # lifetimes' fit, with the analytic gradient instead of autograd's: time scaled so that
        # max T = 1, BFGS from log-parameters 0.1 (or the warm start), tolerance 1e-7
        scale = 1.0 / tr.T.max()
        args = (tr.purchase_rows(scale), penalty)
        start = np.full(4, LIFETIMES_START) if initial is None else np.asarray(initial, dtype=np.float64)
        try:
            theta = fit_bfgs(self._objective, start, args)
        except FitFailed:
            # Where BFGS stops short (a ridge running to infinity, where the hand-written and
            # autograd gradients round differently), lifetimes' own fit decides, as before.
            return self._fitter_class(penalizer_coef=penalty).fit(
                tr.frequency, tr.recency, tr.T, weights=tr.weights, initial_params=initial
            )
        fitter = _lifetimes_fitter(self._fitter_class(penalizer_coef=penalty), theta, scale, tr)
        fitter._negative_log_likelihood_ = self._objective(theta, *args)[0]
        fitter._hessian_ = hessian_from_gradient(self._objective, theta, args)
        fitter.variance_matrix_ = fitter._compute_variance_matrix()
        fitter.standard_errors_ = fitter._compute_standard_errors()
        fitter.confidence_intervals_ = fitter._compute_confidence_intervals()
        return fitter

    def _initial_point(self, tr):
        p = self.params_
        return np.log([p["r"], p["alpha"] / tr.T.max(), p["a"], p["b"]])

    def _log_likelihood(self, tr, params=None):
        # lifetimes' log-likelihood (its `_negative_log_likelihood` times the customers), written out in
        # analytics.models.likelihood with the terms of x alone computed once per distinct frequency
        return self._log_likelihood_of(self._params() if params is None else params, tr.purchase_rows())

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
    label = MODEL_LABELS["mbg_nbd"]
    _fitter_class = ModifiedBetaGeoFitter
    _objective: ClassVar[Objective] = staticmethod(mbg_nbd_rows_objective)
    _log_likelihood_of: ClassVar[Callable[..., float]] = staticmethod(mbg_nbd_log_likelihood)

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
    label = MODEL_LABELS["pareto_nbd"]
    param_names = ("r", "alpha", "s", "beta")
    _fitter_class = ParetoNBDFitter

    def _run(self, tr, penalty, initial):
        # BFGS on the log-parameters with the gradient of note 009's likelihood
        # (`analytics.models.likelihood.pareto_nbd_objective`, 2F1 once per distinct pair), from
        # lifetimes' start (ones, time scaled so that max T = 1) or the warm start; tolerance 1e-8 on
        # the gradient of the mean log-likelihood. It reaches the optimum lifetimes' Nelder-Mead
        # approaches (NM stops within its 1e-4 tolerance: CDNOW alpha 10.5777 where NM gives 10.577).
        # Guarded: a fit that leaves |log-parameter| <= PARETO_LOG_BOUND (a ridge to infinity), takes
        # more than PARETO_MAXITER iterations or does not converge, and any penalised retry, runs
        # lifetimes' Nelder-Mead on the pairwise likelihood exactly as before.
        start = np.ones(4) if initial is None else np.asarray(initial, dtype=np.float64)
        if penalty == 0:
            scale = 1.0 / tr.T.max()
            args = (_pareto_pieces(tr, scale), 0.0, tr.weights.sum())
            try:
                with np.errstate(all="ignore"):
                    theta = fit_bfgs(
                        pareto_nbd_guarded_objective,
                        np.log(start),
                        args,
                        tol=PARETO_TOL,
                        maxiter=PARETO_MAXITER,
                        precision_gradient=PARETO_PRECISION_GRADIENT,
                    )
            except FitFailed:
                pass
            else:
                if not _predictable(np.exp(theta), _pareto_pieces(tr, scale)):
                    return _PairwiseParetoNBDFitter(penalizer_coef=penalty).fit_triples(tr, start)
                fitter = _lifetimes_fitter(ParetoNBDFitter(penalizer_coef=0.0), theta, scale, tr)
                # lifetimes' Nelder-Mead objective divides the weighted sum by the mean weight
                fitter._negative_log_likelihood_ = pareto_nbd_objective(theta, *args)[0] * len(tr.weights)
                fitter._hessian_ = None
                return fitter
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
    """A purchase model by name.

    Parameters
    ----------
    name : {'bg_nbd', 'pareto_nbd', 'mbg_nbd'}
        The model.
    time_unit : str, default 'W'
        'D', 'W' or 'M'.
    penalizer : float, default 0
        L2 penalty on the parameters.

    Returns
    -------
    PurchaseModel
        Unfitted.
    """
    if name not in MODELS:
        raise DataError(f"Unknown model {name!r}: choose one of {', '.join(MODEL_NAMES)}.")
    return MODELS[name](time_unit=time_unit, penalizer=penalizer)
