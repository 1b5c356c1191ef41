"""Opening a lake like a file: ``Database.open("ducklake:postgres:<conninfo>", data_path=...)``.

Real PostgreSQL (tests/_pg.py), real DuckLake extensions from their wheels, real migrations.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import (
    CatalogUnavailableError,
    ConfigurationError,
    ExtensionError,
    ReadOnlyError,
    SchemaOutdatedError,
    StorageError,
)
from project_architect_db.migration import MigrationManager
from tests._pg import PostgresServer

from .conftest import Lake


async def test_a_new_lake_is_migrated_to_head_and_keeps_its_rows(
    lake: Lake, extension_directory: Path
) -> None:
    async with lake.open(extension_directory=extension_directory) as db:
        manager = MigrationManager(db.engine)
        assert await manager.current() == await manager.head()
        assert manager.database == lake.catalog  # messages name the lake, not ":memory:"
        created = await db.projects.create({"name": "Lake", "slug": "lake"})
    async with lake.open(extension_directory=extension_directory) as db:
        assert (await db.projects.get(created.id)).slug == "lake"
        # the version table lives in the lake itself, beside the library's tables
        async with db.engine.connect() as connection:
            tables = await connection.exec_driver_sql(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'padb_lake'"
            )
            assert {"alembic_version", "projects", "messages"} <= {row[0] for row in tables}


async def test_the_lake_has_no_index_and_no_constraint(lake_database: Database) -> None:
    async with lake_database.engine.connect() as connection:
        indexes = await connection.exec_driver_sql(
            "SELECT count(*) FROM duckdb_indexes() WHERE database_name = 'padb_lake'"
        )
        constraints = await connection.exec_driver_sql(
            "SELECT count(*) FROM duckdb_constraints() WHERE database_name = 'padb_lake' "
            "AND constraint_type <> 'NOT NULL'"
        )
        assert indexes.scalar_one() == 0
        assert constraints.scalar_one() == 0
    # ... and the schema comparison does not report them missing
    assert await MigrationManager(lake_database.engine).check() == []


async def test_settings_come_from_padb_variables(
    lake: Lake, extension_directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PADB_DATABASE", lake.catalog)
    monkeypatch.setenv("PADB_DATA_PATH", lake.data_path)
    async with Database.open(extension_directory=extension_directory) as db:
        assert db.settings.is_lake
        assert await db.projects.count() == 0
    assert Path(lake.data_path).is_dir()


def test_a_lake_needs_a_postgresql_catalog_and_connection_info() -> None:
    with pytest.raises(ConfigurationError, match="catalog must be PostgreSQL"):
        Database.open("ducklake:sqlite:lake.sqlite", data_path="/tmp/x")
    with pytest.raises(ConfigurationError, match="no connection info"):
        Database.open("ducklake:postgres:  ", data_path="/tmp/x")
    with pytest.raises(ConfigurationError, match="single quote"):
        Database.open("ducklake:postgres:dbname='x'", data_path="/tmp/x")


async def test_a_lake_without_a_data_path_is_refused(lake: Lake) -> None:
    with pytest.raises(ConfigurationError, match="data_path"):
        await Database.open(lake.catalog)


async def test_bad_connection_info_says_how_to_write_it(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = Database.open(
        "ducklake:postgres:garbage",
        data_path=str(tmp_path / "data"),
        extension_directory=extension_directory,
    )
    with pytest.raises(ConfigurationError, match="libpq connection info"):
        await db


async def test_a_catalog_that_is_down_or_missing_is_a_typed_error(
    pg_server: PostgresServer, tmp_path: Path, extension_directory: Path
) -> None:
    down = f"ducklake:postgres:dbname=postgres host={tmp_path / 'nowhere'} user=postgres"
    missing = f"ducklake:postgres:{pg_server.database('no_such_database').conninfo}"
    for catalog in (down, missing):
        db = Database.open(
            catalog, data_path=str(tmp_path / "data"), extension_directory=extension_directory
        )
        with pytest.raises(CatalogUnavailableError, match="server runs"):
            await db
        assert not db._executor.is_open


async def test_a_data_path_that_is_a_file_or_absent_for_a_reader_is_refused(
    lake: Lake, tmp_path: Path, extension_directory: Path
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    with pytest.raises(StorageError, match="is a file"):
        await Database.open(lake.catalog, data_path=str(a_file))
    with pytest.raises(StorageError, match="read-only open creates"):
        await Database.open(lake.catalog, data_path=str(tmp_path / "absent"), read_only=True)


async def test_without_the_lake_extra_the_error_names_the_extra(
    lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the wheel is not importable (as without the [lake] extra); nothing installed yet
    monkeypatch.setitem(sys.modules, "duckdb_extension_ducklake", None)
    db = lake.open(extension_directory=tmp_path / "empty-extensions")
    with pytest.raises(ExtensionError, match=r"pip install 'project-architect-db\[lake\]'"):
        await db


async def test_read_only_reads_the_lake_and_refuses_writes(
    lake: Lake, extension_directory: Path
) -> None:
    async with lake.open(extension_directory=extension_directory) as writer:
        made = await writer.projects.create({"name": "Read me", "slug": "read-me"})
        async with lake.open(read_only=True, extension_directory=extension_directory) as reader:
            assert (await reader.projects.get(made.id)).name == "Read me"
            with pytest.raises(ReadOnlyError):
                await reader.projects.create({"name": "No", "slug": "no"})
            # the writer keeps writing; the reader's next transaction sees it
            await writer.projects.update(made.id, {"name": "Renamed"})
            assert (await reader.projects.get(made.id)).name == "Renamed"


async def test_read_only_on_a_lake_never_created_says_to_create_it(
    lake: Lake, extension_directory: Path
) -> None:
    Path(lake.data_path).mkdir()
    with pytest.raises(StorageError, match="open it writable once"):
        await lake.open(read_only=True, extension_directory=extension_directory)


async def test_a_lake_behind_the_code_is_refused_then_upgraded(
    lake: Lake, extension_directory: Path
) -> None:
    async with lake.open(extension_directory=extension_directory) as db:
        await MigrationManager(db.engine).downgrade("0001")
    with pytest.raises(SchemaOutdatedError, match="0001"):
        await lake.open(extension_directory=extension_directory)
    async with lake.open(upgrade=True, extension_directory=extension_directory) as db:
        manager = MigrationManager(db.engine)
        assert await manager.current() == await manager.head()
