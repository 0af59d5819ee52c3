"""Share snapshots: ids, round trip of cleaned data, expiry, deletion, the size cap, traversal."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.data.ingest import load_files
from analytics.data.schema import DataError
from analytics.store.share_store import (
    LOCK_FILE,
    MB,
    FolderShareStore,
    ShareExpired,
    ShareNotFound,
    ShareStoreFull,
    Snapshot,
    StoreSettings,
    is_valid_share_id,
    new_share_id,
)
from tests.conftest import ROOT, csv_bytes

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture()
def store(tmp_path: Path, clock: FakeClock) -> FolderShareStore:
    return FolderShareStore(tmp_path / "shares", days=30, clock=clock)


@pytest.fixture(scope="module")
def shop():
    """A cleaned upload: 4 rows read, 1 refund left out; 2 customers, 3 purchases, 63.5 in total."""
    content = csv_bytes(
        """
        client;date;amount;invoice
        k1;31.01.2024;10,50;1
        k1;01.02.2024;3,00;2
        k2;15.02.2024;50,00;3
        k2;16.02.2024;-1,00;4
        """
    )
    return load_files([("shop.csv", content)])


def upload_snapshot(data) -> Snapshot:
    return Snapshot(
        data=data,
        params={"ch_weeks": ["8"], "seg_cols": ["plan", "region"]},
        settings={"wi_lift": 0.05, "ch_weeks": 8, "seg_on": True, "seg_cols": ["plan", "region"], "kpi_x": None},
        mappings={"ab12": {"kind": "transactions", "roles": {"customer_id": "client"}}},
        file_names=("shop.csv",),
    )


def test_ids_are_192_bit_url_safe_tokens_and_validation_is_strict():
    ids = {new_share_id() for _ in range(500)}
    assert len(ids) == 500
    assert all(len(i) == 32 and is_valid_share_id(i) for i in ids)
    for bad in [
        "../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "",
        "a" * 31,
        "a" * 33,
        "a" * 31 + "/",
        "a" * 31 + ".",
        "ä" * 32,
        None,
        12345,
        "a" * 31 + "\n",
    ]:
        assert not is_valid_share_id(bad), bad


@given(st.text(min_size=0, max_size=40))
def test_any_string_that_passes_validation_stays_inside_the_store(text):
    root = Path("/srv/shares")
    if is_valid_share_id(text):
        assert (root / text).resolve().parent == root.resolve()
        assert "/" not in text and "." not in text


def test_upload_round_trip_keeps_cleaned_tables_reports_and_settings(store, shop):
    info = store.create(upload_snapshot(shop))
    assert info.rows == {"transactions": 3}
    assert info.expires - info.created == timedelta(days=30)
    assert info.created == T0
    stored = store.open(info.share_id)
    data = stored.snapshot.data
    pd.testing.assert_frame_equal(data.transactions, shop.transactions)
    assert data.customers is None
    assert data.reports == shop.reports
    assert (data.reports[0].rows_read, data.reports[0].rows_used, data.reports[0].rows_excluded) == (4, 3, 1)
    assert data.transactions["amount"].sum() == pytest.approx(63.5)
    assert data.n_customers == 2
    assert stored.snapshot.params == {"ch_weeks": ["8"], "seg_cols": ["plan", "region"]}
    assert stored.snapshot.settings == {
        "wi_lift": 0.05,
        "ch_weeks": 8,
        "seg_on": True,
        "seg_cols": ["plan", "region"],
        "kpi_x": None,
    }
    assert type(stored.snapshot.settings["ch_weeks"]) is int
    assert stored.snapshot.mappings["ab12"]["roles"] == {"customer_id": "client"}
    assert stored.snapshot.file_names == ("shop.csv",)
    assert stored.info == store.info(info.share_id)


def test_only_json_and_parquet_are_written(store, shop):
    info = store.create(upload_snapshot(shop))
    folder = store.root / info.share_id
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "transactions.parquet"]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["file_names"] == ["shop.csv"] and meta["version"] == 1
    assert (folder / "transactions.parquet").read_bytes()[:4] == b"PAR1"
    assert info.size_bytes == sum(p.stat().st_size for p in folder.iterdir())


def test_demo_snapshot_keeps_only_the_key(store):
    info = store.create(Snapshot(demo="cdnow_sample", params={"dataset": ["cdnow_sample"]}))
    stored = store.open(info.share_id)
    assert stored.snapshot.demo == "cdnow_sample" and stored.snapshot.data is None
    assert info.rows == {} and info.size_bytes < 2_000
    assert sorted(p.name for p in (store.root / info.share_id).iterdir()) == ["meta.json"]


def test_a_snapshot_needs_exactly_one_dataset_and_json_settings(store, shop):
    with pytest.raises(DataError):
        Snapshot()
    with pytest.raises(DataError):
        Snapshot(data=shop, demo="subscription")
    with pytest.raises(DataError, match="cannot be stored in a link"):
        store.create(Snapshot(demo="subscription", settings={"wi_lift": float("nan")}))
    with pytest.raises(DataError, match="cannot be stored in a link"):
        store.create(Snapshot(demo="subscription", settings={"when": datetime(2024, 1, 1)}))


def test_link_expires_after_the_configured_days_and_is_deleted(store, shop, clock):
    info = store.create(upload_snapshot(shop))
    clock.now = T0 + timedelta(days=29, hours=23)
    assert store.open(info.share_id).info.share_id == info.share_id
    clock.now = T0 + timedelta(days=30)
    with pytest.raises(ShareExpired, match="made on 01 Mar 2026 and links work for 30 days"):
        store.open(info.share_id)
    assert not (store.root / info.share_id).exists()
    with pytest.raises(ShareNotFound) as again:
        store.info(info.share_id)
    assert not isinstance(again.value, ShareExpired)


def test_expired_snapshots_are_purged_when_a_new_one_is_stored(store, shop, clock):
    old = [store.create(upload_snapshot(shop)).share_id for _ in range(2)]
    clock.now = T0 + timedelta(days=10)
    young = store.create(Snapshot(demo="subscription")).share_id
    clock.now = T0 + timedelta(days=31)
    fresh = store.create(Snapshot(demo="subscription")).share_id
    assert sorted(p.name for p in store.root.iterdir() if p.name != LOCK_FILE) == sorted([young, fresh])
    assert not any((store.root / i).exists() for i in old)


def test_whoever_has_the_id_can_delete_it(store, shop):
    info = store.create(upload_snapshot(shop))
    assert store.delete(info.share_id) is True
    assert store.delete(info.share_id) is False
    with pytest.raises(ShareNotFound, match="nothing is stored under it"):
        store.open(info.share_id)


def test_unknown_and_traversal_ids_never_touch_the_file_system(tmp_path, clock):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "meta.json").write_text('{"expires": "2999-01-01T00:00:00+00:00"}')
    store = FolderShareStore(tmp_path / "shares", clock=clock)
    for bad in ["../victim", "../../etc/passwd", "%2e%2e%2fvictim", "/etc/passwd", new_share_id()]:
        with pytest.raises(ShareNotFound, match="Ask the person who sent it for a new link"):
            store.open(bad)
        assert store.delete(bad) is False
    assert (victim / "meta.json").exists()
    assert not (tmp_path / "shares").exists()  # opening and deleting created nothing either


def test_size_cap_refuses_with_the_cap_named_and_deleting_makes_room(tmp_path, shop, clock):
    probe = FolderShareStore(tmp_path / "probe", clock=clock).create(upload_snapshot(shop))
    cap = 2 * probe.size_bytes - 1  # room for one snapshot of this size, not two
    store = FolderShareStore(tmp_path / "shares", max_bytes=cap, clock=clock)
    first = store.create(upload_snapshot(shop))
    assert store.used_bytes() == first.size_bytes == probe.size_bytes
    with pytest.raises(ShareStoreFull, match=rf"of its {cap / MB:.2g} MB are used.*KEEPWISE_SHARE_MAX_MB"):
        store.create(upload_snapshot(shop))
    assert [p.name for p in store.root.iterdir() if p.name != LOCK_FILE] == [first.share_id]  # nothing half-written
    store.delete(first.share_id)
    assert store.create(upload_snapshot(shop)).size_bytes == probe.size_bytes


def test_a_damaged_snapshot_reads_as_not_found_and_is_purged(store, shop):
    info = store.create(upload_snapshot(shop))
    (store.root / info.share_id / "meta.json").write_text("{not json")
    with pytest.raises(ShareNotFound):
        store.open(info.share_id)
    assert store.purge_expired() == 1
    assert store.used_bytes() == 0


def test_customers_table_with_nullable_flags_round_trips(store):
    customers = csv_bytes(
        """
        customer_id,signup_date,churned,plan,nps
        a,2024-01-05,yes,Monthly,9
        b,2024-02-10,no,Annual,
        c,2024-03-15,,Monthly,3
        """
    )
    data = load_files([("customers.csv", customers)])
    stored = store.open(store.create(Snapshot(data=data)).share_id).snapshot.data
    pd.testing.assert_frame_equal(stored.customers, data.customers)
    assert stored.customers["churned"].tolist()[:2] == [True, False]
    assert pd.isna(stored.customers["churned"].iloc[2])
    assert stored.observation_end == pd.Timestamp("2024-03-15")


def test_full_message_names_the_cap_in_megabytes(tmp_path, clock):
    store = FolderShareStore(tmp_path / "shares", max_bytes=500 * MB, clock=clock)
    share = store.create(Snapshot(demo="subscription"))
    with open(store.root / share.share_id / "transactions.parquet", "wb") as filler:
        filler.truncate(500 * MB - 200)  # a sparse file: 500 MB by size, no disk used
    with pytest.raises(ShareStoreFull, match=r"full: 500 MB of its 500 MB are used and this analysis needs 0.00\d+ MB"):
        store.create(Snapshot(demo="cdnow"))


def test_settings_from_environment(tmp_path):
    default = StoreSettings.from_env({}, default_root=tmp_path)
    assert (default.root, default.days, default.max_mb) == (tmp_path, 30.0, 500.0)
    custom = StoreSettings.from_env(
        {"KEEPWISE_DATA_DIR": "/data/shares", "KEEPWISE_SHARE_DAYS": "7", "KEEPWISE_SHARE_MAX_MB": "50"},
        default_root=tmp_path,
    )
    assert (custom.root, custom.days, custom.max_mb) == (Path("/data/shares"), 7.0, 50.0)
    assert FolderShareStore.from_settings(custom).max_bytes == 50 * MB
    for bad in ["0", "-3", "thirty", "nan"]:
        with pytest.raises(DataError, match="KEEPWISE_SHARE_DAYS must be a positive number"):
            StoreSettings.from_env({"KEEPWISE_SHARE_DAYS": bad}, default_root=tmp_path)


WRITER = """
import sys
from analytics.store.share_store import FolderShareStore, ShareStoreFull, Snapshot
store = FolderShareStore(sys.argv[1], max_bytes=int(sys.argv[2]))
made = 0
for _ in range(12):
    try:
        store.create(Snapshot(demo="cdnow"))
        made += 1
    except ShareStoreFull:
        pass
print(made)
"""


def test_the_cap_holds_for_two_processes_writing_to_one_folder(tmp_path):
    """Two app containers on one volume: the cap is checked and written under a file lock."""
    size = FolderShareStore(tmp_path / "probe").create(Snapshot(demo="cdnow")).size_bytes
    cap = 6 * size + size // 2  # room for exactly six snapshots
    root = tmp_path / "shared"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), str(cap)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    made = [int(w.communicate(timeout=120)[0]) for w in writers]
    store = FolderShareStore(root, max_bytes=cap)
    assert sum(made) == 6 == len([p for p in root.iterdir() if p.is_dir()])
    assert store.used_bytes() <= cap
    assert (root / LOCK_FILE).exists()
