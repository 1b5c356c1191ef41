"""Group commit of native auto-commit units (``core/group_commit.py``), on a real DuckDB file.

The committer is driven through ``NativeWrites.unit()`` / ``unit.commit_with(work)`` exactly as
repositories use it, with plain works on a scratch table. Groups are made deterministic with the
committer's ``before_commit`` seam (:class:`Gate`): the first group is held on the worker thread
before its COMMIT while the test queues the units that must form the next group.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import duckdb
import pytest
from sqlalchemy import text

from project_architect_db import (
    AlreadyExistsError,
    Database,
    DatabaseNotOpenError,
    ProjectArchitectDBError,
    ValidationError,
)
from project_architect_db.core.group_commit import MAX_FAILURES, GroupCommitter, Outcome
from project_architect_db.core.native_write import NativeWrites


class Gate:
    """A ``before_commit`` seam holding the worker before the COMMITs numbered in ``hold``."""

    def __init__(self, hold: Sequence[int] = (1,)) -> None:
        self.loop = asyncio.get_running_loop()
        self.hold = set(hold)
        self.calls = 0
        self.reached = asyncio.Event()
        self.released = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        if self.calls in self.hold:
            self.loop.call_soon_threadsafe(self.reached.set)
            assert self.released.wait(60), "the test never released the gate"
            self.released.clear()  # the next hold waits for the next release

    async def wait(self) -> None:
        await asyncio.wait_for(self.reached.wait(), 30)
        self.reached.clear()


def _writes(db: Database) -> NativeWrites:
    writes = db._context.writes
    assert writes is not None
    return writes


async def _table(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR)"))


async def _rows(db: Database) -> dict[int, str]:
    async with db.transaction() as tx:
        result = await tx.session.execute(text("SELECT id, v FROM t ORDER BY id"))
        return {int(row[0]): str(row[1]) for row in result}


def _insert(key: int, value: str) -> Callable[[duckdb.DuckDBPyConnection], int]:
    def work(duck: duckdb.DuckDBPyConnection) -> int:
        duck.execute("INSERT INTO t VALUES (?, ?)", [key, value])
        return key

    return work


async def _unit(
    db: Database, work: Callable[[duckdb.DuckDBPyConnection], Any], log: list[Any] | None = None
) -> Any:
    async with _writes(db).unit() as unit:
        if log is not None:
            unit.after_commit(lambda: log.append(work))
        return await unit.commit_with(work)


async def _queue_behind_a_held_group(
    db: Database, gate: Gate, first: Any, rest: Sequence[Any]
) -> tuple[asyncio.Task[Any], list[asyncio.Task[Any]]]:
    """Start ``first`` and hold its group at ``gate``, then queue ``rest`` behind it."""
    committer = _writes(db).committer
    head = asyncio.create_task(first)
    await gate.wait()
    tail = [asyncio.create_task(coroutine) for coroutine in rest]
    while committer.queued < len(tail):  # noqa: ASYNC110 - the queue has no event to await
        await asyncio.sleep(0.005)
    return head, tail


async def test_units_queued_during_a_commit_commit_together_each_with_its_result(
    file_database: Database,
) -> None:
    await _table(file_database)
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    order: list[Any] = []
    works = [_insert(key, f"v{key}") for key in range(31)]
    try:
        head, tail = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, works[0], order),
            [_unit(file_database, work, order) for work in works[1:]],
        )
    finally:
        gate.released.set()
    results = await asyncio.gather(head, *tail)
    assert results == list(range(31))
    assert committer.groups == 2 and committer.units == 31
    assert order == works  # after-commit callbacks ran in unit order, group after group
    assert await _rows(file_database) == {key: f"v{key}" for key in range(31)}
    assert committer.queued == 0 and file_database.locks.held == 0


async def test_a_failing_unit_fails_alone_and_the_others_commit(file_database: Database) -> None:
    await _table(file_database)
    await _unit(file_database, _insert(5, "before"))
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    try:
        head, tail = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _insert(100, "head")),
            [_unit(file_database, _insert(key, "grouped")) for key in range(1, 10)],
        )
    finally:
        gate.released.set()
    outcomes = await asyncio.gather(head, *tail, return_exceptions=True)
    assert outcomes[0] == 100
    assert isinstance(outcomes[5], AlreadyExistsError)  # key 5 existed: only its caller fails
    assert [o for i, o in enumerate(outcomes) if i != 5] == [100, 1, 2, 3, 4, 6, 7, 8, 9]
    rows = await _rows(file_database)
    assert rows[5] == "before" and sorted(rows) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 100]


async def test_a_unit_failing_only_beside_a_neighbour_succeeds_when_run_alone(
    file_database: Database,
) -> None:
    """The group fails a unit; run alone it fails again for its own reason, or succeeds."""
    await _table(file_database)
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()

    def needs_seven(duck: duckdb.DuckDBPyConnection) -> str:
        found = duck.execute("SELECT v FROM t WHERE id = 7").fetchone()
        if found is None:  # seven is not there yet in this transaction: refuse
            raise ValidationError("seven is missing")
        duck.execute("INSERT INTO t VALUES (8, 'after seven')")
        return str(found[0])

    try:
        head, tail = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _insert(1, "head")),
            [
                _unit(file_database, needs_seven),  # runs before seven in the group
                _unit(file_database, _insert(7, "seven")),
                _unit(file_database, _insert(7, "seven again")),  # a real duplicate
            ],
        )
    finally:
        gate.released.set()
    outcomes = await asyncio.gather(head, *tail, return_exceptions=True)
    assert outcomes[:3] == [1, "seven", 7]
    assert isinstance(outcomes[3], AlreadyExistsError)
    assert await _rows(file_database) == {1: "head", 7: "seven", 8: "after seven"}


async def test_past_the_failure_budget_the_rest_run_one_by_one(file_database: Database) -> None:
    await _table(file_database)
    for key in range(MAX_FAILURES + 1):
        await _unit(file_database, _insert(key, "taken"))
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    keys = [*range(MAX_FAILURES + 1), 50, 51]
    try:
        head, tail = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _insert(100, "head")),
            [_unit(file_database, _insert(key, "new")) for key in keys],
        )
    finally:
        gate.released.set()
    outcomes = await asyncio.gather(head, *tail, return_exceptions=True)
    assert all(isinstance(o, AlreadyExistsError) for o in outcomes[1 : MAX_FAILURES + 2])
    assert outcomes[-2:] == [50, 51]
    rows = await _rows(file_database)
    assert (rows[50], rows[51], rows[0]) == ("new", "new", "taken")


async def test_a_caller_cancelled_while_queued_writes_nothing(file_database: Database) -> None:
    await _table(file_database)
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    published: list[Any] = []
    try:
        head, (queued, other) = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _insert(1, "head")),
            [
                _unit(file_database, _insert(2, "cancelled"), published),
                _unit(file_database, _insert(3, "kept")),
            ],
        )
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        assert committer.queued == 1  # taken out of the queue at once
    finally:
        gate.released.set()
    assert (await head, await other) == (1, 3)
    assert await _rows(file_database) == {1: "head", 3: "kept"}
    assert published == [] and file_database.locks.held == 0


async def test_a_caller_cancelled_once_its_commit_started_commits_then_sees_the_cancel(
    file_database: Database,
) -> None:
    """The gate holds the group's COMMIT, once decided: nothing stops it any more.

    (Cancelled before, the unit writes nothing: ``test_group_commit_stopping.py``.)
    """
    await _table(file_database)
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    published: list[Any] = []
    work = _insert(1, "committed")
    task = asyncio.create_task(_unit(file_database, work, published))
    try:
        await gate.wait()
        task.cancel()
        await asyncio.sleep(0.05)
        assert not task.done()  # it waits for its COMMIT instead of leaving it half done
    finally:
        gate.released.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _rows(file_database) == {1: "committed"}
    assert published == [work]  # committed, so its changes were published


async def test_a_commit_duckdb_refuses_reruns_each_unit_alone(file_database: Database) -> None:
    """A concurrent transaction commits the group's key first: only that unit fails.

    DuckDB checks unique keys against other transactions at COMMIT: the rival's auto-committed
    INSERT of key 12 succeeds while the group holds its own uncommitted 12, and the group's
    COMMIT is refused. The committer cannot tell which unit caused it, so each runs alone.
    """
    await _table(file_database)
    writes = _writes(file_database)
    rival = await writes.read(lambda duck: duck.cursor())
    writes.committer.before_commit = gate = Gate()
    rivals: list[int] = []

    def commit_the_same_key_first() -> None:  # runs between the group's works and COMMIT
        if not rivals:
            rivals.append(12)
            rival.execute("INSERT INTO t VALUES (12, 'rival')")

    try:
        head, tail = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _insert(1, "head")),
            [_unit(file_database, _insert(key, "grouped")) for key in (11, 12, 13)],
        )
        writes.committer.before_commit = commit_the_same_key_first
    finally:
        gate.released.set()
    outcomes = await asyncio.gather(head, *tail, return_exceptions=True)
    assert rivals == [12]
    assert outcomes[0] == 1 and outcomes[1] == 11 and outcomes[3] == 13
    assert isinstance(outcomes[2], AlreadyExistsError)
    assert await _rows(file_database) == {1: "head", 11: "grouped", 12: "rival", 13: "grouped"}
    assert writes.committer.groups == 2  # the refused group counts once; its units ran alone
    rival.close()


class _Merging:
    """A coalescing work for the fallbacks: merged, refused, or failing as told."""

    coalesce_key = "test.merging"

    def __init__(self, key: int, mode: str) -> None:
        self.key = key
        self.mode = mode

    def __call__(self, duck: duckdb.DuckDBPyConnection) -> str:
        duck.execute("INSERT INTO t VALUES (?, 'alone')", [self.key])
        return "alone"

    def run_together(
        self, duck: duckdb.DuckDBPyConnection, works: Sequence[Any]
    ) -> list[Outcome] | None:
        if self.mode == "refuse":
            return None
        assert len(works) > 1, "a lone coalescing work runs as a plain work"
        if self.mode == "break":
            duck.execute("INSERT INTO t VALUES (?, 'merged')", [self.key])
            duck.execute("SELECT error('merged statement failed')")
        for work in works:
            duck.execute("INSERT INTO t VALUES (?, 'merged')", [work.key])
        return [(True, "merged") for _ in works]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("merge", "merged"), ("refuse", "alone"), ("break", "alone"), ("lonely", "alone")],
)
async def test_coalescing_works_merge_or_fall_back_to_one_by_one(
    file_database: Database, mode: str, expected: str
) -> None:
    await _table(file_database)
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    grouped: list[Any] = (
        [_Merging(2, mode), _insert(3, "alone"), _insert(4, "alone")]  # one of its kind
        if mode == "lonely"
        else [_Merging(key, mode) for key in (2, 3, 4)]
    )
    try:
        head, tail = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _Merging(1, mode)),  # alone in its group: plain work
            [_unit(file_database, work) for work in grouped],
        )
    finally:
        gate.released.set()
    outcomes = await asyncio.gather(head, *tail)
    assert outcomes[:2] == ["alone", expected]
    rows = await _rows(file_database)
    assert rows == {1: "alone", 2: expected, 3: expected, 4: expected}


async def test_a_unit_that_ran_statements_first_commits_in_its_own_transaction(
    file_database: Database,
) -> None:
    await _table(file_database)
    committer = _writes(file_database).committer
    async with _writes(file_database).unit() as unit:
        await unit.run(_insert(1, "run"))
        assert await unit.commit_with(_insert(2, "joined")) == 2
        assert not unit.snapshot_taken()  # committed in the same hop
    assert await _rows(file_database) == {1: "run", 2: "joined"}
    assert committer.units == 0  # never went through the committer


class _Held:
    broken = False

    class connection:
        @staticmethod
        async def run(fn: Any, *, timed: bool = True) -> Any:
            raise duckdb.ConnectionException("Connection already closed!")


class _Readers:
    def __init__(self, fail_at_checkout: bool) -> None:
        self.fail_at_checkout = fail_at_checkout
        self.held = _Held()

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[_Held]:
        if self.fail_at_checkout:
            raise duckdb.ConnectionException("Connection already closed!")
        yield self.held


class _Unit:
    def __init__(self) -> None:
        self._after_commit: list[Any] = []


@pytest.mark.parametrize("fail_at_checkout", [True, False])
async def test_a_committer_whose_connection_fails_fails_every_waiting_unit(
    fail_at_checkout: bool,
) -> None:
    """Stubbed connection (no DuckDB behaviour is involved: only the committer's bookkeeping)."""
    lock = asyncio.Lock()
    readers = _Readers(fail_at_checkout)
    committer = GroupCommitter(lambda: readers, lambda: lock)  # type: ignore[arg-type,return-value]
    outcomes = await asyncio.gather(
        *(committer.submit(_Unit(), _insert(key, "x")) for key in range(3)),  # type: ignore[arg-type]
        return_exceptions=True,
    )
    assert all(isinstance(o, ProjectArchitectDBError) for o in outcomes), outcomes
    assert "closed" in str(outcomes[0]).lower()
    assert committer.queued == 0 and committer.units == 0
    assert readers.held.broken is not fail_at_checkout  # a failed hop drops the connection


async def test_a_group_whose_units_all_fail_answers_each_with_its_own_error(
    file_database: Database,
) -> None:
    await _table(file_database)
    for key in (1, 2):
        await _unit(file_database, _insert(key, "taken"))
    committer = _writes(file_database).committer
    committer.before_commit = gate = Gate()
    try:
        head, tail = await _queue_behind_a_held_group(
            file_database,
            gate,
            _unit(file_database, _insert(100, "head")),
            [_unit(file_database, _insert(key, "again")) for key in (1, 2)],
        )
    finally:
        gate.released.set()
    outcomes = await asyncio.gather(head, *tail, return_exceptions=True)
    assert outcomes[0] == 100
    assert all(isinstance(o, AlreadyExistsError) for o in outcomes[1:])
    assert await _rows(file_database) == {1: "taken", 2: "taken", 100: "head"}


async def test_a_cancelled_committer_fails_its_waiting_units_and_writes_nothing(
    file_database: Database,
) -> None:
    """The committer's own task cancelled (a loop shutting down) before its group ran."""
    await _table(file_database)
    writes = _writes(file_database)
    lock = file_database._executor.commit_lock()
    await lock.acquire()  # the group waits for the commit lock, before any DuckDB work
    try:
        tasks = [asyncio.create_task(_unit(file_database, _insert(k, "x"))) for k in (1, 2)]
        while writes.committer._drainer is None or writes.committer.queued:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        drainer = writes.committer._drainer
        drainer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await drainer
    finally:
        lock.release()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes), outcomes
    assert await _rows(file_database) == {}
    assert writes.committer.queued == 0 and file_database.locks.held == 0
    assert await _unit(file_database, _insert(3, "after")) == 3  # a new drainer starts


