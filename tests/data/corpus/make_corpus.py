"""Make the corpus of awkward customer-data files and the outcome each one must give.

    python tests/data/corpus/make_corpus.py          # writes tests/data/corpus/files/ + expected.json

Every case starts from one seeded truth (who bought what, when, for how much) and writes it the
way a real export does: separators, encodings, number and date formats, containers, title rows,
placeholder dates, identifiers that lose their zeros. `expected.json` records, per case, the files
and either the numbers the report must show (rows read/used, customers, revenue to the cent,
currency) or the key words of the one-line refusal. The generator is the source of truth: tests
compare the CLI against it, never against what the code printed last.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
SEED = 20261125

Case = tuple[list[tuple[str, bytes]], dict]
CASES: dict[str, Callable[[], Case]] = {}


def case(function: Callable[[], Case]) -> Callable[[], Case]:
    CASES[function.__name__] = function
    return function


# --------------------------------------------------------------------------------------------
# The truth
# --------------------------------------------------------------------------------------------


def truth(n_customers: int = 40, seed: int = SEED, prefix: str = "c") -> pd.DataFrame:
    """Purchases: customer_id, order_date (a day of 2024), amount (cents exact), order_id."""
    rng = np.random.default_rng(seed)
    rows = []
    order = 1000
    for i in range(n_customers):
        cid = f"{prefix}{i + 1:03d}"
        for _ in range(int(rng.integers(1, 6))):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 360)))
            cents = int(rng.integers(500, 25000))
            order += 1
            rows.append((cid, day, cents / 100, str(order)))
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount", "order_id"])
    return frame.sort_values(["order_date", "customer_id"], kind="stable").reset_index(drop=True)


def ok(frame: pd.DataFrame, rows_read: int | None = None, **more) -> dict:
    """Expected outcome for a purchase log whose used rows are `frame`."""
    out = {
        "outcome": "ok",
        "rows_used": len(frame),
        "rows_read": len(frame) if rows_read is None else rows_read,
        "customers": int(frame["customer_id"].nunique()),
        "revenue": round(float(frame["amount"].sum()), 2),
    }
    out.update(more)
    return out


def refused(*words: str) -> dict:
    return {"outcome": "refused", "words": list(words)}


def to_csv(frame: pd.DataFrame, sep: str = ",", encoding: str = "utf-8", **kw) -> bytes:
    text = frame.to_csv(index=False, sep=sep, **kw)
    return text.encode(encoding)


def written(frame: pd.DataFrame, date_format: str = "%Y-%m-%d") -> pd.DataFrame:
    out = frame.copy()
    out["order_date"] = out["order_date"].dt.strftime(date_format)
    out["amount"] = out["amount"].map(lambda v: f"{v:.2f}")
    return out


def xlsx(sheets: dict[str, pd.DataFrame], startrow: int = 0, title: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False, startrow=startrow)
            if title:
                sheet = writer.sheets[name]
                sheet.cell(row=1, column=1, value=title)
                sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=4)
    return buffer.getvalue()


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Plain files in every container
# --------------------------------------------------------------------------------------------


@case
def plain_csv() -> Case:
    t = truth()
    return [("orders.csv", to_csv(written(t)))], ok(t)


@case
def crlf_bom_csv() -> Case:
    t = truth()
    return [("orders.csv", b"\xef\xbb\xbf" + to_csv(written(t), lineterminator="\r\n"))], ok(t)


@case
def tab_separated() -> Case:
    t = truth()
    return [("orders.tsv", to_csv(written(t), sep="\t"))], ok(t)


@case
def pipe_separated() -> Case:
    t = truth()
    return [("orders.txt", to_csv(written(t), sep="|"))], ok(t)


@case
def plain_xlsx() -> Case:
    t = truth()
    return [("orders.xlsx", xlsx({"Orders": t}))], ok(t)


@case
def plain_parquet() -> Case:
    t = truth()
    return [("orders.parquet", parquet(t))], ok(t)


@case
def gzip_csv() -> Case:
    t = truth()
    return [("orders.csv.gz", gzip.compress(to_csv(written(t)), mtime=0))], ok(t)


@case
def zip_one_csv() -> Case:
    t = truth()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("export/orders.csv", (2024, 1, 1, 0, 0, 0)), to_csv(written(t)))
    return [("export.zip", buffer.getvalue())], ok(t)


@case
def zip_two_tables() -> Case:
    t = truth()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("orders_2023.csv", (2024, 1, 1, 0, 0, 0)), to_csv(written(t)))
        archive.writestr(zipfile.ZipInfo("orders_2024.csv", (2024, 1, 1, 0, 0, 0)), to_csv(written(t)))
    return [("export.zip", buffer.getvalue())], refused("orders_2023.csv", "orders_2024.csv")


@case
def utf16_csv() -> Case:
    t = truth()
    return [("orders.csv", to_csv(written(t), encoding="utf-16"))], ok(t)


@case
def excel_unicode_text() -> Case:
    """Excel's 'Unicode text': UTF-16 little endian with a BOM, tab-separated."""
    t = truth()
    return [("orders.txt", to_csv(written(t), sep="\t", encoding="utf-16", lineterminator="\r\n"))], ok(t)


