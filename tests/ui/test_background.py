"""ui.background: at most MAX_RUNNING fits at once, a queued fit can be taken over, a page waits a bounded time."""

from __future__ import annotations

import json
import sys
import threading
import time

import pytest

from ui import background


@pytest.fixture(autouse=True)
def no_jobs_left():
    yield
    background._jobs.clear()  # every test releases its jobs; this only forgets their keys


def test_a_job_runs_and_is_forgotten_when_done():
    seen = []
    background.submit(("t", 0), "Adding", seen.append, 42)
    assert background.settle([("t", 0)])
    assert seen == [42]
    assert background.done(("t", 0)) and background.running(("t", 0)) is None


def test_the_same_key_is_not_started_twice():
    gate, calls = threading.Event(), []

    def slow() -> None:
        calls.append(1)
        gate.wait(5)

    first = background.submit(("t", 1), "Slow", slow)
    again = background.submit(("t", 1), "Slow", slow)
    assert again is first
    gate.set()
    assert background.settle([("t", 1)])
    assert calls == [1]


def test_at_most_max_running_fits_run_and_a_queued_one_can_be_taken_over():
    gate, ran = threading.Event(), []
    for i in range(background.MAX_RUNNING):
        background.submit(("t", 10 + i), "Blocking", gate.wait, 5)
    time.sleep(0.1)  # the blocking jobs hold every slot
    background.submit(("t", 3), "Queued", ran.append, "background")
    assert background.running(("t", 3)) is not None and not background.done(("t", 3))
    background.cancel(("t", 3))  # a page needs it now: it computes it itself
    assert background.done(("t", 3))
    gate.set()
    assert background.settle([("t", 10 + i) for i in range(background.MAX_RUNNING)] + [("t", 3)])
    time.sleep(0.1)
    assert ran == []  # the cancelled job never ran


def test_settle_waits_at_most_wait_s_and_wait_false_only_looks(monkeypatch):
    gate = threading.Event()
    monkeypatch.setattr(background, "WAIT_S", 0.2)
    background.submit(("t", 4), "Blocking", gate.wait, 5)
    began = time.monotonic()
    assert not background.settle([("t", 4)])
    assert 0.15 <= time.monotonic() - began < 2
    began = time.monotonic()
    assert not background.settle([("t", 4)], wait=False)
    assert time.monotonic() - began < 0.1
    gate.set()
    monkeypatch.setattr(background, "WAIT_S", None)  # the app tests' setting: wait until done
    assert background.settle([("t", 4)])


def test_settle_counts_its_wait_from_the_start_of_the_page_run(monkeypatch):
    gate = threading.Event()
    monkeypatch.setattr(background, "WAIT_S", 0.3)
    background.submit(("t", 5), "Blocking", gate.wait, 5)
    try:
        background.run_started()
        time.sleep(0.2)  # the page draws what it has
        began = time.monotonic()
        assert not background.settle([("t", 5)])
        assert time.monotonic() - began < 0.2  # waits only what is left of the 0.3 s
        time.sleep(0.15)
        began = time.monotonic()
        assert not background.settle([("t", 5)])
        assert time.monotonic() - began < 0.15  # the run is past its wait: only looks (no 0.3 s wait)
        background.run_ended()
        began = time.monotonic()
        assert not background.settle([("t", 5)])
        assert time.monotonic() - began >= 0.25  # outside a page run: from the call
    finally:
        background.run_ended()
        gate.set()


def test_modules_load_in_the_background_and_a_prefetched_import_waits_for_no_page(monkeypatch):
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    key = background.load_modules("colorsys", prefetch=True)
    assert key == ("import", "colorsys")
    job = background.running(key)
    assert job is None or job.prefetch  # queued behind every fit a page waits for
    assert background.settle([key])
    assert "colorsys" in sys.modules
    assert background.load_modules("colorsys", prefetch=True) is None  # loaded: nothing to start


def test_a_failed_job_is_done_and_the_caller_computes_it_again():
    def fail() -> None:
        raise ValueError("no data")

    background.submit(("t", 5), "Failing", fail)
    assert background.settle([("t", 5)])
    assert background.done(("t", 5)) and background.running(("t", 5)) is None


