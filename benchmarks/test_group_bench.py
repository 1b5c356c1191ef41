"""Group commit benchmarks: ``add_message`` against the raw DuckDB unit, alone and concurrent.

Issue 12's targets: ``db.conversations.add_message`` outside a transaction, p50 <= 1.3x the raw
unit (``BEGIN; UPDATE conversations ... RETURNING *; INSERT INTO messages ...; COMMIT`` on a
cursor of the same DuckDB instance, called from the loop's thread; the p50 also prints the raw
unit with the library's own SQL since issue 13: ``UPDATE`` in place, ``SELECT``, ``INSERT``),
and 50 tasks each appending 20 messages to their own conversation >= 3x the rate of raw DuckDB
running the same 1,000 units one after another. Both are measured on one file in one run,
interleaved (each round runs the contestants in a shuffled order, so load drift hits them
alike); the ratios are printed.

Run: ``pytest benchmarks/test_group_bench.py -p no:xdist --benchmark-only -s``.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from project_architect_db import Database
from project_architect_db.models.ids import uuid7
from project_architect_db.schemas import ConversationCreate, MessageCreate, ProjectCreate

SINGLE_ROUNDS = 400
WRITERS = 50
MESSAGES_PER_WRITER = 20
CONCURRENT_ROUNDS = 5

_BUMP = (
    "UPDATE conversations SET message_count = message_count + 1, last_message_at = ?, "
    "updated_at = ? WHERE id = ? RETURNING *"
)
# The library's unit since issue 13 (no RETURNING: DuckDB's UPDATE ... RETURNING can update a
# row twice, docs/architecture.md): the same SQL in raw DuckDB, a second baseline.
_BUMP_IN_PLACE = (
    "UPDATE conversations SET message_count = message_count + 1, last_message_at = ?, "
    "updated_at = ? WHERE id = ?"
)
_READ_BACK = "SELECT project_id, message_count FROM conversations WHERE id = ?"
_INSERT = (
    "INSERT INTO messages (id, conversation_id, project_id, sequence, role, content, type, "
    "token_count, metadata, created_at) VALUES (?, ?, ?, ?, 'user', ?, 'text', 0, '{}', ?)"
)


@dataclass
class GroupEnv:
    loop: asyncio.AbstractEventLoop
    db: Database
    raw: duckdb.DuckDBPyConnection
    project_id: uuid.UUID


def raw_unit(raw: duckdb.DuckDBPyConnection, env: GroupEnv, conversation_id: uuid.UUID) -> None:
    """The raw unit of one append, as the issue measured it."""
    now = datetime.now(UTC).replace(tzinfo=None)
    raw.begin()
    cursor = raw.execute(_BUMP, [now, now, conversation_id])
    row = cursor.fetchone()
    assert row is not None
    assert cursor.description is not None
    sequence = row[[d[0] for d in cursor.description].index("message_count")]
    raw.execute(_INSERT, [uuid7(), conversation_id, env.project_id, sequence, "raw", now])
    raw.commit()


def raw_unit_in_place(
    raw: duckdb.DuckDBPyConnection, env: GroupEnv, conversation_id: uuid.UUID
) -> None:
    """The library's SQL for one append in raw DuckDB: UPDATE in place, read back, INSERT."""
    now = datetime.now(UTC).replace(tzinfo=None)
    raw.begin()
    raw.execute(_BUMP_IN_PLACE, [now, now, conversation_id])
    rows = raw.execute(_READ_BACK, [conversation_id]).fetchall()
    raw.execute(_INSERT, [uuid7(), conversation_id, env.project_id, rows[0][1], "raw", now])
    raw.commit()


@pytest.fixture(scope="module")
def group_env(
    bench_loop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GroupEnv]:
    path: Path = tmp_path_factory.mktemp("padb-group-bench") / "group.duckdb"

    async def open_it() -> GroupEnv:
        db = await Database.open(path)
        project = await db.projects.create(ProjectCreate(name="Bench"))
        writes = db._context.writes
        assert writes is not None
        raw = await writes.read(lambda duck: duck.cursor())
        return GroupEnv(bench_loop, db, raw, project.id)

    env = bench_loop.run_until_complete(open_it())
    try:
        yield env
    finally:
        env.raw.close()
        bench_loop.run_until_complete(env.db.close())


