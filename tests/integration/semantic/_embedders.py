"""Deterministic pure-Python embedders for the semantic tests (no model, no randomness).

``Words`` hashes each lower-cased word into one of ``dimension`` buckets and normalizes: texts
sharing words are close, texts sharing none are orthogonal. Also importable by the child
processes of the crash test.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time
from collections.abc import Sequence
from typing import Any

WORD = re.compile(r"\w+")


def vector(text: str, dimension: int) -> list[float]:
    values = [0.0] * dimension
    for word in WORD.findall(text.lower()):
        bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
        values[bucket % dimension] += 1.0
    norm = math.sqrt(sum(v * v for v in values))
    if norm == 0:
        return [1.0 / math.sqrt(dimension)] * dimension
    return [v / norm for v in values]


class Words:
    """A synchronous embedder; counts its calls and the texts of each."""

    def __init__(self, dimension: int = 64, model: str = "test-words") -> None:
        self.dimension = dimension
        self.model = model
        self.calls: list[tuple[str, int]] = []

    def embed(self, texts: Sequence[str], *, kind: str) -> list[list[float]]:
        self.calls.append((kind, len(texts)))
        return [vector(t, self.dimension) for t in texts]


class AsyncWords(Words):
    """The same vectors from an ``async def embed`` (as an HTTP client would be)."""

    async def embed(self, texts: Sequence[str], *, kind: str) -> list[list[float]]:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().embed(texts, kind=kind)


class Slow(Words):
    """Sleeps ``seconds`` in every passage call (to catch the queue in the middle)."""

    def __init__(self, seconds: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds
        #: Passage calls entered (counted before the sleep; ``calls`` counts them after).
        self.entered = 0

    def embed(self, texts: Sequence[str], *, kind: str) -> list[list[float]]:
        if kind == "passage":
            self.entered += 1
            time.sleep(self.seconds)
        return super().embed(texts, kind=kind)


class AsyncSlow(Words):
    """Awaits ``seconds`` in every passage call (cancellable).

    ``seconds`` is read again while waiting: lowering it ends a call already waiting (a test
    that cancelled its caller does not wait out the background queue's call).
    """

    def __init__(self, seconds: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds
        #: Passage calls entered (counted before the wait; ``calls`` counts them after).
        self.entered = 0

    async def embed(self, texts: Sequence[str], *, kind: str) -> list[list[float]]:  # type: ignore[override]
        if kind == "passage":
            self.entered += 1
            started = time.monotonic()
            while time.monotonic() - started < self.seconds:  # noqa: ASYNC110 (re-reads seconds)
                await asyncio.sleep(0.01)
        return super().embed(texts, kind=kind)


class Broken(Words):
    """Raises until ``fixed`` is set; or answers a wrong shape when ``shape`` is set."""

    def __init__(self, shape: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fixed = False
        self.shape = shape

    def embed(self, texts: Sequence[str], *, kind: str) -> list[list[float]]:
        if not self.fixed:
            if self.shape:
                return [[1.0, 2.0]]
            raise RuntimeError("the embedding server is down")
        return super().embed(texts, kind=kind)
