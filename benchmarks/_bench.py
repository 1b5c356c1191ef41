"""Shared pieces of the benchmark suite: the data set, the contestants and the measurements.

Everything here runs on one uvloop event loop owned by the caller (``loop.run_until_complete``);
nothing is timed in this module except where a function says so. ``conftest.py`` and
``profile_point_select.py`` both build their environment with :func:`open_env`.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from duckdb_sqlalchemy import ConnectionWrapper
from sqlalchemy import DateTime, Engine, Float, Integer, String, Uuid, bindparam, select, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from project_architect_db.core.engine import native_connection, run_native
from project_architect_db.database import Database

ROWS = 100_000
#: Calls timed together in one round; every per-call figure is a round's time divided by this.
CALLS_PER_ROUND = 100
TABLE = "bench_items"


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = TABLE

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    n: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime)


ITEMS = Item.__table__
#: The prebuilt Core statement every async Core call executes (compiled once, then cached).
POINT_SELECT = select(ITEMS).where(ITEMS.c.id == bindparam("id"))

_CREATE = f"""
CREATE TABLE {TABLE} (
    id UUID PRIMARY KEY,
    name VARCHAR NOT NULL,
    n INTEGER NOT NULL,
    score DOUBLE NOT NULL,
    created_at TIMESTAMP NOT NULL
)
"""
# One set-based statement, never executemany.
_FILL = f"""
INSERT INTO {TABLE}
SELECT uuid(), 'item-' || i, i::INTEGER, random(),
       TIMESTAMP '2024-01-01' + to_seconds(i::BIGINT)
