"""Conversations (chat threads) with their messages and the messages' attachments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, Index, Text, column
from sqlalchemy.orm import Mapped, mapped_column

from project_architect_db.models.base import (
    Base,
    CreatedAt,
    HasMetadata,
    Timestamps,
    UUIDPrimaryKey,
    enum_type,
    many_to_one,
    non_negative,
    one_to_many,
)
from project_architect_db.models.enums import ConversationStatus, MessageRole, MessageType, Phase

if TYPE_CHECKING:
    from project_architect_db.models.project import Project

__all__ = ["Attachment", "Conversation", "Message"]


class Conversation(UUIDPrimaryKey, Timestamps, HasMetadata, Base):
    """A chat thread about one project, in one phase."""

    __tablename__ = "conversations"
    __table_args__ = non_negative("message_count")

    project_id: Mapped[uuid.UUID] = mapped_column(index=True)
    title: Mapped[str | None]
    phase: Mapped[Phase] = mapped_column(enum_type(Phase), default=Phase.REQUIREMENTS)
    status: Mapped[ConversationStatus] = mapped_column(
        enum_type(ConversationStatus), default=ConversationStatus.ACTIVE
    )
    summary: Mapped[str | None] = mapped_column(Text)
    # Kept by the repository as messages are added, so listing threads needs no COUNT(*).
    message_count: Mapped[int] = mapped_column(default=0)
    last_message_at: Mapped[datetime | None]
    # Kept by the appends: when the thread's last message is a user's, its time (the question
    # waiting for a reply), else NULL. The next append reads it to link a reply to its question.
    awaiting_reply_since: Mapped[datetime | None]

    project: Mapped[Project] = many_to_one(
        "Conversation", "project_id", "Project", back_populates="conversations"
    )
    messages: Mapped[list[Message]] = one_to_many(
        "Conversation",
        "Message",
        "conversation_id",
        back_populates="conversation",
        order_by="sequence",
    )
    attachments: Mapped[list[Attachment]] = one_to_many(
        "Conversation", "Attachment", "conversation_id", back_populates="conversation"
    )

    def __repr__(self) -> str:
        return f"Conversation(id={self.id!s}, project_id={self.project_id!s})"


class Message(UUIDPrimaryKey, CreatedAt, HasMetadata, Base):
    """One message of a conversation; ``sequence`` orders it (1, 2, ...) within the thread."""

    __tablename__ = "messages"
    __table_args__ = (
        Index(None, "conversation_id", "sequence", unique=True),
        CheckConstraint(column("sequence") >= 1),
        *non_negative("token_count"),
    )

    # Indexed on its own: DuckDB's ART cannot serve a lookup on the prefix of the composite
    # unique index above (measured: 23 ms scan vs 3.5 ms with this index, 3M messages).
    conversation_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # Denormalised from the conversation (set by the repository): per-project analytics and
    # project deletes touch messages without a join. Not indexed: those are scans anyway.
    project_id: Mapped[uuid.UUID]
    sequence: Mapped[int]
    role: Mapped[MessageRole] = mapped_column(enum_type(MessageRole))
    content: Mapped[str] = mapped_column(Text)
    # "type" is an unreserved keyword in DuckDB: valid unquoted, and the domain's own word.
    type: Mapped[MessageType] = mapped_column(enum_type(MessageType), default=MessageType.TEXT)
    token_count: Mapped[int] = mapped_column(default=0)
    # Set by the append for an assistant message that directly follows a user message: that
    # message's created_at (the question it answers), else NULL. ``reply_latency`` scans this
    # narrow column instead of pairing 10M messages with a window function.
    asked_at: Mapped[datetime | None]

    conversation: Mapped[Conversation] = many_to_one(
        "Message", "conversation_id", "Conversation", back_populates="messages"
    )
    project: Mapped[Project] = many_to_one(
        "Message", "project_id", "Project", back_populates="messages"
    )
    attachments: Mapped[list[Attachment]] = one_to_many(
        "Message", "Attachment", "message_id", back_populates="message"
    )

    def __repr__(self) -> str:
        return (
            f"Message(id={self.id!s}, conversation_id={self.conversation_id!s}, "
            f"sequence={self.sequence!r}, role={self.role!s})"
        )


class Attachment(UUIDPrimaryKey, CreatedAt, HasMetadata, Base):
    """A file attached to a message, referenced by URL."""

    __tablename__ = "attachments"
    __table_args__ = non_negative("size_bytes")

    message_id: Mapped[uuid.UUID]
    # Denormalised like Message.project_id; a conversation's attachments are loaded together,
    # so this column (not message_id) carries the index.
    conversation_id: Mapped[uuid.UUID] = mapped_column(index=True)
    project_id: Mapped[uuid.UUID]
    url: Mapped[str]
    file_type: Mapped[str]
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)

    message: Mapped[Message] = many_to_one(
        "Attachment", "message_id", "Message", back_populates="attachments"
    )
    conversation: Mapped[Conversation] = many_to_one(
        "Attachment", "conversation_id", "Conversation", back_populates="attachments"
    )
    project: Mapped[Project] = many_to_one(
        "Attachment", "project_id", "Project", back_populates="attachments"
    )

    def __repr__(self) -> str:
        return f"Attachment(id={self.id!s}, message_id={self.message_id!s}, url={self.url!r})"
