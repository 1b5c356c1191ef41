"""The cross-process guard wired into ``Database`` on a lake (``core/lake/_unit.py``).

Two ``Database`` objects on one lake share nothing but PostgreSQL and the data path (each has
its own DuckDB instance and its own in-process locks): exactly what two processes share.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from project_architect_db import Database
from project_architect_db.exceptions import (
    AlreadyExistsError,
    ConflictError,
    DatabaseError,
    IntegrityError,
)
from tests.lake.conftest import Lake


async def _catalog(lake: Lake) -> asyncpg.Connection:
    server = lake.server
    return await asyncpg.connect(host=server.socket_dir, user=server.user, database=server.dbname)


async def _advisory_locks(lake: Lake) -> int:
    conn = await _catalog(lake)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
    finally:
        await conn.close()


@pytest.fixture
async def two(lake: Lake, extension_directory: Path) -> AsyncIterator[tuple[Database, Database]]:
    async with (
        lake.open(extension_directory=extension_directory) as one,
        lake.open(extension_directory=extension_directory) as other,
    ):
        yield one, other


async def test_a_unit_holds_its_keys_in_the_catalog_until_its_commit(
    two: tuple[Database, Database], lake: Lake
) -> None:
    one, other = two
    made = await one.projects.create({"name": "Held", "slug": "held"})
    assert await _advisory_locks(lake) == 0  # released with the unit
    async with one.transaction() as tx:
        await tx.projects.update(made.id, {"name": "in flight"})
        assert await _advisory_locks(lake) >= 1
        # the other database's delete waits for the row until this unit commits
        deleting = asyncio.create_task(other.projects.delete(made.id))
        await asyncio.sleep(0.5)
        assert not deleting.done()
    await deleting
    assert await other.projects.count() == 0
    assert await _advisory_locks(lake) == 0


async def test_the_same_slug_from_two_databases_is_created_once(
    two: tuple[Database, Database],
) -> None:
    one, other = two
    results = await asyncio.gather(
        *(db.projects.create({"name": "Same", "slug": "same"}) for db in (one, other, one, other)),
        return_exceptions=True,
    )
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(made) == 1, results
    assert all(isinstance(r, AlreadyExistsError | ConflictError) for r in refused), refused
    assert await other.projects.count() == 1


async def test_a_key_committed_by_another_database_after_the_snapshot_is_a_conflict(
    two: tuple[Database, Database],
) -> None:
    one, other = two
    async with one.transaction() as tx:
        assert await tx.projects.count() == 0  # this unit's snapshot is taken here
        # another task: its own unit (in this task it would join this one)
        await asyncio.create_task(other.projects.create({"name": "First", "slug": "late"}))
        # without the commit stamps this unit would not see "late" and insert a twin
        with pytest.raises(ConflictError, match="after this transaction's snapshot"):
            await tx.projects.create({"name": "Second", "slug": "late"})
    assert await one.projects.count() == 1


async def test_a_child_of_a_project_deleted_by_another_database_is_refused(
    two: tuple[Database, Database],
) -> None:
    one, other = two
    made = await one.projects.create({"name": "Gone", "slug": "gone"})
    await other.projects.delete(made.id)
    with pytest.raises(IntegrityError):
        await one.conversations.create({"project_id": made.id})
    assert await one.conversations.count() == 0


async def test_a_lock_wait_past_the_timeout_is_a_retryable_conflict(
    two: tuple[Database, Database], lake: Lake
) -> None:
    one, other = two
    made = await one.projects.create({"name": "Busy", "slug": "busy"})
    other.locks.timeout = 0.3
    async with one.transaction() as tx:
        await tx.projects.delete(made.id)
        with pytest.raises(ConflictError, match="lock wait ran out"):
            await asyncio.create_task(other.conversations.create({"project_id": made.id}))
        # the refused unit's catalog session is still usable: the next write goes through
    assert await other.conversations.count() == 0
    assert await _advisory_locks(lake) == 0


async def test_a_unit_that_catches_a_refused_lock_keeps_its_other_keys_and_commits(
    two: tuple[Database, Database], lake: Lake
) -> None:
    one, other = two
    made = await one.projects.create({"name": "Busy", "slug": "busy"})
    talk = await one.conversations.create({"project_id": made.id})
    other.locks.timeout = 0.3

    async def other_unit() -> None:
        async with other.transaction() as tx:
            await tx.projects.create({"name": "Kept", "slug": "kept"})  # its first key
            with pytest.raises(ConflictError, match="lock wait ran out"):
                await tx.conversations.add_message(talk.id, {"role": "user", "content": "x"})
            await tx.projects.create({"name": "Also", "slug": "also"})

    async with one.transaction() as tx:
        await tx.conversations.delete(talk.id)  # holds the conversation exclusive
        await asyncio.create_task(other_unit())
    assert await one.projects.count() == 3
    assert await one.conversations.count() == 0
    assert await _advisory_locks(lake) == 0


async def test_units_waiting_on_each_other_across_databases_are_a_conflict(
    two: tuple[Database, Database],
) -> None:
    one, other = two
    first = await one.projects.create({"name": "A", "slug": "a"})
    second = await one.projects.create({"name": "B", "slug": "b"})
    both_hold_one = asyncio.Barrier(2)

    async def delete_both(db: Database, order: list[object]) -> None:
        async with db.transaction() as tx:
            await tx.projects.delete(order[0])  # type: ignore[arg-type]
            await both_hold_one.wait()
            await tx.projects.delete(order[1])  # type: ignore[arg-type]

    results = await asyncio.gather(
        delete_both(one, [first.id, second.id]),
        delete_both(other, [second.id, first.id]),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors, results  # PostgreSQL found the cycle: one unit gave way
    assert all(isinstance(e, ConflictError) for e in errors), errors


async def test_a_catalog_session_ended_under_the_database_is_a_typed_error_then_recovers(
    two: tuple[Database, Database], lake: Lake
) -> None:
    one, _ = two
    await one.projects.create({"name": "Before", "slug": "before"})  # a pooled guard session
    conn = await _catalog(lake)
    try:  # an administrator (or a restart) ends every other session of the catalog
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    outcomes = []
    for number in range(3):
        try:
            await one.projects.create({"name": "After", "slug": f"after-{number}"})
            outcomes.append("ok")
        except DatabaseError as error:
            outcomes.append(type(error).__name__)
    assert outcomes[-1] == "ok", outcomes  # the pool replaced the dead sessions


async def test_the_guard_opens_and_closes_with_the_database(
    lake: Lake, extension_directory: Path
) -> None:
    db = lake.open(extension_directory=extension_directory)
    async with db:
        await db.projects.create({"name": "Open", "slug": "open"})
        assert db.locks.guard is not None  # type: ignore[attr-defined]
    assert db.locks.guard is None  # type: ignore[attr-defined]
    conn = await _catalog(lake)
    try:  # closed: no session of the guard is left on the catalog
        await asyncio.sleep(0.2)
        left = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND application_name NOT LIKE 'duckdb%' AND state = 'idle'"
            " AND query LIKE '%advisory%'"
        )
    finally:
        await conn.close()
    assert left == 0


async def test_a_read_only_lake_takes_no_catalog_lock(
    lake: Lake, extension_directory: Path
) -> None:
    async with lake.open(extension_directory=extension_directory) as db:
        await db.projects.create({"name": "Seen", "slug": "seen"})
    async with lake.open(extension_directory=extension_directory, read_only=True) as reader:
        assert reader.locks.guard is None  # type: ignore[attr-defined]
        assert await reader.projects.count() == 1


async def _kill_lock_holders(lake: Lake) -> None:
    """End the catalog sessions holding advisory locks (the units' guard sessions)."""
    conn = await _catalog(lake)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    await asyncio.sleep(0.2)


async def test_a_guard_session_ended_inside_a_unit_is_a_typed_error(
    two: tuple[Database, Database], lake: Lake
) -> None:
    one, _ = two
    made = await one.projects.create({"name": "Watched", "slug": "watched"})
    # ended before the commit: the commit stands, the caller is told to check what it guarded
    with pytest.raises(DatabaseError, match="ended before the unit did"):
        async with one.transaction() as tx:
            await tx.projects.update(made.id, {"name": "committed without its locks"})
            await _kill_lock_holders(lake)
    assert (await one.projects.get(made.id)).name == "committed without its locks"
    # ended before a later key: that key cannot be taken, nothing is written
    with pytest.raises(DatabaseError, match="cannot be reached or failed"):
        async with one.transaction() as tx:
            await tx.projects.update(made.id, {"name": "never"})
            await _kill_lock_holders(lake)
            await tx.projects.create({"name": "Later", "slug": "later"})
    assert (await one.projects.get(made.id)).name == "committed without its locks"
    await one.projects.create({"name": "Next", "slug": "next"})  # a fresh session serves it
    assert await _advisory_locks(lake) == 0


async def test_a_cancelled_wait_leaves_no_key_held(
    two: tuple[Database, Database], lake: Lake
) -> None:
    one, other = two
    made = await one.projects.create({"name": "Wait", "slug": "wait"})
    talk = await one.conversations.create({"project_id": made.id})
    async with one.transaction() as tx:
        await tx.conversations.delete(talk.id)
        waiting = asyncio.create_task(
            other.conversations.add_message(talk.id, {"role": "user", "content": "x"})
        )
        await asyncio.sleep(0.5)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert await _advisory_locks(lake) == 0
    assert await other.conversations.count() == 0
