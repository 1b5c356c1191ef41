"""The library ends no thread while the application runs: closed connections' threads are kept.

On CPython 3.11 a thread that ends after greenlet gave it per-thread state (coverage's greenlet
tracer does that on every thread) can make the main thread spin forever in greenlet's clean-up
(docs/reliability.md, "The spin in greenlet's clean-up"). So a connection's worker thread is
parked for the next connection when its connection closes, and the blocking helpers run on
these threads instead of the event loop's default executor, whose threads end with the loop.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from project_architect_db import Database
from project_architect_db.cli import app
from project_architect_db.core import _worker
from project_architect_db.core._worker import ConnectionWorker, parked_threads, to_thread

BOUND = 10.0


def _worker_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if isinstance(t, _worker._WorkerThread)}


async def test_a_closed_databases_threads_serve_the_next_one_instead_of_ending(
    tmp_path: Path,
) -> None:
    async with Database.open(tmp_path / "first.duckdb") as db:
        assert await db.projects.count() == 0
    used = _worker_threads()
    assert used
    async with Database.open(tmp_path / "second.duckdb") as db:
        assert await db.projects.count() == 0
    for thread in used:
        assert thread.free.wait(BOUND)  # its connection closed: it let go of it ...
    assert all(thread.is_alive() for thread in used), "a worker thread ended"  # ... and lives on
    assert parked_threads() >= 1


def test_a_stopped_worker_refuses_work_once_its_thread_serves_another() -> None:
    first = ConnectionWorker("first")
    first.stop()
    first.join(BOUND)
    second = ConnectionWorker("second")
    try:
        with pytest.raises(duckdb.ConnectionException, match="already closed"):
            first.call_blocking(lambda: "ran on the other worker's thread")
        assert second.call_blocking(lambda: threading.current_thread().name) == "second"
    finally:
        second.stop()
        second.join(BOUND)
    assert not first.alive
    assert not second.alive


def test_teardown_of_a_stopped_worker_runs_on_the_caller_not_on_the_thread_it_left() -> None:
    first = ConnectionWorker("left")
    first.stop()
    first.join(BOUND)
    second = ConnectionWorker("now-serving")
    gate = threading.Event()
    second._put((lambda: gate.wait(BOUND), _worker._NullFuture(), _worker._NullLoop()))
    ran_on: list[str] = []
    try:
        first.finish(lambda: ran_on.append(threading.current_thread().name))  # no wait on gate
    finally:
        gate.set()
        second.stop()
        second.join(BOUND)
    assert ran_on == [threading.current_thread().name]


def test_threads_beyond_the_parking_limit_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_worker, "MAX_PARKED", 0)
    worker = ConnectionWorker("beyond")
    thread = worker._thread
    worker.stop()
    worker.join(BOUND)
    thread.join(BOUND)
    assert not thread.is_alive()


async def test_to_thread_runs_off_the_loop_on_a_kept_worker_thread() -> None:
    ran_on: list[threading.Thread] = []

    def where(prefix: str) -> str:
        ran_on.append(threading.current_thread())
        return prefix + threading.current_thread().name

    assert await to_thread(where, "on ") == "on padb-io"
    [thread] = ran_on
    assert isinstance(thread, _worker._WorkerThread)
    assert thread is not threading.current_thread()
    assert await to_thread(thread.free.wait, BOUND)
    assert thread.is_alive()


async def test_to_thread_raises_what_the_function_raised() -> None:
    def fail() -> None:
        raise FileNotFoundError("no such folder")

    with pytest.raises(FileNotFoundError, match="no such folder"):
        await to_thread(fail)
    assert await to_thread(lambda: 1) == 1  # the thread went back to the pool, usable


async def test_a_cancelled_to_thread_lets_the_function_finish_and_keeps_the_thread() -> None:
    gate = threading.Event()
    finished = threading.Event()

    def slow() -> None:
        gate.wait(BOUND)
        finished.set()

    before = _worker_threads()
    task = asyncio.ensure_future(to_thread(slow))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.set()
    assert await to_thread(finished.wait, BOUND)
    assert all(thread.is_alive() for thread in before)


def test_an_in_process_seed_starts_no_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live display's refresh thread only where a terminal shows it (CliRunner: none)."""
    path = str(tmp_path / "seeded.duckdb")
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--database", path]).exit_code == 0
    started: list[str] = []
    start = threading.Thread.start

    def spy(thread: threading.Thread) -> None:
        if not isinstance(thread, _worker._WorkerThread):
            started.append(f"{type(thread).__name__}:{thread.name}")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", spy)
    for command in (["seed", "--preset", "tiny"], ["db-analyze", "--json"]):
        result = runner.invoke(app, [*command, "--database", path])
        assert result.exit_code == 0, result.output
    assert started == []


def test_a_forked_child_starts_its_own_threads_instead_of_the_parents_parked_ones(
    tmp_path: Path,
) -> None:
    """The parent's parked threads do not exist in a child: lending one would wait forever."""
    import os
    import time
    import warnings

    from project_architect_db import run

    async def count(path: Path) -> int:
        async with Database.open(path) as db:
            return await db.projects.count()

    assert run(count(tmp_path / "parent.duckdb")) == 0
    for thread in _worker_threads():
        assert thread.free.wait(BOUND)
    assert parked_threads() >= 1  # what the child inherits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork of a threaded process
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 1
        try:
            code = 0 if run(count(tmp_path / "child.duckdb")) == 0 else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung opening a database")
