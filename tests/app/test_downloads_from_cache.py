"""Downloads whose rows a cached result already holds are taken from it when clicked, not cached twice.

The Lifetime value page's customers CSV is the cached analysis's `customers`, sorted: the session's
cache held those rows a second time, packed (12.4 MiB at 300,000 customers, for the whole session).
The Action list's files are the cached ranking filtered and renamed with the control group marked:
cached packed as well (6.9 MiB). The buttons now take the rows from the cached analysis or ranking on
click (`ui.downloads.csv_download` with a function, run in the session that drew it: Streamlit runs
it on a thread of its own); the Action list caches only who is control. The files must be byte for
byte the ones written before: the hashes below are those of the files main 7a0ac31 wrote (from its
packed copies) for a demo and for `seeded_log()` uploaded.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.runtime.caching import cache_data_api
from streamlit.runtime.media_file_manager import MediaFileManager

from analytics.data.schema import DataError
from tests.app import helpers
from ui import state

LV_PAGE, LV_FILE = "pages/lifetime_value.py", "customer_lifetime_value.csv"
AL_PAGE, AL_FILE = "pages/actions.py", "action_list.csv"
SEG_PAGE, SEG_FILE = "pages/segments.py", "rfm_scores.csv"
ANG_PAGE, ANG_FILE = "pages/angles.py", "flagged_by_every_angle.csv"
#: sha256 of each file as main 7a0ac31 wrote it from its packed copy: on a demo, on `seeded_log()` uploaded
CSV_SHA256 = {
    LV_FILE: (
        "1223b19809e5712679df54ce6cd5b85c3d1098b423d24d5fe8781a2b4a14a9c2",
        "5219d68e10f5eb1bf3fb3db747b0dafee987cfc1188994a57af65399995a748e",
    ),
    AL_FILE: (
        "477ef531442059541609bc5b14db595d31f91a755558c90f90106ce360f4836d",
        "f38113cdea7aa3274e49d83f738a64134cb272309b6fe6b33a9b639a8e589d46",
    ),
    SEG_FILE: (
        "5fcda35449bba7ea7d24f8e7588e4f03ef5435c86cc1fc6494529bca59e5abed",
        "4b795237be0286b674760f8e8804b40579c65da156cb775997d417da8b12192d",
    ),
    ANG_FILE: (
        "f79dd9e804e6097238e9a0257c64caa8aa665f9be8ffbe42b3e9300fa489e7e5",
        "3975571e3abb62f98967c209287ef1bc51230e5ee592b348c2339b0f31ef000a",
    ),
}


def sha256_of(file_name: str, source: str) -> str:
    """The sha256 main 7a0ac31's file had on this source ("demo" or "upload")."""
    return CSV_SHA256[file_name][source == "upload"]


def seeded_log() -> bytes:
    """300 customers' purchases over two years (seeded): enough for the lifetime-value models."""
    rng = np.random.default_rng(13)
    rows = []
    for i in range(300):
        first = int(rng.integers(0, 500))
        for _ in range(int(rng.integers(1, 12))):
            day = pd.Timestamp("2023-01-01") + pd.Timedelta(days=first + int(rng.integers(0, 730 - first)))
            rows.append((f"k{i:03d}", f"{day:%Y-%m-%d}", round(float(rng.uniform(5, 120)), 2)))
    return pd.DataFrame(rows, columns=["customer", "date", "amount"]).to_csv(index=False).encode()


