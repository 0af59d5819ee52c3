"""Read a user's file (CSV, Excel .xlsx, Parquet) into a raw frame, or say exactly why not.

Text files are read with every cell as a string so that nothing is coerced behind the user's back:
parsing numbers and dates is the cleaning step's job, where every failure is counted.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pandas as pd

from analytics.data.parsing import TEXT
from analytics.data.schema import DataError

CSV_DELIMITERS = ",;\t|"
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # latin-1 decodes any byte, so it is the last resort
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class RawTable:
    """A file as read, before any cleaning.

    Attributes
    ----------
    frame : pd.DataFrame
        The user's columns under their own (whitespace-trimmed) names. Text formats give string
        cells ("" for blank); Excel and Parquet keep their native cell types.
    source : str
        The file name.
    file_kind : str
        "csv", "xlsx" or "parquet".
    notes : tuple of str
        How it was read, e.g. "Read as CSV: ';'-separated, cp1252."
    """

    frame: pd.DataFrame
    source: str  # the file name
    file_kind: str  # "csv", "xlsx" or "parquet"
    notes: tuple[str, ...] = ()  # how it was read, e.g. "Read as CSV: ';'-separated, cp1252."


def _kind_from_bytes(content: bytes, name: str) -> str:
    lower = name.lower()
    if content[:4] == b"PAR1" or lower.endswith(".parquet"):
        return "parquet"
    if content[:2] == b"PK" or lower.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if lower.endswith(".xls") or content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataError(
            f"'{name}' is an old Excel 97-2003 (.xls) workbook. Save it as .xlsx or CSV and upload that instead."
        )
    return "csv"


def _decode(content: bytes, name: str) -> tuple[str, str]:
    head = content[:SNIFF_BYTES]
    if b"\x00" in head:
        raise DataError(
            f"'{name}' looks like a binary file, not a table. Upload a CSV, an Excel .xlsx or a "
            "Parquet file with one row per purchase or per customer."
        )
    for encoding in ENCODINGS:
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _sniff_delimiter(text: str) -> str:
    """Pick the delimiter that splits the first lines into the most consistent column count."""
    lines = [line for line in text[:SNIFF_BYTES].splitlines() if line.strip()][:50]
    best, best_score = ",", (0, 0)
    for delimiter in CSV_DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0])
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(content: bytes, name: str) -> RawTable:
    text, encoding = _decode(content, name)
    if not text.strip():
        raise DataError(f"'{name}' is empty. Upload a file with a header row and at least one data row.")
    delimiter = _sniff_delimiter(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=TEXT,
            keep_default_na=False,
            skipinitialspace=True,
            on_bad_lines="error",
            engine="c",
        )
    except pd.errors.ParserError as exc:
        line = str(exc).split("line")[-1].split(",")[0].strip() if "line" in str(exc) else "?"
        raise DataError(
            f"'{name}' could not be read as a table: row {line} has a different number of "
            f"columns than the header (separator detected: {_delimiter_name(delimiter)}). "
            "Check for unquoted separators inside values."
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"'{name}' is empty. Upload a file with a header row and at least one data row.") from exc
    shown = _delimiter_name(delimiter)
    notes = (f"Read as CSV: {shown}-separated, {encoding.replace('-sig', '')} text.",)
    return RawTable(frame=_tidy_headers(frame, name), source=name, file_kind="csv", notes=notes)


def _delimiter_name(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[delimiter]


def _read_excel(content: bytes, name: str) -> RawTable:
    try:
        sheets = pd.read_excel(io.BytesIO(content), sheet_name=None, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for corrupt workbooks
        raise DataError(
            f"'{name}' could not be opened as an Excel workbook ({type(exc).__name__}). Save it "
            "again from Excel as .xlsx, or export it as CSV."
        ) from exc
    filled = {sheet: frame for sheet, frame in sheets.items() if not frame.dropna(how="all").empty}
    if not filled:
        raise DataError(f"'{name}' has no data rows in any sheet.")
    sheet, frame = next(iter(filled.items()))
    notes = [f"Read sheet '{sheet}' of the Excel workbook."]
    if len(filled) > 1:
        others = ", ".join(f"'{s}'" for s in list(filled)[1:])
        notes.append(f"Other sheets with data were not used: {others}. Upload them as separate files.")
    frame = frame.dropna(how="all")
    return RawTable(frame=_tidy_headers(frame, name), source=name, file_kind="xlsx", notes=tuple(notes))


def _read_parquet(content: bytes, name: str) -> RawTable:
    try:
        frame = pd.read_parquet(io.BytesIO(content))
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise DataError(f"'{name}' could not be read as a Parquet file ({type(exc).__name__}).") from exc
    return RawTable(frame=_tidy_headers(frame, name), source=name, file_kind="parquet", notes=("Read as Parquet.",))


def _tidy_headers(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    columns = [str(c).strip() for c in frame.columns]
    if frame.empty and len(columns):
        raise DataError(
            f"'{name}' has a header row ({', '.join(columns[:6])}{'...' if len(columns) > 6 else ''}) but no data rows."
        )
    if len(columns) < 2:
        raise DataError(
            f"'{name}' has only one column ('{columns[0] if columns else ''}'). The app needs at "
            "least a customer id and one more column (a date and an amount for purchases)."
        )
    blank = [i + 1 for i, c in enumerate(columns) if not c or c.startswith("Unnamed:")]
    for i in blank:
        columns[i - 1] = f"column {i}"
    seen: dict[str, int] = {}
    for i, column in enumerate(columns):
        if column in seen:
            seen[column] += 1
            columns[i] = f"{column} ({seen[column]})"
        else:
            seen[column] = 1
    frame = frame.copy()
    frame.columns = columns
    return frame.reset_index(drop=True)


def read_table(content: bytes, name: str) -> RawTable:
    """Read one uploaded file.

    Parameters
    ----------
    content : bytes
        The file's bytes.
    name : str
        The file name (its extension helps decide the format; the bytes decide first).

    Returns
    -------
    RawTable
        The cells and how they were read.

    Raises
    ------
    DataError
        Empty, header-only, binary, corrupt or single-column files, with a message that names the
        problem and what the file needs.
    """
    if not content or not content.strip():
        raise DataError(f"'{name}' is empty. Upload a file with a header row and at least one data row.")
    kind = _kind_from_bytes(content, name)
    if kind == "parquet":
        return _read_parquet(content, name)
    if kind == "xlsx":
        return _read_excel(content, name)
    return _read_csv(content, name)
