"""Memory at 1M rows (issue 13, point 4): ``stream()`` RSS growth and seeding's peak RSS.

Memory is a property of a whole process, so every measurement runs in a fresh one (this file
re-runs itself with ``--child``), and the library and raw DuckDB alternate, so load on the
machine hits both alike. Timings are printed as ratios to raw DuckDB in the same run.

* ``stream FILE``: ``db.projects.stream(batch_size=1000)`` over every project of ``FILE``
  (opened ``read_only``; never written), RSS sampled after every batch; growth = peak - RSS
  before the first batch. Raw DuckDB: the same rows through ``fetchmany(1000)`` of ``SELECT *
  FROM projects ORDER BY id`` (the query the library ran before) and of the keyset chunks the
  library runs now.
* ``seed FILE``: ``project-architect-db seed --preset scale`` (1M projects, 10M messages) into
  a new ``FILE`` (it must not exist; delete it afterwards); peak RSS of the seeding process
  (``ru_maxrss`` of the child) and its time.

Run: ``python benchmarks/measure_memory.py stream /work/scale/s1m.duckdb --rounds 2`` and
``python benchmarks/measure_memory.py seed /tmp/memory-seed.duckdb``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MB = 1_000_000
CHUNK = 5000  # the library's STREAM_CHUNK
CURVE_EVERY = 100_000


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _keyset_sql(after: bool) -> str:
    """The library's chunk SQL (``_bulk_reads._chunk`` in id order), for raw DuckDB."""
    bound = "WHERE id > $1" if after else ""
    return (
        f"SELECT * FROM projects {bound} {'AND' if after else 'WHERE'} id <= "
        f"(SELECT max(id) FROM (SELECT id FROM projects {bound} ORDER BY id "
        f"LIMIT {CHUNK})) ORDER BY id"
    )


class _Curve:
    """RSS (and DuckDB's own accounting) every ``CURVE_EVERY`` rows."""

    def __init__(self, duckdb_memory: Any) -> None:
        self.duckdb_memory = duckdb_memory
        self.before = _rss()
        self.peak = self.before
        self.points: list[tuple[int, float, float]] = []
        self.next = CURVE_EVERY

    def sample(self, rows: int) -> None:
        rss = _rss()
        self.peak = max(self.peak, rss)
        if rows >= self.next:
            self.points.append(
                (rows, round((rss - self.before) / MB, 1), round(self.duckdb_memory() / MB, 1))
            )
            self.next += CURVE_EVERY


def _child_stream(path: str, contestant: str) -> dict[str, Any]:
    """One contestant's pass over every project; run in a process of its own."""
    import duckdb

    rows = 0
    gc.collect()
    limit = contestant.partition("memory_limit=")[2] or None
    memory_sql = "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()"
    if contestant.startswith("library"):
        from project_architect_db import Database

        async def main() -> tuple[int, _Curve, float, float]:
            async with Database.open(
                path, read_only=True, load_fts=False, memory_limit=limit
            ) as db:
                await db.projects.count()  # opened and warm, as the raw contestants are

                def used(duck: Any) -> int:
                    return int(duck.execute(memory_sql).fetchone()[0])

                memory = {"bytes": 0}
                gc.collect()
                curve = _Curve(lambda: memory["bytes"])
                count = 0
                started, cpu = time.perf_counter(), time.process_time()
                async for batch in db.projects.stream(batch_size=1000):
                    count += len(batch)
                    if count >= curve.next:
                        memory["bytes"] = await db._executor.run_native_read(used)
                    curve.sample(count)
                seconds = time.perf_counter() - started
                return count, curve, seconds, time.process_time() - cpu

        rows, curve, seconds, cpu = asyncio.run(main())
    else:
        config = {} if limit is None else {"memory_limit": limit}
        con = duckdb.connect(path, read_only=True, config=config)
        con.execute("SELECT count(*) FROM projects").fetchall()
        gc.collect()
        curve = _Curve(lambda: int(con.execute(memory_sql).fetchone()[0]))  # type: ignore[index]
        started, cpu = time.perf_counter(), time.process_time()
        if contestant == "raw ORDER BY id":
            cursor = con.execute("SELECT * FROM projects ORDER BY id")
            while batch := cursor.fetchmany(1000):
                rows += len(batch)
                curve.sample(rows)
        else:  # raw keyset chunks: the library's SQL without the library, in one snapshot
            arrow = contestant.startswith("raw record batches")
            con.execute("BEGIN")
            last = None
            while True:
                result = con.execute(_keyset_sql(last is not None), [] if last is None else [last])
                got = 0
                if arrow:  # DuckDB's floor: Arrow batches, no Python values
                    reader = result.fetch_record_batch(1000)
                    for record_batch in reader:
                        got += record_batch.num_rows
                        rows += record_batch.num_rows
                        last = record_batch.column(0)[-1].as_py()
                        curve.sample(rows)
                else:
                    while batch := result.fetchmany(1000):
                        got += len(batch)
                        rows += len(batch)
                        last = batch[-1][0]
                        curve.sample(rows)
                if got < CHUNK:
                    break
            con.execute("COMMIT")
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        con.close()
    return {
        "contestant": contestant,
        "rows": rows,
        "growth_mb": round((curve.peak - curve.before) / MB, 1),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "rows_per_second": round(rows / seconds) if seconds else None,
        "curve": curve.points,
    }


