"""CSV download buttons whose file is written when the button is clicked, not on every page run.

A download button given bytes makes Streamlit hold those bytes and serve them from its media
store; the page builds the CSV on every run even if nobody clicks. With a million customers one
list is tens of MB of CSV: measured on the 1M-customer log read through a connection, building the
CSVs and compressing them for the browser took about a third of a page's second visit (py-spy on
the server). Given a function instead (a deferred download, in the pinned Streamlit 1.67), Streamlit
calls it only when the button is clicked, so a page run costs nothing for a file nobody asks for.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from analytics.reports.export import to_csv_bytes


def csv_download(
    label: str,
    table: pd.DataFrame | Callable[[], pd.DataFrame],
    file_name: str,
    *,
    currency: str | None = None,
    key: str | None = None,
) -> None:
    """A download button for `table` as a spreadsheet-safe CSV, written only when clicked.

    Parameters
    ----------
    label : str
        The button's text (say how many rows the file holds).
    table : pd.DataFrame or callable returning one
        The rows to write; a function when shaping the table for export costs time too.
    file_name : str
        The downloaded file's name.
    currency : str, optional
        ISO 4217 code for the money columns' headers (see `analytics.reports.export.to_csv_bytes`).
    key : str, optional
        Widget key, for buttons with the same label on one page.
    """

    def write() -> bytes:
        frame = table() if callable(table) else table
        return to_csv_bytes(frame, currency=currency)

    st.download_button(
        label,
        write,
        file_name=file_name,
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key=key,
    )
