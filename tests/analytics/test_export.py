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
    assert book.sheetnames == ["Actions", "Close the loop", "About these columns"]
    sheet = book["Actions"]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert sheet["A2"].value == "'=SUM(A1:A9)"
    assert sheet["B2"].value == -12.5 and sheet["B2"].data_type == "n"
    assert sheet["C2"].value == -3
    assert book["Close the loop"]["A2"].value == "'=1+1"


def test_excel_single_frame_and_awkward_sheet_names():
    data = to_excel_bytes({"a/b:c*?": pd.DataFrame({"x": [1]})})
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == ["a b c", "About these columns"]
    one = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(pd.DataFrame({"x": [1]}))))
    assert one.sheetnames == ["Data", "About these columns"]


def _customers() -> pd.DataFrame:
    """An action list as the app exports it: raw floats, a missing NPS answer, a formula in an id."""
    return pd.DataFrame(
        {
            "Customer": ["=1+1", "C2", "C3"],
            "Value": [167.8119256649694, 90.0, float("nan")],
            "Churn probability": [0.7765432, 0.1, 0.5],
            "Value at stake": [130.31, 9.0, 0.0],
            "NPS answer": [None, 9.0, 3.0],
            "Orders": [3, 4, 5],
            "Reason": ["High value", None, "Low NPS"],
            "Last purchase": pd.to_datetime(["2025-01-02", "2025-02-03", None]),
        }
    )


def test_csv_is_rounded_and_missing_values_are_empty():
    rows = list(csv.reader(io.StringIO(to_csv_bytes(_customers()).decode("utf-8-sig"), newline="")))
    assert rows[0] == [
        "Customer",
        "Value",
        "Churn probability",
        "Value at stake",
        "NPS answer",
        "Orders",
        "Reason",
        "Last purchase",
    ]
    assert rows[1][:7] == ["'=1+1", "167.81", "0.7765", "130.31", "", "3", "High value"]  # 2 decimals, 4 for shares
    assert rows[2][4] == "9" and rows[2][6] == ""  # a whole-number answer without ".0"; no "None"
    assert rows[3][1] == "" and rows[3][7] == ""
    assert "None" not in "".join(",".join(r) for r in rows) and "nan" not in "".join(",".join(r) for r in rows)


def test_excel_has_formats_widths_frozen_header_and_a_sheet_on_the_columns():
    book = openpyxl.load_workbook(io.BytesIO(to_excel_bytes({"Action list": _customers()}, currency="EUR")))
    assert book.sheetnames == ["Action list", "About these columns"]
    sheet = book["Action list"]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    formats = {sheet.cell(row=1, column=i).value: sheet.cell(row=2, column=i).number_format for i in range(1, 9)}
    assert formats["Value"] == formats["Value at stake"] == '"€"#,##0.00;-"€"#,##0.00'
    assert formats["Churn probability"] == "0.0%"
    assert formats["Orders"] == formats["NPS answer"] == "#,##0"
    assert formats["Last purchase"] == "yyyy-mm-dd"
    assert sheet["B2"].value == 167.8119256649694 and sheet["B2"].data_type == "n"  # full precision, shown rounded
    assert sheet["A2"].value == "'=1+1"  # formula escaping stays
    assert sheet["E2"].value is None and sheet["G3"].value is None  # empty, not "None"
    assert sheet["B4"].value is None
    widths = {sheet.cell(row=1, column=i).value: sheet.column_dimensions[chr(64 + i)].width for i in range(1, 9)}
    assert widths["Reason"] >= len("High value") and widths["Churn probability"] >= len("Churn probability") * 0.9
    about = {r[1]: r for r in book["About these columns"].iter_rows(min_row=2, values_only=True)}
    assert about["Value (EUR)"][2] == "money" and "lifetime value" in about["Value (EUR)"][3]
    assert about["Churn probability"][2].startswith("percent")


def test_excel_without_a_currency_uses_plain_number_formats():
    book = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(_customers())))
    assert book["Data"]["B2"].number_format == "#,##0.00"
