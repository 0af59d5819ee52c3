"""Spend model: Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV") and its independence check.

Money is in the currency of the `amount` column.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from analytics.data.schema import DataError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import GammaGammaFitter
    from lifetimes.utils import ConvergenceError

from analytics.models.likelihood import (
    LIFETIMES_START,
    SpendRows,
    fit_bfgs,
    gamma_gamma_rows_objective,
    hessian_from_gradient,
)
from analytics.models.purchase import MIN_REPEAT_BUYERS, RETRY_PENALIZERS

GG_CORRELATION_LIMIT = 0.3
"""|corr(frequency, spend)| above which we warn that the Gamma-Gamma independence assumption fails."""


def _fit_gamma_gamma(
    x: np.ndarray, m: np.ndarray, w: np.ndarray, penalty: float, initial: np.ndarray | None, rows: SpendRows
) -> GammaGammaFitter:
    """lifetimes' Gamma-Gamma fit (BFGS on the log-parameters from 0.1, tolerance 1e-7) with the
    analytic gradient of `gamma_gamma_objective` instead of autograd's; returned as a lifetimes
    fitter holding the estimate, its Hessian and standard errors (as lifetimes fills them).
    `rows` are x, m, w as `SpendRows` (grouped once for every penalty tried)."""
    args = (rows, penalty)
    objective = gamma_gamma_rows_objective
    theta = fit_bfgs(objective, np.full(3, LIFETIMES_START) if initial is None else initial, args)
    fitter = GammaGammaFitter(penalizer_coef=penalty)
    fitter.params_ = pd.Series(np.exp(theta), index=["p", "q", "v"])
    fitter.data = pd.DataFrame({"monetary_value": m, "frequency": x, "weights": w})
    fitter._negative_log_likelihood_ = objective(theta, *args)[0]
    fitter._hessian_ = hessian_from_gradient(objective, theta, args)
    fitter.variance_matrix_ = fitter._compute_variance_matrix()
    fitter.standard_errors_ = fitter._compute_standard_errors()
    fitter.confidence_intervals_ = fitter._compute_confidence_intervals()
    return fitter


class GammaGamma:
    """Gamma-Gamma model of spend per purchase.

    Fader, Hardie & Lee (2005), "RFM and CLV", JMR; Fader & Hardie (2013), note 025: a
    customer's purchases are gamma(p, nu) with nu ~ gamma(q, v), independent of how often they
    buy. Fitted on repeat buyers' mean repeat spend (currency).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty on the parameters (lifetimes' convention).

    Attributes
    ----------
    params_ : dict
        {'p', 'q', 'v'} after fit.
    log_likelihood_ : float
        At the estimate.
    n_customers_ : int
        Repeat buyers fitted on.
    population_mean_ : float
        v p / (q - 1), currency per purchase.
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
        """Fit to the repeat buyers (frequency > 0) of a summary.

        Parameters
        ----------
        summary : pd.DataFrame
            `summarize_customers` output (frequency, monetary_value).
        weights : np.ndarray, optional
            Customer counts per summary row, e.g. from a bootstrap.

        Returns
        -------
        GammaGamma
            self, fitted.
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
        rows = SpendRows.from_arrays(x, m, w)
        for penalty in [self.penalizer] + ([p for p in RETRY_PENALIZERS if p > self.penalizer] if retry else []):
            try:
                # lifetimes' prints go to our log (models/purchase.py), warnings: models/likelihood.py
                with np.errstate(all="ignore"):
                    fitter = _fit_gamma_gamma(x, m, w, penalty, initial, rows)
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
            nll = gamma_gamma_rows_objective(np.log(list(params.values())), rows, 0.0)[0]
            self.log_likelihood_ = float(-nll * w.sum())
            self.n_customers_ = int(round(w.sum()))
            self.population_mean_ = params["v"] * params["p"] / (params["q"] - 1)
            return self
        raise DataError(
            "The spend (Gamma-Gamma) model did not converge even with a regularising penalty. "
            "Details: " + "; ".join(problems)
        )

    def expected_spend_per_purchase(self, frequency: np.ndarray, monetary_value: np.ndarray) -> np.ndarray:
        """Expected spend per future purchase (currency).

        A credibility-weighted mix of the customer's own mean repeat spend and the population mean
        (note 025, eq. (5)).

        Parameters
        ----------
        frequency : np.ndarray
            Repeat purchases per customer.
        monetary_value : np.ndarray
            Mean repeat spend per customer (currency; ignored where frequency is 0).

        Returns
        -------
        np.ndarray
            Currency per purchase, one per customer.
        """
        if not hasattr(self, "params_"):
            raise RuntimeError("GammaGamma is not fitted yet: call fit() first.")
        p, q, v = (self.params_[k] for k in self.param_names)
        x = np.asarray(frequency, dtype=np.float64)
        m = np.where(x > 0, np.asarray(monetary_value, dtype=np.float64), 0.0)
        weight = p * x / (p * x + q - 1)
        return (1 - weight) * (v * p / (q - 1)) + weight * m


@dataclass(frozen=True)
class GammaGammaCheck:
    """Gamma-Gamma assumption: spend per purchase is independent of purchase frequency.

    Attributes
    ----------
    correlation : float or None
        Pearson correlation of frequency and mean repeat spend (None with too few repeat buyers).
    n_repeat_buyers : int
        Customers it is measured on.
    ok : bool
        Whether the correlation is small enough to trust the spend model.
    message : str
        The verdict in plain words.
    """

    correlation: float | None
    n_repeat_buyers: int
    ok: bool
    message: str


def gamma_gamma_check(summary: pd.DataFrame) -> GammaGammaCheck:
    """Pearson correlation of frequency and mean repeat spend among repeat buyers, in plain words.

    Parameters
    ----------
    summary : pd.DataFrame
        `summarize_customers` output.

    Returns
    -------
    GammaGammaCheck
        The correlation and whether the assumption holds.
    """
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
