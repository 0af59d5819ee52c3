"""CSV / Excel downloads neutralise spreadsheet formulas (OWASP CSV injection) and keep numbers."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd

from analytics.reports.export import escape_cell, neutralise_formulas, to_csv_bytes, to_excel_bytes

RISKY = ["=SUM(A1:A9)", "+1+2", "-2+3", "@cmd", "\tinjected", "\rinjected"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": RISKY + ["safe", "a=b"],
            "amount": [-12.5, 3.0, 0.0, -1.0, 2.0, 5.5, 7.0, 8.0],
            "orders": [-3, 1, 2, 3, 4, 5, 6, 7],
            "segment": pd.Categorical(['=HYPERLINK("http://x")', "Loyal"] * 4),
        }
    )


def test_escape_cell_rules():
    assert [escape_cell(v) for v in RISKY] == ["'" + v for v in RISKY]
    assert escape_cell("safe") == "safe"
    assert escape_cell("a=b") == "a=b"
    assert escape_cell(-5.0) == -5.0
    assert escape_cell(None) is None


def test_neutralise_keeps_numbers_numeric_and_escapes_headers():
    frame = _frame()
    frame["=cmd|' /C calc'!A0"] = ["x"] * len(frame)
    out = neutralise_formulas(frame)
    assert out["amount"].dtype == float and out.loc[0, "amount"] == -12.5
    assert out["orders"].dtype.kind == "i" and out.loc[0, "orders"] == -3
    assert out.loc[0, "segment"] == '\'=HYPERLINK("http://x")'
    assert out.columns[-1] == "'=cmd|' /C calc'!A0"
    assert frame.loc[0, "customer_id"] == "=SUM(A1:A9)"  # the input is not modified


def test_csv_bytes():
    data = to_csv_bytes(_frame())
    assert data.startswith(b"\xef\xbb\xbf")  # BOM so Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["customer_id", "amount", "orders", "segment"]
    assert [r[0] for r in rows[1:]] == ["'" + v for v in RISKY] + ["safe", "a=b"]
    assert rows[1][1] == "-12.5" and rows[1][2] == "-3"  # negative numbers are not escaped
    assert rows[1][3] == '\'=HYPERLINK("http://x")'


def test_excel_bytes_have_no_formulas_and_real_numbers():
    data = to_excel_bytes({"Actions": _frame(), "Close the loop": pd.DataFrame({"note": ["=1+1"]})})
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Actions", "Close the loop"]
    sheet = book["Actions"]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert sheet["A2"].value == "'=SUM(A1:A9)"
    assert sheet["B2"].value == -12.5 and sheet["B2"].data_type == "n"
    assert sheet["C2"].value == -3
    assert book["Close the loop"]["A2"].value == "'=1+1"


def test_excel_single_frame_and_awkward_sheet_names():
    data = to_excel_bytes({"a/b:c*?": pd.DataFrame({"x": [1]})})
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == ["a b c"]
    one = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(pd.DataFrame({"x": [1]}))))
    assert one.sheetnames == ["Data"]
