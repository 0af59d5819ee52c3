"""Session-state keys and accessors: the bottom of ui's layers (state <- cache <- share <- sidebar <- frame).

The session's data source, uploads, column mappings, shared link and the settings that outlive a
page switch are read and written here. Page widgets spell their own keys (`wi_margin`, `clv_unit`
...), each starting with its page's prefix in `SETTINGS_PREFIXES`; this module keeps those values
across pages and puts them into share links. Getters only read: whatever must happen once per
session (opening a share link) is done by `ui.share.start_session`, called by the frame.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import streamlit as st

from analytics.data.columns import ColumnMapping
from analytics.data.datasets import DEFAULT_DEMO, DEMOS

UPLOAD = "upload"
K_SOURCE = "data_source"  # "demo:<key>" or "upload"
K_UPLOADS = "uploaded_files"  # list[UploadedBytes]
K_MAPPINGS = "column_mappings"  # dict[sha256 -> mapping dict] chosen by the user
K_SHEETS = "excel_sheets"  # dict[sha256 -> sheet name] chosen by the user (default: chosen by content)


@dataclass(frozen=True)
class UploadedBytes:
    """A file the user uploaded, kept in this session only."""

    name: str
    content: bytes
    sha256: str

    @classmethod
    def of(cls, name: str, content: bytes) -> UploadedBytes:
        return cls(name=name, content=content, sha256=hashlib.sha256(content).hexdigest())

    @classmethod
    def from_widget(cls, file) -> UploadedBytes:
        """A file from `st.file_uploader`, holding the very bytes Streamlit's upload store holds.

        The widget hands out a deep copy of the file on every run (`file.getvalue()` is a second
        copy of the bytes: 51 MB more per session for a 300,000-customer log, 182 MB at 1M); the
        store keeps the original for the session anyway, so the session keeps that one. Falls back
        to the copy when the store does not have the file (any other Streamlit runtime)."""
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        ctx = get_script_run_ctx()
        stored = None
        if ctx is not None and getattr(file, "file_id", None):
            found = ctx.uploaded_file_mgr.get_files(session_id=ctx.session_id, file_ids=[file.file_id])
            stored = found[0].data if found and len(found[0].data) == file.size else None
        return cls.of(file.name, stored if isinstance(stored, bytes) else file.getvalue())


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


def set_uploads(files: list[UploadedBytes]) -> None:
    st.session_state[K_UPLOADS] = files
    st.session_state[K_MAPPINGS] = {}
    st.session_state[K_SHEETS] = {}


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
