"""The quiet-time collection (`ui.cache.release_when_quiet`) still runs when the last background job
ends after the computation that armed it (review R3)."""

from __future__ import annotations

import gc
import time

import streamlit as st

from ui import background, cache


class _SlowToPickle:
    """A result `st.cache_data` takes a while to store, as a 1M-customer analysis does under load."""

    def __reduce__(self):
        time.sleep(0.6)
        return (_SlowToPickle, ())


def test_the_collection_runs_once_quiet_although_the_job_outlived_its_computation(monkeypatch):
    collections: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *a: collections.append(1))
    monkeypatch.setattr(background, "release_heap", lambda: None)
    monkeypatch.setattr(cache, "QUIET_S", 0.2)

    @st.cache_data(show_spinner=False)
    def compute(x: int) -> _SlowToPickle:
        try:
            return _SlowToPickle()
        finally:
            cache.release_when_quiet()  # as `per_dataset`'s computation does, before the cache stores the result

    background.submit(("quiet-release", 1), "Slow to store", compute, 1)
    assert background.settle([("quiet-release", 1)])
    deadline = time.monotonic() + 3
    while not collections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not background.under_way()
    assert collections, "no collection once the server was quiet"
