"""A read shape leaves the loop thread after a run over the budget (``core/_inline.py``, hot rows).

DuckDB keeps every version of an updated row while an older transaction is open, and a point
read of any row of that vector walks them all before it looks at an interrupt: the watchdog
cannot cut it. So each shape learns from its last run where the next one runs. The CPU-bound
functions below burn thread CPU on purpose (a sleep would not count off the loop); the budgets
are wide enough that no loaded machine turns a trivial run into a slow one.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import duckdb
import pytest
from sqlalchemy import text

from project_architect_db import Database
from project_architect_db.core._inline import (
    COOLDOWN,
    FAR_OVER,
    MAX_COOLDOWN,
    STRIKE_WINDOW,
    InlineCost,
    ShortRead,
)
from project_architect_db.core.readers import NativeReaders
from project_architect_db.repositories._native_read import _CompiledGet

#: The budget of these tests: a trivial run is not preempted this long, a busy one always
#: takes longer (a run on the loop is timed by the wall clock, on the worker by thread CPU).
#: A lone run on the loop moves its shape only past ``FAR_OVER`` budgets: a trivial run would
#: have to be preempted four times this long.
BUDGET = 0.05
#: CPU a busy run burns: more than ``FAR_OVER`` budgets.
BUSY = 0.3


async def _cooled(cost: InlineCost) -> None:
    """Wait out the shape's cool-down."""
    await asyncio.sleep(max(0.0, cost.until - time.perf_counter()) + 0.001)


def _readers(db: Database) -> NativeReaders:
    readers = db._executor.readers
    assert readers is not None
    return readers


def _burn(seconds: float) -> None:
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass


class Shape:
    """Runs of one read shape: busy (CPU) or trivial, recording each run's thread."""

    def __init__(self) -> None:
        self.cost = InlineCost()
        self.threads: list[threading.Thread] = []  # where each read started
        self.busy = False
        self.fail = False

    def read(self) -> ShortRead[Any]:
        started: list[threading.Thread] = []

        def fetch(duck: duckdb.DuckDBPyConnection) -> Any:
            if not started:  # a run interrupted on the loop runs again on the worker
                started.append(threading.current_thread())
                self.threads.append(started[0])
            if self.busy:
                _burn(BUSY)
            if self.fail:
                duck.execute("SELECT * FROM no_such_table")
            return duck.execute("SELECT 42").fetchall()[0][0]

        return ShortRead(fetch, self.cost)

    def ran_inline(self) -> list[bool]:
        return [thread is threading.main_thread() for thread in self.threads]


@pytest.fixture
def readers(database: Database) -> NativeReaders:
    readers = _readers(database)
    readers.inline_budget = BUDGET
    return readers


async def test_a_shape_whose_runs_fit_the_budget_keeps_running_on_the_loop(
    readers: NativeReaders,
) -> None:
    shape = Shape()
    for _ in range(3):
        assert await readers.run(shape.read()) == 42
    assert shape.ran_inline() == [True, True, True]
    assert shape.cost.inline


async def test_a_shape_over_the_budget_runs_on_the_worker_until_a_run_there_fits(
    readers: NativeReaders,
) -> None:
    shape = Shape()
    shape.busy = True
    # on the loop (interrupted at the budget by the watchdog, it ends on the worker)
    assert await readers.run(shape.read()) == 42
    assert await readers.run(shape.read()) == 42  # so on the worker at once, still over it
    shape.busy = False
    await _cooled(shape.cost)
    assert await readers.run(shape.read()) == 42  # on the worker, within it after its cool-down
    assert await readers.run(shape.read()) == 42  # back on the loop
    assert shape.ran_inline() == [True, False, False, True]


async def test_a_short_run_within_the_cool_down_keeps_the_shape_on_the_worker(
    readers: NativeReaders,
) -> None:
    shape = Shape()
    shape.busy = True
    await readers.run(shape.read())
    cost = shape.cost
    cost.until = time.perf_counter() + 60.0  # a long spell: the cool-down outlasts the test
    shape.busy = False
    for _ in range(3):  # short now, but the row may still be hot: no run on the loop yet
        assert await readers.run(shape.read()) == 42
    assert shape.ran_inline()[-3:] == [False, False, False]
    assert not cost.inline


