"""A second process for work that needs only small inputs, while this process goes on with the purchase log.

    with WorkerProcess(workers=2, warm_imports=("analytics.models.clv",)) as worker:
        fit = worker.run(fit_models, triples, settings)   # starts on the worker process
        ...                                                # the big-data work, here, meanwhile
        result = fit.result()                              # the same value as fit_models(triples, settings)

Why a process and not a thread: CPython runs Python code one thread at a time (the GIL), and the
purchase-model fits are Python-heavy (autograd, Nelder-Mead), so a thread would not use the second
core. A worker process does, at the cost of sending its inputs and its result through a pipe
(pickled): worth it for inputs that are per-customer summaries or distinct triples, not purchases.

Why 'spawn' and not 'fork': forking a process that holds gigabytes of purchases duplicates every page
CPython touches afterwards (reference counts are writes), so the worker's memory would grow towards
the parent's and the peak memory target would be lost; forking a process with running threads
(Streamlit, BLAS, OpenMP) can also deadlock. 'spawn' starts a clean interpreter that holds only what
it is sent; it imports the library once (a second or two, on the otherwise idle core, started
before the inputs are ready), and it works the same on Linux, macOS and Windows. 'forkserver' would
save that import only for a process that starts many workers; a report starts one.

When no worker can be started (one core, a sandbox without semaphores, a broken pool), `run`
computes the call here instead, so the result is the same either way; only the time differs.

Memory: the worker hands what a call freed back to the system twice: when the call returns (its
working set and arguments) and once its result has been sent (the result and its pickle, e.g. the
per-customer values, 0.3 GB at 2M customers), so that it waits for the next call at its own size.
Once the worker has the arguments (pickled into the pipe), this process drops its references
to them (the executor would otherwise hold them until the result comes back), so what the caller
deletes is freed. A worker that dies therefore cannot be replaced by the same call here: `result`
calls the caller's `fallback` (which recomputes from what this process still holds), or raises
`WorkerLost` when there is none.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import logging
import multiprocessing
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class WorkerLost(RuntimeError):
    """The worker process stopped before returning a result (e.g. killed for memory), and the call
    had no fallback to compute it here."""


START_METHOD = "spawn"
"""How the worker starts: a fresh interpreter (see the module docstring for why not 'fork')."""


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system reports one, else the CPU count).

    Returns
    -------
    int
        At least 1.
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


@contextlib.contextmanager
def _main_script_left_out() -> Iterator[Callable[[], bool]]:
    """Processes started inside do not run this process's main script again.

    'spawn' imports the parent's `__main__` again in the child (by module name or file path), so that
    functions defined there can be found. The worker runs library functions only and needs none of
    it, and running it can fail or do real work: a script that calls `build_report` without an
    `if __name__ == "__main__":` guard would start its whole report again in the worker, and a
    Streamlit test script (AppTest) cannot run outside its runner (the worker then dies at start).
    Here `__main__` is briefly a bare module with neither a name nor a file, which spawn skips.

    Two limits follow. Functions sent to the worker must live in an importable module, not in the
    caller's main script (they already had to for a script run as `python -m`). The swap is
    process-wide: another thread that assigns `__main__` itself meanwhile (Streamlit's script runner
    does, at the start of every page run) may have its script handed to the child. The block yields
    a check, true when nobody replaced the bare module while it was in place (then the child was
    started clean); when somebody did, their module is left in place, and the caller discards the
    worker (`WorkerProcess.__enter__`).
    """
    main = sys.modules.get("__main__")
    bare = types.ModuleType("__main__")
    sys.modules["__main__"] = bare
    try:
        yield lambda: sys.modules.get("__main__") is bare
    finally:
        if main is not None and sys.modules.get("__main__") is bare:
            sys.modules["__main__"] = main


def _exit_with_parent() -> None:
    """On the worker (its executor's initializer): end this process as soon as its parent is gone.

    A worker blocks on its call queue, whose write end it holds itself, so a parent killed without
    running its exit handlers (SIGKILL, the kernel's out-of-memory killer, a container stopped after
    its grace period) would leave it running, adopted by PID 1, with its memory. A daemon thread
    waits on the parent (`multiprocessing.parent_process().join()`: the spawn pipe that reads
    end-of-file when the parent dies, on every platform) and then exits the process at once.
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # called in a process that was not started by multiprocessing
        return

    def wait_then_exit() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=wait_then_exit, name="exit-with-parent", daemon=True).start()


