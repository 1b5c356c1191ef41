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
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MB = 1_000_000
CHUNK = 5000  # the library's STREAM_CHUNK


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _child_stream(path: str, contestant: str) -> dict[str, Any]:
    """One contestant's pass over every project; run in a process of its own."""
    import duckdb

    rows, peak = 0, 0
    gc.collect()
    if contestant == "library":
        from project_architect_db import Database

        async def main() -> tuple[int, int, int, float]:
            async with Database.open(path, read_only=True, load_fts=False) as db:
                await db.projects.count()  # opened and warm, as the raw contestants are
                gc.collect()
                before = _rss()
                count, top = 0, before
                started = time.perf_counter()
                async for batch in db.projects.stream(batch_size=1000):
                    count += len(batch)
                    top = max(top, _rss())
                return count, before, top, time.perf_counter() - started

        rows, before, peak, seconds = asyncio.run(main())
    else:
        con = duckdb.connect(path, read_only=True)
        con.execute("SELECT count(*) FROM projects").fetchall()
        gc.collect()
        before = peak = _rss()
        started = time.perf_counter()
        if contestant == "raw ORDER BY id":
            cursor = con.execute("SELECT * FROM projects ORDER BY id")
            while batch := cursor.fetchmany(1000):
                rows += len(batch)
                peak = max(peak, _rss())
        else:  # raw keyset chunks, the library's SQL without the library
            last = None
            while True:
                after = "" if last is None else "WHERE id > $1"
                sql = (
                    f"SELECT * FROM projects {after} {'AND' if after else 'WHERE'} id <= "
                    f"(SELECT max(id) FROM (SELECT id FROM projects {after} ORDER BY id "
                    f"LIMIT {CHUNK})) ORDER BY id"
                )
                params = [] if last is None else [last]
                cursor = con.execute(sql, params)
                got = 0
                while batch := cursor.fetchmany(1000):
                    got += len(batch)
                    rows += len(batch)
                    last = batch[-1][0]
                    peak = max(peak, _rss())
                if got < CHUNK:
                    break
        seconds = time.perf_counter() - started
        con.close()
    return {
        "contestant": contestant,
        "rows": rows,
        "growth_mb": round((peak - before) / MB, 1),
        "seconds": round(seconds, 2),
    }


def _run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure_stream(path: str, rounds: int) -> None:
    contestants = ("library", "raw keyset", "raw ORDER BY id")
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in contestants}
    for round_ in range(rounds):
        order = contestants if round_ % 2 == 0 else tuple(reversed(contestants))
        for contestant in order:
            result = _run_child("stream", path, contestant)
            results[contestant].append(result)
            print(json.dumps(result), flush=True)
    print(f"\nstream() over {path} ({rounds} rounds, alternating; load {_load()})")
    raw = min(r["seconds"] for r in results["raw keyset"])
    for contestant, runs in results.items():
        growth = max(r["growth_mb"] for r in runs)
        best = min(r["seconds"] for r in runs)
        print(
            f"  {contestant:<16} rows {runs[0]['rows']:>9,}  RSS growth (worst) {growth:>7.1f} MB"
            f"  time (best) {best:>6.2f} s  = {best / raw:.2f}x raw keyset"
        )


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
    args = parser.parse_args()
    if args.what == "stream":
        measure_stream(args.file, args.rounds)
    else:
        measure_seed(args.file, args.preset)


if __name__ == "__main__":
    main()
