"""Search at two sizes 10x apart, interleaved with the same SQL on raw DuckDB, then 1,000 writes.

Issue 13, point 3 ("search"): ``db.search.messages`` / ``db.search.documents`` across
everything and within one project; then, per file, 1,000 writes (message appends and document
updates), the search right after them (the changed rows are scored as the delta), the merge
that folds them into the index (wall and CPU time), and the search after the merge.

    python benchmarks/scale_search.py SMALL.duckdb LARGE.duckdb [--rounds N] [--writes N]

The files are WRITTEN (indexes are built if missing, writes are made): pass copies, never the
shared scale files (``cp /work/scale/s100k.duckdb /tmp/search-s100k.duckdb``). Each round runs
every call once per file, library and raw DuckDB alternating (the order rotates every round),
with the same random query (the same queries before the writes, after them and after the
merge); the raw side runs the statements the library sends
(``search._index.run``, with a kept-delta cache of its own) on a cursor of the library's own
DuckDB instance, without the executor, transaction, records or snippets. Queries are two words
of a random message.

Right after the writes, the first search of each table tokenizes the changed rows once (they
are kept: ``search/_delta.py``); its time is printed apart, then the rounds measure the
searches after it. The peak RSS of the process is printed after each index build (the build
runs under ``db.search``'s ``build_memory_limit``, 2GB by default).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import duckdb

from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.search import _index
from project_architect_db.search._delta import DeltaCache
from project_architect_db.search.service import DOCUMENTS, MESSAGES

BARS = {"all": 500.0, "one project": 50.0}

Timed = Callable[[], Awaitable[Any]]


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _open(path: Path) -> tuple[Database, duckdb.DuckDBPyConnection]:
    db = await Database.open(path)
    for table in ("documents", "messages"):
        started, cpu = time.perf_counter(), _cpu()
        await db.search.merge(table)  # builds a missing index, folds pending changes otherwise
        print(
            f"{path.name}: {table} index ready in {time.perf_counter() - started:.1f} s "
            f"(CPU {_cpu() - cpu:.1f} s); peak RSS of the process so far {_rss_gb():.2f} GB",
            flush=True,
        )
    async with db.engine.connect() as conn:
        raw: duckdb.DuckDBPyConnection = await run_native(conn, lambda duck: duck.cursor())
    return db, raw


def _queries(raw: duckdb.DuckDBPyConnection, rng: random.Random, n: int) -> list[str]:
    count = raw.execute("SELECT count(*) FROM messages").fetchone()[0]  # type: ignore[index]
    picks = [rng.randrange(count) for _ in range(n)]
    texts = raw.execute(
        "SELECT content FROM messages WHERE rowid IN (SELECT unnest($1::BIGINT[]))", [picks]
    ).fetchall()
    queries = []
    for (text,) in texts:
        words = re.findall(r"[A-Za-z]{4,}", text) or ["database"]
        queries.append(" ".join(rng.sample(words, min(2, len(words)))))
    return queries


def _projects(raw: duckdb.DuckDBPyConnection, rng: random.Random, n: int) -> list[uuid.UUID]:
    count = raw.execute("SELECT count(*) FROM projects").fetchone()[0]  # type: ignore[index]
    picks = [rng.randrange(count) for _ in range(n)]
    rows = raw.execute(
        "SELECT id FROM projects WHERE rowid IN (SELECT unnest($1::BIGINT[]))", [picks]
    ).fetchall()
    return [row[0] for row in rows]


#: The raw side's kept delta rows, per connection and table (the library keeps its own).
_RAW_CACHES: dict[tuple[int, str], DeltaCache] = {}


def _calls(
    db: Database, raw: duckdb.DuckDBPyConnection, query: str, project: uuid.UUID
) -> dict[str, tuple[Timed, Timed]]:
    def native(spec: Any, filters: dict[str, Any]) -> Timed:
        cache = _RAW_CACHES.setdefault((id(raw), spec.table), DeltaCache())

        async def run() -> Any:
            return _index.run(raw, spec, query, filters, 20, cache)

        return run

    return {
        "messages, all": (lambda: db.search.messages(query), native(MESSAGES, {})),
        "messages, one project": (
            lambda: db.search.messages(query, project_id=project),
            native(MESSAGES, {"project_id": project}),
        ),
        "documents, all": (lambda: db.search.documents(query), native(DOCUMENTS, {})),
        "documents, one project": (
            lambda: db.search.documents(query, project_id=project),
            native(DOCUMENTS, {"project_id": project}),
        ),
    }


async def _time(call: Timed) -> tuple[float, float]:
    """Wall and CPU milliseconds (CPU of the whole process: DuckDB's threads count too)."""
    started, cpu = time.perf_counter(), time.process_time()
    await call()
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


async def _rounds(
    sides: dict[str, tuple[Database, duckdb.DuckDBPyConnection]], rounds: int, seed: int
) -> dict[tuple[str, str, str], float]:
    rng = random.Random(seed)
    inputs = {
        size: (_queries(raw, rng, rounds + 2), _projects(raw, rng, rounds + 2))
        for size, (_, raw) in sides.items()
    }
    samples: dict[tuple[str, str, str], list[float]] = {}
    for number in range(rounds + 2):
        for size, (db, raw) in sides.items():
            queries, projects = inputs[size]
            for name, (library, native) in _calls(
                db, raw, queries[number], projects[number]
            ).items():
                contestants = [("library", library), ("raw", native)]
                shift = number % 2
                for who, call in contestants[shift:] + contestants[:shift]:
                    wall, cpu = await _time(call)
                    if number >= 2:  # two warm-up rounds
                        samples.setdefault((name, size, who), []).append(wall)
                        samples.setdefault((name, size, who + " cpu"), []).append(cpu)
    return {key: statistics.median(values) for key, values in samples.items()}


async def _writes(db: Database, raw: duckdb.DuckDBPyConnection, n: int, rng: random.Random) -> None:
    count = raw.execute("SELECT count(*) FROM conversations").fetchone()[0]  # type: ignore[index]
    conversations = [
        row[0]
        for row in raw.execute(
            "SELECT id FROM conversations WHERE rowid IN (SELECT unnest($1::BIGINT[]))",
            [[rng.randrange(count) for _ in range(n // 2)]],
        ).fetchall()
    ]
    documents = raw.execute(
        "SELECT id, version FROM documents WHERE rowid IN (SELECT unnest($1::BIGINT[]))",
        [[rng.randrange(count) for _ in range(n - n // 2)]],
    ).fetchall()
    for conversation in conversations:
        await db.conversations.add_message(
            conversation, {"role": "user", "content": "zebrafish telemetry after the writes"}
        )
    for doc_id, _version in documents:
        await db.documents.update(doc_id, {"content": "zebrafish telemetry rewritten document"})


async def _measure(small: Path, large: Path, rounds: int, writes: int) -> None:
    sides = {"small": await _open(small), "large": await _open(large)}
    try:
        for side in sides.values():
            side[0].search.rebuild_threshold = 10**9  # merges are run and timed below
        before = await _rounds(sides, rounds, 13)
        _print("searches", before)
        for size, (db, raw) in sides.items():
            await _writes(db, raw, writes, random.Random(7))
            for table, search in (
                ("documents", db.search.documents),
                ("messages", db.search.messages),
            ):
                wall, cpu = await _time(lambda search=search: search("zebrafish telemetry"))
                print(
                    f"{size}: first {table} search after {writes} writes (tokenizes the changed "
                    f"rows once): {wall:.1f} ms wall, {cpu:.1f} ms CPU",
                    flush=True,
                )
        after = await _rounds(sides, rounds, 13)  # the same queries as before
        _print(f"searches right after {writes} writes (changed rows scored as the delta)", after)
        for size, (db, _) in sides.items():
            started, cpu = time.perf_counter(), _cpu()
            await db.search.merge()
            print(
                f"{size}: merge of {writes} changed rows: {time.perf_counter() - started:.2f} s "
                f"wall, {_cpu() - cpu:.2f} s CPU",
                flush=True,
            )
        merged = await _rounds(sides, rounds, 13)
        _print("searches after the merge", merged)
        print("\nlibrary CPU ms (medians)")
        print("| call | size | before | after writes | x | after merge | x |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, size, who in sorted(before):
            if who != "library cpu":
                continue
            b, a, m = before[(name, size, who)], after[(name, size, who)], merged[(name, size, who)]
            print(f"| {name} | {size} | {b:.1f} | {a:.1f} | {a / b:.2f} | {m:.1f} | {m / b:.2f} |")
    finally:
        for db, raw in sides.values():
            raw.close()
            await db.close()


def _print(title: str, medians: dict[tuple[str, str, str], float]) -> None:
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\n{title}; load average (1/5/15 min): {load}")
    print(
        "| call | small lib | small raw | large lib | large raw | ratio | growth "
        "| large lib CPU | large raw CPU | bar | verdict (wall) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in dict.fromkeys(key[0] for key in medians):
        sl, sr = medians[(name, "small", "library")], medians[(name, "small", "raw")]
        ll, lr = medians[(name, "large", "library")], medians[(name, "large", "raw")]
        lc, rc = medians[(name, "large", "library cpu")], medians[(name, "large", "raw cpu")]
        bar = BARS["one project" if "project" in name else "all"]
        verdict = "met" if ll <= bar else f"MISSED (> {bar:g} ms)"
        print(
            f"| {name} | {sl:.1f} | {sr:.1f} | {ll:.1f} | {lr:.1f} | {ll / lr:.2f}x "
            f"| {ll / sl:.2f}x | {lc:.1f} | {rc:.1f} | {bar:g} ms | {verdict} |",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("small", type=Path)
    parser.add_argument("large", type=Path)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--writes", type=int, default=1000)
    args = parser.parse_args(argv)
    for path in (args.small, args.large):
        if path.resolve().parent == Path("/work/scale"):
            parser.error(f"{path} is a shared scale file: pass a copy (the benchmark writes).")
    asyncio.run(_measure(args.small, args.large, args.rounds, args.writes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