def test_a_fit_a_page_waits_for_runs_before_prefetched_ones_and_prefetches_take_one_slot():
    gate, ran = threading.Event(), []
    background.submit(("t", 20), "Prefetched, running", gate.wait, 5, _prefetch=True)
    time.sleep(0.1)
    background.submit(("t", 21), "Prefetched, queued", ran.append, "prefetch", _prefetch=True)
    time.sleep(0.2)
    # one slot is free, but prefetches use at most MAX_PREFETCH_RUNNING of them
    assert background.MAX_PREFETCH_RUNNING == 1 and ran == []
    background.submit(("t", 22), "Wanted", ran.append, "wanted")  # a page waits for this one: it takes the free slot
    assert background.settle([("t", 22)])
    assert ran == ["wanted"]
    gate.set()
    assert background.settle([("t", 20), ("t", 21)])
    assert ran == ["wanted", "prefetch"]


def test_a_prefetched_fit_a_page_asks_for_goes_first(monkeypatch):
    monkeypatch.setattr(background, "MAX_RUNNING", 1)  # one at a time: the order they run in is the order they end
    gate, ran = threading.Event(), []
    background.submit(("t", 30), "Blocking", gate.wait, 5)
    time.sleep(0.1)
    background.submit(("t", 33), "Prefetched", ran.append, "early prefetch", _prefetch=True)
    background.submit(("t", 34), "Wanted", ran.append, "wanted")
    background.submit(("t", 35), "Prefetched later", ran.append, "asked for", _prefetch=True)
    time.sleep(0.05)
    background.want([("t", 35)])  # the page now on screen waits for it: latest asked first
    gate.set()
    deadline = time.monotonic() + 5
    while len(ran) < 3 and time.monotonic() < deadline:  # only look: `settle` would ask for all of them
        time.sleep(0.02)
    assert ran == ["asked for", "wanted", "early prefetch"]


def test_release_heap_returns_arrows_pool_and_the_c_heap(monkeypatch):
    """Arrow's allocator keeps what Streamlit serialised for st.dataframe; malloc_trim alone does not return it."""
    import pyarrow  # noqa: F401  (loaded, as in the app)

    from analytics.data import io

    calls = []
    monkeypatch.setattr(io, "release_arrow_memory", lambda: calls.append("arrow"))
    monkeypatch.setattr(io, "release_heap_memory", lambda: calls.append("heap"))
    background.release_heap()
    assert calls == ["arrow", "heap"]


def test_a_job_that_waits_for_the_worker_process_leaves_its_slot_to_the_next_fit():
    """A fit sent to the worker process (`ui.worker`) waits without using this process's CPU: from
    `leave_slot` on, the queued fits run beside it instead of behind it."""
    gate, ran = threading.Event(), []

    def waits_elsewhere() -> None:
        background.leave_slot()
        gate.wait(5)

    for i in range(background.MAX_RUNNING):
        background.submit(("t", 20 + i), "On the worker", waits_elsewhere)
    background.submit(("t", 30), "Churn model", ran.append, "ran")
    assert background.settle([("t", 30)])  # while every earlier job still waits
    assert ran == ["ran"] and not background.done(("t", 20))
    gate.set()
    assert background.settle([("t", 20 + i) for i in range(background.MAX_RUNNING)])
    assert background._running == []
    background.leave_slot()  # outside a job: nothing to leave


def test_leaving_a_dataset_cancels_its_queued_jobs_unless_another_session_waits_for_them(monkeypatch):
    """A session that reads its own data stops the fits queued for the demo it was on, but not one another
    session on that demo asked for (the demo's results are shared), nor a job on other data."""
    gate, ran = threading.Event(), []
    for i in range(background.MAX_RUNNING):
        background.submit(("t", 40 + i), "Blocking", gate.wait, 5)
    time.sleep(0.1)  # every slot is taken: what follows stays queued
    session = "a"
    monkeypatch.setattr(background, "_session", lambda: session)
    background.submit(("t", 43), "Demo churn", ran.append, "demo churn", _dataset="demo:x", _prefetch=True)
    background.submit(("t", 44), "Demo CLV", ran.append, "demo clv", _dataset="demo:x")
    background.submit(("t", 45), "Own fit", ran.append, "own", _dataset="db:y")
    session = "b"
    background.want([("t", 44)])  # another session on the demo waits for its CLV fit
    session = "a"
    assert background.leave("demo:x") == []  # nothing of the demo's was running yet
    assert background.done(("t", 43)) and background.running(("t", 43)) is None
    assert not background.done(("t", 44)) and not background.done(("t", 45))
    gate.set()
    assert background.settle([("t", 40 + i) for i in range(background.MAX_RUNNING)] + [("t", 44), ("t", 45)])
    time.sleep(0.1)
    assert sorted(ran) == ["demo clv", "own"]  # the demo's churn fit never ran


