"""The report with its purchase-model fit on a second process equals the report computed in one process."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analytics.data.datasets import DATA_DIR
from analytics.data.ingest import load_files
from analytics.engine import parallel
from analytics.models.btyd import simulate_transactions
from analytics.reports import report as report_module
from analytics.reports.report import (
    CHURN_MODEL,
    PURCHASE_FIT,
    SECTIONS,
    WAIT_FOR_FIT,
    ReportSettings,
    build_report,
    report_workers,
)


def _demo():
    names = ("subscription_customers.csv", "subscription_payments.csv")
    return load_files([(name, (DATA_DIR / name).read_bytes()) for name in names])


def _simulated():
    tx = simulate_transactions(3000, r=0.62, alpha=6.0, a=0.8, b=4.0, random_state=5)
    text = tx.assign(order_date=tx["order_date"].dt.strftime("%Y-%m-%d"), amount=tx["amount"].round(2))
    return load_files([("orders.csv", text.to_csv(index=False).encode())])


def _both(data, settings: ReportSettings) -> tuple[dict, dict, list[str]]:
    steps: list[str] = []
    alone = build_report(data, settings, workers=1)
    together = build_report(data, settings, progress=steps.append, workers=2)
    return alone, together, steps


@pytest.mark.parametrize(("make", "period"), [(_demo, "M"), (_simulated, "W")], ids=["demo", "simulated log"])
def test_two_processes_give_the_same_report_as_one(make, period):
    alone, together, steps = _both(make(), ReportSettings(period=period))
    assert json.dumps(together, sort_keys=False) == json.dumps(alone, sort_keys=False)  # same keys, same order
    assert alone["clv"] is not None and alone["churn"] is not None and alone["churn"]["angles"]
    # the worker fitted while this process ran the segments and the churn model
    assert steps[:5] == [PURCHASE_FIT, "segments", "retention_sbg", CHURN_MODEL, WAIT_FOR_FIT]
    assert sorted(steps[5:]) == sorted(set(SECTIONS) - {"segments", "retention_sbg"})


def test_without_a_worker_process_the_report_is_computed_here_and_the_same(monkeypatch):
    data = _simulated()
    alone = build_report(data, ReportSettings(), workers=1)
    monkeypatch.setattr(parallel, "START_METHOD", "no-such-start-method")
    steps: list[str] = []
    assert build_report(data, ReportSettings(), progress=steps.append, workers=2) == alone
    assert CHURN_MODEL not in steps  # in order, in this process


def test_a_fit_that_fails_on_the_worker_gives_the_same_reasons(monkeypatch):
    """A history too short for a holdout: the clv section's reason is the one a single process gives."""
    tx = simulate_transactions(300, r=0.62, alpha=6.0, a=0.8, b=4.0, random_state=5, observation_days=40)
    text = tx.assign(order_date=tx["order_date"].dt.strftime("%Y-%m-%d"))
    data = load_files([("orders.csv", text.to_csv(index=False).encode())])
    alone = build_report(data, ReportSettings(), workers=1)
    assert alone["clv"] is None and "clv" in alone["reasons"]
    assert build_report(data, ReportSettings(), workers=2) == alone


def test_large_purchase_logs_use_two_processes_by_default(monkeypatch):
    data = _simulated()
    assert report_workers(data) == 1  # 3,000 customers: a second process would not pay for its start
    assert report_workers(data, 2) == 2 and report_workers(data, 1) == 1
    monkeypatch.setattr(report_module, "PARALLEL_MIN_PURCHASES", 10)
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    assert report_workers(data) == 2
    monkeypatch.setattr(parallel, "available_cores", lambda: 1)
    assert report_workers(data) == 1


