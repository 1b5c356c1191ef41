"""What an online backup costs: its time against raw DuckDB, and the writers' latency during it.

Usage (one command; copies the scale file, never writes the original)::

    .venv/bin/python benchmarks/backup_cost.py /work/scale/s100k.duckdb --rounds 2

Per round, interleaved in one process:

* raw: a plain ``duckdb`` connection on a second copy runs ``ATTACH`` + ``COPY FROM DATABASE`` +
  ``CHECKPOINT`` (the floor of a consistent copy);
* library: ``db.backup()`` on the first copy (the same copy, plus verification, SHA-256, fsync,
  rename and manifest), while ``--writers`` tasks append messages; then the writers alone for
  the same duration with no backup running; both twice, with ``low_priority=True`` (the
  default: one DuckDB thread, the copy's thread at priority 19) and ``low_priority=False``.

It prints wall and CPU seconds, RSS, the writers' p50/p99 latency with and without a backup,
the ratios, and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

import project_architect_db as padb
from project_architect_db import Database


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _raw_copy(path: Path, out: Path) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    with duckdb.connect(str(path), config={"memory_limit": "3GB"}) as duck:
        name = duck.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        duck.execute(f"ATTACH '{out}' AS copy")
        duck.execute("BEGIN")
        duck.execute(f'COPY FROM DATABASE "{name}" TO copy')
        duck.execute("COMMIT")
        duck.execute("CHECKPOINT copy")
        duck.execute("DETACH copy")
    return time.perf_counter() - wall, time.process_time() - cpu


async def _writers(
    db: Database, conversations: list[Any], tasks: int, stop: asyncio.Event
) -> list[float]:
    latencies: list[float] = []

    async def one(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            started = time.perf_counter()
            await db.conversations.add_message(
                rng.choice(conversations), {"role": "user", "content": "benchmark write"}
            )
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(one(seed) for seed in range(tasks)))
    return latencies


async def sample_conversations(db: Database) -> list[Any]:
    """1000 conversation ids the writers append to."""
    async with db.transaction() as tx:
        return await tx.run_native(  # type: ignore[no-any-return]
            lambda duck: [
                row[0]
                for row in duck.execute(
                    "SELECT id FROM conversations USING SAMPLE 1000 ROWS"
                ).fetchall()
            ]
        )


def _quantiles(values: list[float]) -> tuple[float, float]:
    cut = statistics.quantiles(values, n=100)
    return cut[49] * 1000, cut[98] * 1000


async def _round(
    db: Database, folder: Path, conversations: list[Any], tasks: int, low_priority: bool
) -> dict[str, Any]:
    stop = asyncio.Event()
    writers = asyncio.create_task(_writers(db, conversations, tasks, stop))
    await asyncio.sleep(0.5)
    wall, cpu = time.perf_counter(), time.process_time()
    report = await db.backup(folder, keep=1, low_priority=low_priority)
    backup_wall, backup_cpu = time.perf_counter() - wall, time.process_time() - cpu
    stop.set()
    during = await writers
    stop = asyncio.Event()
    writers = asyncio.create_task(_writers(db, conversations, tasks, stop))
    await asyncio.sleep(0.5 + backup_wall)
    stop.set()
    alone = await writers
    return {
        "backup_wall": backup_wall,
        "backup_cpu": backup_cpu,
        "bytes": report.manifest.size,
        "during": _quantiles(during),
        "alone": _quantiles(alone),
        "writes_during": len(during),
        "writes_alone": len(alone),
    }


def _print(
    number: int, low: bool, raw_wall: float, raw_cpu: float, figures: dict[str, Any], tasks: int
) -> None:
    kind = "low_priority=True " if low else "low_priority=False"
    print(
        f"round {number}, {kind}: raw copy {raw_wall:.2f} s wall / {raw_cpu:.2f} s CPU; "
        f"db.backup {figures['backup_wall']:.2f} s wall / "
        f"{figures['backup_cpu']:.2f} s CPU (x{figures['backup_wall'] / raw_wall:.2f} "
        f"wall, x{figures['backup_cpu'] / raw_cpu:.2f} CPU), {figures['bytes']:,} bytes"
    )
    (p50d, p99d), (p50a, p99a) = figures["during"], figures["alone"]
    print(
        f"  writers ({tasks} tasks): p50 {p50d:.1f} / p99 {p99d:.1f} ms "
        f"during ({figures['writes_during']} writes) vs {p50a:.1f} / {p99a:.1f} ms "
        f"alone ({figures['writes_alone']}): p99 x{p99d / p99a:.2f}, "
        f"p50 x{p50d / p50a:.2f}; RSS {_rss_mb():.0f} MB; load {os.getloadavg()}"
    )


async def main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="padb-backup-bench-", dir=args.tmp))
    try:
        library, raw = work / "library.duckdb", work / "raw.duckdb"
        shutil.copyfile(args.source, library)
        shutil.copyfile(args.source, raw)
        folder = work / "backups"
        folder.mkdir()
        print(f"load {os.getloadavg()}; source {args.source} ({library.stat().st_size:,} bytes)")
        async with Database.open(library, load_fts=False, memory_limit="3GB") as db:
            conversations = await sample_conversations(db)
            for number in range(args.rounds):
                out = work / f"raw-{number}.duckdb"
                raw_wall, raw_cpu = _raw_copy(raw, out)
                out.unlink()
                for low in (True, False):
                    figures = await _round(db, folder, conversations, args.writers, low)
                    _print(number, low, raw_wall, raw_cpu, figures, args.writers)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--tmp", default="/tmp")
    padb.run(main(parser.parse_args()))
