"""What the Data page starts in the background is what Customer health computes on its first visit.

At 1M customers read through a connection, Customer health's first visit took 18.5 s even once
every model fit was done: it computed the month's KPI report (twice: again with the model-based
CLV), its first trend and the customers behind its first 'Explain a number' (every customer id,
sorted and packed for the download) on the page; Cohorts its default table. Now `ui.prefetch` starts them as soon as the data
arrives (`ui.health.prefetch_kpis`) and the report with the model CLV is the cached report with
its two model KPIs set (`analytics.business.kpis.with_model_clv`), so the page only reads caches.
"""

from __future__ import annotations

import time

import pytest

from analytics.business import cohorts as library_cohorts
from analytics.business import explain as library_explain
from analytics.business import kpis as library_kpis
from tests.app.helpers import open_page
from ui import background, explain, health


@pytest.mark.slow  # the demo's fits run in the background (the purchase model for the model-based CLV)
def test_customer_health_computes_nothing_on_its_first_visit_after_the_data_page(monkeypatch):
    monkeypatch.setattr(background, "PREFETCH", True)
    at = open_page("pages/data.py", demo="subscription")  # the Data page prefetches at its end
    deadline = time.monotonic() + 300
    while background._jobs and time.monotonic() < deadline:  # every prefetched job has ended
        time.sleep(0.2)
    assert not background._jobs

    calls: list[str] = []

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls.append(name)
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(health, "compute_kpis", counted("compute_kpis", library_kpis.compute_kpis))
    monkeypatch.setattr(health, "kpi_trend", counted("kpi_trend", library_kpis.kpi_trend))
    monkeypatch.setattr(explain, "customers_behind", counted("customers_behind", library_explain.customers_behind))
    monkeypatch.setattr(health, "cohort_table", counted("cohort_table", library_cohorts.cohort_table))
    at.switch_page("pages/overview.py").run()
    assert not at.exception
    assert "fitting…" not in [m.value for m in at.metric]
    assert any(m.label.startswith("Average 12-month value per customer (model)") for m in at.metric)
    at.switch_page("pages/cohorts.py").run()
    assert not at.exception
    assert calls == []  # every figure of the first visits came from the cache the prefetch filled
