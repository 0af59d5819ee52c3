"""The hand-written likelihoods and gradients (analytics.models.likelihood) against finite differences,
and the fits built on them against lifetimes' own fitters on CDNOW and on a simulated log."""

from __future__ import annotations

import functools
import types
import warnings

import numpy as np
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from scipy.special import hyp2f1

import analytics.models.likelihood as likelihood_module
import analytics.models.purchase as purchase_module
import analytics.models.spend as spend_module
from analytics.models.btyd import simulate_transactions, summarize_customers
from analytics.models.likelihood import (
    PARETO_LOG_BOUND,
    PARETO_QUADRATURE_MAX_RHO,
    FitFailed,
    bg_nbd_objective,
    gamma_gamma_objective,
    hessian_from_gradient,
    mbg_nbd_objective,
    pareto_nbd_guarded_objective,
    pareto_nbd_objective,
    pareto_pair_terms,
    pareto_tail_log_integral,
)
from analytics.models.purchase import (
    BetaGeo,
    ModifiedBetaGeo,
    ParetoNBD,
    Triples,
    _PairwiseParetoNBDFitter,
    _pareto_pieces,
)
from analytics.models.spend import GammaGamma
from tests.analytics.helpers import cdnow_transactions


@functools.cache
def summary(name: str):
    if name == "cdnow":
        return summarize_customers(cdnow_transactions(), time_unit="W")
    t = simulate_transactions(3000, r=0.4, alpha=3.0, a=0.7, b=3.0, random_state=5)
    return summarize_customers(t, time_unit="W")


def numeric_gradient(objective, theta, args, h=1e-6):
    return np.array(
        [(objective(theta + e, *args)[0] - objective(theta - e, *args)[0]) / (2 * h) for e in np.eye(len(theta)) * h]
    )


def purchase_args(tr: Triples, penalizer: float):
    scale = 1.0 / tr.T.max()
    return (tr.frequency, tr.recency * scale, tr.T * scale, tr.weights, penalizer)


POINTS4 = [np.full(4, 0.1), np.log([0.24, 0.1, 0.79, 2.4]), np.array([0.5, -2.0, 1.0, -1.0])]


@pytest.mark.parametrize("objective", [bg_nbd_objective, mbg_nbd_objective])
@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_bg_gradients_equal_finite_differences(objective, penalizer):
    tr = Triples.from_summary(summary("cdnow"))
    args = purchase_args(tr, penalizer)
    for theta in POINTS4:
        np.testing.assert_allclose(
            objective(theta, *args)[1], numeric_gradient(objective, theta, args), rtol=1e-6, atol=1e-9
        )


def test_bg_value_equals_lifetimes_likelihood():
    tr = Triples.from_summary(summary("cdnow"))
    args = purchase_args(tr, 0.01)
    for ours, theirs in ((bg_nbd_objective, BetaGeoFitter), (mbg_nbd_objective, ModifiedBetaGeoFitter)):
        for theta in POINTS4:
            assert ours(theta, *args)[0] == pytest.approx(theirs._negative_log_likelihood(theta, *args), rel=1e-12)


def test_gamma_gamma_gradient_and_value():
    s = summary("cdnow")
    repeat = s["frequency"] > 0
    args = (s["frequency"][repeat].to_numpy(float), s["monetary_value"][repeat].to_numpy(), np.ones(repeat.sum()), 0.01)
    for theta in (np.full(3, 0.1), np.log([6.0, 3.7, 15.0])):
        value, grad = gamma_gamma_objective(theta, *args)
        np.testing.assert_allclose(grad, numeric_gradient(gamma_gamma_objective, theta, args), rtol=1e-6, atol=1e-9)
        assert value == pytest.approx(GammaGammaFitter._negative_log_likelihood(theta, *args), rel=1e-12)


def test_pareto_gradient_equals_finite_differences():
    tr = Triples.from_summary(summary("cdnow"))
    pairs = _pareto_pieces(tr, 1.0 / tr.T.max())
    args = (pairs, 0.001, tr.weights.sum())
    for theta in (np.zeros(4), np.log([0.55, 0.27, 0.61, 0.3]), np.log([0.5, 3.0, 0.6, 0.2])):
        np.testing.assert_allclose(
            pareto_nbd_objective(theta, *args)[1],
            numeric_gradient(pareto_nbd_objective, theta, args),
            rtol=1e-5,
            atol=1e-8,
        )


