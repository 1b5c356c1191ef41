"""``stream()``'s RSS growth and speed with its cache budget, against raw DuckDB (issue 13).

Every contestant runs in a process of its own (memory is a whole process's), in an order that
alternates round by round, over the first ``--rows`` projects of ``FILE`` (opened read-only):

* ``library``: ``db.projects.stream(batch_size=1000)`` as shipped (the stream evicts the table
  blocks it added to DuckDB's buffer pool past ``STREAM_CACHE_BUDGET``);
* ``library unbudgeted``: the same with the budget out of reach (what the stream did before);
* ``raw keyset``: the library's keyset chunks on a plain DuckDB connection, ``fetchmany(1000)``
  in one transaction (no budget: DuckDB's own behaviour);
* ``raw keyset budget``: the same, trimmed by the library's ``CacheBudget`` between chunks.

While it streams, each process runs a concurrent aggregate (``--concurrent``: a ``GROUP BY``
over ``builds``, whose blocks the budget may evict) on another connection of the same
instance, and reports its median time before the stream and during it: what a trim costs
everybody else. Reports RSS growth (peak - RSS before the first batch), DuckDB's
``duckdb_memory()`` at the end, rows/s, CPU seconds (``time.process_time``, all threads).

Run: ``python benchmarks/stream_memory.py /work/scale/s1m.duckdb --rounds 1`` (1M projects;
``--rows 200000`` for a shorter pass).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from measure_memory import CHUNK, MB, _keyset_sql, _rss  # the library's chunk SQL, raw

CONTESTANTS = ("library", "library unbudgeted", "raw keyset", "raw keyset budget")
CONCURRENT = "SELECT status, count(*), avg(duration_seconds) FROM builds GROUP BY status"
MEMORY = "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()"


class _Concurrent:
    """Times ``CONCURRENT`` on its own connection, in a thread, until stopped."""

    def __init__(self, con: Any, enabled: bool) -> None:
        self.cursor = con.cursor()
        self.enabled = enabled
        self.before = [self._once() for _ in range(5)] if enabled else []
        self.during: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _once(self) -> float:
        started = time.perf_counter()
        self.cursor.execute(CONCURRENT).fetchall()
        return (time.perf_counter() - started) * 1000

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self.during.append(self._once())

    def __enter__(self) -> _Concurrent:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.enabled:
            self._thread.join()
        self.cursor.close()


def _raw(con: Any, rows_wanted: int, budget: Any, sample: Any) -> int:
    rows, last = 0, None
    con.execute("BEGIN")
    while rows < rows_wanted:
        if budget is not None:
            budget.check(con)
        result = con.execute(_keyset_sql(last is not None), [] if last is None else [last])
        got = 0
        while batch := result.fetchmany(1000):
            got += len(batch)
            rows += len(batch)
            last = batch[-1][0]
            sample()
        if got < CHUNK:
            break
    con.execute("COMMIT")
    return rows


async def _library(path: str, rows_wanted: int, budgeted: bool, concurrent: bool) -> Any:
    from project_architect_db import Database
    from project_architect_db.repositories import _bulk_reads

    if not budgeted:
        _bulk_reads.STREAM_CACHE_BUDGET = 1 << 62
    async with Database.open(path, read_only=True, load_fts=False) as db:
        await db.projects.count()  # opened and warm, as the raw contestants are
        con = await db._executor.run_native_read(lambda duck: duck)
        rows, probe = 0, _Probe(con)
        with _Concurrent(con, concurrent) as other:
            probe.start()
            async with db.projects.stream(batch_size=1000) as batches:
                async for batch in batches:
                    rows += len(batch)
                    probe.sample()
                    if rows >= rows_wanted:
                        break
            probe.stop()
        return rows, probe, other


class _Probe:
    """RSS before and at its peak, time and CPU between :meth:`start` and :meth:`stop`."""

    def __init__(self, con: Any) -> None:
        self.cursor = con.cursor()

    def start(self) -> None:
        gc.collect()
        self.before = self.peak = _rss()
        self.started, self.cpu = time.perf_counter(), time.process_time()

    def sample(self) -> None:
        self.peak = max(self.peak, _rss())

    def stop(self) -> None:
        self.seconds = time.perf_counter() - self.started
        self.cpu = time.process_time() - self.cpu
        self.duckdb_mb = self.cursor.execute(MEMORY).fetchone()[0] / MB
        self.cursor.close()


def _child(path: str, contestant: str, rows_wanted: int, concurrent: bool) -> dict[str, Any]:
    if contestant.startswith("library"):
        budgeted = contestant == "library"
        rows, probe, other = asyncio.run(_library(path, rows_wanted, budgeted, concurrent))
    else:
        import duckdb

        from project_architect_db.core.buffer_pool import CacheBudget
        from project_architect_db.repositories._bulk_reads import STREAM_CACHE_BUDGET

        con = duckdb.connect(path, read_only=True)
        con.execute("SELECT count(*) FROM projects").fetchall()
        budget = CacheBudget(STREAM_CACHE_BUDGET, None) if contestant.endswith("budget") else None
        probe = _Probe(con)
        with _Concurrent(con, concurrent) as other:
            probe.start()
            rows = _raw(con, rows_wanted, budget, probe.sample)
            probe.stop()
    return {
        "contestant": contestant,
        "rows": rows,
        "growth_mb": round((probe.peak - probe.before) / MB, 1),
        "duckdb_mb": round(probe.duckdb_mb, 1),
        "seconds": round(probe.seconds, 2),
        "cpu_seconds": round(probe.cpu, 2),
        "concurrent_before_ms": _median(other.before),
        "concurrent_during_ms": _median(other.during),
        "concurrent_runs": len(other.during),
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        path, contestant, rows, concurrent = sys.argv[2:6]
        print(json.dumps(_child(path, contestant, int(rows), concurrent == "1")))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--contestants", default=",".join(CONTESTANTS))
    parser.add_argument("--no-concurrent", action="store_true", help="no concurrent aggregate")
    args = parser.parse_args()
    contestants = args.contestants.split(",")
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in contestants}
    print(f"load at start {_load()}", flush=True)
    for round_ in range(args.rounds):
        for contestant in contestants if round_ % 2 == 0 else contestants[::-1]:
            argv = [args.file, contestant, str(args.rows), "0" if args.no_concurrent else "1"]
            out = subprocess.run(
                [sys.executable, __file__, "--child", *argv],
                capture_output=True,
                text=True,
            )
            if out.returncode:
                sys.exit(f"{contestant} failed:\n{out.stderr[-4000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results[contestant].append(result)
            print(json.dumps(result), f"load {_load()}", flush=True)
    raw = results.get("raw keyset")
    base_cpu = statistics.median(r["cpu_seconds"] for r in raw) if raw else None
    print(f"\nstream over {args.file}, {args.rounds} round(s), load at end {_load()}")
    for contestant, runs in results.items():
        cpu = statistics.median(r["cpu_seconds"] for r in runs)
        seconds = statistics.median(r["seconds"] for r in runs)
        ratio = f" = {cpu / base_cpu:.2f}x raw keyset CPU" if base_cpu else ""
        print(
            f"  {contestant:<20} rows {runs[0]['rows']:>9,}  RSS growth (worst) "
            f"{max(r['growth_mb'] for r in runs):>6.1f} MB  duckdb_memory "
            f"{runs[-1]['duckdb_mb']:>6.1f} MB  {runs[0]['rows'] / seconds:>7,.0f} rows/s  "
            f"CPU {cpu:.1f} s{ratio}  concurrent aggregate {runs[-1]['concurrent_before_ms']}"
            f" -> {runs[-1]['concurrent_during_ms']} ms"
        )


if __name__ == "__main__":
    main()
