"""The worker process (`analytics.engine.parallel`): the same values as a call here, and a fallback."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
import types
import weakref
from pathlib import Path

import pytest

from analytics.engine import parallel
from analytics.engine.parallel import WorkerLost, WorkerProcess


class Payload:
    """A stand-in for a large argument (weakly referenceable, so the test sees when it is freed)."""

    def __init__(self, value: int) -> None:
        self.value = value


def slowly(payload: Payload) -> int:
    time.sleep(3.0)  # longer than the test waits for the argument to be freed
    return payload.value


def square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def die(x: int, parent: int) -> int:
    if os.getpid() != parent:
        os._exit(3)  # the worker dies without a word, as when the system kills it for memory
    return x + 1


def refuse(x: int) -> int:
    raise ValueError(f"no {x}")


def test_a_call_runs_on_the_worker_process_and_returns_its_value():
    with WorkerProcess(2) as worker:
        assert worker.active
        job = worker.run(square_and_pid, 7)
        value, pid = job.result()
    assert value == 49 and pid != os.getpid() and job.ran_on_worker


def test_one_worker_means_everything_runs_here():
    with WorkerProcess(1) as worker:
        assert not worker.active
        job = worker.run(square_and_pid, 3)
        assert job.result() == (9, os.getpid()) and not job.ran_on_worker


def test_a_worker_that_dies_is_replaced_by_the_fallback_here():
    with WorkerProcess(2) as worker:
        job = worker.run(die, 41, os.getpid(), fallback=lambda: die(41, os.getpid()))
        assert job.result() == 42 and not job.ran_on_worker


def test_a_worker_that_dies_without_a_fallback_says_so():
    with WorkerProcess(2) as worker, pytest.raises(WorkerLost, match="stopped"):
        worker.run(die, 41, os.getpid()).result()


def test_the_arguments_are_freed_here_once_the_worker_has_them():
    with WorkerProcess(2) as worker:
        payload = Payload(5)
        sent = weakref.ref(payload)
        job = worker.run(slowly, payload)
        del payload
        deadline = time.monotonic() + 2
        while sent() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
            gc.collect()
        assert sent() is None  # freed while the worker still works on it
        assert job.result() == 5


def test_the_functions_exception_comes_back_as_is():
    with WorkerProcess(2) as worker, pytest.raises(ValueError, match="no 5"):
        worker.run(refuse, 5).result()


def test_no_process_can_start_then_everything_runs_here(monkeypatch):
    monkeypatch.setattr(parallel, "START_METHOD", "no-such-start-method")  # get_context raises ValueError
    with WorkerProcess(2) as worker:
        assert not worker.active
        assert worker.run(square_and_pid, 4).result() == (16, os.getpid())


def value_of(payload: Payload) -> int:
    return payload.value


def test_the_worker_frees_a_calls_arguments_before_handing_memory_back(monkeypatch):
    """On the worker the executor's work item outlives the call; the arguments it arrived with must not,
    or the rows sent stay resident through `release_memory` and the next call."""
    import pickle

    arrived = pickle.loads(pickle.dumps(parallel._SentOnce((Payload(8),))))  # as the worker unpickles it
    watched: list[weakref.ref] = []
    alive_at_release: list[bool] = []

    def watch(payload: Payload) -> int:
        watched.append(weakref.ref(payload))
        return value_of(payload)

    monkeypatch.setattr(parallel, "release_memory", lambda: alive_at_release.append(watched[0]() is not None))
    assert parallel._call(watch, arrived) == 8  # `arrived` still held, as the work item holds it
    assert alive_at_release == [False]


def test_release_memory_returns_arrows_and_the_c_heaps_free_pages(monkeypatch):
    import pyarrow as pa

    from analytics.data import io

    released: list[str] = []

    class Pool:
        def release_unused(self) -> None:
            released.append("arrow")

    monkeypatch.setattr(pa, "default_memory_pool", Pool)
    monkeypatch.setattr(io, "release_heap_memory", lambda: released.append("heap"))
    parallel.release_memory()
    assert released == ["arrow", "heap"]


def test_each_call_is_followed_by_a_release_once_its_result_is_sent(monkeypatch):
    """The executor holds a call's result (and its pickle) until it is sent: the memory is handed back
    by a release queued behind the call, not only inside it."""
    submitted: list[object] = []

    class Recorder:
        def submit(self, function, *args):
            submitted.append(function)
            return parallel.Future()

    worker = WorkerProcess(2)
    worker._executor = Recorder()  # type: ignore[assignment]
    worker.run(square_and_pid, 2)
    worker.run(square_and_pid, 3)
    worker._executor = None
    assert submitted == [parallel._call, parallel.release_memory, parallel._call, parallel.release_memory]


def test_the_worker_does_not_run_the_parents_main_script(monkeypatch, tmp_path):
    """'spawn' re-runs the parent's main script in the child; a script that cannot run there (here:
    one that exits at once, like a Streamlit AppTest script outside its runner, or a report script
    without a __main__ guard) must not take the worker down."""
    script = tmp_path / "report_script.py"
    script.write_text("raise SystemExit('the main script ran in the worker')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    with WorkerProcess(2) as worker:
        assert worker.active
        value, pid = worker.run(square_and_pid, 7).result()
    assert value == 49 and pid != os.getpid()
    assert sys.modules["__main__"] is main  # given back once the worker has started


def test_a_script_that_begins_while_the_worker_starts_keeps_its_main_and_the_worker_is_not_used(monkeypatch):
    """Streamlit's script runner assigns `__main__` at the start of every page run: if that happens while
    the worker starts, the child may have been handed the app's script, so that worker is not used
    (everything runs here), and the script's own module stays in place."""
    streamlit_main = types.ModuleType("__main__")
    submit = parallel.ProcessPoolExecutor.submit

    def submit_while_a_script_begins(self, *args, **kwargs):
        sys.modules["__main__"] = streamlit_main  # another thread, at the worst moment
        return submit(self, *args, **kwargs)

    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    monkeypatch.setattr(parallel.ProcessPoolExecutor, "submit", submit_while_a_script_begins)
    with WorkerProcess(2) as worker:
        assert not worker.active
        assert worker.run(square_and_pid, 5).result() == (25, os.getpid())
    assert sys.modules["__main__"] is streamlit_main


