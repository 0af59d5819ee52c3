"""Helpers for AppTest runs."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

TIMEOUT = 300  # seconds: a first fit of every model on a busy 2-core machine


def open_page(page: str | None = None, **query_params: str) -> AppTest:
    """Run app.py straight on `page` (e.g. "pages/data.py"), without running Home first."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in query_params.items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    return at.run()
