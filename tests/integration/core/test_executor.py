"""The executor (core/executor.py): opening and closing, the not-open errors, the error
boundary and the statement cache, on real DuckDB files and memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from project_architect_db import Database
from project_architect_db.core.executor import Executor
from project_architect_db.core.locks import IntegrityLocks
from project_architect_db.core.settings import Settings
from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import (
    AlreadyExistsError,
    DatabaseNotOpenError,
    InvalidQueryError,
    ProjectArchitectDBError,
    StorageError,
)


def _plain_unit(session: AsyncSession, commit_lock: asyncio.Lock) -> Transaction:
    return Transaction(session, commit_lock=commit_lock)


def _executor(target: str, extension_directory: Path) -> Executor[Transaction]:
    settings = Settings(database=target, extension_directory=extension_directory, load_fts=False)
    return Executor(settings, IntegrityLocks(), _plain_unit)


@pytest.fixture
async def executor(target: str, extension_directory: Path) -> AsyncIterator[Executor[Transaction]]:
    opened = _executor(target, extension_directory)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def _answer(duck: duckdb.DuckDBPyConnection) -> int:
    row = duck.execute("SELECT 41 + 1").fetchone()
    assert row is not None
    return int(row[0])


# -- opening and closing ------------------------------------------------------------------------
async def test_open_and_close_twice_are_harmless_and_it_opens_again(
    tmp_path: Path, extension_directory: Path
) -> None:
    executor = _executor(str(tmp_path / "twice.duckdb"), extension_directory)
    assert not executor.is_open
    await executor.open()
    engine = executor.engine
    await executor.open()  # already open: nothing happens
    assert executor.engine is engine
    async with executor.transaction() as tx:
        await tx.execute(text("CREATE TABLE kept (n INTEGER)"))
        await tx.execute(text("INSERT INTO kept VALUES (7)"))
    await executor.close()
    await executor.close()
    assert not executor.is_open
    assert "closed" in repr(executor)
    await executor.open()  # the same executor opens the file again, data intact
    assert "open" in repr(executor)
    try:
        assert await executor.run_native_read(lambda duck: duck.sql("FROM kept").fetchall()) == [
            (7,)
        ]
    finally:
        await executor.close()


async def test_an_open_executor_runs_every_kind_of_statement(
    executor: Executor[Transaction],
) -> None:
    assert await executor.run_native_read(_answer) == 42
    async with executor.reading() as reader:
        assert (await reader.execute(text("SELECT 1"))).scalar_one() == 1
        assert await reader.run_native(_answer) == 42
        assert reader.statements is executor.statements
    async with executor.transaction() as tx:
        assert await tx.run_native(_answer) == 42
    async with executor.writes.unit() as unit:
        await unit.run(lambda duck: duck.execute("SELECT 1").fetchall())
    async with executor.session() as session:
        assert (await session.execute(text("SELECT 2"))).scalar_one() == 2
    assert executor.dialect.name == "duckdb"
    assert executor.commit_lock() is executor.commit_lock()
    await executor.checkpoint()
    await executor.drain_commits()


async def test_an_executor_never_opened_says_how_to_open_it(extension_directory: Path) -> None:
    executor = _executor(":memory:", extension_directory)
    attempts: list[Any] = [
        lambda: executor.engine,
        lambda: executor.dialect,
        lambda: executor.session(),
        lambda: executor.readers,
        lambda: executor.transaction().__aenter__(),
        lambda: executor.reading().__aenter__(),
        lambda: executor.run_native_read(_answer),
        lambda: executor.checkpoint(),
    ]
    for attempt in attempts:
        with pytest.raises(DatabaseNotOpenError, match=r"not open: use `async with"):
            result = attempt()
            if asyncio.iscoroutine(result):
                await result


async def test_a_closed_executor_says_it_was_closed(
    tmp_path: Path, extension_directory: Path
) -> None:
    executor = _executor(str(tmp_path / "closed.duckdb"), extension_directory)
    await executor.open()
    await executor.close()
    with pytest.raises(DatabaseNotOpenError, match="has been closed; open it again"):
        await executor.run_native_read(_answer)
    with pytest.raises(DatabaseNotOpenError, match="has been closed"):
        async with executor.reading():
            pass  # pragma: no cover - never entered
    with pytest.raises(DatabaseNotOpenError, match="has been closed"):
        async with executor.writes.unit():
            pass  # pragma: no cover - never entered


async def test_a_missing_folder_is_a_storage_error_and_leaves_it_closed(
    tmp_path: Path, extension_directory: Path
) -> None:
    executor = _executor(str(tmp_path / "no" / "such" / "x.duckdb"), extension_directory)
    with pytest.raises(StorageError, match="Create it first"):
        await executor.open()
    assert not executor.is_open


async def test_a_failing_prepare_disposes_the_engine_and_frees_the_file(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = str(tmp_path / "prepare.duckdb")
    executor = _executor(path, extension_directory)
    seen: list[AsyncEngine] = []

    async def refuse(engine: AsyncEngine) -> None:
        seen.append(engine)
        raise InvalidQueryError("the schema check refused the file")

    with pytest.raises(InvalidQueryError, match="schema check refused"):
        await executor.open(refuse)
    assert len(seen) == 1
    assert not executor.is_open
    with pytest.raises(DatabaseNotOpenError):
        _ = executor.engine
    # the file lock was released: plain DuckDB in this process can write it
    duckdb.connect(path).close()
    await executor.open()
    await executor.close()


# -- one error boundary -------------------------------------------------------------------------
def _missing_table(duck: duckdb.DuckDBPyConnection) -> object:
    return duck.execute("SELECT * FROM no_such_table").fetchall()


async def test_native_reads_raise_the_library_errors(executor: Executor[Transaction]) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        await executor.run_native_read(_missing_table)
    assert isinstance(caught.value.__cause__, duckdb.CatalogException)
    async with executor.reading() as reader:
        assert await reader.run_native(_answer) == 42
    with pytest.raises(InvalidQueryError):
        async with executor.reading() as reader:
            await reader.run_native(_missing_table)
    with pytest.raises(InvalidQueryError):
        async with executor.reading() as reader:
            await reader.execute(text("SELECT * FROM no_such_table"))
    refused = InvalidQueryError("the library's own error")
    with pytest.raises(InvalidQueryError) as passed:
        async with executor.reading():
            raise refused
    assert passed.value is refused  # already the library's: passed on unchanged
    assert await executor.run_native_read(_answer) == 42  # the kept connection still works


async def test_transactions_raise_the_library_errors_inside_the_block(
    executor: Executor[Transaction],
) -> None:
    async with executor.transaction() as tx:
        await tx.execute(text("CREATE TABLE slugs (slug VARCHAR PRIMARY KEY)"))
        await tx.execute(text("INSERT INTO slugs VALUES ('atlas')"))
    caught: list[BaseException] = []
    with pytest.raises(ProjectArchitectDBError):
        async with executor.transaction() as tx:
            try:  # translated where it is raised, not only when it leaves the block
                await tx.run_native(lambda duck: duck.execute("INSERT INTO slugs VALUES ('atlas')"))
            except AlreadyExistsError as error:
                caught.append(error)
                raise
    assert len(caught) == 1
    assert isinstance(caught[0].__cause__, duckdb.ConstraintException)
    async with executor.transaction() as tx:
        count = await tx.run_native(
            lambda duck: duck.execute("SELECT count(*) FROM slugs").fetchone()
        )
    assert count == (1,)


# -- the database composes one executor ---------------------------------------------------------
async def test_every_layer_receives_the_one_executor(database: Database) -> None:
    executor = database._executor
    assert database._context.executor is executor
    assert database.projects._context.executor is executor
    assert database._search._executor is executor
    assert database._analytics._native == executor.run_native_read
    assert database.engine is executor.engine
    async with database.transaction() as tx:
        assert tx.projects._context.executor is executor
        assert tx.projects._context.bound is tx


async def test_the_statement_cache_is_per_database_and_reused(
    database: Database, extension_directory: Path
) -> None:
    cache = database._executor.statements
    project = await database.projects.create({"name": "Atlas"})
    await database.projects.get(project.id)
    before = cache.info()
    for _ in range(5):
        await database.projects.get(project.id)
        await database.projects.list(status="active", limit=5)
    after = cache.info()
    # the page's shapes, once each: its window (none for an id order) and its plain page
    assert after["misses"] == before["misses"] + 2
    assert after["hits"] >= before["hits"] + 9
    async with Database.open(":memory:", extension_directory=extension_directory) as other:
        assert other._executor.statements is not cache
        await other.projects.get_or_none(project.id)
        assert other._executor.statements.info()["misses"] == 1
        assert len(other._executor.statements) == 1
    assert len(other._executor.statements) == 0  # compiled for the engine closed with it


async def test_the_statement_cache_stays_bounded_under_many_shapes(database: Database) -> None:
    cache = database._executor.statements
    cache.max_entries = 3
    await database.projects.create({"name": "Atlas"})
    orders = ["slug", "-slug", "name", "-name", "status", "-status", "created_at"]
    pages = [await database.projects.list(order_by=order) for order in orders]
    assert all(len(page.items) == 1 for page in pages)
    assert len(cache) == 3
    assert cache.info()["misses"] >= len(orders)
