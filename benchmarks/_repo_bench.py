"""Repository benchmarks: the data set, the contestants and the report (see README.md).

``test_repository_bench.py`` uses this module. Its results are kept apart from the core suite's:
:class:`RepoReport` is registered as a plugin by the ``repo_env`` fixture, prints its own ratio
table at the end of the run and writes ``results/repositories.json`` when every part ran.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy
from duckdb_sqlalchemy import ConnectionWrapper
from sqlalchemy import Engine
from sqlalchemy import create_engine as create_sync_engine

from project_architect_db.core.engine import run_native
from project_architect_db.database import Database
from project_architect_db.models.ids import uuid7_batch
from project_architect_db.schemas.project import ProjectCreate

PROJECTS = 10_000
CALLS_PER_ROUND = 50
BULK_ROWS = 10_000
STREAM_ROWS = 1_000_000
RESULTS_FILE = Path(__file__).parent / "results" / "repositories.json"
STATUSES = ["draft", "active", "paused", "completed", "archived"]

# Every NOT NULL column gets a valid value; one row in five is 'active'.
FILL = """
INSERT INTO projects (id, name, slug, description, status, phase, owner_id, tags, tech_stack,
                      architecture, metadata, created_at, updated_at, version)
SELECT uuid(), 'Project ' || i, '{prefix}-' || i, 'description ' || i,
       ['draft', 'active', 'paused', 'completed', 'archived'][(i % 5) + 1],
       'requirements', NULL, ['tag-' || (i % 7)], ['python'], '{{}}', '{{}}',
       TIMESTAMP '2024-01-01' + to_seconds(i::BIGINT),
       TIMESTAMP '2024-01-01' + to_seconds(i::BIGINT), 1