def _run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


CONTESTANTS = (
    "library",
    "library memory_limit=256MB",
    "raw keyset",
    "raw record batches",
)


def measure_stream(path: str, rounds: int, contestants: tuple[str, ...] = CONTESTANTS) -> None:
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in contestants}
    for round_ in range(rounds):
        order = contestants if round_ % 2 == 0 else tuple(reversed(contestants))
        for contestant in order:
            result = _run_child("stream", path, contestant)
            results[contestant].append(result)
            print(json.dumps(result), flush=True)
    print(f"\nstream() over {path} ({rounds} rounds, alternating; load {_load()})")
    base = "raw keyset" if "raw keyset" in results else contestants[-1]
    raw = statistics.median(r["seconds"] for r in results[base])
    for contestant, runs in results.items():
        growth = max(r["growth_mb"] for r in runs)
        seconds = statistics.median(r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu_seconds"] for r in runs)
        print(
            f"  {contestant:<28} rows {runs[0]['rows']:>9,}  RSS growth (worst) {growth:>7.1f} MB"
            f"  median {seconds:>7.2f} s ({runs[0]['rows'] / seconds:>8,.0f} rows/s, CPU "
            f"{cpu:.1f} s) = {seconds / raw:.2f}x {base}"
        )
    print("\nRSS growth / DuckDB's duckdb_memory() every 100k rows (first round):")
    for contestant, runs in results.items():
        points = ", ".join(f"{r // 1000}k: +{g:.0f}/{d:.0f}" for r, g, d in runs[0]["curve"])
        print(f"  {contestant:<28} {points}")


def measure_seed(path: str, preset: str) -> None:
    target = Path(path)
    if target.exists():
        sys.exit(f"{path} exists: give a new file (it is created, seeded, and left for you)")
    cli = [str(Path(sys.executable).parent / "project-architect-db")]
    subprocess.run([*cli, "init", "--database", path], check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    out = subprocess.run(
        [*cli, "seed", "--database", path, "--preset", preset, "--json"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if out.returncode != 0:  # say why, with the peak it reached
        sys.exit(
            f"seed failed (exit {out.returncode}) after {seconds:.0f} s, peak RSS "
            f"{peak_kb / 1e6:.2f} GB:\n{out.stderr[-3000:]}"
        )
    summary = json.loads(out.stdout)
    print(json.dumps(summary["rows"]))
    note = "" if peak_kb > before else " (init's peak was higher: not measured)"
    print(
        f"seed --preset {preset}: {summary['total_rows']:,} rows in {seconds:.0f} s, peak RSS "
        f"{peak_kb / 1e6:.2f} GB{note}, file {target.stat().st_size / 1e9:.2f} GB "
        f"(load {_load()})"
    )


def _load() -> str:
    import os

    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(_child_stream(sys.argv[3], sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("stream", "seed"))
    parser.add_argument("file")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--preset", default="scale")
    parser.add_argument(
        "--contestants",
        default=",".join(CONTESTANTS),
        help="stream contestants, comma-separated (also: 'raw ORDER BY id', "
        "'raw keyset memory_limit=256MB')",
    )
    args = parser.parse_args()
    if args.what == "stream":
        measure_stream(args.file, args.rounds, tuple(args.contestants.split(",")))
    else:
        measure_seed(args.file, args.preset)


if __name__ == "__main__":
    main()
