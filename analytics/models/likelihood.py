"""Closed-form log-likelihoods of the BTYD models with analytic gradients, and the optimiser that uses them.

lifetimes fits BG/NBD, modified BG/NBD and Gamma-Gamma by differentiating its likelihood with autograd
(a Python-level tape over every array operation, then a second pass for the Hessian) and the
Pareto/NBD by Nelder-Mead (about 1,600 likelihood evaluations per fit). The functions here return
the same objective as lifetimes' `_negative_log_likelihood` (mean negative log-likelihood over the
weighted rows plus lifetimes' L2 penalty on the parameters, time scaled so that max T = 1) together
with its gradient in the log-parameters, written out by hand from the published formulas. Given the
same start, tolerance and method (BFGS, lifetimes' `minimize(..., method=None)` without bounds),
scipy follows the same path as lifetimes and stops at the same point; tests/analytics/test_likelihood.py
compares both fitters on CDNOW and a simulated log.

Every objective takes log-parameters `theta` and returns ``(value, gradient)``.

Importing this module adds two process-wide warning filters: RuntimeWarning and OptimizeWarning
raised inside lifetimes, autograd and scipy.optimize are ignored (the fits check their own results;
see the comment at the filters for why not `warnings.catch_warnings` around each fit). Warnings from
any other module, yours included, are untouched.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import OptimizeWarning, minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

Objective = Callable[..., tuple[float, np.ndarray]]

# The fits run on the app's background threads, where `warnings.catch_warnings` around each fit is not
# safe: it saves and restores the process-wide filter list, so two overlapping fits can restore each
# other's "ignore everything" for good. The optimisers' numerical warnings (overflow on a trial point,
# a line search giving up: each fit checks its own result) are silenced once here, by origin, instead;
# floating-point errors in numpy itself are kept quiet per fit with `np.errstate` (thread-local).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"(lifetimes|autograd|scipy\.optimize)(\.|$)")
warnings.filterwarnings("ignore", category=OptimizeWarning, module=r"(lifetimes|autograd|scipy\.optimize)(\.|$)")

LIFETIMES_START = 0.1
"""lifetimes' default start for the log-parameters of its gradient fitters (`0.1 * ones`)."""

LIFETIMES_TOL = 1e-7
"""lifetimes' default optimiser tolerance for BG/NBD, MBG/NBD and Gamma-Gamma."""


class FitFailed(ValueError):
    """The optimiser did not converge (the caller retries with a penalty, as with lifetimes)."""


def _weighted_sum(weights: np.ndarray, values: np.ndarray) -> float:
    """sum(weights * values) without BLAS (np.dot's threads stall on a busy 2-core machine)."""
    return float(np.sum(weights * values))


def _finish(
    ll: np.ndarray, grads: list[np.ndarray], params: np.ndarray, weights: np.ndarray, penalizer: float
) -> tuple[float, np.ndarray]:
    """Weighted mean negative log-likelihood + penalty, and its gradient in the log-parameters.

    d/d log(theta_k) = theta_k d/d theta_k; lifetimes' penalty is `penalizer * sum(theta**2)`.
    """
    total = weights.sum()
    value = -_weighted_sum(weights, ll) / total + penalizer * float(np.sum(params**2))
    grad = np.array([-_weighted_sum(weights, g) for g in grads]) * params / total + 2.0 * penalizer * params**2
    return value, grad


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of `values` and each row's position among them."""
    distinct, index = np.unique(values, return_inverse=True)
    return distinct, index.reshape(-1)


@dataclass(frozen=True)
class PurchaseRows:
    """Rows (distinct triples) of a BG/NBD or MBG/NBD likelihood, with what repeats across rows stored once.

    A likelihood term that depends on the frequency alone (every lnG and psi of the BG models) is
    computed once per distinct frequency (a few dozen at any size) and gathered; ln(alpha + T) and
    ln(alpha + t_x) once per distinct age and recency (a few hundred days). The gathered values
    are the ones the per-row formula gives, bit for bit: only the work is shared.

    Attributes
    ----------
    x, weights : np.ndarray
        Frequency and customers per row.
    repeat : np.ndarray
        x > 0 per row.
    x_values, x_index, T_values, T_index, tx_values, tx_index : np.ndarray
        The distinct frequencies, ages and recencies (time unit of the fit) and each row's position.
    """

    x: np.ndarray
    weights: np.ndarray
    repeat: np.ndarray
    x_values: np.ndarray
    x_index: np.ndarray
    T_values: np.ndarray
    T_index: np.ndarray
    tx_values: np.ndarray
    tx_index: np.ndarray

    @classmethod
    def from_arrays(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray) -> PurchaseRows:
        """The rows of per-row frequency, recency, age and weight.

        Parameters
        ----------
        x, t_x, T, weights : np.ndarray
            One value per row.

        Returns
        -------
        PurchaseRows
        """
        x = np.asarray(x, dtype=np.float64)
        x_values, x_index = _distinct(x)
        T_values, T_index = _distinct(np.asarray(T, dtype=np.float64))
        tx_values, tx_index = _distinct(np.asarray(t_x, dtype=np.float64))
        return cls(
            x, np.asarray(weights, dtype=np.float64), x > 0, x_values, x_index, T_values, T_index, tx_values, tx_index
        )

    def scaled(self, scale: float) -> PurchaseRows:
        """The same rows with time multiplied by `scale` (lifetimes fits with max T = 1).

        Parameters
        ----------
        scale : float

        Returns
        -------
        PurchaseRows
        """
        return replace(self, T_values=self.T_values * scale, tx_values=self.tx_values * scale)


