"""Churn from three angles: each angle's AUC on the same label, the agreement matrix and all-flag customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.business.churn_analysis import ChurnSettings, analyse_churn
from analytics.business.churn_angles import (
    CLASSIFIER,
    PALIVE,
    SURVIVAL,
    _auc,
    _step_lookup,
    churn_angles,
    survival_risk,
)
from analytics.data.datasets import load_demo
from analytics.data.ingest import load_files
from analytics.reports.sections.churn_angles import report_section as angles_report_section


def test_kaplan_meier_step_lookup_and_survival_risk_by_hand():
    # KM of tenures 1, 2, 3, 4 months with leavers at 1 and 2: S(1) = 3/4, S(2) = 3/4 x 2/3 = 1/2
    content = b"customer_id,tenure_months,churned\na,1,Yes\nb,2,Yes\nc,3,No\nd,4,No\n"
    data = load_files([("customers.csv", content)])
    churned = data.customers.set_index("customer_id")["churned"].astype("boolean")
    risk = survival_risk(data, churned, None, horizon_months=1.5)
    # a at 1: 1 - S(2.5)/S(1) = 1 - 0.5/0.75 = 1/3; b at 2: 1 - S(3.5)/S(2) = 0; c, d: no later event
    assert risk.to_dict() == pytest.approx({"a": 1 / 3, "b": 0.0, "c": 0.0, "d": 0.0})
    assert list(_step_lookup(np.array([1.0, 2.0]), np.array([0.75, 0.5]), np.array([0.5, 1.0, 9.0]))) == [
        1.0,
        0.75,
        0.5,
    ]


@pytest.mark.slow  # fits the churn model on 6,000 customers
def test_subscription_demo_classifier_and_survival_agree_on_most_flags():
    data = load_demo("subscription")
    analysis = analyse_churn(data, ChurnSettings())
    result = churn_angles(data, analysis)
    assert set(result.angles) == {CLASSIFIER, SURVIVAL}
    assert "records who left" in result.unavailable[PALIVE]
    clf, surv = result.angles[CLASSIFIER], result.angles[SURVIVAL]
    assert clf.n_auc == surv.n_auc == 6000  # the same customers and label
    assert clf.auc == pytest.approx(0.82, abs=0.02)  # out-of-fold, as the Churn page reports
    assert 0.72 < surv.auc < clf.auc  # tenure and contract alone rank leavers well, the model better
    assert "Contract" in surv.basis
    flags = result.flags
    assert len(flags) == int(analysis.scores["active"].sum())  # current customers
    assert flags.sum().tolist() == [round(0.2 * len(flags))] * 2
    assert len(result.all_flag) == int(flags.all(axis=1).sum())
    assert result.agreement.loc[CLASSIFIER, SURVIVAL] == pytest.approx(len(result.all_flag) / flags[CLASSIFIER].sum())
    assert 0.5 < result.agreement.loc[CLASSIFIER, SURVIVAL] < 1
    section = angles_report_section(result)
    assert section["agreement"]["all_flag"] == len(result.all_flag)
    assert set(section["angles"]) == {CLASSIFIER, SURVIVAL}
    assert "Trust the churn model first" in section["agreement"]["advice"]


def test_cdnow_sample_classifier_and_purchase_model_on_the_derived_label():
    data = load_demo("cdnow_sample")
    analysis = analyse_churn(data, ChurnSettings())
    result = churn_angles(data, analysis)
    assert set(result.angles) == {CLASSIFIER, PALIVE}
    assert "subscription" in result.unavailable[SURVIVAL]
    clf, palive = result.angles[CLASSIFIER], result.angles[PALIVE]
    assert clf.n_auc == palive.n_auc == 2357
    assert clf.auc == pytest.approx(0.81, abs=0.02)
    # Pareto/NBD fitted up to the label's cutoff ranks the window's leavers well too (BG/NBD would not:
    # it gives one-time buyers P(alive) = 1)
    assert palive.auc == pytest.approx(0.78, abs=0.02)
    assert len(result.flags) == 2357
    assert isinstance(result.all_flag, pd.Index)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_riskiest_are_the_top_of_a_stable_descending_sort(seed):
    from analytics.business.churn_angles import _riskiest

    rng = np.random.default_rng(seed)
    risk = rng.integers(0, 12, 500) / 11.0  # many ties
    risk[rng.choice(500, 40, replace=False)] = np.nan
    risk[rng.choice(500, 5, replace=False)] = -0.0
    for k in (1, 37, 100, 459, 460, 470, 500):
        top = pd.Series(risk).sort_values(ascending=False, kind="stable").index[:k]
        expected = np.zeros(500, dtype=bool)
        expected[top] = True
        np.testing.assert_array_equal(_riskiest(risk, k), expected)


def _angles_as_before(result, flag_share=0.2):
    """Flags, agreement and all_flag the way they were computed by customer id (the reference)."""
    views = list(result.angles.values())
    common = views[0].risk.index
    for angle in views[1:]:
        common = common.intersection(angle.risk.index)
    flags = pd.DataFrame(index=common)
    k = max(1, int(round(flag_share * len(common))))
    for name, angle in result.angles.items():
        r = angle.risk.reindex(common).reset_index(drop=True)
        flagged = np.zeros(len(common), dtype=bool)
        flagged[r.sort_values(ascending=False, kind="stable").index[:k]] = True
        flags[name] = flagged
    return flags, flags.index[flags.all(axis=1)]


def test_angles_are_aligned_by_position_as_by_customer_id():
    data = load_demo("cdnow_sample")
    analysis = analyse_churn(data, ChurnSettings())
    ids = analysis.scores["customer_id"].astype(str)
    rng = np.random.default_rng(3)
    # P(alive) in another order, two customers missing, one blank; at the cutoff in yet another order
    now = pd.Series(rng.random(len(ids)).round(1), index=ids.to_numpy(), name="p_alive").sample(
        frac=1.0, random_state=1
    )
    now = now.iloc[2:]
    now.iloc[5] = np.nan
    at_cutoff = pd.Series(rng.random(len(ids)), index=ids.to_numpy()).sample(frac=1.0, random_state=2)
    result = churn_angles(data, analysis, p_alive_now=now, p_alive_cutoff=at_cutoff)
    scored = analysis.scores.set_index(ids)
    current = scored.index[scored["active"].astype(bool).to_numpy()]
    pd.testing.assert_series_equal(result.angles[PALIVE].risk, (1 - now).reindex(current).dropna())
    pd.testing.assert_series_equal(
        result.angles[CLASSIFIER].risk, scored.loc[current, "churn_probability"].astype(float)
    )
    y = scored["churned"].astype("boolean").dropna()
    y = y[scored["oof_probability"].notna().to_numpy()[scored["churned"].notna().to_numpy()]]
    assert (result.angles[PALIVE].auc, result.angles[PALIVE].n_auc) == _auc(y, 1 - at_cutoff)
    flags, all_flag = _angles_as_before(result)
    pd.testing.assert_frame_equal(result.flags, flags)
    pd.testing.assert_index_equal(result.all_flag, all_flag)
    assert len(result.flags) == len(ids) - 3
