"""Voice of the customer: NPS classes joined to churn and value, pinned to the demo generator and to hand counts."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from analytics.business.experiment import newcombe_interval
from analytics.business.voice import analyse_voice, nps_class, voice_signals
from analytics.data.datasets import DATA_DIR, load_demo
from analytics.data.ingest import load_files
from analytics.data.schema import CUSTOMER_ID, DataError
from analytics.reports.sections.voice import report_section as voice_report_section


def generator_truth() -> tuple[float, float]:
    """Churn of detractors and of promoters over ALL 6,000 demo customers, by their latent NPS.

    The generator (data/make_demo_data.py) gives every customer an NPS that drives churn (+0.95
    log-odds of the monthly hazard for detractors) even when the survey was not answered; only
    62% answered. Re-running it with its seed reproduces the committed files.
    """
    spec = importlib.util.spec_from_file_location("make_demo_data", DATA_DIR / "make_demo_data.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    rng = np.random.default_rng(gen.SEED)
    customers = gen.make_customers(rng)
    out, _ = gen.simulate_churn_and_payments(customers, rng)
    on_disk = pd.read_csv(DATA_DIR / "subscription_customers.csv")
    assert (on_disk["Churned"].to_numpy() == out["Churned"].to_numpy()).all()  # the same population
    latent = nps_class(customers["_nps_latent"])
    churned = out["Churned"].eq("Yes")
    return float(churned[latent == "detractor"].mean()), float(churned[latent == "promoter"].mean())


def flat(data, value: float = 100.0, risk: float = 0.5):
    ids = data.customers[CUSTOMER_ID].astype(str)
    return pd.Series(value, index=ids), pd.Series(risk, index=ids)


def test_demo_recovers_the_generators_direction_and_size_of_the_detractor_effect():
    data = load_demo("subscription")
    value, risk = flat(data)
    analysis = analyse_voice(data, value=value, risk=risk)
    rise = analysis.churn_rise
    true_detractor, true_promoter = generator_truth()
    truth = true_detractor - true_promoter  # 0.212 over all customers
    lo, hi = rise.interval_95
    assert lo > 0  # direction: detractors leave more, beyond chance
    assert lo <= truth <= hi  # size: the survey sample's interval holds the population's difference
    assert rise.difference == pytest.approx(truth, abs=0.03)
    nps = analysis.tables["nps"].set_index("group")
    assert int(nps["customers"].sum()) == int(data.customers["nps"].notna().sum())  # 62% answered
    assert set(analysis.available) >= {"nps", "csat", "ces", "support_tickets", "escalations"}
    # more escalations, more churn (the generator adds 0.35 log-odds per escalation)
    esc = analysis.tables["escalations"].set_index("group")["churn_rate"]
    assert esc["0"] < esc["1"] < esc["3+"]
    # the median lifetime of detractors is reached, that of promoters is not (fewer than half left)
    assert np.isfinite(nps.loc["detractor", "median_lifetime_months"])
    assert np.isnan(nps.loc["promoter", "median_lifetime_months"])


def test_small_table_by_hand():
    content = (
        "customer_id,nps,churned\n"
        "p1,10,No\np2,9,Yes\np3,9,No\np4,10,No\n"  # promoters: 1 of 4 left
        "n1,7,No\nn2,8,Yes\n"  # passives: 1 of 2
        "d1,3,Yes\nd2,6,No\nd3,0,Yes\nd4,5,No\n"  # detractors: 2 of 4
        "x1,,No\n"  # did not answer
    )
    data = load_files([("customers.csv", content.encode())])
    value = pd.Series({"p1": 50.0, "p3": 70.0, "p4": 30.0, "n1": 40.0, "d2": 200.0, "d4": 100.0, "x1": 9.0})
    risk = pd.Series({"p1": 0.1, "p3": 0.2, "p4": 0.3, "n1": 0.5, "d2": 0.6, "d4": 0.9, "x1": 0.5})
    analysis = analyse_voice(data, value=value, risk=risk, value_source="hand")
    t = analysis.tables["nps"].set_index("group")
    assert list(t.index) == ["promoter", "passive", "detractor"]
    assert list(t["customers"]) == [4, 2, 4]
    assert list(t["churn_rate"]) == [0.25, 0.5, 0.5]
    assert t.loc["promoter", "mean_value"] == pytest.approx(50.0)  # current promoters p1, p3, p4
    assert t.loc["detractor", "total_value"] == pytest.approx(300.0)
    assert t.loc["detractor", "value_at_risk"] == pytest.approx(200 * 0.6 + 100 * 0.9)  # 210
    assert t.loc["promoter", "value_at_risk"] == pytest.approx(50 * 0.1 + 70 * 0.2 + 30 * 0.3)  # 28
    rise = analysis.churn_rise
    assert rise.difference == pytest.approx(0.25)
    assert rise.interval_95 == pytest.approx(newcombe_interval(2, 4, 1, 4))
    assert list(analysis.close_the_loop[CUSTOMER_ID]) == ["d2", "d4"]  # current detractors, 120 before 90 at risk
    section = voice_report_section(analysis)
    assert set(section["by_nps_class"]["detractor"]) >= {"customers", "churn_rate", "mean_value", "value_at_risk"}
    assert section["available"] == {"nps": "NPS class"}


def test_purchase_log_says_which_columns_would_enable_it():
    with pytest.raises(DataError, match="'nps' \\(0-10\\), 'csat' \\(1-5\\) or 'ces'"):
        voice_signals(load_demo("cdnow_sample"))


def test_report_voice_section_keys_and_the_reason_on_a_purchase_log():
    from analytics.reports.report import SECTIONS, build_report

    only_voice = {"voice": SECTIONS["voice"]}
    report = build_report(load_demo("cdnow_sample"), sections=only_voice)
    assert report["voice"] is None and "'support_tickets'" in report["reasons"]["voice"]
    report = build_report(load_demo("subscription"), sections=only_voice)
    voice = report["voice"]
    assert set(voice["available"]) == {"nps", "csat", "ces", "support_tickets", "escalations"}
    detractor = voice["by_nps_class"]["detractor"]
    assert set(detractor) >= {"customers", "churn_rate", "mean_value", "value_at_risk"}
    assert detractor["customers"] == 1121 and detractor["churn_rate"] == pytest.approx(502 / 1121)
    assert detractor["value_at_risk"] > 0
    rise = voice["churn_rise_detractor_vs_promoter"]
    assert rise["interval_95"][0] > 0
    assert "purchase model" in voice["value_source"]
