"""Helpers for AppTest runs: open a page, read what it shows, run a small script on the shared caches."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pandas as pd
from streamlit.testing.v1 import AppTest, local_script_runner

from analytics.data.ingest import build_dataset, read_and_guess
from analytics.data.schema import CustomerData
from tests.conftest import ROOT
from ui import state

CUSTOMERS_CSV = ROOT / "data" / "subscription_customers.csv"
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


def customers_only_upload() -> tuple[dict, CustomerData]:
    """Session state of an upload of data/subscription_customers.csv alone, and that dataset."""
    content = CUSTOMERS_CSV.read_bytes()
    return upload_session(CUSTOMERS_CSV.name, content), build_dataset(
        [read_and_guess(CUSTOMERS_CSV.name, content)], name="upload"
    )


def page_text(at: AppTest) -> str:
    """The page's markdown and captions, one per line."""
    return "\n".join(e.value for e in [*at.markdown, *at.caption])


def telco_customers() -> pd.DataFrame:
    """A customers-only table (no purchase log): 400 rows of the IBM Telco sample."""
    return pd.read_csv(ROOT / "tests" / "data" / "telco_churn_4930.csv").head(400)


def upload_then_open(page: str, name: str, content: bytes) -> AppTest:
    """Upload one file through the Data page's uploader, then open `page` on it."""
    at = open_page("pages/data.py")
    at.file_uploader[0].set_value((name, content, "text/csv")).run()
    return at.switch_page(page).run()


def fragment_only_run(at: AppTest) -> AppTest:
    """Rerun only the page's fragment, as the browser does on a slider move.

    AppTest always reruns the whole script, so this queues the fragments registered by the last
    run the way Streamlit's own RerunData does (private API, pinned Streamlit version).
    """
    fragment_ids = list(at._fragment_storage._fragments)
    assert len(fragment_ids) == 1  # the scenario panel
    original = local_script_runner.RerunData
    local_script_runner.RerunData = functools.partial(original, fragment_id_queue=fragment_ids)
    try:
        return at.run()
    finally:
        local_script_runner.RerunData = original