FROM range({rows}) AS t(i)
"""

RAW_GET = "SELECT * FROM projects WHERE id = ?"
RAW_LIST = "SELECT * FROM projects WHERE status = ? ORDER BY created_at DESC, id ASC LIMIT ?"
RAW_UPDATE = (
    "UPDATE projects SET description = ?, version = version + 1, updated_at = ? "
    "WHERE id = ? RETURNING *"
)


@dataclass
class RepoEnv:
    loop: asyncio.AbstractEventLoop
    path: Path
    db: Database
    root: duckdb.DuckDBPyConnection
    sync_engine: Engine
    ids: list[uuid.UUID]
    rounds_done: int = 0
    serial: int = 0

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial


async def open_repo_env(directory: Path, loop: asyncio.AbstractEventLoop) -> RepoEnv:
    path = directory / "repositories.duckdb"
    db = await Database.open(path)
    async with db.engine.connect() as conn:
        root: duckdb.DuckDBPyConnection = await run_native(conn, lambda duck: duck.cursor())
    root.execute(FILL.format(prefix="seed", rows=PROJECTS))
    root.execute("CHECKPOINT")
    ids = [row[0] for row in root.execute("SELECT id FROM projects ORDER BY id").fetchall()]
    assert len(ids) == PROJECTS
    sync_engine = create_sync_engine(
        f"duckdb:///{path}", creator=lambda: ConnectionWrapper(root.cursor())
    )
    return RepoEnv(loop, path, db, root, sync_engine, ids)


async def close_repo_env(env: RepoEnv) -> None:
    env.sync_engine.dispose()
    await env.db.close()
    env.root.close()


# -- contestants ---------------------------------------------------------------------------
class Contestant:
    """``prepare()`` (untimed) returns the argument of one timed ``__call__`` (one round)."""

    key = ""
    label = ""
    calls = CALLS_PER_ROUND

    def __init__(self, env: RepoEnv) -> None:
        self.env = env

    def prepare(self) -> Any:
        return self.env_sample()

    def env_sample(self) -> list[uuid.UUID]:
        start = (self.env.next_serial() * 7919) % PROJECTS
        return [self.env.ids[(start + 97 * i) % PROJECTS] for i in range(self.calls)]

    def __call__(self, arg: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None


class RawGet(Contestant):
    key, label = "raw_get", "raw cursor.execute('SELECT * FROM projects WHERE id = ?').fetchone()"

    def __init__(self, env: RepoEnv) -> None:
        super().__init__(env)
        self.cursor = env.root.cursor()

    def __call__(self, ids: list[uuid.UUID]) -> None:
        execute = self.cursor.execute
        for key in ids:
            row = execute(RAW_GET, [key]).fetchone()
        assert row is not None

    def close(self) -> None:
        self.cursor.close()


class RepoGet(Contestant):
    key, label = "repo_get", "await db.projects.get(id)"

    def __call__(self, ids: list[uuid.UUID]) -> None:
        self.env.run(self.batch(ids))

    async def batch(self, ids: list[uuid.UUID]) -> None:
        get = self.env.db.projects.get
        for key in ids:
            await get(key)


class RawList(RawGet):
    key, label = "raw_list", "raw SELECT * ... WHERE status = ? ORDER BY created_at DESC LIMIT 50"

    def __call__(self, ids: list[uuid.UUID]) -> None:
        execute = self.cursor.execute
        for _ in ids:
            rows = execute(RAW_LIST, ["active", 50]).fetchall()
        assert len(rows) == 50


class RepoList(Contestant):
    key, label = "repo_list", 'await db.projects.list(status="active", order_by="-created_at")'

    def __call__(self, ids: list[uuid.UUID]) -> None:
        self.env.run(self.batch(ids))

    async def batch(self, ids: list[uuid.UUID]) -> None:
        list_ = self.env.db.projects.list
        for _ in ids:
            page = await list_(status="active", order_by="-created_at", limit=50)
        assert len(page.items) == 50


class RawUpdate(RawGet):
    key, label = "raw_update", "raw BEGIN; UPDATE ... RETURNING *; COMMIT"

    def __call__(self, ids: list[uuid.UUID]) -> None:
        cursor = self.cursor
        for key in ids:
            cursor.begin()
            row = cursor.execute(
                RAW_UPDATE, [f"raw {key.hex[:8]}", datetime.now(UTC).replace(tzinfo=None), key]
            ).fetchone()
            cursor.commit()
        assert row is not None


class RepoUpdate(Contestant):
    key, label = "repo_update", 'await db.projects.update(id, {"description": ...})'

    def __call__(self, ids: list[uuid.UUID]) -> None:
        self.env.run(self.batch(ids))

    async def batch(self, ids: list[uuid.UUID]) -> None:
        update = self.env.db.projects.update
        for key in ids:
            await update(key, {"description": f"repo {key.hex[:8]}"})


# -- bulk ----------------------------------------------------------------------------------
def project_records(tag: str, count: int = BULK_ROWS) -> list[ProjectCreate]:
    return [
        ProjectCreate(
            name=f"Bulk {tag} {i}",
            slug=f"bulk-{tag}-{i}",
            status="active" if i % 2 else "draft",
            tags=["a", "b"],
            description=f"row {i}",
        )
        for i in range(count)
    ]


_PROJECT_ARROW = pa.schema(
    [
        ("id", pa.uuid()),
        ("name", pa.string()),
        ("slug", pa.string()),
        ("description", pa.string()),
        ("status", pa.string()),
        ("phase", pa.string()),
        ("owner_id", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("tech_stack", pa.list_(pa.string())),
        ("architecture", pa.string()),
        ("metadata", pa.string()),
        ("created_at", pa.timestamp("us")),
        ("updated_at", pa.timestamp("us")),
        ("version", pa.int32()),
    ]
)


def project_arrow(tag: str, count: int = BULK_ROWS) -> pa.Table:
    """The same rows as :func:`project_records`, as a ready Arrow table (raw baseline)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    columns = {
        "id": [key.bytes for key in uuid7_batch(count)],
        "name": [f"Bulk {tag} {i}" for i in range(count)],
        "slug": [f"bulk-{tag}-{i}" for i in range(count)],
        "description": [f"row {i}" for i in range(count)],
        "status": ["active" if i % 2 else "draft" for i in range(count)],
        "phase": ["requirements"] * count,
        "owner_id": [None] * count,
        "tags": [["a", "b"]] * count,
        "tech_stack": [[]] * count,
        "architecture": ["{}"] * count,
        "metadata": ["{}"] * count,
        "created_at": [now] * count,
        "updated_at": [now] * count,
        "version": [1] * count,
    }
    return pa.Table.from_pydict(columns, schema=_PROJECT_ARROW)