@case
def excel_sep_line() -> Case:
    t = truth()
    body = written(t)
    body["amount"] = body["amount"].str.replace(".", ",", regex=False)
    return [("orders.csv", b"sep=;\r\n" + to_csv(body, sep=";"))], ok(t)


@case
def cp1252_names() -> Case:
    t = truth()
    body = written(t).rename(columns={"customer_id": "Kunde", "order_date": "Datum", "amount": "Betrag (€)"})
    body["Ort"] = "Köln"
    return [("bestellungen.csv", to_csv(body, sep=";", encoding="cp1252"))], ok(t)


@case
def title_rows_csv() -> Case:
    t = truth()
    head = b"Sales export\nGenerated 2025-01-02 by ERP\n\n"
    return [("orders.csv", head + to_csv(written(t)))], ok(t, notes=["header"])


@case
def title_rows_xlsx_merged() -> Case:
    t = truth()
    return [("orders.xlsx", xlsx({"Orders": t}, startrow=2, title="Sales report 2024"))], ok(t, notes=["header"])


@case
def xlsx_readme_first() -> Case:
    t = truth()
    readme = pd.DataFrame({"About": ["This workbook holds the 2024 orders.", "Sheet Orders: one row per order."]})
    return [("orders.xlsx", xlsx({"README": readme, "Orders": t}))], ok(t, notes=["Orders"])


@case
def xlsx_lookup_sheet_larger_than_data() -> Case:
    # A product list with more cells than the orders sheet: the sheet is chosen by its columns.
    t = truth()
    products = pd.DataFrame(
        {
            "product_code": [f"P{i:05d}" for i in range(3 * len(t))],
            "description": ["Item"] * (3 * len(t)),
            "list_price": [9.99] * (3 * len(t)),
        }
    )
    return [("book.xlsx", xlsx({"Products": products, "Orders": t}))], ok(t, notes=["Orders", "customer id"])


@case
def parquet_nested_columns() -> Case:
    t = truth()
    frame = t.copy()
    frame["tags"] = [["a", "b"]] * len(frame)
    frame["address"] = [{"city": "Bonn", "zip": "53111"}] * len(frame)
    return [("orders.parquet", parquet(frame))], ok(t, notes=["tags"])


@case
def blank_lines_and_empty_columns() -> Case:
    t = truth()
    text = to_csv(written(t)).decode()
    lines = text.splitlines()
    lines = [line + ",," for line in lines]
    lines.insert(5, ",,,,,")
    lines.insert(10, "")
    return [("orders.csv", ("\n".join(lines) + "\n").encode())], ok(t, rows_read=len(t) + 1)


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


def _de(v: float) -> str:
    whole, cents = f"{v:.2f}".split(".")
    return f"{int(whole):,}".replace(",", ".") + "," + cents


@case
def semicolon_decimal_comma() -> Case:
    t = truth()
    body = written(t)
    body["amount"] = t["amount"].map(_de)
    return [("orders.csv", to_csv(body, sep=";"))], ok(t)


@case
def semicolon_thousands_dot() -> Case:
    """Whole-unit amounts with a dot for thousands: '2.015' is two thousand and fifteen."""
    t = truth()
    rng = np.random.default_rng(SEED + 1)
    t["amount"] = rng.integers(1000, 60000, len(t)).astype(float)
    t.loc[::7, "amount"] = rng.integers(50, 999, len(t.loc[::7])).astype(float)
    body = written(t)
    body["amount"] = t["amount"].map(lambda v: f"{int(v):,}".replace(",", "."))
    return [("orders.csv", to_csv(body, sep=";"))], ok(t)


