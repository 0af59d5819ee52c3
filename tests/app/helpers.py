"""Helpers for AppTest runs: open a page, read what it shows, run a small script on the shared caches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from streamlit.testing.v1 import AppTest

from ui import state

TIMEOUT = 300  # seconds: a first fit of every model on a busy 2-core machine


def open_page(
    page: str | None = None,
    query: dict | None = None,
    session: dict | None = None,
    check_errors: bool = False,
    **query_params: str,
) -> AppTest:
    """Run app.py straight on `page` (e.g. "pages/data.py"), without running Home first.

    `query` and `query_params` go into the URL, `session` is seeded into session state. The run
    must not raise; with `check_errors` it must not show an st.error either.
    """
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    at.query_params.update({**(query or {}), **query_params})
    for key, value in (session or {}).items():
        at.session_state[key] = value
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception
    if check_errors:
        assert not at.error
    return at


def upload_session(name: str, content: bytes) -> dict:
    """Session state of one uploaded file chosen as the dataset, as the Data page leaves it."""
    return {state.K_UPLOADS: [state.UploadedBytes.of(name, content)], state.K_SOURCE: state.UPLOAD}


def script_result(
    script: Callable[..., None], *args: Any, query: dict | None = None, session: dict | None = None
) -> Any:
    """Run `script(*args)` as its own small Streamlit script; return what it left in session_state["expected"].

    It runs in this process, so it reads the same caches the pages filled (a cache hit, no refit).
    """
    at = AppTest.from_function(script, default_timeout=TIMEOUT, args=args)
    at.query_params.update(query or {})
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    assert not at.exception
    return at.session_state["expected"]


def metrics(at: AppTest) -> dict[str, str]:
    """Metric label -> value."""
    return {m.label: m.value for m in at.metric}


def deltas(at: AppTest) -> dict[str, str]:
    """Metric label -> delta."""
    return {m.label: m.delta for m in at.metric}


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def click(at: AppTest, label: str) -> AppTest:
    """Click the button with this label and rerun."""
    return next(b for b in at.button if b.label == label).click().run()


def table(at: AppTest, column: str) -> pd.DataFrame:
    """The first st.dataframe on the page with this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)
