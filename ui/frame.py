"""Page frame: header with a one-line purpose, the data guard, friendly errors, the closing advice."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator

import streamlit as st

from analytics.schema import CustomerData, DataError
from ui.cache import current_data


def header(title: str, purpose: str) -> None:
    """Title and the one sentence that says what the page is for."""
    st.title(title)
    st.markdown(purpose)


def require_data() -> CustomerData:
    """The current dataset, or a friendly message and a stop (never a traceback)."""
    try:
        return current_data()
    except DataError as exc:
        st.warning(str(exc))
        st.page_link("pages/data.py", label="Go to the Data page", icon=":material/upload_file:")
        st.stop()
        raise  # unreachable: st.stop() raises; keeps type checkers calm


@contextlib.contextmanager
def friendly_errors(what: str) -> Iterator[None]:
    """Show a DataError as a plain message, and any other failure as an apology, not a traceback."""
    try:
        yield
    except DataError as exc:
        st.info(f"{what}: {exc}")
    except Exception as exc:  # noqa: BLE001 - the user must never see a traceback
        if type(exc).__name__ in ("StopException", "RerunException"):
            raise
        st.error(
            f"{what} could not be computed on this data ({type(exc).__name__}). "
            "The rest of the page still works; please report this with your file's layout."
        )
        print(traceback.format_exc())  # for the server log


def next_step(text: str) -> None:
    """Close the page with what a manager can do about it."""
    st.divider()
    st.markdown(f"**What to do with this.** {text}")
