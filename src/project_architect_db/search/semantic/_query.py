"""Checking what a semantic search is asked: the query, ``k``, the scope and the filters."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

from project_architect_db.exceptions import InvalidQueryError, InvalidVectorError, ValidationError
from project_architect_db.search.semantic._store import DOCUMENTS, MESSAGES, Source

__all__ = [
    "MAX_K",
    "MAX_QUERY_CHARS",
    "allowed",
    "as_uuid",
    "check_k",
    "check_text",
    "check_vector",
    "filters_of",
    "sources_of",
]

#: Longest query text (e5 reads 512 tokens; a question is far shorter).
MAX_QUERY_CHARS = 4000
MAX_K = 1000


def check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidQueryError(f"k must be an integer from 1 to {MAX_K}.")


def check_text(query: str) -> None:
    if not query.strip():
        raise InvalidQueryError("A semantic search query may not be empty: ask a question.")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQueryError(
            f"A semantic search query may have at most {MAX_QUERY_CHARS} characters "
            f"(got {len(query)}); shorten it, or embed it yourself and pass the vector."
        )


def check_vector(query: Any) -> list[float]:
    if isinstance(query, bytes | bytearray | dict) or not hasattr(query, "__len__"):
        raise InvalidQueryError("query must be a string or a sequence of numbers.")
    try:
        vector = [float(v) for v in query]
    except (TypeError, ValueError):
        raise InvalidVectorError("A query vector must hold numbers only.") from None
    if not vector:
        raise InvalidVectorError("A query vector may not be empty.")
    if not all(math.isfinite(v) for v in vector):
        raise InvalidVectorError("A query vector may not hold NaN or infinite values.")
    return vector


def sources_of(scope: str, conversation_id: Any, doc_type: Any) -> list[Source]:
    if scope not in ("all", "documents", "messages"):
        raise InvalidQueryError("scope must be 'all', 'documents' or 'messages'.")
    if scope == "documents" and conversation_id is not None:
        raise InvalidQueryError("conversation_id filters messages: not with scope='documents'.")
    if scope == "messages" and doc_type is not None:
        raise InvalidQueryError("doc_type filters documents: not with scope='messages'.")
    sources = [s for s in (DOCUMENTS, MESSAGES) if scope in ("all", s.table)]
    if conversation_id is not None:
        sources = [MESSAGES]
    if doc_type is not None:
        sources = [DOCUMENTS]
    return sources


def allowed(source: Source) -> tuple[str, ...]:
    return (*source.copied, "since", "until")


def filters_of(
    project_id: Any, conversation_id: Any, doc_type: Any, since: Any, until: Any
) -> dict[str, Any]:
    if conversation_id is not None and doc_type is not None:
        raise InvalidQueryError(
            "conversation_id (messages) and doc_type (documents) exclude each other: give one."
        )
    if doc_type is not None and not isinstance(doc_type, str):
        raise InvalidQueryError("doc_type must be a string.")
    values = {
        "project_id": as_uuid(project_id),
        "conversation_id": as_uuid(conversation_id),
        "doc_type": getattr(doc_type, "value", doc_type),
        "since": _instant(since, "since"),
        "until": _instant(until, "until"),
    }
    return {k: v for k, v in values.items() if v is not None}


def as_uuid(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID (``None`` stays ``None``).

    Raises:
        ValidationError: It is not a UUID.
    """
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(f"{str(value)[:60]!r} is not a valid id (a UUID).") from None


def _instant(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidQueryError(f"{name} must be a datetime.")
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
