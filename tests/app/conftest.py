"""AppTest setup, so that every AppTest behaves like a browser tab on a real server.

- Each test module starts with empty caches. Within a module they are kept: demo results are the
  same for every session, and anything built from an upload is cached per session.
- Every run goes through app.py: AppTest makes a new PagesManager per run, which sees the pages/
  folder and would fall back to the old pages-folder mode (the page file alone, without app.py:
  no sidebar, no sign-in gate, no restored settings). A server calls st.navigation once and stays
  in navigation mode; so do these tests.
- Each AppTest gets its own session id, as a server gives each tab: otherwise every instance is
  "test session id" and caches with scope="session" would be shared between two AppTests.
- A page waits for the model fits it starts in the background (see `pages_wait_for_their_fits`).
"""

import pytest
import streamlit as st
import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1.local_script_runner import LocalScriptRunner


@pytest.fixture(autouse=True, scope="module")
def clear_streamlit_caches():
    # ui.cache remembers which demo results are cached (a process-wide set); cleared with the
    # cache itself, else a later module's prefetch skips a result that is no longer there.
    from ui import cache

    st.cache_data.clear()
    cache._READY_DEMO.clear()
    yield
    st.cache_data.clear()
    cache._READY_DEMO.clear()


class RouterPagesManager(PagesManager):
    """A PagesManager that keeps st.navigation in charge on every run, as on a server."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


@pytest.fixture(autouse=True)
def app_py_runs_every_time(monkeypatch):
    monkeypatch.setattr(app_test_module, "PagesManager", RouterPagesManager)


@pytest.fixture(autouse=True)
def one_session_id_per_apptest(monkeypatch):
    original = LocalScriptRunner.__init__

    def init(self, script_path, session_state, *args, **kwargs):
        original(self, script_path, session_state, *args, **kwargs)
        self._session_id = f"apptest-{id(session_state)}"

    monkeypatch.setattr(LocalScriptRunner, "__init__", init)


@pytest.fixture(autouse=True, scope="session")
def pages_wait_for_their_fits():
    """A page waits for the background fits it starts (`ui.background.WAIT_S = None`).

    In a browser a page shows "still fitting" and a timed fragment reruns it when the fit is done;
    AppTest does not run timed fragments, so without this a test would see the waiting line.
    Session-wide, so module-scoped AppTest fixtures run with it too."""
    from ui import background

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(background, "WAIT_S", None)
        # nothing prefetched for pages a test does not open: it would still run in the next test
        patch.setattr(background, "PREFETCH", False)
        yield