def test_leaving_a_dataset_leaves_a_running_job_to_finish_and_says_so(monkeypatch):
    gate, ran = threading.Event(), []

    def fit() -> None:
        gate.wait(5)
        ran.append("fit")

    monkeypatch.setattr(background, "_session", lambda: "a")
    background.submit(("t", 50), "Fitting the churn model", fit, _dataset="demo:x")
    time.sleep(0.1)
    assert background.leave("demo:x") == ["Fitting the churn model"]
    gate.set()
    assert background.settle([("t", 50)])
    assert ran == ["fit"]


def test_leaving_a_dataset_never_cancels_a_job_another_session_has_asked_for(monkeypatch):
    """Review F5: `leave` checked that no other session wanted a job, then cancelled it under another lock
    acquisition; a session asking in between (here: just before the cancel) lost the job it had asked for
    and computed the fit on its page instead. The check and the cancel are now one step."""
    gate = threading.Event()
    for i in range(background.MAX_RUNNING):
        background.submit(("t", 60 + i), "Blocking", gate.wait, 5)
    time.sleep(0.1)  # every slot is taken: what follows stays queued
    session = "a"
    monkeypatch.setattr(background, "_session", lambda: session)
    job = background.submit(("t", 63), "Demo CLV", lambda: None, _dataset="demo:x", _prefetch=True)
    cancel = background.cancel

    def another_session_asks_first(key):
        nonlocal session
        session = "b"
        asking = threading.Thread(target=background.want, args=([key],))
        asking.start()
        asking.join(1.0)
        session = "a"
        cancel(key)

    monkeypatch.setattr(background, "cancel", another_session_asks_first)
    background.leave("demo:x")
    assert not (job.future.cancelled() and "b" in job.sessions)
    gate.set()
    assert background.settle([("t", 60 + i) for i in range(background.MAX_RUNNING)] + [("t", 63)])


def test_a_session_asking_while_another_leaves_keeps_the_job_or_finds_it_gone(monkeypatch):
    """Review R1: session b asks for a queued job, from its own thread, at the very moment session a's
    `leave` drops a from it. Whatever the interleaving, b is never left waiting on a cancelled job: either
    b came first (the job stays, with b) or the job was cancelled and is gone (b's page computes it)."""
    gate = threading.Event()
    for i in range(background.MAX_RUNNING):
        background.submit(("t", 80 + i), "Blocking", gate.wait, 5)
    time.sleep(0.1)  # every slot is taken: what follows stays queued
    monkeypatch.setattr(background, "_session", lambda: "b" if threading.current_thread().name == "session-b" else "a")
    key = ("t", 83)
    job = background.submit(key, "Demo CLV", lambda: None, _dataset="demo:y", _prefetch=True)
    asking = threading.Thread(target=background.want, args=([key],), name="session-b")

    class AskedWhileDiscarding(set):
        def discard(self, session):
            super().discard(session)
            asking.start()  # b asks now, while `leave` is deciding
            asking.join(0.3)

    job.sessions = AskedWhileDiscarding(job.sessions)
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # b runs as soon as it can: in any gap `leave` leaves between its steps
    try:
        background.leave("demo:y")
    finally:
        sys.setswitchinterval(switching)
    asking.join(5)
    assert not asking.is_alive()
    if job.future.cancelled():
        assert "b" not in job.sessions and background.running(key) is None
    else:
        assert "b" in job.sessions and background.running(key) is job
    gate.set()
    assert background.settle([("t", 80 + i) for i in range(background.MAX_RUNNING)])


