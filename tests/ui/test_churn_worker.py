"""ui.models: a large purchase log's churn model is fitted on the worker process and gives the same analysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.business.churn_analysis import ChurnSettings, analyse_churn
from analytics.engine.parallel import SharedWorker
from analytics.reports.sections.churn import section_from_analysis
from tests.ui import test_worker
from ui import models

# the lifetime-value worker test's fixtures: a 3,000-customer purchase log, a worker process
data, shared = test_worker.data, test_worker.shared


recorded = test_worker.recorded


def assert_same_analysis(there, here):
    pd.testing.assert_frame_equal(there.scores, here.scores, check_exact=True)
    pd.testing.assert_frame_equal(there.gains, here.gains, check_exact=True)
    pd.testing.assert_frame_equal(there.calibration, here.calibration, check_exact=True)
    pd.testing.assert_frame_equal(there.model.importances_, here.model.importances_, check_exact=True)
    pd.testing.assert_frame_equal(there.model.cv_results_, here.model.cv_results_, check_exact=True)
    pd.testing.assert_series_equal(there.model.oof_proba_, here.model.oof_proba_, check_exact=True)
    pd.testing.assert_series_equal(there.y, here.y, check_exact=True)
    pd.testing.assert_frame_equal(there.features.X, here.features.X, check_exact=True)
    assert there.model.metrics_ == here.model.metrics_ and there.model.model_name_ == here.model.model_name_
    assert there.drivers == here.drivers and there.target == here.target
    assert there.derived.cutoff == here.derived.cutoff and there.n_unlabelled == here.n_unlabelled
    assert section_from_analysis(there) == section_from_analysis(here)
    rows = here.features.X.iloc[:200]
    np.testing.assert_array_equal(there.model.predict_proba(rows), here.model.predict_proba(rows))


@pytest.mark.parametrize("model", ["auto", "logistic"])
def test_the_churn_fit_on_the_worker_process_gives_the_analysis_computed_here(data, shared, monkeypatch, model):
    settings = ChurnSettings(model=model)
    calls = recorded(shared, monkeypatch)
    there = models.churn_on_worker(data, settings, shared)
    assert calls == [("fit_churn_rows", True)]
    here = analyse_churn(data, settings)
    assert there.source == "purchases" and len(there.scores) == len(data.transactions["customer_id"].unique())
    assert_same_analysis(there, here)


def test_without_a_worker_process_the_churn_fit_runs_here_with_the_same_result(data, monkeypatch):
    alone = SharedWorker(workers=1)  # e.g. one core: every call computed here
    calls = recorded(alone, monkeypatch)
    there = models.churn_on_worker(data, ChurnSettings(), alone)
    assert calls == [("fit_churn_rows", False)]
    assert_same_analysis(there, analyse_churn(data, ChurnSettings()))


def test_a_failed_churn_fit_on_the_worker_says_why_as_here(shared, monkeypatch):
    """The fit itself fails (every customer buys every week, so nobody churns: too few churners to learn
    from), on the worker process, and the page gets the same message as when it fails here (review F3:
    a window longer than the data failed in `churn_inputs`, before any call reached the worker)."""
    from analytics.business.churn_analysis import churn_fit_arguments, churn_inputs, fit_churn_rows
    from analytics.data.ingest import load_files
    from analytics.data.schema import DataError

    weeks = pd.date_range("2024-01-01", periods=104, freq="W-MON")
    rows = pd.DataFrame(
        [(f"c{c:03d}", day.strftime("%Y-%m-%d"), 10.0 + c % 7) for c in range(300) for day in weeks],
        columns=["customer_id", "order_date", "amount"],
    )
    loyal = load_files([("orders.csv", rows.to_csv(index=False).encode())])
    settings = ChurnSettings()
    inputs = churn_inputs(loyal, settings)  # the label and attributes are fine: the fit is what fails
    assert not inputs.y.any()
    with pytest.raises(DataError) as here:
        fit_churn_rows(*churn_fit_arguments(inputs, settings))
    calls = recorded(shared, monkeypatch)
    with pytest.raises(DataError) as there:
        models.churn_on_worker(loyal, settings, shared)
    assert calls == [("fit_churn_rows", True)]
    assert str(there.value) == str(here.value)
    assert str(there.value).startswith("Too few churned customers (0)")
