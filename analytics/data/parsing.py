"""Parse the cells of a raw column into numbers, dates and booleans, reporting what failed.

Every parser returns values aligned with the input (NaN/NaT/NA where a cell could not be read) so
the caller can count and explain failures row by row; nothing is dropped here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

BLANKS = ["", "na", "n/a", "nan", "null", "none", "-", "--", "?", "#n/a"]
# Arrow-backed strings: strip/lower/replace/match run vectorised in C++ (10x+ faster on 1M rows).
TEXT = pd.StringDtype("pyarrow")

# A plain pattern string (not re.compile) so pandas hands it to Arrow's vectorised regex engine.
_CURRENCY = r"(?i)[€$£¥₹\s\x{00a0}']|EUR|USD|GBP|CHF"
_DECIMAL_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*,\d+$|^[+-]?\d+,\d+$")
_DECIMAL_POINT_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


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
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        text = values.astype(TEXT).str.strip().str.lower()
        return values.isna() | text.isin(BLANKS).fillna(True)
    return values.isna()


@dataclass(frozen=True)
class ParsedNumbers:
    """A column read as numbers.

    Attributes
    ----------
    values : pd.Series
        float64, NaN where a cell is blank or not a number.
    decimal_comma : bool
        True when the column writes decimals with a comma (12,50).
    """

    values: pd.Series  # float64, NaN where blank or unreadable
    decimal_comma: bool


def parse_numbers(values: pd.Series) -> ParsedNumbers:
    """Read numbers written as 12.50, 12,50, 1.234,50, 1,234.50, '$12', '(12.50)' (= -12.50).

    The decimal separator is decided per column: comma when the cells that contain a comma look
    like decimal-comma numbers and none look like comma-thousands.

    Parameters
    ----------
    values : pd.Series
        One column as read.

    Returns
    -------
    ParsedNumbers
        The numbers and the decimal separator decided.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return ParsedNumbers(values.astype("float64"), decimal_comma=False)
    text = values.astype(TEXT).str.strip()
    text = text.str.replace(_CURRENCY, "", regex=True)
    negative_parens = text.str.match(r"^\(.*\)$").fillna(False)
    text = text.str.strip("()")
    sample = text.dropna()
    sample = sample[sample.str.contains(",", regex=False)].head(2000)
    decimal_comma = bool(
        len(sample)
        and sample.str.match(_DECIMAL_COMMA).mean() > 0.9
        and not sample.str.match(_DECIMAL_POINT_THOUSANDS).any()
    )
    if decimal_comma:
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    numbers = numbers.where(~negative_parens, -numbers)
    return ParsedNumbers(numbers, decimal_comma=decimal_comma)


@dataclass(frozen=True)
class ParsedDates:
    """A column read as dates.

    Attributes
    ----------
    values : pd.Series
        datetime64[ns], NaT where a cell is blank or not a date.
    note : str
        The plain-word decision for the cleaning report ("" when there was nothing to decide).
    day_first : bool or None
        Whether the day came first in the format used (None when the cells were already dates or
        no format decided it).
    """

    values: pd.Series  # datetime64[ns], NaT where blank or unreadable
    note: str  # how the dates were read, in plain words ("" for native dates)
    day_first: bool | None  # None when the format has no day/month ambiguity


