"""Schemas of the conversation aggregate: conversations, messages, attachments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, AliasChoices, Field, NonNegativeInt, StringConstraints
from pydantic_core import PydanticCustomError

from project_architect_db.models.enums import ConversationStatus, MessageRole, MessageType, Phase
from project_architect_db.schemas.common import (
    CreateSchema,
    JsonObject,
    LongText,
    Name,
    ReadSchema,
    ShortText,
    Text,
    UpdateSchema,
    UtcDateTime,
)

__all__ = [
    "AttachmentCreate",
    "AttachmentRead",
    "AttachmentUpdate",
    "ConversationCreate",
    "ConversationRead",
    "ConversationUpdate",
    "MessageCreate",
    "MessageRead",
    "MessageUpdate",
]


def _check_attachment_url(value: str) -> str:
    parts = urlsplit(value)
    if not parts.scheme or not (parts.netloc or parts.path) or any(c.isspace() for c in value):
        raise PydanticCustomError(
            "attachment_url",
            "must be an absolute URL without spaces, e.g. 'https://files.example.com/a.png' or "
            "'s3://bucket/key'",
        )
    if parts.password is not None:
        raise PydanticCustomError("url_credentials", "must not embed a password")
    return value


AttachmentUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
    AfterValidator(_check_attachment_url),
]


class ConversationCreate(CreateSchema):
    """A new conversation (chat thread) in a project."""

    project_id: uuid.UUID
    title: Name | None = None
    phase: Phase = Phase.REQUIREMENTS
    status: ConversationStatus = ConversationStatus.ACTIVE
    summary: LongText | None = None
    metadata_: JsonObject = Field(default_factory=dict, alias="metadata")


class ConversationUpdate(UpdateSchema):
    """A change to a conversation. It cannot move to another project (its rows carry the id)."""

    nullable_fields = frozenset({"title", "summary"})

    title: Name | None = None
    phase: Phase | None = None
    status: ConversationStatus | None = None
    summary: LongText | None = None
    metadata_: JsonObject | None = Field(default=None, alias="metadata")


class ConversationRead(ReadSchema):
    """A conversation as stored, with its message count and last activity."""

    id: uuid.UUID
    project_id: uuid.UUID
    title: str | None
    phase: Phase
    status: ConversationStatus
    summary: str | None
    metadata_: dict[str, Any] = Field(
        validation_alias=AliasChoices("metadata_", "metadata"), serialization_alias="metadata"
    )
    message_count: int
    last_message_at: datetime | None
    #: When the last message is a user's (a question waiting for a reply), its time; else None.
    awaiting_reply_since: datetime | None
    created_at: datetime
    updated_at: datetime


class AttachmentCreate(CreateSchema):
    """A file to attach to a message; the repository sets the message, conversation and project."""

    url: AttachmentUrl
    file_type: ShortText = Field(description="MIME type or extension, e.g. 'image/png'.")
    size_bytes: NonNegativeInt | None = None
    metadata_: JsonObject = Field(default_factory=dict, alias="metadata")


class AttachmentUpdate(UpdateSchema):
    """A change to an attachment's description."""

    nullable_fields = frozenset({"size_bytes"})

    url: AttachmentUrl | None = None
    file_type: ShortText | None = None
    size_bytes: NonNegativeInt | None = None
    metadata_: JsonObject | None = Field(default=None, alias="metadata")


class AttachmentRead(ReadSchema):
    """An attachment as stored."""

    id: uuid.UUID
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    project_id: uuid.UUID
    url: str
    file_type: str
    size_bytes: int | None
    metadata_: dict[str, Any] = Field(
        validation_alias=AliasChoices("metadata_", "metadata"), serialization_alias="metadata"
    )
    created_at: datetime


class MessageCreate(CreateSchema):
    """A message to add to a conversation (``add_message(conversation_id, message)``).

    The repository assigns the id, ``conversation_id``, ``project_id`` and the next
    ``sequence``; the caller says who wrote what.

    Examples:
        >>> MessageCreate(role="user", content="Which database fits?").type
        <MessageType.TEXT: 'text'>
    """

    role: MessageRole
    content: Text
    type: MessageType = MessageType.TEXT
    token_count: NonNegativeInt = 0
    metadata_: JsonObject = Field(default_factory=dict, alias="metadata")
    # Excluded from model_dump(): they are rows of their own table, inserted with the message.
    attachments: list[AttachmentCreate] = Field(default_factory=list, max_length=100, exclude=True)
    created_at: UtcDateTime | None = Field(
        default=None, description="When it was written; omit for now. Set it to import history."
    )


class MessageUpdate(UpdateSchema):
    """An edit of a message's content or annotations (role and order never change)."""

    content: Text | None = None
    type: MessageType | None = None
    token_count: NonNegativeInt | None = None
    metadata_: JsonObject | None = Field(default=None, alias="metadata")


class MessageRead(ReadSchema):
    """A message as stored."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    project_id: uuid.UUID
    sequence: int
    role: MessageRole
    content: str
    type: MessageType
    token_count: int
    metadata_: dict[str, Any] = Field(
        validation_alias=AliasChoices("metadata_", "metadata"), serialization_alias="metadata"
    )
    created_at: datetime
    #: For an assistant message right after a user message: that message's time (the question
    #: it answers); else None.
    asked_at: datetime | None
