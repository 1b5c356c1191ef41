"""``NativeWrite.read``: a read inside a native unit's transaction, with the library's errors."""

from __future__ import annotations

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
