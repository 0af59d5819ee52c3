"""Read a user's file (CSV, Excel .xlsx, Parquet) into a raw frame, or say exactly why not.

Text files are read with every cell as a string so that nothing is coerced behind the user's back:
parsing numbers and dates is the cleaning step's job, where every failure is counted.
"""

from __future__ import annotations

import csv
import ctypes
import functools
import gzip
import io
import re
import zipfile
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd

from analytics.data.parsing import TEXT
from analytics.data.schema import DataError

if TYPE_CHECKING:
    import pyarrow as pa

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
    sheet : str or None
        The Excel sheet read (None for other formats).
    sheets : tuple of str
        Every sheet of the workbook, in workbook order (empty for other formats).
    """

    frame: pd.DataFrame
    source: str  # the file name
    file_kind: str  # "csv", "xlsx" or "parquet"
    notes: tuple[str, ...] = ()  # how it was read, e.g. "Read as CSV: ';'-separated, cp1252."
    sheet: str | None = None
    sheets: tuple[str, ...] = ()


MAX_UNPACKED_BYTES = 1 << 30  # a compressed upload may hold at most 1 GiB (zip/gzip bombs are refused)
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".tab", ".xlsx", ".xlsm", ".parquet", ".pq")
HEADER_SEARCH_ROWS = 30


def _kind_from_bytes(content: bytes, name: str) -> str:
    lower = name.lower()
    if content[:2] == b"\x1f\x8b":
        return "gzip"
    if content[:4] == b"PAR1" or lower.endswith(".parquet"):
        return "parquet"
    if content[:2] == b"PK":
        return "zip" if not _is_workbook(content) else "xlsx"
    if lower.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if lower.endswith(".xls") or content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataError(
            f"'{name}' is an old Excel 97-2003 (.xls) workbook. Save it as .xlsx or CSV and upload that instead."
        )
    return "csv"


def _is_workbook(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return True  # not a readable zip: let the Excel reader say what is wrong with it
    return "[Content_Types].xml" in names or "xl/workbook.xml" in names


def _gunzip(content: bytes, name: str) -> tuple[bytes, str]:
    inner = name[:-3] if name.lower().endswith(".gz") else name
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
            data = stream.read(MAX_UNPACKED_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise DataError(
            f"'{name}' is a damaged gzip file ({exc}). Compress the table again, or upload it as is."
        ) from exc
    if len(data) > MAX_UNPACKED_BYTES:
        raise DataError(f"'{name}' unpacks to more than 1 GiB. Upload a smaller extract of the table.")
    return data, inner


def _unzip(content: bytes, name: str) -> tuple[bytes, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = [
                info
                for info in archive.infolist()
                if not info.is_dir() and not info.filename.startswith(("__MACOSX/", ".")) and "/." not in info.filename
            ]
            tables = [info for info in members if info.filename.lower().endswith(TABLE_SUFFIXES)]
            if len(tables) != 1:
                listed = ", ".join(f"'{info.filename}'" for info in members[:10]) or "nothing"
                more = f" and {len(members) - 10} more" if len(members) > 10 else ""
                what = "no table" if not tables else f"{len(tables)} tables"
                raise DataError(
                    f"'{name}' is a zip archive with {what} inside ({listed}{more}). Upload a zip with "
                    "exactly one CSV, Excel or Parquet file, or upload the file itself."
                )
            info = tables[0]
            if info.file_size > MAX_UNPACKED_BYTES:
                raise DataError(f"'{name}' unpacks to more than 1 GiB. Upload a smaller extract of the table.")
            return archive.read(info), info.filename.rsplit("/", 1)[-1]
    except zipfile.BadZipFile as exc:
        raise DataError(f"'{name}' is a damaged zip archive ({exc}). Zip the table again.") from exc


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when every other byte of ASCII text is zero, else None."""
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even_zero = sample[0::2].count(0) / len(sample[0::2])
    odd_zero = sample[1::2].count(0) / len(sample[1::2])
    if odd_zero > 0.9 and even_zero < 0.1:
        return "utf-16-le"
    if even_zero > 0.9 and odd_zero < 0.1:
        return "utf-16-be"
    return None