@case
def us_thousands_comma() -> Case:
    t = truth()
    t["amount"] = t["amount"] * 13
    t["amount"] = t["amount"].round(2)
    body = written(t)
    body["amount"] = t["amount"].map(lambda v: f"{v:,.2f}")
    return [("orders.csv", to_csv(body, quoting=csv.QUOTE_NONNUMERIC))], ok(t)


@case
def french_space_thousands() -> Case:
    t = truth()
    t["amount"] = (t["amount"] * 11).round(2)
    body = written(t)
    body["amount"] = t["amount"].map(lambda v: _de(v).replace(".", "\u00a0"))
    return [("orders.csv", to_csv(body, sep=";"))], ok(t)


@case
def swiss_apostrophe_thousands() -> Case:
    t = truth()
    t["amount"] = (t["amount"] * 9).round(2)
    body = written(t)
    body["amount"] = t["amount"].map(lambda v: f"{v:,.2f}".replace(",", "'"))
    return [("orders.csv", to_csv(body, sep=";"))], ok(t)


@case
def dollar_symbols() -> Case:
    t = truth()
    body = written(t)
    body["amount"] = t["amount"].map(lambda v: f"${v:.2f}")
    return [("orders.csv", to_csv(body))], ok(t, currency="USD")


@case
def euro_code_suffix() -> Case:
    t = truth()
    body = written(t)
    body["amount"] = t["amount"].map(lambda v: f"{_de(v)} EUR")
    return [("orders.csv", to_csv(body, sep=";"))], ok(t, currency="EUR")


@case
def pound_prefix() -> Case:
    t = truth()
    body = written(t)
    body["amount"] = t["amount"].map(lambda v: f"£{v:.2f}")
    return [("orders.csv", to_csv(body))], ok(t, currency="GBP")


@case
def mixed_currencies() -> Case:
    t = truth()
    body = written(t)
    styles = [lambda v: f"${v:.2f}", lambda v: f"€ {_de(v)}", lambda v: f"{v:.2f} USD"]
    body["amount"] = [styles[i % 3](v) for i, v in enumerate(t["amount"])]
    return [("orders.csv", to_csv(body))], refused("currenc", "EUR", "USD")


@case
def xlsx_numbers_with_decimal_comma_text() -> Case:
    """Numeric cells plus a few text cells '40,30' (typed by hand): 21.33 stays 21.33."""
    t = truth()
    frame = t.copy().astype({"amount": object})
    for i in range(0, len(frame), 25):
        frame.at[i, "amount"] = _de(t.at[i, "amount"])
    return [("orders.xlsx", xlsx({"Orders": frame}))], ok(t)


@case
def mixed_decimal_styles() -> Case:
    """Mostly '12.50' with a few '12,50': one format for the column; the odd cells are counted."""
    t = truth()
    body = written(t)
    odd = list(range(3, len(t), 20))
    for i in odd:
        body.at[i, "amount"] = body.at[i, "amount"].replace(".", ",")
    used = t.drop(index=odd)
    return [("orders.csv", to_csv(body))], ok(used, rows_read=len(t), excluded=["format"])


@case
def sap_trailing_minus() -> Case:
    t = truth()
    body = written(t)
    returns = list(range(2, len(t), 10))
    for i in returns:
        body.at[i, "amount"] = f"{t.at[i, 'amount']:.2f}-"
    used = t.drop(index=returns)
    return [("orders.csv", to_csv(body))], ok(used, rows_read=len(t), excluded=["return"])


@case
def parentheses_negative() -> Case:
    t = truth()
    body = written(t)
    returns = list(range(4, len(t), 12))
    for i in returns:
        body.at[i, "amount"] = f"({t.at[i, 'amount']:.2f})"
    used = t.drop(index=returns)
    return [("orders.csv", to_csv(body))], ok(used, rows_read=len(t), excluded=["return"])


@case
def nan_inf_amounts() -> Case:
    t = truth()
    body = written(t)
    bad = [1, 7, 13]
    for i, text in zip(bad, ["NaN", "inf", "-Infinity"], strict=True):
        body.at[i, "amount"] = text
    used = t.drop(index=bad)
    return [("orders.csv", to_csv(body))], ok(used, rows_read=len(t), excluded=["amount"])


