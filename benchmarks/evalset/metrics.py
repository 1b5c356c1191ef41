"""Ranking quality: recall@k and nDCG@k with binary relevance."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence, Set


def recall_at(ranking: Sequence[Hashable], relevant: Set[Hashable], k: int = 10) -> float:
    """The share of the relevant rows found in the first ``k``."""
    return len(set(ranking[:k]) & relevant) / len(relevant)


def ndcg_at(ranking: Sequence[Hashable], relevant: Set[Hashable], k: int = 10) -> float:
    """Discounted cumulative gain of the first ``k`` over the best possible (binary gains)."""
    gain = sum(1 / math.log2(i + 2) for i, row in enumerate(ranking[:k]) if row in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return gain / ideal


def distinct(rows: Sequence[Hashable]) -> list[Hashable]:
    """``rows`` without repeats, first place kept (several chunks of one document)."""
    return list(dict.fromkeys(rows))
