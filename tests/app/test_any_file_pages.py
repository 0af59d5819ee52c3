"""Every page on awkward uploads: a plain message where something cannot be shown, never
Streamlit's exception box. Customers tables without dates (the IBM Telco sample, and the corpus's
Telco-like, bank-exits and card-attrition tables) open every page registered in app.py."""

from __future__ import annotations

import re

import pytest

from tests.app.helpers import open_page, upload_session
from tests.conftest import ROOT

PAGES = tuple(sorted(re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', (ROOT / "app.py").read_text())))
TELCO = (ROOT / "tests" / "data" / "telco_churn_4930.csv").read_bytes()
CORPUS = ROOT / "tests" / "data" / "corpus" / "files"


def test_the_walk_covers_every_registered_page():
    assert len(PAGES) == len(list((ROOT / "pages").glob("*.py"))) >= 14


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_on_a_customers_table_without_dates(page):
    at = open_page(page, session=upload_session("telco_churn_4930.csv", TELCO))
    assert not at.exception
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("case", ["telco_like_no_dates", "bank_exits_no_dates", "card_attrition_no_dates"])
def test_every_page_opens_on_bank_and_telco_like_tables(case, page):
    at = open_page(page, session=corpus_session(case))
    assert not at.exception
    assert not at.error, [e.value for e in at.error]


def corpus_session(case: str) -> dict:
    from ui import state

    files = sorted((CORPUS / case).iterdir())
    return {
        state.K_UPLOADS: [state.UploadedBytes.of(f.name, f.read_bytes()) for f in files],
        state.K_SOURCE: state.UPLOAD,
    }


@pytest.mark.parametrize(
    ("case", "page"),
    [
        ("single_row", "pages/lifetime_value.py"),
        ("single_purchase_date", "pages/lifetime_value.py"),
        ("all_zero_amounts", "pages/cohorts.py"),
        ("customers_do_not_overlap", "pages/actions.py"),
        ("markdown_image_column_name", "pages/data.py"),
        ("iso_timestamps_with_zones", "pages/home.py"),
        ("three_churners", "pages/lifetime_value.py"),
    ],
)
def test_pages_that_used_to_break_show_a_plain_page(case, page):
    at = open_page(page, session=corpus_session(case))
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    if case == "three_churners":
        assert any("Only 3 customers left" in w.value for w in at.warning)
    if case == "markdown_image_column_name":
        shown = "\n".join(m.value for m in at.markdown)
        assert "![x](" not in shown  # never markdown an image a browser would fetch
