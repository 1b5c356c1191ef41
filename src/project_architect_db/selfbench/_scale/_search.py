"""Searches within a project and across everything, on files that hold a search index.

Only the library is timed: raw DuckDB would repeat the library's own full-text SQL, and the
SQLite copy carries no FTS5 index (building one over 10M messages is a benchmark of its own).
A file without the library's search index (``padb_search_*``) is not searched: opened read-only,
the library cannot build one, and searching without it scans every row (the report says so).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Final

import duckdb

from project_architect_db.search.service import DOCUMENTS, MESSAGES

__all__ = ["BARS_MS", "CALLS", "NO_INDEX", "calls", "has_index"]

#: Issue 13's bars at the large size (ms): within one project 50 ms, across everything 500 ms.
BARS_MS: Final = {
    "search messages in a project": 50.0,
    "search messages": 500.0,
    "search documents in a project": 50.0,
    "search documents": 500.0,
}
CALLS: Final = tuple(BARS_MS)
#: Words the generator puts in messages and documents of every technology stack.
_WORDS: Final = ("database", "deploy", "test", "performance", "design")
NO_INDEX: Final = (
    "not measured: the file has no search index, and opened read-only the library cannot "
    "build one (build it on the file once with `db.search.rebuild()`)"
)


def has_index(raw: duckdb.DuckDBPyConnection) -> bool:
    """Whether the file holds the library's search indexes for messages and documents."""
    schemas = [MESSAGES.schema, DOCUMENTS.schema]
    found = raw.execute(
        "SELECT count(*) FROM duckdb_schemas() WHERE list_contains($1, schema_name)", [schemas]
    ).fetchone()
    return bool(found and found[0] == len(schemas))


def calls(db: Any, project_ids: list[Any], rng: random.Random) -> dict[str, Callable[[], Any]]:
    """Per search, with a fresh word and project: the library call."""
    word, project = rng.choice(_WORDS), rng.choice(project_ids)
    return {
        "search messages in a project": lambda: db.search.messages(word, project_id=project),
        "search messages": lambda: db.search.messages(word),
        "search documents in a project": lambda: db.search.documents(word, project_id=project),
        "search documents": lambda: db.search.documents(word),
    }
