"""Pages read the same figures whether the cache stores their results compressed or not
(`analytics.engine.packed` in `ui.cache.per_dataset`)."""

from __future__ import annotations

import pytest
import streamlit as st

from analytics.engine import packed
from tests.app.helpers import metrics, open_page, page_text
from ui import cache

PAGES = ("pages/overview.py", "pages/segments.py", "pages/churn.py", "pages/lifetime_value.py", "pages/actions.py")


def texts(page: str) -> tuple[str, dict]:
    st.cache_data.clear()
    cache._READY_DEMO.clear()
    first = open_page(page, check_errors=True, dataset="cdnow_sample")  # computed and stored
    second = open_page(page, check_errors=True, dataset="cdnow_sample")  # read back from the cache
    assert page_text(first) == page_text(second)
    return page_text(second), metrics(second)


@pytest.mark.parametrize("page", PAGES)
def test_every_result_stored_compressed_reads_the_same(monkeypatch, page) -> None:
    plain = texts(page)
    stored: list[object] = []
    pack = packed.pack
    monkeypatch.setattr(packed, "MIN_PACKED_BYTES", 0)  # every result compressed
    monkeypatch.setattr(cache, "pack", lambda value: stored.append(pack(value)) or stored[-1])
    assert texts(page) == plain
    assert stored and all(type(s) is packed.Packed for s in stored)
