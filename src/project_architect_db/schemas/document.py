"""Schemas of the document aggregate: documents and their version history."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    Field,
    StringConstraints,
    computed_field,
)
from pydantic_core import PydanticCustomError

from project_architect_db.models.enums import DocumentType
from project_architect_db.schemas.common import (
    CreateSchema,
    JsonObject,
    Name,
    ReadSchema,
    Text,
    UpdateSchema,
)

__all__ = [
    "DocumentCreate",
    "DocumentPath",
    "DocumentRead",
    "DocumentUpdate",
    "DocumentVersionRead",
    "content_digest",
]


def content_digest(content: str) -> tuple[str, int]:
    """Return ``(sha256 hex, UTF-8 size in bytes)`` of a document's content."""
    data = content.encode("utf-8")
    return hashlib.sha256(data).hexdigest(), len(data)


def _normalise_path(value: str) -> str:
    def fail(reason: str) -> PydanticCustomError:
        return PydanticCustomError(
            "document_path", "{reason}, e.g. 'docs/adr/0001-use-duckdb.md'", {"reason": reason}
        )

    if any(ord(char) < 32 for char in value):
        raise fail("path must not contain control characters (NUL, newline, tab ...)")
    if "\\" in value:
        raise fail("path must use forward slashes")
    if value.startswith("/") or (len(value) > 1 and value[1] == ":"):
        raise fail("path must be relative to the project, without a leading '/' or drive")
    if value.endswith("/"):
        raise fail("path must name a file, not a directory")
    parts = [part for part in value.split("/") if part not in ("", ".")]
    if not parts:
        raise fail("path must name a file")
    if ".." in parts:
        raise fail("path must not contain '..'")
    if any(len(part) > 255 for part in parts):
        raise fail("each path segment must be at most 255 characters")
    # "a//b" and "./a" name the same file as "a/b" and "a": store one spelling, so the
    # (project_id, path) unique index catches them.
    return "/".join(parts)


def _title_from_path(data: dict[str, Any]) -> str:
    return PurePosixPath(data["path"]).stem


DocumentPath = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1024),
    AfterValidator(_normalise_path),
]
"""A file path relative to the project root, with ``/`` separators and no ``..``."""


class DocumentCreate(CreateSchema):
    """A new document. ``title`` defaults to the file name without its extension.

    ``content_hash`` and ``size_bytes`` are computed from ``content`` and included in
    ``model_dump()``.

    Examples:
        >>> import uuid
        >>> doc = DocumentCreate(project_id=uuid.uuid4(), path="docs/adr/0001-use-duckdb.md")
        >>> doc.title, doc.size_bytes
        ('0001-use-duckdb', 0)
    """

    project_id: uuid.UUID
    path: DocumentPath
    title: Name = Field(
        default_factory=_title_from_path,
        validate_default=True,
        description="Defaults to the file name without its extension.",
    )
    doc_type: DocumentType = DocumentType.OTHER
    content: Text = ""
    metadata_: JsonObject = Field(default_factory=dict, alias="metadata")

    @computed_field  # type: ignore[prop-decorator]  # mypy cannot see through the decorator
    @property
    def content_hash(self) -> str:
        """SHA-256 of the UTF-8 content, lowercase hex."""
        return content_digest(self.content)[0]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def size_bytes(self) -> int:
        """Length of the UTF-8 content in bytes."""
        return content_digest(self.content)[1]


class DocumentUpdate(UpdateSchema):
    """A change to a document. A new ``content`` makes the repository keep the old version.

    ``expected_version``, when given, makes the update fail with ``ConflictError`` unless the
    document is still at that version.
    """

    nullable_fields = frozenset({"expected_version"})

    path: DocumentPath | None = None
    title: Name | None = None
    doc_type: DocumentType | None = None
    content: Text | None = None
    metadata_: JsonObject | None = Field(default=None, alias="metadata")
    expected_version: int | None = Field(default=None, ge=1, exclude=True)


class DocumentRead(ReadSchema):
    """A document as stored; ``version`` counts its revisions from 1."""

    id: uuid.UUID
    project_id: uuid.UUID
    path: str
    title: str
    doc_type: DocumentType
    content: str
    content_hash: str
    size_bytes: int
    version: int
    metadata_: dict[str, Any] = Field(
        validation_alias=AliasChoices("metadata_", "metadata"), serialization_alias="metadata"
    )
    created_at: datetime
    updated_at: datetime


class DocumentVersionRead(ReadSchema):
    """A past revision of a document (its state when it was at ``version``)."""

    id: uuid.UUID
    document_id: uuid.UUID
    project_id: uuid.UUID
    version: int
    title: str
    content: str
    content_hash: str
    size_bytes: int
    created_at: datetime
    #: The ``created_at`` of the document's version before this one; None for version 1.
    previous_created_at: datetime | None
