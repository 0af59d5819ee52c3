"""KPIs against hand computations on small tables, NPS/CSAT/CES on known answers, targets.

The tiny purchase log used here (tests/analytics/helpers.py, shared with the other health tests):

    A: Jan 5 (10), Jan 20 (20), Feb 3 (30), Mar 10 (40)
    B: Jan 15 (50), Mar 2 (10)
    C: Feb 10 (100)
    D: Mar 25 (60), Mar 31 (40)          -> data ends 2024-03-31, March is complete

Months:  active      new  orders  revenue  lost (active before, not now)
    Jan  {A,B}       2    3       80       -
    Feb  {A,C}       1    2       130      B    retention 1/2, churn 1/((2+2)/2) = 0.5
    Mar  {A,B,D}     1    4       150      C    retention 1/2, churn 1/((2+3)/2) = 0.4
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.business.kpis import (
    KPI_KEYS,
    KpiSettings,
    compute_kpis,
    csat_score,
    customer_effort_score,
    customer_spans,
    format_targets,
    kpi_gaps,
    kpi_trend,
    net_promoter_score,
    parse_targets,
    period_table,
)
from analytics.data.periods import last_complete_period
from analytics.data.schema import CustomerData, DataError
from analytics.reports.sections.kpis import report_section as kpis_report_section
from tests.analytics.helpers import subscription_customers, tiny_data, tiny_transactions


def kpi_value(report, key):
    return report[key].value


def test_monthly_kpis_of_the_last_complete_month_match_hand_computation():
    report = compute_kpis(tiny_data())
    assert (report.current_period, report.previous_period, report.basis) == ("2024-03", "2024-02", "purchases")
    v = {k.key: k.value for k in report.kpis}
    assert v["customers"] == 4
    assert v["active_customers"] == 3
    assert v["new_customers"] == 1
    assert v["revenue"] == pytest.approx(150.0)
    assert v["average_order_value"] == pytest.approx(150 / 4)
    assert v["purchase_frequency"] == pytest.approx(4 / 3)
    assert v["repeat_purchase_rate"] == pytest.approx(3 / 4)  # A, B, D have 2+ orders
    assert v["retention_rate"] == pytest.approx(0.5)
    assert v["churn_rate"] == pytest.approx(0.5)  # 1 - retention: lost among the month's starting customers
    assert v["customer_lifetime"] == pytest.approx(2.0)  # 1 / churn
    assert report["customer_lifetime"].unit == "months"
    # first to last purchase (2024 is a leap year): A 65 days, B 47, C 0, D 6 -> 29.5 on average
    assert v["mean_tenure_months"] == pytest.approx(29.5 / (365.25 / 12))
    # formula CLV: 37.5 x 4/3 x 2.0 x 30% margin
    assert v["clv_simple"] == pytest.approx(30.0)


def test_previous_values_and_changes_are_february():
    report = compute_kpis(tiny_data())
    churn = report["churn_rate"]
    assert churn.previous == pytest.approx(0.5)
    assert churn.change == pytest.approx(0.0)  # February: 1 of 2 lost as well
    assert churn.higher_is_better is False
    revenue = report["revenue"]
    assert (revenue.previous, revenue.change) == (pytest.approx(130.0), pytest.approx(20.0))
    assert revenue.relative_change == pytest.approx(20 / 130)
    # February: AOV 65, frequency 1, lifetime 1 / 0.5 = 2
    assert report["clv_simple"].previous == pytest.approx(0.3 * 130.0)
    assert report["repeat_purchase_rate"].previous == pytest.approx(1 / 3)


def test_period_table_january_has_no_churn_because_nobody_was_there_before():
    table = period_table(tiny_data())
    jan = table.loc[pd.Period("2024-01", "M")]
    assert (jan["active_customers"], jan["new_customers"], jan["orders"], jan["revenue"]) == (2, 2, 3, 80.0)
    assert math.isnan(jan["churn_rate"]) and math.isnan(jan["retention_rate"])
    assert list(table["lost_customers"]) == [0, 1, 1]


def test_incomplete_last_month_is_not_reported():
    tx = tiny_transactions()
    tx.loc[tx["order_date"] == "2024-03-31", "order_date"] = pd.Timestamp("2024-03-30")
    report = compute_kpis(CustomerData("t", transactions=tx))
    assert (report.current_period, report.previous_period) == ("2024-02", "2024-01")
    assert report["churn_rate"].value == pytest.approx(0.5)


def test_quarter_kpis():
    report = compute_kpis(tiny_data(), period="quarter")
    assert report.current_period == "2024Q1" and report.previous_period is None
    assert report["revenue"].value == pytest.approx(360.0)
    assert report["average_order_value"].value == pytest.approx(40.0)
    assert report["purchase_frequency"].value == pytest.approx(9 / 4)
    assert report["churn_rate"].value is None  # nobody was a customer before 2024Q1
    assert report["customer_lifetime"].unit == "quarters"


def test_last_complete_period_rules():
    assert str(last_complete_period(pd.Timestamp("2024-03-31"), "month")) == "2024-03"
    assert str(last_complete_period(pd.Timestamp("2024-03-30"), "month")) == "2024-02"
    assert str(last_complete_period(pd.Timestamp("2024-12-31"), "year")) == "2024"
    assert str(last_complete_period(pd.Timestamp("2024-06-29"), "quarter")) == "2024Q1"


def test_orders_with_the_same_order_id_count_once():
    tx = tiny_transactions()
    tx["order_id"] = [f"o{i}" for i in range(len(tx))]
    tx.loc[8, "order_id"] = "o7"  # D's two March rows are lines of one order
    report = compute_kpis(CustomerData("t", transactions=tx))
    assert report["average_order_value"].value == pytest.approx(150 / 3)
    assert report["purchase_frequency"].value == pytest.approx(1.0)


def test_nps_csat_ces_on_known_answers():
    assert net_promoter_score([10, 9, 8, 7, 6, 0]) == pytest.approx(0.0)  # 2/6 - 2/6
    assert net_promoter_score([10, 10, 9, 5]) == pytest.approx(50.0)  # 75% - 25%
    assert net_promoter_score([0, 6, np.nan]) == pytest.approx(-100.0)
    assert csat_score([5, 4, 3, 2, 1, 4]) == pytest.approx(0.5)
    assert customer_effort_score([1, 2, 3, 6, np.nan]) == pytest.approx(3.0)
    assert math.isnan(net_promoter_score([]))


def test_survey_and_support_kpis_from_the_customers_table():
    report = compute_kpis(tiny_data(with_customers=True))
    v = {k.key: k.value for k in report.kpis}
    assert v["nps"] == pytest.approx(0.0)
    assert v["csat"] == pytest.approx(0.5)
    assert v["ces"] == pytest.approx(3.0)
    # ticket-weighted: (2x10 + 1x4 + 3x2) / 6 tickets
    assert v["avg_resolution_hours"] == pytest.approx(5.0)
    assert v["first_contact_resolution"] == pytest.approx((2 * 0.5 + 1 * 1.0 + 3 * 0.0) / 6)
    assert v["escalation_rate"] == pytest.approx(3 / 6)
    # 3 complaints over 2024-01-05 .. 2024-03-31 = 87 days
    assert v["complaints_per_day"] == pytest.approx(3 / 87)
    assert report["nps"].previous is None


def test_cac_simple_clv_and_ltv_cac_with_acquisition_costs():
    report = compute_kpis(tiny_data(with_customers=True))
    # new in March: D (cost 40); in February: C (cost 30)
    assert report["cac"].value == pytest.approx(40.0)
    assert report["cac"].previous == pytest.approx(30.0)
    # the formula CLV (value.formula_clv) does not subtract the acquisition cost; LTV:CAC divides by it
    assert report["clv_simple"].value == pytest.approx(0.3 * 100.0)
    assert report["clv_simple"].previous == pytest.approx(0.3 * 130.0)
    assert dict(report["clv_simple"].factors) == {
        "average_order_value": pytest.approx(37.5),
        "purchase_frequency": pytest.approx(4 / 3),
        "lifetime_periods": pytest.approx(2.0),
        "margin": 0.3,
        "acquisition_cost": pytest.approx(40.0),
    }
    ltv_cac = report["ltv_cac"]
    assert ltv_cac.value == pytest.approx(0.3 * 100.0 / 40.0)
    assert ltv_cac.benchmark == 3.0


def test_model_clv_is_shown_and_used_for_ltv_cac():
    report = compute_kpis(tiny_data(with_customers=True), model_clv=200.0)
    assert report["clv_model"].value == 200.0
    assert report["ltv_cac"].value == pytest.approx(5.0)


def test_missing_columns_say_what_would_enable_them():
    report = compute_kpis(tiny_data())
    assert report["nps"].value is None
    assert "'nps'" in report["nps"].missing
    assert "acquisition_cost" in report["cac"].missing
    assert "fitted CLV model" in report["clv_model"].missing
    assert report["escalation_rate"].missing.startswith("'escalations' and 'support_tickets'")


def test_customer_spans_fill_churn_date_from_tenure():
    spans = customer_spans(subscription_customers()).set_index("customer_id")
    assert spans.loc["s5", "end"] == pd.Timestamp("2024-02-19")
    assert pd.isna(spans.loc["s2", "end"])


def test_subscription_kpis_use_signup_and_churn_dates():
    data = CustomerData("subs", customers=subscription_customers())
    report = compute_kpis(data)
    assert (report.current_period, report.basis) == ("2024-03", "subscriptions")
    assert report["customers"].value == 3
    assert report["active_customers"].value == 4
    assert report["new_customers"].value == 2
    assert report["retention_rate"].value == pytest.approx(1 / 2)
    assert report["churn_rate"].value == pytest.approx(1 / 2)
    assert report["churn_rate"].previous == pytest.approx(1 / 3)  # Feb: 1 of the 3 customers at its start lost
    assert report["retention_rate"].previous == pytest.approx(2 / 3)
    assert report["revenue"].value is None and "transactions" in report["revenue"].missing
    # signup to churn (or 2024-03-31): 55 + 71 + 10 + 30 + 45 + 0 days
    assert report["mean_tenure_months"].value == pytest.approx(211 / 6 / (365.25 / 12))


def test_churn_without_dates_from_churned_flag_and_tenure():
    customers = pd.DataFrame(
        {
            "customer_id": list("abcd"),
            "churned": pd.array([True, False, False, True], dtype="boolean"),
            "tenure_months": [5.0, 10.0, 20.0, 5.0],
            "monthly_charge": [10.0, 20.0, 30.0, 40.0],
        }
    )
    data = CustomerData("nodates", customers=customers)
    monthly = compute_kpis(data)
    assert monthly["churn_rate"].value == pytest.approx(2 / 40)  # churned per customer-month
    assert monthly["customers"].value == 2
    assert monthly["customer_lifetime"].value == pytest.approx(20.0)
    # no purchases: monthly charge 25 x 1 per month x 20 months x 30% margin
    assert monthly["clv_simple"].value == pytest.approx(0.3 * 500.0)
    quarterly = compute_kpis(data, period="quarter")
    assert quarterly["churn_rate"].value == pytest.approx(1 - 0.95**3)


def test_unknown_period_is_a_data_error():
    with pytest.raises(DataError, match="month, quarter or year"):
        compute_kpis(tiny_data(), period="week")


def test_kpi_trend_lists_each_complete_month():
    trend = kpi_trend(tiny_data(), "revenue")
    assert list(trend["value"]) == [80.0, 130.0, 150.0]
    assert list(trend["period"].dt.month) == [1, 2, 3]


def test_targets_round_trip_and_lenient_parsing():
    text = format_targets({"retention_rate": 0.9, "nps": 30.0, "unknown": 1.0})
    assert text == "retention_rate:0.9,nps:30"
    assert parse_targets(text) == {"retention_rate": 0.9, "nps": 30.0}
    assert parse_targets("nps:abc, churn_rate:0.05,foo:1,,") == {"churn_rate": 0.05}
    with pytest.raises(DataError, match="nps:abc"):
        parse_targets("nps:abc", strict=True)


def test_gaps_respect_the_direction_of_each_kpi():
    report = compute_kpis(tiny_data())
    gaps = kpi_gaps(report, {"churn_rate": 0.3, "revenue": 100.0, "customers": 10.0, "nps": 20.0}).set_index("key")
    assert gaps.loc["churn_rate", "gap"] == pytest.approx(0.2)
    assert gaps.loc["churn_rate", "on_target"] is False  # lower is better, 0.5 > 0.3
    assert gaps.loc["revenue", "gap"] == pytest.approx(50.0)
    assert gaps.loc["revenue", "on_target"] is True
    assert gaps.loc["customers", "on_target"] is None  # neutral count
    assert pd.isna(gaps.loc["nps", "gap"])  # no NPS column


def test_kpis_report_section_has_every_key():
    section = kpis_report_section(tiny_data(with_customers=True), KpiSettings(period="month"))
    assert set(section["values"]) == set(KPI_KEYS)
    assert section["current_period"] == "2024-03"
    assert section["values"]["nps"] == pytest.approx(0.0)
    assert section["values"]["clv_model"] is None
    assert set(section["missing"]) == {"clv_model"}
    assert section["units"]["churn_rate"] == "share"


def test_kpis_report_section_is_monthly_by_default_and_checks_its_period():
    section = kpis_report_section(tiny_data())
    assert section["period"] == "month"
    assert section["values"]["churn_rate"] == pytest.approx(0.5)
    assert kpis_report_section(tiny_data(), KpiSettings(period="quarter"))["period"] == "quarter"
    with pytest.raises(DataError, match="choose month, quarter or year"):
        KpiSettings(period="week")


def test_churn_rate_trend_stays_within_0_and_100_percent_on_cdnow():
    """Lost / average(start, end) peaked at 126% after CDNOW's acquisition quarter; lost / start cannot."""
    from analytics.data.datasets import load_demo

    table = period_table(load_demo("cdnow_sample"), "month")
    churn = table["churn_rate"].dropna()
    assert churn.between(0, 1).all() and churn.max() < 1
    assert (churn + table.loc[churn.index, "retention_rate"]).round(12).eq(1).all()


