"""Full-text search at 100k documents: index build, fresh search, search after writes.

Run: ``pytest benchmarks/test_search_bench.py -p no:xdist -s``. Documents are generated with one
``INSERT ... SELECT`` from ``range()`` (a synthetic 8,000-word vocabulary, skewed frequencies,
~120 words each); numbers are printed, see docs/performance.md "Full-text search".
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from project_architect_db import Database
from project_architect_db.models import Base

N_DOCS = 100_000
GENERATE = f"""
INSERT INTO documents (id, project_id, path, title, doc_type, content, content_hash,
                       size_bytes, version, metadata, created_at, updated_at)
WITH syl AS (SELECT ['ka','lo','mi','ne','ru','sa','ti','vo','ze','pa','do','fu','gi','ho','ja',
                     'be','ce','xi','yu','wa'] AS s),
vocab AS (SELECT list_transform(range(8000), k -> s[1 + k % 20] || s[1 + (k // 20) % 20]
          || s[1 + (k // 400) % 20] || CASE WHEN k % 3 = 0 THEN 'ing' WHEN k % 3 = 1 THEN 's'
          ELSE '' END) AS v FROM syl),
body AS (SELECT i, 'Title ' || v[1 + (hash(i, 1) % 8000)::INT] AS title,
         array_to_string(list_transform(range(120), j -> v[1 + floor(pow((hash(i, j) % 1000000)
         / 1000000.0, 3) * 8000)::INT]), ' ') AS content FROM vocab, range({N_DOCS}) t(i))
SELECT uuid(), '00000000-0000-0000-0000-000000000001'::UUID, 'doc/' || i || '.md', title,
       'note', content, md5(content), strlen(content), 1, '{{}}', now(), now()
FROM body
"""


def _ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


async def _timed(fn: Any, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return _ms(samples)


async def _run(path: Path) -> dict[str, float]:
    results: dict[str, float] = {}
    async with Database.open(path) as db:
        async with db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
            await connection.exec_driver_sql(GENERATE)
        db.search.rebuild_threshold = 10**9  # measure the delta path, no background rebuild
        start = time.perf_counter()
        await db.search.rebuild("documents")
        results["build_s"] = round(time.perf_counter() - start, 1)
        for query in ("kakakaing", "gixibes jalovo", "nonexistentword"):
            results[f"fresh:{query}"] = await _timed(lambda q=query: db.search.documents(q))
        project = (await db.projects.create({"name": "bench"})).id
        async with db.engine.connect() as connection:
            # Realistic changed rows: the text of existing documents (~1 KB, ~120 words).
            texts = [
                row[0]
                for row in await connection.exec_driver_sql(
                    "SELECT content FROM documents USING SAMPLE 5000 ROWS"
                )
            ]
        written = 0
        write_times: list[float] = []
        for delta in (1, 100, 1000, 5000):
            while written < delta:
                start = time.perf_counter()
                await db.documents.create(
                    {"project_id": project, "path": f"new/{written}.md", "content": texts[written]}
                )
                write_times.append(time.perf_counter() - start)
                written += 1
            for query in ("kakakaing", "gixibes jalovo"):
                results[f"delta{delta}:{query}"] = await _timed(
                    lambda q=query: db.search.documents(q), 3
                )
        results["write_ms(documents.create)"] = _ms(write_times)
    return results


def test_search_at_100k(tmp_path: Path) -> None:
    results = asyncio.run(_run(tmp_path / "search.duckdb"))
    for key, value in results.items():
        print(f"{key:32} {value}")
