"""CSV downloads are written when clicked, not on every page run (`ui.downloads.csv_download`).

At a million customers a page's lists are tens of MB of CSV; building them on every run, and
Streamlit holding the bytes, made a second visit of Lifetime value take seconds on a 1M-customer
connection. The file a click would fetch must still be the same spreadsheet-safe CSV, and what the
button holds while the page is shown must cost less than the file itself.
"""

from __future__ import annotations

import gc
import io
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from analytics.reports.export import to_csv_bytes
from tests.app import helpers
from ui.downloads import PackedFrame

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


@pytest.mark.slow
def test_a_shown_page_holds_less_for_its_download_than_the_file_it_writes(monkeypatch):
    """Memory the download keeps while Lifetime value is shown (tracemalloc: what the page run leaves
    minus what stays once Streamlit drops the button's function). Holding the frame through a function
    written in the page kept the page's namespace: 1.37 MB for the sample's 139 KB CSV (9.9x; 12.4 MB
    for 1.36 MB on the full CDNOW log); the packed rows 87 KB (0.63x: the file's numbers are rounded,
    the packed ones exact); a function that takes the rows from the cached analysis when clicked, the
    function and the session's id (the session, which the page keeps open, holds the dataset and its state)."""
    made: list = []
    deferred = MediaFileManager.add_deferred

    def defer(self, make, mimetype, coordinates, file_name=None, **kwargs):
        made.append((self, make))
        return deferred(self, make, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", defer)
    helpers.open_page("pages/lifetime_value.py", CDNOW, check_errors=True)  # the fits, cached
    csv_bytes = len(made[-1][1]())  # what writing a CSV leaves behind is not counted below

    def forget_buttons() -> None:
        for entry in made:
            entry[0]._deferred_callables.clear()
        made.clear()

    forget_buttons()
    gc.collect()
    tracemalloc.start()
    try:
        # the run is over: only what outlives it, in a session still open (`shown`, as a browser tab)
        shown_in = helpers.open_page("pages/lifetime_value.py", CDNOW, check_errors=True)
        gc.collect()
        shown = tracemalloc.get_traced_memory()[0]
        assert len(made) == 1
        forget_buttons()
        gc.collect()  # the page's functions and namespace refer to each other: freed by the collector
        held = shown - tracemalloc.get_traced_memory()[0]
        del shown_in
    finally:
        tracemalloc.stop()
    assert 0 < held < csv_bytes, (held, csv_bytes)


def test_the_packed_rows_write_the_same_csv_as_the_frame():
    """The click writes from the unpacked copy: every dtype, missing value, index and column name as
    packed, so the CSV is byte for byte the one the frame itself writes."""
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", "=cmd()", "é", None],
            "clv": [1.123456789, np.nan, 3.0, -0.5],
            "orders": pd.array([1, None, 3, 4], dtype="Int64"),
            "segment": pd.Categorical(["a", "b", "a", None]),
            "first_purchase": pd.to_datetime(
                ["2024-01-01", None, "2024-03-01 10:00", "2024-02-29"], format="ISO8601"
            ).tz_localize("UTC"),
            "text": pd.array(["x", None, "z", "w"], dtype="string[pyarrow]"),
            "mixed": [1, "two", 3.5, None],
        },
        index=pd.Index([10, 20, 30, 40], name="row"),
    )
    packed = PackedFrame.of(frame)
    back = packed.unpack()
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back is not packed.unpack()  # a new copy each time: a click never changes the next one's rows
    assert to_csv_bytes(back, currency="EUR") == to_csv_bytes(frame, currency="EUR")
    assert to_csv_bytes(back, index=True) == to_csv_bytes(frame, index=True)


# Each page's list, its file and the data it is shown on (a demo: cached for the whole server). The
# Lifetime value page's customers, Segments' RFM scores and the angles' flagged customers are packed
# nowhere: the click takes them from the cached results (tests/app/test_downloads_from_cache.py).
PACKED_ONCE = {
    "churn planner": ("pages/churn.py", "customers_to_contact.csv", {}),
    "subscribers": ("pages/lifetime_value.py", "subscriber_value.csv", {}),
}


@pytest.mark.slow
@pytest.mark.parametrize("page, file_name, query", PACKED_ONCE.values(), ids=list(PACKED_ONCE))
def test_a_rerun_with_no_click_packs_no_list_again(page, file_name, query, monkeypatch):
    """A page's CSV rows are built and packed once per dataset and settings (`ui.downloads.table_download`,
    cached), not on every run: packing a million-row list took 1.2-1.4 CPU s per button per run, whether
    or not anyone clicked (Segments packed its RFM scores twice a run). The file is the one written before."""
    import streamlit as st

    from ui import downloads as ud

    st.cache_data.clear()  # packed by no earlier test
    packed: list[int] = []
    of = ud.PackedFrame.of.__func__  # type: ignore[attr-defined]

    def counting(cls, frame):
        packed.append(len(frame))
        return of(cls, frame)

    files: dict[str, bytes] = {}
    deferred = MediaFileManager.add_deferred

    def written_now(self, make, mimetype, coordinates, file_name=None, **kwargs):  # a click would write it
        files[str(file_name)] = make()
        return deferred(self, make, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(ud.PackedFrame, "of", classmethod(counting))
    monkeypatch.setattr(MediaFileManager, "add_deferred", written_now)
    at = helpers.open_page(page, query, check_errors=True)
    first, after_first = files.pop(file_name), len(packed)
    assert after_first >= 1 and first.count(b"\n") > 10
    at.run()
    at.run()
    assert not at.exception
    assert len(packed) == after_first, packed  # two more runs, nothing packed again
    assert files.pop(file_name) == first
