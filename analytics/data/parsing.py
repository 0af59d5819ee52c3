"""Parse the cells of a raw column into numbers, dates and booleans, reporting what failed.

Every parser returns values aligned with the input (NaN/NaT/NA where a cell could not be read) so
the caller can count and explain failures row by row; nothing is dropped here.
"""

from __future__ import annotations

import datetime
import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

BLANKS = ["", "na", "n/a", "nan", "null", "none", "-", "--", "?", "#n/a"]
_LONGEST_BLANK = max(len(b) for b in BLANKS)
# Arrow-backed strings: strip/lower/replace/match run vectorised in C++ (10x+ faster on 1M rows).
TEXT = pd.StringDtype("pyarrow")


@dataclass(frozen=True)
class Distinct:
    """A text column as its distinct cells, each read once, and per row the position of its cell.

    A purchase log repeats the same cells over and over (10 million purchases hold a few hundred
    dates, a few hundred thousand amounts and one id per customer), so every parser reads the
    distinct cells once and maps the result back to the rows (`take`): the same answer cell by
    cell, at a fraction of the cost. Counts that decide a column's format (how many cells read
    day-first, with a decimal comma, ...) weigh each distinct cell by its number of rows.

    Attributes
    ----------
    values : pd.Series
        The distinct cells as written (Arrow-backed text, RangeIndex), in order of first
        appearance, so the first distinct cell that matches a rule is the first row that does;
        the last entry is NA when the column has missing cells.
    codes : np.ndarray
        Per row, the position of its cell in `values` (int32).
    counts : np.ndarray
        Per distinct cell, the number of rows holding it (int64).
    """

    values: pd.Series
    codes: np.ndarray
    counts: np.ndarray

    def take(self, per_value: pd.Series, index: pd.Index) -> pd.Series:
        """Per-row results from per-distinct-cell results.

        Parameters
        ----------
        per_value : pd.Series
            One result per entry of `values` (any dtype).
        index : pd.Index
            The column's index, given to the result.

        Returns
        -------
        pd.Series
            One result per row, in the column's order.
        """
        if isinstance(per_value.dtype, np.dtype) and per_value.dtype != object:
            # numbers, dates, flags: numpy's gather (pandas' take converts the int32 codes and
            # checks them first: 0.45 s instead of 0.04 s for 10M rows)
            return pd.Series(per_value.to_numpy()[self.codes], index=index, name=per_value.name)
        out = per_value.take(self.codes)
        out.index = index
        return out


def is_arrow_text(values: pd.Series) -> bool:
    """True for an Arrow-backed text column (how CSV cells are read).

    Parameters
    ----------
    values : pd.Series
        One column.

    Returns
    -------
    bool
        Whether its dtype is ``string[pyarrow]``.
    """
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"


_distinct_cache: dict[int, tuple[weakref.ref, Distinct | None]] = {}
_distinct_lock = threading.Lock()


def distinct(values: pd.Series) -> Distinct | None:
    """The distinct cells of an Arrow-backed text column (as CSV files are read), else None.

    One hash pass in C++ (`pyarrow.compute.dictionary_encode`); the result is cached while the
    column's Arrow data lives, so guessing the mapping, parsing and finding duplicate rows share it.
    Columns of native cells (Excel, Parquet numbers or dates, Python objects) return None and are
    read cell by cell.

    Parameters
    ----------
    values : pd.Series
        One column as read.

    Returns
    -------
    Distinct or None
        The distinct cells, the row codes and the counts.
    """
    if not is_arrow_text(values):
        return None
    chunked = values.array._pa_array  # the column's Arrow data (immutable)
    key = id(chunked)
    with _distinct_lock:
        hit = _distinct_cache.get(key)
        if hit is not None and hit[0]() is chunked:
            if hit[1] is None:
                n = len(values)
                return Distinct(values.reset_index(drop=True), np.arange(n, dtype=np.int32), np.ones(n, dtype=np.int64))
            return hit[1]
    dictionary, indices = _encode(chunked)
    if indices.null_count:
        indices = pc.fill_null(indices, len(dictionary))
        dictionary = pa.concat_arrays([dictionary, pa.nulls(1, dictionary.type)])
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    result = Distinct(
        values=pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([dictionary.cast(pa.large_string())]))),
        codes=codes,
        counts=np.bincount(codes, minlength=len(dictionary)).astype(np.int64),
    )

    _remember(chunked, result)
    # The distinct cells are their own distinct cells: parsers called on them do not hash again
    # (remembered without a reference to them, so the entry goes when they do).
    _remember(result.values.array._pa_array, None)
    return result


