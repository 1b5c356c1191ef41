"""Seeded random draws: weighted codes, durations, instants, commit ids and time-ordered ids."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from project_architect_db.datagen.ids import uuid7_halves

Array = npt.NDArray[Any]

_US_PER_S: Final = 1_000_000
_US_PER_DAY: Final = 86_400 * _US_PER_S
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _to_us(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)


def _codes(
    gen: np.random.Generator, weights: Sequence[float], size: int | tuple[int, ...]
) -> Array:
    """Indexes into ``weights`` drawn with those relative weights."""
    p = np.asarray(weights, dtype=np.float64)
    codes: Array = gen.choice(len(p), size=size, p=p / p.sum())
    return codes


def _lognormal_us(
    gen: np.random.Generator,
    median_s: float,
    sigma: float,
    cap_s: float,
    size: int | tuple[int, ...],
) -> Array:
    """Log-normal durations in microseconds (median ``median_s``, at most ``cap_s``, >= 1 us)."""
    seconds = np.minimum(gen.lognormal(math.log(median_s), sigma, size=size), cap_s)
    durations: Array = np.maximum((seconds * _US_PER_S).astype(np.int64), 1)
    return durations


def _spread(
    gen: np.random.Generator, start: Array, end: Array, count: int, *, sort: bool = True
) -> Array:
    """``(len(start), count)`` instants uniformly in ``[start, end]`` per row, sorted per row."""
    fraction = gen.random((len(start), count))
    if sort:
        fraction.sort(axis=1)
    span = np.maximum(end - start, 0).astype(np.float64)
    spread: Array = start[:, None] + (fraction * span[:, None]).astype(np.int64)
    return spread


_HEX: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _commit_shas(gen: np.random.Generator, count: int) -> Array:
    """``count`` random 40-hex-digit commit ids as a ``(count, 40)`` uint8 ASCII array."""
    nibbles = gen.integers(0, 16, size=(count, 40), dtype=np.uint8)
    return _HEX[nibbles]


@dataclass
class _Ids:
    """Ids of a table in logical (generation) order, and the order rows are stored in."""

    halves: Array
    order: Array


def _assign_ids(gen: np.random.Generator, created_us: Array) -> _Ids:
    order = np.argsort(created_us, kind="stable")
    halves = np.empty((len(created_us), 2), dtype=">u8")
    halves[order] = uuid7_halves(created_us[order] // 1000, gen)
    return _Ids(halves, order)