def records_arrow(records: list[ProjectCreate]) -> tuple[pa.Table, list[uuid.UUID]]:
    """A raw DuckDB user's own conversion of ``ProjectCreate`` records to Arrow, and the ids.

    Plain hand-written Python, column by column (no per-record ``model_dump``, which is slower):
    one list per column read off the records' attributes, the enums' values, ``json.dumps``
    for the two JSON columns (an empty dict written as ``"{}"`` directly, as the library
    does), the same UUIDv7 maker and timestamp for every row; the same table
    :func:`project_arrow` makes from scratch. The ids are returned, as the library returns its.
    """
    count = len(records)
    now = datetime.now(UTC).replace(tzinfo=None)
    ids = uuid7_batch(count)

    def as_json(value: dict[str, Any]) -> str:
        return json.dumps(value) if value else "{}"

    columns = {
        "id": [key.bytes for key in ids],
        "name": [record.name for record in records],
        "slug": [record.slug for record in records],
        "description": [record.description for record in records],
        "status": [record.status.value for record in records],
        "phase": [record.phase.value for record in records],
        "owner_id": [record.owner_id for record in records],
        "tags": [record.tags for record in records],
        "tech_stack": [record.tech_stack for record in records],
        "architecture": [as_json(record.architecture) for record in records],
        "metadata": [as_json(record.metadata_) for record in records],
        "created_at": [now] * count,
        "updated_at": [now] * count,
        "version": [1] * count,
    }
    return pa.Table.from_pydict(columns, schema=_PROJECT_ARROW), ids


class BulkContestant(Contestant):
    calls = 1
    tag = ""

    def fresh_tag(self) -> str:
        # Untimed: every round starts with an empty WAL, so DuckDB's automatic checkpoint
        # (at 16 MB of WAL) never lands inside one contestant's timed commit.
        self.env.root.execute("CHECKPOINT")
        return f"{self.tag}{self.env.next_serial()}"


class RepoBulk(BulkContestant):
    key, label, tag = "repo_bulk", "await db.projects.bulk_create(10k ProjectCreate)", "l"

    def prepare(self) -> Any:
        return project_records(self.fresh_tag())

    def __call__(self, records: list[ProjectCreate]) -> None:
        ids = self.env.run(self.env.db.projects.bulk_create(records))
        assert len(ids) == BULK_ROWS


class RawArrowBulk(BulkContestant):
    key, label, tag = "raw_arrow_bulk", "raw INSERT INTO projects BY NAME SELECT * FROM arrow", "r"

    def __init__(self, env: RepoEnv) -> None:
        super().__init__(env)
        self.cursor = env.root.cursor()

    def prepare(self) -> Any:
        return project_arrow(self.fresh_tag())

    def __call__(self, table: pa.Table) -> None:
        cursor = self.cursor
        cursor.register("bench_arrow", table)
        try:
            cursor.execute("INSERT INTO projects BY NAME SELECT * FROM bench_arrow")
        finally:
            cursor.unregister("bench_arrow")

    def close(self) -> None:
        self.cursor.close()


class RawPythonBulk(BulkContestant):
    """Reported only (not a target's baseline): raw DuckDB from the same ``ProjectCreate``
    records as ``RepoBulk``, building the Arrow table in the timed part, as a hand-written
    loader would (random 16-byte ids, no UUID objects returned)."""

    key, label, tag = "raw_python_bulk", "raw: records -> Arrow (timed) -> INSERT (info)", "p"

    def __init__(self, env: RepoEnv) -> None:
        super().__init__(env)
        self.cursor = env.root.cursor()

    def prepare(self) -> Any:
        return project_records(self.fresh_tag())

    def __call__(self, records: list[ProjectCreate]) -> None:
        count = len(records)
        now = datetime.now(UTC).replace(tzinfo=None)
        ids = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(16), count, [None, pa.py_buffer(os.urandom(16 * count))]
        )
        columns = {
            "id": pa.ExtensionArray.from_storage(pa.uuid(), ids),
            "name": [r.name for r in records],
            "slug": [r.slug for r in records],
            "description": [r.description for r in records],
            "status": [r.status.value for r in records],
            "phase": [r.phase.value for r in records],
            "owner_id": [r.owner_id for r in records],
            "tags": [r.tags for r in records],
            "tech_stack": [r.tech_stack for r in records],
            "architecture": [json.dumps(r.architecture) for r in records],
            "metadata": [json.dumps(r.metadata_) for r in records],
            "created_at": [now] * count,
            "updated_at": [now] * count,
            "version": [1] * count,
        }
        table = pa.Table.from_pydict(columns, schema=_PROJECT_ARROW)
        cursor = self.cursor
        cursor.register("bench_python", table)
        try:
            cursor.execute("INSERT INTO projects BY NAME SELECT * FROM bench_python")
        finally:
            cursor.unregister("bench_python")

    def close(self) -> None:
        self.cursor.close()


