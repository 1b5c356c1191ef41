"""Reads at the floor (issue 12, point 5): point reads, ``bulk_create`` and loop lag vs raw DuckDB.

Every target is measured against raw DuckDB on the same file, in the same run, **interleaved**
(all contestants of a target in each round, in a shuffled order), and printed as a ratio of
medians. Run it alone, it prints its own table::

    pytest benchmarks/test_reads_bench.py -p no:xdist -s -q       # ~1-2 min on 2 cores
    python benchmarks/test_reads_bench.py                         # the same, without pytest

Targets: ``db.projects.get(id)`` and ``AsyncSession.execute(select(...).where(id == ...))``
<= 1.2x the raw ``cursor.execute(sql, [id]).fetchone()``; ``bulk_create`` of 10k records <= 1.3x
the raw Arrow insert of the same rows; heartbeat lag <= 5 ms while a ~1 s query runs through
the path a point read takes (kept reader, inline attempt), and through SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import uvloop
from sqlalchemy import bindparam, select, text

sys.path.insert(0, str(Path(__file__).parent))

from _bench import calibrate_long_query, long_query, measure_lag
from _repo_bench import (
    PROJECTS,
    RawArrowBulk,
    RawGet,
    RawPythonBulk,
    RepoBulk,
    RepoEnv,
    RepoGet,
    close_repo_env,
    open_repo_env,
    time_round,
)
from project_architect_db.core._inline import ShortRead
from project_architect_db.models import Project

POINT_ROUNDS = 15
BULK_ROUNDS = 7
TARGETS = {
    "get": 1.2,
    "session_select": 1.2,
    "session_bound_select": 1.2,
    "session_orm_select": 1.2,
    "session_per_call": 1.2,
    "bulk_create": 1.3,
}
LAG_TARGET_MS = 5.0
LAG_TRIALS = 3


class RepoGetOnWorker(RepoGet):
    """``db.projects.get`` with inline reads off: every read hops to the worker (the old path)."""

    key, label = "repo_get_worker", "await db.projects.get(id), inline budget 0"

    async def batch(self, ids: list[uuid.UUID]) -> None:
        readers = self.env.db._executor.readers
        assert readers is not None
        budget, readers.inline_budget = readers.inline_budget, 0
        try:
            await super().batch(ids)
        finally:
            readers.inline_budget = budget


class SessionSelect(RepoGet):
    """``AsyncSession.execute(select(projects table).where(id == ...)).one()`` in one session."""

    key, label = "session_select", "await session.execute(select(table).where(id == x)).one()"
    entity: Any = Project.__table__

    def __init__(self, env: RepoEnv) -> None:
        super().__init__(env)
        self.session = env.db.session()
        env.run(self.session.__aenter__())
        self.column = Project.__table__.c.id

    async def batch(self, ids: list[uuid.UUID]) -> None:
        execute, entity, column = self.session.execute, self.entity, self.column
        for key in ids:
            (await execute(select(entity).where(column == key))).one()

    def close(self) -> None:
        self.env.run(self.session.__aexit__(None, None, None))


class SessionBoundSelect(SessionSelect):
    """The same statement built once with a ``bindparam``, its value given per call.

    SQLAlchemy's documented way to run one statement many times: no statement is built per
    call (building ``select(table).where(id == x)`` costs ~20-60 us, which raw DuckDB never pays).
    """

    key = "session_bound_select"
    label = (
        'stmt = select(table).where(id == bindparam("id")); await session.execute(stmt, {"id": x})'
    )

    async def batch(self, ids: list[uuid.UUID]) -> None:
        execute = self.session.execute
        statement = select(self.entity).where(self.column == bindparam("id"))
        for key in ids:
            (await execute(statement, {"id": key})).one()


class SessionOrmSelect(SessionSelect):
    """The same with ORM entities (``scalar_one()`` returns a ``Project``)."""

    key, label = "session_orm_select", "await session.execute(select(Project).where(...))"
    entity = Project

    async def batch(self, ids: list[uuid.UUID]) -> None:
        execute, column = self.session.execute, Project.id
        for key in ids:
            (await execute(select(Project).where(column == key))).scalar_one()
            self.session.expunge_all()  # every call loads a fresh object, as a request would


class SessionPerCall(RepoGet):
    """A session per call, as a request handler uses one: its SELECT is the first statement."""

    key, label = "session_per_call", "async with db.session() as s: await s.execute(select)"

    async def batch(self, ids: list[uuid.UUID]) -> None:
        session, table = self.env.db.session, Project.__table__
        column = table.c.id
        for key in ids:
            async with session() as s:
                (await s.execute(select(table).where(column == key))).one()


def interleaved(env: RepoEnv, contestants: list[Any], rounds: int) -> dict[str, float]:
    """Median seconds per call of each contestant, all of them in every (shuffled) round."""
    times: dict[str, list[float]] = {c.key: [] for c in contestants}
    for _ in range(rounds):
        order = list(contestants)
        random.shuffle(order)
        sample = order[0].prepare() if order[0].calls > 1 else None
        for contestant in order:
            arg = sample if sample is not None else contestant.prepare()
            times[contestant.key].append(time_round(contestant, arg) / contestant.calls)
    return {key: statistics.median(values) for key, values in times.items()}


def measure_points(env: RepoEnv, rounds: int = POINT_ROUNDS) -> dict[str, float]:
    contestants = [
        RawGet(env),
        RepoGet(env),
        RepoGetOnWorker(env),
        SessionSelect(env),
        SessionBoundSelect(env),
        SessionOrmSelect(env),
        SessionPerCall(env),
    ]
    try:
        for contestant in contestants:  # warm up: compiled caches, kept connections
            contestant(contestant.prepare())
        return interleaved(env, contestants, rounds)
    finally:
        for contestant in contestants:
            contestant.close()


def point_path(env: RepoEnv) -> str:
    """How many session selects took the point-select path, and where its shapes run now."""
    executor = env.db._executor
    places = [
        {True: "loop", False: "worker", None: "unmeasured"}[entry.inline]
        for entry in executor.statements.entries("session-point")
    ]
    return f"session point selects on the short path: {executor.point_selects.runs} ({places})"


def measure_bulk(env: RepoEnv, rounds: int = BULK_ROUNDS) -> dict[str, float]:
    contestants = [RawArrowBulk(env), RepoBulk(env), RawPythonBulk(env)]
    try:
        for contestant in contestants:
            contestant(contestant.prepare())
        return interleaved(env, contestants, rounds)
    finally:
        for contestant in contestants:
            contestant.close()


def measure_read_lag(env: RepoEnv) -> dict[str, float]:
    """Median over trials of the max heartbeat lag (ms) while a ~1 s query runs.

    ``inline`` and ``session`` start on the loop (a :class:`ShortRead` on a kept reader; a
    session's first SELECT), are interrupted past the budget and finish on the worker;
    ``worker`` goes straight to the worker (the path before); ``idle`` is the control.
    """
    rows = calibrate_long_query(env.root)
    query = long_query(rows)
    db = env.db
    readers = db._executor.readers
    assert readers is not None

    async def idle() -> None:
        await asyncio.sleep(1.0)

    async def worker() -> None:  # not a ShortRead: straight to the worker, as before
        await readers.run(lambda duck: duck.execute(query).fetchall())

    async def inline() -> None:
        await readers.run(ShortRead(lambda duck: duck.execute(query).fetchall()))

    async def session() -> None:
        async with db.session() as s:
            await s.execute(text(query))

    works = {"idle": idle, "worker": worker, "inline": inline, "session": session}
    lags: dict[str, list[float]] = {key: [] for key in works}
    for _ in range(LAG_TRIALS):  # interleaved: the machine's load hits every path alike
        for key in random.sample(list(works), len(works)):
            trial = env.run(measure_lag(works[key]))
            lags[key].append(max(trial.lags, default=0.0) * 1e3)
    return {key: statistics.median(values) for key, values in lags.items()}


def report(points: dict[str, float], bulk: dict[str, float], lag: dict[str, float]) -> list[str]:
    lines = ["contestant               median ms   / raw   target  verdict"]
    raw = points["raw_get"]
    keys = (
        "raw_get",
        "repo_get",
        "repo_get_worker",
        "session_select",
        "session_bound_select",
        "session_orm_select",
    )
    for key in (*keys, "session_per_call"):
        ratio = points[key] / raw
        target = TARGETS.get(key.replace("repo_", ""))
        verdict = "" if target is None else ("met" if ratio <= target else "MISSED")
        lines.append(f"{key:<24} {points[key] * 1e3:9.3f} {ratio:7.2f} {target or '':>8} {verdict}")
    ratio = bulk["repo_bulk"] / bulk["raw_arrow_bulk"]
    for key in ("raw_arrow_bulk", "repo_bulk", "raw_python_bulk"):
        lines.append(
            f"{key:<24} {bulk[key] * 1e3:9.3f} {bulk[key] / bulk['raw_arrow_bulk']:7.2f}"
            + (f" {1.3:>8} {'met' if ratio <= 1.3 else 'MISSED'}" if key == "repo_bulk" else "")
            + ("   (info: raw from Python values, build timed)" if key == "raw_python_bulk" else "")
        )
    for key, value in lag.items():
        verdict = "(control)" if key == "idle" else "met" if value <= LAG_TARGET_MS else "MISSED"
        lines.append(f"lag during 1 s ({key}) {value:9.1f} ms        <= {LAG_TARGET_MS} {verdict}")
    return lines


@pytest.fixture(scope="module")
def repo_env() -> Any:
    loop = uvloop.new_event_loop()
    with tempfile.TemporaryDirectory() as directory:
        env = loop.run_until_complete(open_repo_env(Path(directory), loop))
        try:
            yield env
        finally:
            loop.run_until_complete(close_repo_env(env))
            loop.close()


def test_reads_at_the_floor(repo_env: RepoEnv, capsys: pytest.CaptureFixture[str]) -> None:
    points = measure_points(repo_env)
    bulk = measure_bulk(repo_env)
    lag = measure_read_lag(repo_env)
    with capsys.disabled():
        print("\nreads at the floor / raw DuckDB, interleaved medians of this run")
        for line in report(points, bulk, lag):
            print(line)
        print(point_path(repo_env))
    assert len(repo_env.ids) == PROJECTS


def main() -> None:
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    parts = set(sys.argv[1:]) or {"points", "bulk", "lag"}
    with tempfile.TemporaryDirectory() as directory:
        env = loop.run_until_complete(open_repo_env(Path(directory), loop))
        try:
            started = time.perf_counter()
            points = measure_points(env) if "points" in parts else {}
            bulk = measure_bulk(env) if "bulk" in parts else {}
            lag = measure_read_lag(env) if "lag" in parts else {}
            for key, value in {**points, **bulk}.items():
                base = points.get("raw_get") if key in points else bulk.get("raw_arrow_bulk")
                print(f"{key:<22} {value * 1e3:9.3f} ms  {value / base:5.2f}x raw")
            for key, value in lag.items():
                print(f"lag {key:<18} {value:9.1f} ms")
            print(point_path(env))
            print(f"({time.perf_counter() - started:.0f} s)")
        finally:
            loop.run_until_complete(close_repo_env(env))
    loop.close()


if __name__ == "__main__":
    main()