@case
def nan_inf_parquet() -> Case:
    t = truth()
    frame = t.copy()
    bad = [2, 9]
    frame.loc[2, "amount"] = np.nan
    frame.loc[9, "amount"] = np.inf
    used = t.drop(index=bad)
    return [("orders.parquet", parquet(frame))], ok(used, rows_read=len(t), excluded=["amount"])


@case
def all_zero_amounts() -> Case:
    t = truth()
    t["amount"] = 0.0
    return [("orders.csv", to_csv(written(t)))], ok(t)


@case
def identical_spend() -> Case:
    t = truth(n_customers=60)
    t["amount"] = 25.0
    return [("orders.csv", to_csv(written(t)))], ok(t)


@case
def quantity_times_unit_price() -> Case:
    t = truth()
    rng = np.random.default_rng(SEED + 2)
    qty = rng.integers(1, 5, len(t))
    unit = (rng.integers(100, 5000, len(t)) / 100).round(2)
    t["amount"] = (qty * unit).round(2)
    body = pd.DataFrame(
        {
            "CustomerID": t["customer_id"],
            "InvoiceDate": t["order_date"].dt.strftime("%Y-%m-%d"),
            "Quantity": qty,
            "UnitPrice": unit,
        }
    )
    return [("orders.csv", to_csv(body))], ok(t)


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


@case
def german_dates_short_year() -> Case:
    t = truth()
    body = written(t, "%d.%m.%y")
    body["amount"] = t["amount"].map(_de)
    return [("orders.csv", to_csv(body, sep=";"))], ok(t)


@case
def german_dates_long_year() -> Case:
    t = truth()
    body = written(t, "%d.%m.%Y")
    return [("orders.csv", to_csv(body, sep=";"))], ok(t)


@case
def us_month_first() -> Case:
    t = truth()
    return [("orders.csv", to_csv(written(t, "%m/%d/%Y")))], ok(t)


@case
def slash_dates_mixed_with_iso() -> Case:
    """Day-first slash dates (some days > 12 decide it) mixed with ISO dates in one column."""
    t = truth()
    body = written(t)
    slash = t["order_date"].dt.strftime("%d/%m/%Y")
    body.loc[::2, "order_date"] = slash[::2]
    return [("orders.csv", to_csv(body))], ok(t)


@case
def iso_timestamps_with_zones() -> Case:
    t = truth()
    body = written(t)
    stamps = []
    for i, day in enumerate(t["order_date"]):
        if i % 2:
            stamps.append(f"{day:%Y-%m-%d}T12:00:00+01:00")
        else:
            stamps.append(f"{day:%Y-%m-%d}T10:30:00Z")
    body["order_date"] = stamps
    return [("orders.csv", to_csv(body))], ok(t, notes=["UTC"])


@case
def date_times() -> Case:
    t = truth()
    body = written(t, "%Y-%m-%d %H:%M:%S")
    return [("orders.csv", to_csv(body))], ok(t)


@case
def excel_serial_dates() -> Case:
    t = truth()
    body = written(t)
    body["order_date"] = ((t["order_date"] - pd.Timestamp("1899-12-30")).dt.days).astype(str)
    return [("orders.csv", to_csv(body))], ok(t, notes=["serial"])


@case
def epoch_seconds() -> Case:
    t = truth()
    body = written(t)
    body["order_date"] = (
        (t["order_date"] - pd.Timestamp("1970-01-01")).dt.total_seconds().astype("int64") + 3600
    ).astype(str)
    return [("orders.csv", to_csv(body))], ok(t, notes=["epoch"])


@case
def placeholder_dates() -> Case:
    t = truth()
    body = written(t)
    bad = {3: "1900-01-01", 8: "9999-12-31", 15: "1970-01-01"}
    for i, text in bad.items():
        body.at[i, "order_date"] = text
    used = t.drop(index=list(bad))
    return [("orders.csv", to_csv(body))], ok(used, rows_read=len(t), excluded=["placeholder"])


@case
def future_dates() -> Case:
    t = truth()
    body = written(t)
    bad = [5, 6]
    for i in bad:
        body.at[i, "order_date"] = "2199-01-01"
    used = t.drop(index=bad)
    return [("orders.csv", to_csv(body))], ok(used, rows_read=len(t), excluded=["future"])