def test_the_shared_worker_keeps_one_process_for_every_call_and_replaces_it_when_it_died():
    shared = parallel.SharedWorker(workers=2)
    try:
        assert shared.start() and shared.active
        first = shared.run(square_and_pid, 2)
        second = shared.run(square_and_pid, 3)
        (four, pid), (nine, same_pid) = first.result(), second.result()
        assert (four, nine) == (4, 9) and pid == same_pid != os.getpid()
        assert shared.run(die, 1, os.getpid(), fallback=lambda: -1).result() == -1  # it died on this call
        value, new_pid = shared.run(square_and_pid, 6).result()  # a new worker takes the next one
        assert value == 36 and new_pid not in (pid, os.getpid())
    finally:
        shared.close()
    assert not shared.active
    assert shared.run(square_and_pid, 2).result() == (4, os.getpid())  # closed: everything runs here


def test_a_shared_worker_of_one_process_runs_everything_here():
    shared = parallel.SharedWorker(workers=1)
    assert not shared.start()
    job = shared.run(square_and_pid, 3)
    assert job.result() == (9, os.getpid()) and not job.ran_on_worker


def _running(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie waiting to be reaped does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # no /proc (macOS): the signal test is all there is
        return True


def _server(code: str) -> tuple[subprocess.Popen, int]:
    """A Python process that starts a shared worker, prints its process id, then runs `code`."""
    script = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).parents[2])!r})\n"
        "from analytics.engine.parallel import SharedWorker\n"
        "shared = SharedWorker(workers=2)\n"
        "assert shared.start()\n"
        "print(shared.pids[0], flush=True)\n" + code
    )
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, int(server.stdout.readline())


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _running(pid)


