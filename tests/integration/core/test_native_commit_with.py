"""``NativeWrite.commit_with``: a unit's statements and its COMMIT in one worker hop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from project_architect_db import (
    AlreadyExistsError,
    Database,
    InvalidQueryError,
    NotFoundError,
    StatementTimeoutError,
)
from project_architect_db.core.native_write import NativeWrites
from tests._hops import count_hops

SLOW = "SELECT count(*) FROM range(4000000000) AS a(i) WHERE i % 7 = 3"
INSERT = (
    "INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, architecture, "
    "metadata, created_at, updated_at, version) VALUES (uuid(), $1, $2, 'draft', "
    "'requirements', [], [], '{}', '{}', now()::TIMESTAMP, now()::TIMESTAMP, 1)"
)


def _writes(db: Database) -> NativeWrites:
    writes = db._context.writes
    assert writes is not None
    return writes


async def _names(db: Database) -> list[str]:
    return sorted(project.name for project in (await db.projects.list(limit=100)).items)


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts worker hops from now on."""
    return count_hops(monkeypatch)


def _insert(name: str, slug: str) -> Callable[[duckdb.DuckDBPyConnection], str]:
    def work(duck: duckdb.DuckDBPyConnection) -> str:
        duck.execute(INSERT, [name, slug])
        return name

    return work


async def test_begin_statements_and_commit_run_in_one_hop_then_callbacks_in_order(
    database: Database, hops: list[int]
) -> None:
    seen: list[str] = []
    await database.projects.count()  # a kept connection is ready
    hops[0] = 0
    async with _writes(database).unit() as unit:
        unit.after_commit(lambda: seen.append("first"))
        unit.after_commit(lambda: seen.append("second"))

        def work(duck: duckdb.DuckDBPyConnection) -> int:
            duck.execute(INSERT, ["One", "one"])
            duck.execute(INSERT, ["Two", "two"])
            assert not seen  # callbacks wait for the COMMIT
            return 2

        assert await unit.commit_with(work) == 2
        assert seen == ["first", "second"]
        assert not unit.snapshot_taken()
    assert hops[0] == 1
    assert await _names(database) == ["One", "Two"]


async def test_work_raising_a_library_error_rolls_back_and_raises_it_as_is(
    database: Database,
) -> None:
    seen: list[str] = []

    def work(duck: duckdb.DuckDBPyConnection) -> None:
        duck.execute(INSERT, ["Half", "half"])
        raise NotFoundError("No project with id 42.")

    with pytest.raises(NotFoundError, match="No project with id 42"):
        async with _writes(database).unit() as unit:
            unit.after_commit(lambda: seen.append("published"))
            await unit.commit_with(work)
    assert not seen
    assert await _names(database) == []
    assert database.locks.held == 0


async def test_a_duckdb_error_in_the_work_is_translated_and_rolled_back(
    database: Database,
) -> None:
    def work(duck: duckdb.DuckDBPyConnection) -> None:
        duck.execute(INSERT, ["Half", "half"])
        duck.execute("SELECT * FROM no_such_table")

    with pytest.raises(InvalidQueryError):
        async with _writes(database).unit() as unit:
            await unit.commit_with(work)
    assert not unit.snapshot_taken()
    assert await _names(database) == []
    # the connection is usable again
    async with _writes(database).unit() as again:
        assert await again.commit_with(_insert("After", "after")) == "After"
    assert await _names(database) == ["After"]


async def test_a_commit_duckdb_refuses_rolls_back_raises_typed_and_keeps_the_connection(
    database: Database,
) -> None:
    """DuckDB refuses the second of two commits of one unique slug at COMMIT time."""
    readers = database._executor.readers
    assert readers is not None
    used: list[duckdb.DuckDBPyConnection] = []
    with pytest.raises(AlreadyExistsError):
        async with _writes(database).unit() as unit:

            def work(duck: duckdb.DuckDBPyConnection) -> None:
                used.append(duck)
                duck.execute(INSERT, ["Mine", "contested"])
                # another connection takes the slug and commits first
                other = duck.cursor()
                other.execute(INSERT, ["Theirs", "contested"])
                other.close()

            await unit.commit_with(work)
    assert not unit.snapshot_taken()
    assert used[0].execute("SELECT 1").fetchall() == [(1,)]  # kept open, not invalidated
    assert await _names(database) == ["Theirs"]
    async with _writes(database).unit() as again:
        await again.commit_with(_insert("Next", "next"))
    assert await _names(database) == ["Next", "Theirs"]


