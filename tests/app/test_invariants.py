"""Cross-page invariants: a figure on Home equals the same figure on its page, in the report and the CLI.

On a purchase log (the CDNOW sample), the subscription demo and a purchase-log-only upload (a
simulated retailer's invoices), every figure Home shows is read back from the page that owns it
(Customer health, Lifetime value), from the headless report (`build_report`), the HTML report and
the CLI's JSON (`python -m analytics report ... --json -`): same label, same number.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest

from analytics.business.kpis import compute_kpis
from analytics.data.datasets import load_demo
from analytics.data.ingest import load_files
from analytics.models.btyd import simulate_transactions
from analytics.reports.html_report import build_html_report
from analytics.reports.report import ReportSettings, build_report
from tests.app.helpers import metrics, open_page, upload_session

pytestmark = pytest.mark.slow  # fits every model on three datasets

SECTIONS = {
    "kpis": "analytics.reports.report:kpis_section",
    "clv": "analytics.reports.report:clv_section",
    "whatif": "analytics.reports.report:whatif_section",
    "actions": "analytics.reports.report:actions_section",
}
MODEL_VALUE = "Average 12-month value per customer (model)"
PROFIT = "Profit change over 5 years from +5 points of yearly retention"
HIGH_RISK = "Customers not yet left, at high risk"
AT_STAKE = "Value at stake, top 100 customers still with you"


def invoices() -> bytes:
    """A retailer's invoice log: customers won all year round, frequent buyers (simulated BG/NBD)."""
    tx = simulate_transactions(
        1500, r=0.8, alpha=10.0, a=0.5, b=2.0, acquisition_days=365, observation_days=730, random_state=7
    )
    return tx.to_csv(index=False).encode()


def number(shown: str) -> float:
    """'€1,234.5' -> 1234.5, '12.3%' -> 0.123, '+4.0%' -> 0.04."""
    value = float(re.sub(r"[^0-9.\-]", "", shown.replace("−", "-")))
    return value / 100 if shown.endswith("%") else value


def digits(shown: str) -> float:
    """Half the last shown digit: the rounding a displayed number may carry."""
    text = re.sub(r"[^0-9.]", "", shown)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals / (100 if shown.endswith("%") else 1) + 1e-12


def case(name: str, tmp_path: Path) -> tuple[dict, object, list[str]]:
    """(what `open_page` needs, the dataset as the library reads it, the CLI's input arguments)."""
    if name == "upload":
        content = invoices()
        path = tmp_path / "invoices.csv"
        path.write_bytes(content)
        return (
            {"session": upload_session("invoices.csv", content)},
            load_files([("invoices.csv", content)]),
            [str(path)],
        )
    return {"dataset": name}, load_demo(name), [f"demo:{name}"]


@pytest.mark.parametrize("name", ["cdnow_sample", "subscription", "upload"])
def test_every_home_figure_equals_its_page_the_report_and_the_cli(name, tmp_path):
    where, data, cli_input = case(name, tmp_path)
    report = build_report(data, ReportSettings(), sections=SECTIONS)
    cli = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "analytics",
                "report",
                *cli_input,
                "--only",
                "kpis,clv,whatif,actions",
                "--json",
                "-",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    home = metrics(open_page(**where))
    health = metrics(open_page("pages/overview.py", **where))
    value_page = metrics(open_page("pages/lifetime_value.py", **where))

    # the KPI cards: Home's label is the report's label for that KPI, the number is the report's and the
    # CLI's, and Customer health shows the same card under the same label with the same number
    kpis, cli_kpis = report["kpis"], cli["kpis"]
    assert kpis["labels"] == cli_kpis["labels"]
    cards = {label: key for key, label in kpis["labels"].items() if label in home}
    assert len(cards) >= 4, sorted(home)
    for label, key in cards.items():
        shown = home[label]
        assert number(shown) == pytest.approx(kpis["values"][key], abs=digits(shown)), label
        assert cli_kpis["values"][key] == pytest.approx(kpis["values"][key], rel=1e-12), label
        assert label in health, label
        assert number(health[label]) == pytest.approx(kpis["values"][key], abs=digits(health[label])), label
    # the HTML report (the Action list's download) carries the same cards under the same labels
    html = build_html_report(kpis=compute_kpis(data, model_clv=report["clv"]["mean_clv"]))
    for label in cards:
        assert escape(label, quote=False) in html or escape(label) in html, label
    if kpis["basis"] == "purchases":  # a purchase log's month-to-month figures by their honest names
        assert not any(label.startswith(("Retention,", "Churn,")) for label in home)

    # the model's customer value: Home = Lifetime value page = report = CLI
    mean_clv = report["clv"]["mean_clv"]
    assert cli["clv"]["mean_clv"] == pytest.approx(mean_clv, rel=1e-9)
    assert kpis["values"]["clv_model"] == pytest.approx(mean_clv, rel=1e-12)
    assert number(home[MODEL_VALUE]) == pytest.approx(mean_clv, abs=digits(home[MODEL_VALUE]))
    assert value_page[MODEL_VALUE] == home[MODEL_VALUE]

    # the what-if's profit change: Home = report = CLI
    change = report["whatif"]["profit_change_pct"]
    assert cli["whatif"]["profit_change_pct"] == pytest.approx(change, rel=1e-9)
    assert home[PROFIT] == f"{change:+.1f}%"

    # the Action list's figures on Home: the churn model's high-risk count and the top 100's value at
    # stake = report = CLI
    actions = report["actions"]
    for key in ("customers_at_high_risk", "value_at_stake_top_100", "customers_ranked"):
        assert cli["actions"][key] == pytest.approx(actions[key], rel=1e-9), key
    assert number(home[AT_STAKE]) == pytest.approx(actions["value_at_stake_top_100"], abs=digits(home[AT_STAKE]))
    if actions["customers_at_high_risk"] is not None:
        assert home[HIGH_RISK] == f"{actions['customers_at_high_risk']:,}"