def test_the_analysis_comes_back_by_position_and_equals_the_one_computed_here():
    """What the worker sends back carries no customer id nor the fitters' data, and unpacks to the same analysis."""
    import pickle

    from analytics.models.clv import analyse_summaries
    from analytics.reports.sections.clv import fit_arguments, fit_inputs, fitted_rows, with_rows

    data = _simulated()
    clv = report_module.clv_settings(ReportSettings())
    split, summary = fit_inputs(data, clv)
    here = analyse_summaries(split, summary, clv)
    sent_split, sent_summary = fit_arguments(split, summary)
    assert sent_summary.index.equals(pd.RangeIndex(len(summary))) and len(sent_split.days.day) == 0
    packed = fitted_rows(analyse_summaries(sent_split, sent_summary, clv), sent_summary)
    assert packed.analysis.customers.empty and packed.analysis.comparison.predictions.empty
    assert packed.analysis.purchase_model.fitter_.data is None and here.purchase_model.fitter_.data is not None
    assert len(pickle.dumps(packed)) < len(pickle.dumps(here)) / 2
    back = with_rows(pickle.loads(pickle.dumps(packed)), split, summary)
    pd.testing.assert_frame_equal(back.customers, here.customers)
    pd.testing.assert_frame_equal(back.comparison.predictions, here.comparison.predictions)
    assert back.comparison.split is split and back.purchase_model.params_ == here.purchase_model.params_
    assert back.purchase_model.fitter_.predict(4, 2.0, 10.0, 20.0) == here.purchase_model.fitter_.predict(
        4, 2.0, 10.0, 20.0
    )


def test_with_two_processes_the_fits_and_the_per_segment_fits_run_on_the_worker(monkeypatch):
    """Here, the purchase models and the per-segment fits are never computed: the worker's are used."""
    from analytics.business import segment_value
    from analytics.models import clv as clv_models

    alone = build_report(_simulated(), ReportSettings(), workers=1)
    assert alone["value_by_segment"]["by"]["acquisition_cohort"]["purchase"]

    def not_here(*args, **kwargs):
        raise AssertionError("computed in this process")

    monkeypatch.setattr(clv_models, "analyse_clv", not_here)
    monkeypatch.setattr(segment_value, "purchase_value_by_segment", not_here)
    steps: list[str] = []
    together = build_report(_simulated(), ReportSettings(), progress=steps.append, workers=2)  # nothing cached
    assert json.dumps(together, sort_keys=False) == json.dumps(alone, sort_keys=False)
    assert steps[-2:] == ["churn", "value_by_segment"]  # the sections that read the worker's last jobs


def test_the_worker_keeps_only_what_the_jobs_behind_the_fit_read():
    """Between its jobs the worker keeps the per-customer columns the per-segment fits read and the
    models without their data (not the holdout's rows, nor every value column)."""
    from analytics.reports.sections.clv import fit_arguments, fit_inputs

    data = _simulated()
    clv = report_module.clv_settings(ReportSettings())
    packed, _ = report_module._fit_on_worker(*fit_arguments(*fit_inputs(data, clv)), clv)
    try:
        kept = report_module._KEPT_ON_WORKER["analysis"]
        assert list(kept.customers.columns) == list(report_module._SEGMENT_COLUMNS)
        assert kept.purchase_model.fitter_.data is None and kept.spend_model.fitter_.data is None
        assert kept.comparison.predictions.empty and kept.comparison.split.calibration.empty
        assert kept.selected == packed.analysis.selected
    finally:
        report_module._KEPT_ON_WORKER.clear()


def test_the_per_segment_fits_start_once_the_largest_sections_here_have_run(monkeypatch):
    """kpis and whatif hold ~1 GB each here at 2M customers: the worker's per-segment fits (0.5 GB)
    start after them, so the two working sets do not add up."""
    steps: list[str] = []
    seen_at_start: list[list[str]] = []
    labels = report_module._segment_labels

    def record(*args, **kwargs):
        seen_at_start.append(list(steps))
        return labels(*args, **kwargs)

    monkeypatch.setattr(report_module, "_segment_labels", record)
    report = build_report(_simulated(), ReportSettings(), progress=steps.append, workers=2)
    assert report["value_by_segment"]["by"]["acquisition_cohort"]["purchase"]
    assert len(seen_at_start) == 1
    assert set(report_module.BEFORE_SEGMENT_FITS) <= set(seen_at_start[0])
    assert seen_at_start[0][-1] in report_module.BEFORE_SEGMENT_FITS  # and no later
