"""Less-travelled paths of the adapter, worker, dialect and extension installer."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from project_architect_db import ExtensionError
from project_architect_db.core import extensions
from project_architect_db.core._worker import ConnectionWorker
from project_architect_db.core.driver import DBAPI, AsyncDuckDBDialect
from project_architect_db.core.engine import native_connection


@pytest.fixture
async def engine(target: str) -> AsyncEngine:
    engine = create_async_engine(f"duckdb+aioduckdb:///{target}")
    yield engine  # type: ignore[misc]
    await engine.dispose()
    engine.sync_engine.dialect.close_memory_database()


async def test_executemany_inserts_every_parameter_set(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE pairs (a INTEGER, b VARCHAR)"))
        await connection.execute(
            text("INSERT INTO pairs VALUES (:a, :b)"), [{"a": i, "b": str(i)} for i in range(5)]
        )
        count = await connection.execute(text("SELECT count(*), sum(a) FROM pairs"))
        assert count.one() == (5, 10)


async def test_dbapi_cursor_fetch_methods(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        adapted = await native_connection(connection)

        def use_cursor() -> tuple[object, ...]:
            cursor = adapted.cursor()
            cursor.setinputsizes()
            cursor.setoutputsize(1)
            cursor.execute("SELECT range FROM range(6)")
            first = cursor.fetchone()
            two = cursor.fetchmany(2)
            cursor.arraysize = 1
            one = cursor.fetchmany()
            rest = list(cursor)
            empty = cursor.fetchone()
            cursor.execute("SELECT 1")
            everything = cursor.fetchall()
            cursor.close()
            return first, two, one, rest, empty, everything, cursor.connection is adapted

        result = await connection.run_sync(lambda _: use_cursor())
    assert result == ((0,), [(1,), (2,)], [(3,)], [(4,), (5,)], None, [(1,)], True)


async def test_server_side_cursor_fetches_on_demand(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        adapted = await native_connection(connection)

        def stream() -> tuple[object, ...]:
            cursor = adapted.cursor(server_side=True)
            cursor.execute("SELECT range FROM range(2500)")
            first = cursor.fetchone()
            rest = list(cursor)
            cursor.execute("SELECT range FROM range(3)")
            everything = cursor.fetchall()
            cursor.execute("SELECT 1 WHERE false")
            nothing = cursor.fetchone()
            return first, len(rest), everything, nothing

        result = await connection.run_sync(lambda _: stream())
    assert result == ((0,), 2499, [(0,), (1,), (2,)], None)


async def test_interrupt_and_terminate_a_connection(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        adapted = await native_connection(connection)
        adapted.interrupt()  # idle: nothing to interrupt, must not fail
        await connection.run_sync(lambda _: adapted.terminate())
        assert adapted.closed
        await connection.run_sync(lambda _: adapted.terminate())  # twice is harmless
        await connection.run_sync(lambda _: adapted.close())
        await connection.invalidate()


async def test_the_driver_exposes_the_raw_duckdb_connection(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.driver_connection, duckdb.DuckDBPyConnection)


def test_url_options_become_duckdb_settings() -> None:
    dialect = AsyncDuckDBDialect()
    _, params = dialect.create_connect_args(
        make_url("duckdb+aioduckdb:///x.duckdb?read_only=true&threads=2")
    )
    assert params == {"database": "x.duckdb", "read_only": True, "config": {"threads": "2"}}
    _, params = dialect.create_connect_args(make_url("duckdb+aioduckdb://"))
    assert params["database"] == ":memory:"
    assert params["read_only"] is False


def test_dialect_dbapi_and_disconnect_detection() -> None:
    dialect = AsyncDuckDBDialect()
    assert AsyncDuckDBDialect.import_dbapi() is DBAPI
    assert AsyncDuckDBDialect.dbapi() is DBAPI
    assert DBAPI.Binary(b"x") == b"x"
    assert dialect.is_disconnect(duckdb.ConnectionException("closed"), None, None)
    assert dialect.is_disconnect(duckdb.Error("Connection already closed!"), None, None)
    assert not dialect.is_disconnect(duckdb.CatalogException("no table"), None, None)
    assert dialect.on_connect() is None


async def test_init_sql_failure_closes_the_connection_and_raises(tmp_path: Path) -> None:
    engine = create_async_engine(
        f"duckdb+aioduckdb:///{tmp_path / 'x.duckdb'}",
        connect_args={"init_sql": ["LOAD no_such_extension_anywhere"]},
    )
    try:
        with pytest.raises(Exception, match="no_such_extension_anywhere"):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    # the failed connection did not keep the file locked
    with duckdb.connect(str(tmp_path / "x.duckdb")) as duck:
        assert duck.execute("SELECT 1").fetchone() == (1,)


def test_worker_call_blocking_returns_and_raises_from_a_plain_thread() -> None:
    worker = ConnectionWorker("test-worker")
    try:
        assert worker.alive
        assert worker.call_blocking(lambda: threading.current_thread().name) == "test-worker"

        def fail() -> None:
            raise KeyError("inside")

        with pytest.raises(KeyError, match="inside"):
            worker.call_blocking(fail)
    finally:
        worker.stop()
        worker.join(5)
    assert not worker.alive


def test_worker_results_for_a_closed_loop_are_dropped() -> None:
    worker = ConnectionWorker("late")
    gate = threading.Event()
    loop = asyncio.new_event_loop()
    try:
        future = loop.run_until_complete(_submit_on(loop, worker, gate))
    finally:
        loop.close()
    gate.set()  # the worker now finishes and finds its loop closed
    worker.stop()
    worker.join(5)
    assert not worker.alive
    assert not future.done()


async def _submit_on(
    loop: asyncio.AbstractEventLoop, worker: ConnectionWorker, gate: threading.Event
) -> asyncio.Future[bool]:
    return worker.submit(lambda: gate.wait(5))


def test_the_extension_wheel_of_fts_is_found() -> None:
    path = extensions.wheel_extension_path("fts")
    assert path.name == "fts.duckdb_extension"
    assert path.is_file()


def test_a_missing_extension_wheel_raises_extension_error() -> None:
    with pytest.raises(ExtensionError, match="pip install"):
        extensions.wheel_extension_path("no_such_ext")


def test_an_unwritable_extension_directory_raises_extension_error(tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    with pytest.raises(ExtensionError, match="extension_directory"):
        extensions.install_extension("fts", blocker / "ext")


def test_default_extension_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert extensions.default_extension_directory(":memory:") == (
        tmp_path / "cache" / "project-architect-db" / "extensions"
    )
    assert extensions.default_extension_directory(str(tmp_path / "a.duckdb")) == (
        tmp_path / ".padb" / "extensions"
    )


def test_duckdb_no_longer_probes_for_an_absent_pandas_on_every_query() -> None:
    import importlib.util
    import sys

    from project_architect_db.core import driver

    driver._stop_duckdb_probing_for_pandas()  # idempotent
    if "pandas" in sys.modules:
        assert driver._PandasIsAbsent not in sys.meta_path
        return
    assert sys.meta_path.count(driver._PandasIsAbsent) == 1
    assert importlib.util.find_spec("json") is not None  # other imports are untouched
    with pytest.raises(ModuleNotFoundError, match="pandas"):
        import pandas  # noqa: F401


async def test_work_before_commit_runs_in_the_commit_and_is_part_of_the_unit(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (n INTEGER)"))
    async with engine.begin() as connection:
        adapted = await native_connection(connection)
        await connection.execute(text("INSERT INTO notes VALUES (1)"))
        adapted.before_commit(lambda duck: duck.execute("INSERT INTO notes VALUES (2)"))
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT n FROM notes ORDER BY n"))
        assert rows.scalars().all() == [1, 2]


async def test_work_before_commit_that_fails_rolls_the_unit_back(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (n INTEGER)"))
    with pytest.raises(Exception, match="no_such_table"):
        async with engine.begin() as connection:
            adapted = await native_connection(connection)
            await connection.execute(text("INSERT INTO notes VALUES (1)"))
            adapted.before_commit(lambda duck: duck.execute("INSERT INTO no_such_table VALUES (1)"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar() == 0
        # the connection is usable again, and nothing is left over for its next commit
        await connection.execute(text("INSERT INTO notes VALUES (3)"))
        await connection.commit()
        assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar() == 1


async def test_work_before_commit_is_forgotten_by_a_rollback(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (n INTEGER)"))
    async with engine.connect() as connection:
        adapted = await native_connection(connection)
        await connection.execute(text("INSERT INTO notes VALUES (1)"))
        adapted.before_commit(lambda duck: duck.execute("INSERT INTO notes VALUES (2)"))
        await connection.rollback()
        await connection.execute(text("INSERT INTO notes VALUES (3)"))
        await connection.commit()
        rows = await connection.execute(text("SELECT n FROM notes ORDER BY n"))
        assert rows.scalars().all() == [3]
