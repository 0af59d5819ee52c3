"""Hypothesis fuzzing of the readers: any bytes, any CSV dialect. The contract: a DataError with a
message (one line once the CLI prints it), or a table where rows read = used + excluded."""

from __future__ import annotations

import csv
import io

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.data.ingest import load_files
from analytics.data.io import read_table
from analytics.data.schema import DataError
from analytics.reports.cli import one_line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=2000), name=st.sampled_from(["a.csv", "a.xlsx", "a.parquet", "a.zip", "a.gz"]))
def test_random_bytes_read_or_refused_with_a_message(content, name):
    try:
        raw = read_table(content, name)
    except DataError as exc:
        assert str(exc) and "\n" not in one_line(str(exc))
        return
    assert isinstance(raw.frame, pd.DataFrame) and raw.frame.shape[1] >= 2


cells = st.one_of(
    st.sampled_from(["", " ", "NaN", "inf", "-", "12.50", "12,50", "1.234,50", "1,234.50", "$3", "4 EUR", "7-", "(2)"]),
    st.sampled_from(["2024-01-05", "05.01.2024", "01/05/2024", "2024-01-05T10:00:00Z", "45300", "1900-01-01"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(st.sampled_from(["a", "b", "00c", " d "]), cells, cells), min_size=1, max_size=25),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
    title=st.booleans(),
)
def test_random_dialects_keep_the_row_accounting(rows, delimiter, quoting, encoding, title):
    buffer = io.StringIO()
    if title:
        buffer.write("Export of orders\n")
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator="\n")
    writer.writerow(["customer_id", "order_date", "amount"])
    writer.writerows(rows)
    try:
        content = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError:
        return
    try:
        data = load_files([("orders.csv", content)], today=pd.Timestamp("2025-01-01"))
    except DataError as exc:
        assert str(exc) and "\n" not in one_line(str(exc))
        return
    for report in data.reports:
        assert report.rows_read == report.rows_used + report.rows_excluded
    if data.transactions is not None:
        assert len(data.transactions) == data.reports[0].rows_used
        assert data.transactions["amount"].notna().all()
