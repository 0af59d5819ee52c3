"""Every result the pages cache (`ui.cache.per_dataset`) is stored with its customer ids as codes and
comes back equal, and a result handed out points at the dataset's own id strings."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analytics.data.datasets import load_demo
from analytics.data.schema import CustomerData
from analytics.engine.compact import CodedFrame, CodedIds, CodedSeries, DatasetIds, expand_ids
from analytics.engine.customer_days import customer_days
from tests.app.helpers import customers_only_upload, open_page, script_result
from ui import cache

PAGES = (
    "pages/home.py",
    "pages/overview.py",
    "pages/cohorts.py",
    "pages/segments.py",
    "pages/voice.py",
    "pages/churn.py",
    "pages/angles.py",
    "pages/lifetime_value.py",
    "pages/whatif.py",
    "pages/actions.py",
    "pages/share.py",
)


def assert_same(back: Any, original: Any, where: str = "result") -> None:
    """`back` equals `original`: frames, Series and indexes exactly (names, dtypes, order), containers
    and dataclasses field by field, anything else as its pickle."""
    assert type(back) is type(original), where
    if isinstance(original, pd.DataFrame):
        pd.testing.assert_frame_equal(back, original, check_exact=True, obj=where)
    elif isinstance(original, pd.Series):
        pd.testing.assert_series_equal(back, original, check_exact=True, obj=where)
    elif isinstance(original, pd.Index):
        pd.testing.assert_index_equal(back, original, exact=True, check_exact=True, obj=where)
    elif isinstance(original, dict):
        assert list(back) == list(original), where
        for key in original:
            assert_same(back[key], original[key], f"{where}[{key!r}]")
    elif isinstance(original, (list, tuple)):
        assert len(back) == len(original), where
        for k, (new, old) in enumerate(zip(back, original, strict=True)):
            assert_same(new, old, f"{where}[{k}]")
    elif dataclasses.is_dataclass(original):
        for field in dataclasses.fields(original):
            assert_same(getattr(back, field.name), getattr(original, field.name), f"{where}.{field.name}")
    elif type(original).__module__.startswith("analytics.") and hasattr(original, "__dict__"):
        assert list(vars(back)) == list(vars(original)), where
        for name in vars(original):
            assert_same(getattr(back, name), getattr(original, name), f"{where}.{name}")
    else:
        assert pickle.dumps(back) == pickle.dumps(original), where


def coded(value: Any) -> int:
    """How many coded id arrays `value` holds."""
    if isinstance(value, CodedIds):
        return 1
    if isinstance(value, (CodedFrame, CodedSeries)):
        return sum(
            part is not None for part in (value.index, getattr(value, "column", None), getattr(value, "values", None))
        )
    if isinstance(value, dict):
        return sum(coded(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(coded(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(coded(getattr(value, field.name, None)) for field in dataclasses.fields(value))
    if type(value).__module__.startswith("analytics.") and hasattr(value, "__dict__"):
        return sum(coded(item) for item in vars(value).values())
    return 0


def recorded_results(monkeypatch: pytest.MonkeyPatch, **opened: Any) -> list[tuple[str, Any, Any, CustomerData]]:
    """(function, result, stored copy, dataset) of every cached computation while every page opens."""
    seen: list[tuple[str, Any, Any, CustomerData]] = []
    compact = cache.compact_ids

    def recording(result: Any, ids: DatasetIds) -> Any:
        stored = compact(result, ids)
        seen.append((type(result).__name__, result, stored, ids._data))
        return stored

    monkeypatch.setattr(cache, "compact_ids", recording)
    for page in PAGES:
        open_page(page, **opened)
    return seen


@pytest.mark.parametrize(
    "opened",
    [{"dataset": "cdnow_sample"}, {"dataset": "subscription"}, {"session": customers_only_upload()[0]}],
    ids=["cdnow_sample", "subscription", "customers_only"],
)
def test_every_cached_result_comes_back_equal_after_the_round_trip(monkeypatch, opened) -> None:
    seen = recorded_results(monkeypatch, **opened)
    assert len(seen) > 20  # every page's cached analyses
    for name, result, stored, data in seen:
        back = expand_ids(pickle.loads(pickle.dumps(stored)), DatasetIds(data))
        assert_same(back, pickle.loads(pickle.dumps(result)), name)
    assert sum(coded(stored) for _, _, stored, _ in seen) > 10  # per-customer results were coded


def test_a_cached_result_points_at_the_datasets_id_strings() -> None:
    def script() -> None:
        import streamlit as st

        from ui import cache, segments

        data = cache.current_data()
        st.session_state["expected"] = (data, segments.rfm(data).index)

    script_result(script, query={"dataset": "cdnow_sample"})  # computed: the result itself
    data, index = script_result(script, query={"dataset": "cdnow_sample"})  # from the cache: a copy
    ids = customer_days(data.transactions).customer_ids
    assert len(index) == len(ids)
    positions = ids.get_indexer(index)
    assert all(index[k] is ids[positions[k]] for k in np.linspace(0, len(index) - 1, 20).astype(int))


def test_the_demo_ids_are_the_same_in_every_copy() -> None:
    """Codes stored by one session are read with another session's copy of the same demo."""
    one, two = load_demo("cdnow_sample"), load_demo("cdnow_sample")
    pd.testing.assert_index_equal(
        customer_days(one.transactions).customer_ids, customer_days(two.transactions).customer_ids
    )
