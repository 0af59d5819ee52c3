"""The Data page's sheet picker: a workbook's data sheet is chosen by content and can be overridden,
also when the chosen sheet cannot be used (the picker shows before the file is read)."""

from __future__ import annotations

import json

from tests.app.helpers import open_page, upload_session
from tests.conftest import ROOT

CASE = ROOT / "tests" / "data" / "corpus" / "files" / "xlsx_lookup_sheet_larger_than_data"
TRUTH = json.loads((ROOT / "tests" / "data" / "corpus" / "expected.json").read_text())[
    "xlsx_lookup_sheet_larger_than_data"
]["expected"]
LABEL = "Sheet of book.xlsx that holds the data"


def picker(at):
    return next(s for s in at.selectbox if s.label == LABEL)


def test_the_data_sheet_is_chosen_by_content_and_can_be_overridden():
    at = open_page("pages/data.py", session=upload_session("book.xlsx", (CASE / "book.xlsx").read_bytes()))
    assert picker(at).options == ["Decide from the content", "Products", "Orders"]
    notes = "\n".join(m.value for m in at.markdown)
    assert "Read sheet 'Orders' of the Excel workbook: the only sheet with a customer id column." in notes
    rows = TRUTH["rows_read"]
    assert any(c.value == f"{rows:,} read = {rows:,} used + 0 left out." for c in at.caption)

    picker(at).select("Products").run()  # the product list: refused in words, the picker stays
    assert not at.exception
    assert any("'book.xlsx' has no customer id column" in e.value for e in at.error)
    assert picker(at).value == "Products"

    picker(at).select("Decide from the content").run()
    assert not at.exception and not at.error
    assert any(c.value == f"{rows:,} read = {rows:,} used + 0 left out." for c in at.caption)
