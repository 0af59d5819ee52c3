"""The server's second process for the model fits (`analytics.engine.parallel.SharedWorker`).

CPython runs one thread's Python code at a time, so fits on background threads (`ui.background`)
share one core with the pages. For a large purchase log the purchase-model fits (the lifetime-value
analysis, the churn model, the churn angle's refit at the label's cutoff, the per-segment fits) run on a second
process instead, as the headless report's do (`analytics.reports.report.build_report`): only
per-customer numbers travel (by position, no customer id), the same library functions compute
them there, and the results are the same.

One process serves every session of the server, one call at a time in the order they come; it
starts when a large dataset arrives (`start`), and a call it cannot take (it died, or none could
be started) is computed here instead, so a page always gets its figures. Below
`MIN_PURCHASES` purchases the fits take a few seconds and stay on threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from analytics.data.schema import CustomerData
from analytics.engine.parallel import SharedWorker
from analytics.reports.report import PARALLEL_MIN_PURCHASES
from ui import background

#: From this many purchases on, the fits run on the worker process (the report's threshold: below
#: it the fits take a few seconds and starting a process would eat the gain).
MIN_PURCHASES = PARALLEL_MIN_PURCHASES
R = TypeVar("R")
#: Whether the app may use a worker process at all (the app tests switch it on where they test it).
ENABLED = True

#: What the worker imports as soon as it starts (while the data is read and summarised): the modules of
#: the fits it runs (lifetime value, per-segment fits, the churn model with scikit-learn, 0.3-1 s).
WORKER = SharedWorker(
    warm_imports=(
        "analytics.reports.sections.clv",
        "analytics.business.segment_value",
        "analytics.business.churn_analysis",
    )
)


def for_data(data: CustomerData) -> SharedWorker | None:
    """The worker process for fits on `data`, or None when they run here (small data, one core, switched off)."""
    if not ENABLED or WORKER.workers < 2 or not data.has_transactions:
        return None
    if len(data.require_transactions()) < MIN_PURCHASES:
        return None
    return WORKER


def start(data: CustomerData) -> None:
    """Start the worker process now when `data` will need it (it imports the models while the data is summarised)."""
    worker = for_data(data)
    if worker is not None:
        worker.start()


def result_of(worker: SharedWorker, function: Callable[..., R], *args: Any, fallback: Callable[[], R]) -> R:
    """`function(*args)` computed on `worker` (`fallback()` here when it cannot take the call).

    Inside a background job (`ui.background`), the job gives its slot to the next queued fit while
    it waits: waiting takes no CPU here, and the work this process does meanwhile (the churn label and
    features, the personas, the pages) uses the other core."""
    sent = time.time()
    job = worker.run(function, *args, fallback=fallback)
    if background.TIMELINE is not None and job.ran_on_worker:  # what the worker ran when (the benchmarks)
        name = getattr(getattr(function, "func", function), "__qualname__", str(function))  # a partial's function
        job.when_done(lambda: background.record("worker", function=name, sent=sent, back=time.time()))
    background.leave_slot()
    return job.result()
