"""One hop per unit of work: ``create`` / ``update`` / ``delete`` against the same raw unit.

Each library call outside a transaction runs its statements with BEGIN and COMMIT in one worker
hop (docs/architecture.md, "One hop per unit of work"). Raw DuckDB runs the same unit on the
same file, one cursor, ``BEGIN; ...; COMMIT``: the same statements the library sends (a
child's parent check, every table of a delete's cascade). Contestants run interleaved, in a
shuffled order per round; the table printed at the end gives per-call medians and ratios.
Target (issue 12): ``update`` <= 1.3x raw. ``update`` sends no ``RETURNING`` (DuckDB can update a
row twice with it: docs/architecture.md) and reads the row back: ``update`` keeps the raw
``UPDATE ... RETURNING`` unit of issue 12 as its bar, and ``update_read_back`` compares it with
the raw form of what it now sends.

    pytest benchmarks/test_units_bench.py -p no:xdist --benchmark-only
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from _repo_bench import (
    CALLS_PER_ROUND,
    RAW_GET,
    Contestant,
    RawUpdate,
    RepoEnv,
    RepoUpdate,
    close_repo_env,
    median_of,
    open_repo_env,
    time_round,
)
from project_architect_db.models import Project
from project_architect_db.models.graph import CHILDREN

ROUNDS = 10
UPDATE_TARGET = 1.3
RAW_PROJECT = (
    "INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, architecture, "
    "metadata, created_at, updated_at, version) VALUES (?, ?, ?, 'draft', 'requirements', [], "
    "[], '{}', '{}', ?, ?, 1) RETURNING *"
)
RAW_CONVERSATION = (
    "INSERT INTO conversations (id, project_id, title, phase, status, message_count, metadata, "
    "created_at, updated_at) VALUES (?, ?, ?, 'requirements', 'active', 0, '{}', ?, ?) "
    "RETURNING *"
)
RAW_PARENT = "SELECT id FROM projects WHERE id = ?"
#: What ``update`` sends since DuckDB's double update (docs/architecture.md): no RETURNING.
RAW_UPDATE_ONLY = (
    "UPDATE projects SET description = ?, version = version + 1, updated_at = ? WHERE id = ?"
)
#: The cascade of a project, as the library runs it: one statement per child table.
RAW_CASCADE = [
    f"DELETE FROM {ref.child.__tablename__} WHERE {ref.column} = ? RETURNING CAST(id AS VARCHAR)"
    for ref in CHILDREN[Project]
]
_RESULTS: dict[str, dict[str, float]] = {}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class RawCreate(RawUpdate):
    key, label = "raw_create", "raw BEGIN; INSERT INTO projects ... RETURNING *; COMMIT"

    def prepare(self) -> list[uuid.UUID]:
        return [uuid.uuid4() for _ in range(self.calls)]

    def __call__(self, ids: list[uuid.UUID]) -> None:
        cursor = self.cursor
        for key in ids:
            cursor.begin()
            now = _now()
            row = cursor.execute(RAW_PROJECT, [key, "raw", f"raw-{key.hex}", now, now]).fetchone()
            cursor.commit()
        assert row is not None


class RepoCreate(Contestant):
    key, label = "repo_create", 'await db.projects.create({"name": ..., "slug": ...})'

    def prepare(self) -> list[uuid.UUID]:
        return [uuid.uuid4() for _ in range(self.calls)]

    def __call__(self, ids: list[uuid.UUID]) -> None:
        self.env.run(self.batch(ids))

    async def batch(self, ids: list[uuid.UUID]) -> None:
        create = self.env.db.projects.create
        for key in ids:
            await create({"name": "repo", "slug": f"repo-{key.hex}"})


class RawCreateChild(RawUpdate):
    key, label = "raw_create_child", "raw BEGIN; SELECT parent; INSERT conversation; COMMIT"

    def __call__(self, ids: list[uuid.UUID]) -> None:
        cursor = self.cursor
        for parent in ids:
            cursor.begin()
            assert cursor.execute(RAW_PARENT, [parent]).fetchall()
            now = _now()
            row = cursor.execute(RAW_CONVERSATION, [uuid.uuid4(), parent, "raw", now, now])
            assert row.fetchone() is not None
            cursor.commit()


class RepoCreateChild(Contestant):
    key, label = "repo_create_child", "await db.conversations.create({project_id, title})"

    def __call__(self, ids: list[uuid.UUID]) -> None:
        self.env.run(self.batch(ids))

    async def batch(self, ids: list[uuid.UUID]) -> None:
        create = self.env.db.conversations.create
        for parent in ids:
            await create({"project_id": parent, "title": "repo"})


class RawDelete(RawUpdate):
    key, label = "raw_delete", "raw BEGIN; SELECT; DELETE per child table; DELETE; COMMIT"

    def prepare(self) -> list[uuid.UUID]:
        return _fresh_projects(self.env, self.calls)

    def __call__(self, ids: list[uuid.UUID]) -> None:
        cursor = self.cursor
        for key in ids:
            cursor.begin()
            assert cursor.execute("SELECT * FROM projects WHERE id = ?", [key]).fetchall()
            for sql in RAW_CASCADE:
                cursor.execute(sql, [key]).to_arrow_table()
            cursor.execute("DELETE FROM projects WHERE id = ?", [key])
            cursor.commit()


class RepoDelete(Contestant):
    key, label = "repo_delete", "await db.projects.delete(id)  (cascade included)"

    def prepare(self) -> list[uuid.UUID]:
        return _fresh_projects(self.env, self.calls)

    def __call__(self, ids: list[uuid.UUID]) -> None:
        self.env.run(self.batch(ids))

    async def batch(self, ids: list[uuid.UUID]) -> None:
        delete = self.env.db.projects.delete
        for key in ids:
            await delete(key)


class RawUpdateReadBack(RawUpdate):
    """The statements ``update`` sends since the fix: no RETURNING, the row read back."""

    key, label = "raw_update_read_back", "raw BEGIN; UPDATE ...; SELECT * ... WHERE id; COMMIT"

    def __call__(self, ids: list[uuid.UUID]) -> None:
        cursor = self.cursor
        for key in ids:
            cursor.begin()
            cursor.execute(RAW_UPDATE_ONLY, [f"raw {key.hex[:8]}", _now(), key]).fetchall()
            row = cursor.execute(RAW_GET, [key]).fetchone()
            cursor.commit()
        assert row is not None


def _fresh_projects(env: RepoEnv, count: int) -> list[uuid.UUID]:
    """``count`` new projects, inserted untimed (each round deletes its own)."""
    ids = [uuid.uuid4() for _ in range(count)]
    now = _now()
    cursor = env.root.cursor()
    try:
        for key in ids:
            cursor.execute(RAW_PROJECT, [key, "gone", f"gone-{key.hex}", now, now]).fetchall()
    finally:
        cursor.close()
    return ids


UNITS: dict[str, tuple[type[Contestant], type[Contestant]]] = {
    "create": (RepoCreate, RawCreate),
    "create_child": (RepoCreateChild, RawCreateChild),
    "update": (RepoUpdate, RawUpdate),
    "update_read_back": (RepoUpdate, RawUpdateReadBack),
    "delete": (RepoDelete, RawDelete),
}


class _UnitsReport:
    """Prints the units table after pytest-benchmark's own (a pytest plugin)."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not _RESULTS:
            return
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", "units (one hop per unit of work) / raw DuckDB")
        write(f"interleaved medians of {ROUNDS} rounds x {CALLS_PER_ROUND} calls; load {_load()}")
        for unit, figures in _RESULTS.items():
            ratio = figures["repo_ms"] / figures["raw_ms"]
            verdict = ""
            if unit == "update":
                verdict = "  met" if ratio <= UPDATE_TARGET else f"  MISSED ({UPDATE_TARGET}x)"
            write(
                f"{unit:<16} library {figures['repo_ms']:7.3f} ms   raw {figures['raw_ms']:7.3f}"
                f" ms   {ratio:5.2f}x{verdict}"
            )


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