async def test_a_failing_run_over_the_budget_raises_duckdbs_error_and_leaves_the_loop(
    readers: NativeReaders,
) -> None:
    shape = Shape()
    shape.busy = shape.fail = True
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        await readers.run(shape.read())
    assert not shape.cost.inline
    shape.busy = shape.fail = False
    assert await readers.run(shape.read()) == 42
    assert shape.ran_inline() == [True, False]


async def test_with_a_budget_of_zero_a_costed_shape_still_answers_on_the_worker(
    readers: NativeReaders,
) -> None:
    readers.inline_budget = 0.0
    shape = Shape()
    for _ in range(2):
        assert await readers.run(shape.read()) == 42
    assert shape.ran_inline() == [False, False]
    readers.inline_budget = BUDGET  # a trivial run fitting the new budget brings it back
    await _cooled(shape.cost)
    assert await readers.run(shape.read()) == 42
    assert await readers.run(shape.read()) == 42
    assert shape.ran_inline() == [False, False, False, True]


async def test_a_read_without_a_cost_is_tried_on_the_loop_every_time(
    readers: NativeReaders,
) -> None:
    threads: list[threading.Thread] = []

    def fetch(duck: duckdb.DuckDBPyConnection) -> int:
        threads.append(threading.current_thread())
        _burn(BUSY)
        return 7

    for _ in range(2):
        assert await readers.run(ShortRead(fetch)) == 7
    assert threads == [threading.main_thread()] * 2


async def _hot_row(db: Database, project_id: uuid.UUID, updates: int) -> None:
    """``updates`` committed updates of one project row, on a connection of its own."""
    statement = "UPDATE projects SET description = $1 WHERE id = $2"

    def update(duck: duckdb.DuckDBPyConnection) -> None:
        for number in range(updates):
            duck.execute(statement, [f"revision {number}", project_id])

    async with _readers(db).holding() as held:
        await held.connection.run(update)


def _get_cost(db: Database) -> InlineCost:
    (compiled,) = [
        entry for entry in db._executor.statements.entries("get") if isinstance(entry, _CompiledGet)
    ]
    cost: InlineCost = compiled.point.cost
    return cost


async def test_a_get_of_a_hot_row_leaves_the_loop_while_an_old_transaction_keeps_its_versions(
    file_database: Database,
) -> None:
    db = file_database
    project = await db.projects.create({"name": "Counter"})
    assert await db.projects.get(project.id) == project
    cost = _get_cost(db)
    await _until_inline(db, project.id, cost)  # a get fits (a preempted one hops once)
    opened, done = asyncio.Event(), asyncio.Event()

    async def old_transaction() -> None:  # another task: the gets below are not part of it
        async with db.transaction() as old:
            await old.execute(text("SELECT count(*) FROM projects"))  # its snapshot starts
            opened.set()
            await done.wait()

    holder = asyncio.create_task(old_transaction())
    await opened.wait()
    await _hot_row(db, project.id, 3000)  # a read of the row now walks 3,000 versions
    # Each get is over the budget (the walk: 3-4 ms on a quiet core, 11-18 ms on a busy one):
    # one far over it, or a few back to back past FAR_OVER budgets together, move the shape.
    for _ in range(int(FAR_OVER) + 1):
        assert (await db.projects.get(project.id)).description == "revision 2999"
        if not cost.inline:
            break
    assert not cost.inline  # the next ones hop
    for _ in range(3):  # timed in CPU on the worker: still several budgets
        assert (await db.projects.get(project.id)).description == "revision 2999"
        assert not cost.inline
    done.set()
    await holder
    await _hot_row(db, project.id, 1)  # a commit: the versions nobody can see are cleaned up
    await _until_inline(db, project.id, cost)


