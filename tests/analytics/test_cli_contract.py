"""The CLI contract on awkward input: exit 0 with JSON (sections null with a reason), or exit 2
with exactly one `error:` line on stderr; never a traceback."""

from __future__ import annotations

import json

import pytest

from analytics.reports import cli
from tests.conftest import ROOT, csv_bytes

TELCO = ROOT / "tests" / "data" / "telco_churn_4930.csv"


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def assert_refused(code: int, err: str, *words: str) -> str:
    assert code == 2
    assert "Traceback" not in err
    lines = error_lines(err)
    assert len(lines) == 1, err
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    return lines[0]


def test_customers_table_without_dates_gives_churn_and_null_kpis_with_a_reason(capsys):
    code, out, err = run_main(capsys, "report", str(TELCO), "--json", "-")
    assert code == 0, err
    report = json.loads(out)
    assert report["data"]["observation_end"] is None
    assert report["data"]["rows_read"] == report["data"]["rows_used"] == 4930
    assert report["kpis"] is None
    assert "no dates" in report["reasons"]["kpis"]
    assert report["clv"] is None and "purchase log" in report["reasons"]["clv"]
    assert report["churn"]["n"] == 4930
    assert 0.8 < report["churn"]["auc"] < 0.9


def test_id_and_amount_only_is_a_report_not_a_crash(tmp_path, capsys):
    path = tmp_path / "spend.csv"
    path.write_bytes(csv_bytes("customer_id,amount\n" + "\n".join(f"c{i},{10 + i}.50" for i in range(40))))
    code, out, err = run_main(capsys, "report", str(path), "--json", "-")
    assert code == 0, err
    report = json.loads(out)
    assert report["data"]["customers"] == 40
    assert report["kpis"] is None and report["reasons"]["kpis"]


def test_a_line_break_in_a_column_name_stays_on_one_error_line(tmp_path, capsys):
    path = tmp_path / "broken.csv"
    path.write_bytes(b'"first\nname",other\nx,y\n')
    code, _, err = run_main(capsys, "report", str(path))
    line = assert_refused(code, err, "customer id")
    assert "first\\nname" in line


def test_unknown_option_is_one_error_line(capsys):
    code, _, err = run_main(capsys, "report", "x.csv", "--period", "Y")
    assert_refused(code, err, "period")


def test_missing_file_is_one_error_line(tmp_path, capsys):
    code, _, err = run_main(capsys, "report", str(tmp_path / "nope.csv"))
    assert_refused(code, err, "not found")


def test_an_unexpected_exception_becomes_one_line(monkeypatch, capsys):
    def boom(*args):
        raise KeyError("surprise\nsecond line")

    monkeypatch.setattr(cli, "_load", boom)
    code, _, err = run_main(capsys, "report", "demo:cdnow_sample")
    assert_refused(code, err, "internal error", "KeyError")


@pytest.mark.parametrize("args", [["report", "x.csv", "--calibration-end", "soon"]])
def test_bad_calibration_end(args, capsys):
    code, _, err = run_main(capsys, *args)
    assert_refused(code, err, "calibration-end")


def test_three_churners_give_a_lifetime_with_a_caveat(capsys):
    path = ROOT / "tests" / "data" / "corpus" / "files" / "three_churners" / "few_churners.csv"
    code, out, err = run_main(capsys, "report", str(path), "--only", "retention_sbg", "--json", "-")
    assert code == 0, err
    section = json.loads(out)["retention_sbg"]
    assert section["n_churned"] == 3
    assert section["expected_lifetime_periods"] > 1000  # 3 leavers among 200: the tail is pure extrapolation
    assert "Only 3 customers left" in section["lifetime_caveat"]


def test_demo_subscription_lifetime_needs_no_caveat(capsys):
    code, out, _ = run_main(capsys, "report", "demo:subscription", "--only", "retention_sbg", "--json", "-")
    assert code == 0
    assert json.loads(out)["retention_sbg"]["lifetime_caveat"] is None
