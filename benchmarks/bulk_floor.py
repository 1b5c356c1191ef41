"""Where ``bulk_create`` of 10k records goes over the raw Arrow insert, in CPU time (issue 12).

    python benchmarks/bulk_floor.py [ROUNDS]      # default 11 rounds, ~1-3 min

Every round runs, in a shuffled order, in one process:

* ``raw``: the raw ``INSERT INTO projects BY NAME SELECT * FROM <ready Arrow table>``
  (auto-commit), as ``test_reads_bench.py`` times it (the table built untimed);
* ``repo``: ``await db.projects.bulk_create(10k ProjectCreate)``;
* ``touch``: the least any build from the records must do, read each record's field values
  once (one C-level ``itemgetter`` per record ``__dict__``, no conversion);
* ``build``: the library's Arrow build of the same records (``BulkOperations._arrow_rows``);
* ``ids``: the 10k ``uuid.UUID`` objects ``bulk_create`` returns (``_arrow.ids_of``).

Records are made fresh before each part, as the benchmark makes them. Times are CPU of the
whole process (``time.process_time``, every thread, DuckDB's included), so other processes'
load does not count; wall-clock medians of ``raw`` and ``repo`` are printed too. The sums
``raw + part`` say which ratio to raw each part alone allows, whatever else the library does.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from operator import itemgetter
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).parent))

from _repo_bench import (
    BULK_ROWS,
    RawArrowBulk,
    RepoBulk,
    close_repo_env,
    open_repo_env,
    project_records,
)
from project_architect_db.repositories._arrow import ids_of, new_id_array


def measure(rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median CPU seconds of every part, and median wall seconds of ``raw`` and ``repo``."""
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as directory:
        env = loop.run_until_complete(open_repo_env(Path(directory), loop))
        raw, repo = RawArrowBulk(env), RepoBulk(env)
        try:
            projects = env.db.projects
            schema_fields = projects.create_schema.model_fields
            keys = [key for key in projects._attributes if key in schema_fields]
            read = itemgetter(*keys)

            def touch(records: list[Any]) -> object:
                return list(itertools.chain.from_iterable(map(read, map(vars, records))))

            def build(records: list[Any]) -> object:
                return projects._arrow_rows(records, {})

            def ids(_: list[Any]) -> object:
                return ids_of(new_id_array(BULK_ROWS)[1])

            parts: dict[str, Callable[[list[Any]], object]] = {
                "touch": touch,
                "build": build,
                "ids": ids,
            }
            for contestant in (raw, repo):  # warm up
                contestant(contestant.prepare())
            cpu: dict[str, list[float]] = {key: [] for key in ("raw", "repo", *parts)}
            wall: dict[str, list[float]] = {"raw": [], "repo": []}
            for number in range(rounds):
                for name in random.sample(list(cpu), len(cpu)):
                    if name in wall:
                        contestant = raw if name == "raw" else repo
                        arg = contestant.prepare()
                        cpu_start, wall_start = time.process_time(), time.perf_counter()
                        contestant(arg)
                        wall[name].append(time.perf_counter() - wall_start)
                    else:
                        records = project_records(f"floor{number}{name[0]}")
                        cpu_start = time.process_time()
                        parts[name](records)
                    cpu[name].append(time.process_time() - cpu_start)
        finally:
            raw.close()
            repo.close()
            loop.run_until_complete(close_repo_env(env))
    loop.close()
    return (
        {key: statistics.median(values) for key, values in cpu.items()},
        {key: statistics.median(values) for key, values in wall.items()},
    )


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    cpu, wall = measure(rounds)
    raw = cpu["raw"]
    print(f"CPU ms, medians of {rounds} interleaved rounds:")
    for key, value in cpu.items():
        print(f"  {key:<6} {value * 1e3:7.1f}")
    print(f"repo / raw: CPU {cpu['repo'] / raw:.2f}x, wall {wall['repo'] / wall['raw']:.2f}x")
    print(f"raw + touch (the floor of any build)   {(raw + cpu['touch']) / raw:.2f}x")
    print(f"raw + build                            {(raw + cpu['build']) / raw:.2f}x")
    print(f"raw + build + ids                      {(raw + cpu['build'] + cpu['ids']) / raw:.2f}x")
    print(f"the 1.3x bar leaves {0.3 * raw * 1e3:.1f} ms of CPU over raw for everything")


if __name__ == "__main__":
    main()
