"""The MigrationManager's reading API and revision writing, in temporary folders only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from project_architect_db import MigrationError
from project_architect_db.migration import (
    SCRIPT_LOCATION,
    VERSIONS_DIRECTORY,
    MigrationManager,
    RevisionInfo,
)
from project_architect_db.models import Base
from tests.integration.migration.helpers import REVISION_0013, dump, seed, write_versions


def _package_files() -> list[tuple[str, int]]:
    return sorted((path.name, path.stat().st_mtime_ns) for path in VERSIONS_DIRECTORY.iterdir())


async def test_head_reads_no_database(tmp_path: Path) -> None:
    # a URL nobody can connect to: head() must not try
    engine = create_async_engine("duckdb+aioduckdb:///" + str(tmp_path / "no" / "such" / "x.db"))

    assert await MigrationManager(engine).head() == "0004"
    await engine.dispose()


async def test_current_is_none_before_and_the_revision_after(
    engine: AsyncEngine, versions_0013: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[versions_0013])
    assert await manager.current() is None

    await manager.upgrade("0004")
    assert await manager.current() == "0004"
    await manager.upgrade("+1")
    assert await manager.current() == "0013"
    await manager.downgrade("-1")
    assert await manager.current() == "0004"


async def test_history_lists_newest_first_marking_current_and_head(
    engine: AsyncEngine, versions_0013: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[versions_0013])
    await manager.upgrade("0004")

    history = await manager.history()

    assert [(item.revision, item.down_revision) for item in history] == [
        ("0013", "0004"),
        ("0004", "0003"),
        ("0003", "0002"),
        ("0002", "0001"),
        ("0001", None),
    ]
    assert [(item.is_current, item.is_head) for item in history] == [
        (False, True),
        (True, False),
        (False, False),
        (False, False),
        (False, False),
    ]
    assert history[0].message == "Add an archive reason to projects."
    assert history[1].message.startswith("Version links")
    assert history[2].message.startswith("Semantic")
    assert history[3].message.startswith("Reply links")
    assert history[4].message.startswith("Initial schema")
    assert history[4].path == versions_0013.resolve() / "20261123_0001_initial.py"
    assert all(isinstance(item, RevisionInfo) for item in history)


async def test_history_of_an_empty_database_marks_nothing_current(engine: AsyncEngine) -> None:
    history = await MigrationManager(engine).history()

    assert [(item.revision, item.is_current, item.is_head) for item in history] == [
        ("0004", False, True),
        ("0003", False, False),
        ("0002", False, False),
        ("0001", False, False),
    ]


async def test_several_heads_are_a_migration_error(engine: AsyncEngine, tmp_path: Path) -> None:
    branch = REVISION_0013.replace('"0013"', '"0014"').replace("0013", "0014")
    versions = write_versions(
        tmp_path / "branched",
        ("20261208_0013_a.py", REVISION_0013),
        ("20261208_0014_b.py", branch),
    )
    manager = MigrationManager(engine, version_locations=[versions])

    with pytest.raises(MigrationError, match="2 heads"):
        await manager.head()
    with pytest.raises(MigrationError, match="2 heads"):
        await manager.ensure_schema()


async def test_a_missing_revision_folder_is_a_migration_error(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[tmp_path / "nowhere"])

    with pytest.raises(MigrationError, match="nowhere"):
        await manager.head()
    with pytest.raises(MigrationError, match="nowhere"):
        await manager.upgrade()


async def test_a_revision_file_with_a_syntax_error_is_a_migration_error(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    versions = write_versions(tmp_path / "bad", ("20261208_0013_bad.py", "revision = (\n"))

    with pytest.raises(MigrationError, match="SyntaxError"):
        await MigrationManager(engine, version_locations=[versions]).head()


async def test_autogenerate_writes_the_new_column_and_it_round_trips(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    versions = write_versions(tmp_path / "versions")
    before = _package_files()
    metadata = sa.MetaData(naming_convention=dict(Base.metadata.naming_convention))
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    column = sa.Column("priority", sa.Integer(), nullable=True)
    metadata.tables["projects"].append_column(column)
    sa.Index(None, column, _table=metadata.tables["projects"])
    manager = MigrationManager(engine, version_locations=[versions], metadata=metadata)
    await manager.upgrade()
    await seed(engine)
    contents = await dump(engine)

    path = await manager.revision("Add project priority", directory=versions)

    assert path.parent == versions.resolve()
    assert re.fullmatch(r"\d{8}_0005_add_project_priority\.py", path.name)
    source = path.read_text()
    assert "batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=True))" in source
    assert "batch_op.create_index(batch_op.f('ix_projects_priority'), ['priority']" in source
    assert "batch_op.drop_column('priority')" in source
    assert "revision: str = '0005'" in source
    assert _package_files() == before  # nothing written into the package

    await manager.upgrade()
    assert await manager.current() == "0005"
    assert await manager.check() == []
    assert await dump(engine, without={"priority"}) == contents
    await manager.downgrade("0004")
    assert await dump(engine) == contents


async def test_autogenerate_refuses_a_database_that_is_not_at_head(
    engine: AsyncEngine, versions_0013: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[versions_0013])
    await manager.upgrade("0004")

    with pytest.raises(MigrationError, match="not up to date"):
        await manager.revision("Anything", directory=versions_0013)

    assert len(list(versions_0013.glob("*.py"))) == 5


async def test_autogenerate_with_no_change_writes_an_empty_revision(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    versions = write_versions(tmp_path / "versions")
    manager = MigrationManager(engine, version_locations=[versions])
    await manager.upgrade()

    path = await manager.revision("Nothing changed", directory=versions)

    source = path.read_text()
    assert source.startswith('"""Nothing changed.')
    assert "    pass" in source
    assert await manager.current() == "0004"  # writing a revision never migrates


async def test_a_manual_revision_needs_no_database_and_extends_another_folder(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[write_versions(tmp_path / "versions")])

    path = await manager.revision("Backfill slugs", autogenerate=False, directory=tmp_path / "x")

    assert path.parent == (tmp_path / "x").resolve()
    assert path.name.endswith("_0005_backfill_slugs.py")
    assert "down_revision: str | Sequence[str] | None = '0004'" in path.read_text()


def test_the_package_ships_env_template_and_versions() -> None:
    assert (SCRIPT_LOCATION / "env.py").is_file()
    assert (SCRIPT_LOCATION / "script.py.mako").is_file()
    assert (VERSIONS_DIRECTORY / "__init__.py").is_file()  # a package: the .py files ship
    assert not (SCRIPT_LOCATION / "alembic.ini").exists()  # the config is built in code
