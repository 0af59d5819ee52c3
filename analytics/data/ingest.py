"""From files to a `CustomerData`: read, guess the column roles, clean, join.

    tables = [read_and_guess(name, content) for name, content in files]
    data = build_dataset(tables, name="my export")        # or with corrected mappings

A dataset takes at most one purchase log and one customers table; they are joined on
`customer_id` (customers without purchases and buyers without a customer row both stay).
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd

from analytics.data import schema as s
from analytics.data.cleaning import clean_customers, clean_transactions
from analytics.data.columns import ColumnMapping, guess_mapping
from analytics.data.io import RawTable, read_table, release_arrow_memory, release_heap_memory


@dataclass(frozen=True)
class LoadedTable:
    """A file as read, with the mapping that will be used to clean it.

    Attributes
    ----------
    raw : RawTable
        The file's cells under the user's own column names.
    mapping : ColumnMapping
        Its kind (purchase log or customers table) and which column plays which role.
    """

    raw: RawTable
    mapping: ColumnMapping


def read_and_guess(name: str, content: bytes, sheet: str | None = None) -> LoadedTable:
    """Read one file and guess its kind and column roles.

    Parameters
    ----------
    name : str
        The file name (shown in messages; its extension helps pick the format).
    content : bytes
        The file's bytes (CSV, Excel or Parquet).

    Returns
    -------
    LoadedTable
        The raw table and the guessed `ColumnMapping` (check or correct it before cleaning).

    Raises
    ------
    DataError
        For an unreadable file, or one with no column that says who the customer is.
    """
    raw = read_table(content, name, sheet=sheet)
    mapping = guess_mapping(raw.frame)
    if s.CUSTOMER_ID not in mapping.roles:
        columns = ", ".join(f"'{c}'" for c in list(raw.frame.columns)[:12])
        raise s.DataError(
            f"'{name}' has no customer id column. The app needs a column that says who the customer "
            f"is (e.g. 'customer_id', 'CustomerID', 'client', 'Kunde'). Columns found: {columns}."
        )
    return LoadedTable(raw=raw, mapping=mapping)


def build_dataset(
    tables: Sequence[LoadedTable],
    name: str,
    description: str = "",
    today: pd.Timestamp | None = None,
) -> s.CustomerData:
    """Clean each table with its mapping and join them into one `CustomerData`.

    Parameters
    ----------
    tables : sequence of LoadedTable
        At most one purchase log and one customers table.
    name : str
        The dataset's name, shown in the app and the report.
    description : str, optional
        A sentence about where the data comes from.
    today : pd.Timestamp, optional
        The day the data was exported; purchases dated after it are excluded as "date in the
        future" (default: the current date).

    Returns
    -------
    CustomerData
        Cleaned tables joined on `customer_id`, with one `TableReport` per table saying which rows
        were used and which were left out, and why.

    Raises
    ------
    DataError
        When two tables of the same kind are given (combine them first), none is, or a table has
        no usable rows.
    """
    by_kind: dict[str, LoadedTable] = {}
    for table in tables:
        kind = table.mapping.kind
        if kind in by_kind:
            label = "purchase logs" if kind == s.TRANSACTIONS else "customer tables"
            raise s.DataError(
                f"Two {label} were given ('{by_kind[kind].raw.source}' and '{table.raw.source}'). "
                "Combine them into one file, or change the table type of one in the column mapping."
            )
        by_kind[kind] = table
    if not by_kind:
        raise s.DataError("No file was given.")

    transactions = customers = None
    reports = []
    if s.TRANSACTIONS in by_kind:
        table = by_kind[s.TRANSACTIONS]
        transactions, report = clean_transactions(table.raw, table.mapping, today=today)
        reports.append(report)
    if s.CUSTOMERS in by_kind:
        table = by_kind[s.CUSTOMERS]
        end = transactions[s.ORDER_DATE].max().normalize() if transactions is not None else None
        customers, report = clean_customers(table.raw, table.mapping, observation_end=end)
        reports.append(report)
    warnings: list[str] = []
    if transactions is not None and customers is not None:
        transactions, customers, reports, warnings = join_ids(transactions, customers, reports)
    return s.CustomerData(
        name=name,
        transactions=transactions,
        customers=customers,
        reports=tuple(reports),
        description=description,
        warnings=tuple(warnings),
    )


def _without_zeros(ids: pd.Series) -> pd.Series:
    return ids.str.replace(r"^0+(?=\d)", "", regex=True)


def join_ids(
    transactions: pd.DataFrame, customers: pd.DataFrame, reports: list[s.TableReport]
) -> tuple[pd.DataFrame, pd.DataFrame, list[s.TableReport], list[str]]:
    """Match the two tables' customer ids and say how well they overlap.

    Ids are compared as text exactly as cleaned (trimmed; a column of "123.0" lost its ".0").
    Leading zeros are removed, in BOTH tables alike, only when the tables disagree about them:
    when removing them makes more ids match ("00042" in one file, 42 in the other). The decision
    is noted in both tables' reports. A warning always gives the overlap share.

    Parameters
    ----------
    transactions, customers : pd.DataFrame
        The two cleaned tables.
    reports : list of TableReport
        Their cleaning reports (notes are added).

    Returns
    -------
    tuple
        (transactions, customers, reports, warnings): the tables with matching ids, the updated
        reports and the overlap warnings.
    """
    buyers = pd.Index(transactions[s.CUSTOMER_ID].unique())
    listed = pd.Index(customers[s.CUSTOMER_ID].unique())
    matched = len(buyers.intersection(listed))
    stripped_buyers = pd.Index(_without_zeros(pd.Series(buyers, dtype=str)).unique())
    stripped_listed = pd.Index(_without_zeros(pd.Series(listed, dtype=str)).unique())
    stripped_matched = len(stripped_buyers.intersection(stripped_listed))
    # Not when it would merge two listed customers ('042' and '42' are then different people).
    if stripped_matched > matched and len(stripped_listed) == len(listed):
        transactions = transactions.assign(**{s.CUSTOMER_ID: _without_zeros(transactions[s.CUSTOMER_ID])})
        customers = customers.assign(**{s.CUSTOMER_ID: _without_zeros(customers[s.CUSTOMER_ID])})
        note = (
            f"Customer ids: the two tables disagree about leading zeros ({matched:,} ids matched as written, "
            f"{stripped_matched:,} without leading zeros), so leading zeros were removed in both tables "
            "('00042' = '42')."
        )
        reports = [replace(r, notes=(*r.notes, note)) for r in reports]
        buyers, listed, matched = stripped_buyers, stripped_listed, stripped_matched
    share_buyers = matched / len(buyers) if len(buyers) else 0.0
    share_listed = matched / len(listed) if len(listed) else 0.0
    warning = (
        f"Joined the purchase log and the customers table on customer id: {matched:,} of {len(buyers):,} "
        f"buyers ({share_buyers:.0%}) are in the customers table, and {matched:,} of {len(listed):,} "
        f"listed customers ({share_listed:.0%}) have purchases (overlap {share_buyers:.0%} / {share_listed:.0%})."
    )
    if min(share_buyers, share_listed) < 0.5:
        warning += (
            " The ids overlap little: check that both files use the same customer id (same column, same "
            "format), or the figures that combine the tables will be wrong."
        )
    return transactions, customers, reports, [warning]


def load_files(
    files: Sequence[tuple[str, bytes]],
    name: str | None = None,
    mappings: Sequence[ColumnMapping | None] | None = None,
    today: pd.Timestamp | None = None,
    sheet: str | None = None,
) -> s.CustomerData:
    """Read, guess and clean files in one call (the headless report's and a notebook's path).

    Parameters
    ----------
    files : sequence of (file name, bytes)
        A purchase log, a customers table, or one of each.
    name : str, optional
        The dataset's name (default: the file names joined with " + ").
    mappings : sequence of ColumnMapping or None, optional
        Overrides the guessed mapping of the file at the same position (None keeps the guess).
    today : pd.Timestamp, optional
        The export day; purchases dated after it are excluded (default: the current date).
    sheet : str, optional
        The Excel sheet to read in workbooks (default: the sheet holding the most data).

    Returns
    -------
    CustomerData
        The cleaned dataset; ``data.reports`` says what cleaning did with every row.

    Raises
    ------
    DataError
        With one sentence naming the cause and the fix, for files that cannot be used.
    """
    # read in a function of its own: no local name keeps a raw table (its Arrow cells, 0.8 GB at
    # 10M purchases) alive past `del tables`, when the freed memory is handed back
    tables = _read_files(files, mappings, sheet)
    label = name or " + ".join(file_name for file_name, _ in files)
    data = build_dataset(tables, name=label, today=today)
    del tables  # the raw cells
    release_read_memory()
    return data


def _read_files(
    files: Sequence[tuple[str, bytes]], mappings: Sequence[ColumnMapping | None] | None, sheet: str | None
) -> list[LoadedTable]:
    """Each file read with its guessed mapping, or the caller's mapping at the same position."""
    tables = []
    for i, (file_name, content) in enumerate(files):
        table = read_and_guess(file_name, content, sheet=sheet)
        chosen = mappings[i] if mappings and i < len(mappings) else None
        if chosen is not None:
            table = LoadedTable(raw=table.raw, mapping=chosen)
        tables.append(table)
    return tables


