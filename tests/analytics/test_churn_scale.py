"""The churn stage at scale: the same results with less work (no second customer-day table, capped samples)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance

from analytics.business import churn_analysis
from analytics.business.churn_analysis import ChurnSettings, analyse_churn
from analytics.business.churn_angles import CLASSIFIER, PALIVE, _purchases_to, churn_angles, p_alive_at
from analytics.business.churn_inputs import _check_transactions
from analytics.data.codes import id_codes
from analytics.data.datasets import load_demo
from analytics.data.ingest import load_files
from analytics.data.schema import ORDER_DATE
from analytics.engine.customer_days import customer_days
from analytics.models import churn as churn_model
from analytics.models.churn import (
    ChurnModel,
    gains_at,
    make_pipeline,
    permutation_auc_drops,
    score_distinct,
    tree_groups,
)
from analytics.models.sampling import REFIT_SAMPLE_ROWS, stratified_sample
from analytics.reports.sections.churn import section_from_analysis
from tests.analytics.helpers import record_id_positions
from tests.analytics.test_churn_sampling import customers


def test_p_alive_at_the_cutoff_reuses_the_whole_frame_and_matches_the_filtered_one():
    tx = load_demo("cdnow_sample").require_transactions()
    cutoff = pd.Timestamp("1997-10-01")
    assert _purchases_to(tx, cutoff) is tx  # dates only: nothing on the cutoff day after midnight
    built = customer_days(tx)
    whole = p_alive_at(tx, cutoff)
    assert customer_days(tx) is built  # the frame's customer-day table, not a second one
    filtered = p_alive_at(tx[tx[ORDER_DATE] <= cutoff].copy(), cutoff)
    pd.testing.assert_series_equal(whole, filtered)
    assert len(whole) == tx.loc[tx[ORDER_DATE] <= cutoff, "customer_id"].nunique()


def test_a_purchase_after_midnight_on_the_cutoff_day_keeps_the_filtered_frame():
    tx = load_demo("cdnow_sample").require_transactions().copy()
    cutoff = pd.Timestamp("1997-10-01")
    tx.loc[tx.index[0], ORDER_DATE] = cutoff + pd.Timedelta(hours=15)
    kept = _purchases_to(tx, cutoff)
    assert kept is not tx
    assert len(kept) == int((tx[ORDER_DATE] <= cutoff).sum())
    assert kept[ORDER_DATE].max() <= cutoff
    with pytest.raises(KeyError):
        kept.loc[tx.index[0]]


def _coefficients(model: ChurnModel) -> np.ndarray:
    return np.r_[model.pipeline_[-1].coef_.ravel(), model.pipeline_[-1].intercept_]


def test_a_refit_cap_above_the_customers_gives_identical_coefficients():
    X, y = customers(3000)
    default = ChurnModel(model="logistic").fit(X, y)
    capped = ChurnModel(model="logistic", refit_sample_rows=3000).fit(X, y)
    assert default.refit_rows_ == capped.refit_rows_ == 3000
    np.testing.assert_array_equal(_coefficients(default), _coefficients(capped))


def test_the_refit_sample_is_stratified_and_its_size_reported():
    X, y = customers(6000)
    model = ChurnModel(model="logistic", cv_sample_rows=2000, refit_sample_rows=2500).fit(X, y)
    assert model.refit_rows_ == 2500
    rows = stratified_sample(y.to_numpy(dtype=int), 2500, 0)
    assert int(y.iloc[rows].sum()) == round(2500 * y.mean())  # the churn rate of all customers
    by_hand = make_pipeline("logistic", ("tenure", "charges"), ("contract",), 2500, 0).fit(X.iloc[rows], y.iloc[rows])
    np.testing.assert_allclose(_coefficients(model), np.r_[by_hand[-1].coef_.ravel(), by_hand[-1].intercept_])
    assert REFIT_SAMPLE_ROWS == 100_000 and ChurnModel().refit_sample_rows == REFIT_SAMPLE_ROWS


def test_without_scores_outside_the_sample_the_samples_own_out_of_fold_scores_are_kept():
    X, y = customers(6000)
    everyone = ChurnModel(model="logistic", cv_sample_rows=2000).fit(X, y)
    sample_only = ChurnModel(model="logistic", cv_sample_rows=2000, oof_outside_sample=False).fit(X, y)
    rows = stratified_sample(y.to_numpy(dtype=int), 2000, 0)
    assert everyone.oof_rows_ == 6000 and sample_only.oof_rows_ == 2000
    np.testing.assert_array_equal(sample_only.oof_proba_.to_numpy()[rows], everyone.oof_proba_.to_numpy()[rows])
    assert sample_only.oof_proba_.drop(sample_only.oof_proba_.index[rows]).isna().all()
    assert sample_only.metrics_ == everyone.metrics_
    np.testing.assert_array_equal(_coefficients(sample_only), _coefficients(everyone))


@pytest.mark.slow  # two churn analyses of the CDNOW sample
def test_derived_churn_is_measured_on_the_cv_sample_and_scored_in_chunks(monkeypatch):
    data = load_demo("cdnow_sample")
    full = analyse_churn(data, ChurnSettings())
    section = section_from_analysis(full)
    assert section["evaluation_sample_size"] == section["refit_sample_size"] == section["n"] == 2357

    def small_model(settings: ChurnSettings, oof_outside_sample: bool) -> ChurnModel:
        return ChurnModel(settings.model, cv_sample_rows=1000, oof_outside_sample=oof_outside_sample)

    monkeypatch.setattr(churn_analysis, "_churn_model", small_model)
    monkeypatch.setattr(churn_model, "SCORING_CHUNK_ROWS", 500)
    sampled = analyse_churn(data, ChurnSettings())
    section = section_from_analysis(sampled)
    assert section["cv_sample_size"] == section["evaluation_sample_size"] == 1000
    assert section["n"] == section["refit_sample_size"] == 2357
    scored = sampled.scores["oof_probability"].notna().to_numpy()
    assert scored.sum() == 1000
    y, p = sampled.y.to_numpy()[scored], sampled.scores["oof_probability"].to_numpy()[scored]
    assert section["lift_top_20"] == pytest.approx(gains_at(y, p, 0.2))
    assert sampled.gains["share_caught"].iloc[-1] == 1.0
    assert sampled.calibration["customers"].sum() == 1000
    # the refit saw every customer in both runs: scoring in chunks of 500 gives the same risks
    np.testing.assert_allclose(sampled.scores["churn_probability"], full.scores["churn_probability"], rtol=1e-12)
    angles = churn_angles(data, sampled)
    assert angles.angles[CLASSIFIER].n_auc == angles.angles[PALIVE].n_auc == 1000  # the same customers


@pytest.mark.parametrize("name", ["logistic", "gradient_boosting"])
def test_permutation_drops_are_scikit_learns_permutation_importance(name):
    X, y = customers(1500)
    fitted = make_pipeline(name, ("tenure", "charges"), ("contract",), 1000, 0).fit(X.iloc[:1000], y.iloc[:1000])
    held_out, labels = X.iloc[1000:], y.iloc[1000:].to_numpy(dtype=int)
    ours = permutation_auc_drops(fitted, held_out, labels, n_repeats=5, random_state=7)
    theirs = permutation_importance(fitted, held_out, labels, scoring="roc_auc", n_repeats=5, random_state=7)
    np.testing.assert_allclose(ours, theirs.importances, rtol=0, atol=1e-12)
    assert (ours[:, 0] != ours[:, 1]).any()  # each repeat is a new shuffle


def test_purchases_without_an_id_or_a_date_are_left_out_with_or_without_cleanings_codes():
    content = b"customer_id,order_date,amount\na,2024-01-01,5\nb,2024-01-02,6\na,2024-02-01,7\nc,2024-02-03,8\n"
    tx = load_files([("purchases.csv", content)]).require_transactions()
    assert id_codes(tx, "customer_id") is not None  # the cleaned frame: cleaning's codes answer
    assert _check_transactions(tx) is tx
    edited = tx.copy()  # a frame cleaning never saw: the ids themselves are read
    edited.loc[edited.index[1], "customer_id"] = None
    edited.loc[edited.index[3], ORDER_DATE] = pd.NaT
    assert id_codes(edited, "customer_id") is None
    assert _check_transactions(edited)["customer_id"].tolist() == ["a", "a"]


def spend_rows(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Purchase features with almost every row distinct (spend), blanks and ties, and a churn label."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 400, n).astype(float)
    orders = rng.integers(1, 12, n).astype(float)
    spend = orders * rng.gamma(3.0, 20.0, n)
    gap = np.where(orders > 1, rng.gamma(2.0, 30.0, n), np.nan)
    X = pd.DataFrame({"days": days, "orders": orders, "spend": spend, "gap": gap})
    risk = 1 / (1 + np.exp(-(days / 100 - orders / 3 - 0.5)))
    return X, pd.Series(rng.random(n) < risk)


def test_boosting_scores_each_group_of_rows_its_trees_cannot_tell_apart_once_with_the_same_values(monkeypatch):
    X, y = spend_rows(6000, 5)
    fitted = make_pipeline("gradient_boosting", tuple(X.columns), (), len(X), 0).fit(X, y)
    base, _ = spend_rows(500, 6)
    new = base.sample(5000, replace=True, random_state=1).reset_index(drop=True)
    new["spend"] *= 1 + 1e-9 * np.arange(1, 5001)  # every row distinct, on the same sides of (nearly) every split
    new.loc[new.index[:50], "spend"] = np.inf  # beyond every threshold
    new.loc[new.index[50:80], "days"] = np.nan  # blank where training had none
    scored_rows = []
    score_binned = churn_model._score_binned

    def counting(model, binned):
        scored_rows.append(len(binned))
        return score_binned(model, binned)

    monkeypatch.setattr(churn_model, "_score_binned", counting)
    monkeypatch.setattr(churn_model, "SCORING_CHUNK_ROWS", 1500)  # groups found across chunks
    grouped = score_distinct(fitted, new)
    assert 0 < sum(scored_rows) < 0.9 * len(new)  # fewer rows went through the trees
    np.testing.assert_array_equal(grouped, fitted.predict_proba(new))  # bit for bit
    assert len(new["spend"].unique()) == len(new) - 49  # the raw rows were all distinct


def test_boosting_scores_binned_rows_as_scikit_learn_scores_raw_ones():
    # values on the bins' edges, between them, beyond both ends, infinite and blank, in a column
    # with a split on blanks: the bin read where scikit-learn reads the value, the same sums
    X, y = spend_rows(6000, 8)
    y.iloc[:300] = True
    X.loc[X.index[:300], "days"] = np.nan  # blanks that go with churn: splits on blanks (+inf thresholds)
    fitted = make_pipeline("gradient_boosting", tuple(X.columns), (), len(X), 0).fit(X, y)
    model = fitted[-1]
    assert np.isinf(np.concatenate(churn_model._split_points(model))).any()
    edges = [np.asarray(t, dtype=float) for t in model._bin_mapper.bin_thresholds_]
    rng = np.random.default_rng(3)
    new = pd.DataFrame(
        {
            column: np.r_[
                edges[j],
                np.nextafter(edges[j], np.inf),
                rng.choice(edges[j], 200) - 1e-9,
                [-np.inf, np.inf, np.nan, edges[j][0] - 1e6, edges[j][-1] + 1e6],
                rng.choice(X[column].dropna().to_numpy(), 2000),
            ][:2000]
            for j, column in enumerate(X.columns)
        }
    )
    binned = model._bin_mapper.transform(new.to_numpy(dtype=float))
    np.testing.assert_array_equal(churn_model._score_binned(model, binned), fitted.predict_proba(new))
    np.testing.assert_array_equal(score_distinct(fitted, new), fitted.predict_proba(new))


def test_binned_rows_find_their_leaves_by_table_look_ups_with_the_same_sums(monkeypatch):
    # every tree's leaf of every row from the column masks (no tree walked row by row), blanks with a
    # split on blanks included; the sums bit for bit those of scikit-learn's own scoring
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    X, y = spend_rows(6000, 8)
    y.iloc[:300] = True
    X.loc[X.index[:300], "days"] = np.nan
    fitted = make_pipeline("gradient_boosting", tuple(X.columns), (), len(X), 0).fit(X, y)
    model = fitted[-1]
    new, _ = spend_rows(9000, 9)  # more rows than one chunk of look-ups
    new.loc[new.index[:40], "days"] = np.nan
    new.loc[new.index[40:60], "spend"] = np.inf
    expected = fitted.predict_proba(new)
    binned = model._bin_mapper.transform(new.to_numpy(dtype=float))

    def walked(*args, **kwargs):
        raise AssertionError("a tree was walked row by row")

    monkeypatch.setattr(TreePredictor, "predict_binned", walked)
    np.testing.assert_array_equal(churn_model._score_binned(model, binned), expected)
    np.testing.assert_array_equal(score_distinct(fitted, new), expected)
    masks = churn_model._LeafMasks.of(model)
    leaves = [int(tree.nodes["is_leaf"].sum()) for trees in model._predictors for tree in trees]
    assert masks is not None and masks.values.shape == (len(leaves), 16) and max(leaves) <= 15


def test_trees_with_more_than_16_leaves_are_walked_with_the_same_sums():
    X, y = spend_rows(6000, 10)
    fitted = make_pipeline("gradient_boosting", tuple(X.columns), (), len(X), 0)
    fitted.set_params(model__max_leaf_nodes=40, model__min_samples_leaf=5).fit(X, y)
    model = fitted[-1]
    assert max(int(tree.nodes["is_leaf"].sum()) for trees in model._predictors for tree in trees) > 16
    assert churn_model._LeafMasks.of(model) is None
    new, _ = spend_rows(3000, 11)
    binned = model._bin_mapper.transform(new.to_numpy(dtype=float))
    np.testing.assert_array_equal(churn_model._score_binned(model, binned), fitted.predict_proba(new))


def test_logistic_scores_every_row():
    X, y = spend_rows(3000, 7)
    X = X.fillna(0.0)
    fitted = make_pipeline("logistic", tuple(X.columns), (), len(X), 0).fit(X, y)
    np.testing.assert_array_equal(score_distinct(fitted, X), fitted.predict_proba(X))


def test_tree_groups_renumber_before_the_key_overflows():
    codes = np.array([[1, 2, 3], [1, 2, 3], [0, 2, 3], [1, 2, 4]], dtype=np.int32)
    first, group = tree_groups(codes, [2**40, 2**30, 2**20])  # 2**90 combinations: renumbered
    assert list(group) == [group[0], group[0], group[2], group[3]]
    assert len(set(group.tolist())) == 3
    np.testing.assert_array_equal(codes[first][group], codes)


def test_tree_groups_are_numpys_unique_first_rows_and_groups():
    rng = np.random.default_rng(9)
    codes = rng.integers(0, 7, (5000, 3)).astype(np.int32)
    first, group = tree_groups(codes, [7, 7, 7])
    key = (codes[:, 0].astype(np.int64) * 7 + codes[:, 1]) * 7 + codes[:, 2]
    _, expected_first, expected_group = np.unique(key, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(first, expected_first)
    np.testing.assert_array_equal(group, expected_group.reshape(-1))
    assert tree_groups(codes[:0], [7, 7, 7])[0].size == 0


@pytest.mark.slow  # the churn analysis and two purchase-model fits of the CDNOW sample
def test_churn_angles_line_up_by_the_customer_day_tables_codes_as_by_hashing(monkeypatch):
    from analytics.business import churn_angles as angles_module
    from analytics.engine.id_positions import customer_codes

    data = load_demo("cdnow_sample")
    analysis = analyse_churn(data, ChurnSettings())
    table = customer_days(data.require_transactions())
    calls = record_id_positions(monkeypatch, angles_module)
    by_codes = churn_angles(data, analysis)
    assert len(calls) == 2 and all(passed is table for _, _, passed in calls)  # P(alive) at the cutoff and today
    assert all(customer_codes(table, s) is not None and customer_codes(table, t) is not None for s, t, _ in calls)
    monkeypatch.setattr(angles_module, "customer_days", lambda transactions: None)  # no table: the ids hashed
    hashed = churn_angles(data, analysis)
    pd.testing.assert_frame_equal(by_codes.flags, hashed.flags)
    pd.testing.assert_frame_equal(by_codes.agreement, hashed.agreement)
    assert {k: (a.auc, a.n_auc) for k, a in by_codes.angles.items()} == {
        k: (a.auc, a.n_auc) for k, a in hashed.angles.items()
    }


def test_boosting_permutation_drops_from_binned_rows_are_scikit_learns_bit_for_bit(monkeypatch):
    X, y = spend_rows(4000, 12)
    fitted = make_pipeline("gradient_boosting", tuple(X.columns), (), 3000, 0).fit(X.iloc[:3000], y.iloc[:3000])
    held_out, labels = X.iloc[3000:], y.iloc[3000:].to_numpy(dtype=int)
    theirs = permutation_importance(fitted, held_out, labels, scoring="roc_auc", n_repeats=5, random_state=7)
    through_pipeline = []
    monkeypatch.setattr(type(fitted), "decision_function", lambda self, X: through_pipeline.append(len(X)))
    ours = permutation_auc_drops(fitted, held_out, labels, n_repeats=5, random_state=7)
    assert through_pipeline == []  # every score from the binned rows
    np.testing.assert_array_equal(ours, theirs.importances)
    splits = churn_model._BinnedTrees.of(fitted, held_out).splits_on
    assert any(len(used) < X.shape[1] for used in splits)  # some trees skipped for some columns
