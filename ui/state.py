"""Session-state keys and accessors: the bottom of ui's layers (state <- cache <- share <- sidebar <- frame).

The session's data source, uploads, column mappings, shared link and the settings that outlive a
page switch are read and written here. Page widgets spell their own keys (`wi_margin`, `clv_unit`
...), each starting with its page's prefix in `SETTINGS_PREFIXES`; this module keeps those values
across pages and puts them into share links. Getters only read: whatever must happen once per
session (opening a share link) is done by `ui.share.start_session`, called by the frame.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from analytics.data.columns import ColumnMapping
from analytics.data.datasets import DEFAULT_DEMO, DEMOS
from analytics.data.schema import DataError

UPLOAD = "upload"
K_SOURCE = "data_source"  # "demo:<key>" or "upload"
K_UPLOADS = "uploaded_files"  # list[UploadedBytes]
K_MAPPINGS = "column_mappings"  # dict[sha256 -> mapping dict] chosen by the user
K_SHEETS = "excel_sheets"  # dict[sha256 -> sheet name] chosen by the user (default: chosen by content)


# --- uploaded files, spilled to this server's disk ---------------------------------------------
_LOG = logging.getLogger(__name__)
#: Environment variable: the folder uploads are written to while their session lasts (default: the
#: system's temporary folder). Point it at a disk, not a tmpfs: on a tmpfs the files are memory again.
UPLOAD_DIR_ENV = "KEEPWISE_UPLOAD_DIR"
#: The folder this process's spill folder is made in (None: `UPLOAD_DIR_ENV`, else the system's temporary folder).
SPILL_PARENT: str | None = None
_SPILL_PREFIX = "keepwise-uploads-"
_spill_lock = threading.Lock()
_spill_dirs: dict[str, Path] = {}
#: Seconds between two looks for the spill files of sessions that ended (`sweep_ended_sessions`).
SWEEP_S = 30.0
_owners: dict[str, str] = {}  # spill file -> id of the session that uploaded it
_gone_since: dict[str, float] = {}  # session id -> when it was first seen without a live connection (monotonic s)
_sweeper: threading.Thread | None = None


def spill_dir() -> Path | None:
    """This process's private folder for uploaded files, or None when none can be made.

    It is ``<folder>/keepwise-uploads-<pid>-<random>`` (mode 0700; the folder is `KEEPWISE_UPLOAD_DIR`,
    else the system's temporary folder), made on first use; at that moment the folders left by earlier server
    processes that no longer run are removed, and the folder itself is removed when this process
    exits. Each file in it belongs to one `UploadedBytes` and is deleted with it.
    """
    parent = SPILL_PARENT or os.environ.get(UPLOAD_DIR_ENV) or tempfile.gettempdir()
    with _spill_lock:
        made = _spill_dirs.get(parent)
        if made is not None and made.is_dir():
            return made
        _remove_stale_spill_dirs(Path(parent))
        try:
            made = Path(tempfile.mkdtemp(prefix=f"{_SPILL_PREFIX}{os.getpid()}-", dir=parent))
        except OSError as exc:
            _LOG.warning("No folder for uploads in %s (%s): uploads are kept in memory", parent, exc)
            return None
        atexit.register(shutil.rmtree, made, True)
        _spill_dirs[parent] = made
        return made


def _remove_stale_spill_dirs(parent: Path) -> None:
    """Remove the spill folders of this user's server processes that have ended (a crash, a kill)."""
    try:
        found = list(parent.glob(f"{_SPILL_PREFIX}*"))
    except OSError:
        return
    for folder in found:
        pid = folder.name[len(_SPILL_PREFIX) :].split("-", 1)[0]
        with contextlib.suppress(OSError, ValueError):
            if int(pid) == os.getpid() or folder.stat().st_uid != os.getuid():
                continue
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                shutil.rmtree(folder, ignore_errors=True)


def _spill(sha256: str, content: bytes) -> Path | None:
    """`content` written to a new file (0600) in `spill_dir()`; None when it cannot be written."""
    folder = spill_dir()
    if folder is None:
        return None
    path = folder / f"{sha256}-{secrets.token_hex(8)}"  # one file per upload object: each is deleted on its own
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        _LOG.warning("Could not write an upload to %s (%s): it is kept in memory", folder, exc)
        return None
    return path


def _delete_spill(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
    with _spill_lock:
        _owners.pop(path, None)


def _owned_by(path: Path, session_id: str) -> None:
    """Remember that `session_id` uploaded the file at `path`; its files go once the session has ended."""
    global _sweeper
    with _spill_lock:
        _owners[str(path)] = session_id
        if _sweeper is None or not _sweeper.is_alive():
            _sweeper = threading.Thread(target=_sweep_forever, name="keepwise-upload-sweeper", daemon=True)
            _sweeper.start()


def _sweep_forever() -> None:
    while True:
        time.sleep(SWEEP_S)
        with contextlib.suppress(Exception):  # a look that fails is retried at the next one
            sweep_ended_sessions()


def _session_is_live(session_id: str) -> bool:
    """True while Streamlit has a connected session with this id (True outside a running server)."""
    from streamlit.runtime import Runtime

    return not Runtime.exists() or Runtime.instance().is_active_session(session_id)


def _grace_s() -> float:
    """Seconds a session may stay disconnected and still come back (Streamlit's `server.disconnectedSessionTTL`)."""
    try:
        ttl = float(st.get_option("server.disconnectedSessionTTL"))
    except (RuntimeError, TypeError, ValueError):
        ttl = 120.0
    return ttl + SWEEP_S


def sweep_ended_sessions(
    is_live: Callable[[str], bool] = _session_is_live, now: float | None = None, grace_s: float | None = None
) -> list[str]:
    """Delete the spill files of sessions that ended: returns the paths deleted.

    A session whose tab closed is kept by Streamlit for `server.disconnectedSessionTTL` seconds (a
    reload within that time resumes it), then dropped without any call the app could hook; its
    `UploadedBytes` would go only at Python's next full collection, which a quiet server may not make
    for hours. So a session seen without a connection for longer than that (plus one sweep) loses its
    files here. Called every `SWEEP_S` seconds by a daemon thread while any upload is on disk.
    """
    moment = time.monotonic() if now is None else now
    grace = _grace_s() if grace_s is None else grace_s
    with _spill_lock:
        owners = dict(_owners)
    ended = set()
    for session_id in set(owners.values()):
        if is_live(session_id):
            _gone_since.pop(session_id, None)
        elif moment - _gone_since.setdefault(session_id, moment) >= grace:
            ended.add(session_id)
    deleted = [path for path, owner in owners.items() if owner in ended]
    for path in deleted:
        _delete_spill(path)
    for session_id in ended:
        _gone_since.pop(session_id, None)
    if deleted:
        _LOG.info("removed %d uploaded files of %d ended sessions", len(deleted), len(ended))
    return deleted


class UploadedBytes:
    """A file the user uploaded, kept for this session only: its name, size, sha256 and where its bytes are.

    The bytes live in a spill file on this server's disk (`spill_dir()`, readable by this server's
    user only) and are read back when needed (`content`: the Data page's sheet picker and column
    mapping when their cache misses, the dataset's build). The file is deleted when this object
    goes (the session replaced or removed the upload), a few minutes after its session ended
    (`sweep_ended_sessions`), and at the latest when the server process exits. When no spill file can be written the bytes stay in memory (logged).
    """

    __slots__ = ("__weakref__", "_held", "file_id", "name", "path", "sha256", "size")

    def __init__(
        self,
        name: str,
        size: int,
        sha256: str,
        path: Path | None,
        held: bytes | None = None,
        file_id: str | None = None,
    ) -> None:
        self.name, self.size, self.sha256, self.path, self._held, self.file_id = name, size, sha256, path, held, file_id
        if path is not None:
            weakref.finalize(self, _delete_spill, str(path))

    @classmethod
    def of(cls, name: str, content: bytes, file_id: str | None = None) -> UploadedBytes:
        """`content` spilled to disk (kept in memory when it cannot be)."""
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        sha256 = hashlib.sha256(content).hexdigest()
        path = _spill(sha256, content)
        ctx = get_script_run_ctx(suppress_warning=True)
        if path is not None and ctx is not None:
            _owned_by(path, ctx.session_id)
        return cls(name, len(content), sha256, path, None if path is not None else content, file_id)

    @classmethod
    def from_widget(cls, file, release: bool = False) -> UploadedBytes:
        """A file from `st.file_uploader`, spilled to disk from the bytes Streamlit's upload store holds.

        The widget's value is a copy of the stored bytes (`file.getvalue()`); this reads the
        store's own bytes object instead (the copy where the store does not have the file). With
        `release`, the store then forgets the file: its uploader must not be shown again (give the
        next one a new key), as it would hold the store's record for the session.
        """
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        ctx = get_script_run_ctx()
        manager = ctx.uploaded_file_mgr if ctx is not None else None
        file_id = getattr(file, "file_id", None)
        stored = None
        if manager is not None and file_id:
            found = manager.get_files(session_id=ctx.session_id, file_ids=[file_id])
            stored = found[0].data if found and len(found[0].data) == file.size else None
        made = cls.of(file.name, stored if isinstance(stored, bytes) else file.getvalue(), file_id=file_id)
        remove = getattr(manager, "remove_file", None)  # Streamlit's in-memory store has it
        if release and remove is not None and file_id:
            remove(session_id=ctx.session_id, file_id=file_id)
        return made

    @property
    def in_memory(self) -> bool:
        """True when the bytes are held in memory (no spill file could be written)."""
        return self._held is not None

    @property
    def content(self) -> bytes:
        """The file's bytes (read from the spill file). Raises DataError when that file is gone."""
        if self._held is not None:
            return self._held
        try:
            return Path(str(self.path)).read_bytes()
        except OSError as exc:
            raise DataError(
                f"This server no longer has the copy of '{self.name}' it kept for this session "
                "(temporary files were cleaned up): upload it again on the Data page."
            ) from exc

    def __repr__(self) -> str:
        where = "memory" if self.in_memory else str(self.path)
        return f"UploadedBytes(name={self.name!r}, size={self.size}, sha256={self.sha256[:12]}…, at {where})"


def demo_from_url() -> str | None:
    """The demo named in `?dataset=...`, if it is one we have."""
    key = st.query_params.get("dataset")
    return key if key in DEMOS else None


def source() -> str:
    """'demo:<key>', 'upload' or 'share:<id>': the data every page analyses (reads only).

    Before the session's source is chosen (`ui.share.start_session`, called by the frame on every
    run) it is the URL's demo, else the default demo.
    """
    return st.session_state.get(K_SOURCE) or f"demo:{demo_from_url() or DEFAULT_DEMO}"


def source_chosen() -> bool:
    """True once this session's data source has been set."""
    return K_SOURCE in st.session_state


def set_source(value: str) -> None:
    st.session_state[K_SOURCE] = value
    if value.startswith("demo:"):
        st.query_params["dataset"] = value.split(":", 1)[1]
    elif "dataset" in st.query_params:
        del st.query_params["dataset"]
    if value.startswith(SHARE_PREFIX):  # the URL names a shared link only while its data is shown
        st.query_params[SHARE_PARAM] = value[len(SHARE_PREFIX) :]
    elif SHARE_PARAM in st.query_params:
        del st.query_params[SHARE_PARAM]


def uploads() -> list[UploadedBytes]:
    return st.session_state.get(K_UPLOADS, [])


def add_uploads(files: list[UploadedBytes]) -> list[tuple[str, str]]:
    """Use `files` too: each replaces the file in use with the same name (or the same bytes).

    Files of identical bytes are used once (the first): returns (name left out, name used) for each
    left out. The mappings and sheets chosen for the files kept stay; a replaced file's spill file
    is deleted with its `UploadedBytes`."""
    first: dict[str, UploadedBytes] = {}
    left_out = []
    for file in files:
        if file.sha256 in first:
            left_out.append((file.name, first[file.sha256].name))
        else:
            first[file.sha256] = file
    incoming = list(first.values())
    names, digests = {f.name for f in incoming}, set(first)
    _keep([f for f in uploads() if f.name not in names and f.sha256 not in digests] + incoming)
    return left_out


def remove_upload(sha256: str) -> None:
    """Stop using the uploaded file with this sha256 (its spill file is deleted with it)."""
    _keep([f for f in uploads() if f.sha256 != sha256])


def _keep(files: list[UploadedBytes]) -> None:
    digests = {f.sha256 for f in files}
    # deleted first: a plain assignment leaves the previous value in the state of the last run until the
    # browser's next interaction (st.rerun does not move it on), and with it the replaced files
    st.session_state.pop(K_UPLOADS, None)
    st.session_state[K_UPLOADS] = files
    st.session_state[K_MAPPINGS] = {k: v for k, v in mappings().items() if k in digests}
    st.session_state[K_SHEETS] = {k: v for k, v in sheets().items() if k in digests}


def mappings() -> dict[str, dict]:
    return st.session_state.setdefault(K_MAPPINGS, {})


def set_mapping(sha256: str, mapping: ColumnMapping) -> None:
    mappings()[sha256] = mapping.to_dict()


def sheets() -> dict[str, str]:
    """Workbook sha256 -> the sheet the user picked (absent: the sheet chosen by content)."""
    return st.session_state.setdefault(K_SHEETS, {})


def set_sheet(sha256: str, sheet: str | None) -> None:
    """Read this workbook's `sheet` (None: let the content decide); its column mapping is guessed anew."""
    if sheet is None:
        sheets().pop(sha256, None)
    else:
        sheets()[sha256] = sheet
    mappings().pop(sha256, None)


def data_key() -> str:
    """A key that changes whenever the data the pages see changes (source, files or mapping).

    Demo keys start with 'demo:'; upload keys with 'upload:' and carry the files' sha256, so a
    cache keyed on it can never hand one user's upload to another; a shared link's key is
    'share:<id>' (cached per session too, like an upload).
    """
    current = source()
    if current.startswith(("demo:", SHARE_PREFIX)):  # a shared link's data never changes under its id
        return current
    if current.startswith(DB_PREFIX):  # a connection's tables, named (the database holds the data)
        return DB_PREFIX + json.dumps(database(), sort_keys=True)
    files = uploads()
    mapping_part = json.dumps(
        {f.sha256: [mappings().get(f.sha256), sheets().get(f.sha256)] for f in files}, sort_keys=True
    )
    digest = hashlib.sha256(("|".join(f.sha256 for f in files) + mapping_part).encode()).hexdigest()
    return f"upload:{digest}"


# --- settings that outlive a page switch --------------------------------------------------------
# Streamlit clears query params on page navigation and forgets a widget's value once its page is
# not shown. Result-changing widgets therefore use keys starting with their page's prefix; app.py
# calls keep_settings() on every run so those values persist for the whole session (other pages
# read them with setting()), and a share snapshot carries them (settings_snapshot()).
SETTINGS_PREFIXES = ("wi_", "clv_", "ch_", "kpi_", "coh_", "seg_", "act_", "kind_", "camp_", "cur_")


def _is_setting(key: str) -> bool:
    return isinstance(key, str) and key.startswith(SETTINGS_PREFIXES)


def keep_settings() -> None:
    """Re-assign every setting to itself so Streamlit keeps it when its widget is not on the page."""
    for key in list(st.session_state.keys()):
        if _is_setting(key):
            st.session_state[key] = st.session_state[key]


def setting(key: str, default):
    """A setting chosen on any page in this session (its default when never touched)."""
    return st.session_state.get(key, default)


def settings_snapshot() -> dict:
    """Every JSON-ready setting of this session, for a share link."""
    snapshot = {}
    for key in st.session_state.keys():
        value = st.session_state[key]
        if _is_setting(key) and isinstance(value, (str, int, float, bool, list, type(None))):
            snapshot[key] = value
    return snapshot


def restore_settings(snapshot: dict) -> None:
    """Put a share's settings back into this session (unknown keys are ignored)."""
    for key, value in snapshot.items():
        if _is_setting(key):
            st.session_state[key] = value


# --- a database connection or server-side Parquet folder (ui/connections.py) --------------------
DB_PREFIX = "db:"  # source() of a session reading tables through a connection named in the secrets
K_DATABASE = "database_tables"  # {"connection": name, "purchases": table or None, "customers": table or None}


def database() -> dict | None:
    """The connection and tables this session reads (None before one was chosen on the Data page)."""
    return st.session_state.get(K_DATABASE)


def set_database(connection: str, purchases: str | None, customers: str | None) -> None:
    """Read these tables through this connection from now on (names only: credentials stay in the secrets)."""
    st.session_state[K_DATABASE] = {"connection": connection, "purchases": purchases, "customers": customers}
    set_source(DB_PREFIX + connection)


# --- shared links (?share=<id>): opened once per session, see ui/share.py ----------------------
SHARE_PARAM = "share"
SHARE_PREFIX = "share:"  # source() of a session showing a shared link's data
K_SHARED = "shared_link"  # dict about the link this session was opened with (id, available, name, ...)


def shared_id_from_url() -> str | None:
    """The raw `?share=` value (validated by the store before it touches anything)."""
    return st.query_params.get(SHARE_PARAM) or None


def shared_link() -> dict | None:
    return st.session_state.get(K_SHARED)


def set_shared_link(facts: dict) -> None:
    st.session_state[K_SHARED] = facts
