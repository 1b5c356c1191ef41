"""Stopping grouped units (``core/_stopping.py``): cancellation and statement timeout.

Until its group's COMMIT starts, a unit whose caller is cancelled, or whose statement timeout
runs out, writes nothing and fails nobody else; once the COMMIT started it stands
(``test_group_commit.py`` and ``test_native_commit_with.py`` hold a COMMIT and cancel then).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import duckdb
import pytest

from project_architect_db import Database, StatementTimeoutError
from project_architect_db.core.group_commit import _Entry
from tests.integration.core.test_group_commit import (
    Gate,
    _insert,
    _queue_behind_a_held_group,
    _rows,
    _table,
    _unit,
    _writes,
)

SLOW = "SELECT count(*) FROM range(4000000000) AS a(i) WHERE i % 7 = 3"


def _slow_once(key: int, started: threading.Event) -> Callable[[duckdb.DuckDBPyConnection], int]:
    """Inserts ``key``; the first run then runs a long query (a re-run does not)."""
    runs: list[int] = []

    def work(duck: duckdb.DuckDBPyConnection) -> int:
        duck.execute("INSERT INTO t VALUES (?, ?)", [key, "slow"])
        runs.append(key)
        if len(runs) == 1:
            started.set()
            duck.execute(SLOW).fetchall()
        return key

    return work


async def _timed(db: Database, seconds: float, work: Callable[..., Any], log: list[Any]) -> Any:
    async with db.statement_timeout(seconds):
        return await _unit(db, work, log)


async def test_a_caller_cancelled_while_its_statements_run_in_a_group_writes_nothing(
    file_database: Database,
) -> None:
    await _table(file_database)
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    started = threading.Event()
    published: list[Any] = []
    try:
        head, (stopped, other) = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _insert(1, "head")),
            [
                _unit(file_database, _slow_once(2, started), published),
                _unit(file_database, _insert(3, "kept"), published),
            ],
        )
    finally:
        gate.released.set()
    assert await asyncio.to_thread(started.wait, 30)
    await asyncio.sleep(0.1)
    stopped.cancel()  # its long query is interrupted, its insert rolled back
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(stopped, 30)
    assert (await head, await other) == (1, 3)
    assert await _rows(file_database) == {1: "head", 3: "kept"}
    assert len(published) == 1  # only the neighbour was published
    assert file_database.locks.held == 0 and committer.queued == 0


async def test_a_neighbour_interrupted_by_a_cancellation_runs_again_alone(
    file_database: Database,
) -> None:
    """The cancelled unit's statements were done; the interrupt hits the neighbour's."""
    await _table(file_database)
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    started = threading.Event()
    try:
        head, (cancelled, neighbour, last) = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _insert(1, "head")),
            [
                _unit(file_database, _insert(2, "cancelled")),
                _unit(file_database, _slow_once(3, started)),
                _unit(file_database, _insert(4, "last")),
            ],
        )
    finally:
        gate.released.set()
    assert await asyncio.to_thread(started.wait, 30)
    await asyncio.sleep(0.1)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(cancelled, 30)
    assert (await head, await neighbour, await last) == (1, 3, 4)  # not failed by the cancel
    assert await _rows(file_database) == {1: "head", 3: "slow", 4: "last"}
    assert file_database.locks.held == 0


async def test_a_statement_timeout_running_out_while_queued_writes_nothing(
    file_database: Database,
) -> None:
    await _table(file_database)
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    published: list[Any] = []
    try:
        head, (timed, other) = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _insert(1, "head")),
            [
                _timed(file_database, 0.05, _insert(2, "timed out"), published),
                _unit(file_database, _insert(3, "kept")),
            ],
        )
        with pytest.raises(StatementTimeoutError, match=r"0\.05 s statement timeout"):
            await asyncio.wait_for(timed, 30)  # while the head is still held
        assert committer.queued == 1
    finally:
        gate.released.set()
    assert (await head, await other) == (1, 3)
    assert await _rows(file_database) == {1: "head", 3: "kept"}
    assert published == [] and file_database.locks.held == 0


async def test_a_statement_timeout_running_out_in_a_group_writes_nothing(
    file_database: Database,
) -> None:
    await _table(file_database)
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    started = threading.Event()
    published: list[Any] = []
    try:
        head, (timed, other) = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _insert(1, "head")),
            [
                _timed(file_database, 0.5, _slow_once(2, started), published),
                _unit(file_database, _insert(3, "kept")),
            ],
        )
    finally:
        gate.released.set()
    with pytest.raises(StatementTimeoutError) as raised:
        await asyncio.wait_for(timed, 30)
    assert raised.value.timeout == 0.5
    assert (await head, await other) == (1, 3)
    assert await _rows(file_database) == {1: "head", 3: "kept"}
    assert published == [] and file_database.locks.held == 0
    async with file_database.statement_timeout(0.5):  # the timeout stays with its unit
        assert await _unit(file_database, _insert(4, "after")) == 4


async def test_a_timeout_firing_after_the_answer_changes_nothing(file_database: Database) -> None:
    """Its caller was answered but has not resumed yet: the timer must not stop anything."""
    committer = _writes(file_database).committer
    future = asyncio.get_running_loop().create_future()
    entry = _Entry(object(), _insert(1, "x"), future)  # type: ignore[arg-type]
    entry.running = True
    future.set_result(1)
    committer._time_out(entry, 0.1)
    assert not entry.stopped and entry.timeout is None
    assert future.result() == 1


async def test_a_unit_that_ran_statements_first_is_stopped_like_a_grouped_one(
    file_database: Database,
) -> None:
    """``run`` then ``commit_with`` (its own transaction): a timeout and a cancellation."""
    await _table(file_database)
    published: list[str] = []

    async def joined(work: Callable[[duckdb.DuckDBPyConnection], Any]) -> None:
        async with _writes(file_database).unit() as unit:
            unit.after_commit(lambda: published.append("published"))
            await unit.run(_insert(1, "ran first"))
            await unit.commit_with(work)

    with pytest.raises(StatementTimeoutError):
        async with file_database.statement_timeout(0.3):
            await joined(lambda duck: duck.execute(SLOW).fetchall())
    started = threading.Event()
    task = asyncio.create_task(joined(_slow_once(2, started)))
    assert await asyncio.to_thread(started.wait, 30)
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert await _rows(file_database) == {}
    assert published == [] and file_database.locks.held == 0
    await joined(_insert(3, "then"))
    assert await _rows(file_database) == {1: "ran first", 3: "then"}
    assert published == ["published"]


async def test_a_unit_stopped_after_its_statements_is_rolled_back_before_the_commit(
    file_database: Database,
) -> None:
    """Its statements were done (Python cannot be interrupted): the COMMIT check catches it."""
    await _table(file_database)
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    done, proceed = threading.Event(), threading.Event()
    published: list[Any] = []

    def then_wait(duck: duckdb.DuckDBPyConnection) -> int:
        duck.execute("INSERT INTO t VALUES (3, 'stopped')")
        done.set()
        proceed.wait(30)
        return 3

    try:
        head, (kept, stopped) = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _insert(1, "head")),
            [
                _unit(file_database, _insert(2, "kept"), published),
                _unit(file_database, then_wait, published),
            ],
        )
    finally:
        gate.released.set()
    try:
        assert await asyncio.to_thread(done.wait, 30)
        stopped.cancel()
        await asyncio.sleep(0.05)
    finally:
        proceed.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(stopped, 30)
    assert (await head, await kept) == (1, 2)
    assert await _rows(file_database) == {1: "head", 2: "kept"}
    assert len(published) == 1 and file_database.locks.held == 0


async def test_a_unit_that_ran_statements_first_stands_once_its_commit_started(
    file_database: Database,
) -> None:
    """``run`` then ``commit_with``: cancelled after its statements, then during its COMMIT."""
    await _table(file_database)
    committer = _writes(file_database).committer
    published: list[int] = []

    async def joined(key: int, work: Callable[[duckdb.DuckDBPyConnection], Any]) -> None:
        async with _writes(file_database).unit() as unit:
            unit.after_commit(lambda: published.append(key))
            await unit.run(_insert(key, "ran first"))
            await unit.commit_with(work)

    done, proceed = threading.Event(), threading.Event()

    def then_wait(duck: duckdb.DuckDBPyConnection) -> None:
        done.set()
        proceed.wait(30)  # Python: the interrupt cannot stop it, the COMMIT check does

    task = asyncio.create_task(joined(1, then_wait))
    try:
        assert await asyncio.to_thread(done.wait, 30)
        task.cancel()
        await asyncio.sleep(0.05)
    finally:
        proceed.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert await _rows(file_database) == {} and published == []

    committing, release = threading.Event(), threading.Event()

    def held() -> None:
        committing.set()
        release.wait(30)

    committer.before_commit = held
    task = asyncio.create_task(joined(2, _insert(3, "joined")))
    try:
        assert await asyncio.to_thread(committing.wait, 30)
        task.cancel()
        await asyncio.sleep(0.05)
    finally:
        release.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    committer.before_commit = None
    assert await _rows(file_database) == {2: "ran first", 3: "joined"}
    assert published == [2] and file_database.locks.held == 0
