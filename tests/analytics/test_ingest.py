"""Ingestion: every file kind, a corpus of bad and messy files, and the row accounting invariant."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.data import schema as s
from analytics.data.columns import ColumnMapping, guess_mapping
from analytics.data.ingest import load_files, read_and_guess
from analytics.data.io import read_table
from analytics.data.schema import DataError
from tests.conftest import csv_bytes, parquet_bytes, xlsx_bytes

TODAY = pd.Timestamp("2024-12-31")

CLEAN_ROWS = """
customer_id,order_date,amount
A,2024-01-05,10.00
A,2024-02-05,12.50
B,2024-01-07,99.90
"""


def excluded(data: s.CustomerData) -> dict[str, int]:
    return {e.reason: e.rows for r in data.reports for e in r.excluded}


def load(content: bytes, name: str = "file.csv") -> s.CustomerData:
    return load_files([(name, content)], today=TODAY)


# --- every file kind -------------------------------------------------------------------------


def test_plain_csv_reads_all_rows():
    data = load(csv_bytes(CLEAN_ROWS))
    assert data.transactions[s.AMOUNT].tolist() == [10.0, 99.9, 12.5]
    assert data.n_customers == 2
    report = data.reports[0]
    assert (report.rows_read, report.rows_used, report.rows_excluded) == (3, 3, 0)


def test_semicolon_decimal_comma_latin1_day_first():
    content = csv_bytes(
        """
        Kunde;Datum;Betrag
        Müller;31.01.2024;1.234,50
        Müller;02.03.2024;12,00
        Schäfer;15.02.2024;7,5
        """,
        encoding="latin-1",
    )
    data = load(content, "export.csv")
    tx = data.transactions
    assert sorted(tx[s.AMOUNT].tolist()) == [7.5, 12.0, 1234.5]
    assert set(tx[s.CUSTOMER_ID]) == {"Müller", "Schäfer"}
    assert tx[s.ORDER_DATE].min() == pd.Timestamp("2024-01-31")
    notes = " ".join(data.reports[0].notes)
    assert "semicolon-separated" in notes and "cp1252" in notes
    assert "decimal comma" in notes
    assert "day-first (dd.mm.yyyy)" in notes


def test_utf8_bom_tab_separated():
    content = "\ufeffCustomerID\tInvoiceDate\tTotalPrice\n17850\t2024-12-01\t15.30\n17850\t2024-12-02\t20.34\n".encode()
    data = load(content, "retail.tsv")
    assert data.reports[0].columns == {s.CUSTOMER_ID: "CustomerID", s.ORDER_DATE: "InvoiceDate", s.AMOUNT: "TotalPrice"}
    assert "tab-separated" in data.reports[0].notes[0]
    assert data.transactions[s.AMOUNT].sum() == pytest.approx(35.64)


def test_month_first_decided_from_data():
    content = csv_bytes(
        """
        client,purchase date,revenue
        x,03/04/2024,1
        y,12/25/2024,2
        """
    )
    data = load(content)
    assert data.transactions[s.ORDER_DATE].tolist() == [pd.Timestamp("2024-03-04"), pd.Timestamp("2024-12-25")]
    assert any("month-first" in n and "Decided from the data" in n for n in data.reports[0].notes)


def test_ambiguous_dates_are_a_labelled_guess_and_can_be_forced():
    content = csv_bytes(
        """
        customer,date,amount
        x,03/04/2024,1
        y,05/06/2024,2
        """
    )
    data = load(content)
    assert any("this was a guess" in n for n in data.reports[0].notes)
    table = read_and_guess("f.csv", content)
    forced = ColumnMapping(kind=s.TRANSACTIONS, roles=table.mapping.roles, day_first=True)
    data = load_files([("f.csv", content)], mappings=[forced], today=TODAY)
    assert data.transactions[s.ORDER_DATE].min() == pd.Timestamp("2024-04-03")


def test_excel_and_parquet():
    frame = pd.DataFrame(
        {
            "Customer ID": ["a", "b", "a"],
            "Order Date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-03-01"]),
            "Amount": [1.5, 2.5, 3.0],
        }
    )
    for name, content in (("book.xlsx", xlsx_bytes(frame)), ("table.parquet", parquet_bytes(frame))):
        data = load(content, name)
        assert data.transactions[s.AMOUNT].sum() == pytest.approx(7.0), name
        assert data.reports[0].rows_used == 3


def test_a_parquet_file_cleans_as_the_same_purchases_written_as_csv():
    """Parquet cells keep their types (text as Arrow text, dates as dates, integer order ids cast to
    text in Arrow): the same purchases, exclusions and counts as the CSV of the same table, and no
    time-zone note for plain dates (reading them as Python dates once said 'converted to UTC')."""
    frame = pd.DataFrame(
        {
            "order_id": [101, 102, 103, 104, 105, 105],
            "customer_id": ["a", " b", "", "a", "c", "c"],
            "order_date": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-03", None, "2024-03-01", "2024-03-01"]
            ).date,
            "amount": [1.5, 2.5, 3.0, 4.0, -1.0, 6.0],
        }
    )
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)  # an exact repeat of order 101
    parquet = load(parquet_bytes(frame), "table.parquet")
    text = frame.assign(order_date=pd.to_datetime(frame["order_date"]).dt.strftime("%Y-%m-%d"))
    csv = load(text.to_csv(index=False).encode(), "table.csv")
    pd.testing.assert_frame_equal(parquet.transactions, csv.transactions, check_exact=True)
    report = parquet.reports[0]
    assert [(e.reason, e.rows) for e in report.excluded] == [(e.reason, e.rows) for e in csv.reports[0].excluded]
    assert report.rows_read == 7 and report.rows_used == 3
    assert not any("time zone" in note for note in report.notes)


def test_cancellations_are_c_and_digits_only_whatever_the_case_or_padding():
    """'C123', 'c45' and ' C9 ' are cancellations; 'CUST-0001', 'C', 'C12a', 'X1' and plain numbers are
    orders; the same from a CSV (Arrow text) and from a Parquet file of Python strings."""
    ids = ["C123", "c45", " C9 ", "CUST-0001", "C", "C12a", "X1", "123", "C7"]
    frame = pd.DataFrame(
        {
            "order_id": ids,
            "customer_id": [f"K{i}" for i in range(len(ids))],
            "order_date": "2024-01-05",
            "amount": 10.0,
        }
    )
    for name, content in (("t.csv", frame.to_csv(index=False).encode()), ("t.parquet", parquet_bytes(frame))):
        report = load(content, name).reports[0]
        cancelled = [e for e in report.excluded if e.reason.startswith("Cancellation")]
        assert [(e.rows, list(e.examples)) for e in cancelled] == [(4, [2, 3, 4, 10])], name


def test_online_retail_layout_quantity_times_price_and_cancellations():
    content = csv_bytes(
        """
        InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
        536365,85123A,HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom
        536365,71053,LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
        C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527,United Kingdom
        536380,22961,JAM,24,12/13/2010 9:41,0.85,,United Kingdom
        """
    )
    data = load(content, "online_retail.csv")
    report = data.reports[0]
    assert report.columns[s.ORDER_ID] == "InvoiceNo"
    assert report.columns["unit_price"] == "UnitPrice"
    assert data.transactions[s.AMOUNT].round(2).tolist() == [15.3, 20.34]
    assert excluded(data) == {"No customer id": 1, "Cancellation (invoice number starts with C)": 1}


def test_customers_table_with_telco_quirks():
    content = csv_bytes(
        """
        customerID,gender,tenure,Contract,MonthlyCharges,TotalCharges,Churn Label
        7590-VHVEG,Female,1,Month-to-month,29.85,29.85,No
        5575-GNVDE,Male,34,One year,56.95,1889.5,No
        3668-QPYBK,Male,2,Month-to-month,53.85,108.15,Yes
        4472-LVYGI,Female,0,Two year,52.55, ,No
        """
    )
    data = load(content, "telco.csv")
    assert not data.has_transactions
    customers = data.customers
    assert customers[s.CHURNED].tolist() == [False, False, True, False]
    assert customers[s.TENURE_MONTHS].tolist() == [1, 34, 2, 0]
    assert customers[s.PLAN].tolist()[0] == "Month-to-month"
    assert customers["TotalCharges"].isna().sum() == 1
    assert any("1 blank cells in 'TotalCharges'" in n for n in data.reports[0].notes)


def test_both_tables_are_joined_on_the_id():
    tx = csv_bytes(CLEAN_ROWS)
    customers = csv_bytes(
        """
        customer_id,signup_date,plan,nps
        A,2023-12-01,Gold,9
        C,2024-01-01,Basic,3
        """
    )
    data = load_files([("orders.csv", tx), ("customers.csv", customers)], today=TODAY)
    assert data.has_transactions and data.has_customers
    assert list(data.customer_ids) == ["A", "B", "C"]
    assert data.has_column(s.NPS) and not data.has_column(s.CSAT)


# --- the messy file: every exclusion reason, counted exactly -----------------------------------


MESSY = """
order_id,customer_id,order_date,amount
1,A,2024-01-05,10.00
2,,2024-01-06,11.00
3,B,not a date,12.00
4,B,2024-01-08,twelve
C5,A,2024-01-09,13.00
6,A,2024-01-10,-4.00
7,B,2031-01-01,20.00
1,A,2024-01-05,10.00
8,B,2024-01-11,0
9,B,2024-01-12,"1,299.00"
"""


def test_messy_file_counts_every_reason_once():
    data = load(csv_bytes(MESSY))
    assert excluded(data) == {
        "No customer id": 1,
        "Date missing or not readable": 1,
        "Amount missing or not a number": 1,
        "Cancellation (invoice number starts with C)": 1,
        "Return or refund (negative amount)": 1,
        "Date in the future (after 2024-12-31)": 1,
        "Exact duplicate of an earlier row": 1,
    }
    report = data.reports[0]
    assert (report.rows_read, report.rows_used) == (10, 3)
    assert report.rows_read == report.rows_used + report.rows_excluded
    # Row numbers as a spreadsheet shows them (header = row 1): the blank id is on row 3.
    assert next(e for e in report.excluded if e.reason == "No customer id").examples == (3,)
    assert sorted(data.transactions[s.AMOUNT].tolist()) == [0.0, 10.0, 1299.0]
    assert any("1 purchases with a zero amount were kept" in n for n in report.notes)


def test_repeated_customer_ids_are_counted():
    content = csv_bytes(
        """
        id,plan,churned
        1,A,yes
        1,A,yes
        1,B,no
        2,B,no
        ,B,no
        """
    )
    data = load(content, "customers.csv")
    assert excluded(data) == {
        "No customer id": 1,
        "Exact duplicate of an earlier row": 1,
        "Customer id repeated (the first row was kept)": 1,
    }
    assert data.customers[s.CHURNED].tolist() == [True, False]


# --- bad files: the exact message --------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"

BAD_FILES = [
    ("empty.csv", b"", "'empty.csv' is empty. Upload a file with a header row and at least one data row."),
    ("blank.csv", b"  \n\n  ", "'blank.csv' is empty. Upload a file with a header row and at least one data row."),
    (
        "header.csv",
        b"customer_id,order_date,amount\n",
        "'header.csv' has a header row (customer_id, order_date, amount) but no data rows.",
    ),
    (
        "picture.csv",
        PNG,
        "'picture.csv' looks like a binary file, not a table. Upload a CSV, an Excel .xlsx or a "
        "Parquet file with one row per purchase or per customer.",
    ),
    (
        "one.csv",
        b"customer\na\nb\n",
        "'one.csv' has only one column ('customer'). The app needs at least a customer "
        "id and one more column (a date and an amount for purchases).",
    ),
    (
        "noid.csv",
        b"order_date,amount\n2024-01-01,3\n",
        "'noid.csv' has no customer id column. The app needs a column that says who the customer is (e.g. "
        "'customer_id', 'CustomerID', 'client', 'Kunde'). Columns found: 'order_date', 'amount'.",
    ),
    (
        "old.xls",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50,
        "'old.xls' is an old Excel 97-2003 (.xls) workbook. Save it as .xlsx or CSV and upload that instead.",
    ),
    (
        "broken.xlsx",
        b"PK\x03\x04 this is not a zip",
        "'broken.xlsx' could not be opened as an Excel workbook (BadZipFile). Save it again from Excel as .xlsx, "
        "or export it as CSV.",
    ),
    (
        "broken.parquet",
        b"PAR1 not really parquet",
        "'broken.parquet' could not be read as a Parquet file (ArrowInvalid).",
    ),
    (
        "ragged.csv",
        b"customer_id,order_date,amount\na,2024-01-01,1\nb,2024-01-02,2,extra,cells\n",
        "'ragged.csv' could not be read as a table: line 3 has 5 fields where the header has 3 "
        "(separator detected: comma). Check for unquoted separators inside values.",
    ),
    (
        "nodates.csv",
        b"customer_id,order_date,amount\na,soon,1\nb,later,2\nc,never,3\n",
        "No usable rows in 'nodates.csv': all 3 rows were excluded (3 date missing or not readable). Check the "
        "column mapping.",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_gets_a_specific_message(name, content, message):
    with pytest.raises(DataError) as error:
        load(content, name)
    assert str(error.value).startswith(message)


def test_nothing_usable_names_the_reasons():
    content = csv_bytes(
        """
        customer_id,order_date,amount
        a,2024-01-01,-1
        b,2024-13-45,2
        c,2024-01-02,-3
        """
    )
    with pytest.raises(DataError) as error:
        load(content, "returns.csv")
    assert str(error.value) == (
        "No usable rows in 'returns.csv': all 3 rows were excluded (1 date missing or not readable, "
        "2 return or refund (negative amount)). Check the column mapping."
    )


def test_two_purchase_logs_are_refused():
    with pytest.raises(DataError, match="Two purchase logs were given"):
        load_files([("a.csv", csv_bytes(CLEAN_ROWS)), ("b.csv", csv_bytes(CLEAN_ROWS))])


# --- column detection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("CustomerID,InvoiceDate,TotalPrice", ("CustomerID", "InvoiceDate", "TotalPrice")),
        ("client,order_date,amount", ("client", "order_date", "amount")),
        ("Kunde,Datum,Umsatz", ("Kunde", "Datum", "Umsatz")),
        ("user_id,created_at,order_total", ("user_id", "created_at", "order_total")),
    ],
)
def test_transaction_columns_detected_by_name(header, expected):
    frame = read_table(f"{header}\nx1,2024-01-01,3.50\nx1,2024-02-01,4.00\n".encode(), "f.csv").frame
    mapping = guess_mapping(frame)
    assert mapping.kind == s.TRANSACTIONS
    assert (mapping.roles[s.CUSTOMER_ID], mapping.roles[s.ORDER_DATE], mapping.roles[s.AMOUNT]) == expected


def test_date_and_amount_found_by_content_when_names_say_nothing():
    frame = read_table(b"customer,when,how much\na,2024-01-01,3.50\na,2024-02-01,4.25\n", "f.csv").frame
    mapping = guess_mapping(frame)
    assert mapping.roles[s.ORDER_DATE] == "when" and mapping.roles[s.AMOUNT] == "how much"


# --- the invariant, on random messy tables ------------------------------------------------------

cells = st.one_of(st.just(""), st.text(alphabet="abc-,.0123456789/ ", max_size=10))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.just(""), st.sampled_from(["a", "b", "c"])),
            st.one_of(cells, st.sampled_from(["2024-01-01", "2024-02-30", "2030-01-01", "2023-05-06"])),
            st.one_of(cells, st.sampled_from(["1.5", "-2", "0", "3,5", "x"])),
            st.sampled_from(["1", "2", "C3"]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_rows_read_equals_used_plus_excluded(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount", "order_id"])
    content = frame.to_csv(index=False).encode()
    try:
        data = load(content)
    except DataError:
        return  # a table with nothing usable is refused as a whole, with a message
    report = data.reports[0]
    assert report.rows_read == len(rows)
    assert report.rows_read == report.rows_used + report.rows_excluded
    assert len(data.transactions) == report.rows_used
    assert (data.transactions[s.AMOUNT] >= 0).all()


# --- exact duplicates without an order id: kept and flagged ------------------------------------

SAME_DAY_TWICE = """
customer,date,amount
A,2024-01-05,10.00
A,2024-01-05,10.00
B,2024-01-06,20.00
"""


def test_exact_repeats_without_an_order_id_are_kept_and_flagged():
    data = load(csv_bytes(SAME_DAY_TWICE))
    report = data.reports[0]
    assert (report.rows_read, report.rows_used, report.possible_duplicates) == (3, 3, 1)
    assert excluded(data) == {}
    assert any("1 rows repeat an earlier row exactly" in n and "KEPT" in n for n in report.notes)


def test_exact_repeats_are_dropped_when_the_user_asks():

    table = read_and_guess("orders.csv", csv_bytes(SAME_DAY_TWICE))
    mapping = replace(table.mapping, drop_exact_duplicates=True)
    data = load_files([("orders.csv", csv_bytes(SAME_DAY_TWICE))], mappings=[mapping], today=pd.Timestamp("2024-12-31"))
    assert excluded(data) == {"Exact duplicate of an earlier row": 1}
    assert data.reports[0].possible_duplicates == 0
    assert ColumnMapping.from_dict(mapping.to_dict()).drop_exact_duplicates is True


def test_cdnow_sample_keeps_its_same_day_orders():
    """lifetimes' CDNOW sample: 6,919 purchase rows, 21 of them same-day repeats of the same amount."""
    from analytics.data.datasets import load_demo

    data = load_demo("cdnow_sample")
    report = data.reports[0]
    assert (report.rows_read, report.rows_used, report.possible_duplicates) == (6919, 6919, 21)


