"""CPU time of the everyday calls at 1M rows, library vs raw DuckDB, for a loaded machine.

``scale_pages.py`` reports wall-clock medians; with six engineers on two cores (load 10-30)
a call's wall time is mostly waiting for a core. This script runs the same calls with the
same SQL (``scale_pages._calls``) on one file, library and raw alternating (the order flips
every round), and reports the median CPU time of each (``time.process_time``: every thread of
the process, so DuckDB's own threads and the library's worker count) beside the wall median.

    python benchmarks/scale_pages_cpu.py FILE.duckdb [--rounds N]

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
from pathlib import Path
from typing import Any

import scale_pages  # the sibling benchmark (a script's folder is on sys.path)

CALLS = ("get", "page", "keyset page 2", "keyset deep", "messages page", "by slug", "by path")


async def _measure(path: Path, rounds: int, warmup: int) -> dict[tuple[str, str], list[Any]]:
    rng = random.Random(3)
    side = await scale_pages._open(path, rng, 500)
    samples: dict[tuple[str, str], list[Any]] = {}
    try:
        for round_number in range(warmup + rounds):
            calls = scale_pages._calls(side, rng)
            for name in CALLS:
                library, raw, _ = calls[name]
                pair = [("library", library), ("raw", raw)]
                if round_number % 2:
                    pair.reverse()
                for who, call in pair:
                    wall, cpu = time.perf_counter(), time.process_time()
                    await call()
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    if round_number >= warmup:
                        samples.setdefault((name, who), []).append((wall * 1000, cpu * 1000))
    finally:
        side.raw.close()
        await side.db.close()
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)
    samples = asyncio.run(_measure(args.file, args.rounds, args.warmup))
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"file: {args.file}  load average (1/5/15 min): {load}")
    print("| call | library CPU ms | raw CPU ms | CPU ratio | library wall ms | raw wall ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in CALLS:
        library, raw = samples[(name, "library")], samples[(name, "raw")]
        lib_cpu = statistics.median(cpu for _, cpu in library)
        raw_cpu = statistics.median(cpu for _, cpu in raw)
        print(
            f"| {name} | {lib_cpu:.2f} | {raw_cpu:.2f} | {lib_cpu / raw_cpu:.2f}x "
            f"| {statistics.median(w for w, _ in library):.2f} "
            f"| {statistics.median(w for w, _ in raw):.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