def test_the_timeline_says_what_ran_when_and_when_the_queue_drained(tmp_path, monkeypatch):
    """KEEPWISE_TIMELINE (`background.TIMELINE`): one line per job that ended, with its label, data and
    wall-clock queued/start/end, then "drained" once no job is under way (benchmarks/bench_connect.py)."""
    path = tmp_path / "timeline.jsonl"
    monkeypatch.setattr(background, "TIMELINE", str(path))
    gate = threading.Event()
    before = time.time()
    background.submit(("t", 70), "Fitting A", gate.wait, 5, _dataset="db:timeline")
    background.submit(("t", 71), "Prefetching B", time.sleep, 0.05, _prefetch=True, _dataset="db:timeline")
    time.sleep(0.2)
    assert not path.exists() or "drained" not in path.read_text()  # A still runs
    gate.set()
    assert background.settle([("t", 70), ("t", 71)])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not path.exists() or '"drained"' not in path.read_text()):
        time.sleep(0.05)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    # (jobs of earlier tests may end meanwhile and be written too)
    jobs = {e["label"]: e for e in events if e["event"] == "job" and e["dataset"] == "db:timeline"}
    assert set(jobs) == {"Fitting A", "Prefetching B"}
    a, b = jobs["Fitting A"], jobs["Prefetching B"]
    assert a["status"] == b["status"] == "done"
    assert a["asked"] and not b["asked"]  # B was only prefetched
    assert before <= a["queued"] <= a["start"] <= a["end"] and b["queued"] <= b["start"] <= b["end"]
    assert a["end"] - a["start"] >= 0.2  # it waited for the gate
    assert events[-1]["event"] == "drained" and events[-1]["t"] >= max(a["end"], b["end"])
    assert [e["event"] for e in events].count("drained") >= 1


def test_the_quiet_collection_waits_for_the_background_work_to_end(monkeypatch):
    """`ui.cache.release_when_quiet` fires 2 s after the last computation ended, which in a 1M-customer
    connection's queue of prefetches happened between jobs, many times (a full collection each: 5 s of
    the server's time in one profile); while a job is under way it now leaves it to the last one."""
    import gc

    from ui import cache

    collections = []
    monkeypatch.setattr(gc, "collect", lambda *a: collections.append(1))
    monkeypatch.setattr(background, "release_heap", lambda: None)
    gate = threading.Event()
    background.submit(("t", 80), "Long prefetch", gate.wait, 5, _prefetch=True)
    time.sleep(0.1)
    cache._release_now()
    assert collections == []
    gate.set()
    assert background.settle([("t", 80)])
    deadline = time.monotonic() + 5
    while background.under_way() and time.monotonic() < deadline:
        time.sleep(0.02)
    cache._release_now()
    assert collections == [1]


def test_a_job_queued_after_the_queue_drained_keeps_the_timeline_open_until_it_ends(tmp_path, monkeypatch):
    """Review R2: a job submitted after a "drained" line (a prefetch a late page starts) wrote nothing until it
    ended, so the file still ended with the old "drained" and bench_connect read the work as done too early."""
    path = tmp_path / "timeline.jsonl"
    monkeypatch.setattr(background, "TIMELINE", str(path))
    background.submit(("t", 90), "Quick", time.sleep, 0.01, _dataset="db:late")
    assert background.settle([("t", 90)])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not path.exists() or '"drained"' not in path.read_text()):
        time.sleep(0.05)
    gate = threading.Event()
    background.submit(("t", 91), "Late prefetch", gate.wait, 5, _prefetch=True, _dataset="db:late")
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["event"] == "queued" and last["label"] == "Late prefetch"  # not "drained": work is under way
    gate.set()
    assert background.settle([("t", 91)])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and json.loads(path.read_text().splitlines()[-1])["event"] != "drained":
        time.sleep(0.05)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    ended = [e for e in events if e["event"] == "job" and e["label"] == "Late prefetch"]
    assert ended and events[-1]["event"] == "drained" and events[-1]["t"] >= ended[0]["end"]
