"""BM25 alone on the evaluation set under three tokenizers (no vectors: seconds, not minutes).

    python benchmarks/semantic_tokenizers.py

The same corpus and questions as ``semantic_eval.py``, searched by BM25 only
(``db.search.documents`` + ``messages`` merged by score), with the index built by each word
separator class in turn (``_sql.PUNCTUATION``, patched for the run):

* ``digits dropped``: the fts extension's default (session 12): ``PAY-417`` -> ``pay``;
* ``digits kept`` (the library's): ``PAY-417`` -> ``pay``, ``417``;
* ``joined``: ``-``, ``_`` and ``.`` kept inside words too: ``PAY-417`` -> ``pay-417``
  (a trailing ``.`` or ``-`` stays on the word: one regular expression cannot trim it and
  still equal an fts ``ignore`` class).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

from evalset.cases import load_cases
from evalset.corpus import seed_corpus
from evalset.metrics import distinct, ndcg_at, recall_at
from project_architect_db import Database
from project_architect_db.search import _sql

K = 10
DIGITS_KEPT = _sql.PUNCTUATION
VARIANTS = {
    "digits dropped": "0-9" + DIGITS_KEPT,
    "digits kept": DIGITS_KEPT,
    "joined": DIGITS_KEPT.replace("_", "").replace(".", "").replace("-", ""),
}


async def run(path: Path, separators: str) -> dict[str, dict[str, float]]:
    _sql.PUNCTUATION = separators
    cases = load_cases()
    async with Database.open(path, embedder=False) as db:
        corpus = await seed_corpus(db, cases)
        await db.search.rebuild()
        ranks = []
        for case in cases:
            docs = await db.search.documents(case["question"], limit=K)
            msgs = await db.search.messages(case["question"], limit=K)
            hits = sorted(
                [(("document", h.id), h.score) for h in docs]
                + [(("message", h.id), h.score) for h in msgs],
                key=lambda item: -item[1],
            )
            ranks.append(distinct([key for key, _ in hits]))
    out = {}
    for category in ("all", "paraphrase", "lexical", "mixed"):
        ids = [i for i, c in enumerate(cases) if category in ("all", c["category"])]
        relevant = {i: {corpus.answers[cases[i]["id"]]} for i in ids}
        out[category] = {
            "recall@10": statistics.fmean(recall_at(ranks[i], relevant[i], K) for i in ids),
            "ndcg@10": statistics.fmean(ndcg_at(ranks[i], relevant[i], K) for i in ids),
        }
    return out


def main() -> None:
    print("| BM25 tokenizer | all R@10 / nDCG@10 | paraphrase | lexical | mixed |")
    print("| --- | --- | --- | --- | --- |")
    for name, separators in VARIANTS.items():
        with tempfile.TemporaryDirectory(prefix="padb-tok-") as folder:
            result = asyncio.run(run(Path(folder) / "eval.duckdb", separators))
        cells = [f"{r['recall@10']:.3f} / {r['ndcg@10']:.3f}" for r in result.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    _sql.PUNCTUATION = DIGITS_KEPT


if __name__ == "__main__":
    sys.exit(main())