def test_hessian_from_gradient_equals_lifetimes_standard_errors():
    s = summary("cdnow")
    ours = BetaGeo().fit(s).fitter_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    np.testing.assert_allclose(ours.standard_errors_, ref.standard_errors_, rtol=1e-6)
    tr = Triples.from_summary(s)
    args = purchase_args(tr, 0.0)
    theta = np.log([ours.params_["r"], ours.params_["alpha"] * ours._scale, ours.params_["a"], ours.params_["b"]])
    np.testing.assert_allclose(hessian_from_gradient(bg_nbd_objective, theta, args), ref._hessian_, rtol=1e-6)


@pytest.mark.parametrize("data", ["cdnow", "simulated"])
@pytest.mark.parametrize(("model", "fitter"), [(BetaGeo, BetaGeoFitter), (ModifiedBetaGeo, ModifiedBetaGeoFitter)])
def test_bg_fits_equal_lifetimes_fits(data, model, fitter):
    """Same objective, start, tolerance and method as lifetimes: the same optimum to far below 1e-6."""
    s = summary(data)
    tr = Triples.from_summary(s)
    ours = model().fit_triples(tr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = fitter().fit(s["frequency"], s["recency"], s["T"])
    for k in ours.param_names:
        assert ours.params_[k] == pytest.approx(ref.params_[k], rel=1e-6), k
    ref_ll = ours._log_likelihood(tr, ref.params_[list(ours.param_names)].to_numpy())
    assert ours.log_likelihood_ == pytest.approx(ref_ll, rel=1e-9)


@pytest.mark.parametrize("data", ["cdnow", "simulated"])
def test_gamma_gamma_fit_equals_lifetimes_fit(data):
    s = summary(data)
    repeat = s["frequency"] > 0
    ours = GammaGamma().fit(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = GammaGammaFitter().fit(s["frequency"][repeat], s["monetary_value"][repeat])
    for k in ("p", "q", "v"):
        assert ours.params_[k] == pytest.approx(ref.params_[k], rel=1e-6), k
    assert -ours.log_likelihood_ / repeat.sum() == pytest.approx(ref._negative_log_likelihood_, rel=1e-9)
    np.testing.assert_allclose(ours.fitter_.standard_errors_, ref.standard_errors_, rtol=1e-6)


def test_pareto_fit_reaches_the_optimum_lifetimes_nelder_mead_converges_to():
    """ParetoNBD's gradient fit against Nelder-Mead run to convergence (lifetimes' default stops
    5e-5 short) on the simulated log's triples: parameters within 1e-6, log-likelihoods within 1e-9."""
    s = summary("simulated")
    tr = Triples.from_summary(s)
    model = ParetoNBD().fit_triples(tr)
    ours = model._params()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ParetoNBDFitter().fit(
            tr.frequency,
            tr.recency,
            tr.T,
            weights=tr.weights,
            initial_params=np.ones(4),
            maxiter=20000,
            xatol=1e-10,
            fatol=1e-10,
        )
    ref_params = ref.params_[["r", "alpha", "s", "beta"]].to_numpy()
    np.testing.assert_allclose(ours, ref_params, rtol=1e-6)
    ref_ll = model._log_likelihood(tr, ref_params)
    assert model.log_likelihood_ == pytest.approx(ref_ll, rel=1e-9)
    assert model.log_likelihood_ >= ref_ll - 1e-9 * abs(ref_ll)
    # lifetimes' objective (scaled time, weighted sum over the mean weight), as its fitter stores it
    assert model.fitter_._negative_log_likelihood_ == pytest.approx(ref._negative_log_likelihood_, rel=1e-9)


def test_pareto_guard_refuses_runaway_parameters_and_the_fit_falls_back_on_nelder_mead(monkeypatch):
    """Beyond PARETO_LOG_BOUND the objective is refused before any 2F1 is evaluated; a fit whose
    BFGS is refused ends exactly where lifetimes' pairwise Nelder-Mead ends."""
    tr = Triples.from_summary(summary("simulated"))
    args = (_pareto_pieces(tr, 1.0 / tr.T.max()), 0.0, tr.weights.sum())
    inside = np.array([0.0, 0.0, 0.0, PARETO_LOG_BOUND])
    assert pareto_nbd_guarded_objective(inside, *args)[0] == pareto_nbd_objective(inside, *args)[0]
    for outside in (np.array([0.0, 0.0, 0.0, PARETO_LOG_BOUND + 0.01]), np.array([-PARETO_LOG_BOUND - 0.01, 0, 0, 0])):
        with pytest.raises(FitFailed, match="ran off"):
            pareto_nbd_guarded_objective(outside, *args)

    def runs_away(theta, *args):
        return pareto_nbd_guarded_objective(theta + 2 * PARETO_LOG_BOUND, *args)

    monkeypatch.setattr(purchase_module, "pareto_nbd_guarded_objective", runs_away)
    guarded = ParetoNBD().fit_triples(tr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nelder_mead = _PairwiseParetoNBDFitter().fit_triples(tr, np.ones(4))
    assert guarded.penalizer_ == 0.0
    for k in guarded.param_names:
        assert guarded.params_[k] == nelder_mead.params_[k], k


def test_a_bfgs_optimum_where_predictions_would_be_nan_goes_to_nelder_mead(monkeypatch):
    """BFGS's 2F1 terms fall back on the quadrature where scipy's series overflows; value-only terms
    (P(alive), predictions) do not (rho above PARETO_QUADRATURE_VALUE_MAX_RHO). At r 1, alpha 3, s 200,
    beta 100 (rho 0.03-0.2) value-only terms are NaN where the gradient's are finite (found in review):
    a BFGS fit ending there must not be kept."""
    x = np.array([0.0, 5.0, 50.0, 300.0])
    recency = np.array([0.0, 2.0, 10.0, 20.0])
    pairs = purchase_module.ParetoPairs(
        x=x,
        T=recency + 5,
        weights=np.ones(4),
        xr_index=np.arange(4),
        xT_index=np.arange(4),
        xr_x=x,
        xr_rec=recency,
        xT_x=x,
        xT_T=recency + 5,
    )
    ridge = np.array([1.0, 3.0, 200.0, 100.0])
    assert np.isfinite(likelihood_module._pair_log_terms(ridge, x, recency, True)[0]).all()
    assert not np.isfinite(likelihood_module._pair_log_terms(ridge, x, recency, False)[0]).all()
    assert not purchase_module._predictable(ridge, pairs)
    assert purchase_module._predictable(np.array([0.55, 10.58, 0.61, 11.67]), pairs)

    tr = Triples.from_summary(summary("cdnow"))
    monkeypatch.setattr(purchase_module, "fit_bfgs", lambda *a, **k: np.log([0.55, 10.58, 0.61, 11.67]))
    monkeypatch.setattr(purchase_module, "_predictable", lambda params, pc: False)
    kept = ParetoNBD().fit_triples(tr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nelder_mead = _PairwiseParetoNBDFitter().fit_triples(tr, np.ones(4))
    for k in kept.param_names:
        assert kept.params_[k] == nelder_mead.params_[k], k


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_nelder_mead_objective_refuses_points_where_the_likelihood_cannot_be_evaluated(monkeypatch, bad):
    """Where 2F1 overflows the per-customer log-likelihood reads +inf or NaN; the objective must call
    that point infinitely bad (as a negative parameter), not infinitely good: on a 10,000-customer log
    Nelder-Mead chased such a point until its iteration limit (minutes)."""
    tr = Triples.from_summary(summary("cdnow"))
    fitter = _PairwiseParetoNBDFitter()
    fitter._pieces = _pareto_pieces(tr, 1.0 / tr.T.max())
    args = (tr.frequency, tr.recency, tr.T, tr.weights, 0.0)
    params = np.array([0.55, 10.58, 0.61, 11.67]) / np.array([1, tr.T.max(), 1, tr.T.max()])
    finite = fitter._negative_log_likelihood(params, *args)
    assert np.isfinite(finite)  # the objective at the published optimum, in lifetimes' scaled time
    real = purchase_module._pareto_log_likelihood

    def overflowing(theta, pieces):
        ll = real(theta, pieces)
        ll[0] = bad
        return ll

    monkeypatch.setattr(purchase_module, "_pareto_log_likelihood", overflowing)
    assert fitter._negative_log_likelihood(params, *args) == np.inf


def test_fits_leave_the_process_wide_warning_filters_alone(monkeypatch):
    """The app fits on background threads, where `warnings.catch_warnings` (saving and restoring the
    process-wide filter list) lets overlapping fits silence every warning for good: no fit may use it."""

    def not_thread_safe(*args, **kwargs):
        raise AssertionError("warnings.catch_warnings inside a fit")

    guarded = types.SimpleNamespace(**{**vars(warnings), "catch_warnings": not_thread_safe})
    for module in (purchase_module, spend_module, likelihood_module):
        monkeypatch.setattr(module, "warnings", guarded)
    s = summary("simulated")
    for model in (BetaGeo, ModifiedBetaGeo, ParetoNBD):
        assert model().fit(s).params_
    assert GammaGamma().fit(s[s["frequency"] > 0]).params_


# log F(t) = log of the integral over (t, inf) of (mn + tau)^-p (mx + tau)^-q, as mpmath 1.3.0 gives it at
# 40 digits from the hypergeometric form of Fader & Hardie's note 009, eqs. (19)-(20):
# log(hyp2f1(a, p, a + 1, 1 - (mn+t)/(mx+t), maxprec=4000)) - a log(mx + t) - log(a), a = p + q - 1.
# (p, q, mn, mx, t, log F): the 10,000-customer upload's churn-cutoff ridge in scaled time (alpha 0.0283,
# s + 1 = 102.7 where scipy's 2F1 starts to overflow for x = 170, then 169.5 and 1269 where it returns inf
# and NaN), a dropout shape of 1e5, alpha >= beta, CDNOW-like values, alpha = beta, and a long interval.
TAIL_REFERENCES = [
    (0.766, 102.7, 0.0283, 46.9, 0.0, -394.78828102399676),
    (1.766, 102.7, 0.0283, 46.9, 0.3, -395.65201586936188),
    (170.766, 102.7, 0.0283, 46.9, 0.7, -348.03362118034318),
    (2.766, 169.5, 0.0283, 77.9, 0.0078125, -733.04627256649064),
    (3.766, 169.5, 0.0283, 77.9, 0.096875, -733.85586749603608),
    (0.764, 1269.0, 0.0283, 592.3, 0.0, -8100.9061682303217),
    (8.764, 1269.0, 0.0283, 592.3, 0.09375, -8087.2706508013045),
    (0.5, 100000.0, 0.01, 40000.0, 0.0, -1059663.528807822),
    (40.5, 100000.0, 0.01, 40000.0, 1.0, -1059670.1060385525),
    (1.6, 0.553, 0.1, 0.11, 0.0, 2.4839705207282161),
    (1.6, 25.553, 0.1, 0.11, 0.5, 9.6888336191635357),
    (301.0, 5.2, 0.002, 3.0, 0.01, 1315.4206485432721),
    (10.553, 1.606, 0.1354, 0.1494, 0.5, 2.6162206257586028),
    (3.553, 1.606, 0.1354, 0.1354, 0.2, 3.1181476549166312),
    (2.2, 0.9, 0.0001, 10.0, 0.0, 8.7977210046911279),
    # a one-time buyer with r < 1 (p < 1), small q and rho ~ 1.7e-8: the integrand climbs for ~18 in y, then
    # falls; on one 64-node panel the error was 1.6e-8 (found in review), on two panels it is below 1e-13
    (
        0.18093311765013914,
        3.082684568112395,
        1.886226914213632,
        114065807.29934983,
        126.19343249299602,
        -42.499299946388152998,
    ),
]


@pytest.mark.parametrize("case", TAIL_REFERENCES)
def test_pareto_tail_integral_equals_mpmath_on_the_ridge_and_off_it(case):
    p, q, mn, mx, t, expected = case
    log_f, _ = pareto_tail_log_integral(p, q, mn, mx, t)
    assert log_f[0] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_scipy_2f1_fails_on_the_ridge_where_the_quadrature_does_not():
    """The reason for the quadrature: on the ridge scipy's hyp2f1 overflows (inf) or gives NaN."""
    p, q, mn, mx, t, _ = TAIL_REFERENCES[5]
    a = p + q - 1
    with np.errstate(all="ignore"):
        assert not np.isfinite(np.log(hyp2f1(a, p, a + 1, 1 - (mn + t) / (mx + t))))
    assert np.isfinite(pareto_tail_log_integral(p, q, mn, mx, t)[0][0])


@pytest.mark.parametrize("case", [TAIL_REFERENCES[i] for i in (0, 2, 6, 8, 11, 14)])
def test_pareto_tail_integral_derivatives_equal_finite_differences(case):
    args = np.array(case[:4], dtype=float)
    t = case[4]
    log_f, grad = pareto_tail_log_integral(*args, t)
    for k in range(4):
        h = 1e-6 * args[k]
        up, down = args.copy(), args.copy()
        up[k] += h
        down[k] -= h
        numeric = (pareto_tail_log_integral(*up, t)[0][0] - pareto_tail_log_integral(*down, t)[0][0]) / (2 * h)
        rounding = 1e-15 * abs(log_f[0]) / h  # the difference quotient's own error where log F is ~1e6
        assert grad[k][0] == pytest.approx(numeric, rel=1e-6, abs=1e-6 / args[k] + rounding), k


def test_pareto_pair_terms_agree_with_scipy_where_both_work():
    """Off the ridge the quadrature and scipy's series give the same terms (both methods on CDNOW's pairs,
    at CDNOW's parameters in scaled time with beta raised so that every pair is in the quadrature's range)."""
    tr = Triples.from_summary(summary("cdnow"))
    pairs = _pareto_pieces(tr, 1.0 / tr.T.max())
    params = np.array([0.553, 10.58 / 39, 3.606, 11.67 / 39 / PARETO_QUADRATURE_MAX_RHO * 1.5])
    l1, l2 = pareto_pair_terms(params, pairs)
    scipy1 = likelihood_module._hyp2f1_pair_terms(params, pairs.xr_x, pairs.xr_rec)
    scipy2 = likelihood_module._hyp2f1_pair_terms(params, pairs.xT_x, pairs.xT_T)
    np.testing.assert_allclose(l1, scipy1, rtol=1e-11)
    np.testing.assert_allclose(l2, scipy2, rtol=1e-11)


def test_pareto_objective_is_finite_with_a_true_gradient_past_where_2f1_overflowed():
    """Where s and beta grow together (one dropout rate for everyone) scipy's 2F1 overflowed first for
    the largest frequency and the objective read -inf, so a fit stopped there; now it is finite and its
    gradient equals finite differences."""
    tr = Triples.from_summary(summary("simulated"))
    args = (_pareto_pieces(tr, 1.0 / tr.T.max()), 0.0, tr.weights.sum())
    for theta in (np.array([-0.27, -3.56, 4.62, 3.85]), np.array([-0.27, -3.57, 8.5, 7.8])):
        value, grad = pareto_nbd_objective(theta, *args)
        assert np.isfinite(value)
        np.testing.assert_allclose(grad, numeric_gradient(pareto_nbd_objective, theta, args), rtol=1e-5, atol=1e-8)


def test_bfgs_accepts_a_precision_loss_stop_only_with_a_small_gradient():
    """An objective known to 1e-7 only (rounded): BFGS stops for precision loss 1e-4 short of the
    optimum's gradient; `fit_bfgs` refuses it, unless its gradient is within `precision_gradient`."""
    optimum = np.array([1.0, -0.5])

    def rounded(theta):
        d = theta - optimum
        return round(float(np.sum(np.log(np.cosh(3 * d)) + 0.1 * d**4)), 7), 3 * np.tanh(3 * d) + 0.4 * d**3

    start = np.array([0.3, 0.9])
    with pytest.raises(FitFailed, match="precision loss"):
        likelihood_module.fit_bfgs(rounded, start, (), tol=1e-10)
    with pytest.raises(FitFailed, match="precision loss"):
        likelihood_module.fit_bfgs(rounded, start, (), tol=1e-10, precision_gradient=1e-6)
    theta = likelihood_module.fit_bfgs(rounded, start, (), tol=1e-10, precision_gradient=1e-3)
    np.testing.assert_allclose(theta, optimum, atol=1e-4)
