"""What every text generator shares."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def weighted(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    """One item of ``items`` drawn with relative ``weights``."""
    return rng.choices(items, weights=weights, k=1)[0]