def _bg_nbd(params: np.ndarray, rows: PurchaseRows, gradient: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per-row BG/NBD log-likelihood and its derivatives in (r, alpha, a, b) (see `bg_nbd_objective`)."""
    r, alpha, a, b = params
    xv, xi = rows.x_values, rows.x_index
    rxv = r + xv
    rx = rxv[xi]
    log_alpha_T = np.log(alpha + rows.T_values)[rows.T_index]
    log_alpha_tx = np.log(alpha + rows.tx_values)[rows.tx_index]
    shift = b + np.maximum(xv, 1) - 1  # b + x - 1, for x >= 1
    a3 = -rx * log_alpha_T
    a4 = (np.log(a) - np.log(shift))[xi] - rx * log_alpha_tx
    repeat = rows.repeat
    top = np.where(repeat, np.maximum(a3, a4), a3)
    e3 = np.exp(a3 - top)
    e4 = np.where(repeat, np.exp(a4 - top), 0.0)
    s = e3 + e4
    by_x = (
        gammaln(rxv)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + xv)
        - gammaln(b)
        - gammaln(a + b + xv)
    )
    ll = by_x[xi] + top + np.log(s)
    if not gradient:
        return ll, []
    w3, w4 = e3 / s, e4 / s
    psi_abx = digamma(a + b + xv)
    d_r = (digamma(rxv) - digamma(r) + np.log(alpha))[xi] - w3 * log_alpha_T - w4 * log_alpha_tx
    d_alpha = r / alpha - rx * (
        w3 / (alpha + rows.T_values)[rows.T_index] + w4 / (alpha + rows.tx_values)[rows.tx_index]
    )
    d_a = (digamma(a + b) - psi_abx)[xi] + w4 / a
    d_b = (digamma(a + b) + digamma(b + xv) - digamma(b) - psi_abx)[xi] - w4 / shift[xi]
    return ll, [d_r, d_alpha, d_a, d_b]


def bg_nbd_rows_objective(theta: np.ndarray, rows: PurchaseRows, penalizer: float) -> tuple[float, np.ndarray]:
    """`bg_nbd_objective` on prepared rows (what the fits call: the rows are grouped once per fit).

    Parameters
    ----------
    theta : np.ndarray
        log(r, alpha, a, b).
    rows : PurchaseRows
        Time in the unit of alpha (scaled).
    penalizer : float
        lifetimes' L2 penalty.

    Returns
    -------
    (float, np.ndarray)
        The objective and its gradient.
    """
    params = np.exp(theta)
    ll, grads = _bg_nbd(params, rows, True)
    return _finish(ll, grads, params, rows.weights, penalizer)


def bg_nbd_log_likelihood(params: np.ndarray, rows: PurchaseRows) -> float:
    """Total BG/NBD log-likelihood of the weighted rows at `params` = (r, alpha, a, b) (no penalty).

    Parameters
    ----------
    params : np.ndarray
    rows : PurchaseRows

    Returns
    -------
    float
    """
    return _weighted_sum(rows.weights, _bg_nbd(np.asarray(params, dtype=np.float64), rows, False)[0])


def bg_nbd_objective(
    theta: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray, penalizer: float
) -> tuple[float, np.ndarray]:
    """BG/NBD mean negative log-likelihood and gradient in log(r, alpha, a, b).

    Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
    Pareto/NBD model", Marketing Science 24(2), eq. (6), in the form of Fader, Hardie & Lee (2008),
    note 004 ("Implementing the BG/NBD model in Excel"), section 7, as lifetimes writes it:

        LL = A1 + A2 + log(exp(A3) + [x > 0] exp(A4)),
        A1 = lnG(r + x) - lnG(r) + r ln(alpha),
        A2 = lnG(a + b) + lnG(b + x) - lnG(b) - lnG(a + b + x),
        A3 = -(r + x) ln(alpha + T),
        A4 = ln(a) - ln(b + x - 1) - (r + x) ln(alpha + t_x).

    The gradient follows term by term (psi = digamma); w3, w4 are the shares of exp(A3) and
    [x > 0] exp(A4) in their sum. A1 + A2 and every psi term depend on x alone and are computed once
    per distinct frequency (`PurchaseRows`).

    Parameters
    ----------
    theta : np.ndarray
        log(r, alpha, a, b), alpha in the (scaled) time unit of `t_x` and `T`.
    x, t_x, T : np.ndarray
        Frequency, recency and age per row.
    weights : np.ndarray
        Customers per row.
    penalizer : float
        lifetimes' L2 penalty on (r, alpha, a, b).

    Returns
    -------
    (float, np.ndarray)
        The objective and its gradient.
    """
    return bg_nbd_rows_objective(theta, PurchaseRows.from_arrays(x, t_x, T, weights), penalizer)


def _mbg_nbd(params: np.ndarray, rows: PurchaseRows, gradient: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per-row MBG/NBD log-likelihood and its derivatives in (r, alpha, a, b) (see `mbg_nbd_objective`)."""
    r, alpha, a, b = params
    xv, xi = rows.x_values, rows.x_index
    rxv = r + xv
    rx = rxv[xi]
    log_alpha_T = np.log(alpha + rows.T_values)[rows.T_index]
    log_alpha_tx = np.log(alpha + rows.tx_values)[rows.tx_index]
    a4 = (np.log(a) - np.log(b + xv))[xi] + rx * (log_alpha_T - log_alpha_tx)
    by_x = (
        gammaln(rxv)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + xv + 1)
        - gammaln(b)
        - gammaln(a + b + xv + 1)
    )
    ll = by_x[xi] - rx * log_alpha_T + np.logaddexp(a4, 0.0)
    if not gradient:
        return ll, []
    sigma = 0.5 * (1.0 + np.tanh(0.5 * a4))  # exp(A4) / (1 + exp(A4)) without overflow
    psi_abx = digamma(a + b + xv + 1)
    alpha_T = (alpha + rows.T_values)[rows.T_index]
    d_r = (digamma(rxv) - digamma(r) + np.log(alpha))[xi] - log_alpha_T + sigma * (log_alpha_T - log_alpha_tx)
    d_alpha = r / alpha - rx / alpha_T + sigma * rx * (1.0 / alpha_T - 1.0 / (alpha + rows.tx_values)[rows.tx_index])
    d_a = (digamma(a + b) - psi_abx)[xi] + sigma / a
    d_b = (digamma(a + b) + digamma(b + xv + 1) - digamma(b) - psi_abx)[xi] - sigma / (b + xv)[xi]
    return ll, [d_r, d_alpha, d_a, d_b]