@pytest.fixture(scope="module")
def units_env(
    bench_loop: asyncio.AbstractEventLoop,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[RepoEnv]:
    manager = request.config.pluginmanager
    if not manager.has_plugin("padb-units-report"):
        manager.register(_UnitsReport(), "padb-units-report")
    env = bench_loop.run_until_complete(
        open_repo_env(tmp_path_factory.mktemp("padb-units-bench"), bench_loop)
    )
    try:
        yield env
    finally:
        bench_loop.run_until_complete(close_repo_env(env))


@pytest.mark.parametrize("unit", list(UNITS))
def test_unit_interleaved(benchmark: Any, units_env: RepoEnv, unit: str) -> None:
    """pytest-benchmark times the whole interleaved run; the per-call medians are printed."""
    benchmark.group = "units, interleaved (whole run, see the units table)"
    contestants = [kind(units_env) for kind in UNITS[unit]]
    if unit == "create_child":  # the parents are remembered, as in an application
        units_env.run(units_env.db.projects.count())
    times: dict[str, list[float]] = {c.key: [] for c in contestants}

    def run() -> None:
        order = random.Random(12)
        for contestant in contestants:  # warm-up: compiled shapes, kept connections
            contestant(contestant.prepare())
        for _ in range(ROUNDS):
            order.shuffle(contestants)
            for contestant in contestants:
                arg = contestant.prepare()
                times[contestant.key].append(time_round(contestant, arg))

    try:
        benchmark.pedantic(run, rounds=1, iterations=1)
    finally:
        for contestant in contestants:
            contestant.close()
    repo, raw = (median_of(times[kind.key]) * 1000 / CALLS_PER_ROUND for kind in UNITS[unit])
    _RESULTS[unit] = {"repo_ms": repo, "raw_ms": raw}
