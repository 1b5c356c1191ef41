"""``get(..., as_of=)``: a row as a past snapshot of the lake saw it (DuckLake time travel)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import InvalidQueryError, NotFoundError


async def _snapshot(db: Database) -> int:
    async with db.engine.connect() as connection:
        result = await connection.exec_driver_sql(
            "SELECT id FROM ducklake_current_snapshot('padb_lake')"
        )
        return int(result.scalar_one())


async def test_get_as_of_a_version_and_a_time_sees_the_row_as_it_was(
    lake_database: Database,
) -> None:
    project = await lake_database.projects.create({"name": "Before", "slug": "p"})
    version = await _snapshot(lake_database)
    moment = datetime.now(UTC)
    await lake_database.projects.update(project.id, {"name": "After"})
    assert (await lake_database.projects.get(project.id)).name == "After"
    then = await lake_database.projects.get(project.id, as_of=version)
    assert then.name == "Before"
    assert then.id == project.id and then.created_at == project.created_at  # typed as a read
    assert (await lake_database.projects.get(project.id, as_of=moment)).name == "Before"


async def test_a_row_that_did_not_exist_then_is_not_found(lake_database: Database) -> None:
    version = await _snapshot(lake_database)
    project = await lake_database.projects.create({"name": "Later", "slug": "later"})
    with pytest.raises(NotFoundError, match="No project"):
        await lake_database.projects.get(project.id, as_of=version)


async def test_a_snapshot_the_lake_does_not_have_is_not_found_and_says_why(
    lake_database: Database,
) -> None:
    project = await lake_database.projects.create({"name": "P", "slug": "p"})
    with pytest.raises(NotFoundError, match="expired by db-vacuum"):
        await lake_database.projects.get(project.id, as_of=10**9)
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    with pytest.raises(NotFoundError, match="no snapshot at"):
        await lake_database.projects.get(project.id, as_of=long_ago)


async def test_as_of_must_be_a_version_or_an_aware_datetime(lake_database: Database) -> None:
    project = await lake_database.projects.create({"name": "P", "slug": "p"})
    for wrong in (-1, True, "3", 1.5):
        with pytest.raises(InvalidQueryError, match="snapshot id"):
            await lake_database.projects.get(project.id, as_of=wrong)  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match="time-zone-aware"):
        await lake_database.projects.get(project.id, as_of=datetime.now() - timedelta(1))


async def test_a_file_refuses_as_of_and_says_what_to_use(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "a.duckdb") as db:
        project = await db.projects.create({"name": "P", "slug": "p"})
        with pytest.raises(InvalidQueryError, match="ducklake:postgres"):
            await db.projects.get(project.id, as_of=1)