class OrmAddAll(BulkContestant):
    key, label, tag = "sync_orm_add_all", "sync ORM session.add_all(10k Project) + commit", "o"

    def prepare(self) -> Any:
        from project_architect_db.models.project import Project

        tag = self.fresh_tag()
        # Built before timing, like the ProjectCreate records of bulk_create.
        return [
            Project(
                name=f"Bulk {tag} {i}",
                slug=f"bulk-{tag}-{i}",
                status="active" if i % 2 else "draft",
                tags=["a", "b"],
                description=f"row {i}",
            )
            for i in range(BULK_ROWS)
        ]

    def __call__(self, objects: list[Any]) -> None:
        from sqlalchemy.orm import Session

        with Session(self.env.sync_engine) as session:
            session.add_all(objects)
            session.commit()


# -- stream --------------------------------------------------------------------------------
async def measure_stream(directory: Path, rows: int = STREAM_ROWS) -> dict[str, Any]:
    """Fill ``rows`` projects with one INSERT ... SELECT, stream them, sample RSS per batch."""
    import gc

    import psutil  # type: ignore[import-untyped]

    path = directory / "stream.duckdb"
    db = await Database.open(path)
    try:
        async with db.engine.connect() as conn:
            root: duckdb.DuckDBPyConnection = await run_native(conn, lambda duck: duck.cursor())
        started = time.perf_counter()
        root.execute(FILL.format(prefix="s", rows=rows))
        root.execute("CHECKPOINT")
        fill_seconds = time.perf_counter() - started
        root.close()
        gc.collect()
        process = psutil.Process()
        before = process.memory_info().rss
        peak = before
        seen = batches = 0
        started = time.perf_counter()
        async for batch in db.projects.stream(batch_size=1000):
            seen += len(batch)
            batches += 1
            peak = max(peak, process.memory_info().rss)
        stream_seconds = time.perf_counter() - started
    finally:
        await db.close()
    assert seen == rows
    return {
        "rows": rows,
        "batches": batches,
        "batch_size": 1000,
        "rss_before_mb": before / 2**20,
        "rss_peak_mb": peak / 2**20,
        "growth_mb": (peak - before) / 2**20,
        "fill_seconds": fill_seconds,
        "stream_seconds": stream_seconds,
        "rows_per_second": rows / stream_seconds,
    }


# -- report --------------------------------------------------------------------------------
TARGETS: dict[str, tuple[str, str, float]] = {
    # name: (numerator key, denominator key, max ratio)
    "get / raw <= 1.5": ("repo_get", "raw_get", 1.5),
    "list / raw <= 1.5": ("repo_list", "raw_list", 1.5),
    "update / raw <= 2": ("repo_update", "raw_update", 2.0),
}
BULK_TARGET_MS = 50.0
BULK_TARGET_SPEEDUP = 20.0
STREAM_TARGET_MB = 200.0
SECTIONS = ("sequential", "interleaved", "bulk", "stream")


