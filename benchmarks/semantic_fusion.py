"""Choose hybrid search's fusion on half of the evaluation set, report it on the other half.

    python benchmarks/semantic_eval.py --lists lists.json   # once: the candidate lists
    python benchmarks/semantic_fusion.py lists.json [--json OUT]

Every fusion of the grid below is computed offline from each question's candidate lists (BM25
of documents and of messages, the vectors' best chunk per row, the query's ideal BM25 score
per table) exactly as ``search/hybrid.py`` computes its own: the fusion with the best nDCG@10 on
the ``dev`` half (even-numbered questions) is chosen, and only then are its figures on the
``test`` half (odd-numbered) and on all questions printed beside BM25 and vectors alone. The
grid: how BM25 scores are scaled (over the query's ideal score, min-max within the list, or
ranks: reciprocal rank fusion), how cosines are scaled (min-max, raw, ranks), the vectors'
weight, and how many candidates each list contributes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evalset.metrics import distinct, ndcg_at, recall_at

K = 10
Key = tuple[str, str]
Scored = list[tuple[Key, float]]


@dataclass(frozen=True)
class Fusion:
    bm25: str  # "ideal" | "minmax" | "rank"
    vector: str  # "minmax" | "raw" | "rank"
    weight: float  # the vectors' weight; BM25's is 1 - weight
    depth: int  # candidates taken from each list
    c: int = 60  # reciprocal rank constant (rank scaling only)

    def name(self) -> str:
        rank = f", c={self.c}" if "rank" in (self.bm25, self.vector) else ""
        return (
            f"bm25 {self.bm25} + vector {self.vector}, vector weight {self.weight}, "
            f"depth {self.depth}{rank}"
        )


def _min_max(rows: Scored) -> Scored:
    if not rows:
        return []
    low, high = min(s for _, s in rows), max(s for _, s in rows)
    return [(k, (s - low) / (high - low) if high > low else 1.0) for k, s in rows]


def _ranks(rows: Scored, c: int) -> Scored:
    # scaled so that the first place is 1 (the weights then compare with the other scalings)
    return [(k, (c + 1) / (c + rank)) for rank, (k, _) in enumerate(rows, 1)]


def _bm25_list(lists: dict[str, Scored], depth: int) -> Scored:
    merged = sorted(lists["bm25_documents"] + lists["bm25_messages"], key=lambda x: -x[1])
    return merged[:depth]


def _ideal(rows: Scored, ideals: dict[str, float]) -> Scored:
    best: dict[str, float] = {}
    for key, score in rows:
        best[key[0]] = max(best.get(key[0], 0.0), score)
    scale = {kind: ideals.get(kind) or top for kind, top in best.items()}
    return [(k, min(1.0, s / scale[k[0]]) if scale[k[0]] > 0 else 0.0) for k, s in rows]


def fuse(fusion: Fusion, lists: dict[str, Scored]) -> list[Key]:
    """The ranking ``search/hybrid.py`` makes with this fusion (same order of ties)."""
    bm25 = _bm25_list(lists, fusion.depth)
    vector = lists["vector"][: fusion.depth]
    ideals = {key[0]: value for key, value in lists["ideal"]}
    scaled_bm25 = {
        "ideal": lambda: _ideal(bm25, ideals),
        "minmax": lambda: _min_max(bm25),
        "rank": lambda: _ranks(bm25, fusion.c),
    }[fusion.bm25]()
    scaled_vector = {
        "minmax": lambda: _min_max(vector),
        "raw": lambda: vector,
        "rank": lambda: _ranks(vector, fusion.c),
    }[fusion.vector]()
    fused: dict[Key, float] = {}
    for weight, rows in ((1 - fusion.weight, scaled_bm25), (fusion.weight, scaled_vector)):
        for key, score in rows:
            fused[key] = fused.get(key, 0.0) + weight * score
    return [key for key, _ in sorted(fused.items(), key=lambda item: -item[1])]


def grid() -> list[Fusion]:
    weights = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    depths = (10, 20, 30, 50)
    out = [
        Fusion(b, v, w, d)
        for b, v, w, d in itertools.product(("ideal", "minmax"), ("minmax", "raw"), weights, depths)
    ]
    out += [
        Fusion("rank", "rank", w, d, c)
        for w, d, c in itertools.product(weights, depths, (10, 30, 60))
    ]
    return out


def metrics(
    rankings: Sequence[list[Key]], relevant: Sequence[set[Key]], ids: Sequence[int]
) -> dict[str, float]:
    rows = {i: distinct(rankings[i]) for i in ids}
    return {
        "recall@10": statistics.fmean(recall_at(rows[i], relevant[i], K) for i in ids),
        "ndcg@10": statistics.fmean(ndcg_at(rows[i], relevant[i], K) for i in ids),
    }


def load(path: Path) -> tuple[list[dict[str, Scored]], list[set[Key]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    relevant = [{(k[0], k[1]) for k in rel} for rel in data["relevant"]]
    lists = [
        {name: [((row[0], row[1]), float(row[2])) for row in rows] for name, rows in case.items()}
        for case in data["lists"]
    ]
    return lists, relevant


def choose(path: Path) -> dict[str, Any]:
    lists, relevant = load(path)
    everything = list(range(len(lists)))
    halves = {"dev": everything[0::2], "test": everything[1::2], "all": everything}
    singles: dict[str, Callable[[dict[str, Scored]], list[Key]]] = {
        "bm25": lambda case: [k for k, _ in _bm25_list(case, 50)],
        "vector": lambda case: [k for k, _ in case["vector"]],
    }
    scored = []
    for fusion in grid():
        rankings = [fuse(fusion, case) for case in lists]
        scored.append((metrics(rankings, relevant, halves["dev"])["ndcg@10"], fusion, rankings))
    # the best on dev; ties go to the earlier (simpler) entry of the grid
    best_dev, chosen, rankings = max(scored, key=lambda item: item[0])
    table = {name: [rank(case) for case in lists] for name, rank in singles.items()}
    table["hybrid (chosen on dev)"] = rankings
    return {
        "questions": len(lists),
        "grid": len(scored),
        "chosen": asdict(chosen) | {"name": chosen.name(), "dev_ndcg@10": best_dev},
        "top_on_dev": [
            {"name": f.name(), "dev_ndcg@10": round(s, 4)}
            for s, f, _ in sorted(scored, key=lambda item: -item[0])[:8]
        ],
        "results": {
            half: {name: metrics(r, relevant, ids) for name, r in table.items()}
            for half, ids in halves.items()
        },
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['questions']} questions, {result['grid']} fusions tried on dev; chosen: "
        f"{result['chosen']['name']} (dev nDCG@10 {result['chosen']['dev_ndcg@10']:.3f})",
        "",
        "| method | dev R@10 / nDCG@10 | test R@10 / nDCG@10 | all R@10 / nDCG@10 |",
        "| --- | --- | --- | --- |",
    ]
    for name in result["results"]["all"]:
        cells = [
            f"{result['results'][h][name]['recall@10']:.3f} / "
            f"{result['results'][h][name]['ndcg@10']:.3f}"
            for h in ("dev", "test", "all")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "best on dev:",
        *(f"  {t['dev_ndcg@10']:.3f}  {t['name']}" for t in result["top_on_dev"]),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lists", type=Path, help="semantic_eval.py --lists output")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = choose(args.lists)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
