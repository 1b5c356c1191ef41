"""The everyday calls at scale: library, raw DuckDB and SQLite with indexes, CPU and wall.

Issue 13's bar "pages and lookups within 3x of SQLite-with-indexes" compares wall-clock
medians; on a shared, loaded machine a call's wall time is mostly waiting for a core, and
DuckDB's threads suffer more from that than SQLite's single thread. This script runs the
calls of ``project-architect-db benchmark --scale`` (``selfbench/_scale/_everyday.calls``:
the same library calls, the same raw SQL, the same SQLAlchemy statements on the SQLite peer)
on one file, interleaved (who goes first rotates every round), and reports per call the
median wall and CPU time (``time.process_time``: every thread of the process) of each
contestant and the ratios library / raw and library / SQLite.

    python benchmarks/scale_pages_peer.py FILE.duckdb [--sqlite FILE.sqlite] [--rounds N]
        [--threads N]

Both files are opened read-only. The SQLite copy is the one ``benchmark --scale`` makes
(``<data-dir>/<stem>.sqlite``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.selfbench._scale import _everyday
from project_architect_db.selfbench._sqlite_peer import peer_metadata

WHO = ("library", "raw", "sqlite")


async def _one(call: Any) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    if asyncio.iscoroutine(result):
        await result
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


async def _measure(
    duck: Path,
    lite: Path | None,
    rounds: int,
    warmup: int,
    calls: tuple[str, ...],
    threads: int | None = None,
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    from sqlalchemy import create_engine

    db = await Database.open(duck, read_only=True, load_fts=False, threads=threads)
    engine = None if lite is None else create_engine(f"sqlite:///file:{lite}?mode=ro&uri=true")
    peer = None if engine is None else engine.connect()
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        async with db.engine.connect() as conn:
            raw = await run_native(conn, lambda native: native.cursor())
        rng = random.Random(13)
        drawn = _everyday.load_samples(raw, rng, 2_000)
        tables = peer_metadata()
        for number in range(warmup + rounds):
            every = _everyday.calls(db, raw, peer, tables, drawn, rng)
            for name in calls:
                sides = [(w, c) for w, c in zip(WHO, every[name], strict=True) if c is not None]
                shift = number % len(sides)
                for who, call in sides[shift:] + sides[:shift]:
                    figures = await _one(call)
                    if number >= warmup:
                        samples.setdefault((name, who), []).append(figures)
        raw.close()
    finally:
        if peer is not None:
            peer.close()
        if engine is not None:
            engine.dispose()
        await db.close()
    return samples


def _median(values: list[tuple[float, float]], index: int) -> float:
    return statistics.median(value[index] for value in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--sqlite", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--call", action="append", choices=_everyday.CALLS, default=None)
    parser.add_argument(
        "--threads", type=int, default=None, help="DuckDB threads (default: its own)"
    )
    args = parser.parse_args(argv)
    calls = tuple(args.call or [c for c in _everyday.CALLS if c != "offset 10000"])
    before = os.getloadavg()
    samples = asyncio.run(
        _measure(args.file, args.sqlite, args.rounds, args.warmup, calls, args.threads)
    )
    after = os.getloadavg()
    print(
        f"file: {args.file}  sqlite: {args.sqlite}  rounds: {args.rounds}  threads: {args.threads}"
    )
    print(
        f"load average (1/5/15 min) before {before[0]:.2f}/{before[1]:.2f}/{before[2]:.2f}, "
        f"after {after[0]:.2f}/{after[1]:.2f}/{after[2]:.2f}"
    )
    head = "| call | lib wall | raw wall | SQLite wall | lib/raw | lib/SQLite "
    head += "| lib CPU | raw CPU | SQLite CPU | CPU lib/raw | CPU lib/SQLite |"
    print(head)
    print("|" + " --- |" * 11)
    for name in calls:
        lib, raw = samples[(name, "library")], samples[(name, "raw")]
        lite = samples.get((name, "sqlite"))
        cells = [name]
        walls = [_median(lib, 0), _median(raw, 0), _median(lite, 0) if lite else None]
        cpus = [_median(lib, 1), _median(raw, 1), _median(lite, 1) if lite else None]
        for group in (walls, cpus):
            cells += ["-" if v is None else f"{v:.2f}" for v in group]
            cells.append(f"{group[0] / group[1]:.2f}x")
            cells.append("-" if group[2] is None else f"{group[0] / group[2]:.2f}x")
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