# Candidate formats, most specific first. (format, day_first flag or None, description)
_FORMATS: tuple[tuple[str, bool | None, str], ...] = (
    ("%Y-%m-%d", None, "ISO dates (yyyy-mm-dd)"),
    ("%Y-%m-%d %H:%M:%S", None, "ISO date-times"),
    ("%Y-%m-%dT%H:%M:%S", None, "ISO date-times"),
    ("%Y-%m-%d %H:%M", None, "ISO date-times"),
    ("%Y%m%d", None, "compact dates (yyyymmdd)"),
    ("%Y/%m/%d", None, "dates as yyyy/mm/dd"),
    ("%d/%m/%Y", True, "day-first dates (dd/mm/yyyy)"),
    ("%m/%d/%Y", False, "month-first dates (mm/dd/yyyy)"),
    ("%d/%m/%Y %H:%M", True, "day-first date-times (dd/mm/yyyy hh:mm)"),
    ("%m/%d/%Y %H:%M", False, "month-first date-times (mm/dd/yyyy hh:mm)"),
    ("%d.%m.%Y", True, "day-first dates (dd.mm.yyyy)"),
    ("%d.%m.%Y %H:%M", True, "day-first date-times (dd.mm.yyyy hh:mm)"),
    ("%d-%m-%Y", True, "day-first dates (dd-mm-yyyy)"),
    ("%m-%d-%Y", False, "month-first dates (mm-dd-yyyy)"),
    ("%d/%m/%y", True, "day-first dates (dd/mm/yy)"),
    ("%m/%d/%y", False, "month-first dates (mm/dd/yy)"),
)


def parse_dates(values: pd.Series, day_first: bool | None = None) -> ParsedDates:
    """Read dates, deciding day-first vs month-first from the data.

    A slash or dash date like 03/04/2024 is ambiguous; the column decides: a first field above 12
    somewhere means day-first, a second field above 12 means month-first. A column where every
    date is ambiguous is read day-first for dots (the European habit) and month-first otherwise,
    and the note says so, so the user can switch it (`day_first`).

    Parameters
    ----------
    values : pd.Series
        One column as read.
    day_first : bool, optional
        Force the order (None = decide from the data).

    Returns
    -------
    ParsedDates
        The dates, the note and the order used.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) is not None else values
        return ParsedDates(out.astype("datetime64[ns]"), "", None)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = values.astype("Int64").astype(TEXT)  # e.g. 19970101 stored as a number
    text = values.astype(TEXT).str.strip()
    sample = text[~is_blank(values)].head(5000)
    if sample.empty:
        return ParsedDates(pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]"), "", None)

    scored = []
    for fmt, fmt_day_first, description in _FORMATS:
        if day_first is not None and fmt_day_first is not None and fmt_day_first != day_first:
            continue
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        scored.append((parsed.notna().mean(), fmt, fmt_day_first, description))
    best_share = max(s[0] for s in scored)
    if best_share < 0.5:
        parsed_all = pd.to_datetime(text, format="mixed", dayfirst=bool(day_first), errors="coerce")
        note = "Dates were in mixed formats; each was read on its own" + (
            " (day-first where ambiguous)." if day_first else "."
        )
        return ParsedDates(parsed_all.astype("datetime64[ns]"), note, day_first)
    # Among formats that read (nearly) as many cells as the best, prefer the data's evidence.
    tied = [s for s in scored if s[0] >= best_share - 1e-9]
    chosen = tied[0]
    if len(tied) > 1 and day_first is None:
        dots = sample.str.contains(".", regex=False).mean() > 0.5
        chosen = next((s for s in tied if s[2] is dots), tied[0])
        ambiguous = True
    else:
        ambiguous = False
    _, fmt, fmt_day_first, description = chosen
    parsed_all = pd.to_datetime(text, format=fmt, errors="coerce").astype("datetime64[ns]")
    note = f"Dates read as {description}."
    if ambiguous and fmt_day_first is not None:
        note += (
            " Every date in the column fits both day-first and month-first, so this was a guess: "
            "switch it in the column mapping if it is wrong."
        )
    elif fmt_day_first is not None and day_first is None:
        note += " Decided from the data (some dates only fit this way)."
    return ParsedDates(parsed_all, note, fmt_day_first)


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
    return float(parse_dates(sample).values.notna().mean())


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
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    text = values.astype(TEXT).str.strip()
    blank = is_blank(values).to_numpy()
    return pd.Series(
        np.where(blank, np.nan, text.to_numpy(dtype=object, na_value=np.nan)), index=values.index, dtype=object
    )
