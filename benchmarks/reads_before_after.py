"""Session 11's read paths against the paths before them, in one process, interleaved.

Two changes are switched off for the "before" contestant, in the same process: statements
prepared once per connection (``repositories/_prepared.py``: ``get``, ``get_by_slug``, an
owner's page such as a conversation's messages, ``get_by_path``), by turning off its literal
writer (every value bound: ``duckdb.execute(sql, parameters)`` as before); and pages compiled
once per shape (``repositories/_page_shapes.py``), by making ``page_shape`` find no shape (each
page builds its statement as before). "now" is the library as it is. The order flips every
round. It reports median CPU time (``time.process_time``: every thread) and wall time.

    python benchmarks/reads_before_after.py FILE.duckdb [--rounds N]

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
from project_architect_db.repositories import _prepared, _reads
from project_architect_db.selfbench._scale import _everyday

CALLS = ("get", "by slug", "messages page", "by path", "page", "keyset page 2", "keyset deep")


@contextmanager
def _before() -> Iterator[None]:
    """Every value bound (nothing prepared) and no page shapes: the paths before session 11."""
    writer, shapes = _prepared.literal, _reads.page_shape
    _prepared.literal = lambda value: None  # type: ignore[assignment]
    _reads.page_shape = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        _prepared.literal = writer  # type: ignore[assignment]
        _reads.page_shape = shapes  # type: ignore[assignment]


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
                order = ["now", "before"] if number % 2 else ["before", "now"]
                for who in order:
                    if who == "before":
                        with _before():
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
    print("| call | now CPU ms | before CPU ms | CPU ratio | now wall ms | before wall ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in CALLS:
        new, old = samples[(name, "now")], samples[(name, "before")]
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
