"""The public Telco churn table with the header IBM's export really has: spaces and capitals in the
column names ("Total Charges", "Churn Label"), Yes/No labels and blank numeric cells, uploaded as-is."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from analytics.business.churn_analysis import analyse_churn
from analytics.data.ingest import load_files

TELCO = Path(__file__).resolve().parents[1] / "data" / "telco_churn_4930.csv"
IBM_HEADER = {
    "customerid": "Customer ID",
    "gender": "Gender",
    "seniorcitizen": "Senior Citizen",
    "partner": "Partner",
    "dependents": "Dependents",
    "tenure": "Tenure Months",
    "phoneservice": "Phone Service",
    "multiplelines": "Multiple Lines",
    "internetservice": "Internet Service",
    "onlinesecurity": "Online Security",
    "onlinebackup": "Online Backup",
    "deviceprotection": "Device Protection",
    "techsupport": "Tech Support",
    "streamingtv": "Streaming TV",
    "streamingmovies": "Streaming Movies",
    "contract": "Contract",
    "paperlessbilling": "Paperless Billing",
    "paymentmethod": "Payment Method",
    "monthlycharges": "Monthly Charges",
    "totalcharges": "Total Charges",
    "churn": "Churn Label",
}


@pytest.mark.slow
def test_spaced_headers_reach_the_published_auc():
    frame = pd.read_csv(TELCO, dtype=str, keep_default_na=False).rename(columns=IBM_HEADER)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    data = load_files([("Telco_customer_churn.csv", buffer.getvalue().encode())])
    report = data.reports[0]
    assert report.columns["churned"] == "Churn Label" and report.columns["tenure_months"] == "Tenure Months"
    assert report.columns["monthly_charge"] == "Monthly Charges"
    assert any("8 blank cells in 'Total Charges'" in note for note in report.notes)

    analysis = analyse_churn(data)
    assert len(analysis.y) == 4930 and analysis.churn_rate == pytest.approx(1306 / 4930)
    assert analysis.model.cv_results_.set_index("model")["auc"].min() >= 0.83  # published ~0.84-0.85
    assert analysis.drivers[0].sentence.startswith("Month-to-month customers churn")
