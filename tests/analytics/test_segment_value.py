"""Value and retention by segment (issue 15): each segment's fit is a direct fit on its own rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.business.segment_value import (
    COHORT,
    MIN_PURCHASE_CUSTOMERS,
    purchase_value_by_codes,
    purchase_value_by_segment,
    retention_by_segment,
    segment_attributes,
)
from analytics.business.value import purchase_analysis
from analytics.data.datasets import load_demo
from analytics.data.schema import CUSTOMER_ID
from analytics.models.btyd import summarize_customers
from analytics.models.purchase import make_model
from analytics.models.sbg import ShiftedBetaGeometric, customer_periods
from analytics.reports.report import ReportSettings, build_report
from analytics.reports.sections.value_by_segment import report_section as value_by_segment_section


@pytest.fixture(scope="module")
def subscription():
    return load_demo("subscription")


@pytest.fixture(scope="module")
def cdnow_sample():
    data = load_demo("cdnow_sample")
    return data, purchase_analysis(data)


def test_attributes_found_on_each_demo(subscription, cdnow_sample):
    found = segment_attributes(subscription)
    assert list(found) == ["plan", "region", "Contract", "Acquisition Channel", COHORT]
    assert found[COHORT].attrs["unit"] == "year"  # signups 2023-2025: 12 quarters is too many to compare
    assert found["Contract"].value_counts().to_dict() == {"Month-to-month": 3326, "One year": 1658, "Two year": 1016}
    cdnow = segment_attributes(cdnow_sample[0])
    assert list(cdnow) == [COHORT]  # a purchase log: first-purchase month (CDNOW's Jan-Mar 1997 cohorts)
    assert cdnow[COHORT].attrs["unit"] == "month"
    assert cdnow[COHORT].value_counts().sort_index().to_dict() == {"1997-01": 781, "1997-02": 857, "1997-03": 719}


def test_retention_per_segment_equals_a_direct_fit_and_recovers_the_contract_effect(subscription):
    labels = segment_attributes(subscription)["Contract"]
    compared = retention_by_segment(subscription, labels, label="Contract").table.set_index("segment")
    customers = subscription.customers
    for contract in ("Month-to-month", "One year", "Two year"):
        own = customers[customers["Contract"] == contract]
        periods = customer_periods(own, observation_end=subscription.observation_end)
        direct = ShiftedBetaGeometric().fit(periods["periods"], periods["churned"])
        row = compared.loc[contract]
        assert not row["pooled"]
        assert row["customers"] == len(periods) and row["churned"] == int(periods["churned"].sum())
        assert row["params"]["alpha"] == pytest.approx(direct.alpha_, rel=1e-9)
        assert row["params"]["beta"] == pytest.approx(direct.beta_, rel=1e-9)
        assert row["survival_12"] == pytest.approx(float(direct.survival(12)), rel=1e-12)
        assert row["survival_low"] < row["survival_12"] < row["survival_high"]
    # the generator makes month-to-month customers leave far faster (data/make_demo_data.py)
    s = compared["survival_12"]
    assert s["Month-to-month"] == pytest.approx(0.528, abs=0.005)
    assert s["One year"] == pytest.approx(0.907, abs=0.005)
    assert s["Two year"] == pytest.approx(0.964, abs=0.005)
    # side by side, the intervals do not overlap
    assert compared.at["Month-to-month", "survival_high"] < compared.at["One year", "survival_low"]
    assert compared.at["One year", "survival_high"] < compared.at["Two year", "survival_low"]


def test_purchase_model_per_segment_equals_a_direct_fit_on_the_segments_rows(cdnow_sample):
    data, analysis = cdnow_sample
    labels = segment_attributes(data)[COHORT]
    compared = purchase_value_by_segment(analysis, labels, label="Acquisition cohort").table.set_index("segment")
    assert list(compared.index) == ["1997-01", "1997-02", "1997-03"]  # calendar order
    assert compared["customers"].sum() == len(analysis.customers)
    tx = data.transactions
    for cohort in compared.index:
        ids = labels.index[labels == cohort]
        rows = tx[tx[CUSTOMER_ID].astype(str).isin(ids)]
        summary = summarize_customers(rows, observation_end=analysis.observation_end, time_unit="W")
        direct = make_model(analysis.selected, time_unit="W").fit(summary)
        row = compared.loc[cohort]
        assert not row["pooled"]
        for name, value in direct.params_.items():
            assert row["params"][name] == pytest.approx(value, rel=1e-6), (cohort, name)
        assert row["value_low"] < row["mean_value"] < row["value_high"]
    # the published sample's model is the modified BG/NBD here; values in dollars over 12 months
    assert analysis.selected == "mbg_nbd"
    assert compared.at["1997-01", "mean_value"] == pytest.approx(7.44, abs=0.01)
    assert compared.at["1997-02", "mean_value"] == pytest.approx(9.51, abs=0.01)
    assert compared.at["1997-03", "mean_value"] == pytest.approx(8.75, abs=0.01)


def test_a_small_segment_is_pooled_with_a_note(cdnow_sample):
    data, analysis = cdnow_sample
    ids = analysis.customers.index.astype(str)
    labels = pd.Series(np.where(np.arange(len(ids)) < 50, "Tiny", "Rest"), index=ids, name="made_up")
    compared = purchase_value_by_segment(analysis, labels, label="Made up").table.set_index("segment")
    tiny = compared.loc["Tiny"]
    assert tiny["pooled"] and str(MIN_PURCHASE_CUSTOMERS) in tiny["note"]
    assert "valued by the model of all customers" in tiny["note"]
    # pooled: its own customers valued one by one by the model of all customers, no interval of its own
    assert tiny["mean_value"] == pytest.approx(float(analysis.customers["clv"].iloc[:50].mean()), rel=1e-12)
    assert math.isnan(tiny["value_low"]) and math.isnan(tiny["value_high"])
    assert tiny["params"] == analysis.purchase_model.params_
    assert not compared.at["Rest", "pooled"]


def test_report_section_on_a_purchase_log_and_on_the_subscription_demo(cdnow_sample, subscription):
    sections = {"value_by_segment": "analytics.reports.report:value_by_segment_section"}
    cdnow = build_report(cdnow_sample[0], ReportSettings(), sections=sections)["value_by_segment"]
    assert cdnow["attributes"] == {COHORT: "Acquisition cohort"}
    assert cdnow["by"][COHORT]["retention"] is None
    assert "customers table with churn" in cdnow["unavailable"]["retention"]
    january = cdnow["by"][COHORT]["purchase"]["1997-01"]
    assert january["customers"] == 781 and january["pooled"] is False
    assert january["interval_90"][0] < january["mean_value"] < january["interval_90"][1]

    section = value_by_segment_section(subscription, None)
    assert section["unavailable"]["purchase"] is not None and section["purchase_model"] is None
    contract = section["by"]["Contract"]["retention"]
    assert set(contract) == {"Month-to-month", "One year", "Two year"}
    assert contract["Month-to-month"]["interval_90"][1] < contract["One year"]["interval_90"][0]
    assert contract["Two year"]["new_customer_value"] > contract["Month-to-month"]["new_customer_value"]


def test_segment_chart_draws_one_row_per_segment_with_its_interval(cdnow_sample):
    from analytics.reports.charts.segments import segment_interval_chart

    data, analysis = cdnow_sample
    table = purchase_value_by_segment(analysis, segment_attributes(data)[COHORT]).table
    spec = segment_interval_chart(
        table,
        value="mean_value",
        low="value_low",
        high="value_high",
        title="12-month value per customer, by acquisition cohort",
        axis_title="Mean 12-month value per customer (USD)",
        value_format=",.2f",
    ).to_dict()
    # a step per row (a fixed pixel height was dropped in Streamlit's stretch layout: every row on one line)
    assert spec["height"] == {"step": 40}
    rules, dots = spec["layer"]
    assert rules["mark"]["type"] == "rule" and rules["encoding"]["x2"]["field"] == "value_high"
    assert dots["encoding"]["y"]["sort"] == ["1997-01", "1997-02", "1997-03"]
    assert {t["title"] for t in dots["encoding"]["tooltip"]} >= {"Segment", "Customers", "Interval from", "Interval to"}


def test_labels_by_position_give_the_same_comparison_as_labels_by_id(cdnow_sample):
    """The report's worker passes the labels as codes in the analysis's row order (no id read there)."""
    data, analysis = cdnow_sample
    ids = analysis.customers.index.astype(str)
    labels = segment_attributes(data)[COHORT].reindex(ids)
    labels.iloc[:30] = np.nan  # blank labels are left out and counted in a note
    labels = labels.sample(frac=1.0, random_state=3)  # by id, in another order
    codes, levels = pd.factorize(labels.reindex(ids).to_numpy(dtype=object))
    by_id = purchase_value_by_segment(analysis, labels, label="Acquisition cohort")
    by_code = purchase_value_by_codes(
        analysis, codes, np.asarray(levels, dtype=object), name=str(labels.name), label="Acquisition cohort"
    )
    pd.testing.assert_frame_equal(by_code.table, by_id.table)
    assert by_code.notes == by_id.notes and by_code.notes[0].startswith("30 customers with no acquisition cohort")
    assert (by_code.attribute, by_code.label, by_code.model) == (by_id.attribute, by_id.label, by_id.model)
    with pytest.raises(ValueError, match="labels for"):
        purchase_value_by_codes(analysis, codes[1:], levels, name="x")


def test_labels_without_a_name_give_an_empty_attribute_not_none(cdnow_sample, subscription):
    data, analysis = cdnow_sample
    ids = analysis.customers.index.astype(str)
    unnamed = pd.Series(np.where(np.arange(len(ids)) % 2, "Odd", "Even"), index=ids)
    assert purchase_value_by_segment(analysis, unnamed).attribute == ""
    contract = segment_attributes(subscription)["Contract"].rename(None)
    assert retention_by_segment(subscription, contract).attribute == ""