async def _until_inline(db: Database, project_id: uuid.UUID, cost: InlineCost) -> None:
    for _ in range(20):
        await _cooled(cost)
        await db.projects.get(project_id)
        if cost.inline:
            return
    raise AssertionError("a get of a cold row never fitted the budget")


def test_a_shape_starts_on_the_loop_and_leaves_it_for_a_cool_down_after_a_slow_run() -> None:
    cost = InlineCost()
    assert cost.inline
    cost.settle(None, 0.002)  # did not run: nothing learnt
    cost.settle(0.002, 0.002)  # within the budget
    assert cost.inline and cost.cooldown == 0.0
    cost.settle(0.009, 0.002)  # far over it
    assert not cost.inline and cost.cooldown == COOLDOWN
    cost.settle(0.001, 0.002)  # short, but within the cool-down
    assert not cost.inline
    cost.until = time.perf_counter() - 0.001
    cost.settle(0.001, 0.002)
    assert cost.inline


def _back_on_the_loop(cost: InlineCost) -> None:
    """The cool-down just ran out and a short run on the worker brought the shape back."""
    cost.until = time.perf_counter() - 0.001
    cost.settle(0.001, 0.002)
    assert cost.inline


def test_a_cool_down_doubles_within_a_spell_up_to_its_cap_and_resets_after_a_quiet_one() -> None:
    cost = InlineCost()
    cost.settle(0.01, 0.002)
    for _ in range(12):  # back on the loop, and over the budget there again at once
        _back_on_the_loop(cost)
        cost.settle(0.01, 0.002)
    assert cost.cooldown == MAX_COOLDOWN
    _back_on_the_loop(cost)
    cost.until = time.perf_counter() - 5 * MAX_COOLDOWN  # long ago: the spell is over
    cost.settle(0.01, 0.002)
    assert cost.cooldown == COOLDOWN and not cost.inline
    _back_on_the_loop(cost)
    cost.settle(0.01, 0.002)
    assert cost.cooldown == 2 * COOLDOWN


def test_slow_runs_on_the_worker_keep_the_shape_there_without_lengthening_its_cool_down() -> None:
    cost = InlineCost()
    cost.settle(0.01, 0.002)  # on the loop: off it for a cool-down
    until = cost.until
    for _ in range(5):
        cost.settle(0.004, 0.002)  # on the worker: an index lookup whose caller spun
    assert (cost.cooldown, cost.until, cost.inline) == (COOLDOWN, until, False)
    cost.until = time.perf_counter() - 0.001
    cost.settle(0.004, 0.002)  # after the cool-down, a slow run does not bring it back ...
    assert not cost.inline
    cost.settle(0.001, 0.002)  # ... a short one does
    assert cost.inline and cost.cooldown == COOLDOWN


def test_a_lone_run_a_little_over_the_budget_keeps_the_shape_on_the_loop() -> None:
    cost = InlineCost()
    cost.settle(0.005, 0.002)  # cold caches after other work: 2.5 budgets, once
    assert cost.inline and cost.cooldown == 0.0
    cost.struck -= 2 * STRIKE_WINDOW  # long ago: the next slow run starts a new spell
    cost.settle(0.007, 0.002)
    assert cost.inline and cost.cooldown == 0.0
    cost.settle(0.001, 0.002)
    assert cost.inline


def test_slow_runs_back_to_back_send_the_shape_away_once_they_held_the_loop_too_long() -> None:
    cost = InlineCost()
    budget = 0.002
    cost.settle(0.003, budget)  # each a little over the budget, but within a spell ...
    cost.settle(0.003, budget)
    assert cost.inline
    cost.settle(0.003, budget)  # ... together past FAR_OVER (4) budgets
    assert not cost.inline and cost.cooldown == COOLDOWN
    assert cost.debt == 0.0  # the next spell on the loop starts from nothing


def test_one_run_far_over_the_budget_sends_the_shape_away_at_once() -> None:
    cost = InlineCost()
    cost.settle(FAR_OVER * 0.002 + 0.001, 0.002)  # a hot row's walk
    assert not cost.inline and cost.cooldown == COOLDOWN
