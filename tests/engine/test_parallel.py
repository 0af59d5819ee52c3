"""The worker process (`analytics.engine.parallel`): the same values as a call here, and a fallback."""

from __future__ import annotations

import os

import pytest

from analytics.engine import parallel
from analytics.engine.parallel import WorkerProcess


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


def test_a_worker_that_dies_is_replaced_by_the_call_here():
    with WorkerProcess(2) as worker:
        job = worker.run(die, 41, os.getpid())
        assert job.result() == 42 and not job.ran_on_worker


def test_the_functions_exception_comes_back_as_is():
    with WorkerProcess(2) as worker, pytest.raises(ValueError, match="no 5"):
        worker.run(refuse, 5).result()


def test_no_process_can_start_then_everything_runs_here(monkeypatch):
    monkeypatch.setattr(parallel, "START_METHOD", "no-such-start-method")  # get_context raises ValueError
    with WorkerProcess(2) as worker:
        assert not worker.active
        assert worker.run(square_and_pid, 4).result() == (16, os.getpid())
