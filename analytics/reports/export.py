"""CSV and Excel downloads a manager can open as they are: formulas neutralised, numbers formatted.

- CSV: numbers rounded to the decimals that mean something (money 2, shares 4, counts 0, other
  figures 2), missing values empty.
- Excel: real numbers with number / percent / currency formats, column widths that fit, a bold
  frozen header with filters, and an "About these columns" sheet saying what each column is.
  Missing values are empty cells, never the text "None" or "nan".

Each column's kind (money, share, count, date, number, text) comes from the caller's `kinds`
where given, else from its name and values (`column_kind`).

OWASP "CSV Injection" guidance: a text cell that starts with = + - @ (or a tab / carriage return,
which some spreadsheet programs skip before reading a formula) is prefixed with a single quote so
the spreadsheet shows it as text instead of running it. Only text is escaped: numbers stay
numbers, so a negative amount (-12.5) is written as a number, not as "'-12.5". Column names are
text too and are escaped the same way.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from analytics.reports.currency import excel_money_format, money_title

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """Prefix a text value that a spreadsheet could read as a formula with a single quote.

    Parameters
    ----------
    value : object
        One cell.

    Returns
    -------
    object
        The cell, with ``'`` in front when it is text starting with ``= + - @``, a tab or a CR.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every risky text cell and column name escaped (numbers untouched).

    Parameters
    ----------
    frame : pd.DataFrame
        The table to export.

    Returns
    -------
    pd.DataFrame
        A copy safe to open in a spreadsheet (see `escape_cell`).
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s) or s.dtype == object:
            out[col] = s.astype(object).map(escape_cell)
    out.columns = [escape_cell(str(c)) for c in out.columns]
    if out.index.name is not None:
        out.index.name = escape_cell(str(out.index.name))
    return out


# --- what each column holds ---------------------------------------------------------------------
MONEY, SHARE, PERCENT, COUNT, NUMBER, DATE, TEXT = "money", "share", "percent", "count", "number", "date", "text"
_MONEY_WORDS = (
    "clv",
    "value",
    "amount",
    "revenue",
    "monetary",
    "spend",
    "profit",
    "cost",
    "charge",
    "at stake",
    "cac",
    "price",
)
_SHARE_WORDS = ("probability", "p_alive", "rate", "share", "churn risk")
#: Decimals kept in the CSV per kind (money in cents; shares to 0.01 percentage point).
CSV_DECIMALS = {MONEY: 2, SHARE: 4, PERCENT: 1, COUNT: 0, NUMBER: 2}


def column_kind(name: object, values: pd.Series) -> str:
    """What a column holds, from its dtype, name and values.

    Shares are fractions 0..1 whose name says probability / rate / share; columns ending in '%' or
    '_pct' hold percent numbers (27.5 = 27.5%); money is named for value, amount, revenue, cost ...

    Parameters
    ----------
    name : object
        The column's header.
    values : pd.Series
        Its values.

    Returns
    -------
    str
        One of money, share, percent, count, number, date, text.
    """
    label = str(name).lower()
    if pd.api.types.is_datetime64_any_dtype(values):
        return DATE
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return TEXT
    finite = values.dropna()
    if label.endswith(("%", "_pct")) or " % " in label or label.endswith(" (%)"):
        return PERCENT
    if any(w in label for w in _SHARE_WORDS) and (finite.empty or finite.between(0, 1).all()):
        return SHARE
    if any(w in label for w in _MONEY_WORDS):
        return MONEY
    if pd.api.types.is_integer_dtype(values) or (not finite.empty and (finite == np.round(finite)).all()):
        return COUNT
    return NUMBER


@dataclass(frozen=True)
class Column:
    """One exported column: its header, kind and meaning (for the "About these columns" sheet).

    Attributes
    ----------
    name : str
        The header.
    kind : str
        What it holds (see `column_kind`).
    meaning : str
        One sentence for the reader.
    """

    name: str
    kind: str
    meaning: str = ""


def _kinds(frame: pd.DataFrame, kinds: dict[str, str] | None) -> dict[str, str]:
    given = kinds or {}
    return {c: given.get(str(c)) or column_kind(c, frame[c]) for c in frame.columns}