def _import_modules(names: tuple[str, ...]) -> None:
    """Import `names` (on the worker, while its parent prepares the inputs)."""
    for name in names:
        importlib.import_module(name)


class _Received:
    """On the worker: the arguments as they arrived, handed out once (`take`), so that only the call
    holds them: the executor's work item keeps this object until the result is sent back, and it would
    otherwise keep the arguments (the per-customer rows, 0.2 GB at 2M customers) past the call and past
    `release_memory`, inflating the worker through the next call."""

    def __init__(self, args: tuple) -> None:
        self._args: tuple | None = args

    def take(self) -> tuple:
        args, self._args = self._args, None
        if args is None:
            raise RuntimeError("These arguments were already taken.")
        return args


class _SentOnce:
    """Arguments that leave this process with their first pickling: the executor keeps its work item
    (and so this object) until the result arrives, but no longer the arguments once they were sent.
    They arrive on the worker as `_Received`."""

    def __init__(self, args: tuple) -> None:
        self._args: tuple | None = args

    def __reduce__(self) -> tuple[type[_Received], tuple[tuple]]:
        args, self._args = self._args, None
        if args is None:
            raise RuntimeError("These arguments were already sent to the worker process.")
        return _Received, (args,)


def release_memory() -> None:
    """Give freed memory back to the system: a garbage collection, then Arrow's and glibc's free pages.

    Arrays of a few MB are carved from the C heap, and glibc keeps the freed pages for reuse, so a
    process's resident size stays at its peak after the arrays are gone; `malloc_trim(0)` returns the
    free pages (Linux with glibc; elsewhere only the collection runs). Arrow's allocator (text ids,
    sorts of text) keeps its own, returned by `release_unused`.
    """
    import gc

    from analytics.data.io import release_arrow_memory, release_heap_memory

    gc.collect()
    release_arrow_memory()
    release_heap_memory()


def _call(function: Callable[..., T], args: _Received | _SentOnce | tuple) -> T:
    """On the worker: `function(*args)` (the `_SentOnce` arguments arrive as `_Received`; a tuple when
    called here), then what the call freed, its arguments included, is given back to the system
    (`release_memory`) before the next call."""
    try:
        if isinstance(args, _SentOnce):  # unpickled on the worker it is a `_Received`
            raise TypeError("Arguments to send are called on the worker, not here.")
        return function(*(args.take() if isinstance(args, _Received) else args))
    finally:
        release_memory()


