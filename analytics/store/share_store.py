"""Stored snapshots behind share links: one analysis (data + settings) under an unguessable id.

    store = FolderShareStore(Path("var/shares"), days=30, max_bytes=500 * MB)
    info = store.create(Snapshot(data=cleaned, params={"ch_weeks": ["8"]}))
    stored = store.open(info.share_id)      # -> StoredShare(info, snapshot); raises ShareNotFound

A snapshot of a demo dataset keeps only the demo's key. A snapshot of an upload keeps the CLEANED
tables (Parquet) and their cleaning reports (JSON), so reopening a link never re-reads the user's
raw file and shows exactly the rows the sender's pages used. Settings are the page's URL query
parameters and the column mapping.

Safety rules, all enforced here:
- ids are `secrets.token_urlsafe(24)`: 192 random bits, 32 characters of [A-Za-z0-9_-]. Any other
  string is refused before a path is built, so `../../etc/passwd` can never reach the file system;
- a link expires `days` after it was made; expired snapshots are deleted lazily (when opened, and
  whenever a new one is stored);
- the whole store has a size cap (bytes on disk); a snapshot that would cross it is refused with
  a message that names the cap (checked under a file lock, so several app processes or containers
  may share one folder);
- whoever has the id can delete the snapshot (there is no owner: the link is the key).

Files are Parquet and JSON only (never pickle), so a tampered store cannot run code.
The storage sits behind the small `ShareStore` protocol, so an object store can replace the folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import io
import json
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pandas as pd

from analytics.data.parsing import TEXT
from analytics.data.schema import CUSTOMERS, TRANSACTIONS, CustomerData, DataError, Exclusion, TableReport

MB = 1024 * 1024
ID_BYTES = 24  # 192 bits of randomness; the issue asks for at least 128
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")  # exactly what token_urlsafe(24) produces
DEFAULT_DAYS = 30.0
DEFAULT_MAX_MB = 500.0
FORMAT_VERSION = 1
META = "meta.json"
LOCK_FILE = ".lock"  # in the store folder: held (fcntl.flock) while a snapshot is checked against the cap and written
TABLE_FILES = {TRANSACTIONS: "transactions.parquet", CUSTOMERS: "customers.parquet"}
STALE_TEMP = timedelta(hours=1)  # a half-written snapshot older than this is debris


class ShareNotFound(DataError):
    """No usable snapshot under this id (never existed, deleted, expired and purged, or damaged)."""


class ShareExpired(ShareNotFound):
    """The snapshot exists but its link has expired (it is deleted as this is raised)."""


class ShareStoreFull(DataError):
    """Storing this snapshot would take the store over its size cap."""


def new_share_id() -> str:
    """A fresh id: `secrets.token_urlsafe(24)`, i.e. 192 random bits as 32 URL-safe characters.

    Returns
    -------
    str
        The id, unguessable and safe in a URL and as a folder name.
    """
    return secrets.token_urlsafe(ID_BYTES)


def is_valid_share_id(value: object) -> bool:
    """True only for strings shaped exactly like `new_share_id()` output (checked before any I/O).

    Parameters
    ----------
    value : object
        Whatever arrived in the URL.

    Returns
    -------
    bool
        Whether it can name a snapshot (so it never reaches the file system otherwise).
    """
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def _not_found(days: float) -> ShareNotFound:
    return ShareNotFound(
        "This share link does not open an analysis: nothing is stored under it. Links stop working "
        f"{days:g} days after they are made or when someone deletes them, and a link copied only in "
        "part does not work either. Ask the person who sent it for a new link, or pick a demo "
        "dataset in the sidebar."
    )


@dataclass(frozen=True)
class Snapshot:
    """What a link reopens: a dataset (a demo's key, or cleaned data) plus the view's settings.

    Parameters
    ----------
    data : CustomerData, optional
        The cleaned dataset of an upload. Exactly one of `data` and `demo` is given.
    demo : str, optional
        The key of a demo dataset (its data is not copied: every server has it).
    params : dict of str to list of str
        The URL query parameters (each key with all its values), e.g. {"dataset": ["cdnow"]}.
    settings : dict of str to JSON value
        The session's result-changing settings (widget key -> value: str, int, float, bool, list
        or None), e.g. {"wi_lift": 0.05}; they reopen every page as the sender left it.
    mappings : dict
        The column mapping the user chose per uploaded file (file sha256 -> mapping dict).
    file_names : tuple of str
        The uploaded files' names, shown to whoever opens the link.
    database : dict, optional
        For data read through a connection the server names: {"connection": name, "purchases":
        table or None, "customers": table or None}. Names only: no data, URL or credential is
        stored; whoever opens the link reads the tables again through that server's connection.
    """

    data: CustomerData | None = None
    demo: str | None = None
    params: dict[str, list[str]] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    mappings: dict[str, dict] = field(default_factory=dict)
    file_names: tuple[str, ...] = ()
    database: dict[str, str | None] | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.data, self.demo, self.database)) != 1:
            raise DataError(
                "A share snapshot holds exactly one of: a demo dataset's key, an uploaded dataset, or a "
                "connection's name and tables."
            )
        if self.database is not None and not isinstance(self.database.get("connection"), str):
            raise DataError("A shared connection needs its name.")


@dataclass(frozen=True)
class ShareInfo:
    """The facts about one stored snapshot (no data): what the Share page lists.

    Attributes
    ----------
    share_id : str
        The link's id.
    created, expires : datetime
        When it was made and when the link stops working (UTC).
    size_bytes : int
        Its size on disk.
    name : str
        The dataset's name.
    demo : str or None
        The demo key, for a snapshot of a demo dataset.
    file_names : tuple of str
        The uploaded files' names.
    params, settings : dict
        The URL query parameters and the result-changing settings it reopens with.
    page : str
        URL path of the page the link was made on.
    rows : dict of str to int
        Rows per stored table.
    database : dict or None
        The connection's name and tables, for a snapshot of data read through a connection.
    """

    share_id: str
    created: datetime  # UTC
    expires: datetime  # UTC; the link stops working at this moment
    size_bytes: int  # on disk, all files of the snapshot
    name: str  # the dataset's name (demo title key or the uploaded files)
    demo: str | None
    file_names: tuple[str, ...]
    params: dict[str, list[str]]
    settings: dict[str, object]
    rows: dict[str, int]  # table -> rows stored (empty for a demo)
    database: dict[str, str | None] | None = None  # connection name and tables (names only)


@dataclass(frozen=True)
class StoredShare:
    """A snapshot as read back from the store.

    Attributes
    ----------
    info : ShareInfo
        Its facts (id, dates, size).
    snapshot : Snapshot
        The dataset and settings it reopens.
    """

    info: ShareInfo
    snapshot: Snapshot


@dataclass(frozen=True)
class StoreSettings:
    """Where snapshots live and their limits.

    Attributes
    ----------
    root : Path
        The folder of the store.
    days : float
        Days until a link expires.
    max_mb : float
        Cap on the whole store, in megabytes.
    """

    root: Path
    days: float = DEFAULT_DAYS
    max_mb: float = DEFAULT_MAX_MB

    @classmethod
    def from_env(cls, env: Mapping[str, str], default_root: Path) -> StoreSettings:
        """Read KEEPWISE_DATA_DIR, KEEPWISE_SHARE_DAYS and KEEPWISE_SHARE_MAX_MB from `env`.

        Parameters
        ----------
        env : mapping of str to str
            The environment (``os.environ``), passed in so the library reads no globals.
        default_root : Path
            The folder used when KEEPWISE_DATA_DIR is not set.

        Returns
        -------
        StoreSettings
            The settings, with defaults for what is not set.
        """

        def positive(name: str, default: float) -> float:
            text = env.get(name, "").strip()
            if not text:
                return default
            try:
                value = float(text)
            except ValueError:
                value = float("nan")
            if not value > 0:
                raise DataError(f"{name} must be a positive number (got '{text}'); fix the server's setting.")
            return value

        root = env.get("KEEPWISE_DATA_DIR", "").strip()
        return cls(
            root=Path(root) if root else default_root,
            days=positive("KEEPWISE_SHARE_DAYS", DEFAULT_DAYS),
            max_mb=positive("KEEPWISE_SHARE_MAX_MB", DEFAULT_MAX_MB),
        )


class ShareStore(Protocol):
    """What the app needs from a snapshot store (a folder today; an object store could do it)."""

    days: float
    max_bytes: int

    def create(self, snapshot: Snapshot) -> ShareInfo:
        """Store a snapshot under a fresh id.

        Parameters
        ----------
        snapshot : Snapshot
            What the link will reopen.

        Returns
        -------
        ShareInfo
            The new snapshot's facts, with its id.
        """

    def open(self, share_id: str) -> StoredShare:
        """The snapshot with its data.

        Parameters
        ----------
        share_id : str
            The link's id (`new_share_id()` output).

        Returns
        -------
        StoredShare
            Its facts and the snapshot.
        """

    def info(self, share_id: str) -> ShareInfo:
        """The facts about a live snapshot, without reading its data.

        Parameters
        ----------
        share_id : str
            The link's id (`new_share_id()` output).

        Returns
        -------
        ShareInfo
            Its facts.
        """

    def delete(self, share_id: str) -> bool:
        """Remove a snapshot.

        Parameters
        ----------
        share_id : str
            The link's id (`new_share_id()` output).

        Returns
        -------
        bool
            True when one was there.
        """

    def purge_expired(self) -> int:
        """Delete expired or unreadable snapshots.

        Returns
        -------
        int
            How many snapshots went.
        """

    def used_bytes(self) -> int:
        """Bytes of all stored snapshots.

        Returns
        -------
        int
            Bytes on disk.
        """


# --- (de)serialisation: Parquet for frames, JSON for everything else ---------------------------


def _report_to_json(report: TableReport) -> dict:
    return dataclasses.asdict(report)


def _report_from_json(raw: dict) -> TableReport:
    return TableReport(
        table=raw["table"],
        source=raw["source"],
        rows_read=int(raw["rows_read"]),
        rows_used=int(raw["rows_used"]),
        excluded=tuple(
            Exclusion(reason=e["reason"], rows=int(e["rows"]), table=e["table"], examples=tuple(e["examples"]))
            for e in raw["excluded"]
        ),
        columns=dict(raw["columns"]),
        notes=tuple(raw["notes"]),
    )


def _frame_from_parquet(path: Path) -> pd.DataFrame:
    """A stored table with its cleaned dtypes: Arrow text stays Arrow text (order ids).

    Parquet's pandas metadata names only "string", which pandas reads back as Python-backed
    strings; cleaning gives Arrow-backed ones (a Python string per cell would cost ~0.7 GB at
    10M order ids), so they are restored as such.
    """
    frame = pd.read_parquet(path)
    for column, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.StringDtype) and dtype.storage != "pyarrow":
            frame[column] = frame[column].astype(TEXT)
    return frame


def _frame_to_parquet(frame: pd.DataFrame, table: str) -> bytes:
    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer)
    except Exception as exc:
        raise DataError(
            f"The cleaned {table} table cannot be stored for sharing ({exc}). Sharing works on demo data; "
            "for this file, send the file itself."
        ) from exc
    return buffer.getvalue()


def _serialise(snapshot: Snapshot) -> tuple[dict, dict[str, bytes]]:
    """The snapshot as a JSON-able meta dict and {file name: bytes} for its tables."""
    files: dict[str, bytes] = {}
    meta: dict = {
        "version": FORMAT_VERSION,
        "demo": snapshot.demo,
        "params": {str(k): [str(v) for v in values] for k, values in snapshot.params.items()},
        "settings": snapshot.settings,
        "mappings": snapshot.mappings,
        "file_names": list(snapshot.file_names),
        "rows": {},
    }
    if snapshot.database is not None:
        chosen = {key: snapshot.database.get(key) for key in ("connection", "purchases", "customers")}
        meta["database"] = chosen
        tables = " + ".join(str(t) for t in (chosen["purchases"], chosen["customers"]) if t)
        meta["name"] = f"{chosen['connection']}: {tables}"
        return meta, files
    data = snapshot.data
    if data is None:
        meta["name"] = snapshot.demo
        return meta, files
    meta.update(name=data.name, description=data.description, reports=[_report_to_json(r) for r in data.reports])
    for table, frame in ((TRANSACTIONS, data.transactions), (CUSTOMERS, data.customers)):
        if frame is not None:
            files[TABLE_FILES[table]] = _frame_to_parquet(frame, table)
            meta["rows"][table] = len(frame)
    return meta, files


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _info_from_meta(share_id: str, meta: dict, size_bytes: int) -> ShareInfo:
    return ShareInfo(
        share_id=share_id,
        created=datetime.fromisoformat(meta["created"]),
        expires=datetime.fromisoformat(meta["expires"]),
        size_bytes=size_bytes,
        name=str(meta["name"]),
        demo=meta["demo"],
        file_names=tuple(meta["file_names"]),
        params={k: list(v) for k, v in meta["params"].items()},
        settings=dict(meta.get("settings", {})),
        rows={k: int(v) for k, v in meta["rows"].items()},
        database=meta.get("database"),
    )


def _mb(n_bytes: int) -> str:
    """Bytes as megabytes for a message: '500', '12', '3.4', '0.002'."""
    value = n_bytes / MB
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


class FolderShareStore:
    """Snapshots as folders `<root>/<id>/` holding meta.json and one Parquet file per table.

    Writes go to a temporary folder that is renamed into place, so a reader never sees half a
    snapshot. One lock per process serialises the size check and the write; several server
    processes sharing one folder may overshoot the cap by at most one snapshot each.

    Parameters
    ----------
    root : Path
        The folder (created when missing).
    days : float
        Days until a link expires.
    max_bytes : int
        Cap on the bytes of all snapshots together.
    clock : callable, optional
        Returns the current UTC time; tests pass a fake clock to expire links without waiting.
    """

    _lock = threading.Lock()  # threads of this process; `_exclusive` adds a lock across processes

    def __init__(
        self,
        root: Path,
        days: float = DEFAULT_DAYS,
        max_bytes: int = int(DEFAULT_MAX_MB * MB),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.root = Path(root)
        self.days = days
        self.max_bytes = max_bytes
        self.clock = clock or (lambda: datetime.now(UTC))

    @classmethod
    def from_settings(cls, settings: StoreSettings, clock: Callable[[], datetime] | None = None) -> FolderShareStore:
        """A store in `settings.root` with its expiry and size cap.

        Parameters
        ----------
        settings : StoreSettings
            Folder, days until expiry and the cap in megabytes.
        clock : callable, optional
            Returns the current UTC time (tests pass a fake clock).

        Returns
        -------
        FolderShareStore
            The store (its folder is created when missing).
        """
        return cls(settings.root, days=settings.days, max_bytes=int(settings.max_mb * MB), clock=clock)

    # -- paths: the only place an id becomes a path, and only after validation --
    def _folder(self, share_id: str) -> Path:
        if not is_valid_share_id(share_id):
            raise _not_found(self.days)
        folder = self.root / share_id
        if folder.resolve().parent != self.root.resolve():  # belt and braces; the pattern already forbids it
            raise _not_found(self.days)
        return folder

    def _snapshot_folders(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [p for p in self.root.iterdir() if p.is_dir() and is_valid_share_id(p.name)]

    def _read_meta(self, share_id: str) -> tuple[Path, dict]:
        folder = self._folder(share_id)
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
            datetime.fromisoformat(meta["expires"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _not_found(self.days) from exc
        return folder, meta

    def _check_expiry(self, share_id: str, folder: Path, meta: dict) -> None:
        expires = datetime.fromisoformat(meta["expires"])
        if self.clock() >= expires:
            shutil.rmtree(folder, ignore_errors=True)
            raise ShareExpired(
                f"This share link has expired: it was made on {datetime.fromisoformat(meta['created']):%d %b %Y} "
                f"and links work for {self.days:g} days. Ask the person who sent it to share the analysis "
                "again, or pick a demo dataset in the sidebar."
            )

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One `create` at a time across threads and processes (several app containers may share one
        volume): the size check and the write must not interleave, or two writers could both pass
        the cap. A thread lock, then `fcntl.flock` on a lock file in the store folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.root / LOCK_FILE, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- the protocol --
    def create(self, snapshot: Snapshot) -> ShareInfo:
        """Store a snapshot under a fresh id.

        Parameters
        ----------
        snapshot : Snapshot
            What the link will reopen.

        Returns
        -------
        ShareInfo
            The new snapshot's facts, with its id.

        Raises
        ------
        ShareStoreFull
            When it would take the store over its cap.
        """
        meta, files = _serialise(snapshot)
        now = self.clock()
        meta["created"] = _timestamp(now)
        meta["expires"] = _timestamp(now + timedelta(days=self.days))
        try:
            meta_bytes = json.dumps(meta, sort_keys=True, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise DataError(f"These settings cannot be stored in a link ({exc}).") from exc
        size = len(meta_bytes) + sum(len(b) for b in files.values())
        with self._exclusive():
            self.purge_expired()
            used = self.used_bytes()
            if used + size > self.max_bytes:
                raise ShareStoreFull(
                    f"The share store is full: {_mb(used)} MB of its {_mb(self.max_bytes)} MB are used "
                    f"and this analysis needs {_mb(size)} MB. Delete links you no longer need on the Share "
                    "page, wait for old links to expire, or ask whoever runs the app to raise "
                    "KEEPWISE_SHARE_MAX_MB."
                )
            share_id = new_share_id()
            self.root.mkdir(parents=True, exist_ok=True)
            temp = self.root / f".tmp-{share_id}"
            temp.mkdir()
            for name, content in files.items():
                (temp / name).write_bytes(content)
            (temp / META).write_bytes(meta_bytes)
            temp.rename(self._folder(share_id))
        return _info_from_meta(share_id, meta, size)

    def info(self, share_id: str) -> ShareInfo:
        """The facts about a live snapshot, without reading its data.

        Parameters
        ----------
        share_id : str
            The link's id (`new_share_id()` output).

        Returns
        -------
        ShareInfo
            Its facts.

        Raises
        ------
        ShareNotFound, ShareExpired
            For an unknown, damaged or expired link.
        """
        folder, meta = self._read_meta(share_id)
        self._check_expiry(share_id, folder, meta)
        return _info_from_meta(share_id, meta, _folder_bytes(folder))

    def open(self, share_id: str) -> StoredShare:
        """The snapshot with its data.

        Parameters
        ----------
        share_id : str
            The link's id (`new_share_id()` output).

        Returns
        -------
        StoredShare
            Its facts and the snapshot.

        Raises
        ------
        ShareNotFound, ShareExpired
            For an unknown, damaged or expired link.
        """
        folder, meta = self._read_meta(share_id)
        self._check_expiry(share_id, folder, meta)
        info = _info_from_meta(share_id, meta, _folder_bytes(folder))
        if meta["demo"] is not None or meta.get("database") is not None:
            data = None
        else:
            try:
                frames = {
                    table: _frame_from_parquet(folder / file) if table in meta["rows"] else None
                    for table, file in TABLE_FILES.items()
                }
                reports = tuple(_report_from_json(r) for r in meta["reports"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise _not_found(self.days) from exc
            data = CustomerData(
                name=info.name,
                transactions=frames[TRANSACTIONS],
                customers=frames[CUSTOMERS],
                reports=reports,
                description=str(meta.get("description", "")),
            )
        snapshot = Snapshot(
            data=data,
            demo=meta["demo"],
            params=info.params,
            settings=info.settings,
            mappings=dict(meta["mappings"]),
            file_names=info.file_names,
            database=info.database,
        )
        return StoredShare(info=info, snapshot=snapshot)

    def delete(self, share_id: str) -> bool:
        """Remove a snapshot. An invalid id deletes nothing.

        Parameters
        ----------
        share_id : str
            The link's id (`new_share_id()` output).

        Returns
        -------
        bool
            True when one was there.
        """
        if not is_valid_share_id(share_id):
            return False
        folder = self._folder(share_id)
        if not folder.is_dir():
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True

    def purge_expired(self) -> int:
        """Delete expired or unreadable snapshots and stale half-writes.

        Returns
        -------
        int
            How many snapshots went.
        """
        removed = 0
        now = self.clock()
        for folder in self._snapshot_folders():
            try:
                meta = json.loads((folder / META).read_text(encoding="utf-8"))
                expired = now >= datetime.fromisoformat(meta["expires"])
            except (OSError, ValueError, KeyError, TypeError):
                expired = True  # damaged: nobody can open it, so it only takes space
            if expired:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        if self.root.is_dir():
            for temp in self.root.glob(".tmp-*"):
                modified = datetime.fromtimestamp(temp.stat().st_mtime, tz=UTC)
                if now - modified > STALE_TEMP:
                    shutil.rmtree(temp, ignore_errors=True)
        return removed

    def used_bytes(self) -> int:
        """Bytes on disk of all stored snapshots.

        Returns
        -------
        int
            Bytes on disk.
        """
        return sum(_folder_bytes(folder) for folder in self._snapshot_folders())
