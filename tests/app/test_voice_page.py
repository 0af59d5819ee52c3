"""Voice of the customer page: the demo's detractor effect on screen, equal to the library; a purchase log is told what to add."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.business.voice import analyse_voice
from analytics.data.datasets import load_demo
from tests.app.helpers import markdown, metrics, open_page, script_result

PAGE = "pages/voice.py"


def shared_scores() -> pd.DataFrame:
    """The value and churn risk every page uses (the Action list's), read from the same cache."""

    def script() -> None:
        import streamlit as st

        from ui import segments as us
        from ui.cache import current_data

        st.session_state["expected"] = us.customer_scores(current_data()).frame

    return script_result(script)


@pytest.mark.slow  # first fits of the lifetime-value and churn models
def test_subscription_demo_shows_the_detractor_effect_and_the_callback_list():
    at = open_page(PAGE, check_errors=True)
    shown = metrics(at)
    scores = shared_scores()
    expected = analyse_voice(load_demo("subscription"), value=scores["value"], risk=scores["churn_probability"])
    rise = expected.churn_rise
    assert shown["Detractors who left"] == f"{rise.detractor_rate:.1%}" == "44.8%"
    assert shown["Promoters who left"] == f"{rise.promoter_rate:.1%}" == "23.5%"
    assert shown["Rise, detractor vs promoter"] == "+21.3 points"
    assert "Unhappy customers leave clearly more often" in markdown(at)
    nps = next(d.value for d in at.dataframe if "NPS class" in d.value.columns)
    assert list(nps["NPS class"]) == ["promoter", "passive", "detractor"]
    assert list(nps["Customers"]) == [1301, 1334, 1121]
    loop = next(d.value for d in at.dataframe if "Value at risk" in d.value.columns and "Customer" in d.value.columns)
    assert loop["Value at risk"].is_monotonic_decreasing
    assert loop["Customer"].iloc[0] == expected.close_the_loop["customer_id"].iloc[0]
    assert len(at.tabs) == 4  # CSAT, CES, tickets, escalations


def test_purchase_log_is_told_which_columns_would_enable_the_page():
    at = open_page(PAGE, dataset="cdnow_sample", check_errors=True)
    assert any("'nps' (0-10)" in i.value and "support_tickets" in i.value for i in at.info)
    assert not at.metric
