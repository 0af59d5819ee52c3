"""Campaign readout page: a contact list with its control group, a later customers file, the uplift shown."""

from __future__ import annotations

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from analytics.business.experiment import (
    GROUP,
    TREATMENT,
    Outcome,
    assign_control_group,
    newcombe_interval,
    read_out,
)
from analytics.data.datasets import DATA_DIR
from tests.app.helpers import markdown, metrics, open_page
from ui import campaign as uc
from ui import state
from ui.churn import money

PAGE = "pages/readout.py"


def campaign_files(uplift: float) -> tuple[bytes, bytes, pd.DataFrame, pd.Series]:
    """A contact list of the demo's current customers (10% control) and a later file with churn flags."""
    customers = pd.read_csv(DATA_DIR / "subscription_customers.csv", dtype=str)
    current = customers.loc[customers["Churned"] == "No", "Customer ID"].head(3000)
    rng = np.random.default_rng(5)
    risk = rng.beta(2, 5, len(current))
    group = assign_control_group(current, risk, control_share=0.1, seed=2026)
    contacts = pd.DataFrame({"Rank": np.arange(1, len(current) + 1), "Customer": current.to_numpy(), GROUP: group})
    stay = rng.random(len(current)) < np.where(group.to_numpy() == TREATMENT, 0.80 + uplift, 0.80)
    later = pd.DataFrame({"Customer ID": current.to_numpy(), "Churned": np.where(stay, "No", "Yes")})
    return (
        contacts.to_csv(index=False).encode(),
        later.to_csv(index=False).encode(),
        contacts,
        pd.Series(stay, index=current.to_numpy()),
    )


def open_with(list_bytes: bytes, later_bytes: bytes) -> AppTest:
    return open_page(
        PAGE,
        session={
            uc.K_LIST_FILE: state.UploadedBytes.of("contacts.csv", list_bytes),
            uc.K_OUTCOME_FILES: [state.UploadedBytes.of("customers_later.csv", later_bytes)],
        },
        check_errors=True,
    )


def test_without_files_the_page_says_how_to_run_a_campaign_with_a_control_group():
    at = open_page(PAGE, check_errors=True)
    assert any("Upload both files" in i.value and "10%" in i.value for i in at.info)
    assert not at.metric


def test_a_clear_uplift_is_read_out_with_its_interval_value_and_cost():
    list_bytes, later_bytes, contacts, stay = campaign_files(uplift=0.10)
    at = open_with(list_bytes, later_bytes)
    shown = metrics(at)
    treated = (contacts[GROUP] == TREATMENT).to_numpy()
    x1, n1 = int(stay.to_numpy()[treated].sum()), int(treated.sum())
    x2, n2 = int(stay.to_numpy()[~treated].sum()), int((~treated).sum())
    assert n2 == 300
    assert shown["Retention, treated"] == f"{x1 / n1:.1%}"
    assert shown["Retention, control"] == f"{x2 / n2:.1%}"
    assert shown["Uplift"] == f"{100 * (x1 / n1 - x2 / n2):+.1f} points"
    lo, hi = newcombe_interval(x1, n1, x2, n2)
    assert lo > 0  # 10 points on 3,000 customers: clearly not chance
    assert shown["Customers saved"] == f"{(x1 / n1 - x2 / n2) * n1:,.0f}"
    assert shown["Value saved"] != "n/a" and shown["Cost per saved customer"] != "n/a"
    assert any("raised retention" in s.value for s in at.success)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    # the page's numbers are the library's
    expected = read_out(
        contacts.rename(columns={"Customer": "customer_id"})[["customer_id", GROUP]],
        Outcome(stay, "retention", "stayed"),
        offer_cost=5.0,
    )
    assert shown["p-value"] == ("< 0.001" if expected.p_value < 0.001 else f"{expected.p_value:.3f}")
    assert shown["Cost per saved customer"] == money(expected.cost_per_saved)


def test_no_uplift_is_called_chance_and_a_broken_list_gets_one_sentence():
    list_bytes, later_bytes, _, _ = campaign_files(uplift=0.0)
    at = open_with(list_bytes, later_bytes)
    assert "cannot be told apart from chance" in "\n".join(w.value for w in at.warning) + markdown(at)
    broken = b"Customer,Churn risk (%)\nBB-00001,40\n"
    at = open_page(
        PAGE,
        session={
            uc.K_LIST_FILE: state.UploadedBytes.of("contacts.csv", broken),
            uc.K_OUTCOME_FILES: [state.UploadedBytes.of("later.csv", later_bytes)],
        },
        check_errors=True,
    )
    assert any("needs a 'group' column" in i.value for i in at.info)


def test_control_group_share_and_seed_are_settings_a_share_link_carries():
    from tests.app.helpers import script_result

    at = open_page(PAGE, session={uc.K_CONTROL_PERCENT: 20, uc.K_SEED: 7}, check_errors=True)
    assert any("holds out 20%" in i.value and "(seed 7)" in i.value for i in at.info)

    def script() -> None:
        import streamlit as st

        from ui import state as s

        st.session_state["expected"] = s.settings_snapshot()

    snapshot = script_result(script, session={uc.K_CONTROL_PERCENT: 20, uc.K_SEED: 7})
    assert snapshot[uc.K_CONTROL_PERCENT] == 20 and snapshot[uc.K_SEED] == 7
