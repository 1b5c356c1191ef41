"""How much one hop to a DuckDB worker thread costs when the thread was idle, on this machine.

Every library call that does not block the event loop hands its work to the connection's worker
thread and is woken when it is done: two cross-thread wake-ups. A wake-up is cheap while both
threads keep running (a tight loop of calls) and expensive on a VM whose idle vCPUs halt (no
``haltpoll`` cpuidle driver): the hypervisor must wake the halted vCPU. The prebuilt analytics
answers are timed one call at a time, between other contestants, so they pay the second cost.

Run: ``python benchmarks/probe_thread_wake.py`` (prints the median and p90 of ``SELECT 42``
through the library's native reader: back to back, after 3 ms of busy work, after 3 ms asleep).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import uvloop

from project_architect_db import Database

CALLS = 300
GAP_SECONDS = 0.003


def _report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    print(
        f"{name:>18}: median {1000 * statistics.median(ordered):.3f} ms, "
        f"p90 {1000 * ordered[int(len(ordered) * 0.9)]:.3f} ms"
    )


async def main() -> None:
    """Measure the three cases on a fresh file database."""
    with tempfile.TemporaryDirectory() as folder:
        async with Database.open(Path(folder) / "probe.duckdb", load_fts=False) as db:
            run = db._executor.run_native_read

            def query(duck: object) -> object:
                return duck.execute("SELECT 42").fetchall()  # type: ignore[attr-defined]

            async def one() -> float:
                started = time.perf_counter()
                await run(query)
                return time.perf_counter() - started

            tight = [await one() for _ in range(CALLS)]
            busy = []
            for _ in range(CALLS):
                end = time.perf_counter() + GAP_SECONDS
                while time.perf_counter() < end:
                    pass
                busy.append(await one())
            asleep = []
            for _ in range(CALLS):
                time.sleep(GAP_SECONDS)  # noqa: ASYNC251  # the loop idles, as between requests
                asleep.append(await one())
    _report("back to back", tight)
    _report("after 3 ms busy", busy)
    _report("after 3 ms asleep", asleep)


if __name__ == "__main__":
    uvloop.run(main())
