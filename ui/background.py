"""Long fits in a background thread, so a page shows what it has while a model is still fitting.

A page asks for a fit to start (`start` on a `ui.cache.per_dataset` function), shows everything
that does not need it, and draws `pending(...)` where the result goes: a line saying what is being
fitted, which reruns the page once the fit is done. The job calls the cached function itself, so
the result lands in `st.cache_data` exactly as if the page had computed it (per session for
uploads); a page that needs the result meanwhile waits on the cache's own lock instead of fitting
it a second time, and a job still queued is cancelled and computed by the page that needs it.

At most MAX_RUNNING fits run at once (a long one does not hold the others back), each in a thread that
carries the session's script context, so its cached calls (the lifetime-value fit inside the
per-segment fits) use that session's caches. The job table holds no results, only which fits
are under way, keyed on the data key (an upload's sha256).

Which queued fit runs next: one a page waits for (the latest asked for first: the page on screen),
then the prefetched ones in the order they were started. `prefetch` starts what other pages will
need as soon as data arrives (Data page); prefetched fits use at most MAX_PREFETCH_RUNNING slots, so
a fit the page on screen waits for never queues behind several long prefetches.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import add_script_run_ctx, get_script_run_ctx

#: How long a page waits for a fit it started before showing the rest and a "still fitting" line
#: (None: always wait; the app tests set this, as AppTest does not run timed fragments).
WAIT_S: float | None = 2.0
#: Seconds between checks while a fit is pending.
POLL_S = 1.0


@dataclass
class Job:
    """A fit started in the background: what it does (for the page) and its future.

    `wanted`: when a page last asked for it (monotonic seconds; 0 for a prefetch no page has asked
    for yet); `order`: when it was started (ties among prefetches); `dataset`: the data key it works
    on (None: no dataset's, e.g. loading modules); `sessions`: the sessions that started it or wait
    for it (`leave` drops a session's own)."""

    label: str
    future: Future = field(default_factory=Future)
    started: float = field(default_factory=time.monotonic)
    queued_at: float = field(default_factory=time.time)  # wall clock, for the timeline (`record`)
    wanted: float = 0.0
    order: int = 0
    prefetch: bool = False
    dataset: str | None = None
    sessions: set[str | None] = field(default_factory=set)


_LOG = logging.getLogger(__name__)
_jobs: dict[Hashable, Job] = {}
_lock = threading.Lock()
#: Fits running at once: two, so one long fit (eight per-segment fits on a large upload take minutes)
#: does not hold every other page's figures back; more would only share the machine's two cores.
MAX_RUNNING = 2
#: Of those, at most this many prefetched fits no page has asked for yet.
MAX_PREFETCH_RUNNING = 1
#: Whether `prefetch` starts anything (the app tests switch it off: a prefetched fit still running
#: after its test would take the next test's CPU and fill its cache).
PREFETCH = True
_turns = threading.Condition()  # guards _queued, _running and the jobs' wanted/prefetch
_queued: list[Job] = []
_running: list[Job] = []
_counter = iter(range(1 << 62))
#: A file the server appends one JSON line to for every background job that ends (its label, data
#: key, and when it was queued, started and ended, wall-clock seconds), every call sent to the worker
#: process (`ui.worker`), a "queued" line for every job submitted, and a "drained" line whenever no job is
#: queued or running any more (so the file ends with "drained" only while nothing is under way): how a
#: benchmark (benchmarks/bench_connect.py) sees when the background work was all done, and what ran
#: when. Set from the environment variable KEEPWISE_TIMELINE; None (the default): nothing is written.
TIMELINE: str | None = os.environ.get("KEEPWISE_TIMELINE") or None
_timeline_lock = threading.Lock()


def record(event: str, **fields: Any) -> None:
    """Append `{"event": event, **fields}` as one JSON line to `TIMELINE` (nothing when it is None)."""
    if TIMELINE is None:
        return
    line = json.dumps({"event": event, **fields}, default=str)
    with _timeline_lock, open(TIMELINE, "a", encoding="utf-8") as out:
        out.write(line + "\n")


def _record_job(job: Job, began: float | None, status: str) -> None:
    """The timeline's line for a job that ended (`status`: done, failed, cancelled), then "drained" when
    it was the last job under way."""
    if TIMELINE is None:
        return
    record(
        "job",
        label=job.label,
        dataset=job.dataset,
        asked=job.wanted > 0,  # a page waited for it (else only prefetched)
        queued=job.queued_at,
        start=began,
        end=time.time(),
        status=status,
    )
    with _lock:  # written under the lock `submit` writes "queued" under: a job queued now comes after it in the file
        if not _jobs:
            record("drained", t=time.time())


def _next_job() -> Job | None:
    """The queued job to run when a slot frees: wanted ones, latest asked first; then prefetches, oldest first."""
    live = [j for j in _queued if not j.future.cancelled()]
    wanted = [j for j in live if j.wanted > 0]
    if wanted:
        return max(wanted, key=lambda j: (j.wanted, -j.order))
    if sum(j.prefetch for j in _running) >= MAX_PREFETCH_RUNNING:
        return None
    return min(live, key=lambda j: j.order, default=None)


def _take_turn(job: Job) -> bool:
    """Block until `job` may run (a free slot and its turn); False when it was cancelled meanwhile."""
    with _turns:
        _queued.append(job)
        try:
            while not job.future.cancelled():
                if len(_running) < MAX_RUNNING and _next_job() is job:
                    _running.append(job)
                    return True
                _turns.wait(timeout=POLL_S)  # woken when a slot frees or a job is wanted; the timeout is a backstop
            return False
        finally:
            _queued.remove(job)


def _end_turn(job: Job) -> None:
    with _turns:
        if job in _running:  # not when it gave its slot away (`leave_slot`)
            _running.remove(job)
        _turns.notify_all()


_CURRENT = threading.local()  # the job this background thread runs


def leave_slot() -> None:
    """Inside a background job: let the next queued job run in this job's slot from now on.

    For a job that goes on to wait for work done elsewhere (its fit on the worker process,
    `ui.worker`): waiting takes no CPU here, and holding the slot would keep the fits this process
    could run meanwhile (the churn model, the personas) queued behind it. Nothing outside a job."""
    job = getattr(_CURRENT, "job", None)
    if job is None:
        return
    with _turns:
        if job in _running:
            _running.remove(job)
            _turns.notify_all()


def release_heap() -> None:
    """Hand the memory freed by long work back to the operating system: the C heap's (glibc keeps a
    fit's scratch, `malloc_trim`) and Arrow's (its allocator keeps the buffers of every table
    Streamlit serialised for `st.dataframe`: 75 MiB after three 300,000-row tables, 5 once released).
    """
    from analytics.data.io import release_arrow_memory, release_heap_memory

    if "pyarrow" in sys.modules:  # never imported just for this
        release_arrow_memory()
    release_heap_memory()


def _session() -> str | None:
    """The id of the session whose page (or background job) runs on this thread; None outside one."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return None if ctx is None else ctx.session_id


def want(keys: Sequence[Hashable]) -> None:
    """A page waits for these jobs now: they run before any other queued job (the latest asked for first)."""
    now, session = time.monotonic(), _session()
    with _lock:
        jobs = [j for j in (_jobs.get(k) for k in keys) if j is not None]
    with _turns:
        for job in jobs:
            job.wanted, job.prefetch = now, False
            job.sessions.add(session)
        _turns.notify_all()


def leave(dataset: str) -> list[str]:
    """This session has moved on from `dataset` (a new upload, connection or demo): its jobs on it that no
    other session started or waits for are cancelled before they start.

    A demo's jobs are shared by every session on that demo (its results are cached for the whole
    server), so a job another session asked for stays. A job already running cannot be stopped (a
    thread running library code has no safe point to end at) and finishes: the labels of those are
    returned. Without this, the demo's fits Home starts before a user reads their own data queued
    and ran beside the user's own (two churn fits at once on a 1M-customer connection).
    """
    session = _session()
    with _lock:
        mine = [(k, j) for k, j in _jobs.items() if j.dataset == dataset]
    _LOG.info("leaving %s: %d jobs on it", dataset[:40], len(mine))
    still_running, cancelled = [], False
    for key, job in mine:
        # the check and the cancel under both locks, as `submit` and `want` add a session: a session that
        # asks for the job meanwhile either comes first (the job stays) or finds it gone (and starts it again)
        with _lock, _turns:
            job.sessions.discard(session)
            if job.sessions:
                continue
            if job.future.cancel():
                cancelled = True
                if _jobs.get(key) is job:
                    del _jobs[key]
        if not job.future.cancelled() and not job.future.done():
            still_running.append(job.label)
    if cancelled:
        with _turns:
            _turns.notify_all()  # the next queued jobs may take the cancelled ones' places in line
    if still_running:
        _LOG.info("left running (cannot be stopped): %s", "; ".join(still_running))
    return still_running


def submit(
    key: Hashable,
    label: str,
    fn: Callable[..., Any],
    *args: Any,
    _prefetch: bool = False,
    _dataset: str | None = None,
    **kwargs: Any,
) -> Job:
    """Start `fn(*args, **kwargs)` in the background under `key` (the queued or running job when there is one).

    `fn` stores its result itself (a cached function): the job only says whether it is done, and is
    forgotten when it ends. `_prefetch`: no page waits for it yet (it queues behind every fit a page
    waits for); otherwise the page that starts it waits for it. `_dataset`: the data key it works on
    (`leave` cancels it once no session that asked for it is on that data any more).
    """
    session = _session()
    with _lock:
        job = _jobs.get(key)
        known = job is not None and not job.future.cancelled()
        if not known:
            job = _jobs[key] = Job(label, wanted=0.0 if _prefetch else time.monotonic(), order=next(_counter))
            job.prefetch, job.dataset = _prefetch, _dataset
            if TIMELINE is not None:  # a "drained" line is the last one only while nothing is queued after it
                record("queued", label=label, dataset=_dataset, t=time.time())
        assert job is not None
        with _turns:
            job.sessions.add(session)
    if known:
        if not _prefetch:
            want([key])
        return job

    def run() -> None:
        if not _take_turn(job):
            _record_job(job, None, "cancelled")
            return  # a page needed it first and computed it itself
        if not job.future.set_running_or_notify_cancel():
            _end_turn(job)
            _record_job(job, None, "cancelled")
            return
        job.started, began, status = time.monotonic(), time.time(), "done"
        _CURRENT.job = job
        try:
            fn(*args, **kwargs)
        except BaseException as exc:  # the page that asks for it again gets the same error
            job.future.set_exception(exc)
            status = "failed"
        else:
            job.future.set_result(None)
        finally:
            _CURRENT.job = None
            _end_turn(job)
            with _lock:
                if _jobs.get(key) is job:
                    del _jobs[key]
            release_heap()  # the fit's freed scratch back to the system (ui.frame.release_memory)
            _record_job(job, began, status)

    thread = threading.Thread(target=run, name=f"keepwise-fit-{label[:30]}", daemon=True)
    ctx = get_script_run_ctx()
    if ctx is not None:
        add_script_run_ctx(thread, ctx)
    thread.start()
    return job


def cancel(key: Hashable) -> None:
    """Drop a job that has not started: its caller computes the result now.

    Waiting for it instead could deadlock (it may be queued behind the very fit that asks for it).
    A job already running is left alone: the cache's own lock makes the caller wait for its result.
    """
    with _lock:
        job = _jobs.get(key)
        if job is not None and job.future.cancel():
            del _jobs[key]
    if job is not None and job.future.cancelled():
        with _turns:
            _turns.notify_all()  # the next queued job may take its place in line


def done(key: Hashable) -> bool:
    """True when no job runs under `key` any more (finished, failed, taken or never started)."""
    with _lock:
        job = _jobs.get(key)
    return job is None or job.future.done()


def under_way() -> bool:
    """True while any job is queued or running (on any dataset)."""
    with _lock:
        return bool(_jobs)


def running(key: Hashable) -> Job | None:
    with _lock:
        return _jobs.get(key)


_RUN = threading.local()  # when the page run on this thread started (`run_started`)


def run_started() -> None:
    """A page's run starts on this thread (app.py, through `ui.frame.frame_started`): `settle` counts from
    here, and `run_results` keeps this run's cached results until `run_ended`."""
    _RUN.started = time.monotonic()
    _RUN.results = {}


def run_ended() -> None:
    _RUN.started = None
    _RUN.results = None


def run_results() -> dict[Hashable, Any] | None:
    """The cached results this page run has already received (`ui.cache.per_dataset`), or None outside
    a page run (a background fit, a fragment's rerun)."""
    return getattr(_RUN, "results", None)


def settle(keys: Sequence[Hashable], *, wait: bool = True) -> bool:
    """Wait for these jobs until WAIT_S after the page's run started; True when all are done (always,
    after waiting, when WAIT_S is None).

    The wait counts from the start of the run (the click), not from the call: a page that has
    already spent seconds drawing what it has shows its waiting lines at once instead of waiting
    WAIT_S more (on a 10,000-customer upload, Segments spent 2 s on its tables, then waited 2 s for
    fits that take 20). Outside a page run (no `run_started`), from the call. `wait=False`: only look
    (a page that has already waited once in this run)."""
    want(keys)
    budget = WAIT_S if wait or WAIT_S is None else 0.0
    began = getattr(_RUN, "started", None)
    deadline = None if budget is None else (time.monotonic() if began is None else began) + budget
    for key in keys:
        job = running(key)
        if job is None:
            continue
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            job.future.exception(timeout=timeout)
        except CancelledError:  # a page needed it first and computes it itself
            continue
        except TimeoutError:
            return False
    return True


def load_modules(*names: str, prefetch: bool = False) -> Hashable | None:
    """Import these modules in the background; the job's key, or None when they are all loaded.

    A page that needs heavy modules only for part of it (scikit-learn takes seconds to import on a
    fresh server) shows the rest first and that part once they have loaded. `prefetch`: no page
    waits for them yet (`ui.prefetch`: a module a page would otherwise import on its first visit)."""
    key = ("import", *names)
    if done(key) and all(name in sys.modules for name in names):
        return None
    label = "Loading the models (the first visit after the server started)"
    submit(key, label, _import_all, names, _prefetch=prefetch)
    return key


def _import_all(names: Sequence[str]) -> None:
    for name in names:
        importlib.import_module(name)


def pending(keys: Sequence[Hashable], what: str | None = None) -> None:
    """A line saying what is being fitted (and for how long); reruns the page once every job is done.

    `what`: the page's own words for the last job of `keys` (the others are fits it needs first).
    Draws nothing when no job is under way any more."""
    if all(done(k) for k in keys):
        return

    @st.fragment(run_every=POLL_S)
    def watch() -> None:
        jobs = [j for j in (running(k) for k in keys) if j is not None and not j.future.done()]
        if not jobs:
            st.rerun()
        now = [j for j in jobs if j.future.running()]
        queued = [j.label for j in jobs if not j.future.running()]
        doing = what or "; ".join(dict.fromkeys(j.label for j in now)) or "Waiting for a model fit to start"
        if what and now and not any(j is running(keys[-1]) for j in now):  # the page's own fit waits its turn
            doing += ", once this is done: " + "; ".join(dict.fromkeys(j.label[0].lower() + j.label[1:] for j in now))
        since = time.monotonic() - min(j.started for j in (now or jobs))
        line = f":material/hourglass_top: {doing}… ({since:.0f} s so far)"
        if queued and not what:
            line += " Then: " + "; ".join(dict.fromkeys(label[0].lower() + label[1:] for label in queued)) + "."
        st.caption(line + " This part fills in when it is done.")

    watch()