class Offloaded(Generic[T]):
    """A call started on the worker process (or left to run here when there is none).

    Parameters
    ----------
    function : callable
        A module-level function (the worker imports it by name).
    args : tuple
        Its arguments, kept only when it runs here (`future` None); the worker's were sent and dropped.
    future : Future or None
        The worker's pending result; None to compute here when `result` is asked.
    fallback : callable, optional
        Gives the value here when the worker dies before returning it.
    """

    def __init__(
        self,
        function: Callable[..., T],
        args: tuple,
        future: Future | None,
        fallback: Callable[[], T] | None = None,
    ) -> None:
        self._function = function
        self._args: tuple | None = args if future is None else None
        self._future = future
        self._fallback = fallback
        self.ran_on_worker = future is not None

    def when_done(self, callback: Callable[[], None]) -> None:
        """Call `callback()` once the worker has returned the result or failed (at once when it has, or
        when the call runs here).

        Parameters
        ----------
        callback : callable
            Takes no argument. It runs on the executor's thread: it must not wait for anything.
        """
        if self._future is None:
            callback()
        else:
            self._future.add_done_callback(lambda _: callback())

    def result(self) -> T:
        """The call's value: the worker's, or computed here when the worker could not run it.

        Returns
        -------
        T
            What `function(*args)` returns (or `fallback()` when the worker died).

        Raises
        ------
        WorkerLost
            When the worker died and there is no fallback.
        Exception
            Whatever `function(*args)` raises (the worker's exception, re-raised here).
        """
        if self._future is not None:
            try:
                return self._future.result()
            except BrokenProcessPool as exc:  # the worker died (e.g. killed for memory)
                self.ran_on_worker = False
                if self._fallback is None:
                    raise WorkerLost(f"The worker process stopped before returning a result ({exc}).") from exc
                logger.warning("The worker process stopped (%s); computing here instead.", exc)
                return self._fallback()
            finally:
                self._future = None
        if self._args is None:
            raise RuntimeError("This call's result was already taken.")
        args, self._args = self._args, None
        return self._function(*args)


