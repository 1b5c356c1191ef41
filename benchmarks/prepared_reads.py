"""Prepared point reads and owner pages against the same calls unprepared, one process.

``repositories/_prepared.py`` runs ``get``, ``get_by_slug``, a conversation's messages page
and ``get_by_path`` as ``EXECUTE`` of a statement prepared once per connection. This script
times each call both ways in the same process, interleaved (the order flips every round):
"prepared" is the library as it is; "bound" is the same library with the literal writer
switched off (every value bound, so every call runs ``duckdb.execute(sql, parameters)`` as
before). It reports median CPU time (``time.process_time``: every thread) and wall time.

    python benchmarks/prepared_reads.py FILE.duckdb [--rounds N]

The file is opened read-only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.repositories import _prepared
from project_architect_db.selfbench._scale import _everyday

CALLS = ("get", "by slug", "messages page", "by path")


@contextmanager
def _bound() -> Iterator[None]:
    """Every value stays a bound parameter: the calls run unprepared."""
    writer = _prepared.literal
    _prepared.literal = lambda value: None  # type: ignore[assignment]
    try:
        yield
    finally:
        _prepared.literal = writer  # type: ignore[assignment]


async def _time(call: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await call()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


async def _measure(path: Path, rounds: int, warmup: int) -> dict[tuple[str, str], list[Any]]:
    db = await Database.open(path, read_only=True, load_fts=False)
    samples: dict[tuple[str, str], list[Any]] = {}
    try:
        async with db.engine.connect() as conn:
            raw = await run_native(conn, lambda native: native.cursor())
        rng = random.Random(11)
        drawn = _everyday.load_samples(raw, rng, 2_000)
        raw.close()
        for number in range(warmup + rounds):
            every = _everyday.calls(db, raw, None, _everyday_tables(), drawn, rng)
            for name in CALLS:
                call = every[name][0]
                order = ["prepared", "bound"] if number % 2 else ["bound", "prepared"]
                for who in order:
                    if who == "bound":
                        with _bound():
                            figures = await _time(call)
                    else:
                        figures = await _time(call)
                    if number >= warmup:
                        samples.setdefault((name, who), []).append(figures)
    finally:
        await db.close()
    return samples


def _everyday_tables() -> Any:
    from project_architect_db.selfbench._sqlite_peer import peer_metadata

    return peer_metadata()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--rounds", type=int, default=201)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args(argv)
    before = os.getloadavg()
    samples = asyncio.run(_measure(args.file, args.rounds, args.warmup))
    after = os.getloadavg()
    print(
        f"file: {args.file}  rounds: {args.rounds}  load average before {before[0]:.2f}, "
        f"after {after[0]:.2f}"
    )
    print(
        "| call | prepared CPU ms | bound CPU ms | CPU ratio | prepared wall ms | bound wall ms |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name in CALLS:
        new, old = samples[(name, "prepared")], samples[(name, "bound")]
        new_cpu = statistics.median(c for _, c in new)
        old_cpu = statistics.median(c for _, c in old)
        print(
            f"| {name} | {new_cpu:.3f} | {old_cpu:.3f} | {new_cpu / old_cpu:.2f}x "
            f"| {statistics.median(w for w, _ in new):.3f} "
            f"| {statistics.median(w for w, _ in old):.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