def median_of(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class RepoReport:
    """Collects the run's medians; prints and writes them at the end (a pytest plugin)."""

    results: dict[str, dict[str, Any]] = field(default_factory=lambda: {s: {} for s in SECTIONS})
    info: dict[str, Any] = field(default_factory=dict)

    def record(self, section: str, key: str, label: str, values: dict[str, Any]) -> None:
        self.results[section][key] = {"label": label, **values}

    def _median(self, section: str, key: str) -> float | None:
        entry = self.results[section].get(key)
        return None if entry is None else entry["median_ms"]

    def build(self) -> dict[str, Any]:
        targets: dict[str, Any] = {}
        for section in ("sequential", "interleaved"):
            for name, (num, den, limit) in TARGETS.items():
                a, b = self._median(section, num), self._median(section, den)
                if a is None or not b:
                    continue
                targets[f"{section}.{name}"] = {"value": a / b, "met": a / b <= limit}
        bulk = self._median("bulk", "repo_bulk")
        raw = self._median("bulk", "raw_arrow_bulk")
        orm = self._median("bulk", "sync_orm_add_all")
        if bulk is not None:
            targets[f"bulk.repo_bulk < {BULK_TARGET_MS} ms"] = {
                "value": bulk,
                "met": bulk < BULK_TARGET_MS,
            }
            if raw:
                targets["bulk.repo_bulk / raw_arrow (info)"] = {"value": bulk / raw, "met": None}
            if orm:
                targets[f"bulk.sync_orm / repo_bulk >= {BULK_TARGET_SPEEDUP}"] = {
                    "value": orm / bulk,
                    "met": orm / bulk >= BULK_TARGET_SPEEDUP,
                }
        stream = self.results["stream"].get("projects")
        if stream is not None:
            targets[f"stream.growth_mb < {STREAM_TARGET_MB}"] = {
                "value": stream["growth_mb"],
                "met": stream["growth_mb"] < STREAM_TARGET_MB,
            }
        return {"targets": targets}

    def lines(self, report: dict[str, Any]) -> list[str]:
        out = []
        for section in ("sequential", "interleaved", "bulk"):
            for key, entry in self.results[section].items():
                out.append(
                    f"{section:<11} {key:<18} median {entry['median_ms']:9.3f} ms"
                    f"  ({entry['rounds']} rounds of {entry['calls_per_round']})  {entry['label']}"
                )
        stream = self.results["stream"].get("projects")
        if stream is not None:
            out.append(
                f"stream      {stream['rows']} rows: RSS {stream['rss_before_mb']:.0f} -> peak "
                f"{stream['rss_peak_mb']:.0f} MB (growth {stream['growth_mb']:.1f} MB), "
                f"{stream['stream_seconds']:.1f} s"
            )
        out.append("")
        for name, target in report["targets"].items():
            verdict = {True: "met", False: "MISSED", None: ""}[target["met"]]
            out.append(f"{name:<50} {target['value']:9.3f}  {verdict}")
        return out

    def complete(self) -> bool:
        needed = {
            "interleaved": {"repo_get", "raw_get", "repo_list", "raw_list"}
            | {"repo_update", "raw_update"},
            "bulk": {"repo_bulk", "raw_arrow_bulk", "sync_orm_add_all"},
            "stream": {"projects"},
        }
        return all(keys <= set(self.results[s]) for s, keys in needed.items())

    def write_json(self, report: dict[str, Any]) -> Path:
        RESULTS_FILE.parent.mkdir(exist_ok=True)
        payload = {
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": __import__("os").cpu_count(),
                "platform": platform.platform(),
                "python": sys.version.split()[0],
                "duckdb": duckdb.__version__,
                "sqlalchemy": sqlalchemy.__version__,
                "pyarrow": pa.__version__,
            },
            "info": self.info,
            "results": self.results,
            **report,
        }
        RESULTS_FILE.write_text(json.dumps(payload, indent=2, default=str) + "\n")
        return RESULTS_FILE

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not any(self.results.values()):
            return
        self.info["load_average_end"] = _load_average()
        report = self.build()
        terminalreporter.write_sep("=", "repositories / raw DuckDB: medians of this run")
        for line in self.lines(report):
            terminalreporter.write_line(line)
        if self.complete():
            terminalreporter.write_line(f"\nwritten: {self.write_json(report)}")
        else:
            terminalreporter.write_line("\npartial run: results/repositories.json left unchanged")


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in __import__("os").getloadavg()]
    except OSError:  # pragma: no cover
        return None


def time_round(contestant: Callable[[Any], None], arg: Any) -> float:
    started = time.perf_counter()
    contestant(arg)
    return time.perf_counter() - started