def test_raw_tables_are_freed_before_their_memory_is_returned(monkeypatch):
    """load_files hands the read's memory back (`release_read_memory`) once nothing holds a raw table:
    a raw table still referenced then (e.g. by a loop variable) keeps its cells, 0.8 GB at 10M rows."""
    import gc
    import weakref

    from analytics.data import ingest

    raws: list[weakref.ref] = []
    alive_at_release: list[int] = []
    read = ingest.read_and_guess

    def read_and_watch(*args, **kwargs):
        table = read(*args, **kwargs)
        raws.append(weakref.ref(table.raw.frame))
        return table

    def release_and_count() -> None:
        gc.collect()
        alive_at_release.append(sum(ref() is not None for ref in raws))

    monkeypatch.setattr(ingest, "read_and_guess", read_and_watch)
    monkeypatch.setattr(ingest, "release_read_memory", release_and_count)
    load_files([("orders.csv", csv_bytes(CLEAN_ROWS))], today=TODAY)
    assert raws and alive_at_release == [0]


def test_a_csv_read_in_several_blocks_has_the_cells_pandas_reads():
    """Arrow parses a file in blocks (about a sixteenth of it, at least 1 MB); quoted cells with line
    breaks and separators on both sides of a block's edge come back whole, as pandas reads them."""
    import io

    import numpy as np

    from analytics.data.io import _csv_block_bytes

    rows = 400_000
    rng = np.random.default_rng(6)
    notes = np.where(rng.random(rows) < 0.01, '"two\nlines, and a comma"', "plain")
    lines = [f"{i},C{i % 977:05d},2024-01-{1 + i % 28:02d},{i % 500}.25,{note}" for i, note in enumerate(notes)]
    content = ("order_id,customer_id,order_date,amount,note\n" + "\n".join(lines) + "\n").encode()
    assert _csv_block_bytes(len(content)) * 8 < len(content)  # several blocks
    raw = read_table(content, "big.csv")
    expected = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
    assert raw.frame.columns.tolist() == expected.columns.tolist()
    for column in expected.columns:
        assert raw.frame[column].tolist() == expected[column].tolist()
