"""Query optimisation: keyset vs offset pagination, native vs Python aggregation, EXPLAIN.

1. **Deep pages.** ``list(offset=n)`` makes DuckDB sort and throw away ``n`` rows before the
   page, so a page gets slower the deeper it is. ``list(cursor=...)`` (keyset pagination) turns
   the position into a ``WHERE`` condition: a page deep in the table costs about what the first
   one costs.
2. **Aggregate where the data is.** Counting projects by status and ``architecture.database``
   with the analytics builder is one ``GROUP BY`` inside DuckDB; fetching every row into Python
   (even as Arrow) and counting there moves all the data first. (``stream()``, which builds a
   record per row, is slower still.)
3. **Read the plan.** ``query.compiled()`` gives the exact SQL and parameters a builder query
   runs; prefixing ``EXPLAIN`` shows DuckDB's physical plan (``EXPLAIN ANALYZE`` adds timings).

The 60,000 projects are generated inside DuckDB with one ``INSERT ... SELECT`` run through
``tx.run_native`` (the rows are valid by construction; application data goes through the
validated ``bulk_create``). Timings are the best of a few runs: machines under load are noisy.

Run it::

    python examples/performance/query_optimization.py
    python examples/performance/query_optimization.py queries.duckdb
"""

from __future__ import annotations

import contextlib
import functools
import json as jsonlib
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import project_architect_db
from project_architect_db import Database, ProjectArchitectDBError
from project_architect_db.models import Project
from project_architect_db.queries.analytics import count, json

T = TypeVar("T")
ROWS = 60_000
PAGE = 20
DEPTHS = (0, 20_000, 40_000, ROWS - PAGE)

#: Projects generated inside DuckDB: one per second of 2025, four statuses, five databases.
SEED_SQL = """
INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, architecture, metadata,
                      created_at, updated_at, version)
SELECT uuid(), 'Project ' || i, 'project-' || i,
       ['draft', 'active', 'paused', 'completed'][i % 4 + 1], 'requirements', [], [],
       json_object('database', ['postgresql', 'duckdb', 'sqlite', 'mysql', 'mongodb'][i % 7 % 5 + 1]),
       '{}', TIMESTAMP '2025-01-01' + i * INTERVAL 1 SECOND,
       TIMESTAMP '2025-01-01' + i * INTERVAL 1 SECOND, 1
FROM range($1) AS numbers(i)
"""  # noqa: E501


@contextlib.contextmanager
def database_path() -> Iterator[str]:
    """The database file: the first command-line argument, or one in a temporary folder."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with tempfile.TemporaryDirectory(prefix="padb-example-") as folder:
        yield os.path.join(folder, "example.duckdb")


async def best_of(runs: int, work: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    """The fastest of ``runs`` runs of ``work`` in milliseconds, and its result."""
    best = float("inf")
    result: Any = None
    for _ in range(runs):
        started = time.perf_counter()
        result = await work()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best, result


async def main() -> None:
    with database_path() as path:
        async with Database.open(path) as db:
            started = time.perf_counter()
            async with db.transaction() as tx:
                await tx.run_native(lambda duck: duck.execute(SEED_SQL, [ROWS]))
            seconds = time.perf_counter() - started
            print(f"Seeded {await db.projects.count():,} projects in {seconds:.2f} s")

            # -- 1. offset vs keyset on deep pages ------------------------------------------
            print(f"\n== 1. a page of {PAGE} at increasing depth, order_by='created_at'")
            print(f"  {'depth':>6}  {'offset (ms)':>11}  {'keyset (ms)':>11}  same rows")
            listing = functools.partial(db.projects.list, order_by="created_at", limit=PAGE)
            for depth in DEPTHS:
                cursor = None
                if depth:  # the cursor after the row before the page (page n-1 hands it out)
                    before = await db.projects.list(
                        order_by="created_at", limit=1, offset=depth - 1
                    )
                    cursor = before.next_cursor
                offset_ms, by_offset = await best_of(5, functools.partial(listing, offset=depth))
                keyset_ms, by_keyset = await best_of(5, functools.partial(listing, cursor=cursor))
                same = [p.id for p in by_offset.items] == [p.id for p in by_keyset.items]
                print(f"  {depth:>6,}  {offset_ms:>11.1f}  {keyset_ms:>11.1f}  {same}")
            print(f"  at depth {depth:,}, keyset pagination is {offset_ms / keyset_ms:.1f}x faster")

            # -- 2. native aggregation vs aggregation in Python -----------------------------
            print("\n== 2. projects by status and architecture.database")
            query = (
                db.analytics.query(Project)
                .where(status__ne="archived")
                .group_by("status", json("architecture", "database"))
                .aggregate(count())
                .order_by("status", "-count")
            )
            native_ms, rows = await best_of(3, query.rows)

            async def in_python() -> Counter[tuple[str, str]]:
                table = await db.projects.to_arrow(status__ne="archived")
                statuses = table["status"].to_pylist()
                databases = [
                    jsonlib.loads(text)["database"] for text in table["architecture"].to_pylist()
                ]
                return Counter(zip(statuses, databases, strict=True))

            python_ms, counted = await best_of(3, in_python)
            native = {(row["status"], row["database"]): row["count"] for row in rows}
            print(f"  native GROUP BY (builder.rows()) : {native_ms:8.1f} ms, {len(rows)} groups")
            print(
                f"  to_arrow() + Counter in Python   : {python_ms:8.1f} ms, {len(counted)} groups"
            )
            speedup = python_ms / native_ms
            print(f"  same counts: {native == dict(counted)}; native is {speedup:.0f}x faster")
            for row in rows[:5]:
                print(f"    {row['status']:<10} {row['database']:<11} {row['count']:>6,}")

            # -- 3. the SQL and DuckDB's plan ----------------------------------------------
            print("\n== 3. the query's SQL and plan")
            sql, parameters = query.compiled()
            print(f"  SQL: {' '.join(sql.split())}")
            print(f"  parameters: {parameters}")
            async with db.transaction() as tx:
                plan = await tx.run_native(
                    lambda duck: duck.execute(f"EXPLAIN {sql}", parameters).fetchall()
                )
            print("  EXPLAIN (physical plan):")
            for _, text in plan:
                for line in text.rstrip().splitlines():
                    print(f"  {line}")


if __name__ == "__main__":
    try:
        project_architect_db.run(main())
    except ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