def mbg_nbd_rows_objective(theta: np.ndarray, rows: PurchaseRows, penalizer: float) -> tuple[float, np.ndarray]:
    """`mbg_nbd_objective` on prepared rows.

    Parameters
    ----------
    theta, rows, penalizer
        As `bg_nbd_rows_objective`.

    Returns
    -------
    (float, np.ndarray)
        The objective and its gradient.
    """
    params = np.exp(theta)
    ll, grads = _mbg_nbd(params, rows, True)
    return _finish(ll, grads, params, rows.weights, penalizer)


def mbg_nbd_log_likelihood(params: np.ndarray, rows: PurchaseRows) -> float:
    """Total MBG/NBD log-likelihood of the weighted rows at `params` = (r, alpha, a, b) (no penalty).

    Parameters
    ----------
    params : np.ndarray
    rows : PurchaseRows

    Returns
    -------
    float
    """
    return _weighted_sum(rows.weights, _mbg_nbd(np.asarray(params, dtype=np.float64), rows, False)[0])


def mbg_nbd_objective(
    theta: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray, penalizer: float
) -> tuple[float, np.ndarray]:
    """Modified BG/NBD mean negative log-likelihood and gradient in log(r, alpha, a, b).

    Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models for
    customer base analysis", IJRM 24(3), appendix, as lifetimes writes it:

        LL = A1 + A2 + A3 + log(1 + exp(A4)),
        A1 = lnG(r + x) - lnG(r) + r ln(alpha),
        A2 = lnG(a + b) + lnG(b + x + 1) - lnG(b) - lnG(a + b + x + 1),
        A3 = -(r + x) ln(alpha + T),
        A4 = ln(a) - ln(b + x) + (r + x) (ln(alpha + T) - ln(alpha + t_x)).

    sigma = exp(A4) / (1 + exp(A4)) weighs the derivatives of A4. Terms of x alone are computed once
    per distinct frequency (`PurchaseRows`).

    Parameters
    ----------
    theta, x, t_x, T, weights, penalizer
        As `bg_nbd_objective`.

    Returns
    -------
    (float, np.ndarray)
        The objective and its gradient.
    """
    return mbg_nbd_rows_objective(theta, PurchaseRows.from_arrays(x, t_x, T, weights), penalizer)


@dataclass(frozen=True)
class SpendRows:
    """Repeat buyers of a Gamma-Gamma likelihood, with what repeats across rows computed once.

    lnG(px + q), lnG(px) and their psi depend on the frequency alone (a few dozen distinct values);
    ln m, ln x and x m do not depend on the parameters.

    Attributes
    ----------
    x, weights, log_m, log_x, xm : np.ndarray
        Per row: repeat purchases, customers, ln(mean spend), ln x and x * mean spend.
    x_values, x_index : np.ndarray
        The distinct frequencies and each row's position.
    """

    x: np.ndarray
    weights: np.ndarray
    log_m: np.ndarray
    log_x: np.ndarray
    xm: np.ndarray
    x_values: np.ndarray
    x_index: np.ndarray

    @classmethod
    def from_arrays(cls, x: np.ndarray, m: np.ndarray, weights: np.ndarray) -> SpendRows:
        """The rows of per-buyer repeat purchases, mean repeat spend and weight.

        Parameters
        ----------
        x, m, weights : np.ndarray

        Returns
        -------
        SpendRows
        """
        x = np.asarray(x, dtype=np.float64)
        m = np.asarray(m, dtype=np.float64)
        x_values, x_index = _distinct(x)
        return cls(x, np.asarray(weights, dtype=np.float64), np.log(m), np.log(x), x * m, x_values, x_index)


