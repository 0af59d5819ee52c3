"""Explain this number on Customer health: the chosen KPI's formula, inputs, period and the customers behind it."""

from __future__ import annotations

import pytest

from analytics.business.kpis import compute_kpis
from analytics.data.datasets import load_demo
from tests.app.helpers import markdown, open_page

PAGE = "pages/overview.py"


def behind_table(at):
    return next(d.value for d in at.dataframe if "revenue" in d.value.columns and "purchases" in d.value.columns)


@pytest.mark.slow  # the page fits the purchase model for its model-based CLV card
def test_revenue_opens_with_its_buyers_adding_up_to_the_card():
    at = open_page(PAGE, check_errors=True)
    at.selectbox(key="explain_kpi").set_value("revenue").run()
    assert not at.exception
    report = compute_kpis(load_demo("subscription"))
    text = markdown(at)
    assert "**Formula.**" in text and "**Period.**" in text
    assert f"The {4277:,} customers behind it" in text
    table = behind_table(at)
    assert len(table) == 20  # the first rows; the download holds all
    assert table["revenue"].is_monotonic_decreasing
    assert report.value("revenue") == pytest.approx(179493.49)
    at.selectbox(key="explain_kpi").set_value("nps").run()
    assert "The 3,756 customers behind it" in markdown(at)
