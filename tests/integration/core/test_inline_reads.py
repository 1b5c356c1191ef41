"""Short reads on the event-loop thread under a watchdog (``core/_inline.py``), on real DuckDB.

Bounds on elapsed time are loose (a loaded 2-core machine may stall any thread for a while):
the tests check where a read ran and that a long one does not hold the loop for its whole
duration, never a tight figure.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import greenlet_spawn

from project_architect_db import Database, StatementTimeoutError
from project_architect_db.core import _inline
from project_architect_db.core._adapter import AsyncAdaptedConnection
from project_architect_db.core._inline import (
    INLINE_BUDGET,
    WATCHDOG,
    ShortRead,
    Watch,
    Watchdog,
    is_plain_select,
)
from project_architect_db.core._worker import ConnectionWorker
from project_architect_db.core.readers import NativeReaders
from project_architect_db.exceptions._translate import translating
from project_architect_db.models import Project
from project_architect_db.schemas import ProjectCreate

#: Minutes of work, interruptible at any moment.
ENDLESS = "SELECT count(*) FROM range(10000000000) a WHERE a.range % 7 = 3"
#: A budget no loaded machine exceeds with a trivial statement: where the test checks placement.
ROOMY_BUDGET = 5.0
#: Long enough (~0.5-3 s) to see whether the loop kept running, short enough to finish.
LONG = "SELECT count(*) FROM range(100000000) a WHERE a.range % 7 = 3"
LONG_COUNT = 14285714
PATIENCE = 10.0


def _readers(db: Database) -> NativeReaders:
    readers = db._executor.readers
    assert readers is not None
    return readers


async def _writes_done(db: Database) -> None:
    """Wait until the group committer has given its writer connection back (it lingers a few
    loop turns after a unit for the caller's next one), so the reader counts below are exact."""
    drainer = db._executor.writes.committer._drainer
    if drainer is not None:
        await drainer


class Recording:
    """A read that records the thread of every run (a second run means it was moved)."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.threads: list[threading.Thread] = []

    def __call__(self, duck: duckdb.DuckDBPyConnection) -> Any:
        self.threads.append(threading.current_thread())
        return duck.execute(self.sql).fetchall()[0][0]


@pytest.fixture
async def kept(database: Database) -> AsyncIterator[AsyncAdaptedConnection]:
    """An idle kept reader connection of ``database`` (borrowed for the test, then given back)."""
    async with _readers(database).holding() as held:
        yield held.connection


async def test_a_point_read_runs_on_the_loop_thread_when_the_worker_is_idle(
    database: Database,
) -> None:
    project = await database.projects.create(ProjectCreate(name="Inline", slug="inline"))
    await _writes_done(database)
    readers = _readers(database)
    readers.inline_budget = ROOMY_BUDGET
    assert (await database.projects.get(project.id)).slug == "inline"
    read = Recording("SELECT 42")
    assert await readers.run(ShortRead(read)) == 42
    assert read.threads == [threading.main_thread()]
    assert readers.idle == 1  # the connection is kept as before


async def test_a_read_past_the_budget_is_interrupted_and_finished_on_the_worker(
    database: Database,
) -> None:
    read = Recording(LONG)
    ticks: list[float] = []
    running = True

    async def heartbeat() -> None:
        while running:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.005)

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.02)
    started = time.perf_counter()
    assert await _readers(database).run(ShortRead(read)) == LONG_COUNT
    elapsed = time.perf_counter() - started
    running = False
    await beat
    assert read.threads[0] is threading.main_thread()  # tried inline first
    assert len(read.threads) == 2 and read.threads[1] is not threading.main_thread()
    during = [b - a for a, b in itertools.pairwise(ticks) if a >= started]
    # the loop kept ticking while DuckDB counted: no gap close to the query's own duration
    assert during and max(during) < max(0.25, elapsed / 3)


async def test_an_interrupt_landing_before_the_query_starts_is_sent_again(
    database: Database,
) -> None:
    readers = _readers(database)
    readers.inline_budget = 0.001

    def late_start(duck: duckdb.DuckDBPyConnection) -> Any:
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.05)  # still in Python when the budget runs out: the first one is lost
        return duck.execute(
            ENDLESS if threading.current_thread() is threading.main_thread() else "SELECT 11"
        ).fetchall()[0][0]

    started = time.perf_counter()
    assert await readers.run(ShortRead(late_start)) == 11
    assert time.perf_counter() - started < PATIENCE


async def test_cancelling_a_read_moved_to_the_worker_interrupts_it(database: Database) -> None:
    readers = _readers(database)
    read = Recording(ENDLESS)
    task = asyncio.create_task(readers.run(ShortRead(read)))
    for _ in range(int(PATIENCE / 0.01)):  # inline, interrupted, then queued on the worker
        if len(read.threads) == 2:
            break
        await asyncio.sleep(0.01)
    started = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - started < PATIENCE
    assert await readers.run(ShortRead(Recording("SELECT 7"))) == 7  # usable again


async def test_a_statement_timeout_still_applies_to_a_moved_read(
    target: str, extension_directory: Path
) -> None:
    async with Database.open(
        target, extension_directory=extension_directory, statement_timeout=0.3
    ) as db:
        read = Recording(ENDLESS)
        started = time.perf_counter()
        with pytest.raises(StatementTimeoutError) as info, translating():
            await _readers(db).run(ShortRead(read))
        assert info.value.timeout == 0.3
        assert time.perf_counter() - started < PATIENCE
        assert len(read.threads) == 2  # inline first, then timed on the worker
        assert await _readers(db).run(ShortRead(Recording("SELECT 1"))) == 1


async def test_a_timeout_shorter_than_the_budget_keeps_the_read_on_the_worker(
    target: str, extension_directory: Path
) -> None:
    async with Database.open(
        target, extension_directory=extension_directory, statement_timeout=0.001
    ) as db:
        read = Recording(ENDLESS)
        with pytest.raises(StatementTimeoutError), translating():
            await _readers(db).run(ShortRead(read))
        # timed out on the worker (or before its turn came there), never tried on the loop
        assert threading.main_thread() not in read.threads


async def test_a_read_errs_on_the_loop_thread_with_duckdbs_own_error(database: Database) -> None:
    readers = _readers(database)
    readers.inline_budget = ROOMY_BUDGET
    read = Recording("SELECT * FROM no_such_table")
    with pytest.raises(duckdb.CatalogException):
        await readers.run(ShortRead(read))
    assert read.threads == [threading.main_thread()]  # failed inline, not run twice
    assert await readers.run(ShortRead(Recording("SELECT 3"))) == 3


async def test_a_busy_worker_gets_the_read_queued_behind_its_work(
    kept: AsyncAdaptedConnection,
) -> None:
    slow = asyncio.create_task(kept.run(lambda duck: duck.execute(ENDLESS).fetchall()))
    await asyncio.sleep(0.05)  # the worker runs the endless query
    read = Recording("SELECT 5")
    waiting = asyncio.create_task(kept.run_short(ShortRead(read)))
    await asyncio.sleep(0.05)
    assert not waiting.done() and read.threads == []  # never on the loop beside the worker
    kept.interrupt()
    with pytest.raises(duckdb.InterruptException):
        await slow
    assert await waiting == 5
    assert read.threads and read.threads[0] is not threading.main_thread()


async def test_a_read_inside_a_transaction_is_never_run_inline(
    kept: AsyncAdaptedConnection,
) -> None:
    kept.begin()  # an interrupt would abort the transaction: the read must go to the worker
    read = Recording("SELECT 9")
    assert await kept.run_short(ShortRead(read)) == 9
    assert read.threads[0] is not threading.main_thread()
    await greenlet_spawn(kept.rollback)
    assert not kept.in_transaction


async def test_the_first_read_after_a_rollback_may_run_inline_again(
    kept: AsyncAdaptedConnection,
) -> None:
    kept.begin()
    await kept.run(lambda duck: duck.execute("SELECT 1").fetchall())
    await greenlet_spawn(kept.rollback)
    read = Recording("SELECT 8")
    assert await kept.run_short(ShortRead(read), ROOMY_BUDGET) == 8
    assert read.threads == [threading.main_thread()]


async def test_a_closed_connection_refuses_a_short_read(kept: AsyncAdaptedConnection) -> None:
    await greenlet_spawn(kept.close)  # the kept reader is dropped (invalidated) afterwards
    read = Recording("SELECT 1")
    with pytest.raises(duckdb.ConnectionException):
        await kept.run_short(ShortRead(read))
    assert read.threads == []
    assert not kept._worker.claim()  # its worker was stopped: never lent again
    done, _ = kept._run_inline(ShortRead(read), 0.002)
    assert not done and read.threads == []


async def test_a_worker_is_claimed_by_one_user_at_a_time(kept: AsyncAdaptedConnection) -> None:
    worker = kept._worker
    assert worker.claim()
    try:
        assert not worker.claim()  # held once: a second claim fails at once, without waiting
        queued = asyncio.create_task(kept.run(lambda duck: duck.execute("SELECT 2").fetchall()))
        await asyncio.sleep(0.05)
        assert not queued.done()  # the worker waits for the connection to be given back
    finally:
        worker.release()
    assert await queued == [(2,)]


async def test_back_to_back_inline_reads_let_other_tasks_run(database: Database) -> None:
    project = await database.projects.create(ProjectCreate(name="Fair", slug="fair"))
    await _writes_done(database)
    await database.projects.get(project.id)
    turns = 0
    stop = False

    async def other() -> None:
        nonlocal turns
        while not stop:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    for _ in range(300):
        await database.projects.get(project.id)
    stop = True
    await task
    assert turns >= 5  # without yielding, a task awaiting inline reads starves the others


async def test_a_budget_of_zero_keeps_every_read_on_the_worker(database: Database) -> None:
    readers = _readers(database)
    readers.inline_budget = 0
    read = Recording("SELECT 4")
    assert await readers.run(ShortRead(read)) == 4
    assert read.threads[0] is not threading.main_thread()


def test_the_watchdog_fires_only_past_the_deadline_and_then_goes_idle() -> None:
    fired: list[str] = []
    early = WATCHDOG.arm(lambda: fired.append("early"), 10.0)
    assert WATCHDOG.disarm(early) is False
    late = WATCHDOG.arm(lambda: fired.append("late"), 0.001)
    deadline = time.monotonic() + PATIENCE
    while not fired and time.monotonic() < deadline:
        time.sleep(0.001)
    assert fired[0] == "late"  # and again at every tick until disarmed
    assert WATCHDOG.disarm(late) is True
    assert WATCHDOG.disarm(late) is True  # disarming twice is harmless
    while WATCHDOG.ticking and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not WATCHDOG.ticking  # nothing armed: it sleeps until the next read


def _wait_for(condition: Any) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)


def test_a_short_budget_armed_after_a_long_one_is_interrupted_on_time() -> None:
    # the thread sleeps until the earliest deadline: a later, earlier-due read must wake it
    watchdog = Watchdog()
    fired: list[str] = []
    long = watchdog.arm(lambda: fired.append("long"), 600.0)
    time.sleep(0.05)  # the thread now sleeps until the long one is due
    short = watchdog.arm(lambda: fired.append("short"), 0.001)
    _wait_for(lambda: fired)
    assert fired and set(fired) == {"short"}
    assert watchdog.disarm(short) is True
    assert watchdog.disarm(long) is False
    _wait_for(lambda: not watchdog.ticking)
    assert not watchdog.ticking


def test_reads_ending_in_time_are_never_interrupted_and_leave_the_watchdog_parked() -> None:
    watchdog = Watchdog()
    fired: list[int] = []
    for index in range(200):  # back to back, each disarmed well within its budget
        watch = watchdog.arm(lambda index=index: fired.append(index), ROOMY_BUDGET)
        assert watchdog.disarm(watch) is False
    assert watchdog.ticking  # due at the first deadline, where it finds nothing and parks
    assert fired == []


def test_an_interrupt_that_raises_keeps_being_retried_until_disarmed() -> None:
    watchdog = Watchdog()
    calls: list[float] = []

    def closed_connection() -> None:
        calls.append(time.monotonic())
        raise duckdb.ConnectionException("Connection already closed!")

    watch = watchdog.arm(closed_connection, 0.001)
    _wait_for(lambda: len(calls) >= 2)  # the error did not stop the thread
    assert watchdog.disarm(watch) is True
    assert len(calls) >= 2
    assert watchdog._thread is not None and watchdog._thread.is_alive()


def test_a_forked_child_starts_its_own_watchdog_thread() -> None:
    watchdog = Watchdog()
    watchdog.disarm(watchdog.arm(lambda: None, ROOMY_BUDGET))
    parent_thread = watchdog._thread
    watchdog._forget_thread()  # what os.register_at_fork runs in the child
    assert not watchdog.ticking and watchdog._thread is None
    fired: list[str] = []
    watch = watchdog.arm(lambda: fired.append("child"), 0.001)
    _wait_for(lambda: fired)
    assert watchdog.disarm(watch) is True
    assert watchdog._thread is not parent_thread and fired[0] == "child"


# -- SELECTs from SQLAlchemy (sessions, engine connections) --------------------------------
class Hops:
    """Counts the work handed to worker threads (``ConnectionWorker.submit``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        submit = ConnectionWorker.submit

        def counting(worker: ConnectionWorker, fn: Any) -> Any:
            self.count += 1
            return submit(worker, fn)

        monkeypatch.setattr(ConnectionWorker, "submit", counting)


async def _adapted(session: AsyncSession, budget: float) -> AsyncAdaptedConnection:
    connection = await session.connection()
    adapted = (await connection.get_raw_connection()).dbapi_connection
    assert isinstance(adapted, AsyncAdaptedConnection)
    adapted.inline_budget = budget
    return adapted


async def test_a_sessions_first_select_runs_inline_and_later_ones_hop(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = await database.projects.create(ProjectCreate(name="S", slug="s"))
    await _writes_done(database)
    async with database.session() as session:
        adapted = await _adapted(session, ROOMY_BUDGET)
        hops = Hops(monkeypatch)
        statement = select(Project.__table__).where(Project.id == project.id)
        assert (await session.execute(statement)).one().slug == "s"
        assert hops.count == 0 and adapted.in_transaction  # BEGIN + SELECT on the loop
        assert (await session.execute(statement)).one().slug == "s"
        assert hops.count == 1  # inside the transaction: the worker
        adapted.inline_budget = INLINE_BUDGET


async def test_an_interrupted_first_select_reruns_in_a_fresh_transaction_that_commits(
    database: Database,
) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE kept_rows (x INTEGER)"))
    async with database.session() as session:
        await _adapted(session, INLINE_BUDGET)
        assert (await session.execute(text(LONG))).scalar_one() == LONG_COUNT
        await session.execute(text("INSERT INTO kept_rows VALUES (1)"))
        await session.commit()
    async with database.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM kept_rows"))).scalar() == 1


async def test_a_select_calling_a_sequence_never_runs_inline(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE SEQUENCE inline_seq"))
    async with database.session() as session:
        await _adapted(session, ROOMY_BUDGET)
        hops = Hops(monkeypatch)
        assert (await session.execute(text("SELECT nextval('inline_seq')"))).scalar() == 1
        assert hops.count == 1  # run twice after an interrupt, it would skip a value


async def test_a_failed_first_select_inline_leaves_the_transaction_usable(
    database: Database,
) -> None:
    async with database.session() as session:
        await _adapted(session, ROOMY_BUDGET)
        with pytest.raises(DBAPIError, match="no_such_table"):
            await session.execute(text("SELECT * FROM no_such_table"))
        assert (await session.execute(text("SELECT 6"))).scalar() == 6  # binder errors keep it
        await session.commit()


async def test_a_statement_timeout_applies_to_a_moved_session_select(
    target: str, extension_directory: Path
) -> None:
    async with Database.open(
        target, extension_directory=extension_directory, statement_timeout=0.3
    ) as db:
        started = time.perf_counter()
        async with db.session() as session:
            with pytest.raises(StatementTimeoutError), translating():
                await session.execute(text(ENDLESS))
            await session.rollback()
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
        assert time.perf_counter() - started < PATIENCE


async def test_cancelling_a_moved_session_select_interrupts_it(database: Database) -> None:
    async with database.session() as session:
        task = asyncio.create_task(session.execute(text(ENDLESS)))
        await asyncio.sleep(0.2)  # inline for 2 ms, then on the worker
        started = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.perf_counter() - started < PATIENCE
        await session.rollback()
        assert (await session.execute(text("SELECT 1"))).scalar() == 1


async def test_a_session_select_with_a_timeout_below_the_budget_hops(
    target: str, extension_directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Database.open(
        target, extension_directory=extension_directory, statement_timeout=0.5
    ) as db:
        async with db.session() as session:
            await _adapted(session, 1.0)  # the timeout (0.5 s) is shorter than the budget
            hops = Hops(monkeypatch)
            assert (await session.execute(text("SELECT 12"))).scalar() == 12
            assert hops.count == 1


@pytest.mark.parametrize(
    ("statement", "plain"),
    [
        ("SELECT 1", True),
        ("  select * FROM t WHERE id = $1", True),
        ("SELECT nextval('s')", False),
        ("SELECT setval ('s', 3)", False),
        ("INSERT INTO t SELECT 1", False),
        ("WITH x AS (SELECT 1) SELECT * FROM x", False),  # conservative: not a plain SELECT
        ("UPDATE t SET a = 1 RETURNING *", False),
    ],
)
def test_only_plain_selects_may_run_inline(statement: str, plain: bool) -> None:
    assert is_plain_select(statement) is plain
    assert is_plain_select(statement) is plain  # cached


def test_the_select_cache_stays_bounded() -> None:
    for number in range(5000):
        is_plain_select(f"SELECT {number}")
    assert len(_inline._READ_ONLY_CACHE) <= 4097


class _BeginHitByInterrupt:
    """A DuckDB connection whose BEGIN is slow and then interrupted (the race the fix covers)."""

    def __init__(self, duck: duckdb.DuckDBPyConnection, start: bool) -> None:
        self._duck = duck
        self._start = start
        self.interrupted = threading.Event()

    def interrupt(self) -> None:
        self.interrupted.set()
        self._duck.interrupt()

    def begin(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            self._duck.begin()  # the worker's run again: a plain BEGIN
            return
        assert self.interrupted.wait(PATIENCE)  # past the budget: the watchdog fires meanwhile
        if self._start:
            self._duck.begin()  # started, then interrupted before it returned
        raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._duck, name)


@pytest.mark.parametrize("started", [True, False])
async def test_an_interrupt_hitting_begin_still_leaves_a_real_transaction(
    database: Database, started: bool
) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS undone (x INTEGER)"))
    async with database.session() as session:
        adapted = await _adapted(session, 0.001)
        real = adapted._duck
        adapted._duck = _BeginHitByInterrupt(real, started)  # type: ignore[assignment]
        try:
            assert (await session.execute(text("SELECT 13"))).scalar() == 13
        finally:
            adapted._duck = real
        assert adapted.in_transaction and not adapted._begin_pending
        await session.execute(text("INSERT INTO undone VALUES (1)"))
        await session.rollback()  # must undo the INSERT: it ran inside a transaction
    async with database.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM undone"))).scalar() == 0
    assert WATCHDOG.disarm(Watch(lambda: None, 0.0)) is False
