"""The initial revision builds exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from project_architect_db.migration import VERSIONS_DIRECTORY, MigrationManager
from project_architect_db.models import Base, Project
from tests.integration.migration.helpers import (
    SEMANTIC_TABLES,
    TABLES,
    EngineFactory,
    execute,
    schema,
)


async def test_upgrade_creates_every_table_and_records_the_head(engine: AsyncEngine) -> None:
    manager = MigrationManager(engine)

    await manager.upgrade()

    catalog = await schema(engine)
    expected = sorted([*TABLES, *SEMANTIC_TABLES, "alembic_version"])
    assert [row[0] for row in catalog["tables"]] == expected
    assert await manager.current() == await manager.head() == "0004"


async def test_a_database_at_head_has_no_autogenerate_difference(engine: AsyncEngine) -> None:
    manager = MigrationManager(engine)
    await manager.upgrade()

    assert await manager.check() == []


async def test_the_revision_builds_the_same_catalog_as_create_all(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    migrated = make_engine(tmp_path / "migrated.duckdb")
    created = make_engine(tmp_path / "created.duckdb")
    await MigrationManager(migrated).upgrade()
    async with created.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)

    got, expected = await schema(migrated), await schema(created)
    not_models = ("alembic_version", *SEMANTIC_TABLES)
    for key in ("tables", "constraints", "columns"):
        got[key] = [row for row in got[key] if row[0] not in not_models]

    assert got == expected


async def test_check_reports_a_column_the_models_gained(engine: AsyncEngine) -> None:
    metadata = sa.MetaData(naming_convention=dict(Base.metadata.naming_convention))
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["projects"].append_column(sa.Column("priority", sa.Integer(), nullable=True))
    await MigrationManager(engine).upgrade()

    diffs = await MigrationManager(engine, metadata=metadata).check()

    assert [(diff[0], diff[2], diff[3].name) for diff in diffs] == [
        ("add_column", "projects", "priority")
    ]


async def test_check_reports_an_index_missing_from_the_database(engine: AsyncEngine) -> None:
    manager = MigrationManager(engine)
    await manager.upgrade()
    await execute(engine, "DROP INDEX ix_projects_slug")

    diffs = await manager.check()

    assert [(diff[0], diff[1].name) for diff in diffs] == [("add_index", "ix_projects_slug")]


async def test_check_on_an_empty_database_lists_every_table(engine: AsyncEngine) -> None:
    diffs = await MigrationManager(engine).check()

    assert sorted(diff[1].name for diff in diffs if diff[0] == "add_table") == TABLES
    assert not await _has_version_table(engine)  # check never writes


async def test_check_ignores_tables_the_models_do_not_know(engine: AsyncEngine) -> None:
    manager = MigrationManager(engine)
    await manager.upgrade()
    await execute(engine, "CREATE TABLE app_notes (id INTEGER PRIMARY KEY, body VARCHAR)")

    assert await manager.check() == []


async def test_downgrade_to_base_drops_everything_and_upgrade_rebuilds_it(
    engine: AsyncEngine,
) -> None:
    manager = MigrationManager(engine)
    await manager.upgrade()
    before = await schema(engine)

    await manager.downgrade("base")

    catalog = await schema(engine)
    assert catalog["tables"] == [("alembic_version",)]
    assert catalog["indexes"] == []
    assert await manager.current() is None

    await manager.upgrade()

    assert await schema(engine) == before
    assert await manager.check() == []


async def test_the_schema_enforces_the_model_constraints(engine: AsyncEngine) -> None:
    await MigrationManager(engine).upgrade()
    insert = (
        "INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, architecture, "
        "metadata, created_at, updated_at, version) VALUES (uuid(), 'n', '{slug}', '{status}', "
        "'design', [], [], '{{}}', '{{}}', now(), now(), 1)"
    )
    await execute(engine, insert.format(slug="a", status="draft"))

    with pytest.raises(sa.exc.DBAPIError, match="CHECK constraint"):
        await execute(engine, insert.format(slug="b", status="bogus"))
    with pytest.raises(sa.exc.DBAPIError, match=r"[Dd]uplicate key"):
        await execute(engine, insert.format(slug="a", status="draft"))


def test_revision_files_follow_the_naming_scheme() -> None:
    names = sorted(path.name for path in VERSIONS_DIRECTORY.glob("*.py"))

    assert names[0] == "20261123_0001_initial.py"
    assert all(name == "__init__.py" or name[:8].isdigit() for name in names)
    assert Project.__tablename__ in (VERSIONS_DIRECTORY / names[0]).read_text()


async def _has_version_table(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'alembic_version'"
        )
        return bool(result.scalar())