def _gamma_gamma(params: np.ndarray, rows: SpendRows, gradient: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per-row Gamma-Gamma log-likelihood and its derivatives in (p, q, v) (see `gamma_gamma_objective`)."""
    p, q, v = params
    pxv = p * rows.x_values
    xi = rows.x_index
    px = pxv[xi]
    log_m, log_x = rows.log_m, rows.log_x
    log_xmv = np.log(rows.xm + v)
    by_x = gammaln(pxv + q) - gammaln(pxv) - gammaln(q) + q * np.log(v)
    ll = by_x[xi] + (px - 1) * log_m + px * log_x - (px + q) * log_xmv
    if not gradient:
        return ll, []
    psi_pxq = digamma(pxv + q)
    d_p = rows.x * ((psi_pxq - digamma(pxv))[xi] + log_m + log_x - log_xmv)
    d_q = (psi_pxq - digamma(q) + np.log(v))[xi] - log_xmv
    d_v = q / v - (px + q) / (rows.xm + v)
    return ll, [d_p, d_q, d_v]


def gamma_gamma_rows_objective(theta: np.ndarray, rows: SpendRows, penalizer: float) -> tuple[float, np.ndarray]:
    """`gamma_gamma_objective` on prepared rows.

    Parameters
    ----------
    theta : np.ndarray
        log(p, q, v).
    rows : SpendRows
    penalizer : float

    Returns
    -------
    (float, np.ndarray)
        The objective and its gradient.
    """
    params = np.exp(theta)
    ll, grads = _gamma_gamma(params, rows, True)
    return _finish(ll, grads, params, rows.weights, penalizer)


def gamma_gamma_log_likelihood(params: np.ndarray, rows: SpendRows) -> float:
    """Total Gamma-Gamma log-likelihood of the weighted rows at `params` = (p, q, v) (no penalty).

    Parameters
    ----------
    params : np.ndarray
    rows : SpendRows

    Returns
    -------
    float
    """
    return _weighted_sum(rows.weights, _gamma_gamma(np.asarray(params, dtype=np.float64), rows, False)[0])


def gamma_gamma_objective(
    theta: np.ndarray, x: np.ndarray, m: np.ndarray, weights: np.ndarray, penalizer: float
) -> tuple[float, np.ndarray]:
    """Gamma-Gamma mean negative log-likelihood and gradient in log(p, q, v).

    Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis",
    JMR 42(4), and Fader & Hardie (2013), note 025, eq. (1a), as lifetimes writes it:

        LL = lnG(px + q) - lnG(px) - lnG(q) + q ln v + (px - 1) ln m + px ln x - (px + q) ln(xm + v).

    The lnG and psi terms are computed once per distinct frequency (`SpendRows`).

    Parameters
    ----------
    theta : np.ndarray
        log(p, q, v).
    x, m, weights : np.ndarray
        Repeat purchases, mean repeat spend and customers per row (repeat buyers only).
    penalizer : float
        lifetimes' L2 penalty on (p, q, v).

    Returns
    -------
    (float, np.ndarray)
        The objective and its gradient.
    """
    return gamma_gamma_rows_objective(theta, SpendRows.from_arrays(x, m, weights), penalizer)


@dataclass(frozen=True)
class ParetoPairs:
    """The arrays of the Pareto/NBD likelihood: per triple, and per distinct (x, t_x) and (x, T) pair.

    Attributes
    ----------
    x, T, weights : np.ndarray
        Per triple (T scaled).
    xr_index, xT_index : np.ndarray
        Each triple's (x, t_x) pair and (x, T) pair.
    xr_x, xr_rec, xT_x, xT_T : np.ndarray
        The distinct pairs (times scaled).
    """

    x: np.ndarray
    T: np.ndarray
    weights: np.ndarray
    xr_index: np.ndarray
    xT_index: np.ndarray
    xr_x: np.ndarray
    xr_rec: np.ndarray
    xT_x: np.ndarray
    xT_T: np.ndarray


PARETO_QUADRATURE_MIN_A = 2.0
"""Smallest r + s + x for which a pair's 2F1 term may come from the quadrature of
`pareto_tail_log_integral`: its interval grows like 46 / (r + s + x), and from 2 up its relative error
against mpmath stays under 1e-11 on random grids with rho down to 1e-8 (1,414 cases, and 557 with
p = r + x < 1 and s + 1 from 2 to 201, the worst 5e-13)."""

PARETO_QUADRATURE_MAX_RHO = 0.25
"""Largest rho = (min(alpha, beta) + t) / (max(alpha, beta) + t) for which a pair's 2F1 term comes from
the quadrature. Above it scipy's `hyp2f1` series (argument 1 - rho) converges in a few dozen terms
(0.2-2 us a pair, exact to rounding) and is cheaper even with the central differences of the
gradient; below it scipy slows down (1-5 us at rho = 0.1, 30 us at 0.01, 100 us at 0.001, at any
r + s + x) and overflows for large x, while the quadrature costs about 4.5 us a pair with its
gradient."""

PARETO_QUADRATURE_VALUE_MAX_RHO = 0.02
"""The same bound where only the terms' values are wanted (Nelder-Mead, predictions): scipy then needs
no central differences and stays cheaper than the quadrature (about 3 us a pair) down to rho ~ 0.02-0.05
(1-5 us at 0.1, 30 us at 0.01). Kept low so that fits that run far along a ridge with moderate rho
(the subscription demo's monthly payments: r and alpha growing together, rho ~ 0.03-0.2) evaluate
exactly as before: Nelder-Mead there stops wherever its simplex settles, and values differing in the
13th digit send it elsewhere."""

_QUADRATURE_NODES, _QUADRATURE_WEIGHTS = np.polynomial.legendre.leggauss(64)
_QUADRATURE_ONE_PANEL = 20.0  # longest interval (in y) taken on one panel of 64 nodes

_QUADRATURE_DEPTH = 46.0
"""The quadrature's interval ends where the integrand has fallen to exp(-46) ~ 1e-20 of its peak."""

_NEWTON_STEPS = 12


def pareto_tail_log_integral(
    p: np.ndarray, q: np.ndarray, mn: np.ndarray, mx: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """log F(t), F(t) = integral over tau in (t, inf) of (mn + tau)^-p (mx + tau)^-q, and its partial derivatives.

    Fader & Hardie (2005), note 009 ("A note on deriving the Pareto/NBD model and related
    expressions"): the dead-customer part of the Pareto/NBD likelihood is
    Gamma(r+x)/Gamma(r) alpha^r beta^s s (F(t_x) - F(T)) with p, q the exponents r + x and s + 1 of
    (alpha + tau) and (beta + tau), and its eqs. (19)-(20) write F(t) = 2F1(p+q-1, p; p+q;
    1 - rho) / ((p+q-1) (mx+t)^(p+q-1)), rho = (mn+t)/(mx+t), mn <= mx: the hypergeometric series
    converges like (1 - rho)^n, slowly where rho is small (beta much larger than alpha, the Pareto/NBD
    ridge where s and beta grow together), and 2F1 itself overflows there for large x.

    Here F is integrated directly. With y = log((mn+tau)/(mn+t)),

        F(t) = (mn+t)^(1-p) (mx+t)^-q  integral over y in (0, inf) of exp(g(y)),
        g(y) = (1 - p) y - q log(1 - rho + rho e^y),

    g is concave (g'' = -q rho (1-rho) e^y / (1-rho+rho e^y)^2) and smooth (its nearest singularities
    sit at Im y = +-pi), with its peak at y = 0 or at the root of g' = 0 (closed form). The integral is
    taken by 64-point Gauss-Legendre between the two points where g falls 46 below its peak (found
    by Newton's method from a bound, which converges from the outside on a concave function), in log
    space, so no term overflows; an interval longer than 20 is cut in two panels at the peak (one
    panel left errors up to 1.6e-8 where p < 1 and rho is tiny, two keep them below 1e-12). The parameter derivatives are moments of the same integrand at the
    same nodes: d log F / dp = -E[log(mn+tau)], d/dq = -E[log(mx+tau)], d/dmn = -p E[1/(mn+tau)],
    d/dmx = -q E[1/(mx+tau)]. Against mpmath (tests/analytics/test_likelihood.py) the relative error
    is below 1e-11 for p + q - 1 >= 2; the interval grows like 46 / (p + q - 1) below
    that, where `PARETO_QUADRATURE_MIN_A` sends the pairs to scipy's 2F1.

    Parameters
    ----------
    p, q : np.ndarray
        Exponents (> 0) of (mn + tau) and (mx + tau), p + q > 1.
    mn, mx : np.ndarray
        0 < mn <= mx.
    t : np.ndarray
        Lower end, >= 0.

    Returns
    -------
    (np.ndarray, np.ndarray)
        log F per element, and its derivatives in (p, q, mn, mx), shape (4, n).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        return _tail_log_integral(
            *np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (p, q, mn, mx, t)))
        )


def _tail_log_integral(
    p: np.ndarray, q: np.ndarray, mn: np.ndarray, mx: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`pareto_tail_log_integral` on arrays of one shape (floating-point warnings silenced by the caller)."""
    low, high = mn + t, mx + t
    log_rho = np.log(low) - np.log(high)
    log_1m_rho = np.log1p(-np.exp(log_rho))  # -inf where mn = mx
    a = p + q - 1.0

    def g(y: np.ndarray) -> np.ndarray:
        return (1.0 - p) * y - q * np.logaddexp(log_1m_rho, log_rho + y)

    def slope(y: np.ndarray) -> np.ndarray:
        return (1.0 - p) - q * expit(log_rho + y - log_1m_rho)

    rising = 1.0 - p - q * np.exp(log_rho) > 0  # g'(0) > 0: the peak is inside
    peak = np.where(rising, np.log(1.0 - p) + log_1m_rho - log_rho - np.log(a), 0.0)  # g'(peak) = 0
    peak = np.maximum(peak, 0.0)
    top = g(peak)
    floor = top - _QUADRATURE_DEPTH
    # right end: g(y) <= -a y + q log(1/rho), so Newton starts beyond the root and stays beyond it
    right = np.maximum((-q * log_rho - floor) / a, peak)
    for _ in range(_NEWTON_STEPS):
        right = np.maximum(right - (g(right) - floor) / slope(right), peak)
    # left end: 0 unless g climbs more than the depth before its peak
    left = np.zeros_like(a)
    deep = top > _QUADRATURE_DEPTH
    for _ in range(_NEWTON_STEPS if deep.any() else 0):
        left = np.where(deep, np.minimum(left - (g(left) - floor) / slope(left), peak), 0.0)
    # Gauss-Legendre on [left, right]; where that interval is long (small rho, p < 1: the integrand
    # climbs for ~log(1/rho), then falls) on two panels split at the peak (else halfway): one panel
    # of 64 nodes left errors up to 1e-8 there (found in review against mpmath), two keep 5e-13
    middle = np.where((peak > left) & (peak < right), peak, 0.5 * (left + right))
    split = (right - left) > _QUADRATURE_ONE_PANEL
    log_f = np.empty_like(a)
    derivatives = np.empty((4, len(a)))
    for rows, panels in ((~split, [(left, right)]), (split, [(left, middle), (middle, right)])):
        if rows.any():
            bounds = [(start[rows], stop[rows]) for start, stop in panels]
            log_f[rows], derivatives[:, rows] = _panels(
                p[rows], q[rows], low[rows], high[rows], log_rho[rows], top[rows], bounds
            )
    return log_f, derivatives


def _panels(
    p: np.ndarray,
    q: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    log_rho: np.ndarray,
    top: np.ndarray,
    bounds: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """`_tail_log_integral`'s Gauss-Legendre sum over the panels `bounds` (in y), and its derivatives."""
    y = np.concatenate(
        [((start + stop) / 2)[:, None] + ((stop - start) / 2)[:, None] * _QUADRATURE_NODES for start, stop in bounds],
        axis=1,
    )
    grown = np.expm1(y)  # (mn+tau)/(mn+t) - 1
    rho = np.exp(log_rho)[:, None]
    log_mx_ratio = np.log1p(rho * grown)  # log((mx+tau)/(mx+t)) = log(1 - rho + rho e^y)
    w = np.exp((1.0 - p)[:, None] * y - q[:, None] * log_mx_ratio - top[:, None])
    w *= np.concatenate([((stop - start) / 2)[:, None] * _QUADRATURE_WEIGHTS for start, stop in bounds], axis=1)
    total = w.sum(axis=1)
    log_f = (1.0 - p) * np.log(low) - q * np.log(high) + top + np.log(total)
    w /= total[:, None]
    d_p = -(np.log(low) + np.einsum("ij,ij->i", w, y))
    d_q = -(np.log(high) + np.einsum("ij,ij->i", w, log_mx_ratio))
    d_mn = -p / low * np.einsum("ij,ij->i", w, 1.0 / (1.0 + grown))
    d_mx = -q / high * np.einsum("ij,ij->i", w, 1.0 / (1.0 + rho * grown))
    return log_f, np.array([d_p, d_q, d_mn, d_mx])


def _hyp2f1_pair_terms(params: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log(2F1(r+s+x, b1; r+s+x+1; (mx-mn)/(mx+t)) / (mx+t)^(r+s+x)) by scipy (see `pareto_pair_terms`)."""
    r, alpha, s, beta = params
    if alpha < beta:
        mn, mx, b1 = alpha, beta, r + x
    else:
        mn, mx, b1 = beta, alpha, s + 1.0
    c = r + s + x
    q = mx + t
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(hyp2f1(c, b1, c + 1.0, (mx - mn) / q)) - c * np.log(q)


def _pair_log_terms(params: np.ndarray, x: np.ndarray, t: np.ndarray, gradient: bool) -> tuple[np.ndarray, np.ndarray]:
    """`pareto_pair_terms` for one set of (x, t) pairs, with d/d log(r, alpha, s, beta) (shape (4, n)) when
    `gradient`, else an empty (0, n) array.

    The quadrature takes the pairs with r + s + x >= `PARETO_QUADRATURE_MIN_A` and rho below
    `PARETO_QUADRATURE_MAX_RHO` (with the gradient: also any such pair where scipy's 2F1 is not finite)
    or `PARETO_QUADRATURE_VALUE_MAX_RHO` (value only); scipy the others."""
    r, alpha, s, beta = params
    a = r + s + x
    mn, mx = min(alpha, beta), max(alpha, beta)
    quadrature_able = a >= PARETO_QUADRATURE_MIN_A
    rho_max = PARETO_QUADRATURE_MAX_RHO if gradient else PARETO_QUADRATURE_VALUE_MAX_RHO
    by_quadrature = quadrature_able & ((mn + t) < rho_max * (mx + t))
    out = np.empty(len(x))
    grad = np.empty((4 if gradient else 0, len(x)))
    by_series = ~by_quadrature
    if by_series.any():
        series = _hyp2f1_pair_terms(params, x[by_series], t[by_series])
        failed = ~np.isfinite(series) & quadrature_able[by_series] & gradient  # overflow: to the quadrature
        if failed.any():
            by_quadrature[np.flatnonzero(by_series)[failed]] = True
            by_series = ~by_quadrature
            series = series[~failed]
        out[by_series] = series
        if gradient and by_series.any():  # central differences in the log-parameters (error O(step^2) ~ 1e-10)
            xs, ts = x[by_series], t[by_series]
            theta = np.log(params)
            for k in range(4):
                step = np.zeros(4)
                step[k] = PARETO_STEP
                up = _hyp2f1_pair_terms(np.exp(theta + step), xs, ts)
                down = _hyp2f1_pair_terms(np.exp(theta - step), xs, ts)
                grad[k, by_series] = (up - down) / (2 * PARETO_STEP)
    if by_quadrature.any():
        xq, tq = x[by_quadrature], t[by_quadrature]
        if alpha < beta:  # (alpha + tau)^-(r+x) (beta + tau)^-(s+1)
            log_f, (d_p, d_q, d_mn, d_mx) = pareto_tail_log_integral(r + xq, s + 1.0, alpha, beta, tq)
            d_r, d_s, d_alpha, d_beta = d_p, d_q, d_mn, d_mx
        else:
            log_f, (d_p, d_q, d_mn, d_mx) = pareto_tail_log_integral(s + 1.0, r + xq, beta, alpha, tq)
            d_r, d_s, d_alpha, d_beta = d_q, d_p, d_mx, d_mn
        aq = a[by_quadrature]
        out[by_quadrature] = np.log(aq) + log_f  # log(a F(t)), as the 2F1 form
        if gradient:
            grad[:, by_quadrature] = [r * (1.0 / aq + d_r), alpha * d_alpha, s * (1.0 / aq + d_s), beta * d_beta]
    return out, grad


def pareto_pair_terms(params: np.ndarray, pairs: ParetoPairs) -> tuple[np.ndarray, np.ndarray]:
    """log(2F1(r+s+x, b1; r+s+x+1; (mx-mn)/(mx+t)) / (mx+t)^(r+s+x)) per distinct (x, t_x) pair and
    per distinct (x, T) pair, so that A_0 = exp(first) - exp(second).

    Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and related expressions",
    eqs. (19)-(20): with mx = max(alpha, beta), mn = min(alpha, beta), b1 = r + x when alpha < beta
    and s + 1 otherwise (the same algebra as lifetimes' `_log_A_0`). Each term equals
    log((r+s+x) F(t)) with F the integral of `pareto_tail_log_integral`, which gives it where scipy's
    series is slow or overflows (`PARETO_QUADRATURE_MAX_RHO`) and the quadrature is accurate
    (`PARETO_QUADRATURE_MIN_A`); scipy's `hyp2f1` elsewhere.

    Parameters
    ----------
    params : np.ndarray
        (r, alpha, s, beta).
    pairs : ParetoPairs

    Returns
    -------
    (np.ndarray, np.ndarray)
        The two log terms, per (x, t_x) pair and per (x, T) pair.
    """
    params = np.asarray(params, dtype=np.float64)
    with np.errstate(all="ignore"):
        return (
            _pair_log_terms(params, pairs.xr_x, pairs.xr_rec, False)[0],
            _pair_log_terms(params, pairs.xT_x, pairs.xT_T, False)[0],
        )


PARETO_TOL = 1e-8
"""Gradient tolerance of the Pareto/NBD fit: its likelihood is flat along a ridge, and at 1e-7 the
parameters stop up to 1e-6 (relative) from the optimum; at 1e-8 they are within 4e-7 of a
Nelder-Mead run to 1e-9 on CDNOW, for a few iterations more."""

PARETO_PRECISION_GRADIENT = 1e-7
"""A Pareto/NBD BFGS run that stops for precision loss is accepted when its gradient is within this
(10 x `PARETO_TOL`): on a flat ridge the mean log-likelihood changes by less than its rounding
(1e-15) along the last steps, so the line search gives up a little short of 1e-8 (the 10,000-customer
upload's churn cutoff fit: 2.8e-8 at s = 118, the point Nelder-Mead reaches after 30 times as many
likelihood evaluations)."""

PARETO_MAXITER = 100
"""BFGS iterations allowed to the Pareto/NBD fit before it hands over to Nelder-Mead (CDNOW and the
simulated logs take 20-40; a fit running along a ridge to huge parameters takes hundreds)."""

PARETO_STEP = 1e-5
"""Step (log-parameters) of the central differences that give the 2F1 terms' derivatives."""


def pareto_nbd_objective(
    theta: np.ndarray, pairs: ParetoPairs, penalizer: float, normaliser: float
) -> tuple[float, np.ndarray]:
    """Pareto/NBD negative log-likelihood and gradient in log(r, alpha, s, beta).

    Fader & Hardie (2005), note 009, eq. (18):

        LL = A1 + log[(alpha + T)^-(r+x) (beta + T)^-s + s / (r+s+x) A_0],
        A1 = lnG(r + x) - lnG(r) + r ln(alpha) + s ln(beta),  A_0 = exp(l1) - exp(l2)

    (`pareto_pair_terms`). Everything but l1 and l2 is differentiated by hand; l1 and l2 (log 2F1
    terms with no closed-form parameter derivative) come with their derivatives from the quadrature
    of `pareto_tail_log_integral` where it gives them (`pareto_pair_terms`), and as central
    differences in the log-parameters on those terms only elsewhere (error O(step^2) ~ 1e-10).

    Parameters
    ----------
    theta : np.ndarray
        log(r, alpha, s, beta), rates in the scaled time of `pairs`.
    pairs : ParetoPairs
    penalizer : float
        L2 penalty on (r, alpha, s, beta), as lifetimes.
    normaliser : float
        The weighted sum is divided by it (lifetimes' Pareto/NBD divides by the mean weight).

    Returns
    -------
    (float, np.ndarray)
        The objective and its gradient.
    """
    params = np.exp(theta)
    r, alpha, s, beta = params
    with np.errstate(all="ignore"):
        l1, dl1 = _pair_log_terms(params, pairs.xr_x, pairs.xr_rec, True)  # derivatives in log(param_k)
        l2, dl2 = _pair_log_terms(params, pairs.xT_x, pairs.xT_T, True)
    x, T, i, j = pairs.x, pairs.T, pairs.xr_index, pairs.xT_index
    rx = r + x
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        alive = -rx * np.log(alpha + T) - s * np.log(beta + T)
        ratio = np.exp(l2[j] - l1[i])  # exp(l2) / exp(l1) < 1
        died = np.log(s) - np.log(r + s + x) + l1[i] + np.log1p(-ratio)
        both = np.logaddexp(alive, died)
        share_alive = np.exp(alive - both)
        share_died = 1.0 - share_alive
        ll = gammaln(rx) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + both
        # d log(A_0) / d log(param_k) = (dl1 - ratio dl2) / (1 - ratio)
        d_a0 = [(dl1[k][i] - ratio * dl2[k][j]) / (1.0 - ratio) for k in range(4)]
        # derivatives in the natural parameters, except d_a0 which is already in log-parameters
        d_r = digamma(rx) - digamma(r) + np.log(alpha) + share_alive * -np.log(alpha + T) - share_died / (r + s + x)
        d_alpha = r / alpha + share_alive * -rx / (alpha + T)
        d_s = np.log(beta) + share_alive * -np.log(beta + T) + share_died * (1.0 / s - 1.0 / (r + s + x))
        d_beta = s / beta + share_alive * -s / (beta + T)
    w = pairs.weights
    value = -_weighted_sum(w, ll) / normaliser + penalizer * float(np.sum(params**2))
    natural = [d_r, d_alpha, d_s, d_beta]
    with np.errstate(invalid="ignore"):  # a customer seen today (t_x = T) has A_0 = 0 and no died share
        died_terms = [np.where(share_died > 0, share_died * d_a0[k], 0.0) for k in range(4)]
    grad = (
        np.array([-_weighted_sum(w, natural[k] * params[k] + died_terms[k]) / normaliser for k in range(4)])
        + 2.0 * penalizer * params**2
    )
    return value, grad


PARETO_LOG_BOUND = math.log(1e3)
"""Largest |log-parameter| (time scaled so that max T = 1) the Pareto/NBD gradient fit may try. Where
the likelihood keeps rising along a ridge to infinity (the Brightbox demo's monthly payments, a poor
fit for the model), BFGS leaves the box within about 15 iterations; beyond it 2F1 gets slow (0.2 s
an evaluation at 8, 2-5 s at 9.3 on the demo, where BFGS spent 20-40 s before failing). The fit
then hands over to lifetimes' Nelder-Mead, which stops on the ridge where it always stopped (log r
5.6 on the demo). Well-posed fits stay far inside (CDNOW and the scale benchmark's logs: |log-
parameter| < 2.2)."""


def pareto_nbd_guarded_objective(
    theta: np.ndarray, pairs: ParetoPairs, penalizer: float, normaliser: float
) -> tuple[float, np.ndarray]:
    """`pareto_nbd_objective`, refused (FitFailed) at any log-parameter beyond `PARETO_LOG_BOUND`.

    Raised before the likelihood is evaluated, so a fit running off to huge parameters costs no slow
    2F1 evaluations there; the caller falls back on Nelder-Mead.

    Parameters
    ----------
    theta, pairs, penalizer, normaliser
        As `pareto_nbd_objective`.

    Returns
    -------
    (float, np.ndarray)
        The objective and its gradient.

    Raises
    ------
    FitFailed
        When a log-parameter leaves the box.
    """
    if not np.all(np.abs(theta) <= PARETO_LOG_BOUND):
        raise FitFailed(f"the Pareto/NBD parameters ran off towards 0 or infinity (log-parameters {theta})")
    return pareto_nbd_objective(theta, pairs, penalizer, normaliser)


def fit_bfgs(
    objective: Objective,
    start: np.ndarray,
    args: tuple,
    *,
    tol: float = LIFETIMES_TOL,
    maxiter: int | None = None,
    precision_gradient: float | None = None,
) -> np.ndarray:
    """Minimise `objective` (value and gradient) by BFGS from `start`, as lifetimes' gradient fitters do.

    Parameters
    ----------
    objective : callable
        theta, *args -> (value, gradient).
    start : np.ndarray
        Starting log-parameters.
    args : tuple
        Passed to `objective` after theta.
    tol : float
        scipy's `tol` (lifetimes: 1e-7).
    maxiter : int, optional
        Most iterations (scipy's default: 200 per parameter).
    precision_gradient : float, optional
        When given, a stop for precision loss (scipy's status 2: the line search no longer sees the
        objective fall, its changes being at rounding level) is accepted as converged if every
        component of the gradient there is within this bound.

    Returns
    -------
    np.ndarray
        The minimising log-parameters.

    Raises
    ------
    FitFailed
        When the optimiser reports no convergence or a non-finite point.
    """
    with np.errstate(all="ignore"):
        out = minimize(
            objective,
            np.asarray(start, dtype=np.float64),
            args=args,
            jac=True,
            method="BFGS",
            tol=tol,
            options={"maxiter": maxiter} if maxiter else None,
        )
    settled = (
        precision_gradient is not None
        and out.status == 2
        and bool(np.all(np.isfinite(out.jac)))
        and float(np.max(np.abs(out.jac))) <= precision_gradient
    )
    if not (out.success or settled) or not np.all(np.isfinite(out.x)):
        raise FitFailed(f"the optimiser stopped without converging ({out.message})")
    return out.x


def hessian_from_gradient(objective: Objective, theta: np.ndarray, args: tuple, step: float = 1e-5) -> np.ndarray:
    """Hessian of `objective` at `theta` by central differences of its analytic gradient (symmetrised).

    Parameters
    ----------
    objective : callable
        theta, *args -> (value, gradient).
    theta : np.ndarray
        The point.
    args : tuple
        Passed to `objective`.
    step : float
        Step in theta.

    Returns
    -------
    np.ndarray
        The k x k Hessian.
    """
    k = len(theta)
    out = np.empty((k, k))
    with np.errstate(all="ignore"):
        for i in range(k):
            e = np.zeros(k)
            e[i] = step
            out[i] = (objective(theta + e, *args)[1] - objective(theta - e, *args)[1]) / (2 * step)
    return 0.5 * (out + out.T)
