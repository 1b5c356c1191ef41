"""Native reads outside a transaction run on kept connections (``core/readers.py``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from project_architect_db import (
    Database,
    InvalidQueryError,
    NotFoundError,
    ProjectArchitectDBError,
    Settings,
)
from project_architect_db.core._worker import ConnectionWorker
from project_architect_db.core.autocommit import kept_readers
from project_architect_db.core.readers import NativeReaders
from project_architect_db.models import Project
from project_architect_db.queries.analytics import count
from project_architect_db.schemas import ProjectCreate


def _readers(db: Database) -> NativeReaders:
    readers = db._executor.readers
    assert readers is not None
    return readers


async def _writes_done(db: Database) -> None:
    """Wait until the group committer has given its writer connection back (it lingers a few
    loop turns after a unit for the caller's next one), so the reader counts below are exact."""
    drainer = db._executor.writes.committer._drainer
    if drainer is not None:
        await drainer


async def test_a_read_keeps_its_connection_for_the_next_one(database: Database) -> None:
    readers = _readers(database)
    assert readers.idle == 0
    project = await database.projects.create(ProjectCreate(name="Kept", slug="kept"))
    await _writes_done(database)
    assert (await database.projects.get(project.id)).slug == "kept"
    assert readers.idle == 1
    connection = readers._idle[0]
    assert (await database.projects.get(project.id)).name == "Kept"
    assert readers._idle == [connection]  # the same connection served the second read


async def test_a_kept_connection_sees_later_commits(database: Database) -> None:
    readers = _readers(database)
    first = await database.projects.create(ProjectCreate(name="One", slug="one"))
    await _writes_done(database)
    await database.projects.get(first.id)
    assert readers.idle == 1
    # written on another connection after the reader went idle
    second = await database.projects.create(ProjectCreate(name="Two", slug="two"))
    await _writes_done(database)
    await database.projects.update(first.id, {"name": "One, renamed"})
    assert (await database.projects.get(second.id)).slug == "two"
    assert (await database.projects.get(first.id)).name == "One, renamed"
    rows = await database.analytics.query(Project).aggregate(count()).rows()
    assert rows[0]["count"] == 2


async def test_concurrent_reads_beyond_the_kept_connections_all_succeed(
    database: Database,
) -> None:
    readers = _readers(database)
    project = await database.projects.create(ProjectCreate(name="Busy", slug="busy"))
    await _writes_done(database)
    found = await asyncio.gather(*(database.projects.get(project.id) for _ in range(40)))
    assert {item.id for item in found} == {project.id}
    assert readers.idle <= kept_readers(database.settings)


async def test_a_missing_row_and_a_failed_query_leave_the_connection_usable(
    database: Database,
) -> None:
    readers = _readers(database)
    with pytest.raises(NotFoundError):
        await database.projects.get("00000000-0000-7000-8000-000000000000")
    with pytest.raises(InvalidQueryError):
        await database.analytics.query(Project).group_by("no_such_field").rows()
    with pytest.raises(duckdb.CatalogException):  # translated by the callers (repositories...)
        await readers.run(lambda duck: duck.execute("SELECT * FROM no_such_table").fetchall())
    assert readers.idle == 1
    assert await readers.run(lambda duck: duck.execute("SELECT 42").fetchall()) == [(42,)]


async def test_a_cancelled_read_returns_its_connection_idle_and_usable(database: Database) -> None:
    readers = _readers(database)
    slow = readers.run(
        lambda duck: duck.execute(
            "SELECT count(*) FROM range(10000000000) t(i) WHERE i % 7 = 3"
        ).fetchall()
    )
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(slow, 0.3)
    assert readers.idle == 1
    assert await readers.run(lambda duck: duck.execute("SELECT 1").fetchall()) == [(1,)]


async def test_reads_after_close_raise_and_close_returns_the_kept_connections(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = await Database.open(tmp_path / "closed.duckdb", extension_directory=extension_directory)
    project = await db.projects.create(ProjectCreate(name="Gone", slug="gone"))
    await _writes_done(db)
    await db.projects.get(project.id)
    readers = _readers(db)
    assert readers.idle == 1
    await db.close()  # checkpoints with a kept reader around, then disposes
    assert readers.idle == 0
    with pytest.raises(ProjectArchitectDBError, match="closed"):
        await db.projects.get(project.id)
    with pytest.raises(ProjectArchitectDBError, match="closed"):
        await db.analytics.portfolio().rows()
    async with Database.open(
        tmp_path / "closed.duckdb", extension_directory=extension_directory
    ) as again:
        assert (await again.projects.get(project.id)).slug == "gone"


def test_a_pool_of_one_keeps_no_connection() -> None:
    assert kept_readers(Settings(pool_size=1, max_overflow=0)) == 0
    assert kept_readers(Settings(pool_size=2, max_overflow=0)) == 1
    assert kept_readers(Settings()) == 2


async def test_with_a_pool_of_one_reads_and_transactions_still_share_it(
    extension_directory: Path,
) -> None:
    async with Database.open(
        ":memory:",
        pool_size=1,
        max_overflow=0,
        pool_timeout=5,
        extension_directory=extension_directory,
    ) as db:
        project = await db.projects.create(ProjectCreate(name="Solo", slug="solo"))
        await _writes_done(db)
        assert (await db.projects.get(project.id)).slug == "solo"
        assert _readers(db).idle == 0
        async with db.transaction() as tx:  # would time out if a reader held the only connection
            await tx.projects.update(project.id, {"name": "Solo 2"})
        assert (await db.projects.get(project.id)).name == "Solo 2"


async def test_a_kept_connection_closed_under_the_reader_is_replaced(database: Database) -> None:
    readers = _readers(database)
    project = await database.projects.create(ProjectCreate(name="Broken", slug="broken"))
    await _writes_done(database)
    await database.projects.get(project.id)
    kept = readers._idle[0]
    kept.dbapi_connection.terminate()  # what SQLAlchemy does to an invalidated connection
    assert (await database.projects.get(project.id)).slug == "broken"  # on a new connection
    assert readers.idle == 1 and readers._idle[0] is not kept


async def test_a_connection_closed_while_lent_is_dropped_and_the_error_is_typed(
    database: Database,
) -> None:
    readers = _readers(database)
    project = await database.projects.create(ProjectCreate(name="Lent", slug="lent"))
    await _writes_done(database)
    await database.projects.get(project.id)
    adapted = readers._idle[0].dbapi_connection

    def close_under_the_reader(duck: duckdb.DuckDBPyConnection) -> None:
        adapted.closed = True  # as terminate() marks it, from another task
        raise duckdb.ConnectionException("Connection already closed!")

    with pytest.raises(duckdb.ConnectionException):
        await readers.run(close_under_the_reader)
    assert readers.idle == 0  # invalidated, not kept
    with pytest.raises(duckdb.ConnectionException, match="closed"):  # refused, never hangs
        await adapted.run(lambda duck: None)
    assert (await database.projects.get(project.id)).slug == "lent"
    adapted.closed = False  # undo the fake, then really close what it left open
    adapted.close()


@pytest.fixture
def loop_blocking_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the worker calls the event loop's thread waited for (it should never)."""
    loop_thread = threading.get_ident()
    calls: list[str] = []
    real = ConnectionWorker.call_blocking

    def spy(self: ConnectionWorker, fn: Callable[[], Any]) -> Any:
        if threading.get_ident() == loop_thread:
            calls.append(getattr(fn, "__qualname__", repr(fn)))
        return real(self, fn)

    monkeypatch.setattr(ConnectionWorker, "call_blocking", spy)
    return calls


async def test_connections_the_pool_has_no_room_for_are_closed_without_blocking_the_loop(
    tmp_path: Path, loop_blocking_calls: list[str]
) -> None:
    async with Database.open(tmp_path / "room.duckdb", pool_size=1, max_overflow=6) as db:
        project = await db.projects.create(ProjectCreate(name="Room", slug="room"))
        await _writes_done(db)
        found = await asyncio.gather(*(db.projects.get(project.id) for _ in range(7)))
        assert {item.slug for item in found} == {"room"}
        assert _readers(db).idle == 2  # two kept; the others went back to a pool of one
        assert (await db.projects.get(project.id)).name == "Room"
    assert loop_blocking_calls == []


async def test_a_broken_lent_connection_is_invalidated_without_blocking_the_loop(
    file_database: Database, loop_blocking_calls: list[str]
) -> None:
    readers = _readers(file_database)
    async with readers.holding() as held:
        held.broken = True  # as a native write whose rollback failed marks it
        adapted = held.connection
    assert adapted.closed  # terminated: its DuckDB connection and worker are gone
    assert loop_blocking_calls == []
    assert await file_database.projects.count() == 0  # a fresh connection serves the next read


async def test_closing_the_database_returns_the_kept_connections_without_blocking_the_loop(
    tmp_path: Path, loop_blocking_calls: list[str]
) -> None:
    db = await Database.open(tmp_path / "close.duckdb", pool_size=1, max_overflow=3)
    project = await db.projects.create(ProjectCreate(name="Close", slug="close"))
    await _writes_done(db)
    _readers(db).inline_budget = 0  # on the worker, so that the three reads overlap
    await asyncio.gather(*(db.projects.get(project.id) for _ in range(3)))
    assert _readers(db).idle == 2
    await db.close()
    assert loop_blocking_calls == []
    with pytest.raises(ProjectArchitectDBError):
        await db.projects.count()
