"""Reading each distinct cell once gives the same answer as reading every cell (issue 13).

CSV columns are Arrow text; parsers read their distinct cells once and map the results back,
weighing the counts that decide a column's format by rows. The same cells as plain Python objects
are read cell by cell, which is the reference here.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.data.cleaning import clean_transactions
from analytics.data.columns import ColumnMapping
from analytics.data.ingest import load_files
from analytics.data.io import RawTable, _arrow_csv, _decode, _sniff_delimiter, read_table
from analytics.data.parsing import TEXT, distinct, is_blank, parse_dates, parse_numbers, to_text
from analytics.data.schema import DataError

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus" / "files"
TEXT_FILES = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".csv", ".txt", ".tsv"))


def _as_text(cells: list[str]) -> pd.Series:
    return pd.Series(cells, dtype=TEXT)


def _as_objects(cells: list[str]) -> pd.Series:
    return pd.Series(cells, dtype=object)


def test_distinct_cells_codes_and_counts():
    found = distinct(_as_text(["b", "a", "b", None, "b"]))
    assert found.values.tolist()[:2] == ["b", "a"]  # first appearance
    assert pd.isna(found.values.iloc[2])  # missing cells last
    assert found.codes.tolist() == [0, 1, 0, 2, 0]
    assert found.counts.tolist() == [3, 1, 1]
    assert distinct(_as_objects(["a"])) is None  # native cells are read one by one


def test_repeated_cells_weigh_by_rows_when_deciding_the_decimal_separator():
    # Two distinct cells only read with a decimal comma, one (in three rows) only with a point:
    # rows decide (3 > 2), so the point wins and the comma cells are "written the other way".
    cells = ["1,5", "2,5", "2.50", "2.50", "2.50"]
    parsed = parse_numbers(_as_text(cells))
    assert not parsed.decimal_comma
    assert parsed.values.tolist()[2:] == [2.5, 2.5, 2.5]
    assert parsed.other_format.tolist() == [True, True, False, False, False]
    assert parsed.evidence[0] == "decimal point: 3 cells like '2.50' only read that way"
    assert parsed.evidence[-1] == "2 cells like '1,5' are written the other way and were not read"


def test_repeated_cells_weigh_by_rows_when_deciding_day_or_month_first():
    cells = ["13/01/2024", "01/13/2024", "01/13/2024", "01/13/2024", "02/03/2024"]
    parsed = parse_dates(_as_text(cells))
    assert parsed.day_first is False
    assert "1 only fit day-first and 3 only month-first; read month-first" in parsed.note
    assert parsed.values.iloc[1] == pd.Timestamp("2024-01-13")
    assert parsed.values.iloc[4] == pd.Timestamp("2024-02-03")
    assert pd.isna(parsed.values.iloc[0])


def test_currency_counts_are_rows():
    parsed = parse_numbers(_as_text(["12 EUR", "12 EUR", "3 USD", "12 EUR"]))
    assert parsed.currencies == {"EUR": 3, "USD": 1}


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_corpus_column_reads_the_same_cell_by_cell(path):
    try:
        raw = read_table(path.read_bytes(), path.name)
    except DataError:
        pytest.skip("the file is refused before parsing (its own test checks the message)")
    for column in raw.frame.columns:
        text = raw.frame[column].reset_index(drop=True)
        assert distinct(text) is not None
        cells = text.astype(object).where(text.notna(), None)
        fast, slow = parse_numbers(text), parse_numbers(cells)
        pd.testing.assert_series_equal(fast.values, slow.values, check_names=False)
        assert (fast.decimal_comma, fast.thousands, fast.currencies, fast.evidence) == (
            slow.decimal_comma,
            slow.thousands,
            slow.currencies,
            slow.evidence,
        )
        assert fast.other_format.tolist() == slow.other_format.tolist()
        fast_dates, slow_dates = parse_dates(text), parse_dates(cells)
        pd.testing.assert_series_equal(fast_dates.values, slow_dates.values, check_names=False)
        assert (fast_dates.note, fast_dates.day_first, fast_dates.ambiguous) == (
            slow_dates.note,
            slow_dates.day_first,
            slow_dates.ambiguous,
        )
        assert fast_dates.placeholder.tolist() == slow_dates.placeholder.tolist()
        pd.testing.assert_series_equal(to_text(text), to_text(cells))
        assert is_blank(text).tolist() == is_blank(cells).tolist()


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_arrow_reader_gives_pandas_cells_or_steps_aside(path):
    try:
        text, _ = _decode(path.read_bytes(), path.name)
    except DataError:
        pytest.skip("not text (its own test checks the message)")
    text = text.lstrip("\ufeff")
    delimiter = _sniff_delimiter([line for line in text[:65536].splitlines()[:60] if line.strip()])
    fast = _arrow_csv(text, delimiter)
    if fast is None:
        return
    slow = pd.read_csv(
        io.StringIO(text), sep=delimiter, dtype=TEXT, keep_default_na=False, skipinitialspace=True, engine="c"
    )
    pd.testing.assert_frame_equal(fast, slow)


def test_arrow_reader_steps_aside_where_pandas_would_read_differently():
    assert _arrow_csv("id, amount\n1, 2\n", ",") is None  # a space after the separator
    assert _arrow_csv("id,id\n1,2\n", ",") is None  # repeated header names
    assert _arrow_csv("id,,x\n1,2,3\n", ",") is None  # a blank header name
    assert _arrow_csv("id,amount\n1,2,3\n", ",") is None  # a ragged row: pandas says which line
    read = _arrow_csv('id,note\n007,"a\nb"\n\n008,""\n', ",")
    assert read["id"].tolist() == ["007", "008"] and read["note"].tolist() == ["a\nb", ""]


def test_exact_duplicates_compare_every_column_not_only_the_mapped_ones():
    csv = (
        "customer,date,amount,store\n"
        "A,2024-01-02,10.00,north\n"
        "A,2024-01-02,10.00,south\n"  # same purchase fields, another store: not a copy
        "A,2024-01-02,10.00,north\n"  # a copy of the first row
        "B,2024-01-03,5.00,north\n"
    )
    raw = read_table(csv.encode(), "orders.csv")
    mapping = ColumnMapping(
        kind="transactions", roles={"customer_id": "customer", "order_date": "date", "amount": "amount"}
    )
    out, report = clean_transactions(raw, mapping, today=pd.Timestamp("2025-01-01"))
    assert report.possible_duplicates == 1
    dropped = clean_transactions(
        raw,
        ColumnMapping(kind=mapping.kind, roles=mapping.roles, drop_exact_duplicates=True),
        pd.Timestamp("2025-01-01"),
    )[1]
    assert [(e.reason, e.rows, e.examples) for e in dropped.excluded] == [
        ("Exact duplicate of an earlier row", 1, (4,))
    ]


def test_rows_sorted_by_date_then_id_in_python_string_order_and_ids_shared():
    ids = ["b", "Z", "é", "a", "b", "ä"]
    csv = "customer,date,amount\n" + "".join(f"{c},2024-01-0{1 + i % 2},1.00\n" for i, c in enumerate(ids))
    data = load_files([("orders.csv", csv.encode())], today=pd.Timestamp("2025-01-01"))
    tx = data.transactions
    expected = sorted(zip([1 + i % 2 for i in range(len(ids))], ids, strict=True))
    assert list(zip(tx["order_date"].dt.day, tx["customer_id"], strict=True)) == expected
    assert tx["customer_id"].dtype == object
    b_rows = tx.index[tx["customer_id"] == "b"]
    assert tx["customer_id"][b_rows[0]] is tx["customer_id"][b_rows[1]]  # one string object per customer


def test_load_files_accounts_for_every_row_on_a_generated_log():
    rng = np.random.default_rng(3)
    n = 5000
    cells = pd.DataFrame(
        {
            "customer": rng.choice([f"C{i:03d}" for i in range(300)] + ["", " NA "], n),
            "date": rng.choice(["2024-01-05", "05.02.2024", "9999-12-31", "later", "2024-03-07 10:00"], n),
            "amount": rng.choice(["12.50", "-3.00", "1,234.50", "abc", "0", "7"], n),
        }
    )
    content = cells.to_csv(index=False).encode()
    mapping = ColumnMapping(
        kind="transactions", roles={"customer_id": "customer", "order_date": "date", "amount": "amount"}
    )
    data = load_files([("log.csv", content)], mappings=[mapping], today=pd.Timestamp("2025-01-01"))
    report = data.reports[0]
    assert report.rows_read == n == report.rows_used + sum(e.rows for e in report.excluded)
    slow = clean_transactions(
        RawTable(frame=cells.astype(object), source="log.csv", file_kind="csv"), mapping, pd.Timestamp("2025-01-01")
    )
    pd.testing.assert_frame_equal(data.transactions, slow[0])
    assert [(e.reason, e.rows, e.examples) for e in report.excluded] == [
        (e.reason, e.rows, e.examples) for e in slow[1].excluded
    ]


def test_a_log_without_any_customer_id_is_refused_with_its_reason():
    with pytest.raises(DataError, match="all 2 rows were excluded .2 no customer id"):
        load_files([("orders.csv", b"customer_id,order_date,amount\n,2024-01-02,1\n ,2024-01-03,2\n")])