@case
def single_purchase_date() -> Case:
    t = truth()
    t["order_date"] = pd.Timestamp("2024-06-01")
    return [("orders.csv", to_csv(written(t)))], ok(t)


@case
def single_row() -> Case:
    t = truth().head(1)
    return [("orders.csv", to_csv(written(t)))], ok(t)


# --------------------------------------------------------------------------------------------
# Identifiers and joins
# --------------------------------------------------------------------------------------------


def customers_for(t: pd.DataFrame, ids: list[str] | None = None) -> pd.DataFrame:
    ids = ids if ids is not None else sorted(t["customer_id"].unique())
    rng = np.random.default_rng(SEED + 3)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "region": rng.choice(["North", "South", "East"], len(ids)),
            "plan": rng.choice(["Basic", "Plus"], len(ids)),
        }
    )


def numeric_truth() -> pd.DataFrame:
    t = truth()
    t["customer_id"] = t["customer_id"].str[1:].astype(int).map(lambda v: f"{v + 100}")
    return t


def two_tables(t: pd.DataFrame, customers: pd.DataFrame, **more) -> dict:
    expected = ok(t, rows_read=len(t) + len(customers), **more)
    expected["rows_used"] = len(t) + len(customers)
    expected["customers"] = int(t["customer_id"].nunique())
    return expected


@case
def ids_leading_zeros_across_tables() -> Case:
    t = numeric_truth()
    tx = written(t)
    tx["customer_id"] = "00" + tx["customer_id"]
    cust = customers_for(t)
    return [("orders.csv", to_csv(tx)), ("customers.csv", to_csv(cust))], two_tables(t, cust, notes=["zero"])


@case
def ids_trailing_point_zero() -> Case:
    t = numeric_truth()
    tx = written(t)
    tx["customer_id"] = tx["customer_id"] + ".0"
    cust = customers_for(t)
    return [("orders.csv", to_csv(tx)), ("customers.csv", to_csv(cust))], two_tables(t, cust)


@case
def ids_csv_zeros_vs_xlsx_numbers() -> Case:
    t = numeric_truth()
    tx = written(t)
    tx["customer_id"] = "000" + tx["customer_id"]
    cust = customers_for(t)
    cust["customer_id"] = cust["customer_id"].astype(int)
    return [("orders.csv", to_csv(tx)), ("customers.xlsx", xlsx({"Customers": cust}))], two_tables(t, cust)


@case
def ids_csv_vs_xlsx_text_zeros() -> Case:
    t = numeric_truth()
    t["customer_id"] = "000" + t["customer_id"]
    cust = customers_for(t)
    return [("orders.csv", to_csv(written(t))), ("customers.xlsx", xlsx({"Customers": cust}))], two_tables(t, cust)


@case
def ids_xlsx_numbers_vs_csv_text() -> Case:
    t = numeric_truth()
    frame = t.copy()
    frame["customer_id"] = frame["customer_id"].astype(int)
    cust = customers_for(t)
    return [("orders.xlsx", xlsx({"Orders": frame})), ("customers.csv", to_csv(cust))], two_tables(t, cust)


@case
def ids_whitespace_padded() -> Case:
    t = truth()
    tx = written(t)
    tx.loc[::3, "customer_id"] = " " + tx.loc[::3, "customer_id"] + "  "
    return [("orders.csv", to_csv(tx))], ok(t)


@case
def customers_do_not_overlap() -> Case:
    t = truth()
    cust = customers_for(t, [f"x{i:03d}" for i in range(30)])
    expected = ok(t, rows_read=len(t) + len(cust), warnings=["overlap"])
    expected["rows_used"] = len(t) + len(cust)
    expected["customers"] = int(t["customer_id"].nunique()) + len(cust)
    return [("orders.csv", to_csv(written(t))), ("customers.csv", to_csv(cust))], expected


@case
def customers_partial_overlap() -> Case:
    t = truth()
    ids = sorted(t["customer_id"].unique())
    cust = customers_for(t, ids[:20] + [f"x{i:03d}" for i in range(5)])
    expected = ok(t, rows_read=len(t) + len(cust), warnings=["overlap"])
    expected["rows_used"] = len(t) + len(cust)
    expected["customers"] = len(set(ids) | set(cust["customer_id"]))
    return [("orders.csv", to_csv(written(t))), ("customers.csv", to_csv(cust))], expected


