"""ui.worker: a large purchase log's lifetime-value fit runs on the worker process and gives the same analysis."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.data.ingest import load_files
from analytics.engine.parallel import SharedWorker
from analytics.models.btyd import simulate_transactions
from analytics.models.clv import ClvSettings, analyse_clv
from ui import models
from ui import worker as app_worker


@pytest.fixture(scope="module")
def data():
    tx = simulate_transactions(3000, r=0.62, alpha=6.0, a=0.8, b=4.0, random_state=5)
    text = tx.assign(order_date=tx["order_date"].dt.strftime("%Y-%m-%d"), amount=tx["amount"].round(2))
    return load_files([("orders.csv", text.to_csv(index=False).encode())])


@pytest.fixture(scope="module")
def shared():
    worker = SharedWorker(warm_imports=app_worker.WORKER.warm_imports, workers=2)
    yield worker
    worker.close()


def recorded(worker, monkeypatch) -> list[tuple[str, bool]]:
    """The calls `worker` is given: (function name, whether the worker process took it)."""
    calls = []
    run = worker.run

    def record(function, *args, **kwargs):
        job = run(function, *args, **kwargs)
        calls.append((function.__name__, job.ran_on_worker))
        return job

    monkeypatch.setattr(worker, "run", record)
    return calls


def test_the_fit_on_the_worker_process_gives_the_analysis_computed_here(data, shared, monkeypatch):
    settings = ClvSettings(time_unit="W")
    calls = recorded(shared, monkeypatch)
    fitted_there = models.analysis_on_worker(data, settings, shared)
    fitted_here = analyse_clv(data.transactions, settings)
    # the holdout's purchase days before the session cache drops them (079dd7e), then the held forms
    assert fitted_there.comparison.split.days.day.size == fitted_here.comparison.split.days.day.size > 0
    there, here = models.held_analysis(fitted_there), models.held_analysis(fitted_here)
    assert calls == [("fit_rows", True)]
    pd.testing.assert_frame_equal(there.customers, here.customers)
    pd.testing.assert_frame_equal(there.comparison.predictions, here.comparison.predictions)
    pd.testing.assert_frame_equal(there.comparison.metrics, here.comparison.metrics)
    assert there.selected == here.selected and there.purchase_model.params_ == here.purchase_model.params_
    assert there.spend_model.params_ == here.spend_model.params_ and there.interval == here.interval
    assert there.comparison.split.days is None and here.comparison.split.days is None


def test_only_a_large_purchase_log_goes_to_the_worker(data, monkeypatch):
    assert len(data.transactions) < app_worker.MIN_PURCHASES
    assert app_worker.for_data(data) is None
    monkeypatch.setattr(app_worker, "MIN_PURCHASES", 10)
    assert app_worker.for_data(data) is (app_worker.WORKER if app_worker.WORKER.workers >= 2 else None)
    monkeypatch.setattr(app_worker, "ENABLED", False)
    assert app_worker.for_data(data) is None


@pytest.fixture()
def on_worker(shared, monkeypatch):
    """Every fit of a large purchase log goes to `shared` (a log of any size counts as large)."""
    monkeypatch.setattr(app_worker, "MIN_PURCHASES", 10)
    monkeypatch.setattr(app_worker, "WORKER", shared)
    return shared


def test_the_per_segment_fits_on_the_worker_equal_those_computed_here(data, on_worker):
    from analytics.business import segment_value as sv
    from ui import segments as us

    analysis = models.held_analysis(analyse_clv(data.transactions, ClvSettings(time_unit="W")))
    (key, labels), *_ = sv.segment_attributes(data).items()
    label = sv.attribute_label(key)
    here = sv.purchase_value_by_segment(analysis, labels, label=label)
    there = us._purchase_value_by_segment(data, analysis, labels, label)
    pd.testing.assert_frame_equal(there.table, here.table)
    assert there.notes == here.notes and len(here.table) >= 2


def test_the_angles_refit_at_the_cutoff_on_the_worker_equals_the_one_computed_here(data, on_worker):
    from analytics.business.churn_analysis import ChurnSettings, analyse_churn
    from analytics.business.churn_angles import churn_angles
    from ui import angles

    analysis = analyse_churn(data, ChurnSettings())
    at_cutoff = angles.p_alive_cutoff_on_worker(data, analysis, "bg_nbd")
    assert at_cutoff is not None and at_cutoff.between(0, 1).all()
    there = churn_angles(data, analysis, purchase_model="bg_nbd", p_alive_cutoff=at_cutoff)
    here = churn_angles(data, analysis, purchase_model="bg_nbd")
    assert {k: (a.auc, a.n_auc) for k, a in there.angles.items()} == {
        k: (a.auc, a.n_auc) for k, a in here.angles.items()
    }
    for name, angle in here.angles.items():
        pd.testing.assert_series_equal(there.angles[name].risk, angle.risk)
    pd.testing.assert_frame_equal(there.flags, here.flags)


def fails_to_converge(summary, model_name="pareto_nbd", time_unit="W"):
    """A purchase-model refit that fails (module-level: the worker process imports it by name)."""
    from analytics.data.schema import DataError

    raise DataError("The Pareto/NBD model did not converge on this data (simulated).")


def test_a_failed_refit_at_the_cutoff_leaves_churn_angles_to_explain_which_angles_there_are(
    data, on_worker, monkeypatch
):
    """The refit's DataError on the worker must not escape `churn_angles`' per-angle explanation."""
    from analytics.business import churn_angles as ca
    from analytics.business.churn_analysis import ChurnSettings, analyse_churn
    from analytics.data.schema import DataError
    from ui import angles

    monkeypatch.setattr(ca, "fitted_p_alive", fails_to_converge)
    monkeypatch.setattr(angles, "fitted_p_alive", fails_to_converge)
    analysis = analyse_churn(data, ChurnSettings())
    with pytest.raises(DataError) as library:
        ca.churn_angles(data, analysis, purchase_model="pareto_nbd")
    at_cutoff = angles.p_alive_cutoff_on_worker(data, analysis, "pareto_nbd")
    assert at_cutoff is None
    with pytest.raises(DataError) as app:
        ca.churn_angles(data, analysis, purchase_model="pareto_nbd", p_alive_cutoff=at_cutoff)
    assert str(app.value) == str(library.value) and "angles" in str(app.value) and "(simulated)" in str(app.value)
