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

A list that is a column-for-column copy of a cached result (the Lifetime value page's customers are
the cached analysis's `customers`) is not kept a second time: the button is given a function that
takes the rows from that cache when clicked (`csv_download` with a callable, run in this session by
`in_this_session`). At 300,000 customers the packed copy was 12.4 MiB of the session's cache, held
for as long as the session lasts; taking the rows from the analysis adds its unpacking (0.3-0.5 s)
to a click that writes 18 MiB of CSV.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from streamlit.runtime.fragment import MemoryFragmentStorage
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner_utils.script_run_context import (
    SCRIPT_RUN_CONTEXT_ATTR_NAME,
    ScriptRunContext,
    get_script_run_ctx,
)
from streamlit.runtime.state import SafeSessionState

from analytics.data.schema import CustomerData, DataError
from analytics.engine.packed import Packed
from analytics.reports.export import to_csv_bytes
from ui import state
from ui.cache import per_dataset

R = TypeVar("R")


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


@dataclass(frozen=True)
class TableHead:
    """A table a page shows in part and offers whole from rows it takes again when clicked: its first rows
    and its length (`TableDownload` without the packed rows, for a table that is a cheap function of a
    cached result: the click makes the rows from it, `csv_download` with a function).

    Attributes
    ----------
    head : pd.DataFrame
        The table's first rows (as many as the page draws).
    rows : int
        The table's length.
    """

    head: pd.DataFrame
    rows: int

    @classmethod
    def of(cls, table: pd.DataFrame, shown: int) -> TableHead:
        """`table`'s first `shown` rows (a copy) and its length."""
        return cls(table.head(shown).copy(), len(table))


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


def in_this_session(make: Callable[[], R]) -> Callable[[], R]:
    """`make`, callable from any thread as if from this page run: with this run's session (its
    session-scoped caches, `st.session_state`) while it runs.

    Streamlit runs a deferred download's function on a thread of its own, with no session: a function
    that reads a per-session cache (`ui.cache.per_dataset` on an upload) needs the session of the run
    that drew the button. The call fails (`DataError`; Streamlit then says the file could not be made)
    when the session's data changed since that run: its rows would be cached under the new data's key.
    The function holds the session's id and state, not the run's context (`_session_only`).
    """
    run_ctx = get_script_run_ctx(suppress_warning=True)
    ctx = None if run_ctx is None else _session_only(run_ctx)
    drawn_for = state.data_key() if ctx is not None else None

    def run() -> R:
        thread = threading.current_thread()
        before = getattr(thread, SCRIPT_RUN_CONTEXT_ATTR_NAME, None)
        if ctx is not None:
            setattr(thread, SCRIPT_RUN_CONTEXT_ATTR_NAME, ctx)
        try:
            if ctx is not None and state.data_key() != drawn_for:
                raise DataError("The data changed since this button was drawn: download the file from the page again.")
            return make()
        finally:
            setattr(thread, SCRIPT_RUN_CONTEXT_ATTR_NAME, before)

    return run


def _session_only(ctx: ScriptRunContext) -> ScriptRunContext:
    """A context for `ctx`'s session that refers to nothing of its run: its session id and state, and
    no way to send anything to the browser. The run's own context refers to its script runner and, through
    it, to what the run made (on the CDNOW sample, a button holding it kept 0.8 MB alive, six times its CSV)."""
    session = ctx.session_state
    state = SafeSessionState(session._state, _ignored)  # not the runner's yield callback ...
    object.__setattr__(state, "_lock", session._lock)  # ... but its lock: the page's run may touch the state meanwhile
    return ScriptRunContext(
        session_id=ctx.session_id,
        _enqueue=_ignored,
        query_string="",
        session_state=state,
        uploaded_file_mgr=ctx.uploaded_file_mgr,
        main_script_path=ctx.main_script_path,
        user_info={},
        fragment_storage=MemoryFragmentStorage(),
        pages_manager=PagesManager(ctx.main_script_path),
    )


def _ignored(*_args: object) -> None:
    """What a deferred download's function sends to the browser: nothing (Streamlit ignores it too)."""


def csv_download(
    label: str,
    table: pd.DataFrame | PackedFrame | Callable[[], pd.DataFrame],
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
    table : pd.DataFrame, PackedFrame or callable
        The rows to write (or to shape with `prepare`). Packed (`PackedFrame`) while the page is
        shown: the button holds no reference to it. Packing a million rows takes over a second, on
        every run: a list the page shows on every run should come packed from a cache
        (`table_download`, or e.g. `ui.actions.marked_export`), packed once per dataset and settings.
        Or a function that returns the rows when the button is clicked, reading this session's caches
        (`in_this_session`): for rows a cached result already holds (a module-level function, or a
        `functools.partial` of one, for the reason given under `prepare`).
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
    if callable(table):
        rows = in_this_session(table)
    else:
        rows = (table if isinstance(table, PackedFrame) else PackedFrame.of(table)).unpack

    def write() -> bytes:
        frame = rows()
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