def test_the_worker_process_ends_when_its_server_is_killed():
    server, worker = _server("time.sleep(60)\n")
    try:
        assert _running(worker)
        server.kill()  # SIGKILL, as the out-of-memory killer does: no exit handler runs
        server.wait(10)
        assert _gone_within(worker, 10)
    finally:
        if _running(worker):
            os.kill(worker, signal.SIGKILL)


def test_the_servers_exit_does_not_wait_for_the_call_its_worker_runs():
    server, worker = _server("shared.run(time.sleep, 60)\ntime.sleep(0.5)\n")  # then it exits
    try:
        started = time.monotonic()
        assert server.wait(30) == 0
        assert time.monotonic() - started < 15 and _gone_within(worker, 10)
    finally:
        server.kill()
        if _running(worker):
            os.kill(worker, signal.SIGKILL)


def test_closing_the_shared_worker_ends_its_running_call_and_the_call_falls_back():
    shared = parallel.SharedWorker(workers=2)
    assert shared.start()
    (worker,) = shared.pids
    job = shared.run(slowly, Payload(5), fallback=lambda: -1)
    time.sleep(0.5)
    started = time.monotonic()
    shared.close()
    assert time.monotonic() - started < 5 and not _running(worker)
    assert job.result() == -1


def test_a_shared_worker_whose_start_raced_with_a_script_starts_one_on_the_next_call(monkeypatch):
    """One unclean start (a page run began meanwhile) must not leave the server without a worker for good."""
    submit = parallel.ProcessPoolExecutor.submit
    races = [types.ModuleType("__main__")]

    def submit_while_a_script_begins_once(self, *args, **kwargs):
        if races:
            sys.modules["__main__"] = races.pop()  # another thread, at the worst moment, once
        return submit(self, *args, **kwargs)

    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    monkeypatch.setattr(parallel.ProcessPoolExecutor, "submit", submit_while_a_script_begins_once)
    shared = parallel.SharedWorker(workers=2)
    try:
        assert not shared.start()  # raced: not used
        assert shared.start() and shared.active  # the next start gives a worker
        job = shared.run(square_and_pid, 4)
        assert job.ran_on_worker and job.result()[1] != os.getpid()
    finally:
        shared.close()


def test_a_shared_worker_that_cannot_start_gives_up_after_a_few_attempts(monkeypatch):
    attempts = []
    enter = WorkerProcess.__enter__

    def counted(self):
        attempts.append(self.workers)
        return enter(self)

    monkeypatch.setattr(parallel, "START_METHOD", "no-such-start-method")
    monkeypatch.setattr(WorkerProcess, "__enter__", counted)
    shared = parallel.SharedWorker(workers=2)
    for _ in range(6):
        assert shared.run(square_and_pid, 2).result() == (4, os.getpid())
    assert attempts.count(2) == parallel.SharedWorker.MAX_FAILED_STARTS and not shared.start()


def test_an_idle_shared_worker_ends_and_the_next_call_starts_another():
    shared = parallel.SharedWorker(workers=2, idle_exit_s=1.0)
    try:
        job = shared.run(slowly, Payload(2))  # busy for 3 s: longer than the idle time, never ended meanwhile
        (first,) = shared.pids
        time.sleep(1.5)
        assert _running(first) and shared.pids == [first]
        assert job.result() == 2 and job.ran_on_worker
        assert _gone_within(first, 10) and not shared.active  # no call for 1 s: it ended
        value, second = shared.run(square_and_pid, 7).result()  # the next call starts a new one
        assert value == 49 and second not in (first, os.getpid())
    finally:
        shared.close()


def test_a_started_worker_that_gets_no_call_ends_too():
    shared = parallel.SharedWorker(workers=2, idle_exit_s=0.5)
    try:
        assert shared.start()
        (pid,) = shared.pids
        assert _gone_within(pid, 10) and not shared.active
    finally:
        shared.close()


def test_a_worker_without_idle_exit_stays():
    shared = parallel.SharedWorker(workers=2, idle_exit_s=None)
    try:
        assert shared.start()
        (pid,) = shared.pids
        assert shared.run(square_and_pid, 2).result()[1] == pid
        time.sleep(1.5)
        assert _running(pid) and shared.pids == [pid]
    finally:
        shared.close()