async def _conversations(env: GroupEnv, count: int) -> list[uuid.UUID]:
    return [
        (await env.db.conversations.create(ConversationCreate(project_id=env.project_id))).id
        for _ in range(count)
    ]


def _p50(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def test_add_message_p50_against_the_raw_unit(benchmark: Any, group_env: GroupEnv) -> None:
    env = group_env
    mine, theirs, in_place = env.loop.run_until_complete(_conversations(env, 3))
    message = MessageCreate(role="user", content="hello")

    async def one_library() -> float:
        start = time.perf_counter()
        await env.db.conversations.add_message(mine, message)
        return time.perf_counter() - start

    async def rounds() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {"library": [], "raw": [], "in place": []}
        for _ in range(20):  # warm all three
            await one_library()
            raw_unit(env.raw, env, theirs)
            raw_unit_in_place(env.raw, env, in_place)
        for _ in range(SINGLE_ROUNDS):
            order = ["library", "raw", "in place"]
            random.shuffle(order)
            for who in order:
                if who == "library":
                    times["library"].append(await one_library())
                else:
                    start = time.perf_counter()
                    if who == "raw":
                        raw_unit(env.raw, env, theirs)
                    else:
                        raw_unit_in_place(env.raw, env, in_place)
                    times[who].append(time.perf_counter() - start)
        return times

    times = benchmark.pedantic(
        lambda: env.loop.run_until_complete(rounds()), rounds=1, iterations=1
    )
    library, raw = _p50(times["library"]) * 1000, _p50(times["raw"]) * 1000
    in_place = _p50(times["in place"]) * 1000
    ratio = library / raw
    print(
        f"\nadd_message p50 {library:.3f} ms, raw unit p50 {raw:.3f} ms: "
        f"{ratio:.2f}x raw (target <= 1.3x: {'met' if ratio <= 1.3 else 'MISSED'}); "
        f"raw in-place unit (the library's SQL) p50 {in_place:.3f} ms: {library / in_place:.2f}x"
    )
    assert library > 0
    assert raw > 0


def test_concurrent_writers_against_raw_sequential(benchmark: Any, group_env: GroupEnv) -> None:
    env = group_env
    message = MessageCreate(role="user", content="hello")

    async def library_round() -> float:
        conversations = await _conversations(env, WRITERS)

        async def writer(conversation_id: uuid.UUID) -> None:
            for _ in range(MESSAGES_PER_WRITER):
                await env.db.conversations.add_message(conversation_id, message)

        start = time.perf_counter()
        await asyncio.gather(*(writer(c) for c in conversations))
        return WRITERS * MESSAGES_PER_WRITER / (time.perf_counter() - start)

    async def raw_round() -> float:
        conversations = await _conversations(env, WRITERS)
        start = time.perf_counter()
        for _ in range(MESSAGES_PER_WRITER):
            for conversation_id in conversations:
                raw_unit(env.raw, env, conversation_id)
        return WRITERS * MESSAGES_PER_WRITER / (time.perf_counter() - start)

    async def rounds() -> dict[str, list[float]]:
        rates: dict[str, list[float]] = {"library": [], "raw": []}
        for _ in range(CONCURRENT_ROUNDS):
            order = ["library", "raw"]
            random.shuffle(order)
            for who in order:
                rates[who].append(await (library_round() if who == "library" else raw_round()))
        return rates

    rates = benchmark.pedantic(
        lambda: env.loop.run_until_complete(rounds()), rounds=1, iterations=1
    )
    library, raw = _p50(rates["library"]), _p50(rates["raw"])
    ratio = library / raw
    committer = env.db._context.writes.committer  # type: ignore[union-attr]
    print(
        f"\n{WRITERS} writers x {MESSAGES_PER_WRITER}: library {library:.0f} messages/s, raw "
        f"sequential {raw:.0f} messages/s: {ratio:.2f}x raw (target >= 3x: "
        f"{'met' if ratio >= 3 else 'MISSED'}); {committer.units} units in "
        f"{committer.groups} groups"
    )
    assert library > 0
    assert raw > 0