def _decode(content: bytes, name: str) -> tuple[str, str]:
    head = content[:SNIFF_BYTES]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return content.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise DataError(f"'{name}' starts like UTF-16 text but is damaged ({exc.reason}).") from exc
    utf16 = _utf16_without_bom(head)
    if utf16:
        try:
            return content.decode(utf16), utf16.upper()
        except UnicodeDecodeError:
            pass
    if b"\x00" in head:
        raise DataError(
            f"'{name}' looks like a binary file, not a table. Upload a CSV, an Excel .xlsx or a "
            "Parquet file with one row per purchase or per customer."
        )
    for encoding in ENCODINGS:
        try:
            return content.decode(encoding), encoding.replace("-sig", "")
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _field_counts(lines: list[str], delimiter: str) -> list[int]:
    counts = []
    for line in lines:
        try:
            counts.append(len(next(csv.reader([line], delimiter=delimiter))))
        except (csv.Error, StopIteration):
            counts.append(0)
    return counts


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits most lines into the same number (>= 2) of columns."""
    best, best_score = ",", (0, 0)
    for delimiter in CSV_DELIMITERS:
        counts = [c for c in _field_counts(lines, delimiter) if c >= 2]
        if not counts:
            continue
        modal = max(set(counts), key=lambda c: (counts.count(c), c))
        score = (counts.count(modal), modal)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _header_line(text: str, delimiter: str) -> tuple[int, list[str]]:
    """(lines to skip, the skipped title lines) when title lines sit above the header, else (0, []).

    Title lines above a header ("Sales export", "Generated ...") are narrower than the table: the
    header is the first record as wide as most records, with its cells filled, and every record
    above it is narrower. Records are read with the csv module, so quoted line breaks stay inside.
    """
    records: list[tuple[int, list[str]]] = []  # (lines before this record, cells)
    reader = csv.reader(io.StringIO(text[:SNIFF_BYTES]), delimiter=delimiter)
    try:
        while len(records) < 60:
            before = reader.line_num
            row = next(reader)
            if any(cell.strip() for cell in row):
                records.append((before, row))
    except (StopIteration, csv.Error):
        pass
    if len(records) < 3:
        return 0, []
    counts = [len(row) for _, row in records]
    modal = max(set(counts), key=lambda c: (counts.count(c), c == counts[0], c))
    if counts[0] >= modal:
        return 0, []
    for i, (before, row) in enumerate(records[:HEADER_SEARCH_ROWS]):
        if len(row) != modal:
            if len(row) > modal:
                return 0, []
            continue
        if sum(1 for c in row if c.strip()) >= max(2, modal // 2):
            return before, [",".join(c for c in r if c.strip()) for _, r in records[:i]]
        return 0, []
    return 0, []


def _plain_utf8_head(content: bytes) -> str | None:
    """The first SNIFF_BYTES characters of a plain UTF-8 file, decoded from its first bytes only, or None.

    None unless `_decode` would read the file as UTF-8 without a byte-order mark as far as these
    bytes tell (no BOM, not UTF-16, no NUL byte); whether the rest is UTF-8 too is checked by
    Arrow's reader, which refuses invalid UTF-8 (the file then takes the decoding path). A
    character is at most 4 bytes, so 4 x SNIFF_BYTES bytes hold the same first SNIFF_BYTES
    characters as the whole file decoded.
    """
    head = content[:SNIFF_BYTES]
    if head[:3] == b"\xef\xbb\xbf" or head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head:
        return None
    if _utf16_without_bom(head):
        return None
    chunk = content[: 4 * SNIFF_BYTES + 4]
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(chunk) == len(content) or exc.start < len(chunk) - 3:
            return None  # not UTF-8 (or not only): decoded as a whole by `_decode`
        text = chunk[: exc.start].decode("utf-8")  # a character cut by the chunk's end
    return text[:SNIFF_BYTES]


def _read_plain_utf8(content: bytes, name: str) -> RawTable | None:
    """A plain UTF-8 CSV read by Arrow from its own bytes, or None (then `_read_csv` decodes it).

    The same decisions as `_read_csv` on the decoded text (delimiter, header line, Arrow or pandas),
    taken on the first characters only: the file is never decoded into a Python string, so neither
    a second copy of it (365 MB at 2M customers) nor the passes that decode, strip and split it
    are made. Files with a separator hint, title lines above the header, or cells Arrow would read
    otherwise than pandas return None.
    """
    text = _plain_utf8_head(content)
    if text is None or not text.strip():
        return None
    if text.partition("\n")[0].strip().strip('"').lower().startswith("sep="):
        return None
    non_blank = [line for line in text.splitlines()[:200] if line.strip()]
    delimiter = _sniff_delimiter(non_blank[:60])
    if _header_line(text, delimiter)[0]:
        return None
    frame = _arrow_csv(text, delimiter, content)
    if frame is None:
        return None
    notes = (f"Read as CSV: {_delimiter_name(delimiter)}-separated, utf-8 text.",)
    return RawTable(frame=_tidy_headers(_drop_empty(frame), name), source=name, file_kind="csv", notes=notes)


def _read_csv(content: bytes, name: str) -> RawTable:
    fast = _read_plain_utf8(content, name)
    if fast is not None:
        return fast
    text, encoding = _decode(content, name)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise DataError(f"'{name}' is empty. Upload a file with a header row and at least one data row.")
    notes: list[str] = []
    first_line, _, rest = text.partition("\n")
    declared = first_line.strip().strip('"').lower()
    delimiter = None
    if declared.startswith("sep=") and len(declared) in (4, 5):  # Excel's "sep=;" hint line
        delimiter = declared[4:] or ","
        if declared[4:] == "\\t":
            delimiter = "\t"
        text = rest
        notes.append(
            f"The first line '{first_line.strip()}' declares the separator (Excel's hint); it was used and skipped."
        )
    head_lines = text[:SNIFF_BYTES].splitlines()[:200]
    non_blank = [line for line in head_lines if line.strip()]
    if delimiter is None or delimiter not in CSV_DELIMITERS + " ":
        delimiter = _sniff_delimiter(non_blank[:60])
    skip, titles = _header_line(text, delimiter)
    if skip:
        shown = "; ".join(f"'{line.strip()[:40]}'" for line in titles[:3])
        notes.append(
            f"The header is on line {skip + 1}: the {len(titles)} title line(s) above it ({shown}) were skipped."
        )
    # a plain UTF-8 file was offered to Arrow as its own bytes already (`_read_plain_utf8`)
    same_bytes = encoding == "utf-8" and not content.startswith(b"\xef\xbb\xbf") and not declared.startswith("sep=")
    frame = None if skip or same_bytes else _arrow_csv(text, delimiter)
    try:
        frame = (
            frame
            if frame is not None
            else pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                dtype=TEXT,
                keep_default_na=False,
                skipinitialspace=True,
                skiprows=skip,
                on_bad_lines="error",
                engine="c",
            )
        )
    except pd.errors.ParserError as exc:
        raise DataError(_parser_problem(str(exc), name, delimiter, skip, text)) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"'{name}' is empty. Upload a file with a header row and at least one data row.") from exc
    frame = _drop_empty(frame)
    notes.insert(0, f"Read as CSV: {_delimiter_name(delimiter)}-separated, {encoding} text.")
    return RawTable(frame=_tidy_headers(frame, name), source=name, file_kind="csv", notes=tuple(notes))


def _arrow_csv(text: str, delimiter: str, encoded: bytes | None = None) -> pd.DataFrame | None:
    """The cells as text via Arrow's multi-threaded CSV reader, or None to read with pandas instead.

    Arrow reads a plain CSV 5-10x faster than pandas and hands over Arrow text columns directly.
    It is used only where both readers give the same cells: a header of distinct, non-blank names
    and no cell that starts with a space (pandas' `skipinitialspace` drops a space after a
    separator; checked on Arrow's cells, column by column in C++, instead of searching the text).
    Any file Arrow rejects (ragged rows, invalid UTF-8, ...) goes to pandas, whose errors
    `_read_csv` turns into sentences. `encoded` is the file as UTF-8 bytes when the caller has
    them, and then only the first SNIFF_BYTES characters of `text` are needed.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if delimiter == " ":
        return None
    try:
        header = next(csv.reader(io.StringIO(text[:SNIFF_BYTES]), delimiter=delimiter))
    except (csv.Error, StopIteration):
        return None
    if len(set(header)) != len(header) or any(not name.strip() or name.startswith(" ") for name in header):
        return None
    content = text.encode("utf-8") if encoded is None else encoded
    try:
        table = pacsv.read_csv(
            io.BytesIO(content),
            read_options=pacsv.ReadOptions(block_size=_csv_block_bytes(len(content))),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.large_string() for name in header}, strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None
    if table.column_names != header:
        return None
    if any(pc.any(pc.starts_with(column, " ")).as_py() for column in table.columns):
        return None
    release_arrow_memory()  # the reader's scratch buffers
    return pd.DataFrame(
        {name: pd.arrays.ArrowStringArray(table.column(i)) for i, name in enumerate(header)}, copy=False
    )


def _csv_block_bytes(size: int) -> int:
    """Bytes per block Arrow's CSV reader parses at once: about a sixteenth of the file, from 1 MB (Arrow's
    default) to 16 MB. Cells that may hold line breaks (quoted) make each block's start costly to find,
    and every block becomes one chunk of each column: at 2M customers (365 MB) 16 MB blocks took 1.8
    CPU s where 1 MB ones took 2.7, and 22 chunks instead of 348; sixteen blocks still keep two cores busy."""
    return int(min(max(size // 16, 1 << 20), 16 << 20))


def frame_from_arrow(table: pa.Table) -> pd.DataFrame:
    """A frame of an Arrow table's cells as a file read gives them: text kept as Arrow text.

    Text columns stay Arrow-backed (`TEXT`, no Python string per cell), as CSV cells are read, so
    cleaning reads each distinct id once in Arrow; dates become datetime64 (not a Python date per
    cell) and decimals the nearest float64, as DuckDB's own conversion to pandas makes them. At 4.8M purchases
    (1M customers, a Parquet folder read through DuckDB) cleaning the object-text frame took 25 s.

    Parameters
    ----------
    table : pyarrow.Table
        The cells (e.g. a database query's result).

    Returns
    -------
    pd.DataFrame
        One column per field, same names and order.
    """
    import pyarrow as pa

    text_types = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if any(is_text(kind) for is_text in text_types):
            if pa.types.is_string_view(kind):
                column = column.cast(pa.large_string())
            columns[name] = pd.arrays.ArrowStringArray(column)
        elif pa.types.is_decimal(kind):  # through its exact text: Arrow's direct cast is not correctly
            # rounded (21.58 became 21.580000000000002), parsing the text gives the nearest double
            columns[name] = column.cast(pa.string()).cast(pa.float64()).to_pandas()
        elif pa.types.is_integer(kind) and column.null_count:  # float64 would round ids above 2**53
            columns[name] = column.to_pandas(types_mapper=_nullable_integer_types().get)
        else:
            columns[name] = column.to_pandas(date_as_object=False)
    return pd.DataFrame(columns, copy=False)


@functools.cache
def _nullable_integer_types() -> dict:
    """Arrow integer type -> pandas' nullable integer dtype (exact, with <NA>), as DuckDB's `.df()` and
    pandas' own Parquet reader give them: Arrow's default turns an integer column with a null into
    float64, which rounds 64-bit ids above 2**53 and merges distinct customers."""
    import pyarrow as pa

    return {
        pa.int8(): pd.Int8Dtype(),
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.uint8(): pd.UInt8Dtype(),
        pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(),
        pa.uint64(): pd.UInt64Dtype(),
    }


def release_arrow_memory() -> None:
    """Hand the memory Arrow freed (CSV read buffers, parsing scratch) back to the operating system.

    Arrow's allocator (mimalloc) keeps freed pages for reuse; numpy and pandas allocate elsewhere,
    so after reading a large file those pages would only inflate the process (1.4 GB at 10M rows).
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def release_heap_memory() -> None:
    """Hand the C heap's free pages back to the operating system (glibc's `malloc_trim`).

    Reading, cleaning and aggregating free hundreds of MB of numpy scratch in the middle of the heap, which
    glibc keeps for reuse: without this the process would hold ~1 GB more than it uses after
    loading 10M purchases. Does nothing where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return


def _parser_problem(message: str, name: str, delimiter: str, skip: int, text: str) -> str:
    """One sentence for a CSV the parser rejected, naming the line (1-based, as an editor shows it)."""
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        line = int(quote.group(1)) + skip + 1
        shown = text.splitlines()[line - 1][:60] if line - 1 < len(text.splitlines()) else ""
        return (
            f"'{name}' has a quote (\") that is never closed, starting on line {line} ('{shown}'). "
            "Close the quote or remove it, then upload again."
        )
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if fields:
        expected, bad_line, saw = fields.groups()
        return (
            f"'{name}' could not be read as a table: line {int(bad_line) + skip} has {saw} fields where the header "
            f"has {expected} (separator detected: {_delimiter_name(delimiter)}). Check for unquoted separators "
            "inside values."
        )
    return (
        f"'{name}' could not be read as a table ({message.strip().splitlines()[0][:120]}; separator detected: "
        f"{_delimiter_name(delimiter)}). Check the file's separators and quotes."
    )


def _drop_empty(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop unnamed columns that hold nothing (trailing separators). Rows are kept: an empty row
    is read and then excluded with its reason, so that every row of the file is accounted for."""
    keep = [
        c
        for c in frame.columns
        if not (str(c).startswith("Unnamed:") and (frame[c].astype(TEXT).fillna("").str.strip() == "").all())
    ]
    return frame[keep]


def _delimiter_name(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", " ": "space"}.get(delimiter, repr(delimiter))


def _sheet_table(raw: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The table in a sheet read without a header: (frame with the header row as names, header row index)."""
    raw = raw.dropna(how="all").dropna(axis=1, how="all")
    if raw.empty:
        return raw, 0
    filled = raw.notna().sum(axis=1).to_numpy()
    width = int(filled[: HEADER_SEARCH_ROWS * 2].max())
    header = 0
    for i, count in enumerate(filled[:HEADER_SEARCH_ROWS]):
        row = raw.iloc[i]
        texts = sum(1 for v in row if isinstance(v, str) and v.strip())
        if count >= max(2, int(0.8 * width)) and texts >= max(2, count // 2):
            header = i
            break
    names = [str(v).strip() if pd.notna(v) else "" for v in raw.iloc[header]]
    body = raw.iloc[header + 1 :].copy()
    body.columns = names
    return body.infer_objects(), header


def _read_excel(content: bytes, name: str, sheet: str | None = None) -> RawTable:
    try:
        sheets = pd.read_excel(io.BytesIO(content), sheet_name=None, header=None, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for corrupt workbooks
        raise DataError(
            f"'{name}' could not be opened as an Excel workbook ({type(exc).__name__}). Save it "
            "again from Excel as .xlsx, or export it as CSV."
        ) from exc
    if sheet is not None and sheet not in sheets:
        raise DataError(f"'{name}' has no sheet '{sheet}'. Its sheets: {', '.join(repr(s) for s in sheets)}.")
    tables = {s: _sheet_table(f) for s, f in sheets.items() if sheet is None or s == sheet}
    filled = {s: t for s, t in tables.items() if len(t[0]) > 0}
    if not filled:
        raise DataError(f"'{name}' has no data rows in any sheet.")

    if sheet is None:
        chosen, reason = _sheet_by_content({s: t[0] for s, t in filled.items()})
    else:
        chosen, reason = sheet, ""
    frame, header = filled[chosen]
    notes = [f"Read sheet '{chosen}' of the Excel workbook{reason}."]
    if sheet is None and len(filled) > 1:
        others = ", ".join(f"'{s}'" for s in filled if s != chosen)
        notes.append(
            f"Other sheets were not used: {others}. To read one of them, pick it on the Data page, name it "
            "with --sheet (command line) or sheet= (load_files)."
        )
    if header:
        notes.append(f"The header is on row {header + 1} of the sheet; the title rows above it were skipped.")
    return RawTable(
        frame=_tidy_headers(frame, name),
        source=name,
        file_kind="xlsx",
        notes=tuple(notes),
        sheet=str(chosen),
        sheets=tuple(str(s) for s in sheets),
    )


SHEET_SAMPLE_ROWS = 500  # rows of each sheet the column guess looks at when choosing the sheet


def _sheet_by_content(frames: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """The sheet that holds the data, and why (a phrase that follows the sheet's name in the note).

    Decided by content, not position: first the sheets whose columns say who the customer is (the
    same column guess as for any file, on each sheet's first 500 rows), among them the one where the
    guess finds the most roles (customer id, dates, amounts, ...), then the one with the most filled
    cells. A README, a lookup list or a pivot beside the data loses to the table the app can use.
    """
    from analytics.data.columns import guess_mapping
    from analytics.data.schema import CUSTOMER_ID

    def score(name: str) -> tuple[int, int, int]:
        frame = frames[name]
        if frame.shape[1] < 2:
            return (0, 0, 0)
        try:
            sample = _tidy_headers(frame.head(SHEET_SAMPLE_ROWS), name)
            roles = guess_mapping(sample).roles
        except DataError:
            roles = {}
        return (int(CUSTOMER_ID in roles), len(roles), int(frame.notna().sum().sum()))

    if len(frames) == 1:
        return next(iter(frames)), ""
    scores = {name: score(name) for name in frames}
    best = max(frames, key=lambda name: scores[name])
    if scores[best][0] and sum(1 for v in scores.values() if v[0]) == 1:
        return best, ": the only sheet with a customer id column"
    if scores[best][0]:
        return best, ": of the sheets with a customer id column, the one whose columns the app recognises most"
    return best, ": it holds the most data"


def _read_parquet(content: bytes, name: str) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(content))
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise DataError(f"'{name}' could not be read as a Parquet file ({type(exc).__name__}).") from exc
    nested = [f.name for f in table.schema if pa.types.is_nested(f.type) or pa.types.is_dictionary(f.type) and False]
    notes = ["Read as Parquet."]
    if nested:
        table = table.drop_columns(nested)
        notes.append(
            f"Columns holding lists or records were ignored: {', '.join(repr(n) for n in nested)} "
            "(flatten them into plain columns to use them)."
        )
    table = _without_stored_row_numbers(table)
    frame = frame_from_arrow(table)
    return RawTable(frame=_tidy_headers(frame, name), source=name, file_kind="parquet", notes=tuple(notes))


def _without_stored_row_numbers(table: pa.Table) -> pa.Table:
    """`table` without the unnamed index pandas stores beside the data (`__index_level_0__`, ...).

    pandas writes a frame's index into the file when it is not a plain 0..n-1 range (any filtered or
    concatenated frame). Those row numbers are not the user's data: kept as a column, they made every
    repeated row unique, so exact duplicates were no longer found. A named index (e.g. a customer id
    set as the index) is the user's column and stays, as an ordinary column."""
    metadata = table.schema.pandas_metadata or {}
    stored = [c for c in metadata.get("index_columns", []) if isinstance(c, str) and c.startswith("__index_level_")]
    return table.drop_columns([c for c in stored if c in table.column_names]) if stored else table


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


def workbook_sheets(content: bytes, name: str) -> tuple[str, ...]:
    """The sheet names of an Excel workbook, in workbook order; () for any other file or a workbook
    that cannot be opened (reading it then says why).

    Parameters
    ----------
    content : bytes
        The file's bytes.
    name : str
        The file name.

    Returns
    -------
    tuple of str
        Sheet names, for a picker that must work even when the chosen sheet cannot be used.
    """
    if not content or _kind_from_bytes(content, name) != "xlsx":
        return ()
    try:
        with pd.ExcelFile(io.BytesIO(content), engine="openpyxl") as workbook:
            return tuple(str(sheet) for sheet in workbook.sheet_names)
    except Exception:  # corrupt workbooks raise many types; read_table reports them in words
        return ()


def read_table(content: bytes, name: str, sheet: str | None = None) -> RawTable:
    """Read one uploaded file.

    Parameters
    ----------
    content : bytes
        The file's bytes.
    name : str
        The file name (its extension helps decide the format; the bytes decide first).
    sheet : str, optional
        The Excel sheet to read; by default the sheet that holds the data, chosen by content
        (the sheet with a customer id column and the most recognised columns, then the most data).

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
    if not content or content.isspace():  # (not `strip`, which would copy the whole file)
        raise DataError(f"'{name}' is empty. Upload a file with a header row and at least one data row.")
    kind = _kind_from_bytes(content, name)
    if kind in ("gzip", "zip"):
        inner, inner_name = _gunzip(content, name) if kind == "gzip" else _unzip(content, name)
        if _kind_from_bytes(inner, inner_name) in ("gzip", "zip") if inner else False:
            raise DataError(
                f"'{name}' holds another archive ('{inner_name}'). Upload the table itself, or zip it once."
            )
        table = read_table(inner, inner_name, sheet=sheet)
        how = "gzip-compressed" if kind == "gzip" else "zip archive"
        return replace(table, source=name, notes=(f"Unpacked '{inner_name}' from the {how} '{name}'.", *table.notes))
    if kind == "parquet":
        return _read_parquet(content, name)
    if kind == "xlsx":
        return _read_excel(content, name, sheet=sheet)
    return _read_csv(content, name)