def round_for_export(frame: pd.DataFrame, kinds: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy with numbers rounded per kind (see CSV_DECIMALS); None in text columns becomes empty.

    Parameters
    ----------
    frame : pd.DataFrame
        The table to export.
    kinds : dict of str to str, optional
        Column -> kind, overriding `column_kind`.

    Returns
    -------
    pd.DataFrame
        The rounded copy.
    """
    out = frame.copy()
    for col, kind in _kinds(frame, kinds).items():
        if kind in CSV_DECIMALS and pd.api.types.is_float_dtype(out[col]):
            decimals = CSV_DECIMALS[kind]
            out[col] = out[col].round(decimals)
            if decimals == 0:
                out[col] = out[col].astype("Int64")  # 9, not 9.0; missing stays empty
        elif kind == TEXT and out[col].dtype == object:
            out[col] = out[col].where(out[col].notna(), None)  # type: ignore[call-overload]  # stubs reject other=None
    return out


def to_csv_bytes(
    frame: pd.DataFrame, *, index: bool = False, kinds: dict[str, str] | None = None, currency: str | None = None
) -> bytes:
    """UTF-8 CSV (with a byte-order mark so Excel reads accents correctly), formulas neutralised.

    Numbers are rounded to sensible decimals (`round_for_export`) and missing values are empty.
    Lines end in CRLF (RFC 4180), which also makes the writer quote a text cell containing a
    bare carriage return instead of letting it split the row.

    Parameters
    ----------
    frame : pd.DataFrame
        The table to export.
    index : bool, default False
        Write the index as the first column.
    kinds : dict, optional
        {column: 'money' | 'share' | 'percent' | 'count' | 'number' | 'date' | 'text'} where the
        name and values would not tell (see `column_kind`).
    currency : str, optional
        ISO 4217 code; money columns' headers then name it ("Value (EUR)").

    Returns
    -------
    bytes
        The file's content.
    """
    rounded = round_for_export(frame, kinds)
    if currency:
        column_kinds = _kinds(frame, kinds)
        rounded.columns = [money_title(str(c), currency) if column_kinds[c] == MONEY else c for c in rounded.columns]
    return neutralise_formulas(rounded).to_csv(index=index, lineterminator="\r\n", na_rep="").encode("utf-8-sig")


def excel_format(kind: str, currency: str | None) -> str:
    """The Excel number format of a kind: '"€"#,##0.00', '0.0%', '#,##0', 'yyyy-mm-dd' ...

    Parameters
    ----------
    kind : str
        A column kind (see `column_kind`).
    currency : str or None
        ISO 4217 code of money columns.

    Returns
    -------
    str
        The number format.
    """
    return {
        MONEY: excel_money_format(currency),
        SHARE: "0.0%",
        PERCENT: '0.0"%"',
        COUNT: "#,##0",
        NUMBER: "#,##0.00",
        DATE: "yyyy-mm-dd",
    }.get(kind, "General")


_KIND_WORDS = {
    MONEY: "money",
    SHARE: "percent (stored as a fraction: 0.25 = 25%)",
    PERCENT: "percent (27.5 = 27.5%)",
    COUNT: "whole number",
    NUMBER: "number",
    DATE: "date",
    TEXT: "text",
}


def to_excel_bytes(
    frames: pd.DataFrame | dict[str, pd.DataFrame],
    *,
    index: bool = False,
    currency: str | None = None,
    kinds: dict[str, str] | None = None,
    meanings: dict[str, str] | None = None,
) -> bytes:
    """An .xlsx workbook (openpyxl) ready to read: formats, widths, frozen header, a sheet on the columns.

    Every sheet gets number formats per column kind (money in `currency`, shares as percent),
    widths that fit the header and values, a bold frozen header row with filters, and empty cells
    for missing values. A last sheet "About these columns" lists each column's sheet, kind and
    meaning. Formulas are neutralised as in the CSV. Timezone-aware dates are written in local time
    without the zone (Excel has no time zones).

    Parameters
    ----------
    frames : pd.DataFrame or dict of str to pd.DataFrame
        One table (sheet "Data") or {sheet name: table}; names are cut to Excel's 31 characters.
    index : bool, default False
        Write each index as the first column.
    currency : str, optional
        ISO 4217 code for money columns (None: plain numbers).
    kinds : dict, optional
        Column kinds where the name and values would not tell (see `column_kind`).
    meanings : dict, optional
        {column: one sentence} for the "About these columns" sheet.

    Returns
    -------
    bytes
        The workbook's content.
    """
    sheets = {"Data": frames} if isinstance(frames, pd.DataFrame) else frames
    about: list[dict[str, str]] = []
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            table = frame.reset_index() if index else frame
            column_kinds = _kinds(table, kinds)
            clean = neutralise_formulas(table)
            for col in clean.columns:
                if isinstance(clean[col].dtype, pd.DatetimeTZDtype):
                    clean[col] = clean[col].dt.tz_localize(None)
                if clean[col].dtype == object:  # None / NaN in text columns: empty cells, not "None"
                    clean[col] = clean[col].where(clean[col].notna(), None)  # type: ignore[call-overload]  # stubs reject other=None
            sheet_name = re.sub(r"[\[\]:*?/\\]", " ", str(name)).strip("' ")[:31] or "Data"  # Excel's rules
            clean.to_excel(writer, sheet_name=sheet_name, index=False)
            _dress(writer.sheets[sheet_name], clean, list(column_kinds.values()), currency)
            for original, kind in column_kinds.items():
                meaning = (meanings or {}).get(str(original)) or COMMON_MEANINGS.get(str(original).lower(), "")
                header = money_title(str(original), currency) if kind == MONEY and currency else str(original)
                about.append({"Sheet": sheet_name, "Column": header, "Holds": _KIND_WORDS[kind], "Meaning": meaning})
        notes = pd.DataFrame(about, columns=["Sheet", "Column", "Holds", "Meaning"])
        notes = neutralise_formulas(notes)
        notes.to_excel(writer, sheet_name="About these columns", index=False)
        _dress(writer.sheets["About these columns"], notes, [TEXT] * 4, currency, wrap_last=True)
    return buffer.getvalue()


#: What the app's usual export columns mean (lower-case header -> sentence); callers add their own.
COMMON_MEANINGS = {
    "customer": "The customer's id in your file.",
    "customer_id": "The customer's id in your file.",
    "rank": "1 = the customer with the most value at stake.",
    "value": "What the customer is expected to bring over the horizon (lifetime value, discounted margin).",
    "clv": "What the customer is expected to bring over the horizon (lifetime value, discounted margin).",
    "churn probability": "The model's chance that the customer leaves (0-100%).",
    "churn_probability": "The model's chance that the customer leaves (0-100%).",
    "value at stake": "Value x churn probability: what you expect to lose if nothing is done.",
    "value_at_stake": "Value x churn probability: what you expect to lose if nothing is done.",
    "p_alive": "The purchase model's chance that the customer still buys from you.",
    "days since last purchase": "Days from the customer's last purchase to the data's last day.",
    "nps answer": "The customer's answer to 'How likely are you to recommend us?' (0-10); empty: not asked.",
    "reason": "Why the customer is on the list, in words.",
    "expected_purchases": "Purchases the model expects from the customer over the horizon.",
    "group": "Contact or control: the control group is not contacted, so the campaign's effect can be measured.",
}
HEADER_FILL = PatternFill("solid", fgColor="E6F4F1")
MAX_WIDTH = 60


def _dress(sheet: Any, frame: pd.DataFrame, kinds: list[str], currency: str | None, *, wrap_last: bool = False) -> None:
    """Formats, widths, bold frozen header and filters on one written sheet."""
    sheet.freeze_panes = "A2"
    if frame.shape[1]:
        sheet.auto_filter.ref = f"A1:{get_column_letter(frame.shape[1])}{max(len(frame), 1) + 1}"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    sample = frame.head(500)
    for i, (col, kind) in enumerate(zip(frame.columns, kinds), start=1):
        letter = get_column_letter(i)
        number_format = excel_format(kind, currency)
        if number_format != "General":
            for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = number_format
        shown = sample[col].dropna()
        if kind in (MONEY, NUMBER):
            longest = max((len(f"{v:,.2f}") for v in shown), default=0) + 2
        elif kind in (SHARE, PERCENT):
            longest = 8
        elif kind == DATE:
            longest = 11
        else:
            longest = max((len(str(v)) for v in shown), default=0)
        width = min(MAX_WIDTH, max(len(str(col)) * 0.9, longest) + 2, MAX_WIDTH)
        sheet.column_dimensions[letter].width = max(8.0, width)
        if wrap_last and i == len(kinds):
            sheet.column_dimensions[letter].width = MAX_WIDTH + 20
