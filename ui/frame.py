"""Page frame: header with a one-line purpose, the data guard, friendly errors, the closing advice."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st
from streamlit.errors import StreamlitAPIException

from analytics.engine.heap import keep_heap_trimmed

if TYPE_CHECKING:
    from analytics.data.schema import CustomerData

# First paint: this module is all app.py and a page need before the page's title is on screen, so it
# imports only Streamlit. The frame's modules (the session's data source, its settings, the dataset
# picker) pull in pandas and the data layer, seconds on a fresh server under load: `header` loads
# and draws them right after the title (`_draw_frame`), and the other helpers import what they use.

# A fresh server serves a deep link like /whatif as an old-style `pages/` app (Streamlit
# discovers the folder until it has seen st.navigation), which would run the page without app.py:
# no dataset picker, no page config. app.py marks its run as framed for the script thread; a page
# that finds no frame hops through app.py, which forwards to it with its query params.
logger = logging.getLogger(__name__)
_FRAME = threading.local()
K_DEEP_LINK = "_deep_link"


K_FRAMED = "_framed_once"


#: A run longer than this (seconds) hands its freed scratch memory back (`release_memory`).
LONG_RUN_S = 1.0

#: Arrow's environment variable for its default allocator (mimalloc in the pyarrow wheels).
ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"


def use_system_allocator() -> None:
    """Arrow allocates from the C library's heap in the app's processes, unless the environment chose
    otherwise (`ARROW_DEFAULT_MEMORY_POOL`).

    pyarrow's default allocator (mimalloc) keeps what it frees per thread: Arrow reads a CSV on its
    own thread pool and Streamlit serialises tables on each session's script thread, and
    `release_unused` (`ui.background.release_heap`) returns only the calling thread's pages. glibc's
    heap is the one `malloc_trim` empties, for every thread. Reading and cleaning the 300,000-customer
    benchmark file and building its customer-day table, in one process: 330-337 MiB more resident
    with mimalloc, 186 with the system allocator; 172-176 vs 146 once both released; same CPU
    seconds (1.4-2.1 vs 1.5-2.0, three runs each). Set here, as app.py imports this module, before
    anything has allocated from Arrow; the worker process inherits the environment.
    """
    chosen = os.environ.setdefault(ARROW_POOL_ENV, "system")
    pa = sys.modules.get("pyarrow")
    if chosen == "system" and pa is not None and pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())  # already imported (tests): from now on


use_system_allocator()
keep_heap_trimmed()  # the server hands freed memory back as it goes (analytics.engine.heap)


def frame_started() -> None:
    """Called by app.py before it runs the page."""
    from ui import background

    _FRAME.active = True
    _FRAME.started = time.monotonic()
    background.run_started()  # a page waits for its fits until WAIT_S after this
    st.session_state[K_FRAMED] = True


def frame_finished() -> None:
    from ui import background

    _FRAME.active = False
    background.run_ended()
    forget_library_results()
    if time.monotonic() - getattr(_FRAME, "started", time.monotonic()) > LONG_RUN_S:
        release_memory()  # a run that fitted or aggregated something (a slider move stays cheap)
    from ui.cache import release_when_quiet

    release_when_quiet()  # and what any run left, once the session is quiet


def forget_library_results() -> None:
    """The library's one-entry memos drop what they kept for this session's dataset (`analytics.engine.memo`).

    A page that calls a library function directly (the Action list's and Home's `ranked_actions`
    reads the RFM table) fills a memo outside `ui.cache.per_dataset`; it would keep that table
    (27 MiB at 300,000 customers) beside the session cache's copy for as long as the data lives."""
    from analytics.engine.memo import forget_results_of
    from ui.cache import K_DATA_NOW

    kept = st.session_state.get(K_DATA_NOW)
    if kept is not None:
        forget_results_of(kept[1], kept[1].transactions)