@case
def formula_leading_ids() -> Case:
    t = truth()
    t["customer_id"] = t["customer_id"].str.replace("c0", "=cmd|' /C calc'!A", regex=False)
    return [("orders.csv", to_csv(written(t)))], ok(t)


# --------------------------------------------------------------------------------------------
# Orders, cancellations, odd names
# --------------------------------------------------------------------------------------------


@case
def invoice_prefix_cust() -> Case:
    t = truth()
    body = written(t).rename(columns={"order_id": "Invoice"})
    body["Invoice"] = "CUST-" + body["Invoice"]
    return [("orders.csv", to_csv(body))], ok(t)


@case
def cancellations_c_digits() -> Case:
    t = truth()
    body = written(t).rename(columns={"order_id": "InvoiceNo"})
    cancelled = list(range(0, len(t), 9))
    for i in cancelled:
        body.at[i, "InvoiceNo"] = "C" + body.at[i, "InvoiceNo"]
    used = t.drop(index=cancelled)
    return [("orders.csv", to_csv(body))], ok(used, rows_read=len(t), excluded=["cancel"])


@case
def markdown_image_column_name() -> Case:
    t = truth()
    body = written(t)
    body["![x](http://127.0.0.1:9/x.png)"] = "note"
    return [("orders.csv", to_csv(body))], ok(t)


@case
def line_break_in_column_name() -> Case:
    t = truth()
    body = written(t)
    body["free\ntext"] = "n"
    return [("orders.csv", to_csv(body))], ok(t)


@case
def line_break_in_name_no_id() -> Case:
    body = pd.DataFrame({"first\nname": ["a", "b"], "score": ["1", "2"]})
    return [("people.csv", to_csv(body))], refused("customer id")


@case
def duplicate_headers() -> Case:
    t = truth()
    body = written(t)
    text = to_csv(body).decode().splitlines()
    text[0] = text[0] + ",note"
    text[1:] = [line + ",x" for line in text[1:]]
    text[0] = text[0].replace("order_id", "note")
    return [("orders.csv", ("\n".join(text) + "\n").encode())], ok(t)


# --------------------------------------------------------------------------------------------
# Customers tables without dates
# --------------------------------------------------------------------------------------------


def churn_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    charge = (rng.integers(2000, 11000, n) / 100).round(2)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n)
    risk = 0.6 * (contract == "Month-to-month") + 0.3 * (tenure < 12) + 0.002 * charge
    churned = rng.random(n) < risk / 1.6
    return pd.DataFrame(
        {
            "customerID": [f"{i:04d}-AB" for i in range(n)],
            "tenure": tenure,
            "Contract": contract,
            "MonthlyCharges": charge,
            "Churn": np.where(churned, "Yes", "No"),
        }
    )


def customers_ok(frame: pd.DataFrame, **more) -> dict:
    out = {
        "outcome": "ok",
        "rows_read": len(frame),
        "rows_used": len(frame),
        "customers": len(frame),
        "sections": {"churn": True, "segments": True, "kpis": False},
    }
    out.update(more)
    return out


@case
def telco_like_no_dates() -> Case:
    frame = churn_table(400, SEED + 10)
    return [("telco.csv", to_csv(frame))], customers_ok(frame)


@case
def bank_exits_no_dates() -> Case:
    rng = np.random.default_rng(SEED + 11)
    n = 400
    age = rng.integers(18, 80, n)
    balance = (rng.integers(0, 20000000, n) / 100).round(2)
    active = rng.integers(0, 2, n)
    exited = rng.random(n) < (0.05 + 0.006 * (age - 18) * (1 - 0.5 * active))
    frame = pd.DataFrame(
        {
            "RowNumber": np.arange(1, n + 1),
            "CustomerId": 15600000 + np.arange(n),
            "Geography": rng.choice(["France", "Spain", "Germany"], n),
            "Age": age,
            "Balance": balance,
            "IsActiveMember": active,
            "Exited": exited.astype(int),
        }
    )
    return [("bank.csv", to_csv(frame))], customers_ok(frame)


