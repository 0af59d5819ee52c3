"""Every page on awkward uploads: a plain message where something cannot be shown, never
Streamlit's exception box. Customers tables without dates (the IBM Telco sample, and the corpus's
Telco-like, bank-exits and card-attrition tables) open every page registered in app.py, and (slow)
every page opens on every corpus file that is used (tests/data/corpus), one session per case."""

from __future__ import annotations

import json
import re

import pytest

from tests.app.helpers import open_page, upload_session
from tests.conftest import ROOT

MANIFEST = json.loads((ROOT / "tests" / "data" / "corpus" / "expected.json").read_text(encoding="utf-8"))

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
        ("iso_timestamps_with_zones", "pages/whatif.py"),
    ],
)
def test_pages_that_used_to_break_show_a_plain_page(case, page):
    at = open_page(page, session=corpus_session(case))
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    if case == "iso_timestamps_with_zones" and page == "pages/whatif.py":
        # BG/NBD sees no dropout on this short log: the page says why there is no retention to lift
        shown = " ".join(i.value for i in at.info)
        assert "no sign of customers dropping out" in shown
        assert "no retention rate below 100%" in shown
    if case == "three_churners":
        assert any("Only 3 customers left" in w.value for w in at.warning)
    if case == "markdown_image_column_name":
        shown = "\n".join(m.value for m in at.markdown)
        assert "![x](" not in shown  # never markdown an image a browser would fetch


# Every corpus file the corpus expects to be used (67), walked through every page: 2-90 s each on a
# busy 2-core machine (about 20 minutes in all), hence slow.
WALKED = [name for name, spec in MANIFEST.items() if spec["expected"]["outcome"] == "ok"]


@pytest.mark.slow
@pytest.mark.parametrize("case", WALKED)
def test_every_page_on_corpus_files(case):
    # One session per case, as a user clicking through the menu: Streamlit's exception box on no
    # page and no error on a file the corpus expects to be used.
    at = open_page(PAGES[0], session=corpus_session(case))
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (case, page, [e.value for e in at.exception])
        assert not at.error, (case, page, [e.value for e in at.error])
