"""The business kind decided once (with its reason), and the assumptions listed for the user."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analytics.business.kind import PURCHASE_LOG, SUBSCRIPTION, detect_business_kind
from analytics.data.datasets import load_demo
from analytics.data.ingest import load_files
from analytics.data.schema import CustomerData, DataError
from analytics.reports.sections.data_kind import report_section as data_kind_section
from tests.conftest import csv_bytes

TODAY = pd.Timestamp("2026-01-01")


def test_subscription_demo_is_a_subscription_because_its_customers_table_records_churn():
    kind = detect_business_kind(load_demo("subscription"))
    assert kind.kind == SUBSCRIPTION and not kind.chosen
    assert "'Churned'" in kind.reason


def test_cdnow_is_a_purchase_log_and_says_why():
    kind = detect_business_kind(load_demo("cdnow_sample"))
    assert kind.kind == PURCHASE_LOG
    assert "no record of who left" in kind.reason and "527 customers with 4+ purchases" in kind.reason


def test_regular_monthly_payments_alone_read_as_a_subscription():
    """The subscription demo's payments without its customers table: most payers pay every month."""
    payments = load_demo("subscription").transactions
    kind = detect_business_kind(CustomerData(name="payments", transactions=payments))
    assert kind.kind == SUBSCRIPTION and "pay at regular intervals" in kind.reason


def test_override_is_kept_with_the_detection_and_checked():
    data = load_demo("cdnow_sample")
    kind = detect_business_kind(data, SUBSCRIPTION)
    assert (kind.kind, kind.detected, kind.chosen) == (SUBSCRIPTION, PURCHASE_LOG, True)
    assert kind.reason.startswith("Chosen by you")
    customers_only = CustomerData(name="c", customers=load_demo("subscription").customers)
    with pytest.raises(DataError, match="cannot be read as a purchase log"):
        detect_business_kind(customers_only, PURCHASE_LOG)


def test_report_data_section_lists_kind_and_assumptions():
    section = data_kind_section(load_demo("cdnow_sample"))
    assert section["business_kind"] == PURCHASE_LOG
    names = {a["name"]: a for a in section["assumptions"]}
    assert names["Exact duplicate rows"]["value"] == "21 kept (possible duplicates)"
    assert set(names) >= {"Business kind", "Currency", "Date format (transactions)"}
    json.dumps(section)


BANK = """
CustomerId,Tenure,Balance,Exited
1,0,0,1
2,1,100,0
3,10,50,0
4,5,0,1
5,8,10,0
"""


def test_bank_tenure_without_a_unit_is_read_in_years_and_said_so():
    data = load_files([("bank.csv", csv_bytes(BANK))], today=TODAY)
    report = data.reports[0]
    assert report.tenure_unit == "years" and "0-10" in report.tenure_unit_reason
    assert data.customers["tenure_months"].tolist() == [0.0, 12.0, 120.0, 60.0, 96.0]
    assert any("read in years" in n for n in report.notes)
    rows = {a["name"]: a for a in data_kind_section(data)["assumptions"]}
    assert rows["Tenure unit"]["value"] == "years"


def test_tenure_in_months_by_range_or_by_choice():
    telco = BANK.replace("10,50,0", "72,50,0")
    data = load_files([("telco.csv", csv_bytes(telco))], today=TODAY)
    assert data.reports[0].tenure_unit == "months" and data.customers["tenure_months"].max() == 72
    from dataclasses import replace

    from analytics.data.ingest import read_and_guess

    table = read_and_guess("bank.csv", csv_bytes(BANK))
    chosen = load_files(
        [("bank.csv", csv_bytes(BANK))], mappings=[replace(table.mapping, tenure_unit="months")], today=TODAY
    )
    assert chosen.customers["tenure_months"].max() == 10
    assert chosen.reports[0].tenure_unit_reason == "chosen in the column mapping"