async def test_close_right_after_a_write_gives_the_writer_connection_back(tmp_path: Any) -> None:
    """The committer lingers a few loop turns with its connection; close waits for it."""
    path = tmp_path / "close-after-write.duckdb"
    async with Database.open(path) as db:
        await db.projects.create({"name": "Last word"})
        pool = db.engine.sync_engine.pool
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    assert db._executor.writes.committer._drainer is None
    async with Database.open(path) as again:
        assert [p.name for p in (await again.projects.list()).items] == ["Last word"]


async def test_close_while_writes_are_in_flight_keeps_every_acknowledged_one(
    tmp_path: Any,
) -> None:
    """Units already queued are committed before close; later calls get a typed error."""
    path = tmp_path / "close-in-flight.duckdb"
    db = await Database.open(path)
    tasks = [asyncio.create_task(db.projects.create({"name": f"P{index}"})) for index in range(40)]
    await asyncio.sleep(0)
    await db.close()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    stored = [outcome.id for outcome in outcomes if not isinstance(outcome, BaseException)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert all(isinstance(error, DatabaseNotOpenError) for error in refused), refused
    async with Database.open(path) as again:
        found = {p.id for p in (await again.projects.list(limit=100)).items}
    assert set(stored) <= found
    assert len(found) == len(stored)  # nothing unacknowledged was written either


async def test_finishing_an_idle_committer_returns_at_once(database: Database) -> None:
    await _writes(database).committer.finish()  # never drained: nothing to wait for
    assert _writes(database).committer.queued == 0
