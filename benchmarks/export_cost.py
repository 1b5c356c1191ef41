"""What a Parquet export and import cost against raw DuckDB, and the writers' latency meanwhile.

Usage (one command; copies the scale file, never writes the original)::

    .venv/bin/python benchmarks/export_cost.py /work/scale/s100k.duckdb --rounds 2

Per round, interleaved in one process:

* raw export: a plain ``duckdb`` connection on a second copy runs, in one transaction, one
  ``COPY (SELECT * FROM t) TO 't.parquet' (FORMAT parquet, COMPRESSION zstd)`` per table (the
  floor of a consistent Parquet export);
* ``db.export_parquet()`` on the library's copy (the same plus the DDL, the footers read back,
  fsync, SHA-256, manifest, rename) while ``--writers`` tasks append messages, then the same
  writers alone for as long again;
* raw import: the source's DDL, ``INSERT ... BY NAME SELECT * FROM read_parquet(...)`` per table
  in one transaction, the indexes, ``CHECKPOINT``; against ``Database.import_parquet()`` (the
  same plus SHA-256 of every file, counts, the open with the migration check, fsync, rename).

It prints wall and CPU seconds, the ratios, RSS, the writers' p50/p99, and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.backup_cost import _quantiles, _rss_mb, _writers, sample_conversations

import project_architect_db as padb
from project_architect_db import Database

SKIP = "schema_name NOT LIKE 'padb_search_%' AND schema_name NOT LIKE 'fts_main_%'"


def _tables(duck: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return [
        (str(schema), str(table))
        for schema, table in duck.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            f"WHERE database_name = current_database() AND {SKIP} ORDER BY table_oid"
        ).fetchall()
    ]


def _raw_export(path: Path, out: Path) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out.mkdir()
    with duckdb.connect(str(path), config={"memory_limit": "3GB"}) as duck:
        duck.execute("BEGIN")
        for schema, table in _tables(duck):
            duck.execute(
                f'COPY (SELECT * FROM "{schema}"."{table}") TO '
                f"'{out}/{schema}_{table}.parquet' (FORMAT parquet, COMPRESSION zstd)"
            )
        duck.execute("COMMIT")
    return time.perf_counter() - wall, time.process_time() - cpu


def _raw_import(source: Path, folder: Path, out: Path) -> tuple[float, float]:
    with duckdb.connect(str(source), read_only=True) as duck:
        tables = _tables(duck)
        ddl = [
            row[0]
            for row in duck.execute(f"SELECT sql FROM duckdb_tables() WHERE {SKIP}").fetchall()
        ]
        indexes = [row[0] for row in duck.execute("SELECT sql FROM duckdb_indexes()").fetchall()]
    wall, cpu = time.perf_counter(), time.process_time()
    with duckdb.connect(str(out), config={"memory_limit": "3GB"}) as duck:
        for statement in ddl:
            duck.execute(statement)
        duck.execute("BEGIN")
        for schema, table in tables:
            duck.execute(
                f'INSERT INTO "{schema}"."{table}" BY NAME SELECT * FROM '
                f"read_parquet('{folder}/{schema}_{table}.parquet')"
            )
        duck.execute("COMMIT")
        for statement in indexes:
            duck.execute(statement)
        duck.execute("CHECKPOINT")
    return time.perf_counter() - wall, time.process_time() - cpu


async def _round(
    db: Database, work: Path, number: int, conversations: list[Any], tasks: int
) -> dict[str, Any]:
    stop = asyncio.Event()
    writers = asyncio.create_task(_writers(db, conversations, tasks, stop))
    await asyncio.sleep(0.5)
    wall, cpu = time.perf_counter(), time.process_time()
    report = await db.export_parquet(work / f"export-{number}")
    export_wall, export_cpu = time.perf_counter() - wall, time.process_time() - cpu
    stop.set()
    during = await writers
    stop = asyncio.Event()
    writers = asyncio.create_task(_writers(db, conversations, tasks, stop))
    await asyncio.sleep(0.5 + export_wall)
    stop.set()
    alone = await writers
    return {
        "folder": report.folder,
        "export": (export_wall, export_cpu),
        "bytes": sum(entry.size for entry in report.manifest.tables),
        "during": _quantiles(during),
        "alone": _quantiles(alone),
        "writes": (len(during), len(alone)),
    }


async def _library_import(folder: Path, out: Path) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await Database.import_parquet(folder, out, memory_limit="3GB")
    return time.perf_counter() - wall, time.process_time() - cpu


def _line(name: str, raw: tuple[float, float], library: tuple[float, float]) -> str:
    return (
        f"{name}: raw {raw[0]:.2f} s wall / {raw[1]:.2f} s CPU; library {library[0]:.2f} s / "
        f"{library[1]:.2f} s (x{library[0] / raw[0]:.2f} wall, x{library[1] / raw[1]:.2f} CPU)"
    )


async def main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="padb-export-bench-", dir=args.tmp))
    try:
        library, raw = work / "library.duckdb", work / "raw.duckdb"
        shutil.copyfile(args.source, library)
        shutil.copyfile(args.source, raw)
        print(f"load {os.getloadavg()}; source {args.source} ({library.stat().st_size:,} bytes)")
        async with Database.open(library, load_fts=False, memory_limit="3GB") as db:
            conversations = await sample_conversations(db)
            for number in range(args.rounds):
                raw_export = _raw_export(raw, work / f"raw-{number}")
                figures = await _round(db, work, number, conversations, args.writers)
                print(f"round {number}: " + _line("export", raw_export, figures["export"]))
                raw_import = _raw_import(raw, work / f"raw-{number}", work / "raw-in.duckdb")
                imported = await _library_import(figures["folder"], work / "lib-in.duckdb")
                print("  " + _line("import", raw_import, imported))
                (p50d, p99d), (p50a, p99a) = figures["during"], figures["alone"]
                print(
                    f"  {figures['bytes']:,} bytes of Parquet; writers ({args.writers} tasks): "
                    f"p50 {p50d:.1f} / p99 {p99d:.1f} ms during the export "
                    f"({figures['writes'][0]} writes) vs {p50a:.1f} / {p99a:.1f} ms alone "
                    f"({figures['writes'][1]}): p99 x{p99d / p99a:.2f}, p50 x{p50d / p50a:.2f}; "
                    f"RSS {_rss_mb():.0f} MB; load {os.getloadavg()}"
                )
                for leftover in (
                    work / f"raw-{number}",
                    figures["folder"],
                    work / "raw-in.duckdb",
                    work / "lib-in.duckdb",
                ):
                    if leftover.is_dir():
                        shutil.rmtree(leftover)
                    else:
                        leftover.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--tmp", default="/tmp")
    padb.run(main(parser.parse_args()))
