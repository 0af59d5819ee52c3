"""An upload's bytes live in a spill file on the server's disk, not in the session's memory.

The Data page writes each uploaded file to a private spill folder, keeps only its name, size,
sha256 and path in session state, and makes Streamlit's uploader forget its own copy; the column
mapping, the sheet picker and a rebuild after a cache miss read the bytes back from the file.
"""

from __future__ import annotations

import gc
import logging
import os
import stat
import types
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from analytics.data.schema import DataError
from tests.app.helpers import metrics, open_page
from tests.conftest import ROOT
from ui import cache, state

ROWS = 3000
LOG = (
    "customer,shop,date,amount\n"
    + "".join(f"C{i % 70:03d},S{i % 3},2024-03-{1 + i % 28:02d},{i % 90}.50\n" for i in range(ROWS))
).encode()
BOOK = (ROOT / "tests" / "data" / "corpus" / "files" / "xlsx_lookup_sheet_larger_than_data" / "book.xlsx").read_bytes()
SHEET_LABEL = "Sheet of book.xlsx that holds the data"


@pytest.fixture
def managers(monkeypatch) -> list:
    """Every uploaded-file store an AppTest run uses, with its session id."""
    seen: list = []
    original = LocalScriptRunner.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(self)

    monkeypatch.setattr(LocalScriptRunner, "__init__", init)
    return seen


def stored_sizes(runners: list) -> list[int]:
    """The sizes of the files Streamlit's stores still hold for the runs' sessions."""
    return [
        len(rec.data)
        for runner in runners
        for rec in runner._uploaded_file_mgr.file_storage.get(runner._session_id, {}).values()
    ]


SKIPPED = (
    str,
    int,
    float,
    type,
    types.ModuleType,
    types.FunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
)


def bytes_of_size(roots: list, size: int, limit: int = 500_000) -> list[str]:
    """Type names of the bytes-like objects of `size` reachable from `roots` (walked through gc's referents)."""
    found, seen, todo = [], set(), list(roots)
    while todo and len(seen) < limit:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (bytes, bytearray, memoryview)):
            if len(obj) == size:
                found.append(type(obj).__name__)
            continue
        if isinstance(obj, SKIPPED) or str(getattr(type(obj), "__module__", "")).startswith(("numpy", "pandas")):
            continue  # code and modules (they reach this test's own bytes), and the dataset's arrays
        todo.extend(gc.get_referents(obj))
    return found


def session_values(at) -> list:
    """The session's whole state: its values, widget values and their serialized forms."""
    return [at.session_state._state._state]


def upload(at, name: str, content: bytes, mime: str = "text/csv"):
    at.file_uploader[0].set_value((name, content, mime)).run()
    assert not at.exception
    return at


def test_an_upload_is_spilled_to_disk_and_neither_the_session_nor_streamlit_keeps_its_bytes(managers):
    at = upload(open_page("pages/data.py"), "log.csv", LOG)
    assert metrics(at)["Customers"] == "70"
    (kept,) = at.session_state[state.K_UPLOADS]
    assert (kept.name, kept.size, kept.in_memory) == ("log.csv", len(LOG), False)
    assert kept.path.read_bytes() == LOG and kept.content == LOG
    assert stat.S_IMODE(kept.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.path.parent.stat().st_mode) == 0o700
    assert bytes_of_size(session_values(at), len(LOG)) == []
    assert stored_sizes(managers) == []  # Streamlit's uploader forgot its copy
    assert at.file_uploader[0].value == []  # a fresh uploader, the file listed above it
    listed = "\n".join(m.value for m in at.markdown)
    assert f"**log.csv** · {len(LOG) / 1e3:,.1f} kB · {ROWS:,} rows read" in listed


def _customer_role(at):
    return next(s for s in at.selectbox if s.label == "Customer id")


def test_the_column_mapping_still_changes_the_analysis_and_a_cache_miss_rebuilds_from_the_spill_file(managers):
    at = upload(open_page("pages/data.py"), "log.csv", LOG)
    _customer_role(at).set_value("shop")
    next(b for b in at.button if b.label == "Apply this mapping").click().run()
    assert not at.exception and not at.error
    assert metrics(at)["Customers"] == "3"

    st.cache_data.clear()  # every cached read gone, and the session's live dataset too
    del at.session_state[cache.K_DATA_NOW]
    at.run()
    assert not at.exception and not at.error
    assert metrics(at)["Customers"] == "3" and metrics(at)["Rows read"] == f"{ROWS:,}"
    assert _customer_role(at).value == "shop"
    assert stored_sizes(managers) == []


