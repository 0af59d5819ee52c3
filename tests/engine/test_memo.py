"""The one-entry memo the report's shared analyses use (`analytics.engine.memo.LastResult`)."""

from __future__ import annotations

import gc

import pandas as pd
import pytest

from analytics.business.churn_analysis import ChurnSettings, churn_analysis
from analytics.business.segments import rfm_table
from analytics.business.value import purchase_analysis, remember_purchase_analysis
from analytics.data.schema import CustomerData
from analytics.engine.memo import LastResult, forget_results_of
from analytics.models.clv import ClvSettings


class Dataset:
    """A stand-in for a dataset: weakly referenceable, equal by content."""

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and other.rows == self.rows

    __hash__ = None  # type: ignore[assignment]


def counting(memo: LastResult[int], owner: Dataset, key: tuple, calls: list[int]) -> int:
    def compute() -> int:
        calls.append(owner.rows)
        return owner.rows * 10

    return memo.get_or_compute(owner, key, compute)


def test_same_dataset_and_key_reuse_the_result() -> None:
    memo: LastResult[int] = LastResult("test")
    data, calls = Dataset(3), list[int]()
    assert counting(memo, data, ("a",), calls) == 30
    assert counting(memo, data, ("a",), calls) == 30
    assert calls == [3]
    assert memo.get(data, ("a",)) == 30


def test_a_new_dataset_gets_a_new_result_even_when_equal() -> None:
    memo: LastResult[int] = LastResult("test")
    first, second, calls = Dataset(3), Dataset(3), list[int]()
    counting(memo, first, ("a",), calls)
    assert memo.get(second, ("a",)) is None
    counting(memo, second, ("a",), calls)
    assert calls == [3, 3]
    assert memo.get(first, ("a",)) is None  # one entry: the second replaced the first


def test_another_key_or_size_computes_again() -> None:
    memo: LastResult[int] = LastResult("test")
    data, calls = Dataset(3), list[int]()
    counting(memo, data, (3, "a"), calls)
    counting(memo, data, (3, "b"), calls)
    data.rows = 4  # changed in place: the caller's size in the key tells
    assert counting(memo, data, (4, "b"), calls) == 40
    assert calls == [3, 3, 4]


def test_a_dead_datasets_reused_id_gets_no_stale_hit() -> None:
    memo: LastResult[int] = LastResult("test")
    old = Dataset(3)
    counting(memo, old, ("a",), [])
    old_id = id(old)
    del old
    gc.collect()
    assert memo.get(object(), ("a",)) is None
    assert memo._value is None  # the entry went with its dataset (the result is not kept alive)
    # CPython hands a freed object's memory to the next object of the same size: find one
    reused = None
    kept = []
    for _ in range(10_000):
        candidate = Dataset(7)
        if id(candidate) == old_id:
            reused = candidate
            break
        kept.append(candidate)
    assert reused is not None, "no new object reused the freed id; the test could not check it"
    calls: list[int] = []
    assert counting(memo, reused, ("a",), calls) == 70
    assert calls == [7]


def test_an_object_without_weak_references_is_held() -> None:
    memo: LastResult[str] = LastResult("test")
    owner = (1, 2)  # tuples cannot be weakly referenced
    memo.put(owner, "k", "value")
    assert memo.get(owner, "k") == "value"
    assert memo.get((1, 2, 3), "k") is None


def test_a_failed_computation_keeps_the_entry() -> None:
    memo: LastResult[int] = LastResult("test")
    data = Dataset(2)
    counting(memo, data, ("a",), [])

    def fail() -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        memo.get_or_compute(Dataset(5), ("a",), fail)
    assert memo.get(data, ("a",)) == 20


def test_forget_results_of_drops_only_the_entries_of_those_objects() -> None:
    memo: LastResult[int] = LastResult("test")
    other: LastResult[int] = LastResult("other")
    mine, theirs = Dataset(2), Dataset(3)
    counting(memo, mine, ("a",), [])
    counting(other, theirs, ("a",), [])
    forget_results_of(Dataset(2), None)  # an equal object is another object: nothing goes
    assert memo.get(mine, ("a",)) == 20
    forget_results_of(mine, None)
    assert memo.get(mine, ("a",)) is None
    assert other.get(theirs, ("a",)) == 30  # another object's entry stays
    calls: list[int] = []
    assert counting(memo, mine, ("a",), calls) == 20 and calls == [2]  # asked again: computed again


def test_forget_results_of_empties_the_library_memos_for_a_frame() -> None:
    tx = purchases()
    table = rfm_table(tx)
    forget_results_of(tx)
    again = rfm_table(tx)
    assert again is not table  # computed again, not held in the meantime
    pd.testing.assert_frame_equal(again, table)


def purchases(shift: float = 0.0) -> pd.DataFrame:
    days = pd.to_datetime(["2024-01-03", "2024-02-10", "2024-03-01", "2024-01-20", "2024-03-15", "2024-02-02"])
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c", "d"],
            "order_date": days,
            "amount": [10.0 + shift, 20.0, 5.0, 7.0, 9.0, 30.0],
        }
    )


def test_rfm_table_is_kept_per_frame() -> None:
    tx = purchases()
    table = rfm_table(tx)
    assert rfm_table(tx) is table
    other = rfm_table(purchases(shift=100.0))  # a new frame: its own table
    assert other is not table
    assert other.loc["a", "revenue"] == 130.0 and table.loc["a", "revenue"] == 30.0


def test_purchase_analysis_is_kept_per_frame_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    fits: list[pd.DataFrame] = []

    def analyse_clv(transactions: pd.DataFrame, settings: ClvSettings) -> tuple:
        fits.append(transactions)
        return (id(transactions), settings)

    monkeypatch.setattr("analytics.models.clv.analyse_clv", analyse_clv)
    data = CustomerData("memo test", transactions=purchases())
    weekly, monthly = ClvSettings(), ClvSettings(time_unit="M")
    first = purchase_analysis(data, weekly)
    assert purchase_analysis(data, weekly) is first and len(fits) == 1
    assert purchase_analysis(data, monthly) is not first and len(fits) == 2
    copy = CustomerData("memo test", transactions=purchases())  # the same purchases in another frame: fitted anew
    assert purchase_analysis(copy, weekly) is not first and len(fits) == 3
    marker = object()
    remember_purchase_analysis(data, weekly, marker)  # type: ignore[arg-type]
    assert purchase_analysis(data, weekly) is marker and len(fits) == 3


def test_churn_analysis_is_kept_per_dataset_and_settings(churn_purchases: CustomerData) -> None:
    first = churn_analysis(churn_purchases, ChurnSettings(model="logistic"))
    assert churn_analysis(churn_purchases, ChurnSettings(model="logistic")) is first
    again = CustomerData("memo test", transactions=churn_purchases.require_transactions().copy())
    assert churn_analysis(again, ChurnSettings(model="logistic")) is not first


@pytest.fixture
def churn_purchases() -> CustomerData:
    import numpy as np

    rng = np.random.default_rng(3)
    rows = []
    for i in range(400):
        n = int(rng.integers(1, 8))
        start = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 200)))
        gap = int(rng.integers(10, 120))
        for k in range(n):
            rows.append((f"C{i:04d}", start + pd.Timedelta(days=k * gap), float(rng.gamma(2, 20))))
    tx = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    tx = tx[tx["order_date"] <= "2024-06-30"].sort_values("order_date", ignore_index=True)
    return CustomerData("memo test", transactions=tx)
