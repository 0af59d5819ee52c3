"""CSV and Excel downloads with spreadsheet-formula injection neutralised.

OWASP "CSV Injection" guidance: a text cell that starts with = + - @ (or a tab / carriage return,
which some spreadsheet programs skip before reading a formula) is prefixed with a single quote so
the spreadsheet shows it as text instead of running it. Only text is escaped: numbers stay
numbers, so a negative amount (-12.5) is written as a number, not as "'-12.5". Column names are
text too and are escaped the same way.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pandas as pd

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


def to_csv_bytes(frame: pd.DataFrame, *, index: bool = False) -> bytes:
    """UTF-8 CSV (with a byte-order mark so Excel reads accents correctly), formulas neutralised.

    Lines end in CRLF (RFC 4180), which also makes the writer quote a text cell containing a
    bare carriage return instead of letting it split the row.

    Parameters
    ----------
    frame : pd.DataFrame
        The table to export.
    index : bool, default False
        Write the index as the first column.

    Returns
    -------
    bytes
        The file's content.
    """
    return neutralise_formulas(frame).to_csv(index=index, lineterminator="\r\n").encode("utf-8-sig")


def to_excel_bytes(frames: pd.DataFrame | dict[str, pd.DataFrame], *, index: bool = False) -> bytes:
    """An .xlsx workbook (openpyxl), one sheet per frame, formulas neutralised.

    Timezone-aware dates are written in local time without the zone (Excel has no time zones).

    Parameters
    ----------
    frames : pd.DataFrame or dict of str to pd.DataFrame
        One table (sheet "Data") or {sheet name: table}; names are cut to Excel's 31 characters.
    index : bool, default False
        Write each index as the first column.

    Returns
    -------
    bytes
        The workbook's content.
    """
    sheets = {"Data": frames} if isinstance(frames, pd.DataFrame) else frames
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            clean = neutralise_formulas(frame)
            for col in clean.columns:
                if isinstance(clean[col].dtype, pd.DatetimeTZDtype):
                    clean[col] = clean[col].dt.tz_localize(None)
            sheet = re.sub(r"[\[\]:*?/\\]", " ", str(name)).strip("' ")[:31] or "Data"  # Excel's rules
            clean.to_excel(writer, sheet_name=sheet, index=index)
    return buffer.getvalue()