FROM range({ROWS}) AS t(i)
"""


@dataclass
class BenchEnv:
    """One DuckDB file opened by the library, plus raw and sync-ORM access to the same instance."""

    loop: asyncio.AbstractEventLoop
    path: Path
    db: Database
    #: A raw DuckDB connection to the same database instance (``cursor()`` of the driver's).
    root: duckdb.DuckDBPyConnection
    #: The sync SQLAlchemy engine on duckdb-sqlalchemy, sharing the same DuckDB instance.
    sync_engine: Engine
    ids: list[uuid.UUID]
    #: The SQL text SQLAlchemy sends for :data:`POINT_SELECT`, so the floor runs the same query.
    point_sql: str
    build_seconds: float
    rng: random.Random = field(default_factory=lambda: random.Random(20240101))

    def run(self, awaitable: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(awaitable)

    def sample(self, k: int = CALLS_PER_ROUND) -> list[uuid.UUID]:
        return self.rng.choices(self.ids, k=k)


async def open_env(directory: Path, loop: asyncio.AbstractEventLoop) -> BenchEnv:
    """Open the library on a new file and fill a 100k-row table with one INSERT ... SELECT."""
    path = directory / "bench.duckdb"
    db = await Database.open(path)
    async with db.engine.connect() as conn:
        # A second connection to the *same* DuckDB instance: DuckDB refuses a second instance
        # of one file with a different configuration, so the baselines borrow the library's.
        root: duckdb.DuckDBPyConnection = await run_native(conn, lambda duck: duck.cursor())
        point_sql = str(
            POINT_SELECT.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        )
    started = time.perf_counter()
    root.execute(_CREATE)
    root.execute(_FILL)
    root.execute("CHECKPOINT")
    build_seconds = time.perf_counter() - started
    ids = [row[0] for row in root.execute(f"SELECT id FROM {TABLE}").fetchall()]
    assert len(ids) == ROWS
    # duckdb-sqlalchemy as shipped; only the DuckDB connection comes from the shared instance
    # (its own connect() adds a custom_user_agent, which DuckDB treats as another config).
    sync_engine = create_sync_engine(
        f"duckdb:///{path}", creator=lambda: ConnectionWrapper(root.cursor())
    )
    return BenchEnv(loop, path, db, root, sync_engine, ids, point_sql, build_seconds)


async def close_env(env: BenchEnv) -> None:
    env.sync_engine.dispose()
    await env.db.close()
    env.root.close()


# -- point select contestants --------------------------------------------------------------
class Contestant:
    """Runs :data:`CALLS_PER_ROUND` point selects, one per id of ``sample``, per ``__call__``."""

    key: str = ""
    label: str = ""

    def __init__(self, env: BenchEnv) -> None:
        self.env = env

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def __call__(self, sample: list[uuid.UUID]) -> None:
        raise NotImplementedError


class AsyncContestant(Contestant):
    """The event loop runs once per round; the round awaits every call in turn."""

    def __call__(self, sample: list[uuid.UUID]) -> None:
        self.env.loop.run_until_complete(self.batch(sample))

    async def batch(self, sample: list[uuid.UUID]) -> None:
        raise NotImplementedError


class RawCursor(Contestant):
    key = "raw"
    label = "raw DuckDB cursor execute(sql, [id]).fetchone()"

    async def open(self) -> None:
        self.cursor = self.env.root.cursor()

    async def close(self) -> None:
        self.cursor.close()

    def __call__(self, sample: list[uuid.UUID]) -> None:
        execute, sql = self.cursor.execute, self.env.point_sql
        for key in sample:
            execute(sql, [key]).fetchone()


class RawInTransaction(RawCursor):
    key = "raw_tx"
    label = "raw DuckDB cursor, the same inside one BEGIN ... transaction"

    async def open(self) -> None:
        await super().open()
        self.cursor.begin()

    async def close(self) -> None:
        self.cursor.rollback()
        await super().close()


class RawOnWorker(AsyncContestant):
    key = "raw_worker"
    label = "raw DuckDB on the driver's worker thread (run_native, 1 hop)"

    async def open(self) -> None:
        self.conn = await self.env.db.engine.connect()
        self.adapted = await native_connection(self.conn)

    async def close(self) -> None:
        await self.conn.close()

    async def batch(self, sample: list[uuid.UUID]) -> None:
        run, sql = self.adapted.run, self.env.point_sql
        for key in sample:
            await run(lambda duck, key=key: duck.execute(sql, [key]).fetchone())


class CoreInTransaction(AsyncContestant):
    key = "core_tx"
    label = "async Core await conn.execute(select) in one transaction"

    async def open(self) -> None:
        self.conn: AsyncConnection = await self.env.db.engine.connect()
        await self.conn.begin()

    async def close(self) -> None:
        await self.conn.rollback()
        await self.conn.close()

    async def batch(self, sample: list[uuid.UUID]) -> None:
        execute = self.conn.execute
        for key in sample:
            (await execute(POINT_SELECT, {"id": key})).one()


class CoreAutocommit(CoreInTransaction):
    key = "core_autocommit"
    label = "async Core await conn.execute(select), AUTOCOMMIT"

    async def open(self) -> None:
        engine = self.env.db.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.conn = await engine.connect()


class AsyncOrmGet(AsyncContestant):
    key = "async_orm"
    label = "async ORM await db.session().get(Model, id)"

    async def open(self) -> None:
        self.session: AsyncSession = self.env.db.session()

    async def close(self) -> None:
        await self.session.close()

    async def batch(self, sample: list[uuid.UUID]) -> None:
        session = self.session
        for key in sample:
            await session.get(Item, key)
            session.expunge_all()


class SyncOrmGet(Contestant):
    key = "sync_orm"
    label = "sync ORM Session.get(Model, id) on duckdb-sqlalchemy"

    async def open(self) -> None:
        self.session = Session(self.env.sync_engine)

    async def close(self) -> None:
        self.session.close()

    def __call__(self, sample: list[uuid.UUID]) -> None:
        session = self.session
        for key in sample:
            session.get(Item, key)
            session.expunge_all()


POINT_CONTESTANTS: list[type[Contestant]] = [
    RawCursor,
    RawInTransaction,
    RawOnWorker,
    CoreInTransaction,
    CoreAutocommit,
    AsyncOrmGet,
    SyncOrmGet,
]


async def check_contestant(contestant: Contestant, env: BenchEnv) -> None:
    """A contestant must find the row (a benchmark of a failing lookup proves nothing)."""
    key = env.ids[0]
    expected = env.root.execute(env.point_sql, [key]).fetchone()
    assert expected is not None
    if isinstance(contestant, CoreInTransaction):
        row = (await contestant.conn.execute(POINT_SELECT, {"id": key})).one()
        assert tuple(row) == expected
    elif isinstance(contestant, AsyncOrmGet):
        item = await contestant.session.get(Item, key)
        assert item is not None
        assert item.name == expected[1]
        contestant.session.expunge_all()
    elif isinstance(contestant, SyncOrmGet):
        item = contestant.session.get(Item, key)
        assert item is not None
        assert item.name == expected[1]
        contestant.session.expunge_all()


# -- session acquisition -------------------------------------------------------------------
def acquire_raw_cursor(env: BenchEnv) -> Callable[[int], None]:
    root = env.root

    def round_(calls: int) -> None:
        for _ in range(calls):
            root.cursor().close()

    return round_


def acquire_async(env: BenchEnv, kind: str) -> Callable[[int], None]:
    db = env.db

    async def session_lazy(calls: int) -> None:
        for _ in range(calls):
            async with db.session():
                pass

    async def session_connection(calls: int) -> None:
        for _ in range(calls):
            async with db.session() as session:
                await session.connection()

    async def engine_connect(calls: int) -> None:
        engine = db.engine
        for _ in range(calls):
            async with engine.connect():
                pass

    batch = {
        "session_lazy": session_lazy,
        "session_connection": session_connection,
        "engine_connect": engine_connect,
    }[kind]

    def round_(calls: int) -> None:
        env.loop.run_until_complete(batch(calls))

    return round_


ACQUISITION_LABELS = {
    "raw_cursor": "raw duckdb_connection.cursor() + close()",
    "session_lazy": "async with db.session(): (no statement, no connection)",
    "session_connection": "async with db.session() as s: await s.connection()",
    "engine_connect": "async with engine.connect(): (pool checkout + return)",
}


# -- event-loop lag ------------------------------------------------------------------------
HEARTBEAT_INTERVAL = 0.010


def long_query(n: int) -> str:
    return (
        f"SELECT count(*) FROM range({n}) AS a(x), range({n}) AS b(y) "
        "WHERE (a.x * 31 + b.y) % 97 = 0"
    )


def calibrate_long_query(root: duckdb.DuckDBPyConnection, target_seconds: float = 1.0) -> int:
    """The ``n`` for which :func:`long_query` takes about ``target_seconds`` here and now."""
    probe = 2500
    elapsed = math.inf
    for _ in range(2):  # the faster of two probes: the other tenants of the machine vary
        started = time.perf_counter()
        root.execute(long_query(probe)).fetchall()
        elapsed = min(elapsed, time.perf_counter() - started)
    n = int(probe * math.sqrt(target_seconds / max(elapsed, 1e-3)))
    return max(1000, min(n, 20_000))


@dataclass
class LagTrial:
    seconds: float
    lags: list[float]


async def measure_lag(work: Callable[[], Awaitable[None]]) -> LagTrial:
    """Run ``work`` while a 10 ms heartbeat task records how late each tick wakes up.

    A tick counts when its sleep overlapped the work; a blocked loop shows up as one tick that
    is as late as the blocking call was long.
    """
    ticks: list[tuple[float, float]] = []  # (tick start, wake-up)
    running = True

    async def heartbeat() -> None:
        while running:
            before = time.perf_counter()
            await asyncio.sleep(HEARTBEAT_INTERVAL)
            ticks.append((before, time.perf_counter()))

    task = asyncio.create_task(heartbeat())
    await asyncio.sleep(3 * HEARTBEAT_INTERVAL)  # the heartbeat is ticking
    started = time.perf_counter()
    await work()
    ended = time.perf_counter()
    running = False
    await task  # the tick in flight (the late one, after a blocking call) still counts
    lags = [
        woke - start - HEARTBEAT_INTERVAL
        for start, woke in ticks
        if woke > started and start < ended  # the tick overlapped the work
    ]
    return LagTrial(ended - started, lags)


def lag_work(env: BenchEnv, kind: str, query: str) -> Callable[[], Awaitable[None]]:
    async def idle() -> None:
        await asyncio.sleep(1.0)

    async def cpu_burn() -> None:
        # Control: every core busy in other processes, no DuckDB in this one.
        burn = "import time\nend = time.perf_counter() + 1.0\nwhile time.perf_counter() < end: pass"
        processes = [
            await asyncio.create_subprocess_exec(sys.executable, "-c", burn)
            for _ in range(os.cpu_count() or 1)
        ]
        for process in processes:
            await process.wait()

    async def driver() -> None:
        async with env.db.engine.connect() as conn:
            await conn.execute(text(query))

    async def driver_one_thread() -> None:
        async with env.db.engine.connect() as conn:
            await conn.execute(text("SET threads = 1"))
            try:
                await conn.execute(text(query))
            finally:
                await conn.execute(text("RESET threads"))

    async def to_thread() -> None:
        # The simplest possible offload, for comparison with the driver's worker thread.
        cursor = env.root.cursor()
        try:
            await asyncio.to_thread(lambda: cursor.execute(query).fetchall())
        finally:
            cursor.close()

    async def blocking() -> None:
        # The contrast: a blocking driver, i.e. DuckDB called on the event loop's thread.
        env.root.execute(query).fetchall()

    return {
        "idle": idle,
        "cpu_burn": cpu_burn,
        "driver": driver,
        "driver_threads_1": driver_one_thread,
        "to_thread": to_thread,
        "blocking": blocking,
    }[kind]


LAG_LABELS = {
    "idle": "control: heartbeat alone, nothing running (machine noise)",
    "cpu_burn": "control: every core busy in other processes for 1 s, no DuckDB",
    "driver": "~1 s query through the async driver",
    "driver_threads_1": "~1 s query through the async driver, DuckDB threads=1",
    "to_thread": "~1 s raw DuckDB query in asyncio.to_thread (same instance)",
    "blocking": "~1 s raw DuckDB query on the loop thread (blocking)",
}


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
