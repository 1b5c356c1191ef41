"""Waiting for a row another transaction is deleting: proceed, time out, or be cancelled."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest

from project_architect_db import ConflictError, Database
from project_architect_db.schemas import ProjectCreate


async def _until_waiting(db: Database, holders: int) -> None:
    """Until a task waits on the locks (a key has a waiter beyond its ``holders``)."""
    for _ in range(500):
        if any(lock.waiters for lock in db.locks._locks.values()):
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"nobody waited (held: {db.locks.held}, holders: {holders})")


async def _delete_then_roll_back(db: Database, project_id: UUID, release: asyncio.Event) -> None:
    """Delete the project in a transaction, hold it until ``release``, then roll it back."""
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.projects.delete(project_id)
            await release.wait()
            raise RuntimeError("rolled back")


async def test_an_update_waits_for_a_delete_that_rolls_back_then_applies(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Wait", slug="wait"))
    release = asyncio.Event()

    deleter = asyncio.create_task(_delete_then_roll_back(database, project.id, release))
    await asyncio.sleep(0.05)
    updater = asyncio.create_task(database.projects.update(project.id, {"name": "Waited"}))
    await _until_waiting(database, 1)
    assert not updater.done()
    release.set()
    await deleter
    updated = await asyncio.wait_for(updater, 10)
    assert (updated.name, updated.version) == ("Waited", 2)
    assert database.locks.held == 0


async def test_an_update_that_waits_too_long_conflicts_and_writes_nothing(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Slow", slug="slow"))
    database.locks.timeout = 0.2
    release = asyncio.Event()

    holder = asyncio.create_task(_delete_then_roll_back(database, project.id, release))
    await asyncio.sleep(0.05)
    with pytest.raises(ConflictError, match=r"Waited 0\.2 s to read row .*Run the unit of work"):
        await database.projects.update(project.id, {"name": "Too late"})
    release.set()
    await holder
    assert (await database.projects.get(project.id)).name == "Slow"
    assert database.locks.held == 0


async def test_a_cancelled_waiter_leaves_no_lock_behind(database: Database) -> None:
    project = await database.projects.create(ProjectCreate(name="Gone", slug="gone-waiter"))
    release = asyncio.Event()

    holder = asyncio.create_task(_delete_then_roll_back(database, project.id, release))
    await asyncio.sleep(0.05)
    waiter = asyncio.create_task(database.projects.update(project.id, {"name": "Never"}))
    await _until_waiting(database, 1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not any(lock.waiters for lock in database.locks._locks.values())
    release.set()
    await holder
    assert database.locks.held == 0
    assert (await database.projects.get(project.id)).name == "Gone"


async def test_many_takes_each_key_in_its_mode_until_the_unit_ends(database: Database) -> None:
    async with database.transaction() as tx:
        await database.locks.many(tx, [("space", False), ("key", True), ("key", False)])
        assert database.locks.held == 2
        assert database.locks._locks["key"].writer == id(tx)
        assert id(tx) in database.locks._locks["space"].readers
    assert database.locks.held == 0


async def test_many_waits_on_a_key_held_elsewhere_and_times_out(database: Database) -> None:
    database.locks.timeout = 0.2
    release = asyncio.Event()
    taken = asyncio.Event()

    async def hold() -> None:
        async with database.transaction() as tx:
            await database.locks.exclusive(tx, "key")
            taken.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await taken.wait()
    with pytest.raises(ConflictError, match=r"Waited 0\.2 s"):
        async with database.transaction() as tx:
            await database.locks.many(tx, [("space", False), ("key", False)])
    release.set()
    await holder
    assert database.locks.held == 0
