"""Explain this number: the customers behind each headline KPI add up to the KPI itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.business.explain import customers_behind
from analytics.business.kpis import compute_kpis, customer_effort_score, net_promoter_score
from analytics.data.datasets import load_demo


@pytest.mark.parametrize("key", ["subscription", "cdnow_sample"])
def test_customers_behind_reproduce_the_kpis(key):
    data = load_demo(key)
    report = compute_kpis(data)

    def behind(k):
        return customers_behind(data, k, report.period, report.current_period)

    buyers = behind("revenue")
    assert buyers["revenue"].sum() == pytest.approx(report.value("revenue"))
    assert buyers["revenue"].sum() / buyers["purchases"].sum() == pytest.approx(report.value("average_order_value"))
    assert buyers["purchases"].mean() == pytest.approx(report.value("purchase_frequency"))
    assert len(behind("customers")) == report.value("customers")
    assert len(behind("active_customers")) == report.value("active_customers")
    assert len(behind("new_customers")) == report.value("new_customers")
    if key == "subscription":
        assert net_promoter_score(behind("nps")["nps"]) == pytest.approx(report.value("nps"))
        assert (behind("csat")["csat"] >= 4).mean() == pytest.approx(report.value("csat"))
        assert customer_effort_score(behind("ces")["ces"]) == pytest.approx(report.value("ces"))
        tickets = behind("escalation_rate")
        rate = tickets["escalations"].sum() / tickets["support_tickets"].sum()
        assert rate == pytest.approx(report.value("escalation_rate"))
        timed = tickets.dropna(subset=["resolution_hours"])
        hours = np.average(timed["resolution_hours"], weights=timed["support_tickets"])
        assert hours == pytest.approx(report.value("avg_resolution_hours"))
        left = behind(
            "churn_rate"
        )  # on the books at the month's start, left during it  # customers who left in the month
        assert len(left) == 70 and report.value("churn_rate") == pytest.approx(70 / 4048)  # of 4,048 at the start
        assert left["churn"].between(*[pd.Timestamp(x) for x in ("2025-12-01", "2025-12-31 23:59:59")]).all()
    assert behind("customer_lifetime") is None  # a ratio of averages, not a count of customers


def test_customers_behind_the_customer_count_are_every_distinct_id_of_both_tables_in_code_point_order():
    from analytics.data.ingest import load_files

    purchases = "customer,date,amount\n00123,2024-01-05,10\n123,2024-02-05,12\nb,2024-03-01,5\nA,2024-03-02,7\n"
    purchases += "é,2024-03-03,9\n00123,2024-03-09,4\n"
    customers = "customer,plan,monthly_charge\n00123,basic,10\nZ9,pro,20\nA,basic,10\n"
    data = load_files([("purchases.csv", purchases.encode()), ("customers.csv", customers.encode())])
    behind = customers_behind(data, "customers", "month", "2024-03")
    # "00123" and "123" stay two customers; the customers table adds Z9; upper case before lower, é last
    assert behind["customer_id"].tolist() == ["00123", "123", "A", "Z9", "b", "é"]
    assert behind["customer_id"].tolist() == sorted(set(data.transactions["customer_id"]) | {"Z9"})
