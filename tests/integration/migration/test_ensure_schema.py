"""How opening a database decides: new, at head, behind, ahead, foreign, read-only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import project_architect_db.migration.manager as manager_module
from project_architect_db import Database, MigrationError, SchemaOutdatedError
from project_architect_db.migration import (
    MigrationManager,
    SchemaAction,
    SchemaState,
    decide,
)
from project_architect_db.models import Base
from tests.integration.migration.helpers import (
    TABLES,
    EngineFactory,
    dispose,
    dump,
    execute,
    schema,
    seed,
    version_rows,
)

# -- the decision table, without a database ---------------------------------------------------


def _decide(
    tables: set[str] | None = None,
    versions: tuple[str, ...] | None = None,
    *,
    read_only: bool = False,
    upgrade: bool = False,
) -> SchemaAction:
    state = SchemaState(frozenset(tables or ()), versions, read_only)
    return decide(
        state,
        head="0004",
        known=lambda revision: revision in {"0003", "0004"},
        upgrade=upgrade,
        database="app.duckdb",
    )


def test_decide_creates_an_empty_database_and_leaves_one_at_head_alone() -> None:
    assert _decide() is SchemaAction.CREATE
    assert _decide(versions=()) is SchemaAction.CREATE  # downgraded to base, nothing left
    assert _decide({"projects"}, ("0004",)) is SchemaAction.NOTHING
    assert _decide({"projects"}, ("0004",), read_only=True) is SchemaAction.NOTHING
    assert _decide({"projects"}, ("0003",), upgrade=True) is SchemaAction.UPGRADE


def test_decide_refuses_a_database_behind_with_the_command_to_run() -> None:
    with pytest.raises(SchemaOutdatedError) as info:
        _decide({"projects"}, ("0003",))

    assert "project-architect-db migrate upgrade --database app.duckdb" in str(info.value)
    assert (info.value.current, info.value.head) == ("0003", "0004")


def test_decide_refuses_user_tables_at_base_as_behind() -> None:
    with pytest.raises(SchemaOutdatedError, match="revision base"):
        _decide({"my_table"}, ())


def test_decide_refuses_an_unknown_revision_as_newer_than_the_code() -> None:
    with pytest.raises(SchemaOutdatedError) as info:
        _decide({"projects"}, ("0007",), upgrade=True)

    assert "pip install -U project-architect-db" in str(info.value)
    assert (info.value.current, info.value.head) == ("0007", "0004")


def test_decide_refuses_tables_without_a_version_table() -> None:
    with pytest.raises(MigrationError, match="did not create it") as info:
        _decide({"customers", "orders"}, None, upgrade=True)

    assert not isinstance(info.value, SchemaOutdatedError)
    assert "customers, orders" in str(info.value)


def test_decide_refuses_to_migrate_a_read_only_database() -> None:
    with pytest.raises(SchemaOutdatedError, match="writable once"):
        _decide(read_only=True)
    with pytest.raises(SchemaOutdatedError, match="writable once"):
        _decide({"projects"}, ("0003",), read_only=True, upgrade=True)


# -- ensure_schema on real databases ----------------------------------------------------------


async def test_ensure_schema_creates_a_new_database_at_head(engine: AsyncEngine) -> None:
    manager = MigrationManager(engine)

    await manager.ensure_schema(upgrade=False)

    assert await version_rows(engine) == ["0003"]
    assert await manager.check() == []


async def test_ensure_schema_leaves_a_database_at_head_untouched(engine: AsyncEngine) -> None:
    manager = MigrationManager(engine)
    await manager.ensure_schema()
    await seed(engine)
    catalog, contents = await schema(engine), await dump(engine)

    await manager.ensure_schema()

    assert await schema(engine) == catalog
    assert await dump(engine) == contents


async def test_ensure_schema_refuses_a_database_behind(
    engine: AsyncEngine, versions_0004: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[versions_0004])
    await manager.upgrade("0003")

    with pytest.raises(SchemaOutdatedError) as info:
        await manager.ensure_schema(upgrade=False)

    command = f"project-architect-db migrate upgrade --database {manager.database}"
    assert command in str(info.value)
    assert (info.value.current, info.value.head) == ("0003", "0004")
    assert await version_rows(engine) == ["0003"]


async def test_ensure_schema_upgrades_a_database_behind_when_asked(
    engine: AsyncEngine, versions_0004: Path
) -> None:
    manager = MigrationManager(engine, version_locations=[versions_0004])
    await manager.upgrade("0003")
    await seed(engine)
    contents = await dump(engine)

    await manager.ensure_schema(upgrade=True)

    assert await version_rows(engine) == ["0004"]
    assert await dump(engine, without={"archived_reason"}) == contents


async def test_ensure_schema_refuses_a_revision_newer_than_the_code(engine: AsyncEngine) -> None:
    manager = MigrationManager(engine)
    await manager.upgrade()
    await execute(engine, "UPDATE alembic_version SET version_num = 'f00dcafe'")

    for upgrade in (False, True):
        with pytest.raises(
            SchemaOutdatedError, match="pip install -U project-architect-db"
        ) as info:
            await manager.ensure_schema(upgrade=upgrade)
        assert (info.value.current, info.value.head) == ("f00dcafe", "0003")
    assert await version_rows(engine) == ["f00dcafe"]


async def test_ensure_schema_refuses_a_database_it_did_not_create(engine: AsyncEngine) -> None:
    await execute(engine, "CREATE TABLE customers (id INTEGER)", "INSERT INTO customers VALUES (1)")
    manager = MigrationManager(engine)

    with pytest.raises(MigrationError, match="customers"):
        await manager.ensure_schema(upgrade=True)

    assert (await schema(engine))["tables"] == [("customers",)]


async def test_ensure_schema_recreates_a_database_downgraded_to_base(engine: AsyncEngine) -> None:
    manager = MigrationManager(engine)
    await manager.upgrade()
    await manager.downgrade("base")

    await manager.ensure_schema(upgrade=False)

    assert await manager.current() == "0003"


async def test_a_read_only_database_behind_must_be_opened_writable_once(
    make_engine: EngineFactory, tmp_path: Path, versions_0004: Path
) -> None:
    path = tmp_path / "behind.duckdb"
    writable = make_engine(path)
    await MigrationManager(writable, version_locations=[versions_0004]).upgrade("0003")
    await dispose(writable)
    read_only = make_engine(path, read_only=True)
    manager = MigrationManager(read_only, version_locations=[versions_0004])

    for upgrade in (False, True):
        with pytest.raises(SchemaOutdatedError, match="opened read-only") as info:
            await manager.ensure_schema(upgrade=upgrade)
        assert "writable once" in str(info.value)
        assert (info.value.current, info.value.head) == ("0003", "0004")


async def test_a_read_only_empty_database_must_be_opened_writable_once(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    manager = MigrationManager(make_engine(path, read_only=True))

    with pytest.raises(SchemaOutdatedError, match=r"has no schema yet.*writable once"):
        await manager.ensure_schema(upgrade=True)


async def test_a_read_only_database_at_head_opens(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    path = tmp_path / "ready.duckdb"
    writable = make_engine(path)
    await MigrationManager(writable).upgrade()
    await dispose(writable)

    await MigrationManager(make_engine(path, read_only=True)).ensure_schema()


async def test_concurrent_first_opens_of_one_file_both_succeed(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    path = tmp_path / "shared.duckdb"
    first, second = make_engine(path), make_engine(path)

    await asyncio.gather(
        MigrationManager(first).ensure_schema(), MigrationManager(second).ensure_schema()
    )

    assert await version_rows(first) == ["0003"]
    assert await MigrationManager(second).check() == []


# -- through Database.open --------------------------------------------------------------------


async def test_database_open_gives_a_new_database_the_schema(
    target: str, extension_directory: Path
) -> None:
    async with Database.open(target, extension_directory=extension_directory) as db:
        manager = MigrationManager(db.engine)
        assert await manager.current() == "0003"
        async with db.engine.connect() as connection:
            for table in TABLES:
                await connection.execute(text(f"SELECT count(*) FROM {table}"))


async def test_database_open_refuses_an_outdated_file_and_upgrades_on_request(
    tmp_path: Path,
    extension_directory: Path,
    versions_0004: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_engine: EngineFactory,
) -> None:
    path = tmp_path / "old.duckdb"
    old = make_engine(path)
    await MigrationManager(old).upgrade()
    await seed(old)
    contents = await dump(old)
    await dispose(old)
    # This library version ships revision 0004.
    monkeypatch.setattr(manager_module, "VERSIONS_DIRECTORY", versions_0004)

    with pytest.raises(SchemaOutdatedError) as info:
        await Database.open(path, extension_directory=extension_directory)
    assert f"project-architect-db migrate upgrade --database {path}" in str(info.value)

    async with Database.open(path, extension_directory=extension_directory, upgrade=True) as db:
        assert await MigrationManager(db.engine).current() == "0004"
        assert await dump(db.engine, without={"archived_reason"}) == contents


async def test_database_open_refuses_a_file_from_a_newer_library(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "newer.duckdb"
    async with Database.open(path, extension_directory=extension_directory) as db:
        await execute(db.engine, "UPDATE alembic_version SET version_num = '0099'")

    with pytest.raises(SchemaOutdatedError, match="pip install -U project-architect-db"):
        await Database.open(path, extension_directory=extension_directory, upgrade=True)
    # the failed open released the file: it can be opened (and fixed) right away
    connection = duckdb.connect(str(path))
    assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0099",)]
    connection.close()


async def test_database_open_refuses_a_foreign_file_and_leaves_it_alone(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "foreign.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE invoices (id INTEGER, total DECIMAL(10, 2))")
    connection.close()

    with pytest.raises(MigrationError, match="invoices"):
        await Database.open(path, extension_directory=extension_directory)

    connection = duckdb.connect(str(path))
    tables = connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    connection.close()
    assert tables == [("invoices",)]


async def test_database_open_read_only_refuses_a_file_without_the_schema(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "blank.duckdb"
    duckdb.connect(str(path)).close()

    with pytest.raises(SchemaOutdatedError, match="writable once"):
        await Database.open(path, read_only=True, extension_directory=extension_directory)

    async with Database.open(path, extension_directory=extension_directory):
        pass
    async with Database.open(path, read_only=True, extension_directory=extension_directory) as db:
        assert await MigrationManager(db.engine).current() == "0003"


async def test_stamping_a_database_made_by_create_all_lets_it_open(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await seed(engine)
    contents = await dump(engine)
    manager = MigrationManager(engine)
    with pytest.raises(MigrationError, match="migrate stamp"):
        await manager.ensure_schema()

    await manager.stamp("head")

    await manager.ensure_schema()
    assert await manager.current() == "0003"
    assert await manager.check() == []
    assert await dump(engine) == contents
