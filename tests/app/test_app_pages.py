"""AppTest runs of the frame and the Data page: demo data with no upload, uploads, garbage uploads."""

from __future__ import annotations

from tests.app.helpers import captions, metrics, open_page, table
from tests.conftest import csv_bytes


def test_dataset_in_the_url_picks_the_demo():
    at = open_page("pages/data.py", dataset="cdnow_sample")
    assert not at.exception
    assert at.sidebar.selectbox[0].value == "demo:cdnow_sample"
    assert metrics(at)["Customers"] == "2,357"


def test_data_page_shows_rows_read_used_and_left_out():
    at = open_page("pages/data.py")
    assert at.sidebar.selectbox[0].value == "demo:subscription"
    assert not at.exception
    values = [m.value for m in at.metric]
    assert values[:3] == ["79,797", "79,454", "343"]  # purchases: read, used, left out
    assert any("79,797 read = 79,454 used + 343 left out." in c.value for c in at.caption)


def test_upload_is_read_and_becomes_the_dataset():
    at = open_page("pages/data.py")
    content = csv_bytes(
        """
        client;date;amount
        k1;31.01.2024;10,50
        k1;01.02.2024;3,00
        k2;15.02.2024;-1,00
        """
    )
    at.file_uploader[0].set_value(("shop.csv", content, "text/csv")).run()
    assert not at.exception
    assert at.session_state["data_source"] == "upload"
    values = [m.value for m in at.metric]
    assert values[:3] == ["3", "2", "1"]
    assert not at.error


def test_garbage_upload_shows_a_message_not_a_traceback():
    at = open_page("pages/data.py")
    at.file_uploader[0].set_value(("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "text/csv")).run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any("looks like a binary file" in m for m in messages)


def test_data_page_shows_the_business_kind_and_what_was_assumed():
    at = open_page("pages/data.py", dataset="cdnow_sample")
    assert not at.exception and not at.error
    assert "**Purchase log (customers leave silently" in captions(at)
    assumed = table(at, "Assumption").set_index("Assumption")
    assert assumed.loc["Exact duplicate rows", "Value"] == "21 kept (possible duplicates)"
    at.selectbox(key="kind_business").set_value("subscription").run()
    assert not at.exception
    assert "Chosen by you" in captions(at)
