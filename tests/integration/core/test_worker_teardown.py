"""A worker never makes anyone wait forever: not after its stop, not on its own thread.

Each of these waited forever before: work queued behind the stop marker was never run (its
future never resolved), and a connection closed on its own worker's thread (the garbage
collector finalising it while that thread ran Python code) waited for itself. Every wait is
bounded here, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from project_architect_db import Database
from project_architect_db.core._worker import ConnectionWorker, _NullFuture, _NullLoop, to_thread
from project_architect_db.core.engine import native_connection

BOUND = 10.0


def later(delay: float, fn: Callable[[], object]) -> None:
    """``threading.Timer(delay, fn)`` on a kept worker thread: no thread ends (reliability.md)."""
    worker = ConnectionWorker("later")
    worker._put((lambda: (time.sleep(delay), fn()), _NullFuture(), _NullLoop()))
    worker.stop()


def _stopped_worker() -> ConnectionWorker:
    worker = ConnectionWorker("stopped")
    worker.stop()
    worker.join(BOUND)
    assert not worker.alive
    return worker


async def test_work_submitted_after_the_stop_fails_at_once() -> None:
    worker = _stopped_worker()
    future = worker.submit(lambda: 1)
    with pytest.raises(duckdb.ConnectionException, match="already closed"):
        await asyncio.wait_for(future, BOUND)


def test_a_blocking_call_after_the_stop_fails_at_once() -> None:
    worker = _stopped_worker()
    with pytest.raises(duckdb.ConnectionException, match="already closed"):
        worker.call_blocking(lambda: 1)


def test_teardown_of_a_stopped_worker_runs_on_the_caller_once_the_thread_has_ended() -> None:
    """What the pool's last collections do after the exit hook stopped every worker."""
    worker = _stopped_worker()
    ran_on: list[str] = []
    worker.finish(lambda: ran_on.append(threading.current_thread().name))
    assert ran_on == [threading.current_thread().name]


def test_teardown_of_a_stopping_worker_waits_for_the_work_queued_before_the_stop() -> None:
    worker = ConnectionWorker("stopping")
    gate = threading.Event()
    order: list[str] = []
    worker._put((lambda: gate.wait(BOUND), _NullFuture(), _NullLoop()))
    worker._put((lambda: order.append("queued before the stop"), _NullFuture(), _NullLoop()))
    worker.stop()
    later(0.2, gate.set)
    worker.finish(lambda: order.append("teardown"))
    assert not worker.alive
    assert order == ["queued before the stop", "teardown"]


def test_a_connection_closed_after_the_exit_hook_stopped_its_worker_closes(
    tmp_path: Path,
) -> None:
    duck = duckdb.connect(str(tmp_path / "late.duckdb"))
    worker = ConnectionWorker("late-close")
    worker.stop()  # as _stop_all_at_exit does
    worker.join(BOUND)
    worker.finish(duck.close)  # before: raised (or, earlier still, waited forever)
    with pytest.raises(duckdb.ConnectionException, match="closed"):
        duck.execute("SELECT 1")


def test_work_queued_before_the_stop_still_runs_in_order() -> None:
    worker = ConnectionWorker("drain")
    gate = threading.Event()
    ran: list[int] = []
    worker.finish(lambda: None)
    worker._put((lambda: gate.wait(BOUND), _NullFuture(), _NullLoop()))
    worker._put((lambda: ran.append(1), _NullFuture(), _NullLoop()))
    worker.stop()
    worker.stop()  # a second stop adds no second marker and refuses nothing new
    gate.set()
    worker.join(BOUND)
    assert not worker.alive
    assert ran == [1]


def _on_worker(worker: ConnectionWorker, fn: Callable[[], object]) -> list[object]:
    """Run ``fn`` on ``worker``'s thread; wait (bounded) for it and for what it queued."""
    done = threading.Event()
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(fn())
        except BaseException as error:
            outcome.append(error)

    worker._put((call, _NullFuture(), _NullLoop()))
    worker._put((done.set, _NullFuture(), _NullLoop()))
    assert done.wait(BOUND), "the worker is stuck: it waited for itself"
    return outcome


def test_a_worker_refuses_to_wait_for_itself() -> None:
    worker = ConnectionWorker("self")
    try:
        [outcome] = _on_worker(worker, lambda: worker.call_blocking(lambda: None))
    finally:
        worker.stop()
        worker.join(BOUND)
    assert isinstance(outcome, RuntimeError)
    assert "cannot wait for itself" in str(outcome)


def test_teardown_on_the_workers_own_thread_runs_after_the_current_call() -> None:
    worker = ConnectionWorker("own-thread")
    order: list[str] = []

    def current_call() -> None:
        worker.finish(lambda: order.append("teardown"))  # returns at once: no self-wait
        order.append("current call ends")

    try:
        _on_worker(worker, current_call)
    finally:
        worker.stop()
        worker.join(BOUND)
    assert order == ["current call ends", "teardown"]


async def test_a_connection_closed_on_its_own_worker_thread_closes_without_deadlock(
    tmp_path: Path,
) -> None:
    """What the garbage collector does when it finalises a connection on that thread."""
    async with Database.open(tmp_path / "own.duckdb") as db:
        async with db.engine.connect() as connection:
            adapted = await native_connection(connection)
            worker = adapted._worker
            await asyncio.wait_for(worker.submit(adapted.close), BOUND)
            assert adapted.closed
            await to_thread(worker.join, BOUND)
            assert not worker.alive
            with pytest.raises(duckdb.ConnectionException, match="already closed"):
                adapted.driver_connection.execute("SELECT 1")
            with pytest.raises(OperationalError, match="already closed"):  # engine level
                await asyncio.wait_for(connection.execute(text("SELECT 1")), BOUND)
            await connection.invalidate()
        # the database goes on with fresh connections
        assert await db.projects.count() == 0


def test_teardown_queued_on_a_stopping_workers_own_thread_is_left_to_duckdb() -> None:
    """The thread is about to end; its connection is closed by DuckDB when it is collected."""
    worker = ConnectionWorker("own-stopping")
    gate = threading.Event()
    ran: list[str] = []
    finished = threading.Event()

    def last_call() -> None:
        gate.wait(BOUND)
        worker.finish(lambda: ran.append("teardown"))  # returns at once, nothing queued
        finished.set()

    worker._put((last_call, _NullFuture(), _NullLoop()))
    worker.stop()
    gate.set()
    assert finished.wait(BOUND)
    worker.join(BOUND)
    assert not worker.alive
    assert ran == []
