"""CSV downloads are written when clicked, not on every page run (`ui.downloads.csv_download`).

At a million customers a page's lists are tens of MB of CSV; building them on every run, and
Streamlit holding the bytes, made a second visit of Lifetime value take seconds on a 1M-customer
connection. The file a click would fetch must still be the same spreadsheet-safe CSV.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from tests.app import helpers

CDNOW = {"dataset": "cdnow_sample"}


@pytest.mark.slow
def test_lifetime_value_page_writes_its_csv_only_when_clicked(monkeypatch):
    written_now: list[str] = []
    on_click: dict[str, object] = {}
    stored = MemoryMediaFileStorage.load_and_get_id
    deferred = MediaFileManager.add_deferred

    def store(self, path_or_data, mimetype, kind, filename=None):
        if filename:
            written_now.append(filename)
        return stored(self, path_or_data, mimetype, kind, filename)

    def defer(self, make, mimetype, coordinates, file_name=None, **kwargs):
        on_click[str(file_name)] = make
        return deferred(self, make, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", store)
    monkeypatch.setattr(MediaFileManager, "add_deferred", defer)
    at = helpers.open_page("pages/lifetime_value.py", CDNOW, check_errors=True)

    assert at.get("download_button")[0].label == "Download all 2,357 customers (CSV)"
    assert written_now == []  # no file was written or held by this run
    content = on_click["customer_lifetime_value.csv"]()  # what the click fetches
    assert content.startswith("\ufeff".encode())  # Excel reads the accents: the byte-order mark is there
    table = pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype={"customer_id": str})
    assert len(table) == 2_357 and table["customer_id"].is_unique
