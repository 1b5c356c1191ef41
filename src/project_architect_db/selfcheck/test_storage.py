"""Storage: files and memory, migrations at head, read-only, locked files, cancellation."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from project_architect_db import (
    AlreadyExistsError,
    Database,
    DatabaseLockedError,
    QueryCancelledError,
    ReadOnlyError,
    TransactionAbortedError,
    run,
    sql,
)
from project_architect_db.schemas import ProjectCreate
from project_architect_db.selfcheck._support import on_database


def test_a_new_file_is_created_at_the_head_revision_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "selfcheck.duckdb"

    async def create(db: Database) -> None:
        await db.projects.create(ProjectCreate(name="Kept", slug="kept"))

    async def read(db: Database) -> tuple[str, str | None]:
        from project_architect_db.migration import MigrationManager

        project = await db.projects.get_by_slug("kept")
        current = await MigrationManager(db.engine).current()
        return project.name, current

    on_database(path, create)
    name, current = on_database(path, read)
    assert name == "Kept"
    assert current is not None


def test_memory_is_one_database_for_every_pooled_connection() -> None:
    async def body(db: Database) -> list[int]:
        async with db.engine.begin() as first:
            await first.execute(sql("CREATE TABLE shared (n INTEGER)"))
            await first.execute(sql("INSERT INTO shared VALUES (1), (2)"))

        async def count() -> int:
            async with db.engine.connect() as connection:
                return int(
                    (await connection.execute(sql("SELECT count(*) FROM shared"))).scalar_one()
                )

        return list(await asyncio.gather(*(count() for _ in range(4))))

    assert on_database(":memory:", body) == [2, 2, 2, 2]


def test_writes_on_a_read_only_database_raise_read_only_error(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    on_database(path, lambda db: db.projects.count())

    async def main() -> int:
        async with Database.open(path, read_only=True) as db:
            with pytest.raises(ReadOnlyError):
                await db.projects.create(ProjectCreate(name="No", slug="no"))
            return await db.projects.count()

    assert run(main()) == 0


def test_a_second_process_gets_database_locked_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    on_database(path, lambda db: db.projects.count())
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys
                con = duckdb.connect({str(path)!r})
                print("ready", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        with pytest.raises(DatabaseLockedError) as caught:
            on_database(path, lambda db: db.projects.count())
        assert time.monotonic() - started < 5
        assert str(holder.pid) in str(caught.value)
    finally:
        holder.communicate("", timeout=30)


def test_a_cancelled_query_returns_quickly_and_the_database_stays_usable() -> None:
    async def body(db: Database) -> int:
        long_query = sql("SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3")
        async with db.engine.connect() as connection:
            started = time.monotonic()
            with pytest.raises((TimeoutError, QueryCancelledError)):
                await asyncio.wait_for(connection.execute(long_query), 0.3)
            assert time.monotonic() - started < 5
        async with db.engine.connect() as connection:
            return int((await connection.execute(sql("SELECT 41 + 1"))).scalar_one())

    assert on_database(":memory:", body) == 42


def test_a_commit_after_a_failed_statement_raises_instead_of_rolling_back_silently() -> None:
    async def body(db: Database) -> int:
        async with db.transaction() as tx:
            await tx.execute(sql("CREATE TABLE items (id INTEGER PRIMARY KEY)"))
            await tx.execute(sql("INSERT INTO items VALUES (1)"))
        with pytest.raises(TransactionAbortedError):
            async with db.transaction() as tx:
                await tx.execute(sql("INSERT INTO items VALUES (2)"))
                with pytest.raises(AlreadyExistsError):
                    await tx.execute(sql("INSERT INTO items VALUES (1)"))
                # The error was swallowed: DuckDB would roll the COMMIT back silently.
        async with db.engine.connect() as connection:
            return int((await connection.execute(sql("SELECT count(*) FROM items"))).scalar_one())

    assert on_database(":memory:", body) == 1
