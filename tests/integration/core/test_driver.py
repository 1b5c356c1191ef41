"""The duckdb+aioduckdb SQLAlchemy driver on real DuckDB: Core, ORM, pool, cancellation."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Integer, String, Uuid, bindparam, select, text
from sqlalchemy.engine.default import CacheStats
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from project_architect_db.core import _worker
from project_architect_db.core._inline import INLINE_BUDGET
from project_architect_db.core.engine import native_connection
from tests._ticks import count_ticks, idle_period


class Base(DeclarativeBase):
    pass


class Widget(Base):
    __tablename__ = "widgets"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer, default=0)


@pytest.fixture
async def engine(target: str) -> AsyncEngine:
    engine = create_async_engine(f"duckdb+aioduckdb:///{target}", pool_size=3)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield engine  # type: ignore[misc]
    await engine.dispose()
    engine.sync_engine.dialect.close_memory_database()


async def test_the_entry_point_gives_an_async_engine_for_core_and_orm(engine: AsyncEngine) -> None:
    assert engine.dialect.driver == "aioduckdb"
    async with AsyncSession(engine, expire_on_commit=False) as session:
        widget = Widget(name="bolt", size=3)
        session.add(widget)
        await session.commit()
        fetched = await session.get(Widget, widget.id)
    assert fetched is not None
    assert fetched.name == "bolt"
    async with engine.connect() as connection:
        rows = (await connection.execute(select(Widget.name, Widget.size))).all()
    assert rows == [("bolt", 3)]


async def test_dml_reports_rowcount_and_returning_rows(engine: AsyncEngine) -> None:
    table = Widget.__table__
    async with engine.begin() as connection:
        inserted = await connection.execute(
            table.insert().returning(table.c.name),
            [{"id": uuid.uuid4(), "name": f"w{i}", "size": i} for i in range(5)],
        )
        assert sorted(inserted.scalars()) == [f"w{i}" for i in range(5)]
        updated = await connection.execute(table.update().where(table.c.size < 3).values(size=9))
        assert updated.rowcount == 3
        deleted = await connection.execute(table.delete().where(table.c.size == 9))
        assert deleted.rowcount == 3


async def test_the_statement_cache_is_on_and_returns_the_right_rows(engine: AsyncEngine) -> None:
    assert engine.dialect.supports_statement_cache
    table = Widget.__table__
    ids = [uuid.uuid4() for _ in range(30)]
    async with engine.begin() as connection:
        await connection.execute(
            table.insert(), [{"id": i, "name": f"n{n}", "size": n} for n, i in enumerate(ids)]
        )
    by_id = select(table.c.size).where(table.c.id == bindparam("id"))
    in_list = select(table.c.size).where(table.c.size.in_(bindparam("sizes", expanding=True)))
    limited = select(table.c.size).order_by(table.c.size).limit(bindparam("n", type_=Integer))
    async with engine.connect() as connection:
        hits = []
        for n, widget_id in enumerate(ids):
            result = await connection.execute(by_id, {"id": widget_id})
            hits.append(result.context.cache_hit)
            assert result.scalar_one() == n
        for size in range(1, 8):
            wanted = list(range(size))
            got = (await connection.execute(in_list, {"sizes": wanted})).scalars().all()
            assert sorted(got) == wanted
            got = (await connection.execute(limited, {"n": size})).scalars().all()
            assert got == list(range(size))
    # compiled once, then served from the cache with different parameters
    assert hits[0] == CacheStats.CACHE_MISS
    assert all(hit == CacheStats.CACHE_HIT for hit in hits[1:])


async def test_a_memory_table_is_visible_on_every_pooled_connection(tmp_path: Path) -> None:
    engine = create_async_engine("duckdb+aioduckdb:///:memory:", pool_size=3)
    try:
        async with engine.connect() as first, engine.connect() as second:
            await first.execute(text("CREATE TABLE shared (x INTEGER)"))
            await first.execute(text("INSERT INTO shared VALUES (1)"))
            await first.commit()
            assert (await second.execute(text("SELECT x FROM shared"))).scalar_one() == 1
        async with engine.connect() as third:
            assert (await third.execute(text("SELECT count(*) FROM shared"))).scalar_one() == 1
    finally:
        await engine.dispose()
        engine.sync_engine.dialect.close_memory_database()


async def test_two_memory_engines_do_not_share_data() -> None:
    one = create_async_engine("duckdb+aioduckdb:///:memory:")
    two = create_async_engine("duckdb+aioduckdb:///:memory:")
    try:
        async with one.begin() as connection:
            await connection.execute(text("CREATE TABLE only_one (x INTEGER)"))
        async with two.connect() as connection:
            with pytest.raises(Exception, match="only_one"):
                await connection.execute(text("SELECT * FROM only_one"))
    finally:
        for engine in (one, two):
            await engine.dispose()
            engine.sync_engine.dialect.close_memory_database()


async def test_a_cancelled_ten_second_query_returns_within_a_second(engine: AsyncEngine) -> None:
    slow = text("SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3")
    async with engine.connect() as connection:
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(connection.execute(slow), 0.3)
        elapsed = time.perf_counter() - started
        assert elapsed < 1.0
        await connection.rollback()
    # the pool and the database are usable afterwards
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT 42"))).scalar_one() == 42


async def test_a_cancelled_native_call_leaves_the_connection_usable(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        adapted = await native_connection(connection)
        task = asyncio.ensure_future(
            adapted.run(lambda duck: duck.execute("SELECT count(*) FROM range(100000000000)"))
        )
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await adapted.run(lambda duck: duck.execute("SELECT 7").fetchone()) == (7,)


async def test_the_event_loop_keeps_ticking_during_a_long_query(target: str) -> None:
    # DuckDB gets one thread so that, with xdist running a second worker, the loop thread keeps
    # a core. Each query runs ~0.2-0.6 s: a loop blocked by them would tick at most once
    # between two of them (its heartbeat's timer runs out during the query), a free one ticks
    # all along. The tick rate of an idle loop on this (possibly busy) machine is the yardstick.
    engine = create_async_engine(
        f"duckdb+aioduckdb:///{target}", connect_args={"config": {"threads": 1}}
    )
    period = await idle_period()
    queries = 0

    async def long_query() -> None:
        nonlocal queries
        started = time.perf_counter()
        async with engine.connect() as connection:
            while time.perf_counter() - started < 1.0:
                await connection.execute(
                    text("SELECT count(*) FROM range(60000000) a WHERE a.range % 7 = 3")
                )
                queries += 1

    try:
        ticks, elapsed = await count_ticks(0, long_query())
    finally:
        await engine.dispose()
        engine.sync_engine.dialect.close_memory_database()
    assert elapsed >= 1.0
    # blocked: <= one tick per query (1-5 of them); free: near its idle rate (0.67-0.73 of it in
    # full runs, 0.2 at load 26 on 2 cores, where the queries themselves slow down as much)
    assert ticks >= max(queries + 3, 0.15 * elapsed / period), (ticks, queries, elapsed, period)


async def test_server_side_streaming_fetches_in_batches(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        result = await connection.stream(text("SELECT range AS n FROM range(2500)"))
        sizes = [len(partition) async for partition in result.partitions(1000)]
    assert sizes == [1000, 1000, 500]


async def test_a_transaction_costs_one_hop_per_statement_and_one_for_commit(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops = 0
    submit = _worker.ConnectionWorker.submit

    def counting(self: _worker.ConnectionWorker, fn: object) -> object:
        nonlocal hops
        hops += 1
        return submit(self, fn)  # type: ignore[arg-type]

    async with engine.connect() as connection:  # warm the pool and the dialect
        await connection.execute(text("SELECT 1"))
        await connection.commit()
    monkeypatch.setattr(_worker.ConnectionWorker, "submit", counting)
    # VALUES is not a plain SELECT: it never runs inline on the loop (core/_inline.py)
    async with engine.begin() as connection:
        await connection.execute(text("VALUES (1)"))
    assert hops == 2  # BEGIN travels with the statement; COMMIT is the second hop
    hops = 0
    async with engine.begin():
        pass
    assert hops == 0  # a transaction that ran nothing costs nothing
    hops = 0
    async with engine.connect() as connection:
        await connection.execute(text("VALUES (1)"))
    assert hops == 2  # the statement, then the pool's rollback on return
    hops = 0
    async with engine.connect() as connection:
        adapted = (await connection.get_raw_connection()).dbapi_connection
        adapted.inline_budget = 5.0  # type: ignore[union-attr]  # roomy on a loaded machine
        hops = 0
        await connection.begin()
        await connection.execute(text("SELECT 1"))
        await connection.execute(text("SELECT 2"))
        await connection.commit()
        adapted.inline_budget = INLINE_BUDGET  # type: ignore[union-attr]
    # BEGIN + the first SELECT ran on the loop (the worker was idle); inside the transaction
    # the second SELECT must hop (an interrupt would abort it), then COMMIT hops
    assert hops == 2
