"""Transactions through the Database facade, on real DuckDB files and ':memory:'."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

import project_architect_db as padb
from project_architect_db import (
    AlreadyExistsError,
    ConflictError,
    Database,
    InvalidQueryError,
    TransactionAbortedError,
    TransactionError,
)


async def _make_table(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, v INTEGER)"))


async def _count(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(text("SELECT count(*) FROM items"))).scalar_one())


async def test_transaction_commits_when_the_block_succeeds(database: Database) -> None:
    await _make_table(database)
    async with database.transaction() as tx:
        await tx.execute(text("INSERT INTO items VALUES (1, 10), (2, 20)"))
    assert await _count(database) == 2


async def test_transaction_rolls_back_when_the_block_raises(database: Database) -> None:
    await _make_table(database)
    with pytest.raises(RuntimeError, match="boom"):
        async with database.transaction() as tx:
            await tx.execute(text("INSERT INTO items VALUES (1, 10)"))
            raise RuntimeError("boom")
    assert await _count(database) == 0


async def test_duplicate_key_becomes_already_exists_and_nothing_is_written(
    database: Database,
) -> None:
    await _make_table(database)
    async with database.transaction() as tx:
        await tx.execute(text("INSERT INTO items VALUES (1, 10)"))
    with pytest.raises(AlreadyExistsError, match="unique key"):
        async with database.transaction() as tx:
            await tx.execute(text("INSERT INTO items VALUES (2, 20)"))
            await tx.execute(text("INSERT INTO items VALUES (1, 30)"))
    assert await _count(database) == 1


async def test_commit_after_a_failed_statement_raises_instead_of_silently_rolling_back(
    database: Database,
) -> None:
    await _make_table(database)
    async with database.transaction() as tx:
        await tx.execute(text("INSERT INTO items VALUES (1, 10)"))
    with pytest.raises(TransactionAbortedError, match="not committed"):
        async with database.transaction() as tx:
            await tx.execute(text("INSERT INTO items VALUES (2, 20)"))
            with pytest.raises(AlreadyExistsError):
                await tx.execute(text("INSERT INTO items VALUES (1, 30)"))
            # The caller swallowed the error and carries on: DuckDB would now roll back the
            # COMMIT silently, and the library must not report success.
    assert await _count(database) == 1


async def test_a_binder_error_does_not_abort_the_transaction(database: Database) -> None:
    await _make_table(database)
    async with database.transaction() as tx:
        await tx.execute(text("INSERT INTO items VALUES (1, 10)"))
        with pytest.raises(InvalidQueryError):
            await tx.execute(text("SELECT * FROM no_such_table"))
    assert await _count(database) == 1


async def test_core_connection_commit_after_failure_raises_aborted(database: Database) -> None:
    await _make_table(database)
    async with database.engine.connect() as connection:
        await connection.execute(text("INSERT INTO items VALUES (1, 10)"))
        with pytest.raises(sa_exc.IntegrityError, match=r"(?i)duplicate key"):
            await connection.execute(text("INSERT INTO items VALUES (1, 11)"))
        with pytest.raises(TransactionAbortedError):
            await connection.commit()
    assert await _count(database) == 0


async def test_two_sessions_updating_one_row_conflict(database: Database) -> None:
    await _make_table(database)
    async with database.transaction() as tx:
        await tx.execute(text("INSERT INTO items VALUES (1, 10)"))
    first = database.transaction()
    second = database.transaction()
    tx1 = await first.__aenter__()
    try:
        await tx1.execute(text("UPDATE items SET v = 11 WHERE id = 1"))

        async def other() -> None:
            async with second as tx2:
                await tx2.execute(text("UPDATE items SET v = 12 WHERE id = 1"))

        with pytest.raises(ConflictError, match="Run the unit of work again") as info:
            await asyncio.create_task(other())
        assert info.value.retryable
    finally:
        await first.__aexit__(None, None, None)
    async with database.session() as session:
        value = (await session.execute(text("SELECT v FROM items WHERE id = 1"))).scalar_one()
    assert value == 11


async def test_fifty_concurrent_tasks_share_the_pool(database: Database) -> None:
    await _make_table(database)

    async def work(i: int) -> int:
        async with database.transaction() as tx:
            await tx.execute(text("INSERT INTO items VALUES (:i, :v)"), {"i": i, "v": i})
            result = await tx.execute(text("SELECT count(*) FROM items WHERE id <= :i"), {"i": i})
            return int(result.scalar_one())

    seen = await asyncio.gather(*(work(i) for i in range(50)))
    assert all(count >= 1 for count in seen)
    assert await _count(database) == 50


async def test_nested_transaction_in_the_same_task_joins_the_outer_one(database: Database) -> None:
    await _make_table(database)
    with pytest.raises(RuntimeError):
        async with database.transaction() as outer:
            await outer.execute(text("INSERT INTO items VALUES (1, 10)"))
            async with database.transaction() as inner:
                assert inner is outer
                await inner.execute(text("INSERT INTO items VALUES (2, 20)"))
            # the inner block committed nothing on its own: the outer failure undoes both
            raise RuntimeError("outer fails")
    assert await _count(database) == 0


async def test_a_task_started_inside_a_transaction_gets_its_own(database: Database) -> None:
    await _make_table(database)
    async with database.transaction() as outer:

        async def child() -> object:
            async with database.transaction() as tx:
                return tx

        inner = await asyncio.create_task(child())
        assert inner is not outer


async def test_a_finished_transaction_cannot_be_reused(database: Database) -> None:
    async with database.transaction() as tx:
        pass
    with pytest.raises(TransactionError, match="has ended"):
        await tx.run_native(lambda conn: conn.execute("SELECT 1").fetchall())
    with pytest.raises(TransactionError):
        await tx.commit()


async def test_after_commit_callbacks_run_only_on_commit(database: Database) -> None:
    calls: list[str] = []
    async with database.transaction() as tx:
        tx.after_commit(lambda: calls.append("committed"))
    with pytest.raises(KeyError):
        async with database.transaction() as tx:
            tx.after_commit(lambda: calls.append("rolled back"))
            raise KeyError("x")
    assert calls == ["committed"]


async def test_a_failing_after_commit_callback_neither_undoes_nor_hides_the_commit(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await _make_table(database)
    calls: list[str] = []

    def broken() -> None:
        raise ValueError("subscriber bug")

    async with database.transaction() as tx:
        await tx.execute(text("INSERT INTO items VALUES (1, 10)"))
        tx.after_commit(lambda: calls.append("first"))
        tx.after_commit(broken)
        tx.after_commit(lambda: calls.append("after the broken one"))
    assert calls == ["first", "after the broken one"]
    assert await _count(database) == 1
    assert "after-commit callback failed" in caplog.text
    assert "subscriber bug" in caplog.text


async def test_run_native_shares_the_transaction(database: Database) -> None:
    await _make_table(database)
    with pytest.raises(RuntimeError):
        async with database.transaction() as tx:
            await tx.run_native(lambda conn: conn.execute("INSERT INTO items VALUES (7, 7)"))
            inside = await tx.execute(text("SELECT count(*) FROM items"))
            assert inside.scalar_one() == 1
            raise RuntimeError("undo")
    assert await _count(database) == 0


async def test_raw_sqlalchemy_errors_leaving_a_transaction_are_translated(
    database: Database,
) -> None:
    with pytest.raises(InvalidQueryError, match="syntax"):
        async with database.transaction() as tx:
            await tx.session.execute(text("SELEKT 1"))


def test_run_executes_a_coroutine_on_uvloop() -> None:
    async def loop_name() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert padb.run(loop_name()).startswith("uvloop")


async def test_a_failing_before_commit_callback_rolls_the_unit_back(database: Database) -> None:
    ran: list[str] = []

    async def fails() -> None:
        ran.append("before")
        raise RuntimeError("log refused")

    with pytest.raises(RuntimeError, match="log refused"):
        async with database.transaction() as tx:
            await tx.projects.create({"name": "Gone", "slug": "gone"})
            tx.before_commit_async(fails)
            tx.after_commit(lambda: ran.append("after"))
    assert ran == ["before"]  # never reported as committed
    assert await database.projects.count() == 0
    async with database.transaction() as tx:  # the database goes on
        await tx.projects.create({"name": "Kept", "slug": "kept"})
    assert await database.projects.count() == 1
