"""Upgrades and downgrades keep the data, and a failed upgrade changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from project_architect_db import MigrationError
from project_architect_db.migration import MigrationManager
from project_architect_db.models import Base
from tests.integration.migration.helpers import (
    TABLES,
    dump,
    execute,
    schema,
    seed,
    version_rows,
    write_versions,
)

ADDED = {"archived_reason"}


def _metadata_with_archived_reason() -> sa.MetaData:
    metadata = sa.MetaData(naming_convention=dict(Base.metadata.naming_convention))
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    projects = metadata.tables["projects"]
    column = sa.Column("archived_reason", sa.String(), nullable=True)
    projects.append_column(column)
    sa.Index("ix_projects_archived_reason", column)
    return metadata


async def test_upgrade_downgrade_upgrade_keeps_every_row_of_every_table(
    engine: AsyncEngine, versions_0004: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[versions_0004])
    await manager.upgrade("0003")
    await seed(engine)
    at_0003 = await dump(engine)
    assert all(len(rows) == 3 for rows in at_0003.values())

    await manager.upgrade()  # 0004 rebuilds projects in batch mode
    at_0004 = await dump(engine)
    await manager.downgrade("0003")
    back_at_0003 = await dump(engine)
    await manager.upgrade()
    again_at_0004 = await dump(engine)

    assert await manager.current() == "0004"
    assert {row["archived_reason"] for row in at_0004["projects"]} == {None}
    assert _without(at_0004, ADDED) == at_0003
    assert back_at_0003 == at_0003
    assert again_at_0004 == at_0004
    assert set(at_0003) == set(TABLES)


async def test_each_step_leaves_the_schema_its_revision_describes(
    engine: AsyncEngine, versions_0004: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[versions_0004])
    await manager.upgrade("0003")
    at_0003 = await schema(engine)

    await manager.upgrade()

    assert await manager.check() != []  # the package models lack the new column...
    assert (
        await MigrationManager(
            engine, version_locations=[versions_0004], metadata=_metadata_with_archived_reason()
        ).check()
        == []
    )  # ...which the 0004 models have, with its index
    await manager.downgrade("0003")
    assert await schema(engine) == at_0003
    assert await manager.check() == []


async def test_a_batch_rebuild_keeps_checks_unique_indexes_and_not_nulls(
    engine: AsyncEngine, versions_0004: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[versions_0004])
    await manager.upgrade()
    await seed(engine, count=1)
    insert = (
        "INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, architecture, "
        "metadata, created_at, updated_at, version) VALUES (uuid(), 'n', '{slug}', '{status}', "
        "'design', [], [], '{{}}', '{{}}', now(), now(), 1)"
    )

    with pytest.raises(sa.exc.DBAPIError, match="CHECK constraint"):
        await execute(engine, insert.format(slug="fresh", status="bogus"))
    with pytest.raises(sa.exc.DBAPIError, match=r"[Dd]uplicate key"):
        await execute(engine, insert.format(slug="atlas-0", status="draft"))
    with pytest.raises(sa.exc.DBAPIError, match="NOT NULL"):
        await execute(engine, "INSERT INTO projects (id) VALUES (uuid())")


async def test_a_failing_revision_leaves_schema_data_and_version_unchanged(
    engine: AsyncEngine, failing_versions: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[failing_versions])
    await manager.upgrade("0003")
    await seed(engine)
    await execute(engine, "UPDATE conversations SET message_count = 7")
    catalog, contents = await schema(engine), await dump(engine)

    with pytest.raises(MigrationError, match=r"Upgrading .* to head failed") as info:
        await manager.upgrade()

    assert "not a number" in str(info.value)
    assert info.value.__cause__ is not None
    assert await schema(engine) == catalog  # projects not rebuilt, half_done not created
    assert await dump(engine) == contents  # message_count still 7, every row still there
    assert await version_rows(engine) == ["0003"]


async def test_a_failure_in_a_later_revision_also_undoes_the_earlier_ones(
    engine: AsyncEngine, failing_versions: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[failing_versions])

    with pytest.raises(MigrationError):
        await manager.upgrade()  # 0003 succeeds, 0004 fails: one transaction for both

    assert (await schema(engine))["tables"] == []
    assert await manager.current() is None


async def test_a_python_error_in_a_revision_becomes_a_migration_error(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    broken = '''
        """Broken.

        Revision ID: 0004
        Revises: 0003
        """
        from alembic import op

        revision = "0004"
        down_revision = "0003"


        def upgrade() -> None:
            op.execute("CREATE TABLE created_before_the_bug (id INTEGER)")
            raise KeyError("a bug in the revision")


        def downgrade() -> None:
            pass
    '''
    versions = write_versions(tmp_path / "broken", ("20261208_0004_broken.py", broken))
    manager = MigrationManager(engine, version_locations=[versions])
    await manager.upgrade("0003")

    with pytest.raises(MigrationError, match="KeyError") as info:
        await manager.upgrade()

    assert isinstance(info.value.__cause__, KeyError)
    assert ("created_before_the_bug",) not in (await schema(engine))["tables"]
    assert await manager.current() == "0003"


async def test_a_failing_downgrade_leaves_the_database_at_its_revision(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    irreversible = '''
        """Irreversible.

        Revision ID: 0004
        Revises: 0003
        """
        import sqlalchemy as sa
        from alembic import op

        revision = "0004"
        down_revision = "0003"


        def upgrade() -> None:
            op.add_column("builds", sa.Column("runner", sa.String(), nullable=True))


        def downgrade() -> None:
            op.execute("DELETE FROM builds")
            raise NotImplementedError("this revision cannot be undone")
    '''
    versions = write_versions(tmp_path / "irreversible", ("20261208_0004_x.py", irreversible))
    manager = MigrationManager(engine, version_locations=[versions])
    await manager.upgrade()
    await seed(engine, count=2)
    contents = await dump(engine)

    with pytest.raises(MigrationError, match="cannot be undone"):
        await manager.downgrade("base")

    assert await dump(engine) == contents
    assert await manager.current() == "0004"


async def test_an_unknown_target_revision_is_a_migration_error(engine: AsyncEngine) -> None:
    manager = MigrationManager(engine)

    with pytest.raises(MigrationError, match="nope"):
        await manager.upgrade("nope")
    with pytest.raises(MigrationError, match="nope"):
        await manager.downgrade("nope")
    assert (await schema(engine))["tables"] == []


def _without(contents: dict[str, list[dict[str, object]]], columns: set[str]) -> dict[str, object]:
    return {
        table: [{key: value for key, value in row.items() if key not in columns} for row in rows]
        for table, rows in contents.items()
    }
