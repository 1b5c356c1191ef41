"""The cases of ``project-architect-db benchmark``: library calls against raw DuckDB, one run.

Every case pairs a library call with the same work written by hand on raw DuckDB (a cursor of
the very database instance the library uses, so both sides read the same file and the same
buffer pool). Each round runs both sides, in a shuffled order, ``calls`` times each, so drift in
the machine's load hits both alike; the figures are medians of rounds.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from project_architect_db.selfbench._report import BenchmarkReport, CaseResult, median_ms

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from project_architect_db.database import Database
    from project_architect_db.schemas.project import ProjectCreate

__all__ = ["CASES", "Progress", "run_cases"]

#: Called after every timed round with (case key, rounds done, rounds in all).
Progress = Callable[[str, int, int], None]

RAW_GET = "SELECT * FROM projects WHERE id = ?"
RAW_LIST = "SELECT * FROM projects WHERE status = ? ORDER BY created_at DESC, id ASC LIMIT 50"
RAW_UPDATE = (
    "UPDATE projects SET description = ?, version = version + 1, updated_at = ? "
    "WHERE id = ? RETURNING *"
)


@dataclass
class _Env:
    db: Database
    raw: duckdb.DuckDBPyConnection
    ids: list[uuid.UUID]
    rng: random.Random
    serial: int = 0

    def sample(self, calls: int) -> list[uuid.UUID]:
        return [self.rng.choice(self.ids) for _ in range(calls)]

    def tag(self) -> str:
        self.serial += 1
        return f"{self.serial}"


@dataclass(frozen=True)
class _Case:
    key: str
    library: str
    raw: str
    calls: int
    target_ratio: float | None
    target_ms: float | None
    # prepare (untimed) -> argument; library(argument); raw(argument)
    prepare: Callable[[_Env, str], Any]
    run_library: Callable[[_Env, Any], Awaitable[None]]
    run_raw: Callable[[_Env, Any], None]


# -- get, list, update ------------------------------------------------------------------------
async def _get(env: _Env, ids: list[uuid.UUID]) -> None:
    get = env.db.projects.get
    for key in ids:
        await get(key)


def _raw_get(env: _Env, ids: list[uuid.UUID]) -> None:
    execute = env.raw.execute
    for key in ids:
        if execute(RAW_GET, [key]).fetchone() is None:  # pragma: no cover - a broken run
            raise AssertionError(f"raw get found no project {key}")


async def _list(env: _Env, ids: list[uuid.UUID]) -> None:
    list_ = env.db.projects.list
    for _ in ids:
        await list_(status="active", order_by="-created_at", limit=50)


def _raw_list(env: _Env, ids: list[uuid.UUID]) -> None:
    execute = env.raw.execute
    for _ in ids:
        execute(RAW_LIST, ["active"]).fetchall()


async def _update(env: _Env, ids: list[uuid.UUID]) -> None:
    update = env.db.projects.update
    for key in ids:
        await update(key, {"description": f"library {key.hex[:8]}"})


def _raw_update(env: _Env, ids: list[uuid.UUID]) -> None:
    raw = env.raw
    for key in ids:
        raw.begin()
        now = datetime.now(UTC).replace(tzinfo=None)
        raw.execute(RAW_UPDATE, [f"raw {key.hex[:8]}", now, key]).fetchone()
        raw.commit()


# -- bulk_create --------------------------------------------------------------------------------
BULK_ROWS = 10_000


def _bulk_records(env: _Env, side: str) -> tuple[list[ProjectCreate], pa.Table]:
    """The same 10k rows as validated records (library) and as an Arrow table (raw)."""
    import pyarrow as pa

    from project_architect_db.models.ids import uuid7_batch
    from project_architect_db.schemas.project import ProjectCreate

    env.raw.execute("CHECKPOINT")  # untimed: no automatic checkpoint inside a timed commit
    tag = f"{side}{env.tag()}"
    if side == "library":
        records = [
            ProjectCreate(name=f"Bulk {tag} {i}", slug=f"bulk-{tag}-{i}", description=f"row {i}")
            for i in range(BULK_ROWS)
        ]
        return records, pa.table({})
    from project_architect_db.datagen import arrow_schema

    now = datetime.now(UTC).replace(tzinfo=None)
    columns = {
        "id": [key.bytes for key in uuid7_batch(BULK_ROWS)],
        "name": [f"Bulk {tag} {i}" for i in range(BULK_ROWS)],
        "slug": [f"bulk-{tag}-{i}" for i in range(BULK_ROWS)],
        "description": [f"row {i}" for i in range(BULK_ROWS)],
        "status": ["draft"] * BULK_ROWS,
        "phase": ["requirements"] * BULK_ROWS,
        "owner_id": [None] * BULK_ROWS,
        "tags": [[]] * BULK_ROWS,
        "tech_stack": [[]] * BULK_ROWS,
        "architecture": ["{}"] * BULK_ROWS,
        "metadata": ["{}"] * BULK_ROWS,
        "created_at": [now] * BULK_ROWS,
        "updated_at": [now] * BULK_ROWS,
        "version": [1] * BULK_ROWS,
    }
    table = pa.Table.from_pydict(columns, schema=arrow_schema("projects"))
    return [], table


async def _bulk(env: _Env, prepared: tuple[list[ProjectCreate], pa.Table]) -> None:
    await env.db.projects.bulk_create(prepared[0])


def _raw_bulk(env: _Env, prepared: tuple[list[ProjectCreate], pa.Table]) -> None:
    raw = env.raw
    raw.register("padb_bench_rows", prepared[1])
    try:
        raw.execute("INSERT INTO projects BY NAME SELECT * FROM padb_bench_rows")
    finally:
        raw.unregister("padb_bench_rows")


# -- analytics ------------------------------------------------------------------------------
async def _portfolio(env: _Env, ids: list[uuid.UUID]) -> None:
    for _ in ids:
        await env.db.analytics.portfolio().rows()


def _raw_portfolio(env: _Env, ids: list[uuid.UUID]) -> None:
    sql, params = env.db.analytics.portfolio().compiled()
    execute = env.raw.execute
    for _ in ids:
        execute(sql, params).fetchall()


def _sample(env: _Env, calls: int) -> list[uuid.UUID]:
    return env.sample(calls)


CASES: tuple[_Case, ...] = (
    _Case(
        "get",
        "await db.projects.get(id)",
        "SELECT * FROM projects WHERE id = ?",
        50,
        1.5,
        None,
        lambda env, _side: _sample(env, 50),
        _get,
        _raw_get,
    ),
    _Case(
        "list",
        'await db.projects.list(status="active", order_by="-created_at", limit=50)',
        "SELECT * ... WHERE status = ? ORDER BY created_at DESC, id LIMIT 50",
        20,
        1.5,
        None,
        lambda env, _side: _sample(env, 20),
        _list,
        _raw_list,
    ),
    _Case(
        "update",
        'await db.projects.update(id, {"description": ...})',
        "BEGIN; UPDATE ... RETURNING *; COMMIT",
        20,
        2.0,
        None,
        lambda env, _side: _sample(env, 20),
        _update,
        _raw_update,
    ),
    _Case(
        "bulk_create",
        "await db.projects.bulk_create(10k ProjectCreate)",
        "INSERT INTO projects BY NAME SELECT * FROM <ready Arrow table>",
        1,
        None,
        50.0,
        _bulk_records,
        _bulk,
        _raw_bulk,
    ),
    _Case(
        "analytics",
        "await db.analytics.portfolio().rows()",
        "the same compiled SQL on a raw cursor",
        20,
        1.2,
        None,
        lambda env, _side: _sample(env, 20),
        _portfolio,
        _raw_portfolio,
    ),
)


async def _seed(db: Database, projects: int, seed: int) -> list[uuid.UUID]:
    from project_architect_db.datagen import generate_dataset, load_dataset

    dataset = generate_dataset(
        seed,
        projects=projects,
        conversations_per_project=1,
        messages_per_conversation=4,
        documents_per_project=1,
        versions_per_document=1,
        repositories_per_project=1,
        builds_per_repository=4,
        deployments_per_repository=1,
    )
    await load_dataset(db, dataset)
    ids: list[uuid.UUID] = dataset.projects.column("id").to_pylist()  # pa.uuid(): UUIDs
    return ids


async def run_cases(
    db: Database,
    *,
    projects: int = 10_000,
    rounds: int = 15,
    only: list[str] | None = None,
    seed: int = 7,
    progress: Progress | None = None,
) -> BenchmarkReport:
    """Seed ``db`` with ``projects`` projects, then time every case (or those in ``only``).

    Args:
        db: An open, empty database (its projects table receives the benchmark data).
        projects: Projects to seed (children are kept small: the cases read projects).
        rounds: Timed rounds per case and side.
        only: Case keys to run (default: all of :data:`CASES`).
        seed: Seed of the data and of the id samples.
        progress: Called after every round.

    Returns:
        The report of this run.

    Raises:
        ValueError: If ``projects`` or ``rounds`` is below 1, or ``only`` names no known case.
    """
    if projects < 1 or rounds < 1:
        raise ValueError("projects and rounds must be at least 1")
    cases = [case for case in CASES if only is None or case.key in only]
    if not cases:
        raise ValueError(f"no such case in {only}: choose from {[case.key for case in CASES]}")
    from project_architect_db.core.engine import run_native

    ids = await _seed(db, projects, seed)
    async with db.engine.connect() as connection:
        raw: duckdb.DuckDBPyConnection = await run_native(connection, lambda duck: duck.cursor())
    env = _Env(db, raw, ids, random.Random(seed))
    report = BenchmarkReport(projects=projects)
    try:
        for case in cases:
            report.cases.append(await _time_case(env, case, rounds, progress))
    finally:
        raw.close()
    return report


async def _time_case(env: _Env, case: _Case, rounds: int, progress: Progress | None) -> CaseResult:
    # One untimed warm-up round per side: caches (statements, compiled queries, buffers) fill.
    await case.run_library(env, case.prepare(env, "library"))
    case.run_raw(env, case.prepare(env, "raw"))
    samples: dict[str, list[float]] = {"library": [], "raw": []}
    sides = ["library", "raw"]
    for done in range(1, rounds + 1):
        env.rng.shuffle(sides)
        for side in sides:
            argument = case.prepare(env, side)
            if side == "library":
                start = time.perf_counter()
                await case.run_library(env, argument)
            else:
                start = time.perf_counter()
                case.run_raw(env, argument)
            samples[side].append(time.perf_counter() - start)
        if progress is not None:
            progress(case.key, done, rounds)
    return CaseResult(
        key=case.key,
        library=case.library,
        raw=case.raw,
        library_ms=median_ms(samples["library"], case.calls),
        raw_ms=median_ms(samples["raw"], case.calls),
        target_ratio=case.target_ratio,
        target_ms=case.target_ms,
        rounds=rounds,
        calls=case.calls,
    )
