"""Turn a raw table plus a column mapping into a clean canonical frame and an exclusion report.

This is the one choke point between a user's file and every model. Each row that is left out gets
exactly one reason (the first rule it breaks, in the order below), so that always
    rows read = rows used + rows excluded.

Transactions, in order: no customer id; placeholder date (1900-01-01, 9999-12-31, 1970-01-01);
date not readable; amount NaN or infinite; amount written in another number format than the
column; amount not a number; cancellation (invoice number "C" followed by digits); return or
refund (negative amount, also "12.50-" and "(12.50)"); date in the future; exact
duplicate of an earlier row when the file has an order id (or the user asked to drop them).
Without an order id an exact repeat is KEPT and counted as a possible duplicate: the same customer
buying the same amount twice on one day is common (the CDNOW log has 21 such orders) and cannot be
told from a copied row, so the user decides. Zero amounts are kept (a free order is still a purchase)
and noted.
Customers, in order: no customer id; exact duplicate row; repeated customer id (first row kept).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.data import schema as s
from analytics.data.codes import IdCodes, first_appearance_codes, remember_id_codes, text_order
from analytics.data.columns import ColumnMapping
from analytics.data.io import RawTable, release_arrow_memory
from analytics.data.parsing import (
    TEXT,
    Distinct,
    ParsedNumbers,
    distinct,
    flag_share_readable,
    is_arrow_text,
    is_blank,
    is_blank_text,
    numeric_share,
    parse_dates,
    parse_flags,
    parse_numbers,
    to_text,
)
from analytics.data.periods import DAYS_PER_MONTH

MAX_EXAMPLES = 5


class _Exclusions:
    """Collects reasons row by row; a row keeps the first reason it gets."""

    def __init__(self, n_rows: int, table: str) -> None:
        self.reason = np.full(n_rows, -1, dtype=np.int16)
        self.names: list[str] = []
        self.table = table

    def add(self, reason: str, mask: np.ndarray | pd.Series) -> None:
        if isinstance(mask, pd.Series) and mask.dtype == bool:
            mask = mask.to_numpy()
        elif isinstance(mask, pd.Series):  # nullable booleans: a missing answer is "no"
            mask = mask.astype("boolean").fillna(False).to_numpy(dtype=bool)
        mask = np.asarray(mask, dtype=bool) & (self.reason < 0)
        if mask.any():
            self.names.append(reason)
            self.reason[mask] = len(self.names) - 1

    @property
    def kept(self) -> np.ndarray:
        return self.reason < 0

    def report(self) -> tuple[s.Exclusion, ...]:
        out = []
        for code, name in enumerate(self.names):
            rows = np.flatnonzero(self.reason == code)
            # Row numbers as a spreadsheet shows them: the header is row 1.
            examples = tuple(int(r) + 2 for r in rows[:MAX_EXAMPLES])
            out.append(s.Exclusion(reason=name, rows=int(rows.size), table=self.table, examples=examples))
        return tuple(out)


DUPLICATE_REASON = "Exact duplicate of an earlier row"


def _exact_duplicates(
    frame: pd.DataFrame, ex: _Exclusions, candidates_by: Sequence[str] = (), among: np.ndarray | None = None
) -> np.ndarray:
    """The same raw row again (all of the user's columns equal), among rows not yet excluded.

    `candidates_by` names columns whose cells are already hashed (`distinct`): only rows that
    repeat on those columns can repeat on all, so the full comparison runs on those rows alone
    (the answer is the same; on a purchase log it is a small share of the rows). `among`, in
    ascending order, narrows the rows compared further when the caller knows that no other row
    not yet excluded can repeat an earlier one.
    """
    duplicate = np.zeros(len(frame), dtype=bool)
    rows = np.flatnonzero(ex.kept) if among is None else among[ex.kept[among]]
    key = _row_key([c for c in candidates_by if c in frame.columns], frame, rows)
    if key is not None:
        rows = rows[pd.Series(key).duplicated(keep=False).to_numpy()]
    if len(rows):
        cells = pd.DataFrame({i: _take_rows(frame.iloc[:, i], rows) for i in range(frame.shape[1])}, copy=False)
        duplicate[rows] = cells.duplicated(keep="first").to_numpy()
    return duplicate


def _take_rows(values: pd.Series, rows: np.ndarray) -> pd.Series:
    """`values.iloc[rows]` (ascending rows), taking an Arrow column chunk by chunk.

    A CSV column comes in hundreds of Arrow chunks, and Arrow's take on such a column first
    copies them into one array: for the few rows compared as possible duplicates, that copied
    every cell of every column (0.6 s at 10M rows). Here only the chunks holding those rows
    are read.
    """
    chunked = getattr(values.array, "_pa_array", None)
    if not isinstance(chunked, pa.ChunkedArray) or chunked.num_chunks <= 1:
        return values.iloc[rows].reset_index(drop=True)
    starts = np.cumsum([0] + [len(chunk) for chunk in chunked.chunks])
    cuts = np.searchsorted(rows, starts)  # rows[cuts[c]:cuts[c + 1]] lie in chunk c
    parts = [
        chunked.chunk(c).take(pa.array(rows[cuts[c] : cuts[c + 1]] - starts[c]))
        for c in range(chunked.num_chunks)
        if cuts[c + 1] > cuts[c]
    ]
    taken = pa.chunked_array(parts, type=chunked.type)
    return pd.Series(type(values.array)(taken), dtype=values.dtype)


def _row_key(columns: Sequence[str], frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray | None:
    """One int64 per row (of `rows`), equal where the rows' cells in `columns` are all equal."""
    key: np.ndarray | None = None
    size = 1
    for column in dict.fromkeys(columns):
        found = distinct(frame[column])
        if found is None:
            continue
        codes = found.codes[rows].astype(np.int64)
        width = len(found.counts)
        if key is None:
            key, size = codes, width
            continue
        if size * width >= 2**62:  # renumber the combinations seen so far to keep the key in int64
            key, uniques = pd.factorize(key)
            size = len(uniques)
        key, size = key * width + codes, size * width
    return key


def _date_then_id_order(day_time: np.ndarray, id_rank: np.ndarray, stamp_rank: np.ndarray | None = None) -> np.ndarray:
    """The stable order by timestamp, then id rank (`np.lexsort((id_rank, day_time))`) in one sort.

    A log holds few distinct timestamps, so they are ranked on their distinct values (one hash
    pass, or `stamp_rank` when the caller has each row's rank already) and combined with the id
    rank into one int64 key: one stable sort instead of two (5.0 -> 3.0 CPU s at 10M rows).
    When the rows come sorted by id already (an export grouped by customer), a stable sort by
    timestamp alone keeps them in id order within each timestamp: with fewer than 65,536
    distinct timestamps that is numpy's radix sort of 16-bit ranks, O(n) (2.4 -> 0.2 CPU s at
    10M rows).
    """
    if stamp_rank is None:
        codes, stamps = pd.factorize(day_time)
        ranks = np.empty(len(stamps), dtype=np.int64)
        ranks[np.argsort(stamps, kind="stable")] = np.arange(len(stamps))
        stamp_rank = ranks[codes]
    n_ranks = int(stamp_rank.max(initial=0)) + 1
    if n_ranks <= 1 << 16 and bool(np.all(id_rank[1:] >= id_rank[:-1])):
        return np.argsort(stamp_rank.astype(np.uint16), kind="stable")
    key = stamp_rank.astype(np.int64) * (int(id_rank.max(initial=0)) + 1) + id_rank
    return np.argsort(key, kind="stable")


def _kept_by_date_then_id(
    kept: np.ndarray, stamps: np.ndarray, id_rank: np.ndarray, stamp_rank: np.ndarray | None
) -> np.ndarray:
    """The rows still kept, sorted by timestamp then id rank (stable): `_date_then_id_order` on them.

    While no row is excluded (the usual case) the per-row arrays are sorted as they are, without
    copying the kept rows out of each first.
    """
    if kept.all():
        return _date_then_id_order(stamps, id_rank, stamp_rank)
    rows = np.flatnonzero(kept)
    order = _date_then_id_order(stamps[rows], id_rank[rows], None if stamp_rank is None else stamp_rank[rows])
    return rows[order]


def _stamp_ranks(stamps: np.ndarray, cells: Distinct | None) -> np.ndarray | None:
    """Per row, the rank of its timestamp among the column's timestamps (equal ones share a rank).

    Ranked on the date column's distinct cells (`cells`, each cell's timestamp scattered from its
    rows) instead of hashing every row's timestamp; None for a column of native dates.
    """
    if cells is None:
        return None
    per_cell = np.zeros(len(cells.counts), dtype=np.int64)
    per_cell[cells.codes] = stamps
    _, cell_rank = np.unique(per_cell, return_inverse=True)
    return cell_rank.astype(np.int64)[cells.codes]


def _same_stamp_and_id(order: np.ndarray, stamps: np.ndarray, id_codes: np.ndarray) -> np.ndarray:
    """The rows of `order` (sorted by timestamp then id) whose timestamp and id another row shares,
    in ascending row order."""
    stamp, who = stamps[order], id_codes[order]
    same = (stamp[1:] == stamp[:-1]) & (who[1:] == who[:-1])
    in_run = np.zeros(len(order), dtype=bool)
    in_run[1:] |= same
    in_run[:-1] |= same
    return np.sort(order[in_run])


def _exclude_exact_duplicates(frame: pd.DataFrame, ex: _Exclusions) -> None:
    ex.add(DUPLICATE_REASON, _exact_duplicates(frame, ex))


def possible_duplicates_note(count: int) -> str:
    """The note a purchase log gets when exact repeats were kept (one wording everywhere).

    Parameters
    ----------
    count : int
        Rows that repeat an earlier row exactly.

    Returns
    -------
    str
        The sentence for the cleaning report.
    """
    return (
        f"{count:,} rows repeat an earlier row exactly (same customer, date and amount) and the file has no "
        "order id to tell them apart: they were KEPT as separate purchases (possible duplicates). If they are "
        "copies, drop them in the column mapping on the Data page."
    )


def _require(mapping: ColumnMapping, roles: tuple[str, ...], raw: RawTable) -> None:
    missing = [r for r in roles if r not in mapping.roles and not (r == s.AMOUNT and mapping.unit_price)]
    if not missing:
        return
    what = {
        s.CUSTOMER_ID: "a customer id column (who bought: e.g. 'customer_id', 'CustomerID', 'client')",
        s.ORDER_DATE: "a purchase date column (e.g. 'order_date', 'InvoiceDate')",
        s.AMOUNT: "an amount column (what was paid: e.g. 'amount', 'TotalPrice', 'revenue')",
    }
    needs = "; ".join(what[r] for r in missing)
    columns = ", ".join(f"'{c}'" for c in list(raw.frame.columns)[:12])
    raise s.DataError(f"'{raw.source}' lacks {needs}. Columns found: {columns}. Pick them in the column mapping.")


def clean_transactions(
    raw: RawTable, mapping: ColumnMapping, today: pd.Timestamp | None = None
) -> tuple[pd.DataFrame, s.TableReport]:
    """Clean a purchase log.

    Parameters
    ----------
    raw : the file as read.
    mapping : roles for customer_id, order_date, amount (required) and optional roles.
    today : purchases after this day count as "date in the future" (default: the current date).

    Returns
    -------
    (frame, report): frame has the canonical transaction columns, amount in the file's currency;
    report.rows_read == report.rows_used + report.rows_excluded.
    """
    _require(mapping, s.TRANSACTION_REQUIRED, raw)
    frame = raw.frame
    roles = mapping.roles
    notes = list(raw.notes)
    today = (today or pd.Timestamp.now()).normalize()
    ex = _Exclusions(len(frame), s.TRANSACTIONS)

    ids = _customer_ids(frame[roles[s.CUSTOMER_ID]], roles[s.CUSTOMER_ID], notes)
    ex.add("No customer id", ids.codes < 0)

    dates = parse_dates(frame[roles[s.ORDER_DATE]], mapping.day_first)
    if dates.note:
        notes.append(f"'{roles[s.ORDER_DATE]}': {dates.note}")
    if dates.placeholder is not None:
        ex.add(PLACEHOLDER_REASON, dates.placeholder)
    ex.add("Date missing or not readable", dates.values.isna())

    currency = None
    if s.AMOUNT in roles:
        amounts = _amounts(frame[roles[s.AMOUNT]], roles[s.AMOUNT], notes, ex)
        amount, currency = amounts.values, amounts.currency
    else:  # _require let this through only with a quantity and a unit price
        unit_price = mapping.unit_price or ""
        quantity = _amounts(frame[roles[s.QUANTITY]], roles[s.QUANTITY], notes, ex).values
        prices = _amounts(frame[unit_price], unit_price, notes, ex)
        amount, currency = quantity * prices.values, prices.currency
        notes.append(f"Amount computed as '{roles[s.QUANTITY]}' x '{unit_price}'.")
    ex.add("Amount missing or not a number", amount.isna() | ~np.isfinite(amount.fillna(0)))

    order_text = None
    if s.ORDER_ID in roles:
        # Online Retail's convention: "C" + the invoice number marks a cancellation. Other ids that
        # merely start with a C ("CUST-0001", "CA-2024-17") are ordinary orders.
        order_cells = _integers_as_text(frame[roles[s.ORDER_ID]])
        order_text = _trimmed_text(order_cells)
        cancelled = _cancellations(order_text)
        ex.add("Cancellation (invoice number starts with C)", cancelled)
    ex.add("Return or refund (negative amount)", (amount < 0).to_numpy())
    zero = int(((amount == 0) & ex.kept).sum())
    if zero:
        notes.append(f"{zero:,} purchases with a zero amount were kept: they count as purchases and add no revenue.")
    ex.add(f"Date in the future (after {today:%Y-%m-%d})", (dates.values > today + pd.Timedelta(days=1)).to_numpy())

    # Exact duplicates: the same raw row again (all of the user's columns equal), after the rows
    # already excluded for another reason are set aside. Dropped when an order id says they are
    # the same order (or the user asked); otherwise kept and counted as possible duplicates.
    # The rows still kept, sorted by date then customer id (a stable sort: ties keep the file's
    # order). Rows that repeat each other share their date and id cells, so they sit next to each
    # other in this order: only runs of one timestamp and one id are compared in full (no hash of
    # every row; the rows an exclusion removes below are dropped from the order afterwards).
    release_arrow_memory()  # parsing scratch, before the output columns are built
    stamps = dates.values.to_numpy(dtype="datetime64[ns]").view(np.int64)
    by_date_then_id = _kept_by_date_then_id(
        ex.kept, stamps, ids.rank, _stamp_ranks(stamps, distinct(frame[roles[s.ORDER_DATE]]))
    )
    ids = replace(ids, rank=np.empty(0, dtype=np.int32))  # the ranks served the sort (38 MB at 10M rows)
    mapped = [roles[r] for r in (s.CUSTOMER_ID, s.ORDER_DATE, s.AMOUNT, s.QUANTITY) if r in roles]
    duplicates = _exact_duplicates(
        frame,
        ex,
        candidates_by=[*mapped, *([mapping.unit_price] if mapping.unit_price else [])],
        among=_same_stamp_and_id(by_date_then_id, stamps, ids.codes),
    )
    possible = 0
    if order_text is not None or mapping.drop_exact_duplicates:
        ex.add(DUPLICATE_REASON, duplicates)
    else:
        possible = int(duplicates.sum())
        if possible:
            notes.append(possible_duplicates_note(possible))

    order = by_date_then_id if ex.kept.all() else by_date_then_id[ex.kept[by_date_then_id]]
    # each kept row's customer as a code in order of first appearance, remembered for the
    # customer-day table and the customer count (no second hash of the ids as text)
    customer_codes, code_values = first_appearance_codes(ids.codes[order], len(ids.values))
    customers = ids.values[code_values]
    out = pd.DataFrame(
        {
            s.CUSTOMER_ID: customers[customer_codes],
            s.ORDER_DATE: stamps[order].view("datetime64[ns]"),
            s.AMOUNT: np.asarray(amount, dtype="float64")[order],
        },
        copy=False,  # the columns are new arrays already: not copied again into one block per dtype
    )
    if order_text is not None:
        out[s.ORDER_ID] = _order_ids(order_cells, order_text, order)
    if s.QUANTITY in roles:
        out[s.QUANTITY] = parse_numbers(frame[roles[s.QUANTITY]]).values.to_numpy()[order]
    for role in (s.PRODUCT, s.CHANNEL):
        if role in roles:
            out[role] = to_text(frame[roles[role]]).to_numpy(dtype=object)[order]
    columns = dict(roles) | ({"unit_price": mapping.unit_price} if mapping.unit_price else {})
    report = _report(raw, ex, len(out), columns, notes, possible_duplicates=possible, currency=currency)
    remember_id_codes(out, s.CUSTOMER_ID, IdCodes(customer_codes, pd.Index(customers, dtype=object)))
    return out, report


def clean_customers(
    raw: RawTable, mapping: ColumnMapping, observation_end: pd.Timestamp | None = None
) -> tuple[pd.DataFrame, s.TableReport]:
    """Clean a customers table: one row per customer, canonical roles parsed, other columns kept.

    Columns that are not mapped to a role keep their own name; a column whose cells are at least
    95% numbers becomes numeric (blanks stay empty and are counted in the notes).
    `tenure_months` is derived from signup and churn dates when the file has no tenure column.

    Parameters
    ----------
    raw : RawTable
        The file as read.
    mapping : ColumnMapping
        Which column plays which role.
    observation_end : pd.Timestamp, optional
        "Today" for customers still active (default: the latest date in the table).

    Returns
    -------
    tuple of (pd.DataFrame, TableReport)
        The clean table and what cleaning did with every row.

    Raises
    ------
    DataError
        When a required column is not mapped, the tenure unit is unknown, or no row is usable.
    """
    _require(mapping, (s.CUSTOMER_ID,), raw)
    frame = raw.frame
    roles = mapping.roles
    notes = list(raw.notes)
    ex = _Exclusions(len(frame), s.CUSTOMERS)

    ids = to_text(frame[roles[s.CUSTOMER_ID]])
    ids = _normalise_ids(ids, roles[s.CUSTOMER_ID], notes)
    ex.add("No customer id", ids.isna())
    _exclude_exact_duplicates(frame, ex)
    repeated = np.zeros(len(frame), dtype=bool)
    repeated[ex.kept] = ids[ex.kept].duplicated(keep="first").to_numpy()
    ex.add("Customer id repeated (the first row was kept)", repeated)

    out = pd.DataFrame({s.CUSTOMER_ID: ids})
    for role in (s.SIGNUP_DATE, s.CHURN_DATE):
        if role in roles:
            parsed = parse_dates(frame[roles[role]], mapping.day_first)
            out[role] = parsed.values
            unreadable = int((parsed.values.isna() & ~is_blank(frame[roles[role]])).sum())
            if parsed.note:
                notes.append(f"'{roles[role]}': {parsed.note}")
            stand_ins = int(parsed.placeholder.sum()) if parsed.placeholder is not None else 0
            if stand_ins:
                notes.append(
                    f"{stand_ins} placeholder dates in '{roles[role]}' (1900-01-01, 9999-12-31 and the like) were "
                    "treated as unknown."
                )
            if unreadable:
                notes.append(f"{unreadable} cells in '{roles[role]}' are not dates and were left empty.")
    if s.CHURNED in roles:
        flags = frame[roles[s.CHURNED]]
        if flag_share_readable(flags) >= 0.9:
            out[s.CHURNED] = parse_flags(flags)
        else:  # a date column mapped as the churn flag: churned when a date is present
            out[s.CHURNED] = pd.Series(~is_blank(flags).to_numpy(), dtype="boolean")
        unread = int((out[s.CHURNED].isna() & ~is_blank(flags)).sum())
        if unread:
            notes.append(f"{unread} values in '{roles[s.CHURNED]}' are not yes/no and were left empty.")
    elif s.CHURN_DATE in out:
        out[s.CHURNED] = out[s.CHURN_DATE].notna().astype("boolean")
        notes.append(f"Churned = has a date in '{roles[s.CHURN_DATE]}'.")
    for role in s.CUSTOMER_NUMERIC_ROLES:
        if role in roles:
            out[role] = _numeric_with_note(frame[roles[role]], roles[role], notes)
    tenure_unit, tenure_reason = None, ""
    if s.TENURE_MONTHS in roles:
        header = roles[s.TENURE_MONTHS]
        if mapping.tenure_unit:
            tenure_unit, tenure_reason = mapping.tenure_unit, "chosen in the column mapping"
        else:
            tenure_unit, tenure_reason = infer_tenure_unit(header, out[s.TENURE_MONTHS])
        if tenure_unit not in TENURE_UNITS:
            raise s.DataError(f"Tenure unit '{tenure_unit}' is not one of {', '.join(TENURE_UNITS)}.")
        if tenure_unit != "months":
            out[s.TENURE_MONTHS] = out[s.TENURE_MONTHS] * TENURE_UNITS[tenure_unit]
            notes.append(
                f"Tenure '{header}' read in {tenure_unit} ({tenure_reason}) and converted to months. "
                "If it is in months, change the tenure unit in the column mapping on the Data page."
            )
    for role in s.CUSTOMER_TEXT_ROLES:
        if role in roles:
            out[role] = to_text(frame[roles[role]])

    mapped = set(roles.values())
    for column in frame.columns:
        if column in mapped or column in out.columns:
            continue
        values = frame[column]
        if numeric_share(values) >= 0.95 and not pd.api.types.is_bool_dtype(values):
            out[column] = _numeric_with_note(values, column, notes)
        else:
            out[column] = to_text(values) if not pd.api.types.is_datetime64_any_dtype(values) else values

    if s.TENURE_MONTHS not in out and s.SIGNUP_DATE in out:
        end = observation_end
        if end is None:
            end = out[[c for c in (s.SIGNUP_DATE, s.CHURN_DATE) if c in out]].max().max()
        stop = out[s.CHURN_DATE].fillna(end) if s.CHURN_DATE in out else pd.Series(end, index=out.index)
        out[s.TENURE_MONTHS] = (stop - out[s.SIGNUP_DATE]).dt.days / DAYS_PER_MONTH
        notes.append(f"Tenure computed from signup to churn date (or {pd.Timestamp(end):%Y-%m-%d}), in months.")

    out = out.loc[ex.kept].reset_index(drop=True)
    report = _report(raw, ex, len(out), dict(roles), notes)
    return out, replace(report, tenure_unit=tenure_unit, tenure_unit_reason=tenure_reason)


TENURE_UNITS = {"months": 1.0, "years": 12.0, "days": 1.0 / DAYS_PER_MONTH}
#: A tenure column whose header names no unit and whose whole numbers stay within this many is read
#: in years: a customer base whose longest-serving customer joined under 15 months ago is far rarer
#: than a bank's 0-10 "Tenure" in years (a 10-month tenure read as 10 years would be as wrong, so the
#: choice is shown on the Data page and in the report, and can be changed in the column mapping).
MAX_YEARS_TENURE = 15


def infer_tenure_unit(header: str, values: pd.Series) -> tuple[str, str]:
    """The unit of a tenure column and a sentence saying why: from its header, else from its range.

    Parameters
    ----------
    header : str
        The column's header.
    values : pd.Series
        Its numbers.

    Returns
    -------
    tuple of (str, str)
        ('months', 'years' or 'days', the reason in plain words).
    """
    name = str(header).lower()
    if any(w in name for w in ("year", "yr", "jahr", "annee", "año")):
        return "years", f"the header '{header}' says years"
    if any(w in name for w in ("month", "mon", "mth", "monat", "mois", "mes")):
        return "months", f"the header '{header}' says months"
    if any(w in name for w in ("day", "tage", "jour")):
        return "days", f"the header '{header}' says days"
    known = values.dropna()
    if len(known) and (known >= 0).all() and (known == known.round()).all() and known.max() <= MAX_YEARS_TENURE:
        return "years", (
            f"the header '{header}' names no unit and its whole numbers run {known.min():.0f}-{known.max():.0f}, "
            "a range typical of years (a bank's tenure), not months"
        )
    return "months", f"the header '{header}' names no unit and its values run up to {known.max():,.0f}, read as months"


PLACEHOLDER_REASON = "Placeholder date (1900-01-01, 1970-01-01, 9999-12-31 and the like stand for 'unknown')"
NON_FINITE_REASON = "Amount is NaN or infinite"


@dataclass(frozen=True)
class _CustomerIds:
    """Customer ids of a raw column: distinct ids, and per row its id's code and rank.

    Attributes
    ----------
    values : np.ndarray
        The distinct ids as text (object array), normalised (`to_text`, `_normalise_ids`).
    codes : np.ndarray
        Per row, the position of its id in `values` (int32, or int64 past 2**31 ids; -1 where the row has no id).
    rank : np.ndarray
        Per row, its id's rank in Python's string order (same dtype; -1 where the row has no id).
    """

    values: np.ndarray
    codes: np.ndarray
    rank: np.ndarray


def _customer_ids(values: pd.Series, column: str, notes: list[str]) -> _CustomerIds:
    """Customer ids as text (`to_text` then `_normalise_ids`), as codes and ranks per row.

    Each distinct cell is read and ranked once; cells that read as the same id (' C1' and 'C1')
    share one code.
    """
    values = _integers_as_text(values)
    found = distinct(values)
    if found is None:
        codes, uniques, rank = _text_factors(_normalise_ids(to_text(values), column, notes))
        return _CustomerIds(values=uniques, codes=codes, rank=rank)
    text = to_text(found.values)
    per_value = _normalise_ids(text, column, notes)
    same = _factors_of_distinct_cells(found.values, per_value) if per_value is text else None
    codes, uniques, rank = same if same is not None else _text_factors(per_value)
    # per row as int32 (a code or rank below the number of rows): half the memory of int64
    small = np.int32 if len(uniques) < 2**31 - 1 else np.int64
    return _CustomerIds(values=uniques, codes=codes.astype(small)[found.codes], rank=rank.astype(small)[found.codes])


def _text_factors(ids: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes (-1 where missing), the distinct ids (object array) and each row's rank among them.

    The rank is the id's position in Python's string order (code points; UTF-8 bytes sort the
    same way); equal ids share a rank; missing ids rank -1.
    """
    codes, uniques = pd.factorize(ids.to_numpy(dtype=object))
    uniques = np.asarray(uniques, dtype=object)
    if not len(uniques):  # no id at all
        return codes.astype(np.int64), uniques, np.full(len(codes), -1, dtype=np.int64)
    positions = text_order(uniques)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[positions] = np.arange(len(uniques))
    return codes.astype(np.int64), uniques, np.where(codes < 0, -1, rank[np.maximum(codes, 0)])


def _factors_of_distinct_cells(cells: pd.Series, ids: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """`_text_factors(ids)` without hashing the ids again, when each id is its cell as written.

    `cells` are a column's distinct cells (`distinct`) and `ids` their ids (`to_text`, NaN where
    blank). When trimming changed no cell, the ids of the cells that are not blank are those
    distinct cells themselves: their codes are their positions among them, and their rank comes
    from sorting the Arrow cells (no Python string is hashed: 0.75 s at 2M customers). None when
    some cell was trimmed (' C1' and 'C1' are then one id): hash the ids instead.
    """
    known = ids.notna().to_numpy(dtype=bool)
    kept = cells.array._pa_array.filter(pa.array(known))
    if not pc.all(pc.equal(pc.utf8_trim_whitespace(kept), kept)).as_py() and len(kept):
        return None
    codes = np.where(known, np.cumsum(known) - 1, -1).astype(np.int64)
    uniques = ids.to_numpy(dtype=object)[known]
    if not len(uniques):  # no id at all
        return codes, uniques, codes.copy()
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[text_order(kept)] = np.arange(len(uniques))
    return codes, uniques, np.where(codes < 0, -1, rank[np.maximum(codes, 0)])


def _cancellations(order_text: pd.Series) -> np.ndarray:
    """Where an order id is "C" or "c" followed by digits only (Online Retail's cancellations).

    On Arrow text the pattern is matched only on the ids that start with a C (a prefix test in
    Arrow): most logs have none, and matching every id took 0.2-0.4 s at 4.8M purchases.
    """
    if not is_arrow_text(order_text):
        return order_text.str.match(_CANCELLATION).fillna(False).to_numpy(dtype=bool)
    cells = order_text.array._pa_array  # Arrow text (checked above)
    starts_with_c = pc.or_(pc.starts_with(cells, "C"), pc.starts_with(cells, "c"))
    candidates = np.flatnonzero(pc.fill_null(starts_with_c, False).to_numpy(zero_copy_only=False))
    cancelled = np.zeros(len(order_text), dtype=bool)
    if len(candidates):
        cancelled[candidates] = order_text.iloc[candidates].str.match(_CANCELLATION).fillna(False).to_numpy(dtype=bool)
    return cancelled


_CANCELLATION = r"^[Cc]\d+$"


def _integers_as_text(values: pd.Series) -> pd.Series:
    """An integer column (a database's or a Parquet file's ids) as Arrow text, in one Arrow cast.

    Each cell reads as `to_text` reads it ("123", "-17"), and the column then takes the Arrow path
    CSV cells take (each distinct cell read once, no Python string per row): at 4.8M purchases read
    from a Parquet folder, the order ids' text made one cell at a time took a third of cleaning.
    Any other column is returned as it is.
    """
    if not (isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu"):  # numpy integers: no missing cell
        return values
    text = pc.cast(pa.array(values.to_numpy()), pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(text), index=values.index, name=values.name)


def _trimmed_text(values: pd.Series) -> pd.Series:
    """`values.astype(TEXT).str.strip()`: the column itself when no cell has spaces to trim.

    Trimming only shortens cells, so when the trimmed cells hold as many bytes as the cells, none
    changed, and the column's own Arrow data is kept instead of a second copy of every cell
    (order ids: 150 MB at 10M rows, held until the cleaned frame is built).
    """
    text = values.astype(TEXT)
    trimmed = text.str.strip()
    if is_arrow_text(values) and _text_bytes(trimmed) == _text_bytes(text):
        return text
    return trimmed


def _text_bytes(text: pd.Series) -> int:
    """Bytes of UTF-8 in an Arrow text column's cells."""
    return int(pc.sum(pc.binary_length(text.array._pa_array)).as_py() or 0)


def _order_ids(values: pd.Series, trimmed: pd.Series, rows: np.ndarray) -> pd.arrays.ArrowStringArray:
    """The order ids of `rows` as `to_text` gives them, kept as Arrow text (NA where blank).

    `trimmed` is the column as stripped text. A text column is taken in Arrow for the rows kept
    only, without making a Python string per order (order ids rarely repeat, so hashing them
    first would gain nothing; at 10M rows Python strings would cost ~0.7 GB and seconds).
    """
    if not is_arrow_text(values):
        return pd.array(to_text(values).to_numpy(dtype=object)[rows], dtype=TEXT)
    # Arrow's take straight away: pandas' would convert and bounds-check the 10M positions first
    cells = pc.take(trimmed.array._pa_array, pa.array(rows))
    blank = is_blank_text(pd.Series(pd.arrays.ArrowStringArray(cells)), trimmed=True).to_numpy(dtype=bool)
    if blank.any():
        cells = pc.if_else(pa.array(blank), pa.scalar(None, type=cells.type), cells)
    return pd.arrays.ArrowStringArray(cells)


_FLOAT_WRITTEN_ID = re.compile(r"\d+\.0+")


def _normalise_ids(ids: pd.Series, column: str, notes: list[str]) -> pd.Series:
    """Identifiers stay text as written, trimmed; a whole column of "123.0" loses the ".0".

    A numeric export writes integer ids as "123.0"; when EVERY id in the column looks like that,
    the ".0" is an artefact and is removed (noted). Leading zeros are kept here: they are removed
    only when two tables disagree about them (see analytics.data.ingest), identically in both.
    """
    filled = ids.dropna()
    # cell by cell, stopping at the first id that does not end in ".0" (usually the first one)
    if len(filled) and all(_FLOAT_WRITTEN_ID.fullmatch(str(cell)) for cell in filled):
        notes.append(f"Ids in '{column}' were written as '{filled.iloc[0]}': the trailing '.0' was removed.")
        return ids.where(ids.isna(), ids.astype(str).str.replace(r"\.0+$", "", regex=True))
    return ids


def _amounts(values: pd.Series, column: str, notes: list[str], ex: _Exclusions) -> ParsedNumbers:
    """Parse a money or count column for a purchase log; refuse mixed currencies; count odd cells."""
    parsed = parse_numbers(values)
    if parsed.mixed_currencies:
        parts = ", ".join(
            f"{code} in {n:,} rows (e.g. '{parsed.currency_examples[code]}')" for code, n in parsed.currencies.items()
        )
        raise s.DataError(
            f"'{column}' mixes currencies: {parts}. Amounts in different currencies cannot be added up: "
            "convert them to one currency, or split the file by currency, and upload again."
        )
    if parsed.non_finite is not None:
        ex.add(NON_FINITE_REASON, parsed.non_finite.to_numpy(dtype=bool))
    if parsed.other_format is not None and parsed.other_format.any():
        example = values[parsed.other_format.to_numpy(dtype=bool)].iloc[0]
        style = "12,50 (decimal comma)" if parsed.decimal_comma else "12.50 (decimal point)"
        ex.add(
            f"'{column}' written in another number format than the column's {style}, e.g. '{example}'",
            parsed.other_format,
        )
    if parsed.evidence:
        notes.append(f"Numbers in '{column}': " + "; ".join(parsed.evidence) + ".")
    if parsed.currency:
        symbol = next(iter(parsed.currency_examples.values()), "")
        notes.append(
            f"Currency: {parsed.currency} (written in the cells, e.g. '{symbol}'); symbols and codes were removed."
        )
    return parsed


def _numeric_with_note(values: pd.Series, column: str, notes: list[str]) -> pd.Series:
    numbers = parse_numbers(values)
    if numbers.mixed_currencies:
        notes.append(
            f"'{column}' mixes currencies ({', '.join(numbers.currencies)}); it was left empty rather than "
            "adding up different currencies."
        )
        return pd.Series(np.nan, index=values.index, dtype="float64")
    parsed = numbers.values
    blank = int(is_blank(values).sum())
    unreadable = int((parsed.isna() & ~is_blank(values)).sum())
    if blank:
        notes.append(f"{blank} blank cells in '{column}' were left empty (not zero).")
    if unreadable:
        notes.append(f"{unreadable} cells in '{column}' are not numbers and were left empty.")
    return parsed


def _report(
    raw: RawTable,
    ex: _Exclusions,
    rows_used: int,
    columns: dict[str, str],
    notes: list[str],
    possible_duplicates: int = 0,
    currency: str | None = None,
) -> s.TableReport:
    """The table's report; checks rows read = used + excluded and refuses a table with no usable row."""
    report = s.TableReport(
        possible_duplicates=possible_duplicates,
        currency=currency,
        table=ex.table,
        source=raw.source,
        rows_read=len(raw.frame),
        rows_used=rows_used,
        excluded=ex.report(),
        columns=columns,
        notes=tuple(notes),
    )
    if report.rows_read != report.rows_used + report.rows_excluded:  # pragma: no cover - invariant
        raise AssertionError(f"row accounting broke for {report.source}")
    if report.rows_used == 0:
        raise s.DataError(_nothing_usable(report))
    return report


def _nothing_usable(report: s.TableReport) -> str:
    reasons = ", ".join(f"{e.rows:,} {e.reason.lower()}" for e in report.excluded)
    return (
        f"No usable rows in '{report.source}': all {report.rows_read:,} rows were excluded "
        f"({reasons}). Check the column mapping."
    )
