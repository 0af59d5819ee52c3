"""Data from a database or a server-side Parquet folder, through connections named in the secrets.

Whoever runs the server names each connection in `.streamlit/secrets.toml`; users pick it by its
name on the Data page and never see or type a credential:

    [connections.shop]                       # a DuckDB file
    url = "duckdb:////srv/data/shop.duckdb"

    [connections.warehouse]                  # PostgreSQL; the password stays out of the URL
    url = "postgresql://analyst@db.internal:5432/sales"
    password = "..."                         # or PGPASSWORD / ~/.pgpass on the server

    [connections.exports]                    # Parquet files above the upload limit
    folder = "/srv/exports"                  # each .parquet file, or sub-folder of them, is a table
    max_rows = 20000000                      # optional: the most purchase rows read into the app

The purchase table is first cleaned and counted inside the database (`analytics.engine.pushdown`:
the same rules as for a file, run as SQL; one row of counts per reason comes back), so a table
too big for the app is refused before a row is moved. Then its rows are read and cleaned as a
Parquet upload would be, so every page works on them. The session, the sidebar and a share link
hold the connection's NAME and the table names only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from analytics.data.columns import guess_mapping
from analytics.data.ingest import LoadedTable, build_dataset
from analytics.data.io import RawTable
from analytics.data.schema import CUSTOMER_ID, CUSTOMERS, TRANSACTIONS, CustomerData, DataError
from analytics.engine.pushdown import (
    Source,
    connect,
    count_table,
    list_tables,
    parquet_folder_source,
)

MAX_ROWS = 5_000_000  # purchase rows read into one session unless the connection says otherwise


@dataclass(frozen=True)
class Connection:
    """One connection from the secrets (its credentials never leave this object)."""

    name: str
    url: str | None = None
    folder: str | None = None
    password: str | None = None
    max_rows: int = MAX_ROWS

    @property
    def kind(self) -> str:
        """What it reads, in words."""
        if self.folder:
            return "Parquet folder on the server"
        return "PostgreSQL database" if (self.url or "").startswith("postgres") else "DuckDB file"

    def open(self) -> Source:
        """A live source (close it after use). Raises DataError in words."""
        if self.folder:
            return parquet_folder_source(self.folder)
        return connect(self.url or "", password=self.password)


def connections() -> dict[str, Connection]:
    """The connections named in `.streamlit/secrets.toml` ([connections.<name>] with url or folder)."""
    try:
        configured = st.secrets.get("connections", {})
    except (FileNotFoundError, KeyError):  # no secrets file at all
        return {}
    found = {}
    for name, entry in dict(configured).items():
        if isinstance(entry, Mapping) and (entry.get("url") or entry.get("folder")):
            found[str(name)] = Connection(
                name=str(name),
                url=entry.get("url"),
                folder=entry.get("folder"),
                password=entry.get("password"),
                max_rows=int(entry.get("max_rows", MAX_ROWS)),
            )
    return found


def connection(name: str) -> Connection:
    """The named connection (DataError when the secrets do not name it, e.g. on another server)."""
    found = connections().get(name)
    if found is None:
        raise DataError(
            f"No connection named '{name}' is configured on this server. Ask whoever runs it to add "
            f"[connections.{name}] to .streamlit/secrets.toml, or upload the data on the Data page."
        )
    return found


@st.cache_data(show_spinner=False, ttl=300, scope="session")
def tables_of(name: str) -> list[str]:
    """The tables a connection offers (cached for 5 minutes). Raises DataError in words."""
    source = connection(name).open()
    try:
        return list_tables(source)
    finally:
        source.close()


def _read(source: Source, table: str, kind: str, label: str) -> LoadedTable:
    frame = source.read_table(table)
    if frame.empty:
        raise DataError(f"The table {table} in {label} has no rows.")
    raw = RawTable(frame=frame, source=f"{label}: {table}", file_kind="parquet", notes=(f"Read from {label}.",))
    mapping = guess_mapping(frame, kind=kind)
    if CUSTOMER_ID not in mapping.roles:
        columns = ", ".join(f"'{c}'" for c in list(frame.columns)[:12])
        raise DataError(f"The table {table} has no customer id column. Columns found: {columns}.")
    return LoadedTable(raw=raw, mapping=mapping)


@st.cache_data(show_spinner=False, max_entries=2, scope="session")
def database_data(name: str, purchases: str | None, customers: str | None) -> CustomerData:
    """The dataset in a connection's tables, cleaned like an upload (keyed on the names only).

    The purchase table is counted inside the database first (push-down); above the connection's
    `max_rows` it is refused before any row is read into the app.
    """
    if not purchases and not customers:
        raise DataError("Pick a purchase table, a customers table, or both.")
    chosen = connection(name)
    offered = tables_of(name)
    for table in (purchases, customers):
        if table and table not in offered:
            raise DataError(f"The connection '{name}' has no table {table}. Its tables: {', '.join(offered[:20])}.")
    source = chosen.open()
    label = f"the connection '{name}' ({chosen.kind})"
    counted = ""
    tables = []
    try:
        if purchases:
            summary = count_table(source, purchases)
            if summary.rows_read > chosen.max_rows:
                raise DataError(
                    f"The table {purchases} has {summary.rows_read:,} rows, more than this server reads into the "
                    f"app ({chosen.max_rows:,}). The command line computes lifetime value on all of it in the "
                    f"database: python -m analytics report --db URL --table purchases={purchases}."
                )
            counted = (
                f" Counted inside the database first: {summary.rows_read:,} rows, {summary.rows_used:,} usable, "
                f"{summary.customers:,} customers."
            )
            tables.append(_read(source, purchases, TRANSACTIONS, label))
        if customers:
            tables.append(_read(source, customers, CUSTOMERS, label))
    finally:
        source.close()
    shown = " + ".join(t for t in (purchases, customers) if t)
    return build_dataset(
        tables,
        name=f"{name}: {shown}",
        description=f"Read from {label}; the server holds the credentials.{counted}",
    )
