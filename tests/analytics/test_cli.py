"""The headless report's command-line contract: exit codes, stdout carrying JSON alone, the data section."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, csv_bytes


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analytics", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_json_to_stdout_is_the_json_alone(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_bytes(
        csv_bytes(
            """
            CustomerID,InvoiceDate,TotalPrice,InvoiceNo
            a,2024-01-01,10,1
            a,2024-02-01,20,2
            b,2024-01-05,-5,3
            ,2024-01-06,7,4
            """
        )
    )
    result = run("report", str(orders), "--json", "-", "--period", "M")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # nothing but JSON on stdout
    data = report["data"]
    assert (data["rows_read"], data["rows_used"], data["customers"]) == (4, 2, 1)
    assert data["excluded"] == [
        {"reason": "No customer id", "rows": 1, "table": "transactions", "examples": [5]},
        {"reason": "Return or refund (negative amount)", "rows": 1, "table": "transactions", "examples": [4]},
    ]
    assert data["columns"] == {
        "transactions": {
            "customer_id": "CustomerID",
            "order_date": "InvoiceDate",
            "amount": "TotalPrice",
            "order_id": "InvoiceNo",
        }
    }
    assert report["settings"] == {"period": "M", "calibration_end": None, "business_kind": None}
    assert "reading" in result.stderr  # progress goes to stderr


def test_json_to_a_file_and_a_summary_on_stdout(tmp_path):
    out = tmp_path / "report.json"
    result = run("report", "demo:cdnow_sample", "--json", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())["data"]
    assert (data["rows_read"], data["rows_used"], data["customers"]) == (6919, 6919, 2357)
    assert "2,357 customers; 6,919 of 6,919 rows used" in result.stdout


def test_unusable_input_exits_2_with_one_line(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = run("report", str(empty), "--json", "-")
    assert result.returncode == 2
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: 'empty.csv' is empty. Upload a file with a header row and at least one data row."]


def test_missing_file_and_bad_date_exit_2(tmp_path):
    assert run("report", str(tmp_path / "nope.csv")).returncode == 2
    result = run("report", "demo:cdnow_sample", "--calibration-end", "soon")
    assert result.returncode == 2
    assert "is not a date" in result.stderr


def test_campaign_readout_from_the_command_line(tmp_path):
    from analytics.business.experiment import newcombe_interval, two_proportion_p_value

    ids = [f"c{i:02d}" for i in range(40)]
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,order_date,amount\n" + "".join(f"{c},2024-0{1 + i % 6}-10,{10 + i}\n" for i, c in enumerate(ids))
    )
    listed = tmp_path / "contacts.csv"
    listed.write_text(
        "Rank,Customer,group\n"
        + "".join(f"{i + 1},{c},{'control' if i < 10 else 'treatment'}\n" for i, c in enumerate(ids))
    )
    # after the campaign: 5 of the 10 control customers and 24 of the 30 treated bought again
    buyers = ids[:5] + ids[10:34]
    later = tmp_path / "later.csv"
    later.write_text("customer_id,order_date,amount\n" + "".join(f"{c},2024-08-01,20\n" for c in buyers))
    result = run(
        "report", str(orders), "--json", "-", "--readout-list", str(listed), "--readout-outcome", str(later),
        "--offer-cost", "4",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    campaign = json.loads(result.stdout)["campaign"]
    assert campaign["control_share"] == 0.1
    uplift = campaign["uplift"]
    assert (uplift["treated_rate"], uplift["control_rate"]) == (0.8, 0.5)
    assert uplift["difference"] == pytest.approx(0.3)
    assert uplift["interval_95"] == pytest.approx(list(newcombe_interval(24, 30, 5, 10)))
    assert uplift["p_value"] == pytest.approx(two_proportion_p_value(24, 30, 5, 10))
    assert uplift["cost_per_saved_customer"] == pytest.approx(4 * 30 / 9)  # 0.3 x 30 = 9 saved
    assert run("report", str(orders), "--readout-list", str(listed)).returncode == 2  # the outcome is missing
