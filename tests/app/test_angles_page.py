"""Churn: three angles page on the CDNOW sample (classifier and purchase model) and the subscription demo."""

from __future__ import annotations

import pytest

from analytics.business.churn_analysis import ChurnSettings, analyse_churn
from analytics.business.churn_angles import churn_angles
from analytics.data.datasets import load_demo
from tests.app.helpers import markdown, metrics, open_page

PAGE = "pages/angles.py"


def test_cdnow_sample_shows_both_purchase_angles_with_their_auc():
    at = open_page(PAGE, dataset="cdnow_sample", check_errors=True)
    shown = metrics(at)
    data = load_demo("cdnow_sample")
    expected = churn_angles(data, analyse_churn(data, ChurnSettings()))
    assert shown["Churn model: ROC AUC"] == f"{expected.angles['classifier'].auc:.3f}"
    assert shown["Purchase model: ROC AUC"].startswith("0.7")  # Pareto/NBD or the model the CLV page chose
    assert shown["Survival curve: ROC AUC"] == "n/a"
    assert any("nobody announces leaving" in i.value for i in at.info)
    matrix = next(d.value for d in at.dataframe if "Churn model" in d.value.columns)
    assert matrix.loc["Churn model", "Churn model"] == 100


@pytest.mark.slow  # fits the churn and lifetime-value models on the demo
def test_subscription_demo_trusts_the_churn_model_and_lists_the_customers_every_angle_flags():
    at = open_page(PAGE, check_errors=True)
    shown = metrics(at)
    assert shown["Purchase model: ROC AUC"] == "n/a"
    assert float(shown["Churn model: ROC AUC"]) > float(shown["Survival curve: ROC AUC"]) > 0.7
    assert any("Trust the churn model first" in i.value for i in at.info)
    flagged = int(shown["Flagged by every angle"].replace(",", ""))
    assert flagged > 0 and f"**{flagged:,} customers are flagged by every angle**" in markdown(at)


def test_angles_compute_in_the_background_and_the_page_says_so(monkeypatch):
    """The angles run through ui.background: while they compute, the page shows its header and a line saying
    what it is doing (it does not block); once they are done the next run shows them, computed once."""
    import threading

    import ui.angles
    from ui import background

    gate, calls = threading.Event(), []
    real = ui.angles.churn_angles

    def slow_angles(*args, **kwargs):
        calls.append(threading.current_thread().name)
        gate.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(ui.angles, "churn_angles", slow_angles)
    monkeypatch.setattr(background, "WAIT_S", 0.1)
    at = open_page(PAGE, session={"clv_horizon": 7}, dataset="cdnow_sample")  # settings no other test computed
    captions = "\n".join(c.value for c in at.caption)
    assert "Scoring customers from every angle" in captions and "fills in when it is done" in captions
    assert "Churn model: ROC AUC" not in metrics(at)
    gate.set()
    monkeypatch.setattr(background, "WAIT_S", None)  # AppTest does not run the timed fragment that reruns
    at.run()
    assert metrics(at)["Purchase model: ROC AUC"].startswith("0.7")
    assert calls == [calls[0]] and calls[0].startswith("keepwise-fit-")  # computed once, in the background
