"""Customer ids held as codes into the dataset's ids (analytics.engine.compact): an equal result back,
pointing at the dataset's own id strings, and anything else untouched."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest

from analytics.data.datasets import load_demo
from analytics.data.schema import CUSTOMER_ID, CustomerData
from analytics.engine.compact import (
    CodedFrame,
    CodedIds,
    CodedSeries,
    DatasetIds,
    StaleIdsError,
    compact_ids,
    expand_ids,
)
from analytics.engine.customer_days import customer_days

POST_INITS: list[int] = []


@dataclasses.dataclass(frozen=True)
class Analysis:
    customers: pd.DataFrame
    scores: pd.Series
    notes: dict
    count: int = 0

    def __post_init__(self) -> None:
        POST_INITS.append(self.count)


class Pair(NamedTuple):
    first: pd.Series
    second: Any


@pytest.fixture(scope="module")
def data() -> CustomerData:
    return load_demo("cdnow_sample")


def round_trip(result: Any, data: CustomerData) -> Any:
    stored = pickle.dumps(compact_ids(result, DatasetIds(data)))
    # a fresh DatasetIds, as the app's next call makes one: the dataset's ids in the same order
    return expand_ids(pickle.loads(stored), DatasetIds(data))


def test_ids_in_every_order_and_place_come_back_equal_and_as_the_datasets_strings(data: CustomerData) -> None:
    ids = customer_days(data.transactions).customer_ids
    rng = np.random.default_rng(5)
    some = ids[rng.permutation(len(ids))[:300]]  # neither of the table's orders: found by hashing
    frame = pd.DataFrame({"clv": np.arange(len(ids), dtype=float), "segment": "x"}, index=ids.copy())
    frame.index.name = "who"
    listed = pd.DataFrame({CUSTOMER_ID: np.asarray(some), "value": np.arange(300)})
    by_id = pd.Series(np.arange(len(ids)), index=ids.sort_values(), name="rank")
    result = {
        "frame": frame,
        "listed": listed,
        "pair": Pair(by_id, [pd.Series(np.asarray(some), name=CUSTOMER_ID), 3]),
        "index": some,
    }
    back = round_trip(result, data)
    pd.testing.assert_frame_equal(back["frame"], frame)
    pd.testing.assert_frame_equal(back["listed"], listed)
    assert isinstance(back["pair"], Pair)
    pd.testing.assert_series_equal(back["pair"].first, by_id)
    pd.testing.assert_series_equal(back["pair"].second[0], pd.Series(np.asarray(some), name=CUSTOMER_ID))
    assert back["pair"].second[1] == 3
    pd.testing.assert_index_equal(back["index"], some)
    # the dataset's own strings: an unpickled copy of the plain result makes new ones
    position = {id(text): k for k, text in enumerate(ids)}
    for restored in (back["frame"].index, back["listed"][CUSTOMER_ID], back["pair"].first.index, back["index"]):
        assert all(id(text) in position for text in list(restored[:50]))
    plain = pickle.loads(pickle.dumps(result))
    assert not any(id(text) in position for text in list(plain["frame"].index[:50]))


def test_the_stored_copy_holds_codes_and_the_result_is_not_modified(data: CustomerData) -> None:
    ids = customer_days(data.transactions).customer_ids
    frame = pd.DataFrame({"clv": np.arange(len(ids), dtype=float)}, index=ids.copy())
    listed = pd.DataFrame({CUSTOMER_ID: np.asarray(ids[:10]), "value": np.arange(10)})
    POST_INITS.clear()
    analysis = Analysis(frame, frame["clv"], {"listed": listed, "label": "LV"}, count=7)
    stored = compact_ids(analysis, DatasetIds(data))
    assert POST_INITS == [7]  # copied, not built again (a __post_init__ may validate or compute)
    assert isinstance(stored, Analysis) and stored.count == 7 and stored.notes["label"] == "LV"
    assert isinstance(stored.customers, CodedFrame) and isinstance(stored.scores, CodedSeries)
    assert stored.customers.index is stored.scores.index  # one index, coded once (pickled once)
    coded = stored.notes["listed"]
    assert isinstance(coded, CodedFrame) and coded.frame[CUSTOMER_ID].dtype == np.int32
    assert isinstance(coded.column, CodedIds) and coded.column.codes.tolist() == list(range(10))
    assert ids[1].encode() in pickle.dumps(analysis)
    assert not any(text.encode() in pickle.dumps(stored) for text in ids[:20])  # no id text stored
    # the caller's objects are untouched
    assert frame.index.equals(ids) and listed[CUSTOMER_ID].dtype == object
    back = expand_ids(pickle.loads(pickle.dumps(stored)), DatasetIds(data))
    pd.testing.assert_frame_equal(back.customers, frame)
    pd.testing.assert_series_equal(back.scores, frame["clv"])
    assert back.customers.index is back.scores.index  # shared again, as in the result
    pd.testing.assert_frame_equal(back.notes["listed"], listed)


def test_what_is_not_the_datasets_ids_passes_unchanged(data: CustomerData) -> None:
    ids = customer_days(data.transactions).customer_ids
    segments = pd.DataFrame({"customers": [3, 4]}, index=pd.Index(["Champions", "Lost"], name="segment"))
    stranger = pd.Series([1.0, 2.0], index=pd.Index([ids[0], "no such customer"], name=CUSTOMER_ID))
    numbers = pd.Series([1.0], index=pd.Index([ids[0]], dtype="string"))
    paired = pd.Series([1.0, 2.0], index=pd.MultiIndex.from_arrays([ids[:2], ["a", "b"]]))
    result = (segments, stranger, numbers, paired, "text", 4.5, None)
    assert compact_ids(result, DatasetIds(data)) is result


def test_a_customers_table_is_a_source_of_ids_too() -> None:
    customers = pd.DataFrame({CUSTOMER_ID: ["c3", "c1", "c2"], "plan": ["a", "b", "a"]})
    data = CustomerData(name="customers only", customers=customers)
    scores = pd.Series([0.1, 0.9], index=pd.Index(["c2", "c3"], name=CUSTOMER_ID), name="risk")
    stored = compact_ids(scores, DatasetIds(data))
    assert isinstance(stored, CodedSeries) and stored.index is not None
    assert stored.index.codes.tolist() == [2, 0]
    back = expand_ids(pickle.loads(pickle.dumps(stored)), DatasetIds(data))
    pd.testing.assert_series_equal(back, scores)
    assert back.index[1] is customers[CUSTOMER_ID].iloc[0]


def test_codes_are_never_read_against_other_ids(data) -> None:
    """Review R5: the same data key read again after its table changed (a new customer first by id) must
    not pair the old positions with the new ids: expanding raises, and the cache computes again."""
    scores = pd.Series(np.arange(len(customer_days(data.transactions).customer_ids), dtype=float))
    scores.index = customer_days(data.transactions).customer_ids
    stored = pickle.loads(pickle.dumps(compact_ids(scores, DatasetIds(data))))
    newcomer = data.transactions.head(1).copy()
    newcomer[CUSTOMER_ID] = "0000-new"
    changed = dataclasses.replace(data, transactions=pd.concat([newcomer, data.transactions], ignore_index=True))
    with pytest.raises(StaleIdsError):
        expand_ids(stored, DatasetIds(changed))
    pd.testing.assert_series_equal(expand_ids(stored, DatasetIds(load_demo("cdnow_sample"))), scores)  # an equal copy
