"""Results kept compressed in the cache (`analytics.engine.packed`) come back exactly."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd

from analytics.business.segments import rfm_table
from analytics.data.datasets import load_demo
from analytics.engine.packed import Packed, pack, unpack
from ui.downloads import PackedFrame


def test_a_per_customer_table_is_stored_compressed_and_comes_back_exactly() -> None:
    data = load_demo("cdnow_sample")
    table = rfm_table(data.transactions)
    stored = pack(table, min_bytes=0)
    assert type(stored) is Packed
    raw = len(pickle.dumps(table, protocol=5))
    assert stored.size == raw and len(pickle.dumps(stored)) < raw / 2  # the cache holds well under half
    back = unpack(pickle.loads(pickle.dumps(stored)))  # as st.cache_data hands it out
    pd.testing.assert_frame_equal(back, table, check_exact=True)
    assert back.index.name == table.index.name and list(back.dtypes) == list(table.dtypes)


def test_a_small_value_is_stored_as_it_is() -> None:
    value = {"a": np.arange(10), "b": "text"}
    assert pack(value) is value  # a pickle under a mebibyte
    assert unpack(value) is value


def test_a_packed_frame_a_function_returns_stays_packed() -> None:
    frame = pd.DataFrame({"x": np.arange(50_000) % 7})
    download = PackedFrame.of(frame)
    assert unpack(download) is download  # a download's packing is the result itself, not the cache's
    stored = pack(download, min_bytes=0)
    assert type(stored) is Packed and type(unpack(stored)) is PackedFrame
    pd.testing.assert_frame_equal(unpack(stored).unpack(), frame)
