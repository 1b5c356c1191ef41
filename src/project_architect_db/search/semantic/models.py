"""Semantic search results: frozen, detached records (safe to share between tasks)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["SimilarHit"]


class SimilarHit(BaseModel):
    """One chunk of a document or a message, close in meaning to the query.

    A long row is several chunks; each is a hit of its own (``chunk``, ``start``, ``end``
    say which part of the row's text it is).
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["document", "message"]
    #: The document's or the message's id.
    id: uuid.UUID
    project_id: uuid.UUID
    #: The message's conversation (``None`` for a document).
    conversation_id: uuid.UUID | None = None
    #: The document's id again (``None`` for a message), beside its ``version``.
    document_id: uuid.UUID | None = None
    #: The document version the chunk was cut from (``None`` for a message).
    version: int | None = None
    #: Which chunk of the row (0 is the first).
    chunk: int
    #: Character offsets of the chunk in the row's ``content``: ``content[start:end]``.
    start: int
    end: int
    #: Cosine similarity of the chunk's vector and the query's, in [-1, 1]; higher is closer.
    score: float
    #: The start of the chunk's text.
    snippet: str
