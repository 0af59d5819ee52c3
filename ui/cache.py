"""Cached wrappers around analytics calls.

Demo data is the same for everyone, so work on it is cached for the whole server (`global`);
work on an upload is cached per session (`scope="session"`), keyed on the sha256 of the bytes, so
one user's upload never reaches another session. Nothing built from an upload goes into
`st.cache_resource`.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from analytics.data.codes import encoded_id_codes
from analytics.data.columns import ColumnMapping
from analytics.data.datasets import load_demo
from analytics.data.ingest import LoadedTable, build_dataset, read_and_guess, release_read_memory
from analytics.data.io import workbook_sheets
from analytics.data.schema import CUSTOMER_ID, CustomerData, DataError
from analytics.engine.compact import DatasetIds, StaleIdsError, compact_ids, expand_ids
from analytics.engine.memo import forget_results_of
from analytics.engine.packed import pack, unpack
from analytics.store.share_store import FolderShareStore, StoreSettings
from ui import background, state
from ui.connections import database_data

R = TypeVar("R")
_LOG = logging.getLogger(__name__)
#: Seconds without a page run or a cached computation after which `release_when_quiet` frees memory.
QUIET_S = 2.0
_quiet_lock = threading.Lock()
_quiet_timer: threading.Timer | None = None


def release_when_quiet(delay_s: float | None = None) -> None:
    """Once nothing has called this for `delay_s` seconds (`QUIET_S`): a full garbage collection, then the
    freed memory back to the operating system (`ui.background.release_heap`).

    Called at the end of every page run (`ui.frame.frame_finished`) and every cached computation
    (`per_dataset`). Streamlit runs each page file in a fresh module whose functions refer back to its
    globals, so what a page kept in a top-level name (an unpickled analysis, a table, each with its
    own customer-id strings) stays in a reference cycle after the run, and so does a fit's scratch;
    Python's full collection is rare. A run that takes over a second collects at once
    (`ui.frame.release_memory`); this also covers the quick reruns (a fit done, a widget moved) and
    the fits that end after the last run, without a 0.1-0.4 s collection after every run: at most one
    per quiet spell. Measured at rest on a 300,000-customer session before this: 96 MiB more freed by
    a collection and 104 MiB by the trim after it.

    Parameters
    ----------
    delay_s : float, optional
        Quiet seconds to wait (`QUIET_S` when None).
    """
    global _quiet_timer
    timer = threading.Timer(QUIET_S if delay_s is None else delay_s, _release_now)
    timer.daemon = True
    timer.name = "keepwise-release-when-quiet"
    with _quiet_lock:
        if _quiet_timer is not None:
            _quiet_timer.cancel()
        _quiet_timer = timer
    timer.start()


def _release_now() -> None:
    if background.under_way():  # not in the middle of the background work: look again once quiet
        release_when_quiet()  # re-armed, not dropped: the last job may end after its computation armed this
        return
    gc.collect()
    background.release_heap()


def per_dataset(max_entries: int = 8, label: str | None = None) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Cache `func(data, *args)` by the current dataset key and the other (hashable) arguments.

    The wrapped function is called as `func(data, *args, **kwargs)` with the current
    `CustomerData`; pass settings as frozen dataclasses so they hash. It also has
    `start(data, *args, **kwargs)`: begin the work in the background (`ui.background`) and return
    its job key, or None when the result is ready; `label` says what the work is ("Fitting the
    churn model") while a page waits for it. `prefetch(data, *args, **kwargs)` does the same for
    work no page waits for yet (it runs after the work pages wait for).

    Each result is held once, here: after computing it, the library's one-entry memos
    (`analytics.engine.memo`, e.g. the RFM table) forget what they kept for this dataset.
    `st.cache_data` hands out a fresh unpickled copy on every call; within one page run the wrapper
    hands out the same copy again (`ui.background.run_results`, dropped when the run ends): Segments
    asked for the lifetime-value analysis three times a run, each a full unpickle (91 MiB at
    300,000 customers, seconds at 1M) and a live copy. Callers must not modify what they get.

    Each computation arms `release_when_quiet`: fits leave reference cycles (scikit-learn's boosted
    trees, pandas frames that refer to each other) that would hold their scratch until Python's rare
    full collection, out of reach of the heap trim that follows each background job.

    A result is stored with its customer ids as int32 codes into the dataset's one id array and
    handed out with the ids taken back from it (`analytics.engine.compact`): the pickles hold no id
    text and each unpickled copy points at the dataset's own id strings instead of making new ones
    (300,000 per per-customer result and copy at 300,000 customers). A result whose pickle takes a
    mebibyte or more is stored compressed (`analytics.engine.packed`: about a quarter of the size,
    a tenth of a second or so to unpack per 50 MiB of pickle).
    """

    def decorate(func: Callable[..., R]) -> Callable[..., R]:
        name = f"{func.__module__}.{func.__qualname__}"

        def make(scope: str) -> Callable[..., R]:
            def compute(key: str, args: tuple, kwargs: tuple, _data: CustomerData) -> R:
                background.cancel((name, key, args, kwargs))  # queued in the background: compute it here
                try:  # stored with its customer ids as codes into the dataset's ids: see `call`
                    return pack(compact_ids(func(_data, *args, **dict(kwargs)), DatasetIds(_data)))
                finally:  # this cache keeps the result: the library's memos drop their live copy
                    forget_results_of(_data, _data.transactions)
                    release_when_quiet()  # the work's reference cycles, once the server is quiet

            # Distinct names: Streamlit identifies a cache by its function, so the shared (demo)
            # and per-session (upload) caches must never be the same function.
            compute.__name__ = compute.__qualname__ = f"{func.__qualname__}__{scope}"
            compute.__module__ = func.__module__
            return st.cache_data(show_spinner=False, max_entries=max_entries, scope=scope)(compute)

        shared, private = make("global"), make("session")

        def job_key(args: tuple, kwargs: dict) -> tuple:
            return (name, _JOB.data_key or state.data_key(), args, tuple(sorted(kwargs.items())))

        def call(key: tuple, data: CustomerData, args: tuple, kwargs: dict) -> R:
            run = background.run_results()
            if run is not None and key in run:  # asked again in this page run: the copy it already has
                return run[key]
            cached = shared if key[1].startswith("demo:") else private
            try:
                result = expand_ids(unpack(cached(key[1], args, key[3], data)), DatasetIds(data))
            except StaleIdsError:  # stored for an earlier read of the same key (a database table that changed since)
                _LOG.info("%s: cached result made for other customer ids than %s's now: computed again", name, key[1])
                cached.clear()
                result = expand_ids(unpack(cached(key[1], args, key[3], data)), DatasetIds(data))
            _ready(key[1]).add(key)
            if run is not None:
                run[key] = result
            return result

        def in_background(key: tuple, data: CustomerData, args: tuple, kwargs: dict) -> R:
            """A job's call: cached under the key it was started with, not the session's key when it runs
            (a fit queued for the demo and run after an upload would be stored as the upload's)."""
            outer, _JOB.data_key = _JOB.data_key, key[1]  # nested cached calls key on the job's data too
            try:
                return call(key, data, args, kwargs)
            finally:
                _JOB.data_key = outer

        @functools.wraps(func)
        def wrapper(data: CustomerData, *args: Any, **kwargs: Any) -> R:
            return call(job_key(args, kwargs), data, args, kwargs)

        def start(data: CustomerData, *args: Any, **kwargs: Any) -> tuple | None:
            key = job_key(args, kwargs)
            if key in _ready(key[1]):
                return None
            background.submit(key, label or func.__qualname__, in_background, key, data, args, kwargs, _dataset=key[1])
            return key

        def prefetch(data: CustomerData, *args: Any, **kwargs: Any) -> tuple | None:
            """`start` for a result no page waits for yet (`ui.background.prefetch`): it runs after
            the fits a page waits for; nothing when `ui.background.PREFETCH` is off."""
            key = job_key(args, kwargs)
            if key in _ready(key[1]) or not background.PREFETCH:
                return None
            background.submit(
                key, label or func.__qualname__, in_background, key, data, args, kwargs, _prefetch=True, _dataset=key[1]
            )
            return key

        wrapper.start = start  # type: ignore[attr-defined]
        wrapper.prefetch = prefetch  # type: ignore[attr-defined]
        return wrapper

    return decorate