@pytest.mark.parametrize("demo", ["subscription", "cdnow_sample"])
@pytest.mark.parametrize("period", ["month", "quarter"])
def test_with_model_clv_equals_compute_kpis_with_the_model_clv(demo, period):
    """The model CLV set on a computed report is the report compute_kpis makes with it: the same
    clv_model and ltv_cac KPIs (value, label with its horizon, missing reason), the rest untouched."""
    from analytics.business.kpis import with_model_clv
    from analytics.data.datasets import load_demo

    data = load_demo(demo)
    base = compute_kpis(data, period=period, model_clv_horizon_months=24.0)
    for model_clv, horizon in ((123.4, 12.0), (55.0, 36.0), (None, 12.0), (float("nan"), 24.0)):
        expected = compute_kpis(data, period=period, model_clv=model_clv, model_clv_horizon_months=horizon)
        assert with_model_clv(base, model_clv, model_clv_horizon_months=horizon) == expected
    with_value = with_model_clv(base, 123.4, model_clv_horizon_months=36.0)
    assert with_value.value("clv_model") == 123.4 and "3-year value" in with_value["clv_model"].label
    assert [k for k in with_value.kpis if k.key not in ("clv_model", "ltv_cac")] == [
        k for k in base.kpis if k.key not in ("clv_model", "ltv_cac")
    ]
