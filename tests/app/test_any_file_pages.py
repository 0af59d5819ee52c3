"""Every page on awkward uploads: a plain message where something cannot be shown, never
Streamlit's exception box. A customers table without dates (IBM Telco-like) opens every page."""

from __future__ import annotations

import pytest

from tests.app.helpers import open_page, upload_session
from tests.conftest import ROOT

PAGES = (
    "pages/home.py",
    "pages/data.py",
    "pages/overview.py",
    "pages/cohorts.py",
    "pages/segments.py",
    "pages/churn.py",
    "pages/lifetime_value.py",
    "pages/whatif.py",
    "pages/actions.py",
    "pages/share.py",
)
TELCO = (ROOT / "tests" / "data" / "telco_churn_4930.csv").read_bytes()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_on_a_customers_table_without_dates(page):
    at = open_page(page, session=upload_session("telco_churn_4930.csv", TELCO))
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