class _JobData(threading.local):
    data_key: str | None = None  # while a background job runs on this thread: the data key it was started with


_JOB = _JobData()
_READY_DEMO: set[tuple] = set()  # demo results are cached for the whole server
K_READY = "_ready_results"


def _ready(data_key: str) -> set[tuple]:
    """Job keys whose result is in the cache (this server's for demos, this session's otherwise).

    A result the cache has dropped since (max_entries) is simply computed again when asked for."""
    if data_key.startswith("demo:"):
        return _READY_DEMO
    return st.session_state.setdefault(K_READY, set())


@st.cache_data(show_spinner=False, max_entries=3)
def demo_data(key: str) -> CustomerData:
    return load_demo(key)


PREVIEW_ROWS = 5  # rows of an upload the Data page shows under its column mapping


@st.cache_data(show_spinner=False, max_entries=8, scope="session")
def read_upload(sha256: str, name: str, _file: state.UploadedBytes, sheet: str | None = None) -> LoadedTable:
    """One uploaded file's outline: how it was read, the guessed mapping and its first rows.

    Keyed on the file's sha256 and the sheet; raises DataError. `sheet`: the workbook sheet the
    user picked on the Data page (None: chosen by content). The session keeps this outline only,
    which is all the mapping editor shows: the full read (84 MB pickled at 300k customers, and an
    unpickled copy per call) is made when the dataset is built and dropped once it is. The file's
    bytes are read (from its spill file) only when the outline is not cached.
    """
    table = read_and_guess(name, _file.content, sheet=sheet)
    preview = dataclasses.replace(table.raw, frame=table.raw.frame.head(PREVIEW_ROWS).copy())
    return LoadedTable(raw=preview, mapping=table.mapping)


