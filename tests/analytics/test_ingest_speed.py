"""The faster paths of reading and cleaning give the answers of the paths they replace (issue 13).

Each shortcut (a chunked column encoded without copying it into one array, ids of untrimmed
cells coded without hashing them again, timestamps ranked on distinct cells, a radix sort by
timestamp when rows come sorted by customer) is checked against the computation it replaces,
and whole logs against the cell-by-cell path (the same cells as Python objects).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from analytics.data.cleaning import (
    _date_then_id_order,
    _exact_duplicates,
    _Exclusions,
    _factors_of_distinct_cells,
    _kept_by_date_then_id,
    _stamp_ranks,
    _take_rows,
    _text_factors,
    _trimmed_text,
    clean_transactions,
)
from analytics.data.codes import id_codes
from analytics.data.columns import ColumnMapping
from analytics.data.ingest import load_files
from analytics.data.io import RawTable
from analytics.data.parsing import BLANKS, TEXT, _blank_cells, _encode, distinct, is_blank_text, to_text

TODAY = pd.Timestamp("2025-01-01")
MAPPING = ColumnMapping(
    kind="transactions",
    roles={"order_id": "order", "customer_id": "customer", "order_date": "date", "amount": "amount"},
)


def _chunked(chunks: list[list[str | None]]) -> pd.Series:
    array = pa.chunked_array([pa.array(c, type=pa.large_string()) for c in chunks], type=pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(array))


@pytest.mark.parametrize(
    "chunks",
    [
        [["b", "a", None], ["c", "a"], [], ["b", "d", None, "e"]],
        [[], []],
        [["x"]],
        [["é", "a"], ["ä", "é", ""]],
    ],
)
def test_a_chunked_column_encodes_as_its_cells_in_one_array(chunks):
    column = _chunked(chunks)
    dictionary, indices = _encode(column.array._pa_array)
    combined = pc.dictionary_encode(column.array._pa_array.combine_chunks())
    assert dictionary.to_pylist() == combined.dictionary.to_pylist()
    assert indices.to_pylist() == combined.indices.to_pylist()
    found = distinct(column)
    cells = [c for chunk in chunks for c in chunk]
    assert [found.values[i] if found.values[i] is not pd.NA else None for i in found.codes] == cells
    assert found.counts.sum() == len(cells)


def _ids(cells: list[str | None]) -> tuple[pd.Series, pd.Series]:
    found = distinct(pd.Series(cells, dtype=TEXT))
    return found.values, to_text(found.values)


@pytest.mark.parametrize(
    "cells",
    [
        ["C2", "C10", "C1", "n/a", None, "", "Ä1", "a", "Z"],
        ["00123", "123", "0042", "42"],
        [None, ""],
        ["ǅ", "İ", "z", "10", "9"],
    ],
)
def test_ids_of_untrimmed_cells_code_and_rank_as_hashing_them_would(cells):
    values, ids = _ids(cells)
    fast = _factors_of_distinct_cells(values, ids)
    assert fast is not None
    codes, uniques, rank = _text_factors(ids)
    np.testing.assert_array_equal(fast[0], codes)
    assert list(fast[1]) == list(uniques)
    np.testing.assert_array_equal(fast[2], rank)


def test_padded_id_cells_are_hashed_as_text():
    values, ids = _ids(["C1", " C1", "C2 "])
    assert _factors_of_distinct_cells(values, ids) is None  # ' C1' and 'C1' are one id


def test_timestamps_ranked_on_distinct_cells_as_on_rows():
    rng = np.random.default_rng(4)
    cells = pd.Series(rng.choice(["2024-01-02", "2024-1-2", "2023-12-31", "2025-06-01 10:00", "x"], 400), dtype=TEXT)
    found = distinct(cells)
    per_cell = np.array(["2024-01-02", "2024-01-02", "2023-12-31", "2025-06-01T10:00", "NaT"], dtype="datetime64[ns]")
    order = [["2024-01-02", "2024-1-2", "2023-12-31", "2025-06-01 10:00", "x"].index(v) for v in found.values]
    stamps = per_cell[order][found.codes].view(np.int64)
    codes, uniques = pd.factorize(stamps)
    expected = np.empty(len(uniques), dtype=np.int64)
    expected[np.argsort(uniques, kind="stable")] = np.arange(len(uniques))
    np.testing.assert_array_equal(_stamp_ranks(stamps, found), expected[codes])
    assert _stamp_ranks(stamps, None) is None


@pytest.mark.parametrize("sorted_ids", [True, False])
@pytest.mark.parametrize("n_stamps", [3, 70_000])
def test_sort_by_timestamp_alone_when_rows_come_sorted_by_id_is_lexsort(sorted_ids, n_stamps):
    rng = np.random.default_rng(n_stamps)
    n = 200_000
    id_rank = rng.integers(0, 5000, n)
    if sorted_ids:
        id_rank = np.sort(id_rank)
    stamps = rng.integers(0, n_stamps, n) * 86_400 * 10**9
    expected = np.lexsort((id_rank, stamps))
    np.testing.assert_array_equal(_date_then_id_order(stamps, id_rank), expected)
    codes, uniques = pd.factorize(stamps)
    ranks = np.empty(len(uniques), dtype=np.int64)
    ranks[np.argsort(uniques)] = np.arange(len(uniques))
    np.testing.assert_array_equal(_date_then_id_order(stamps, id_rank, ranks[codes]), expected)


def _log_sorted_by_customer(seed: int = 8, n: int = 6000) -> pd.DataFrame:
    """A purchase log exported customer by customer: blanks, copies, refunds and odd cells."""
    rng = np.random.default_rng(seed)
    customer = np.sort(rng.choice([f"C{i:04d}" for i in range(400)], n)).astype(object)
    customer[rng.random(n) < 0.01] = ""
    cells = pd.DataFrame(
        {
            "order": rng.integers(1, 10**6, n).astype(str),
            "customer": customer,
            "date": rng.choice(["2024-01-05", "2024-02-07 10:30", "2024-03-01", "9999-12-31", "later"], n),
            "amount": rng.choice(["12.50", "-3.00", "4.00", "abc", "0", "7.25"], n),
        }
    )
    copies = rng.choice(n, 100)  # exact copies, next to the row they copy
    return pd.concat([cells, cells.iloc[copies]]).sort_values("customer", kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_log_sorted_by_customer_cleans_as_cell_by_cell(shuffled):
    cells = _log_sorted_by_customer()
    if shuffled:
        cells = cells.sample(frac=1.0, random_state=2).reset_index(drop=True)
    data = load_files([("log.csv", cells.to_csv(index=False).encode())], mappings=[MAPPING], today=TODAY)
    slow, slow_report = clean_transactions(
        RawTable(frame=cells.astype(object), source="log.csv", file_kind="csv"), MAPPING, TODAY
    )
    tx, report = data.transactions, data.reports[0]
    pd.testing.assert_frame_equal(
        tx.assign(order_id=tx["order_id"].astype(object)), slow.assign(order_id=slow["order_id"].astype(object))
    )
    assert [(e.reason, e.rows, e.examples) for e in report.excluded] == [
        (e.reason, e.rows, e.examples) for e in slow_report.excluded
    ]
    assert report.rows_read == report.rows_used + report.rows_excluded
    known = id_codes(tx, "customer_id")
    codes, uniques = pd.factorize(tx["customer_id"].to_numpy(dtype=object))
    np.testing.assert_array_equal(known.codes, codes)
    assert list(known.uniques) == list(uniques)


@pytest.mark.parametrize(
    "cells",
    [["1001", "C1002", "", "n/a", None, "é9"], ["1001", " C1002", "NA ", "\t", None, "x\u00a0"], [None], []],
)
def test_order_ids_trimmed_once_share_the_column_when_nothing_is_trimmed(cells):
    column = pd.Series(cells, dtype=TEXT)
    trimmed = _trimmed_text(column)
    assert trimmed.tolist() == column.str.strip().tolist()
    nothing_to_trim = column.dropna().tolist() == column.str.strip().dropna().tolist()
    assert (trimmed.array._pa_array is column.array._pa_array) == nothing_to_trim
    assert is_blank_text(trimmed, trimmed=True).tolist() == is_blank_text(column).tolist()


def test_rows_taken_chunk_by_chunk_are_the_rows_and_duplicates_are_pandas_duplicated():
    rng = np.random.default_rng(6)
    n = 3000
    cells = {
        "order": rng.integers(0, 40, n).astype(str),
        "customer": rng.choice(["C1", "C2", "C3", ""], n),
        "amount": rng.choice(["1.00", "2.50"], n),
    }
    bounds = [0, 7, 7, 900, 2999, n]  # chunks of every size, one of them empty
    frame = pd.DataFrame(
        {
            name: pd.arrays.ArrowStringArray(
                pa.chunked_array(
                    [pa.array(v[a:b], type=pa.large_string()) for a, b in zip(bounds, bounds[1:], strict=False)]
                )
            )
            for name, v in cells.items()
        }
    )
    assert frame["order"].array._pa_array.num_chunks == 5
    for rows in (np.array([0, 6, 7, 8, 2998, 2999]), np.arange(n), np.array([5])):
        taken = _take_rows(frame["customer"], rows)
        assert taken.tolist() == frame["customer"].iloc[rows].tolist() and taken.dtype == frame["customer"].dtype
    ex = _Exclusions(n, "transactions")
    ex.add("first rows", np.arange(n) < 10)
    expected = frame.astype(object).duplicated(keep="first").to_numpy() & ex.kept
    expected[ex.kept] = frame.astype(object)[ex.kept].duplicated(keep="first").to_numpy()
    np.testing.assert_array_equal(_exact_duplicates(frame, ex, candidates_by=["customer", "amount"]), expected)


def test_only_ascii_cells_lower_case_to_an_na_like_word():
    """Why blank cells may be looked for among cells of at most 4 BYTES (`is_blank_text`)."""
    letters = set("".join(BLANKS))
    assert max(len(b) for b in BLANKS) == 4
    # lower-cased as the code does it (Arrow's utf8_lower, which differs from Python's: U+0130 -> "i")
    cells = [chr(c) for c in range(0x80, sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    lowered = pc.utf8_lower(pa.array(cells)).to_pylist()
    assert not [cell for cell, low in zip(cells, lowered) if low and set(low) <= letters]


@pytest.mark.parametrize("excluded_share", [0.0, 0.3])
def test_kept_rows_by_date_then_id_are_lexsort_of_the_kept_rows(excluded_share):
    rng = np.random.default_rng(9)
    n = 5000
    kept = rng.random(n) >= excluded_share
    stamps = rng.integers(0, 30, n) * 10**9
    id_rank = np.sort(rng.integers(0, 300, n)).astype(np.int32)
    rows = np.flatnonzero(kept)
    expected = rows[np.lexsort((id_rank[rows], stamps[rows]))]
    np.testing.assert_array_equal(_kept_by_date_then_id(kept, stamps, id_rank, None), expected)


def test_exclusion_masks_of_every_kind_give_the_same_reasons():
    as_array = np.array([True, False, True, False])
    kinds = [as_array, pd.Series(as_array), pd.Series(as_array, dtype="boolean"), pd.Series([True, None, True, False])]
    reasons = []
    for mask in kinds:
        ex = _Exclusions(4, "transactions")
        ex.add("first", np.array([False, False, True, False]))
        ex.add("second", mask)  # a missing answer is "no"
        reasons.append(ex.reason.tolist())
    assert reasons == [[1, -1, 0, -1]] * 4


def test_blank_cells_of_arrow_text_are_those_of_the_same_python_strings():
    cells = ["", " ", "NA", " n/A ", "nan", "NULL", "None", "-", "--", "?", "#N/A", "#n/a ", "\tnull\n", "\u2003na"]
    cells += ["NULL\u00a0", "abc", "12345", "  x  ", "nonee", "İ", "ǅ", "K", "n/a/b", None]
    arrow, objects = pd.Series(cells, dtype=TEXT), pd.Series(cells, dtype=object)
    assert _blank_cells(arrow).tolist() == _blank_cells(objects).tolist()
    assert _blank_cells(arrow).tolist()[:15] == [True] * 15