def buttons(monkeypatch) -> dict[str, Callable[[], bytes]]:
    """file name -> the function each deferred download button would run when clicked."""
    on_click: dict[str, Callable[[], bytes]] = {}
    deferred = MediaFileManager.add_deferred

    def defer(self, make, mimetype, coordinates, file_name=None, **kwargs):
        on_click[str(file_name)] = make
        return deferred(self, make, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", defer)
    return on_click


def clicked(make: Callable[[], bytes]) -> bytes:
    """What a click fetches: Streamlit runs the function on a thread of its own, outside any session."""
    out: list[bytes | BaseException] = []

    def run() -> None:
        try:
            out.append(make())
        except BaseException as exc:  # handed to the test's thread
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


def cached_bytes() -> dict[str, int]:
    """Bytes each st.cache_data function holds now, by name (those that hold something)."""
    stats = cache_data_api.get_data_cache_stats_provider().get_stats()
    held: dict[str, int] = {}
    for family in stats.values():
        for stat in family:
            held[stat.cache_name] = held.get(stat.cache_name, 0) + stat.byte_length
    return {name: size for name, size in held.items() if size > 0}


def cached_functions() -> set[str]:
    """Names of the st.cache_data functions that hold something now."""
    return set(cached_bytes())


def open_lifetime_value(source: str) -> object:
    if source == "demo":
        return helpers.open_page(LV_PAGE, {"dataset": "cdnow_sample"}, check_errors=True)
    return helpers.open_page(LV_PAGE, session=helpers.upload_session("seeded.csv", seeded_log()), check_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("source", ["demo", "upload"])
def test_lifetime_value_csv_is_taken_from_the_cached_analysis_byte_for_byte(source, monkeypatch):
    on_click = buttons(monkeypatch)
    open_lifetime_value(source)
    content = clicked(on_click[LV_FILE])
    assert hashlib.sha256(content).hexdigest() == sha256_of(LV_FILE, source)
    held = cached_functions()
    scope = "global" if source == "demo" else "session"
    assert f"ui.models.clv_analysis__{scope}" in held, held
    assert not [name for name in held if name.startswith("ui.clv.customers_")], held  # no second copy of the rows


@pytest.mark.slow
def test_a_button_drawn_for_other_data_writes_nothing(monkeypatch):
    """A click after the session's data changed fails (Streamlit says the file could not be made) rather than
    caching the old data's analysis under the new data's key."""
    on_click = buttons(monkeypatch)
    at = open_lifetime_value("upload")
    assert clicked(on_click[LV_FILE]).count(b"\n") == 301  # header and 300 customers
    at.session_state[state.K_UPLOADS] = [state.UploadedBytes.of("other.csv", seeded_log() + b"k999,2024-12-30,10\n")]
    with pytest.raises(DataError, match="data changed"):
        clicked(on_click[LV_FILE])


@pytest.mark.slow
@pytest.mark.parametrize("source", ["demo", "upload"])
def test_action_list_csv_is_written_from_the_cached_ranking_byte_for_byte(source, monkeypatch):
    on_click = buttons(monkeypatch)
    if source == "demo":
        at = helpers.open_page(AL_PAGE, {"dataset": "subscription"}, check_errors=True)
    else:
        at = helpers.open_page(AL_PAGE, session=helpers.upload_session("seeded.csv", seeded_log()), check_errors=True)
    content = clicked(on_click[AL_FILE])
    assert hashlib.sha256(content).hexdigest() == sha256_of(AL_FILE, source)
    control = content.count(b",control,")
    assert control > 0 and any(f"{control:,} customers" in c.value for c in at.caption)  # the caption's count
    held = cached_bytes()
    scope = "global" if source == "demo" else "session"
    ranking, marked = held[f"ui.actions._ranking__{scope}"], held[f"ui.actions._marked_export__{scope}"]
    assert marked * 20 < ranking, (marked, ranking)  # who is control, not a second copy of the list


@pytest.mark.slow
@pytest.mark.parametrize("source", ["demo", "upload"])
def test_rfm_scores_csv_is_sorted_from_the_cached_rfm_table_byte_for_byte(source, monkeypatch):
    st.cache_data.clear()  # the sizes below are this test's entries only (review S6: earlier tests' counted too)
    on_click = buttons(monkeypatch)
    if source == "demo":
        helpers.open_page(SEG_PAGE, {"dataset": "cdnow_sample"}, check_errors=True)
    else:
        helpers.open_page(SEG_PAGE, session=helpers.upload_session("seeded.csv", seeded_log()), check_errors=True)
    content = clicked(on_click[SEG_FILE])
    assert hashlib.sha256(content).hexdigest() == sha256_of(SEG_FILE, source)
    held = cached_bytes()
    scope = "global" if source == "demo" else "session"
    table, scores = held[f"ui.segments.rfm__{scope}"], held[f"ui.segments.rfm_scores__{scope}"]
    if source == "demo":  # 2,357 customers, the first 1,000 drawn: the cache holds those (0.64 of the table before)
        assert scores < 0.5 * table, (scores, table)


@pytest.mark.slow
@pytest.mark.parametrize("source", ["demo", "upload"])
def test_flagged_customers_csv_is_taken_from_the_cached_angles_byte_for_byte(source, monkeypatch):
    st.cache_data.clear()
    on_click = buttons(monkeypatch)
    if source == "demo":
        helpers.open_page(ANG_PAGE, check_errors=True)
    else:
        helpers.open_page(ANG_PAGE, session=helpers.upload_session("seeded.csv", seeded_log()), check_errors=True)
    content = clicked(on_click[ANG_FILE])
    assert hashlib.sha256(content).hexdigest() == sha256_of(ANG_FILE, source)
    if (
        source == "demo"
    ):  # 661 customers flagged, the first 200 drawn: main 7a0ac31 cached 24,047 bytes (all packed too)
        assert cached_bytes()["ui.angles._flagged__global"] < 12_000


def test_a_click_touches_the_session_state_under_the_page_runs_lock():
    """Review S1: the click's context had a session-state wrapper with a lock of its own, so a first-time
    setdefault from the click could change the state while the page's run iterated it under the runner's."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext
    from streamlit.runtime.state import SafeSessionState, SessionState

    from ui import downloads

    page_state = SafeSessionState(SessionState(), lambda: None)
    ctx = ScriptRunContext(
        session_id="s",
        _enqueue=lambda *_: None,
        query_string="",
        session_state=page_state,
        uploaded_file_mgr=None,
        main_script_path="app.py",
        user_info={},
        fragment_storage=None,
        pages_manager=PagesManager("app.py"),
    )
    clicked_state = downloads._session_only(ctx).session_state
    assert clicked_state._lock is page_state._lock
    assert clicked_state._state is page_state._state
