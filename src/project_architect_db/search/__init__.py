"""Full-text search (DuckDB's fts extension, BM25), kept fresh by the library: ``db.search``."""

from project_architect_db.search.models import DocumentHit, MessageHit
from project_architect_db.search.service import MAX_LIMIT, MAX_QUERY_CHARS, SearchService

__all__ = ["MAX_LIMIT", "MAX_QUERY_CHARS", "DocumentHit", "MessageHit", "SearchService"]