def _encode(chunked: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """(distinct cells in order of first appearance, per row its position): one hash pass.

    A column read by Arrow's CSV reader comes in hundreds of chunks. Arrow's hash kernel encodes
    them one after the other into ONE dictionary, which every output chunk shares, so the chunks
    are not first copied into one array (0.45 s and a copy of the column at 10M customer ids).
    Should the chunks ever come back with dictionaries of their own, the column is combined and
    encoded as one array instead.
    """
    if chunked.num_chunks == 1:
        encoded = pc.dictionary_encode(chunked.chunk(0))
        return encoded.dictionary, encoded.indices
    encoded = pc.dictionary_encode(chunked)
    if encoded.num_chunks == 0:
        return pa.array([], type=chunked.type), pa.array([], type=pa.int32())
    dictionary = encoded.chunk(0).dictionary
    shared = [buffer.address if buffer is not None else None for buffer in dictionary.buffers()]
    if any(
        [buffer.address if buffer is not None else None for buffer in chunk.dictionary.buffers()] != shared
        for chunk in encoded.chunks
    ):  # pragma: no cover - Arrow's chunked hash kernel shares its dictionary
        encoded = pc.dictionary_encode(chunked.combine_chunks())
        return encoded.dictionary, encoded.indices
    indices = pa.concat_arrays([chunk.indices for chunk in encoded.chunks])
    return dictionary, indices


def _remember(chunked: pa.ChunkedArray, found: Distinct | None) -> None:
    """Cache `found` for this Arrow data while it lives (None: the data is its own distinct cells)."""
    key = id(chunked)
    cache = _distinct_cache  # still bound while the interpreter shuts down

    def forget(_: weakref.ref) -> None:
        # No lock: the garbage collector may call this while this thread holds it; one dict.pop
        # is atomic anyway.
        cache.pop(key, None)

    with _distinct_lock:
        _distinct_cache[key] = (weakref.ref(chunked, forget), found)


def by_distinct(values: pd.Series, read: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a cell-by-cell `read` to each distinct cell once and map the results back to the rows.

    Parameters
    ----------
    values : pd.Series
        One column as read.
    read : callable
        Series -> Series aligned with its input; each result depends on its own cell only.

    Returns
    -------
    pd.Series
        ``read(values)``, computed on the distinct cells when the column is Arrow text.
    """
    found = distinct(values)
    if found is None:
        return read(values)
    return found.take(read(found.values), values.index)


def _blank_cells(values: pd.Series) -> pd.Series:
    if is_arrow_text(values):  # the same rule, lower-casing only the cells short enough to be blank
        return is_blank_text(values)
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        text = values.astype(TEXT).str.strip().str.lower()
        return values.isna() | text.isin(BLANKS).fillna(True)
    return values.isna()


def is_blank(values: pd.Series) -> pd.Series:
    """True where a cell holds nothing usable (empty, whitespace, NA-like text).

    Parameters
    ----------
    values : pd.Series
        One column as read.

    Returns
    -------
    pd.Series
        Booleans aligned with `values`.
    """
    return by_distinct(values, _blank_cells).astype(bool)


def _weighted(mask: pd.Series, weights: np.ndarray | None) -> int:
    """Rows where `mask` holds: its True cells, each weighted by its number of rows when given."""
    flags = mask.to_numpy(dtype=bool, na_value=False)
    return int(flags.sum()) if weights is None else int(weights[flags].sum())


# Currency symbols and ISO 4217 codes written beside amounts. "$" alone is read as US dollars and
# the note says so; "US$", "C$", "A$" name their dollar.
CURRENCY_SYMBOLS: dict[str, str] = {
    "US$": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "R$": "BRL",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₽": "RUB",
    "₩": "KRW",
    "zł": "PLN",
    "kr": "SEK",
    "Fr.": "CHF",
}
CURRENCY_CODES: list[str] = [
    "USD",
    "EUR",
    "GBP",
    "CHF",
    "JPY",
    "CNY",
    "INR",
    "CAD",
    "AUD",
    "NZD",
    "SEK",
    "NOK",
    "DKK",
    "PLN",
    "CZK",
    "HUF",
    "RUB",
    "BRL",
    "MXN",
    "ZAR",
    "HKD",
    "SGD",
    "KRW",
    "TRY",
    "ILS",
    "AED",
    "SAR",
]
_CODE_PATTERN = r"(?i)(" + "|".join(CURRENCY_CODES) + ")"  # Arrow's RE2: no look-arounds
_SYMBOL_PATTERN = "(" + "|".join(re.escape(k) for k in sorted(CURRENCY_SYMBOLS, key=len, reverse=True)) + ")"
_SPACES = "[\\s\u00a0\u202f'’]"  # spaces, no-break spaces and apostrophes group digits


@dataclass(frozen=True)
class ParsedNumbers:
    """Numbers read from one column, with the format decided for the whole column.

    Attributes
    ----------
    values : pd.Series
        float64, NaN where blank, unreadable, or written in another format than the column.
    decimal_comma : bool
        The column writes decimals with a comma (12,50).
    thousands : str or None
        The thousands separator seen ("." "," " " "'") or None.
    currency : str or None
        ISO 4217 code written in the cells (None when none is written).
    currencies : dict of str to int
        Code -> number of cells, when cells name currencies (more than one = mixed).
    currency_examples : dict of str to str
        Code -> one cell as written.
    other_format : pd.Series or None
        True where a cell only reads in the other decimal convention than the column's.
    non_finite : pd.Series or None
        True where a cell says NaN or infinity.
    evidence : tuple of str
        Plain-word reasons for the decision, e.g. "'1.234,50' can only be a decimal comma".
    text_cells : int
        Cells that were text (in a column of native numbers).
    """

    values: pd.Series
    decimal_comma: bool
    thousands: str | None = None
    currency: str | None = None
    currencies: dict[str, int] = field(default_factory=dict)
    currency_examples: dict[str, str] = field(default_factory=dict)
    other_format: pd.Series | None = None
    non_finite: pd.Series | None = None
    evidence: tuple[str, ...] = ()
    text_cells: int = 0  # cells that were text in a column of native numbers (Excel)

    @property
    def mixed_currencies(self) -> bool:
        return len(self.currencies) > 1


# Separator evidence, on cells with the sign and currency removed and digit groups joined.
_COMMA_DECIMAL = r"^\d{1,3}(\.\d{3})+,\d+$|^\d+,(\d{1,2}|\d{4,})$|^\d{4,},\d+$|^,\d+$"
_POINT_DECIMAL = r"^\d{1,3}(,\d{3})+\.\d+$|^\d+\.(\d{1,2}|\d{4,})$|^\d{4,}\.\d+$|^\.\d+$"
_DOT_GROUPS = r"^\d{1,3}(\.\d{3})+$"
_COMMA_GROUPS = r"^\d{1,3}(,\d{3})+$"
_PLAIN = r"^\d+$"


def _extract_where_found(text: pd.Series, pattern: str) -> pd.Series:
    """`text.str.extract(pattern, expand=False)`, run only on the cells where the pattern occurs.

    pandas extracts cell by cell in Python; whether a cell holds the pattern at all is one
    vectorised pass (Arrow's RE2 on Arrow text), and most amount columns name no currency, so the
    Python pass runs on the few cells that do (0.25 of 2.4 CPU s when loading 1.47M purchases).
    """
    if not is_arrow_text(text):
        return text.str.extract(pattern, expand=False)
    probe = re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern)  # the same pattern without capturing groups
    found = text.str.contains(probe, regex=True).to_numpy(dtype=bool, na_value=False)
    if found.all():
        return text.str.extract(pattern, expand=False)
    out = text[found].str.extract(pattern, expand=False).reindex(text.index)
    return out.astype(text.dtype) if out.dtype != text.dtype else out


def _text_numbers(text: pd.Series, weights: np.ndarray | None = None) -> ParsedNumbers:
    """Parse text cells (already trimmed, NA where blank) with one format for the column.

    `weights` gives each cell's number of rows when `text` holds a column's distinct cells.
    """
    index = text.index
    codes = _extract_where_found(text, _CODE_PATTERN).str.upper()
    symbols = _extract_where_found(text, _SYMBOL_PATTERN).map(CURRENCY_SYMBOLS.get, na_action="ignore")
    currency_cells = codes.fillna(symbols)
    cell_weights = pd.Series(np.ones(len(text), dtype=np.int64) if weights is None else weights, index=index)
    by_currency = cell_weights[currency_cells.notna()].groupby(currency_cells.dropna(), sort=False).sum()
    by_currency = by_currency.iloc[np.argsort(-by_currency.to_numpy(), kind="stable")]
    currencies = {str(k): int(v) for k, v in by_currency.items()}
    examples = {str(code): str(text[currency_cells == code].iloc[0]) for code in currencies}
    body = text.str.replace(_CODE_PATTERN, "", regex=True).str.replace(_SYMBOL_PATTERN, "", regex=True)
    body = body.str.replace(_SPACES, "", regex=True)
    grouped_by_space = bool(text.str.contains("\\d[\\s\u00a0\u202f'’]\\d{3}", regex=True).fillna(False).any())
    parens = body.str.match(r"^\(.*\)$").fillna(False)
    body = body.str.strip("()")
    trailing_minus = body.str.match(r"^[\d.,]+-$").fillna(False)  # SAP: "12.50-" is a credit
    leading_minus = body.str.match(r"^-").fillna(False)
    body = body.str.replace(r"^[+-]|-$", "", regex=True)
    lowered = body.str.lower()
    non_finite = lowered.isin(["nan", "inf", "infinity", "-inf", "+inf"]).fillna(False)

    comma_decimal = body.str.match(_COMMA_DECIMAL).fillna(False)
    point_decimal = body.str.match(_POINT_DECIMAL).fillna(False)
    dot_groups = body.str.match(_DOT_GROUPS).fillna(False)
    comma_groups = body.str.match(_COMMA_GROUPS).fillna(False)
    n_comma, n_point = _weighted(comma_decimal, weights), _weighted(point_decimal, weights)
    evidence: list[str] = []

    def example(mask: pd.Series) -> str:
        return str(text[mask].iloc[0])

    if n_comma and n_point:
        decimal_comma = n_comma > n_point
    elif n_comma:
        decimal_comma = True
    elif n_point:
        decimal_comma = False
    else:  # only whole numbers, some with a separator every three digits ('2.015', '1,234')
        decimal_comma = bool(dot_groups.any()) and not comma_groups.any()
    other_format = point_decimal if decimal_comma else comma_decimal
    if decimal_comma and n_comma:
        evidence.append(f"decimal comma: {n_comma:,} cells like '{example(comma_decimal)}' only read that way")
    if not decimal_comma and n_point:
        evidence.append(f"decimal point: {n_point:,} cells like '{example(point_decimal)}' only read that way")
    if decimal_comma and dot_groups.any():
        evidence.append(f"'.' groups thousands ('{example(dot_groups)}' = {example(dot_groups).replace('.', '')})")
    if not decimal_comma and comma_groups.any():
        evidence.append(f"',' groups thousands ('{example(comma_groups)}' = {example(comma_groups).replace(',', '')})")
    if other_format.any():
        evidence.append(
            f"{_weighted(other_format, weights):,} cells like '{example(other_format)}' are written the other way and were not read"
        )

    if decimal_comma:
        normal = body.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        thousands = (
            "." if (dot_groups.any() or body.str.contains(r"\d\.\d{3}[,]", regex=True).fillna(False).any()) else None
        )
    else:
        normal = body.str.replace(",", "", regex=False)
        thousands = "," if (comma_groups.any() or body.str.contains(",", regex=False).fillna(False).any()) else None
    if grouped_by_space and thousands is None:
        thousands = " "
    readable = normal.str.match(r"^(\d+\.?\d*|\.\d+)$").fillna(False) & ~other_format
    numbers = pd.to_numeric(normal.where(readable), errors="coerce").astype("float64")
    negative = (parens | trailing_minus | leading_minus).to_numpy(dtype=bool)
    numbers = numbers.where(~negative, -numbers)
    numbers[non_finite.to_numpy(dtype=bool)] = np.nan
    if trailing_minus.any():
        evidence.append(
            f"{_weighted(trailing_minus, weights):,} cells with a trailing minus ('{example(trailing_minus)}') read as negative"
        )
    currency = next(iter(currencies)) if len(currencies) == 1 else None
    return ParsedNumbers(
        values=pd.Series(numbers.to_numpy(), index=index, dtype="float64"),
        decimal_comma=decimal_comma,
        thousands=thousands,
        currency=currency,
        currencies=currencies,
        currency_examples=examples,
        other_format=pd.Series(other_format.to_numpy(dtype=bool), index=index),
        non_finite=pd.Series(non_finite.to_numpy(dtype=bool), index=index),
        evidence=tuple(evidence),
    )


def parse_numbers(values: pd.Series) -> ParsedNumbers:
    """Read a column of numbers with ONE format decided from all its cells.

    Handles 12.50, 12,50, 1.234,50, 1,234.50, 1 234,50, 1'234.50, '$12', '12.50 EUR', '(12.50)'
    and SAP's trailing minus '12.50-' (both negative). The decimal separator is the one that some
    cells can only be read with ('1.234,50', '12,5'); cells that can only be read the other way
    are not read (`other_format`) so the caller can count and show them. Whole numbers with a
    separator every three digits ('2.015', '12.345') read as thousands. Currency symbols and codes
    are removed and recorded per cell (`currencies`). Native numbers (Excel, Parquet) are kept as
    they are; text cells among them are read with the rules above.

    Parameters
    ----------
    values : pd.Series
        One column as read.

    Returns
    -------
    ParsedNumbers
        The numbers and the format decided.
    """
    if pd.api.types.is_bool_dtype(values):
        return ParsedNumbers(values.astype("float64"), decimal_comma=False)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
        non_finite = pd.Series(np.isinf(numbers.to_numpy()), index=values.index)
        return ParsedNumbers(numbers.where(~non_finite), decimal_comma=False, non_finite=non_finite)
    found = distinct(values)
    if found is not None:  # a text column (CSV): each distinct cell read once
        parsed = _text_numbers(_trimmed(found.values), weights=found.counts)
        no_cell = pd.Series(False, index=found.values.index)
        return replace(
            parsed,
            values=found.take(parsed.values, values.index),
            other_format=found.take(no_cell if parsed.other_format is None else parsed.other_format, values.index),
            non_finite=found.take(no_cell if parsed.non_finite is None else parsed.non_finite, values.index),
        )
    native = values.map(lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool))
    native = native.astype(bool)
    if native.any():  # an Excel column of numbers with some cells typed as text
        numbers = pd.Series(np.nan, index=values.index, dtype="float64")
        numbers[native] = values[native].astype("float64")
        non_finite = pd.Series(False, index=values.index)
        non_finite[native] = np.isinf(numbers[native].to_numpy())
        numbers = numbers.where(~non_finite.astype(bool))
        text_part = values[~native]
        if text_part.empty:
            return ParsedNumbers(numbers, decimal_comma=False, non_finite=non_finite)
        parsed = _text_numbers(_trimmed(text_part))
        numbers[~native] = parsed.values
        other = pd.Series(False, index=values.index)
        if parsed.other_format is not None:
            other[~native] = parsed.other_format.to_numpy(dtype=bool)
        if parsed.non_finite is not None:
            non_finite[~native] = parsed.non_finite.to_numpy(dtype=bool)
        n_text = int((~native & ~is_blank(values)).sum())
        evidence = (f"{n_text:,} cells are text in a column of numbers; read on their own", *parsed.evidence)
        return replace(
            parsed, values=numbers, other_format=other, non_finite=non_finite, evidence=evidence, text_cells=n_text
        )
    return _text_numbers(_trimmed(values))


def _trimmed(values: pd.Series) -> pd.Series:
    text = values.astype(TEXT).str.strip()
    return text.where(~_blank_cells(values))


def is_blank_text(values: pd.Series, trimmed: bool = False) -> pd.Series:
    """`is_blank` computed cell by cell, without hashing the column first.

    The blank check of every Arrow text column (and of columns whose cells rarely repeat, such as
    order ids, where `distinct` would gain nothing): on Arrow text only the cells short enough to be
    an NA-like word (at most as many bytes as the longest in BLANKS once trimmed; lower-casing never
    shortens a cell to ASCII letters, tests/analytics/test_ingest_speed.py) are lower-cased and
    looked up.

    Parameters
    ----------
    values : pd.Series
        One column as read.
    trimmed : bool, default False
        The cells of an Arrow text column are trimmed already (``.str.strip()``): not again.

    Returns
    -------
    pd.Series
        Booleans aligned with `values`.
    """
    if not is_arrow_text(values):
        return _blank_cells(values)
    cells = values if trimmed else values.str.strip()
    blank = values.isna().to_numpy(dtype=bool)
    # bytes, not characters: a cell that lower-cases to an NA-like word is ASCII (no other
    # character lower-cases to one of their letters), so it is as short in bytes (10x cheaper)
    length = pc.binary_length(cells.array._pa_array)  # type: ignore[union-attr]  # Arrow text (checked above)
    short = np.flatnonzero(
        pc.less_equal(length, _LONGEST_BLANK).to_numpy(zero_copy_only=False).astype(bool, copy=False) & ~blank
    )
    if len(short):
        blank[short] = cells.iloc[short].str.lower().isin(BLANKS).to_numpy(dtype=bool, na_value=True)
    return pd.Series(blank, index=values.index)


@dataclass(frozen=True)
class ParsedDates:
    """Dates read from one column.

    Attributes
    ----------
    values : pd.Series
        datetime64[ns], naive (UTC when the cells carried a time zone); NaT where blank,
        unreadable, or a placeholder.
    note : str
        How the dates were read, in plain words ("" for native dates).
    day_first : bool or None
        The order chosen for dd/mm vs mm/dd cells (None when no cell was ambiguous).
    placeholder : pd.Series or None
        True where a cell holds a stand-in date (1900-01-01, 9999-12-31, 1970-01-01).
    ambiguous : bool
        True when the order of day and month was not decided by the data.
    """

    values: pd.Series
    note: str
    day_first: bool | None
    placeholder: pd.Series | None = None
    ambiguous: bool = False


PLACEHOLDER_DATES = ("1900-01-01", "1899-12-30", "1899-12-31", "1970-01-01", "0001-01-01", "9999-12-31")
_PLACEHOLDER_TIMESTAMPS = pd.DatetimeIndex([d for d in PLACEHOLDER_DATES if d[:4] not in ("0001", "9999")])
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AaPp][Mm])?)?"
_ZONE = r"(?:\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?"
_ISO = r"^\d{4}-\d{1,2}-\d{1,2}" + _TIME + _ZONE + "$"
_YMD_SLASH = r"^\d{4}[/.]\d{1,2}[/.]\d{1,2}" + _TIME + "$"
_DMY = r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(" + _TIME[3:-2] + r")?$"
_HAS_ZONE = r"(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})$"


def _native_dates(values: pd.Series) -> ParsedDates:
    tz = getattr(values.dt, "tz", None)
    out = values.dt.tz_convert("UTC").dt.tz_localize(None) if tz is not None else values
    out = out.astype("datetime64[ns]")
    placeholder = out.dt.normalize().isin(_PLACEHOLDER_TIMESTAMPS)
    note = f"Times with a time zone ({tz}) converted to UTC." if tz is not None else ""
    return ParsedDates(out.where(~placeholder), note, None, placeholder)


def _number_dates(numbers: pd.Series) -> ParsedDates:
    """Dates stored as numbers: yyyymmdd, Excel serial days, or Unix epoch seconds/milliseconds."""
    index = numbers.index
    filled = numbers.dropna()
    nat = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if filled.empty:
        return ParsedDates(nat, "", None, pd.Series(False, index=index))
    whole = bool((filled % 1 == 0).all())
    low, high = float(filled.min()), float(filled.max())
    if whole and low >= 19000101 and high <= 21001231:
        out = pd.to_datetime(numbers.astype("Int64").astype(TEXT), format="%Y%m%d", errors="coerce")
        note = "Dates read as compact dates (yyyymmdd)."
    elif low >= 0 and high < 100000:
        out = pd.to_datetime(numbers, unit="D", origin="1899-12-30", errors="coerce")
        note = f"Dates were Excel serial day numbers ({int(filled.iloc[0])} = {out[filled.index[0]]:%Y-%m-%d}), read as such."
    elif low >= 0 and high < 5e9:
        out = pd.to_datetime(numbers, unit="s", errors="coerce")
        note = f"Dates were Unix epoch seconds ({int(filled.iloc[0])} = {out[filled.index[0]]:%Y-%m-%d %H:%M} UTC), read as such."
    elif low >= 0 and high < 5e12:
        out = pd.to_datetime(numbers, unit="ms", errors="coerce")
        note = "Dates were Unix epoch milliseconds, read as such (UTC)."
    else:
        return ParsedDates(nat, "Numbers in this column are not dates.", None, pd.Series(False, index=index))
    out = pd.Series(out, index=index).astype("datetime64[ns]")
    placeholder = out.dt.normalize().isin(_PLACEHOLDER_TIMESTAMPS) | (numbers == 0)
    return ParsedDates(out.where(~placeholder), note, None, placeholder)


def parse_dates(values: pd.Series, day_first: bool | None = None) -> ParsedDates:
    """Read dates with the order of day and month decided from ALL cells of the column.

    Cells are read by family: ISO (2024-05-01, with optional time and zone: converted to UTC),
    yyyy/mm/dd, and d/m/y with '/', '-' or '.' (2- or 4-digit year). For d/m/y the column decides:
    a first field above 12 somewhere means day-first, a second field above 12 means month-first;
    when no cell decides, dots are read day-first (the German habit) and slashes month-first, and
    the note says it was a guess (the user can force `day_first`). Cells that only fit the other
    order are left unread (NaT) and counted by the caller. Numbers (and all-digit text) are read
    as yyyymmdd, Excel serial days or Unix epoch seconds, and the note says which. Placeholder
    dates (1900-01-01, 9999-12-31, 1970-01-01, ...) are flagged in `placeholder` and set to NaT.

    Parameters
    ----------
    values : pd.Series
        One column as read.
    day_first : bool, optional
        Force the order (None = decide from the data).

    Returns
    -------
    ParsedDates
        The dates, how they were read, and the placeholders.
    """
    index = values.index
    if pd.api.types.is_datetime64_any_dtype(values):
        return _native_dates(values)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return _number_dates(values.astype("float64"))
    found = distinct(values)
    if found is not None:  # a text column (CSV): each distinct cell read once
        parsed = _text_dates(found.values, day_first, found.counts)
        placeholder = parsed.placeholder if parsed.placeholder is not None else parsed.values.isna() & False
        return replace(
            parsed,
            values=found.take(parsed.values, index),
            placeholder=found.take(placeholder, index),
        )
    native_dt = values.map(lambda v: isinstance(v, (pd.Timestamp, datetime.datetime, datetime.date))).astype(bool)
    if native_dt.any() and native_dt[~is_blank(values)].all():
        return _native_dates(pd.to_datetime(values, errors="coerce", utc=True))
    return _text_dates(values, day_first)


def _text_dates(values: pd.Series, day_first: bool | None, weights: np.ndarray | None = None) -> ParsedDates:
    """Read text dates (see `parse_dates`); `weights` gives each cell's rows when `values` are distinct cells."""
    index = values.index
    text = _trimmed(values)
    filled = text.dropna()
    nat = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    no_placeholder = pd.Series(False, index=index)
    if filled.empty:
        return ParsedDates(nat, "", None, no_placeholder)
    if filled.str.match(r"^\d+(\.0+)?$").all():
        return _number_dates(pd.to_numeric(text, errors="coerce").astype("float64"))

    placeholder_text = text.str.match(r"^(9999|0001|0000)-|/9999|\.9999|^00[./-]00").fillna(False)
    iso = text.str.match(_ISO).fillna(False) & ~placeholder_text
    ymd = text.str.match(_YMD_SLASH).fillna(False) & ~iso
    parts = text.str.extract(_DMY)
    dmy = parts[0].notna() & ~iso & ~ymd
    other = text.notna() & ~iso & ~ymd & ~dmy & ~placeholder_text
    out = nat.copy()
    notes: list[str] = []
    if iso.any():
        iso_text = text[iso]
        zoned = iso_text.str.contains(_HAS_ZONE, regex=True).fillna(False)
        parsed = pd.to_datetime(
            iso_text.str.replace(r"\s*(UTC|GMT)$", "Z", regex=True), format="ISO8601", errors="coerce", utc=True
        )
        out[iso] = parsed.dt.tz_localize(None).to_numpy()
        if zoned.any():
            notes.append(
                f"{_weighted(zoned, None if weights is None else weights[iso.to_numpy(dtype=bool)]):,} times carried a time zone (e.g. '{iso_text[zoned].iloc[0]}'): converted to UTC."
            )
    if ymd.any():
        out[ymd] = pd.to_datetime(
            text[ymd].str.replace(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3", regex=True),
            format="ISO8601",
            errors="coerce",
        ).to_numpy()
    chosen: bool | None = None
    ambiguous = False
    if dmy.any():
        first = parts.loc[dmy, 0].astype(int)
        second = parts.loc[dmy, 2].astype(int)
        dmy_weights = None if weights is None else weights[dmy.to_numpy(dtype=bool)]
        only_day_first = _weighted(first > 12, dmy_weights)
        only_month_first = _weighted(second > 12, dmy_weights)
        n_dmy = len(first) if dmy_weights is None else int(dmy_weights.sum())
        dots = _weighted(parts.loc[dmy, 1] == ".", dmy_weights) / n_dmy > 0.5
        if day_first is not None:
            chosen = day_first
        elif only_day_first and only_month_first:
            chosen = only_day_first >= only_month_first
            notes.append(
                f"Dates disagree: {only_day_first:,} only fit day-first and {only_month_first:,} only "
                f"month-first; read {'day' if chosen else 'month'}-first, the others were not read."
            )
        elif only_day_first or only_month_first:
            chosen = bool(only_day_first)
        else:
            chosen = dots
            ambiguous = True
        day = first if chosen else second
        month = second if chosen else first
        year = parts.loc[dmy, 3].astype(int)
        two_digit = pd.Series(np.where(year < 69, 2000 + year, 1900 + year), index=year.index, dtype=int)
        year = year.where(parts.loc[dmy, 3].str.len() == 4, two_digit)
        time = parts.loc[dmy, 4].fillna("").str.strip()
        iso_like = (
            year.astype(str).str.zfill(4)
            + "-"
            + month.astype(str).str.zfill(2)
            + "-"
            + day.astype(str).str.zfill(2)
            + time.where(time == "", " " + time)
        )
        out[dmy] = pd.to_datetime(iso_like, format="mixed", errors="coerce").to_numpy()
        separators = pd.Series(np.ones(len(first)) if dmy_weights is None else dmy_weights, index=first.index)
        by_separator = separators.groupby(parts.loc[dmy, 1]).sum()
        sep = by_separator.index[by_separator.to_numpy() == by_separator.max()].min()  # the mode (ties: smallest)
        short = _weighted(parts.loc[dmy, 3].str.len() == 2, dmy_weights) / n_dmy > 0.5
        pattern = ("dd{0}mm{0}{1}" if chosen else "mm{0}dd{0}{1}").format(sep, "yy" if short else "yyyy")
        how = f"{'day' if chosen else 'month'}-first ({pattern})"
        if ambiguous:
            notes.append(
                f"Dates read {how}. Every such date fits both day-first and month-first, so this was a "
                "guess: switch it in the column mapping if it is wrong."
            )
        elif day_first is None:
            example_mask = (first > 12) if chosen else (second > 12)
            notes.append(f"Dates read {how}. Decided from the data (e.g. '{text[dmy][example_mask].iloc[0]}').")
        else:
            notes.append(f"Dates read {how}, as set in the column mapping.")
        if iso.any() or ymd.any():
            notes.append(f"The column mixes ISO dates and {pattern} dates; each was read in its own format.")
    if other.any():
        parsed_other = pd.to_datetime(text[other], format="mixed", dayfirst=bool(day_first), errors="coerce")
        readable = parsed_other.notna()
        if readable.any():
            if parsed_other.dt.tz is not None:
                parsed_other = parsed_other.dt.tz_convert("UTC").dt.tz_localize(None)
            out[other] = parsed_other.to_numpy()
            notes.append(
                f"{_weighted(readable, None if weights is None else weights[other.to_numpy(dtype=bool)]):,} dates in other formats (e.g. '{text[other][readable].iloc[0]}') were read one by one."
            )
    if iso.all() is False and not notes and (iso.any() or ymd.any()):
        pass
    out = out.astype("datetime64[ns]")
    placeholder = (out.dt.normalize().isin(_PLACEHOLDER_TIMESTAMPS) | placeholder_text).fillna(False)
    note = " ".join(notes) if notes else ("Dates read as ISO dates (yyyy-mm-dd)." if iso.any() else "")
    return ParsedDates(out.where(~placeholder), note, chosen, placeholder.astype(bool), ambiguous)


_TRUE = {
    "yes",
    "y",
    "true",
    "t",
    "1",
    "1.0",
    "churned",
    "churn",
    "left",
    "lost",
    "cancelled",
    "canceled",
    "inactive",
    "attrited",
    "attrited customer",
    "exited",
    "closed",
    "gone",
    "ja",
}
_FALSE = {
    "no",
    "n",
    "false",
    "f",
    "0",
    "0.0",
    "stayed",
    "active",
    "retained",
    "existing",
    "existing customer",
    "current",
    "open",
    "nein",
    "joined",
    "stay",
}


def parse_flags(values: pd.Series) -> pd.Series:
    """Read a yes/no column (Yes/No, 1/0, True/False, Churned/Stayed, ...) as a nullable boolean.

    Parameters
    ----------
    values : pd.Series
        One column as read.

    Returns
    -------
    pd.Series
        "boolean" dtype, NA where a cell is blank or not a yes/no word.
    """
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    text = values.astype(TEXT).str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False).to_numpy()] = True
    out[text.isin(_FALSE).fillna(False).to_numpy()] = False
    return out


def flag_share_readable(values: pd.Series) -> float:
    """Share of non-blank cells that read as a yes/no flag.

    Parameters
    ----------
    values : pd.Series
        One column as read.

    Returns
    -------
    float
        0..1 (0 for a column with no non-blank cell).
    """
    filled = ~is_blank(values)
    if not filled.any():
        return 0.0
    return float(parse_flags(values[filled]).notna().mean())


def numeric_share(values: pd.Series) -> float:
    """Share of non-blank cells that read as numbers.

    Parameters
    ----------
    values : pd.Series
        One column as read.

    Returns
    -------
    float
        0..1 (0 for a column with no non-blank cell).
    """
    filled = ~is_blank(values)
    if not filled.any():
        return 0.0
    return float(parse_numbers(values[filled]).values.notna().mean())


def date_share(values: pd.Series) -> float:
    """Share of non-blank cells that read as dates (plain numbers count only when shaped yyyymmdd).

    Parameters
    ----------
    values : pd.Series
        One column as read.

    Returns
    -------
    float
        0..1 (0 for a column with no non-blank cell).
    """
    filled = ~is_blank(values)
    if not filled.any():
        return 0.0
    sample = values[filled].head(2000)
    if pd.api.types.is_numeric_dtype(sample) and not sample.between(19000101, 21001231).all():
        return 0.0
    if not pd.api.types.is_numeric_dtype(sample):
        digits = sample.astype(TEXT).str.strip().str.match(r"^\d+(\.0+)?$").fillna(False)
        if digits.all() and not sample[digits].astype(TEXT).str.strip().str.match(r"^(19|20)\d{6}$").all():
            return 0.0  # plain numbers are dates only when a column is named or mapped as one
    parsed = parse_dates(sample)
    readable = parsed.values.notna()
    if parsed.placeholder is not None:
        readable |= parsed.placeholder.fillna(False)
    return float(readable.mean())


def to_text(values: pd.Series) -> pd.Series:
    """Trimmed strings (object dtype) with NaN for blank cells; whole-number floats lose '.0'.

    Parameters
    ----------
    values : pd.Series
        One column as read.

    Returns
    -------
    pd.Series
        Text cells aligned with `values`.
    """
    return by_distinct(values, _text_cells)


def _text_cells(values: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    text = values.astype(TEXT).str.strip()
    blank = _blank_cells(values).to_numpy()
    return pd.Series(
        np.where(blank, np.nan, text.to_numpy(dtype=object, na_value=np.nan)), index=values.index, dtype=object
    )