def release_memory() -> None:
    """Free what the page's run left in reference cycles, then hand the C heap's freed pages back to the
    operating system after long work (a fit, a page's first run).

    Streamlit runs each page file in a fresh module whose functions refer back to its globals (a
    cycle), so everything the page kept in a top-level name (an unpickled lifetime-value or churn
    analysis, the Action list's table, each with its own copy of the customer ids) outlives the run
    until Python's rare full collection: about 300 MiB at rest in a 300k-customer session. A full
    collection here frees it (0.1-0.4 s, after runs that took over `LONG_RUN_S` anyway).
    glibc keeps the scratch a fit frees for reuse: after Home's fits on a 300k-customer upload the
    process held 889 MiB more than before the upload, 464 MiB once trimmed (`malloc_trim`); Arrow's
    allocator keeps the buffers of the tables a page showed (`ui.background.release_heap`).
    """
    from ui import background

    gc.collect()
    background.release_heap()


def forward_deep_link() -> None:
    """Called by app.py after st.navigation: finish a hop started by `_ensure_frame`."""
    target = st.session_state.pop(K_DEEP_LINK, None)
    if target:
        st.switch_page(target["page"], query_params=target["query_params"] or None)


def _ensure_frame(page_file: str) -> None:
    if getattr(_FRAME, "active", False):
        return
    root = Path(__file__).resolve().parent.parent
    page = Path(page_file).resolve().relative_to(root).as_posix()
    if not st.session_state.get(K_FRAMED):
        from ui.links import remember_first_url

        remember_first_url()
        # The session's first request: nothing was typed or uploaded yet, so hop through app.py.
        params = st.query_params.to_dict()
        st.session_state[K_DEEP_LINK] = {"page": page, "query_params": params}
        try:
            st.switch_page("app.py", query_params=params)  # ends this run: app.py forwards to `page`
        except StreamlitAPIException:  # widgets already bind URL params: draw the frame here
            st.session_state.pop(K_DEEP_LINK, None)
    # A rerun that Streamlit ran without app.py: a switch now would drop the widget values of this
    # run (an upload, a slider move), so the frame is drawn here too (by `header`, after the title).


def _draw_frame() -> None:
    """The frame every page shares, drawn right after the page's title and before any of its widgets.

    Records the session's first address (`ui.links`), chooses its data source (a share link, else a
    demo), keeps every page's settings for the session, and draws the sidebar's dataset picker.
    """
    from ui.links import remember_first_url
    from ui.share import start_session
    from ui.sidebar import dataset_picker
    from ui.state import keep_settings

    remember_first_url()
    start_session()
    keep_settings()
    dataset_picker()


def header(title: str, purpose: str) -> None:
    """Title and the one sentence that says what the page is for, then the frame (`_draw_frame`).

    The title goes on screen first: on a fresh server the frame's first import takes seconds."""
    _ensure_frame(sys._getframe(1).f_code.co_filename)
    st.title(title)
    st.markdown(purpose)
    _draw_frame()


def page_finished(notice) -> None:
    """Called by app.py after the page ran: name, in `notice`, what the session's first link asked for in vain."""
    from ui.links import report_ignored

    report_ignored(notice)


def require_data() -> CustomerData:
    """The current dataset, or a friendly message and a stop (never a traceback)."""
    from analytics.data.schema import DataError
    from ui.cache import current_data
    from ui.text import plain

    try:
        return current_data()
    except DataError as exc:
        st.warning(plain(exc))
        st.page_link("pages/data.py", label="Go to the Data page", icon=":material/upload_file:")
        st.stop()
        raise  # unreachable: st.stop() raises; keeps type checkers calm


@contextlib.contextmanager
def friendly_errors(what: str) -> Iterator[None]:
    """Show a DataError as a plain message, and any other failure as an apology, not a traceback."""
    from analytics.data.schema import DataError
    from ui.text import plain

    try:
        yield
    except DataError as exc:
        st.info(f"{what}: {plain(exc)}")
    except Exception as exc:
        if type(exc).__name__ in ("StopException", "RerunException"):
            raise
        st.error(
            f"{what} could not be computed on this data ({type(exc).__name__}). "
            "The rest of the page still works; please report this with your file's layout."
        )
        logger.error("%s could not be computed", what, exc_info=True)  # the traceback, for the server log


def next_step(text: str) -> None:
    """Close the page with what a manager can do about it."""
    st.divider()
    st.markdown(f"**What to do with this.** {text}")
