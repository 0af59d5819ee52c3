"""CSV download buttons whose file is written when the button is clicked, not on every page run.

A download button given bytes makes Streamlit hold those bytes and serve them from its media
store; the page builds the CSV on every run even if nobody clicks. With a million customers one
list is tens of MB of CSV: measured on the 1M-customer log read through a connection, building the
CSVs and compressing them for the browser took about a third of a page's second visit (py-spy on
the server). Given a function instead (a deferred download, in the pinned Streamlit 1.67), Streamlit
calls it only when the button is clicked, so a page run costs nothing for a file nobody asks for.

Streamlit keeps that function while the page is shown, and with it whatever the function holds.
Holding the export frame itself kept its Python text objects alive (2-3x the CSV's bytes), and a
function written in the page kept the page's whole namespace (every result the page unpickled from
the cache: 9x the CSV's bytes on CDNOW's Lifetime value). The button holds the rows as one
zstd-compressed pickle instead (`PackedFrame`: about a third of the CSV's bytes, 0.2 s to make at
300,000 rows, exact: the click unpickles the very frame), and the shaping for export runs on click.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from analytics.data.schema import CustomerData
from analytics.engine.packed import Packed
from analytics.reports.export import to_csv_bytes
from ui.cache import per_dataset


@dataclass(frozen=True)
class PackedFrame(Packed):
    """A frame kept as a compressed pickle until it is needed again (`analytics.engine.packed.Packed`).

    Attributes
    ----------
    data : bytes
        The compressed pickle (protocol 5).
    size : int
        Length of the pickle before compression (bytes).
    """

    def unpack(self) -> pd.DataFrame:
        """The frame packed, a new copy on each call."""
        frame: pd.DataFrame = super().unpack()
        return frame


@dataclass(frozen=True)
class TableDownload:
    """A table a page shows in part and offers whole: its first rows, its length and every row packed.

    Attributes
    ----------
    head : pd.DataFrame
        The table's first rows (as many as the page draws; none when it draws none).
    rows : int
        The table's length.
    packed : PackedFrame
        The whole table, for `csv_download`.
    """

    head: pd.DataFrame
    rows: int
    packed: PackedFrame

    @classmethod
    def of(cls, table: pd.DataFrame, shown: int = 0) -> TableDownload:
        """`table`'s first `shown` rows (a copy), its length, and the table packed."""
        return cls(table.head(shown).copy(), len(table), PackedFrame.of(table))


def table_download(
    *, shown: int = 0, max_entries: int = 2
) -> Callable[[Callable[..., pd.DataFrame]], Callable[..., TableDownload]]:
    """Cache a function's table as a `TableDownload` per dataset and arguments (`ui.cache.per_dataset`).

    Decorates a module-level `func(data, *args) -> pd.DataFrame` (settings as frozen dataclasses or
    other hashable values): the decorated function returns `TableDownload.of(func(data, *args), shown)`,
    made once per dataset and arguments. A page that built and packed a list on every run (a million
    rows: 1.2-1.4 CPU s per button per run, whether or not anyone clicked) unpickles its bytes instead.
    The cache holds the packed bytes (about a third of the CSV's): `max_entries` stays small.
    """

    def decorate(func: Callable[..., pd.DataFrame]) -> Callable[..., TableDownload]:
        @functools.wraps(func)  # per_dataset names its cache after func's module and name
        def packed(data: CustomerData, *args: Any) -> TableDownload:
            return TableDownload.of(func(data, *args), shown)

        return per_dataset(max_entries=max_entries)(packed)

    return decorate


def csv_download(
    label: str,
    table: pd.DataFrame | PackedFrame,
    file_name: str,
    *,
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    currency: str | None = None,
    key: str | None = None,
) -> None:
    """A download button for `table` as a spreadsheet-safe CSV, written only when clicked.

    Parameters
    ----------
    label : str
        The button's text (say how many rows the file holds).
    table : pd.DataFrame or PackedFrame
        The rows to write (or to shape with `prepare`). Packed (`PackedFrame`) while the page is
        shown: the button holds no reference to it. Packing a million rows takes over a second, on
        every run: a list the page shows on every run should come packed from a cache
        (`table_download`, or e.g. `ui.actions.marked_export`), packed once per dataset and settings.
    file_name : str
        The downloaded file's name.
    prepare : callable, optional
        Shapes the rows for export when the button is clicked (e.g. sorts them), so a page run does
        not pay for it. A module-level function: a function defined in a page script would keep the
        page's namespace alive as long as the button.
    currency : str, optional
        ISO 4217 code for the money columns' headers (see `analytics.reports.export.to_csv_bytes`).
    key : str, optional
        Widget key, for buttons with the same label on one page.
    """
    packed = table if isinstance(table, PackedFrame) else PackedFrame.of(table)

    def write() -> bytes:
        frame = packed.unpack()
        return to_csv_bytes(frame if prepare is None else prepare(frame), currency=currency)

    st.download_button(
        label,
        write,
        file_name=file_name,
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key=key,
    )
