"""Bounded memory (issue 13, point 4), measured in fresh processes: ``-m slow`` only.

* ``stream()`` over 1M projects grows the process's RSS by < 200 MB (it grew +1,574 MB when
  ``ORDER BY id`` sorted the whole table).
* Seeding in batches: peak RSS stays within one batch's worth while the dataset grows 4x.

Memory belongs to a whole process, so each figure comes from a child process of its own; no
timing is asserted. ``benchmarks/measure_memory.py`` reports the same figures at full scale
(the ``scale`` preset: 10M messages) with raw DuckDB beside them.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from project_architect_db import Database

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

ROWS = 1_000_000

# time-ordered ids made in insertion order, as the library makes them (models.uuid7)
_PROJECTS = f"""
INSERT INTO projects (id, name, slug, description, status, phase, owner_id, tags, tech_stack,
                      architecture, metadata, created_at, updated_at, version)
SELECT uuidv7(), 'Project ' || i, 'memory-' || i, 'description of project ' || i,
       ['draft', 'active', 'paused'][1 + i % 3], 'requirements', 'usr_' || (i % 997),
       ['api', 'web'], ['python', 'duckdb'], '{{"database": "duckdb", "n": ' || i || '}}',
       '{{"source": "test"}}', TIMESTAMP '2024-01-01' + to_seconds(i::BIGINT),
       TIMESTAMP '2024-01-01' + to_seconds(i::BIGINT), 1
FROM range({ROWS}) AS t(i)
"""

_STREAM_CHILD = """
import asyncio, gc, json, sys
import psutil
from project_architect_db import Database

async def main():
    async with Database.open(sys.argv[1], read_only=True, load_fts=False) as db:
        await db.projects.count()
        gc.collect()
        process = psutil.Process()
        before = peak = process.memory_info().rss
        rows = 0
        async with db.projects.stream(batch_size=1000) as batches:
            async for batch in batches:
                rows += len(batch)
                peak = max(peak, process.memory_info().rss)
        print(json.dumps({"rows": rows, "growth_mb": (peak - before) / 1e6}))

asyncio.run(main())
"""

_SEED_CHILD = """
import asyncio, json, resource, sys
from datetime import UTC, datetime
from project_architect_db import Database
from project_architect_db.cli.seed import SeedPlan, seed_database
from project_architect_db.datagen import SCALE_SIZES, batch_count, generate_batches

async def main():
    sizes = {**SCALE_SIZES, "projects": int(sys.argv[2])}
    now = datetime(2026, 1, 1, tzinfo=UTC)
    batches = generate_batches(1, now=now, projects_per_batch=10_000, **sizes)
    # the CLI's path: a commit per batch, with the seed-progress marker
    plan = SeedPlan(1, "test", sizes, now, 10_000, batch_count(sizes["projects"], 10_000))
    async with Database.open(sys.argv[1], memory_limit="300MB", load_fts=False) as db:
        rows = await seed_database(db, batches, search_index=False, plan=plan)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(json.dumps({"rows": rows, "peak_mb": peak}))

asyncio.run(main())
"""


def _child(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=3000
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def test_streaming_1m_projects_grows_rss_by_less_than_200_mb(tmp_path: Path) -> None:
    path = tmp_path / "projects.duckdb"
    async with Database.open(path, load_fts=False):
        pass  # the schema, at the latest migration

    def fill() -> None:
        with duckdb.connect(str(path)) as duck:
            duck.execute(_PROJECTS)
            duck.execute("CHECKPOINT")

    await asyncio.to_thread(fill)
    result = _child(_STREAM_CHILD, str(path))
    assert result["rows"] == ROWS
    assert result["growth_mb"] < 200, result


def test_seeding_four_times_more_batches_keeps_the_same_peak(tmp_path: Path) -> None:
    peaks = {}
    for projects in (20_000, 80_000):
        path = tmp_path / f"seed-{projects}.duckdb"
        asyncio.run(_create(path))
        result = _child(_SEED_CHILD, str(path), str(projects))
        assert result["rows"] > 18 * projects
        peaks[projects] = result["peak_mb"]
        path.unlink()
    # one batch of 10,000 projects (~190k rows) in memory at a time: 4x the data, about the
    # same peak (a whole-dataset load grew ~4x: 1.69 GB at 100k projects, 13.5 GB at 1M)
    assert peaks[80_000] < 1.5 * peaks[20_000], peaks


async def _create(path: Path) -> None:
    async with Database.open(path, load_fts=False):
        pass
