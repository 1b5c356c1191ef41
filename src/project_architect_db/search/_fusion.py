"""Fusing ranked lists into one ranking (hybrid search; chosen by measurement, see below).

Each list is a ranking of keys, best first, with the list's own scores (BM25 scores, cosine
similarities). The two ways measured on the evaluation set (``benchmarks/semantic_eval.py``,
docs/performance.md "Semantic and hybrid search: quality"):

* **reciprocal rank fusion** (Cormack et al. 2009): ``sum(weight / (c + rank))`` over the
  lists a key is in. Only ranks count, so the lists need no common scale;
* **convex combination** of scores scaled to 0..1 within each list (min-max), weighted;
* **scaled sum** (the library's choice): the same weighted sum, but each list's scores scaled
  by the caller (``weighted_sum``): BM25 by the query's ideal score, vectors min-max
  (``min_max``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

__all__ = ["DEFAULT_C", "convex", "min_max", "rrf", "weighted_sum"]

KeyT = TypeVar("KeyT", bound=Hashable)

#: The rank constant of reciprocal rank fusion: large enough that the first few places of one
#: list do not outweigh a key found by every list (60 in the paper; measured here too).
DEFAULT_C = 60


def rrf(
    lists: Mapping[str, Sequence[KeyT]],
    *,
    c: float = DEFAULT_C,
    weights: Mapping[str, float] | None = None,
) -> dict[KeyT, float]:
    """Reciprocal rank fusion: each key's ``sum(weight / (c + rank))``, rank counted from 1.

    Returns the fused scores, best first.
    """
    fused: dict[KeyT, float] = {}
    for name, ranking in lists.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + weight / (c + rank)
    return dict(sorted(fused.items(), key=lambda item: -item[1]))


def convex(
    lists: Mapping[str, Sequence[tuple[KeyT, float]]],
    weights: Mapping[str, float],
) -> dict[KeyT, float]:
    """Weighted sum of the lists' scores, each scaled to 0..1 within its list (min-max).

    A key missing from a list gets 0 from it. Returns the fused scores, best first.
    """
    return weighted_sum({name: min_max(rows) for name, rows in lists.items()}, weights)


def min_max(ranking: Sequence[tuple[KeyT, float]]) -> list[tuple[KeyT, float]]:
    """The scores scaled to 0..1 within the list (all 1 when they are equal)."""
    if not ranking:
        return []
    scores = [score for _, score in ranking]
    low, span = min(scores), max(scores) - min(scores)
    return [(key, (score - low) / span if span > 0 else 1.0) for key, score in ranking]


def weighted_sum(
    lists: Mapping[str, Sequence[tuple[KeyT, float]]], weights: Mapping[str, float]
) -> dict[KeyT, float]:
    """Each key's ``sum(weight * score)`` over the lists it is in (scores already scaled).

    Returns the fused scores, best first.
    """
    fused: dict[KeyT, float] = {}
    for name, ranking in lists.items():
        weight = weights.get(name, 1.0)
        for key, score in ranking:
            fused[key] = fused.get(key, 0.0) + weight * score
    return dict(sorted(fused.items(), key=lambda item: -item[1]))
