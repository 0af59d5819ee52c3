"""Page frame: header with a one-line purpose, the data guard, friendly errors, the closing advice."""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from analytics.data.schema import CustomerData, DataError
from ui.cache import current_data
from ui.links import remember_first_url
from ui.share import start_session
from ui.sidebar import dataset_picker
from ui.state import keep_settings
from ui.text import plain

# A fresh server serves a deep link like /whatif as an old-style `pages/` app (Streamlit
# discovers the folder until it has seen st.navigation), which would run the page without app.py:
# no dataset picker, no page config. app.py marks its run as framed for the script thread; a page
# that finds no frame hops through app.py, which forwards to it with its query params.
logger = logging.getLogger(__name__)
_FRAME = threading.local()
K_DEEP_LINK = "_deep_link"


K_FRAMED = "_framed_once"


def frame_started() -> None:
    """Called by app.py before it runs the page."""
    _FRAME.active = True
    st.session_state[K_FRAMED] = True


def frame_finished() -> None:
    _FRAME.active = False


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
        remember_first_url()
        # The session's first request: nothing was typed or uploaded yet, so hop through app.py.
        params = st.query_params.to_dict()
        st.session_state[K_DEEP_LINK] = {"page": page, "query_params": params}
        try:
            st.switch_page("app.py", query_params=params)  # ends this run: app.py forwards to `page`
        except StreamlitAPIException:  # widgets already bind URL params: draw the frame here
            st.session_state.pop(K_DEEP_LINK, None)
    # A rerun that Streamlit ran without app.py: a switch now would drop the widget values of this
    # run (an upload, a slider move), so draw the frame here instead.
    start_session()
    keep_settings()
    dataset_picker()


def header(title: str, purpose: str) -> None:
    """Title and the one sentence that says what the page is for."""
    _ensure_frame(inspect.stack()[1].filename)
    st.title(title)
    st.markdown(purpose)


def require_data() -> CustomerData:
    """The current dataset, or a friendly message and a stop (never a traceback)."""
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
