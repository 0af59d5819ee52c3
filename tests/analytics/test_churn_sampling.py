"""Churn model comparison on a stratified sample for large data (analytics.models.sampling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from analytics.models.churn import ChurnModel
from analytics.models.sampling import auc_standard_error, stratified_sample


def test_stratified_sample_keeps_the_churn_rate():
    y = np.r_[np.ones(300, bool), np.zeros(700, bool)]
    rows = stratified_sample(y, 100, random_state=1)
    assert len(rows) == 100 and len(np.unique(rows)) == 100
    assert int(y[rows].sum()) == 30
    assert np.array_equal(stratified_sample(y, 5000, 1), np.arange(1000))


def test_auc_standard_error_by_hand():
    # Hanley & McNeil (1982) eq. 2 for A = 0.8, 50 positives and 50 negatives:
    # Q1 = 0.8 / 1.2 = 0.66667, Q2 = 1.28 / 1.8 = 0.71111,
    # var = (0.16 + 49 * 0.026667 + 49 * 0.071111) / 2500 = 0.0019804, SE = 0.04450
    assert auc_standard_error(0.8, 50, 50) == pytest.approx(0.04450, abs=5e-5)
    assert np.isnan(auc_standard_error(0.8, 0, 50))


def customers(n: int, seed: int = 3) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, n).astype(float),
            "charges": rng.normal(70, 20, n),
            "contract": rng.choice(["month", "year", "two years"], n),
        }
    )
    logit = -1.0 - 0.04 * X["tenure"] + 0.02 * (X["charges"] - 70) + np.where(X["contract"] == "month", 1.5, 0.0)
    y = pd.Series(rng.random(n) < 1 / (1 + np.exp(-logit)), name="churned")
    return X, y


def test_large_data_is_cross_validated_on_a_sample_and_everyone_gets_an_out_of_fold_score():
    X, y = customers(6000)
    full = ChurnModel(model="logistic", random_state=0).fit(X, y)
    sampled = ChurnModel(model="logistic", random_state=0, cv_sample_rows=2000, refit_sample_rows=3000).fit(X, y)
    assert full.metrics_["cv_rows"] == 6000
    assert sampled.metrics_["cv_rows"] == 2000 and sampled.refit_rows_ == 3000
    oof = sampled.oof_proba_
    assert len(oof) == 6000 and oof.notna().all() and ((oof > 0) & (oof < 1)).all()
    # the sample's AUC estimates the full one within its sampling error
    se = sampled.metrics_["auc_se"]
    assert 0.005 < se < 0.03
    assert abs(sampled.metrics_["auc"] - full.metrics_["auc"]) < 3 * se
    assert sampled.predict_proba(X).shape == (6000, 2)
    # rows outside the sample are scored by a fold model that never saw them: their AUC is an honest
    # held-out AUC (close to the cross-validated one), and differs from the refit model's scores
    outside = np.ones(len(X), dtype=bool)
    outside[stratified_sample(y.to_numpy(dtype=int), 2000, 0)] = False
    assert outside.sum() == 4000
    auc_outside = roc_auc_score(y[outside], oof[outside])
    assert abs(auc_outside - full.metrics_["auc"]) < 3 * se
    assert not np.allclose(oof.to_numpy()[outside], sampled.predict_proba(X)[outside, 1])


def test_models_within_their_sampling_error_are_both_cross_validated_in_full():
    X, y = customers(6000)
    model = ChurnModel(random_state=0, cv_sample_rows=3000).fit(X, y)
    assert model.skipped_ == {}
    results = model.cv_results_.set_index("model")
    assert set(results.index) == {"logistic", "gradient_boosting"}
    assert results["auc_std"].notna().all()  # every fold ran for both
    gap = abs(results.loc["logistic", "auc"] - results.loc["gradient_boosting", "auc"])
    assert gap < 4 * model.metrics_["auc_se"] * 2**0.5
