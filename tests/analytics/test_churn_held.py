"""The churn analysis as the app's session cache keeps it: without the feature table, the same figures."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from analytics.business.churn_analysis import (
    ChurnSettings,
    analyse_churn,
    analysis_without_feature_table,
    feature_table,
)
from analytics.data.datasets import load_demo
from analytics.data.ingest import load_files
from analytics.models.btyd import simulate_transactions
from analytics.reports.sections.churn import section_from_analysis


@pytest.fixture(scope="module")
def purchases():
    tx = simulate_transactions(3000, r=0.62, alpha=6.0, a=0.8, b=4.0, random_state=5)
    text = tx.assign(order_date=tx["order_date"].dt.strftime("%Y-%m-%d"), amount=tx["amount"].round(2))
    return load_files([("orders.csv", text.to_csv(index=False).encode())])


def assert_same_figures(light, whole):
    assert section_from_analysis(light) == section_from_analysis(whole)
    pd.testing.assert_frame_equal(light.scores, whole.scores)
    pd.testing.assert_frame_equal(light.gains, whole.gains)
    pd.testing.assert_frame_equal(light.calibration, whole.calibration)
    pd.testing.assert_frame_equal(light.model.importances_, whole.model.importances_)
    pd.testing.assert_frame_equal(light.model.cv_results_, whole.model.cv_results_)
    assert light.model.metrics_ == whole.model.metrics_ and light.drivers == whole.drivers
    np.testing.assert_array_equal(light.model.oof_proba_.to_numpy(), whole.model.oof_proba_.to_numpy())
    np.testing.assert_array_equal(light.y.to_numpy(), whole.y.to_numpy())
    assert light.churn_rate == whole.churn_rate and light.lift_at(0.2) == whole.lift_at(0.2)
    assert light.target == whole.target and light.n_unlabelled == whole.n_unlabelled
    probe = pd.DataFrame(whole.features.X.iloc[:50])
    np.testing.assert_array_equal(light.model.predict_proba(probe), whole.model.predict_proba(probe))


def test_derived_churn_is_kept_without_its_feature_table_and_gives_the_same_figures(purchases):
    whole = analyse_churn(purchases, ChurnSettings())
    light = analysis_without_feature_table(whole)
    assert len(whole.features.X) == len(whole.y) > 1000
    assert len(light.features.X) == 0 and list(light.features.X.columns) == list(whole.features.X.columns)
    assert len(light.derived.features) == 0 and light.derived.cutoff == whole.derived.cutoff
    assert_same_figures(light, whole)
    # the one view that reads the rows gets the very table back, rebuilt from the purchases
    pd.testing.assert_frame_equal(feature_table(light, purchases), whole.features.X, check_exact=True)
    assert feature_table(whole, purchases) is whole.features.X
    assert len(pickle.dumps(light)) < 0.5 * len(pickle.dumps(whole))
    # the analysis it was made from is not changed
    assert whole.model.oof_proba_.index.equals(whole.features.X.index) and len(whole.derived.features) > 0


def test_a_churn_column_keeps_its_customers_attributes():
    data = load_demo("subscription")
    whole = analyse_churn(data, ChurnSettings())
    light = analysis_without_feature_table(whole)
    assert whole.source == "column"
    assert light.features.X is whole.features.X and feature_table(light, data) is whole.features.X
    assert_same_figures(light, whole)