def _picker(at):
    return next(s for s in at.selectbox if s.label == SHEET_LABEL)


def test_a_sheet_can_still_be_picked_after_the_workbook_was_spilled(managers):
    at = upload(open_page("pages/data.py"), "book.xlsx", BOOK, "application/octet-stream")
    assert _picker(at).options == ["Decide from the content", "Products", "Orders"]
    rows = metrics(at)["Rows read"]
    st.cache_data.clear()  # the sheet names and outline read again, from the spill file
    _picker(at).select("Products").run()
    assert not at.exception
    assert any("'book.xlsx' has no customer id column" in e.value for e in at.error)
    _picker(at).select("Orders").run()
    assert not at.exception and not at.error
    assert metrics(at)["Rows read"] == rows
    assert stored_sizes(managers) == [] and bytes_of_size(session_values(at), len(BOOK)) == []


def test_a_replaced_or_removed_upload_deletes_its_spill_file():
    at = upload(open_page("pages/data.py"), "log.csv", LOG)
    first = at.session_state[state.K_UPLOADS][0].path
    smaller = LOG[: LOG.index(b"\n", len(LOG) // 2) + 1]
    upload(at, "log.csv", smaller)  # the same name: replaces it
    (second,) = at.session_state[state.K_UPLOADS]
    assert second.size == len(smaller) and second.path != first
    assert not first.exists()
    assert metrics(at)["Rows read"] == f"{len(smaller.splitlines()) - 1:,}"

    upload(at, "other.csv", LOG)  # another name: added
    assert [f.name for f in at.session_state[state.K_UPLOADS]] == ["log.csv", "other.csv"]
    kept = at.session_state[state.K_UPLOADS][1].path
    removed, button = second.path, f"remove-{second.sha256[:12]}"
    del second  # this test's own reference
    next(b for b in at.button if b.key == button).click().run()
    assert not at.exception
    assert [f.name for f in at.session_state[state.K_UPLOADS]] == ["other.csv"]
    assert not removed.exists() and kept.exists()
    assert metrics(at)["Rows read"] == f"{ROWS:,}"


def test_two_uploads_of_the_same_bytes_have_their_own_files():
    one, two = state.UploadedBytes.of("a.csv", LOG), state.UploadedBytes.of("a.csv", LOG)
    assert one.sha256 == two.sha256 and one.path != two.path
    path = one.path
    del one
    assert not path.exists() and two.content == LOG


def test_a_spill_folder_left_by_an_ended_server_is_removed(tmp_path, monkeypatch):
    dead = 2**22 + 12345  # above the kernel's pid_max on this machine: no such process
    assert not Path(f"/proc/{dead}").exists()
    stale = tmp_path / f"keepwise-uploads-{dead}-abc"
    stale.mkdir()
    (stale / "old").write_bytes(b"x")
    alive = tmp_path / f"keepwise-uploads-{os.getppid()}-abc"
    alive.mkdir()
    monkeypatch.setattr(state, "SPILL_PARENT", str(tmp_path))
    made = state.UploadedBytes.of("a.csv", b"a,b\n")
    assert made.path.parent.parent == tmp_path
    assert not stale.exists() and alive.exists()


def test_without_a_writable_spill_folder_the_bytes_stay_in_memory_and_a_log_line_says_so(tmp_path, monkeypatch, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setattr(state, "SPILL_PARENT", str(blocked))
    with caplog.at_level(logging.WARNING, logger="ui.state"):
        at = upload(open_page("pages/data.py"), "log.csv", LOG)
    assert not at.error and metrics(at)["Customers"] == "70"
    (kept,) = at.session_state[state.K_UPLOADS]
    assert kept.in_memory and kept.path is None and kept.content == LOG
    assert any("uploads are kept in memory" in r.getMessage() for r in caplog.records)


def test_a_spill_file_that_is_gone_asks_for_the_file_again():
    at = upload(open_page("pages/data.py"), "log.csv", LOG)
    at.session_state[state.K_UPLOADS][0].path.unlink()  # a temp cleaner
    st.cache_data.clear()
    del at.session_state[cache.K_DATA_NOW]
    at.run()
    assert not at.exception
    assert any("upload it again on the Data page" in e.value for e in at.error)


def test_files_of_identical_bytes_are_used_once_and_the_page_says_so():
    """Review S3: two files with the same bytes were both kept, and their two mapping forms under one key
    crashed the page before its Remove buttons were drawn, on every rerun."""
    at = open_page("pages/data.py")
    at.file_uploader[0].set_value([("a.csv", LOG, "text/csv"), ("b.csv", LOG, "text/csv")]).run()
    assert not at.exception
    assert [f.name for f in at.session_state[state.K_UPLOADS]] == ["a.csv"]
    assert any("'b.csv' has the same content as 'a.csv': it is used once." in i.value for i in at.info)
    assert [b.label for b in at.button if b.label == "Remove"] == ["Remove"]
    assert metrics(at)["Customers"] == "70"


def test_the_remove_button_is_drawn_before_the_files_are_read(monkeypatch):
    """Review S3: a file whose mapping editor fails (any error, not only a DataError) can still be removed."""
    at = upload(open_page("pages/data.py"), "log.csv", LOG)

    def unreadable(*args, **kwargs):
        raise RuntimeError("unreadable")

    monkeypatch.setattr(cache, "read_upload", unreadable)
    at.run()
    assert at.exception  # the page fails on the file ...
    (remove,) = [b for b in at.button if b.label == "Remove"]  # ... and still offers to remove it
    remove.click().run()
    assert at.session_state[state.K_UPLOADS] == []
    assert not at.exception


def test_the_spill_files_of_a_session_that_ended_are_swept(tmp_path, monkeypatch):
    """Review S2: Streamlit drops a closed tab's session without a hook, and its files went only at Python's
    next full collection. A session seen without a connection for longer than the grace loses them."""
    monkeypatch.setattr(state, "SPILL_PARENT", str(tmp_path))
    monkeypatch.setattr(state, "_owners", {})
    monkeypatch.setattr(state, "_gone_since", {})
    kept, ended = state.UploadedBytes.of("a.csv", b"a,b\n1,2\n"), state.UploadedBytes.of("b.csv", b"a,b\n3,4\n")
    state._owned_by(kept.path, "live")
    state._owned_by(ended.path, "closed")

    def is_live(session_id: str) -> bool:
        return session_id == "live"

    assert state.sweep_ended_sessions(is_live, now=100.0, grace_s=60.0) == []  # first seen gone: may come back
    assert state.sweep_ended_sessions(is_live, now=150.0, grace_s=60.0) == []
    assert state.sweep_ended_sessions(is_live, now=160.0, grace_s=60.0) == [str(ended.path)]
    assert not ended.path.exists() and kept.path.exists()
    assert state._owners == {str(kept.path): "live"}
    with pytest.raises(DataError, match="upload it again"):
        _ = ended.content


def test_a_session_that_comes_back_within_the_grace_keeps_its_files(tmp_path, monkeypatch):
    monkeypatch.setattr(state, "SPILL_PARENT", str(tmp_path))
    monkeypatch.setattr(state, "_owners", {})
    monkeypatch.setattr(state, "_gone_since", {})
    file = state.UploadedBytes.of("a.csv", b"a,b\n1,2\n")
    state._owned_by(file.path, "s")
    assert state.sweep_ended_sessions(lambda _: False, now=0.0, grace_s=60.0) == []
    assert state.sweep_ended_sessions(lambda _: True, now=50.0, grace_s=60.0) == []  # reconnected (a reload)
    assert state.sweep_ended_sessions(lambda _: False, now=70.0, grace_s=60.0) == []  # gone again: a new grace
    assert file.path.exists()


def test_uploads_go_to_the_folder_named_by_keepwise_upload_dir(tmp_path, monkeypatch):
    """Review S4: where uploads are written is a server setting (a disk, not a tmpfs)."""
    monkeypatch.setattr(state, "SPILL_PARENT", None)
    monkeypatch.setattr(state, "_spill_dirs", {})
    monkeypatch.setenv(state.UPLOAD_DIR_ENV, str(tmp_path))
    made = state.UploadedBytes.of("a.csv", b"a,b\n1,2\n")
    assert made.path.parent.parent == tmp_path and made.path.read_bytes() == b"a,b\n1,2\n"
