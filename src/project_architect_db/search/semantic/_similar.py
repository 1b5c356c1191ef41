"""Running a similarity search on one source: the best chunks, checked against live rows."""

from __future__ import annotations

from typing import Any

from project_architect_db.search.semantic._store import DOCUMENTS, Source
from project_architect_db.search.semantic.models import SimilarHit

__all__ = ["search"]


def search(
    con: Any,
    source: Source,
    vector: list[float],
    filters: dict[str, Any],
    k: int,
    chars: int,
) -> list[SimilarHit]:
    """The ``k`` best live chunks of ``source`` passing ``filters`` (snippets of ``chars``)."""
    sql = source.similar_sql(list(filters))
    n = k * 4 + 16
    while True:  # ask for more when deleted rows or old versions took the places
        rows = con.execute(sql, {**filters, "q": vector, "n": n, "chars": chars}).fetchall()
        names = [d[0] for d in con.description]
        found = [dict(zip(names, r, strict=True)) for r in rows]
        if len(found) >= k or not _more_than(con, source, filters, n):
            return [hit(source, row) for row in found[:k]]
        n *= 8


def _more_than(con: Any, source: Source, filters: dict[str, Any], n: int) -> bool:
    """Whether more than ``n`` chunks pass the filters (so asking for more may find more)."""
    sql = f"SELECT count(*) > $n FROM {source.chunks} c WHERE {source.where(list(filters))}"
    return bool(con.execute(sql, {**filters, "n": n}).fetchone()[0])


def hit(source: Source, row: dict[str, Any]) -> SimilarHit:
    """One result row as a :class:`SimilarHit`."""
    document = source is DOCUMENTS
    return SimilarHit(
        kind="document" if document else "message",
        id=row["id"],
        project_id=row["project_id"],
        conversation_id=None if document else row["conversation_id"],
        document_id=row["id"] if document else None,
        version=row["version"] if document else None,
        chunk=row["chunk"],
        start=row["start"],
        end=row["end"],
        score=float(row["score"]),
        snippet=row["snippet"] or "",
    )
