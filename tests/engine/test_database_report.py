"""`python -m analytics report --db URL --table purchases=NAME`: the same figures as on the file."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from analytics.data.ingest import load_files
from analytics.reports.cli import main
from analytics.reports.report import ReportSettings, build_report
from tests.engine.helpers import TODAY, cdnow_log, duckdb_file

CAL_END = "1997-09-30"


@pytest.fixture(scope="module")
def cdnow_file(tmp_path_factory):
    return cdnow_log(tmp_path_factory.mktemp("cdnow_db") / "purchases.csv")


def test_cli_db_report_matches_the_file_report(cdnow_file, tmp_path, capsys):
    url = duckdb_file(cdnow_file)
    out = tmp_path / "report.json"
    code = main(
        ["report", "--db", url, "--table", "purchases=purchases", "--calibration-end", CAL_END, "--json", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    report = json.loads(out.read_text())
    data = load_files([(cdnow_file.name, cdnow_file.read_bytes())], today=TODAY)
    expected = build_report(data, ReportSettings(calibration_end=pd.Timestamp(CAL_END)), sections={})
    assert report["data"]["rows_read"] == expected["data"]["rows_read"]
    assert report["data"]["rows_used"] == expected["data"]["rows_used"]
    assert report["data"]["customers"] == expected["data"]["customers"] == 2357
    assert report["data"]["source"]["table"] == "purchases"
    from analytics.models.clv import ClvSettings
    from analytics.reports.sections.clv import report_section

    file_clv = report_section(data, ClvSettings(calibration_end=pd.Timestamp(CAL_END)))
    clv = report["clv"]
    assert clv["selected"] == file_clv["selected"]
    for name, value in file_clv["final_params"].items():
        assert clv["final_params"][name] == pytest.approx(value, rel=1e-6)
    for model in ("bg_nbd", "pareto_nbd", "mbg_nbd"):
        for name, value in file_clv["models"][model]["params"].items():
            assert clv["models"][model]["params"][name] == pytest.approx(value, rel=1e-6)
        assert clv["models"][model]["holdout"]["actual"] == 1882.0
    assert clv["total_clv"] == pytest.approx(file_clv["total_clv"], rel=1e-6)
    assert clv["n_customers"] == 2357
    # kpis, churn and segments come from the database's counts and per-customer rows
    # (tests/engine/test_pushdown_behaviour.py compares them with the file report);
    # and the what-if, value by segment and campaign from the database's counts per month and the
    # per-customer rows (tests/engine/test_pushdown_whatif.py compares them with the file report);
    # what needs every purchase (the voice section) says so instead of guessing
    assert report["kpis"]["values"]["customers"] == 2357 and report["segments"] and report["churn"]["auc"] > 0.7
    assert report["whatif"]["retention_rate"] > 0 and report["value_by_segment"] and report["campaign"]
    assert report["voice"] is None and "Parquet" in report["reasons"]["voice"]


def test_cli_db_usage_errors_are_one_line(tmp_path, capsys):
    assert main(["report", "--table", "purchases=x"]) == 2
    assert "--db" in capsys.readouterr().err
    assert main(["report", "--db", "duckdb:///" + str(tmp_path / "none.duckdb")]) == 2
    assert "purchases=NAME" in capsys.readouterr().err
    database = tmp_path / "empty.duckdb"
    duckdb.connect(str(database)).close()
    assert main(["report", "--db", f"duckdb:///{database}", "--table", "purchases=missing"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "missing" in errors[0] and "Traceback" not in err