async def test_a_unit_ends_with_commit_with(database: Database) -> None:
    async with _writes(database).unit() as unit:
        await unit.commit_with(_insert("Once", "once"))
        with pytest.raises(RuntimeError, match="committed by commit_with"):
            await unit.commit_with(_insert("Twice", "twice"))
        with pytest.raises(RuntimeError, match="committed by commit_with"):
            await unit.run(_insert("Thrice", "thrice"))
    assert await _names(database) == ["Once"]


async def test_commit_with_joins_what_run_already_began(database: Database) -> None:
    async with _writes(database).unit() as unit:
        await unit.run(_insert("First", "first"))
        assert unit.snapshot_taken()
        await unit.commit_with(_insert("Second", "second"))
        assert not unit.snapshot_taken()
    assert await _names(database) == ["First", "Second"]


async def test_cancelling_during_the_statements_interrupts_them_and_writes_nothing(
    database: Database,
) -> None:
    started = threading.Event()
    seen: list[str] = []

    def work(duck: duckdb.DuckDBPyConnection) -> None:
        duck.execute(INSERT, ["Cancelled", "cancelled"])
        started.set()
        duck.execute(SLOW).fetchall()

    async def write() -> None:
        async with _writes(database).unit() as unit:
            unit.after_commit(lambda: seen.append("published"))
            await unit.commit_with(work)

    task = asyncio.create_task(write())
    assert await asyncio.to_thread(started.wait, 30)
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert not seen
    assert await _names(database) == []
    assert database.locks.held == 0
    async with _writes(database).unit() as again:  # no interrupt leaks into the next unit
        await again.commit_with(_insert("After", "after"))
    assert await _names(database) == ["After"]


async def test_a_cancellation_that_arrives_during_the_commit_still_commits(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the COMMIT has started it is not interrupted: the unit stands, its callbacks run,
    and the caller still learns it was cancelled."""
    committing = threading.Event()
    proceed = threading.Event()
    seen: list[str] = []

    def held_commit() -> None:  # the committer's seam: the COMMIT has started
        committing.set()
        proceed.wait(30)

    monkeypatch.setattr(_writes(database).committer, "before_commit", held_commit)

    async def write() -> None:
        async with _writes(database).unit() as unit:
            unit.after_commit(lambda: seen.append("published"))
            await unit.commit_with(_insert("Committed", "committed"))

    task = asyncio.create_task(write())
    assert await asyncio.to_thread(committing.wait, 30)
    task.cancel()
    await asyncio.sleep(0.05)
    proceed.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert seen == ["published"]
    monkeypatch.undo()
    assert await _names(database) == ["Committed"]


async def test_a_cancellation_before_the_hop_runs_writes_nothing(database: Database) -> None:
    """A unit still queued behind another when its caller is cancelled never runs its work."""
    ran: list[str] = []
    blocker = threading.Event()
    blocking = threading.Event()

    def block(duck: duckdb.DuckDBPyConnection) -> None:
        blocking.set()
        blocker.wait(30)

    async def unit_of(work: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
        async with _writes(database).unit() as unit:
            await unit.commit_with(work)

    busy = asyncio.ensure_future(unit_of(block))
    try:
        assert await asyncio.to_thread(blocking.wait, 30)

        def work(duck: duckdb.DuckDBPyConnection) -> None:
            ran.append("work")

        task = asyncio.ensure_future(unit_of(work))
        await asyncio.sleep(0.05)
        assert _writes(database).committer.queued == 1
        task.cancel()
        await asyncio.sleep(0.05)
        assert _writes(database).committer.queued == 0  # it left the queue at once
    finally:
        blocker.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    await busy
    assert ran == []
    assert database.locks.held == 0


async def test_a_unit_past_the_statement_timeout_is_rolled_back(
    tmp_path: Path, extension_directory: Path
) -> None:
    async with Database.open(
        tmp_path / "timed.duckdb", extension_directory=extension_directory, statement_timeout=0.3
    ) as db:

        def work(duck: duckdb.DuckDBPyConnection) -> None:
            duck.execute(INSERT, ["Half", "half"])
            duck.execute(SLOW).fetchall()

        with pytest.raises(StatementTimeoutError):
            async with _writes(db).unit() as unit:
                await unit.commit_with(work)
        async with db.statement_timeout(30):
            assert await _names(db) == []
            async with _writes(db).unit() as again:
                await again.commit_with(_insert("After", "after"))
            assert await _names(db) == ["After"]