@st.cache_data(show_spinner=False, max_entries=8, scope="session")
def upload_sheets(sha256: str, name: str, _file: state.UploadedBytes) -> tuple[str, ...]:
    """The sheet names of an uploaded workbook (() for other files), keyed on its sha256.

    The file's bytes are read (from its spill file) only when this is not cached."""
    return workbook_sheets(_file.content, name)


def build_upload(files: list[state.UploadedBytes]) -> CustomerData:
    """The uploaded files read in full, cleaned and joined; the raw reads are dropped before returning.

    Not cached: `current_data` keeps the one live dataset of the session (a pickled copy in
    `st.cache_data` as well held 50 MB more at 300k customers, and handed out unpickled copies).
    """
    tables = loaded_uploads(files)
    data = build_dataset(
        tables, name=" + ".join(f.name for f in files), description="Your upload (kept in this session only)."
    )
    del tables
    release_read_memory()
    return data


def loaded_uploads(files: list[state.UploadedBytes]) -> list[LoadedTable]:
    """Each uploaded file read in full (from its spill file), with the user's mapping where they corrected
    the guess. Raises DataError when a spill file is gone (the user is asked to upload it again)."""
    tables = []
    for file in files:
        table = read_and_guess(file.name, file.content, sheet=state.sheets().get(file.sha256))
        chosen = state.mappings().get(file.sha256)
        if chosen:
            table = LoadedTable(raw=table.raw, mapping=ColumnMapping.from_dict(chosen))
        tables.append(table)
    return tables


K_DATA_NOW = "_data_now"  # (data key, CustomerData): the dataset object this session's runs share


def current_data() -> CustomerData:
    """The dataset the pages analyse now. Raises DataError (with a user message) when unusable.

    The same object for every call and rerun of this session while the data key stays the same:
    `st.cache_data` hands out a fresh unpickled copy on every call (0.05 s for the demo, seconds
    for a 300k-customer upload, several times a run), and a fresh copy also misses every cache
    keyed on the frame (the customer-day table, `analytics.engine.customer_days`). The session
    holds one live copy, dropped when the data changes or the session ends.
    """
    key = state.data_key()
    kept = st.session_state.get(K_DATA_NOW)
    if kept is not None and kept[0] == key:
        return kept[1]
    if kept is not None:  # the session moved on: the fits queued for its previous data alone never start
        background.leave(kept[0])
    data = _load_current_data()
    if data.transactions is not None:  # a copy unpickled from st.cache_data lost cleaning's codes
        encoded_id_codes(data.transactions, CUSTOMER_ID)
    st.session_state[K_DATA_NOW] = (key, data)
    return data


def _load_current_data() -> CustomerData:
    source = state.source()
    if source.startswith("demo:"):
        return demo_data(source.split(":", 1)[1])
    if source.startswith(state.SHARE_PREFIX):
        return shared_data(source[len(state.SHARE_PREFIX) :])
    if source.startswith(state.DB_PREFIX):
        chosen = state.database() or {}
        if chosen.get("connection") != source[len(state.DB_PREFIX) :]:
            raise DataError("No table is chosen for this connection yet: pick one on the Data page.")
        return read_database(chosen)
    files = state.uploads()
    if not files:
        raise DataError("No file uploaded yet. Upload a file on the Data page, or pick a demo dataset.")
    return build_upload(files)


def read_database(chosen: dict) -> CustomerData:
    """The tables a connection's name and table names point at, read on this server (with progress)."""
    with st.spinner(f"Reading {chosen['connection']}: counting in the database, then reading the rows…"):
        return database_data(str(chosen["connection"]), chosen.get("purchases"), chosen.get("customers"))


# --- shared links: the link's data, loaded once per session (never shared across sessions) ------
@st.cache_data(show_spinner=False, max_entries=2, scope="session")
def shared_data(share_id: str) -> CustomerData:
    """The dataset stored under a share link (raises DataError with a plain message when unusable)."""
    opened = state.shared_link() or {}
    if opened.get("id") == share_id and opened.get("problem"):
        raise DataError(opened["problem"])
    stored = share_store().open(share_id)
    if stored.info.database is not None:  # the link names a connection and tables: read them on this server
        return read_database(stored.info.database)
    if stored.snapshot.data is None:
        return load_demo(stored.info.demo)
    files = ", ".join(stored.info.file_names) or stored.info.name
    return dataclasses.replace(
        stored.snapshot.data,
        description=(
            f"Opened from a share link made on {stored.info.created:%d %b %Y} (files: {files}). "
            f"The link works until {stored.info.expires:%d %b %Y}."
        ),
    )


# --- the share store, as the server's environment configures it -------------------------------
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = ROOT / "var" / "shares"


def store_settings() -> StoreSettings:
    return StoreSettings.from_env(os.environ, default_root=DEFAULT_ROOT)


def share_store() -> FolderShareStore:
    """The store as configured by the environment (cheap: it holds only settings)."""
    return FolderShareStore.from_settings(store_settings())
