"""Cleaning's integer codes reused downstream give the same answers as the ids as text (issue 13).

Cleaning remembers each kept row's customer as a code (first-appearance order) and keeps order
ids as Arrow text; the customer-day table and the customer count read those instead of hashing
10 million Python strings again. The reference is the same frame with the codes forgotten (a
copy) and the order ids as Python strings, as cleaning gave them before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.data import io as data_io
from analytics.data.cleaning import _date_then_id_order
from analytics.data.codes import first_appearance_codes, id_codes
from analytics.data.ingest import load_files
from analytics.data.io import _arrow_csv, _decode, _read_plain_utf8, _sniff_delimiter, read_table
from analytics.data.parsing import TEXT, is_blank, is_blank_text
from analytics.data.schema import CUSTOMER_ID, ORDER_ID, DataError
from analytics.engine.customer_days import build_customer_days
from tests.analytics.test_ingest_distinct import TEXT_FILES

TODAY = pd.Timestamp("2025-01-01")


def _log(seed: int = 5, n: int = 4000) -> bytes:
    """A messy purchase log with order ids: line items, copies, cancellations, blank and padded ids."""
    rng = np.random.default_rng(seed)
    customer = rng.choice([f"C{i:03d}" for i in range(250)] + [" C007", "C007 ", "", "n/a"], n)
    order = rng.integers(1, n // 3, n).astype(str).astype(object)
    cancelled = rng.random(n) < 0.03
    order[cancelled] = "C" + order[cancelled]
    order[rng.random(n) < 0.02] = ""
    cells = pd.DataFrame(
        {
            "order_id": order,
            "customer_id": customer,
            "order_date": rng.choice(["2024-01-05", "2024-02-07 10:30", "2024-03-01", "2024-03-09", "later"], n),
            "amount": rng.choice(["12.50", "-3.00", "4.00", "abc", "0", "7.25"], n),
        }
    )
    copies = cells.sample(200, random_state=seed)  # exact copies of earlier rows
    return pd.concat([cells, copies], ignore_index=True).to_csv(index=False).encode()


def test_customer_codes_from_cleaning_are_factorize_codes_of_the_ids():
    data = load_files([("log.csv", _log())], today=TODAY)
    tx = data.transactions
    known = id_codes(tx, CUSTOMER_ID)
    assert known is not None
    codes, uniques = pd.factorize(tx[CUSTOMER_ID].to_numpy(dtype=object), sort=False)
    np.testing.assert_array_equal(known.codes, codes)
    assert list(known.uniques) == list(uniques)
    assert "C007" in set(known.uniques) and " C007" not in set(known.uniques)  # padded cells are one id
    assert data.n_customers == tx[CUSTOMER_ID].nunique()


def test_order_ids_are_arrow_text_and_exclusions_match_python_strings():
    data = load_files([("log.csv", _log())], today=TODAY)
    tx = data.transactions
    assert tx[ORDER_ID].dtype == TEXT
    report = data.reports[0]
    reasons = {e.reason: e.rows for e in report.excluded}
    assert reasons["Exact duplicate of an earlier row"] > 0
    assert reasons["Cancellation (invoice number starts with C)"] > 0
    assert report.rows_read == report.rows_used + report.rows_excluded
    # the same order ids as Python strings (how cleaning kept them before) give the same table
    as_objects = tx.assign(**{ORDER_ID: tx[ORDER_ID].to_numpy(dtype=object, na_value=np.nan)})
    assert id_codes(as_objects, CUSTOMER_ID) is None  # a new frame: its ids are encoded afresh
    fast, slow = build_customer_days(tx), build_customer_days(as_objects)
    for field in ("customer", "day", "spend", "orders", "order_spend", "first_row", "rows"):
        np.testing.assert_array_equal(getattr(fast, field), getattr(slow, field), err_msg=field)
    assert list(fast.customer_ids) == list(slow.customer_ids)
    blank = tx[ORDER_ID].isna()
    assert not blank.any() or set(tx.loc[blank, ORDER_ID].map(type)) == {type(pd.NA)}


def test_codes_are_forgotten_when_the_id_column_is_replaced():
    data = load_files([("log.csv", _log(seed=8, n=600))], today=TODAY)
    tx = data.transactions
    assert id_codes(tx, CUSTOMER_ID) is not None
    tx[CUSTOMER_ID] = tx[CUSTOMER_ID].str.lower()
    assert id_codes(tx, CUSTOMER_ID) is None
    table = build_customer_days(tx)
    assert set(table.customer_ids) == set(tx[CUSTOMER_ID])


@pytest.mark.parametrize("codes", [[3, 1, 3, 0, 1], [0], []])
def test_first_appearance_codes_number_like_factorize(codes):
    values = np.array(codes, dtype=np.int64)
    renumbered, old = first_appearance_codes(values, 4)
    expected, uniques = pd.factorize(values, sort=False)
    np.testing.assert_array_equal(renumbered, expected)
    np.testing.assert_array_equal(old, uniques)


def test_blank_order_ids_found_by_length_first_are_the_blank_cells():
    cells = ["", " ", "NA", " n/A ", "nan", "NULL", "None", "-", "--", "?", "#N/A", "#n/a ", "\tnull\n"]
    cells += ["abc", "12345", "  x  ", "nonee", "İ", "ǅ", "n/a/b", None]
    values = pd.Series(cells, dtype=TEXT)
    expected = [True] * 13 + [False] * 7 + [True]
    assert is_blank_text(values).tolist() == expected
    assert is_blank(values.astype(object)).tolist() == expected  # the cell-by-cell rule on Python strings


def test_one_key_sort_is_lexsort_by_date_then_id():
    rng = np.random.default_rng(11)
    day_time = rng.choice(
        np.array(["2024-01-02", "2023-12-31T10:00", "2024-01-02T00:00:01"], dtype="datetime64[ns]"), 500
    )
    id_rank = rng.integers(0, 40, 500)
    expected = np.lexsort((id_rank, day_time.view(np.int64)))
    np.testing.assert_array_equal(_date_then_id_order(day_time.view(np.int64), id_rank), expected)


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_utf8_file_read_from_its_own_bytes_gives_the_same_cells(path):
    content = path.read_bytes()
    try:
        text, encoding = _decode(content, path.name)
    except DataError:
        pytest.skip("not text (its own test checks the message)")
    if encoding != "utf-8" or content.startswith(b"\xef\xbb\xbf"):
        pytest.skip("not plain UTF-8: read from the decoded text")
    delimiter = _sniff_delimiter([line for line in text[:65536].splitlines()[:60] if line.strip()])
    from_text, from_bytes = _arrow_csv(text, delimiter), _arrow_csv(text, delimiter, content)
    if from_text is None:
        assert from_bytes is None
    else:
        pd.testing.assert_frame_equal(from_bytes, from_text)


_ACCENTS = "\u00e9" * 40
_ROWS = "".join(f"C{i % 70},2024-03-{1 + i % 28:02d},{i % 97}.5\n" for i in range(6000))
HOSTILE_BYTES = {
    "quoted comma and space": ("customer,date,amount,note\n" + _ROWS.replace("\n", ',"Smith, John"\n')).encode(),
    "quoted cell starting with a space": ("customer,date,amount,note\n" + _ROWS.replace("\n", ',"  x"\n')).encode(),
    "space after a separator": ("customer,date,amount,note\n" + _ROWS.replace("\n", ", x\n")).encode(),
    "line starting with a space": ("customer,date,amount\n" + _ROWS + " C1,2024-03-01,1.0\n").encode(),
    "header name after a space": ("customer, date,amount\n" + _ROWS).encode(),
    "cp1252 byte after the first 256 KiB": ("customer,date,amount\n" + _ROWS * 8).encode() + b"C\xe9,2024-03-01,5.0\n",
    "multi-byte characters across the head": (
        "customer,date,amount\n" + "".join(f"\u00c7{_ACCENTS}{i % 70},2024-03-01,1.5\n" for i in range(4000))
    ).encode(),
    "title lines above the header": ("Sales export\nGenerated today\ncustomer,date,amount\n" + _ROWS).encode(),
    "separator hint": ("sep=;\ncustomer;date;amount\n" + _ROWS.replace(",", ";")).encode(),
    "no-break spaces only": "\u00a0\u00a0\n\u00a0".encode(),
}


def _decoded_then_read(content: bytes, name: str, monkeypatch: pytest.MonkeyPatch):
    """`read_table` as before the byte path: every file decoded to text first."""
    with monkeypatch.context() as patch:
        patch.setattr(data_io, "_read_plain_utf8", lambda content, name: None)
        try:
            return read_table(content, name)
        except DataError as exc:
            return str(exc)


@pytest.mark.parametrize(
    "name,content",
    [(f"{p.parent.name}/{p.name}", p.read_bytes()) for p in TEXT_FILES] + list(HOSTILE_BYTES.items()),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_plain_utf8_file_read_without_decoding_gives_the_decoded_read(name, content, monkeypatch):
    expected = _decoded_then_read(content, "f.csv", monkeypatch)
    try:
        fast = _read_plain_utf8(content, "f.csv")
    except DataError as exc:  # refused the same way (header only, one column, ...)
        assert str(exc) == expected
        return
    if fast is None:
        return  # read from the decoded text, as before
    assert not isinstance(expected, str), expected
    pd.testing.assert_frame_equal(fast.frame, expected.frame)
    assert (fast.notes, fast.file_kind) == (expected.notes, expected.file_kind)


def test_the_byte_path_steps_aside_where_the_cells_or_the_encoding_would_differ():
    for case in (
        "quoted cell starting with a space",
        "space after a separator",
        "line starting with a space",
        "header name after a space",
        "cp1252 byte after the first 256 KiB",
        "title lines above the header",
        "separator hint",
        "no-break spaces only",
    ):
        assert _read_plain_utf8(HOSTILE_BYTES[case], "f.csv") is None, case
    for case in ("quoted comma and space", "multi-byte characters across the head"):
        assert _read_plain_utf8(HOSTILE_BYTES[case], "f.csv") is not None, case
    assert read_table(HOSTILE_BYTES["cp1252 byte after the first 256 KiB"], "f.csv").notes[0].endswith("cp1252 text.")


def test_exact_duplicates_found_in_date_and_id_runs_are_pandas_duplicated_rows():
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame(
        {
            "order": rng.integers(0, 40, n).astype(str),
            "customer": rng.choice(["C1", "C2", " C1", "c3", ""], n),
            "date": rng.choice(["2024-01-02", "2024-01-02 00:00", "02/01/2024", "2024-01-03"], n),
            "amount": rng.choice(["1.00", "1.0", "2.50", "-1.00"], n),
        }
    )
    content = frame.to_csv(index=False).encode()
    data = load_files([("log.csv", content)], today=TODAY)
    excluded = {e.reason: e for e in data.reports[0].excluded}
    # the reference: pandas' duplicated over every column, among the rows no earlier rule excluded
    raw = read_table(content, "log.csv").frame
    assert set(excluded) == {
        "No customer id",
        "Return or refund (negative amount)",
        "Exact duplicate of an earlier row",
    }
    blank_id = raw["customer"].str.strip() == ""
    negative = raw["amount"].str.startswith("-")
    earlier = (blank_id | negative).to_numpy()
    expected = np.zeros(n, dtype=bool)
    kept = np.flatnonzero(~earlier)
    expected[kept] = raw.iloc[kept].duplicated(keep="first").to_numpy()
    found = excluded["Exact duplicate of an earlier row"]
    assert found.rows == int(expected.sum())
    assert found.examples == tuple(int(r) + 2 for r in np.flatnonzero(expected)[:5])


def test_a_cleaned_frame_copied_out_of_process_gets_its_codes_once_and_keeps_the_same_answers():
    """The app's dataset unpickled from st.cache_data (a connection's or a share link's tables) has
    lost cleaning's codes: `encoded_id_codes` encodes the ids once and remembers them, so customer
    counts and the customer-day table do not hash every id again, with the same answers."""
    import pickle

    from analytics.data.codes import encoded_id_codes
    from analytics.data.schema import CustomerData
    from analytics.engine.customer_days import customer_days

    data = load_files([("log.csv", _log())], today=TODAY)
    copied = pickle.loads(pickle.dumps(data))
    assert id_codes(copied.transactions, CUSTOMER_ID) is None  # the copy has no remembered codes
    remembered = encoded_id_codes(copied.transactions, CUSTOMER_ID)
    assert remembered is not None and remembered.codes.dtype == np.int32
    assert id_codes(copied.transactions, CUSTOMER_ID) is remembered
    np.testing.assert_array_equal(remembered.codes, id_codes(data.transactions, CUSTOMER_ID).codes)
    assert copied.customer_ids.tolist() == data.customer_ids.tolist()  # same ids, same first-appearance order
    ours, theirs = customer_days(copied.transactions), customer_days(data.transactions)
    np.testing.assert_array_equal(ours.customer, theirs.customer)
    np.testing.assert_array_equal(ours.day, theirs.day)
    assert ours.customer_ids.tolist() == theirs.customer_ids.tolist()
    # a frame with a missing id is not a cleaned frame: nothing is remembered, nothing guessed
    raw = pd.DataFrame({CUSTOMER_ID: ["a", None, "b"]})
    assert encoded_id_codes(raw, CUSTOMER_ID) is None and id_codes(raw, CUSTOMER_ID) is None
    # integer ids keep their dtype
    assert encoded_id_codes(pd.DataFrame({CUSTOMER_ID: [10, 9, 10]}), CUSTOMER_ID).uniques.dtype == np.int64
    # a customer count never remembers codes of a frame it was merely given: edited in place, it stays right
    tx = pd.DataFrame(
        {
            CUSTOMER_ID: ["a", "b", "c", "a"],
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    given = CustomerData(name="given", transactions=tx)
    assert given.n_customers == 3
    tx.loc[tx[CUSTOMER_ID] == "c", CUSTOMER_ID] = "a"
    assert given.n_customers == 2