def release_read_memory() -> None:
    """Hand the memory of raw reads no longer referenced back to the operating system.

    Call it once the `LoadedTable`s a dataset was built from are dropped: pandas' column caches
    make reference cycles (collected first), then Arrow's and the C heap's freed pages are returned
    (at 10M purchases the raw cells and parsing scratch are over 1 GB).
    """
    gc.collect()
    release_arrow_memory()
    release_heap_memory()


def data_section(data: s.CustomerData) -> dict:
    """The headless report's `data` section (keys are a stable contract).

    Parameters
    ----------
    data : CustomerData
        A cleaned dataset.

    Returns
    -------
    dict
        ``name``, ``rows_read`` / ``rows_used`` / ``excluded`` added up over the tables (rows read =
        rows used + rows excluded), ``customers``, ``columns`` (table -> role -> the user's column),
        ``observation_end`` (ISO date) and ``tables`` with the per-file detail and notes.
    """
    rows_read = sum(r.rows_read for r in data.reports)
    rows_used = sum(r.rows_used for r in data.reports)
    excluded = [
        {"reason": e.reason, "rows": e.rows, "table": e.table, "examples": list(e.examples)}
        for r in data.reports
        for e in r.excluded
    ]
    columns = {r.table: dict(r.columns) for r in data.reports}
    end = data.observation_end_or_none
    revenue = round(float(data.transactions[s.AMOUNT].sum()), 2) if data.transactions is not None else None
    return {
        "name": data.name,
        "rows_read": rows_read,
        "rows_used": rows_used,
        "customers": data.n_customers,
        "excluded": excluded,
        "columns": columns,
        "observation_end": None if end is None else f"{end:%Y-%m-%d}",
        "revenue": revenue,
        "currency": data.currency,
        "warnings": list(data.warnings),
        "tables": [
            {
                "table": r.table,
                "source": r.source,
                "rows_read": r.rows_read,
                "rows_used": r.rows_used,
                "columns": r.columns,
                "notes": list(r.notes),
            }
            for r in data.reports
        ],
    }
