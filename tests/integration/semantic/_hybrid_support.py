"""A deterministic stand-in for an embedding model, and a database of known rows.

The embedder is the caller-supplied kind the library accepts (``Embedder`` protocol): a bag of
"concepts" hashed into 64 dimensions, where a few synonyms share a concept ("release" and
"deployment", "break" and "failed"), so a question and its answer can be close in meaning while
sharing no word. The database under it is real DuckDB.
"""

from __future__ import annotations

import asyncio
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

DIMENSION = 64
SYNONYMS = {
    "release": "deploy", "deployment": "deploy", "rollout": "deploy", "deploy": "deploy",
    "break": "fail", "broke": "fail", "failed": "fail", "failure": "fail", "crash": "fail",
    "slow": "latency", "sluggish": "latency", "latency": "latency",
    "money": "cost", "bill": "cost", "expensive": "cost", "spend": "cost",
}  # fmt: skip
#: Words a model gives little weight to: left out, so meaning words decide.
STOP = frozenset(
    ("a", "an", "and", "at", "did", "do", "how", "is", "it", "of", "on", "the", "to", "we",
     "what", "when", "why")
)  # fmt: skip


def vector(text: str) -> list[float]:
    """The text's concepts counted into ``DIMENSION`` buckets, scaled to length 1."""
    out = [0.0] * DIMENSION
    for word in re.findall(r"\w+", text.lower()):
        if word in STOP:
            continue
        concept = SYNONYMS.get(word, word)
        out[zlib.crc32(concept.encode()) % DIMENSION] += 1.0
    norm = math.sqrt(sum(v * v for v in out)) or 1.0
    return [v / norm for v in out]


class ConceptEmbedder:
    """Synchronous, deterministic, pure Python."""

    model = "test-concepts-64"
    dimension = DIMENSION

    def embed(
        self, texts: Sequence[str], *, kind: Literal["query", "passage"]
    ) -> list[list[float]]:
        return [vector(text) for text in texts]


@dataclass
class HeldEmbedder:
    """Embeds queries at once; passages only once ``release`` is set (rows stay unembedded)."""

    model: str = "test-concepts-64"
    dimension: int = DIMENSION
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def embed(
        self, texts: Sequence[str], *, kind: Literal["query", "passage"]
    ) -> list[list[float]]:
        if kind == "passage":
            await self.release.wait()
        return [vector(text) for text in texts]
