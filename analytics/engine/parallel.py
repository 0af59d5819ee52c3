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
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

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


def _import_modules(names: tuple[str, ...]) -> None:
    """Import `names` (on the worker, while its parent prepares the inputs)."""
    for name in names:
        importlib.import_module(name)


class Offloaded(Generic[T]):
    """A call started on the worker process (or left to run here when there is none).

    Parameters
    ----------
    function : callable
        A module-level function (the worker imports it by name).
    args : tuple
        Its arguments (sent pickled).
    future : Future or None
        The worker's pending result; None to compute here when `result` is asked.
    """

    def __init__(self, function: Callable[..., T], args: tuple, future: Future | None) -> None:
        self._function = function
        self._args = args
        self._future = future
        self.ran_on_worker = future is not None

    def result(self) -> T:
        """The call's value: the worker's, or computed here when the worker could not run it.

        Returns
        -------
        T
            What `function(*args)` returns.

        Raises
        ------
        Exception
            Whatever `function(*args)` raises (the worker's exception, re-raised here).
        """
        if self._future is not None:
            try:
                return self._future.result()
            except BrokenProcessPool as exc:  # the worker died (e.g. killed for memory): compute here
                logger.warning("The worker process stopped (%s); computing here instead.", exc)
                self.ran_on_worker = False
            finally:
                self._future = None
        return self._function(*self._args)


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
            executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(START_METHOD))
            executor.submit(_import_modules, self.warm_imports)  # starts the process now
        except (OSError, ValueError, RuntimeError, NotImplementedError, ImportError) as exc:
            logger.warning("No worker process could be started (%s); everything runs here.", exc)
            return self
        self._executor = executor
        return self

    def run(self, function: Callable[..., T], *args: object) -> Offloaded[T]:
        """Start `function(*args)` on the worker (or mark it to run here when there is none).

        Parameters
        ----------
        function : callable
            A module-level function.
        *args
            Its arguments.

        Returns
        -------
        Offloaded
            Its `result()` waits for the worker.
        """
        future = None
        if self._executor is not None:
            try:
                future = self._executor.submit(function, *args)
            except (BrokenProcessPool, RuntimeError, OSError) as exc:
                logger.warning("The worker process could not take the work (%s); computing here.", exc)
        return Offloaded(function, args, future)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
