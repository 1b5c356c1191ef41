"""Search results: frozen, detached records (safe to share between tasks, JSON-ready)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

from project_architect_db.schemas.common import UtcDateTime

__all__ = ["DocumentHit", "MessageHit"]


class _Hit(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    project_id: uuid.UUID
    #: BM25 score (DuckDB fts formula, k1=1.2, b=0.75); higher is better.
    score: float
    #: A short window of the text around the first match, matches wrapped in the markers.
    snippet: str


class DocumentHit(_Hit):
    """One document matching a search."""

    path: str
    title: str
    doc_type: str
    version: int


class MessageHit(_Hit):
    """One message matching a search."""

    conversation_id: uuid.UUID
    sequence: int
    role: str
    #: When the message was written (timezone-aware, UTC, like every ``*Read`` record).
    created_at: UtcDateTime
