"""Workers still busy at interpreter exit are interrupted and joined."""

from __future__ import annotations

import threading
import time

import pytest

from project_architect_db.core._worker import (
    ConnectionWorker,
    _stop_all_at_exit,
    join_worker_threads,
    stop_workers,
)
from tests.integration.core.test_worker_teardown import later


def test_a_busy_worker_is_interrupted_and_joined() -> None:
    release = threading.Event()
    started = threading.Event()
    worker = ConnectionWorker("exit-test")
    worker.interrupt = release.set  # what DuckDB's interrupt() does: the running call returns

    def long_call() -> None:
        started.set()
        release.wait(30)

    worker._queue.put((long_call, _Done(), _Loop()))
    assert started.wait(5)
    begun = time.monotonic()
    stop_workers([worker], timeout=5)
    assert release.is_set()
    assert not worker.alive
    assert time.monotonic() - begun < 5


def test_an_idle_worker_is_stopped_without_an_interrupt() -> None:
    calls: list[str] = []
    worker = ConnectionWorker("idle-exit-test")
    worker.interrupt = lambda: calls.append("interrupt")
    stop_workers([worker], timeout=5)
    assert not worker.alive
    assert calls == []


def test_a_failing_interrupt_does_not_stop_the_others() -> None:
    release = threading.Event()
    started = threading.Event()
    broken = ConnectionWorker("broken-interrupt")

    def fail() -> None:
        release.set()
        raise RuntimeError("connection already closed")

    broken.interrupt = fail

    def long_call() -> None:
        started.set()
        release.wait(30)

    broken._queue.put((long_call, _Done(), _Loop()))
    assert started.wait(5)
    other = ConnectionWorker("other")
    stop_workers([broken, other], timeout=5)
    assert not broken.alive
    assert not other.alive


class _Done:
    def done(self) -> bool:
        return True


class _Loop:
    def call_soon_threadsafe(self, *args: object) -> None:
        return None


def test_the_exit_hook_stops_every_live_worker_it_tracks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import project_architect_db.core._worker as module

    seen: list[list[ConnectionWorker]] = []
    joined: list[float] = []
    worker = ConnectionWorker("tracked")
    try:
        # the real ones would stop the workers of this test process's other databases
        monkeypatch.setattr(
            module, "stop_workers", lambda workers, timeout=10.0: seen.append(workers)
        )
        monkeypatch.setattr(module, "join_worker_threads", lambda timeout=10.0: joined.append(1))
        _stop_all_at_exit()
        assert worker in seen[0]
        assert joined == [1]
    finally:
        monkeypatch.undo()
        stop_workers([worker])


def test_joining_waits_for_a_thread_that_outlives_its_worker() -> None:
    """A stopped worker's thread still tearing down (its worker already freed) is waited for."""
    released = threading.Event()
    finished = threading.Event()

    class Connection:
        def interrupt(self) -> None:
            return None

        def __del__(self) -> None:  # runs on the worker thread once it drops the worker
            released.wait(5)
            finished.set()

    worker = ConnectionWorker("outlives")
    worker.interrupt = Connection().interrupt
    thread = worker._thread
    worker.stop()
    del worker
    later(0.2, released.set)
    join_worker_threads(timeout=5)
    assert finished.is_set()
    assert thread.free.is_set()  # it holds nothing now, parked for the next connection


def test_joining_gives_up_after_the_timeout_on_a_worker_that_was_not_stopped() -> None:
    worker = ConnectionWorker("not-stopped")
    try:
        begun = time.monotonic()
        join_worker_threads(timeout=0.1)
        assert worker.alive
        assert time.monotonic() - begun < 5
    finally:
        stop_workers([worker])
