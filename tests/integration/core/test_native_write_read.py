"""``NativeWrite.read`` (a read in the unit, translated) and ``commit_with(alone=True)``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import duckdb
import pytest

from project_architect_db import Database, InvalidQueryError, ValidationError
from project_architect_db.core.native_write import NativeWrites
from project_architect_db.schemas import ProjectCreate


def _writes(db: Database) -> NativeWrites:
    writes = db._context.writes
    assert writes is not None
    return writes


async def test_a_read_sees_the_units_own_writes_and_takes_its_snapshot(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Read", slug="read"))
    async with _writes(database).unit() as unit:
        assert not unit.snapshot_taken()
        await unit.run(
            lambda duck: duck.execute(
                "UPDATE projects SET name = 'Seen' WHERE id = $1", [project.id]
            )
        )
        rows = await unit.read(
            lambda duck: duck.execute(
                "SELECT name FROM projects WHERE id = $1", [project.id]
            ).fetchall()
        )
        assert rows == [("Seen",)]
        assert unit.snapshot_taken()
    assert (await database.projects.get(project.id)).name == "Seen"


async def test_a_read_with_invalid_sql_raises_the_librarys_error_and_rolls_back(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Kept", slug="kept"))
    with pytest.raises(InvalidQueryError) as raised:
        async with _writes(database).unit() as unit:
            await unit.run(
                lambda duck: duck.execute(
                    "UPDATE projects SET name = 'Lost' WHERE id = $1", [project.id]
                )
            )
            await unit.read(lambda duck: duck.execute("SELECT * FROM no_such_table").fetchall())
    assert isinstance(raised.value.__cause__, duckdb.Error)
    assert not unit.snapshot_taken()
    assert (await database.projects.get(project.id)).name == "Kept"
    assert database.locks.held == 0


async def test_a_read_a_value_refuses_raises_validation_error_and_writes_nothing(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Kept", slug="kept"))
    with pytest.raises(ValidationError):
        async with _writes(database).unit() as unit:
            await unit.run(
                lambda duck: duck.execute(
                    "UPDATE projects SET name = 'Lost' WHERE id = $1", [project.id]
                )
            )
            await unit.read(lambda duck: duck.execute("SELECT 'not a number'::INTEGER").fetchall())
    assert (await database.projects.get(project.id)).name == "Kept"
    assert database.locks.held == 0


# -- commit_with(alone=True): its own transaction and connection, one hop --------------------
def _rename(project_id: object, name: str) -> Callable[[duckdb.DuckDBPyConnection], int]:
    def work(duck: duckdb.DuckDBPyConnection) -> int:
        duck.execute("UPDATE projects SET name = $1 WHERE id = $2", [name, project_id])
        return 7

    return work


async def test_a_unit_committed_alone_commits_in_one_hop_outside_any_group(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Alone", slug="alone"))
    writes = _writes(database)
    groups = writes.committer.groups
    published: list[str] = []
    async with writes.unit() as unit:
        unit.after_commit(lambda: published.append("after commit"))
        assert await unit.commit_with(_rename(project.id, "Committed alone"), alone=True) == 7
        assert published == ["after commit"]
    assert writes.committer.groups == groups
    assert (await database.projects.get(project.id)).name == "Committed alone"
    assert database.locks.held == 0


async def test_a_unit_committed_alone_whose_work_fails_writes_nothing(database: Database) -> None:
    project = await database.projects.create(ProjectCreate(name="Kept", slug="kept"))

    def half(duck: duckdb.DuckDBPyConnection) -> None:
        _rename(project.id, "Half")(duck)
        duck.execute("SELECT * FROM no_such_table")

    published: list[str] = []
    with pytest.raises(InvalidQueryError):
        async with _writes(database).unit() as unit:
            unit.after_commit(lambda: published.append("after commit"))
            await unit.commit_with(half, alone=True)
    assert published == []
    assert not unit.snapshot_taken()
    assert (await database.projects.get(project.id)).name == "Kept"
    assert database.locks.held == 0


async def test_a_unit_committed_alone_and_cancelled_before_its_commit_writes_nothing(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Kept", slug="kept"))
    started, go_on = threading.Event(), threading.Event()

    def slow(duck: duckdb.DuckDBPyConnection) -> None:
        _rename(project.id, "Lost")(duck)
        started.set()
        go_on.wait(30)

    async def unit_of_work() -> None:
        async with _writes(database).unit() as unit:
            await unit.commit_with(slow, alone=True)

    task = asyncio.ensure_future(unit_of_work())
    assert await asyncio.to_thread(started.wait, 30)
    task.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await database.projects.get(project.id)).name == "Kept"
    assert database.locks.held == 0