@case
def card_attrition_no_dates() -> Case:
    rng = np.random.default_rng(SEED + 12)
    n = 400
    trans = rng.integers(10, 140, n)
    attrited = rng.random(n) < np.clip(0.6 - trans / 200, 0.02, 0.9)
    frame = pd.DataFrame(
        {
            "CLIENTNUM": 700000000 + np.arange(n),
            "Attrition_Flag": np.where(attrited, "Attrited Customer", "Existing Customer"),
            "Customer_Age": rng.integers(26, 70, n),
            "Total_Trans_Ct": trans,
            "Credit_Limit": (rng.integers(100000, 3500000, n) / 100).round(2),
        }
    )
    expected = customers_ok(frame)
    # Customer_Age is the person's age in years (the public table's Months_on_book is the tenure):
    # no retention curve may be fitted on it.
    expected["sections"] = {**expected["sections"], "retention_sbg": False}
    return [("BankChurners.csv", to_csv(frame))], expected


@case
def id_and_amount_only() -> Case:
    rng = np.random.default_rng(SEED + 13)
    frame = pd.DataFrame(
        {"customer_id": [f"k{i}" for i in range(50)], "amount": (rng.integers(100, 90000, 50) / 100).round(2)}
    )
    expected = customers_ok(frame)
    expected["sections"] = {"segments": True, "kpis": False}
    return [("spend.csv", to_csv(frame))], expected


@case
def three_churners() -> Case:
    frame = churn_table(200, SEED + 14)
    frame["Churn"] = "No"
    frame.loc[[3, 50, 120], "Churn"] = "Yes"
    return [("few_churners.csv", to_csv(frame))], customers_ok(frame, sections={"kpis": False})


@case
def subscription_with_dates() -> Case:
    rng = np.random.default_rng(SEED + 15)
    n = 300
    signup = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    left = rng.random(n) < 0.35
    end = signup + pd.to_timedelta(rng.integers(30, 400, n), unit="D")
    churn_date = pd.Series(end.strftime("%Y-%m-%d")).where(left & (end < pd.Timestamp("2024-12-31")), "")
    frame = pd.DataFrame(
        {
            "customer_id": [f"s{i:04d}" for i in range(n)],
            "signup_date": signup.strftime("%Y-%m-%d"),
            "churn_date": churn_date,
            "plan": rng.choice(["Basic", "Pro"], n),
        }
    )
    return [("subscribers.csv", to_csv(frame))], customers_ok(frame, sections={"kpis": True})


# --------------------------------------------------------------------------------------------
# Files that must be refused, with the cause named
# --------------------------------------------------------------------------------------------


@case
def empty_file() -> Case:
    return [("orders.csv", b"")], refused("empty")


@case
def header_only() -> Case:
    return [("orders.csv", b"customer_id,order_date,amount\n")], refused("no data rows")


@case
def binary_png() -> Case:
    return [("orders.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)], refused("not a table")


@case
def single_column() -> Case:
    return [("ids.csv", b"customer_id\nc1\nc2\n")], refused("one column")


@case
def old_xls() -> Case:
    return [("orders.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)], refused(".xls")


@case
def corrupt_xlsx() -> Case:
    return [("orders.xlsx", b"PK\x03\x04" + b"garbage" * 50)], refused("excel")


@case
def unclosed_quote() -> Case:
    t = truth()
    lines = to_csv(written(t)).decode().splitlines()
    lines[12] = lines[12].replace(",", ',"', 1)
    return [("orders.csv", ("\n".join(lines) + "\n").encode())], refused("quote", "line 13")


@case
def no_customer_id() -> Case:
    return [("orders.csv", b"date,amount\n2024-01-01,10\n2024-01-02,12\n")], refused("customer id")


@case
def all_amounts_text() -> Case:
    t = truth()
    body = written(t)
    body["amount"] = "n/a-" + body["amount"]
    return [("orders.csv", to_csv(body))], refused("amount")


@case
def two_purchase_logs() -> Case:
    t = truth()
    return [("a.csv", to_csv(written(t))), ("b.csv", to_csv(written(t)))], refused("two purchase logs")


# --------------------------------------------------------------------------------------------


def build(target: Path = FILES) -> dict:
    """Write every case's files under target/<case>/ and return {case: {files, expected}}."""
    if target.exists():
        shutil.rmtree(target)
    manifest = {}
    for name, make in CASES.items():
        files, expected = make()
        folder = target / name
        folder.mkdir(parents=True)
        for file_name, content in files:
            (folder / file_name).write_bytes(content)
        manifest[name] = {"files": [file_name for file_name, _ in files], "expected": expected}
    return manifest


def main() -> int:
    manifest = build()
    (HERE / "expected.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(manifest)} cases written to {FILES}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