class WorkerProcess:
    """At most one worker process for the duration of a `with` block.

    Parameters
    ----------
    workers : int
        Processes that may run at once, this one included: 1 runs everything here (no worker);
        2 or more starts one worker process.
    warm_imports : tuple of str
        Modules the worker imports as soon as it starts (so they are ready when the inputs are).
    """

    def __init__(self, workers: int = 2, warm_imports: tuple[str, ...] = ()) -> None:
        self.workers = workers
        self.warm_imports = warm_imports
        self._executor: ProcessPoolExecutor | None = None

    @property
    def active(self) -> bool:
        """True when a worker process was started."""
        return self._executor is not None

    def __enter__(self) -> WorkerProcess:
        if self.workers < 2:
            return self
        try:
            executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context(START_METHOD), initializer=_exit_with_parent
            )
            with _main_script_left_out() as started_clean:
                executor.submit(_import_modules, self.warm_imports)  # starts the process now
                clean = started_clean()
        except (OSError, ValueError, RuntimeError, NotImplementedError, ImportError) as exc:
            logger.warning("No worker process could be started (%s); everything runs here.", exc)
            return self
        if not clean:  # another thread's main script may have been handed to the child: not used
            logger.warning("The worker process started while another script began; everything runs here.")
            executor.shutdown(wait=False, cancel_futures=True)
            return self
        self._executor = executor
        return self

    def run(self, function: Callable[..., T], *args: object, fallback: Callable[[], T] | None = None) -> Offloaded[T]:
        """Start `function(*args)` on the worker (or mark it to run here when there is none).

        Calls run on the worker one after the other, in the order they were started.

        Parameters
        ----------
        function : callable
            A module-level function.
        *args
            Its arguments (dropped here once sent to the worker).
        fallback : callable, optional
            Gives the value here if the worker dies first (without it, `result` raises `WorkerLost`).

        Returns
        -------
        Offloaded
            Its `result()` waits for the worker.
        """
        future = None
        if self._executor is not None:
            try:
                future = self._executor.submit(_call, function, _SentOnce(args))
                # and once its result is sent (the executor holds it, and its pickle, until then):
                # their memory back to the system before the worker waits or takes the next call
                self._executor.submit(release_memory)
            except (BrokenProcessPool, RuntimeError, OSError) as exc:
                logger.warning("The worker process could not take the work (%s); computing here.", exc)
        return Offloaded(function, args, future, fallback)

    @property
    def pids(self) -> list[int]:
        """The worker process's id while it runs (empty when there is none)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return [pid for pid, process in list(processes.items()) if process.is_alive()]

    def stop(self) -> None:
        """End the worker process now: the calls waiting are cancelled, and one that runs is not waited for.

        For a server's exit: `__exit__` waits for the running call (minutes for a fit at 1M customers),
        long enough for a container runtime to escalate a graceful stop to SIGKILL.
        """
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=5)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _at_exit(function: Callable[[], None]) -> None:
    """Call `function` when the interpreter exits, before `concurrent.futures` waits for its pools' calls.

    `concurrent.futures.process` joins its pools at exit through `threading`'s exit hooks, which run
    before `atexit`'s and wait for the call a worker runs: a pool stopped from `atexit` comes too late.
    `threading._register_atexit` (private, Python 3.9+; hooks run last registered first) runs
    `function` before that join; `atexit` where it is missing.
    """
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        with contextlib.suppress(RuntimeError):  # the interpreter is already shutting down
            register(function)
            return
    atexit.register(function)


class SharedWorker:
    """One worker process for a long-running server (the app), shared by its threads and sessions.

    `WorkerProcess` lives for one `with` block (a report); a server's fits arrive one by one for as
    long as it runs. This starts the process on first use (`start`, or `run`), hands every call to
    it in the order they come (so a server's fits take the second core while its own process serves
    pages), starts a new one after the old one died or could not start (up to `MAX_FAILED_STARTS`
    failed starts in a row), and stops it at `close` (or when the interpreter exits). Thread-safe.

    A worker with no call to run for `idle_exit_s` seconds ends, and the next call starts a new one:
    an idle worker holds its imported libraries and the memory its fits left (about 220 MiB resident
    after a 300,000-customer session's fits), while the fits it serves come in bursts (a dataset
    arrives, a setting changes) and a new process is ready in a second or two.

    Parameters
    ----------
    warm_imports : tuple of str
        Modules the process imports as soon as it starts.
    workers : int, optional
        As `WorkerProcess`: 1 runs every call here (no process); default `min(2, available_cores())`.
    idle_exit_s : float or None, optional
        Seconds without a call after which the worker process ends (`IDLE_EXIT_S` by default; None:
        it runs until `close`).
    """

    #: Failed starts in a row after which the server stops trying (and runs every call here).
    MAX_FAILED_STARTS = 3
    #: Default seconds a worker waits without a call before it ends (`idle_exit_s`).
    IDLE_EXIT_S = 60.0

    def __init__(
        self, warm_imports: tuple[str, ...] = (), workers: int | None = None, idle_exit_s: float | None = IDLE_EXIT_S
    ) -> None:
        self.warm_imports = warm_imports
        self.workers = min(2, available_cores()) if workers is None else workers
        self.idle_exit_s = idle_exit_s
        self._lock = threading.Lock()
        self._worker: WorkerProcess | None = None
        self._closed = False
        self._failed_starts = 0
        self._stopped_at_exit = False
        # The idle countdown: its own lock, never held while waiting for anything, because a call's
        # end is reported on the executor's thread, which `_drop` may be joining under `_lock`.
        self._idle_lock = threading.Lock()
        self._calls = 0  # calls sent to `_counting` (the running worker) whose result has not come back
        self._counting: WorkerProcess | None = None
        self._idle_timer: threading.Timer | None = None

    def _live(self) -> WorkerProcess:
        """The running worker, started now when there is none (call with the lock held).

        A start that failed (no process, or one that raced with a script run) is not kept: the next call
        tries again, up to `MAX_FAILED_STARTS` failures in a row, after which everything runs here.
        """
        if self._worker is not None:
            return self._worker
        gave_up = self._failed_starts >= self.MAX_FAILED_STARTS
        worker = WorkerProcess(1 if self._closed or gave_up else self.workers, self.warm_imports).__enter__()
        if worker.active:
            self._failed_starts = 0
            if not self._stopped_at_exit:
                self._stopped_at_exit = True
                _at_exit(self.close)
        elif worker.workers >= 2:  # a failed start: not kept, the next call tries again
            self._failed_starts += 1
            if self._failed_starts >= self.MAX_FAILED_STARTS:
                logger.warning(
                    "No worker process after %d attempts; every call runs here from now on.", self._failed_starts
                )
            return worker
        self._worker = worker
        return worker

    @property
    def active(self) -> bool:
        """True while a worker process runs (started and not known to be lost)."""
        with self._lock:
            return self._worker is not None and self._worker.active

    def start(self) -> bool:
        """Start the worker process now (e.g. as soon as data arrives, so it is ready when the fits are).

        Returns
        -------
        bool
            True when a worker process runs.
        """
        with self._lock:
            worker = self._live()
            if worker.active:
                with self._idle_lock:
                    if self._calls == 0:
                        self._wait_idle(worker)
            return worker.active

    def _wait_idle(self, worker: WorkerProcess) -> None:
        """(Re)start the idle countdown of `worker` (call with `_idle_lock` held)."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self.idle_exit_s is None:
            return
        timer = threading.Timer(self.idle_exit_s, self._end_if_idle, args=(worker,))
        timer.daemon = True
        timer.name = "worker-idle-exit"
        self._idle_timer = timer
        timer.start()

    def _end_if_idle(self, worker: WorkerProcess) -> None:
        """The idle countdown ran out: end `worker` unless a call came meanwhile (the next call starts another)."""
        with self._lock:
            with self._idle_lock:
                if self._worker is not worker or self._calls:
                    return
                self._idle_timer = None
            self._worker = None
        worker.stop()
        logger.info("The worker process ended after %.0f s without a call.", self.idle_exit_s)

    def _call_done(self, worker: WorkerProcess) -> None:
        """A call's result came back (on the executor's thread): the countdown starts when none is left."""
        with self._idle_lock:
            if worker is not self._counting:  # a worker that died or ended since: not counted any more
                return
            self._calls = max(0, self._calls - 1)
            if self._calls == 0:
                self._wait_idle(worker)

    def run(self, function: Callable[..., T], *args: object, fallback: Callable[[], T] | None = None) -> Offloaded[T]:
        """`WorkerProcess.run` on the shared worker (started when there is none, replaced when it died).

        Parameters
        ----------
        function : callable
            A module-level function.
        *args
            Its arguments (dropped here once sent).
        fallback : callable, optional
            Gives the value here if the worker dies first.

        Returns
        -------
        Offloaded
            Its `result()` waits for the worker (or computes here when no worker could take it).
        """
        with self._lock:
            worker = self._live()
            job = worker.run(function, *args, fallback=fallback)
            if worker.active and not job.ran_on_worker:  # it could not take the call: it died, start another
                self._drop(worker)
                worker = self._live()
                job = worker.run(function, *args, fallback=fallback)
            if job.ran_on_worker:
                with self._idle_lock:  # busy: no countdown until its calls are done
                    if self._idle_timer is not None:
                        self._idle_timer.cancel()
                        self._idle_timer = None
                    if self._counting is not worker:
                        self._counting, self._calls = worker, 0
                    self._calls += 1
                job.when_done(functools.partial(self._call_done, worker))
            return job

    def _drop(self, worker: WorkerProcess) -> None:
        if self._worker is worker:
            self._worker = None
            with self._idle_lock:
                self._counting, self._calls = None, 0
        with contextlib.suppress(Exception):
            worker.__exit__(None, None, None)

    @property
    def pids(self) -> list[int]:
        """The worker process's id while one runs (empty otherwise)."""
        with self._lock:
            return [] if self._worker is None else self._worker.pids

    def close(self) -> None:
        """Stop the worker process now, without waiting for the call it runs (that call's `result` then
        computes here with its fallback, or raises `WorkerLost`); later calls run here."""
        with self._lock:
            self._closed = True
            worker, self._worker = self._worker, None
            with self._idle_lock:
                if self._idle_timer is not None:
                    self._idle_timer.cancel()
                    self._idle_timer = None
        if worker is not None:
            worker.stop()
