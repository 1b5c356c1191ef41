"""Conversation, Message and Attachment schemas."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from project_architect_db.models import ConversationStatus, MessageRole, MessageType, Phase
from project_architect_db.schemas import (
    AttachmentCreate,
    AttachmentRead,
    AttachmentUpdate,
    ConversationCreate,
    ConversationRead,
    ConversationUpdate,
    MessageCreate,
    MessageRead,
    MessageUpdate,
)

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def error_at(error: ValidationError) -> dict[tuple[str | int, ...], str]:
    return {tuple(item["loc"]): item["type"] for item in error.errors()}


def row(**fields: Any) -> SimpleNamespace:
    return SimpleNamespace(**fields)


# -- conversations ------------------------------------------------------------------------------


def test_conversation_create_needs_only_the_project() -> None:
    project_id = uuid.uuid4()

    conversation = ConversationCreate(project_id=project_id, phase="architecture")

    assert conversation.project_id == project_id
    assert conversation.phase is Phase.ARCHITECTURE
    assert conversation.status is ConversationStatus.ACTIVE
    assert conversation.title is None


def test_conversation_create_accepts_the_project_id_as_text() -> None:
    project_id = uuid.uuid4()

    assert ConversationCreate(project_id=str(project_id)).project_id == project_id


def test_conversation_create_rejects_a_project_id_that_is_not_a_uuid() -> None:
    with pytest.raises(ValidationError) as caught:
        ConversationCreate(project_id="project-1")

    assert error_at(caught.value) == {("project_id",): "uuid_parsing"}


def test_conversation_create_rejects_an_unknown_phase() -> None:
    with pytest.raises(ValidationError) as caught:
        ConversationCreate(project_id=uuid.uuid4(), phase="testing")

    assert error_at(caught.value) == {("phase",): "enum"}


def test_conversation_create_rejects_a_title_over_200_characters() -> None:
    with pytest.raises(ValidationError) as caught:
        ConversationCreate(project_id=uuid.uuid4(), title="t" * 201)

    assert error_at(caught.value) == {("title",): "string_too_long"}


def test_conversation_update_can_clear_the_title_and_archive() -> None:
    update = ConversationUpdate(title=None, status="archived")

    assert update.changes() == {"title": None, "status": ConversationStatus.ARCHIVED}


def test_conversation_update_cannot_move_the_conversation_to_another_project() -> None:
    with pytest.raises(ValidationError) as caught:
        ConversationUpdate(project_id=uuid.uuid4())  # type: ignore[call-arg]

    assert error_at(caught.value) == {("project_id",): "extra_forbidden"}


def test_conversation_update_rejects_null_for_the_status() -> None:
    with pytest.raises(ValidationError, match="status cannot be null"):
        ConversationUpdate(status=None)


def test_conversation_read_is_built_from_orm_attributes() -> None:
    stored = row(
        id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        title="Kick-off",
        phase=Phase.REQUIREMENTS,
        status=ConversationStatus.ACTIVE,
        summary=None,
        metadata_={},
        message_count=2,
        last_message_at=NOW,
        awaiting_reply_since=NOW,
        created_at=NOW,
        updated_at=NOW,
    )

    read = ConversationRead.model_validate(stored)

    assert read.message_count == 2
    assert read.last_message_at == NOW
    assert read.awaiting_reply_since == NOW


def test_conversation_read_rejects_a_wrong_type_for_the_message_count() -> None:
    with pytest.raises(ValidationError):
        ConversationRead.model_validate({"id": uuid.uuid4(), "message_count": "many"})


def test_conversation_read_is_frozen() -> None:
    read = ConversationRead(
        id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        title=None,
        phase=Phase.DESIGN,
        status=ConversationStatus.ACTIVE,
        summary=None,
        metadata={},
        message_count=0,
        last_message_at=None,
        awaiting_reply_since=None,
        created_at=NOW,
        updated_at=NOW,
    )

    with pytest.raises(ValidationError):
        read.title = "x"  # type: ignore[misc]


# -- messages -----------------------------------------------------------------------------------


def test_message_create_keeps_content_exactly_as_given() -> None:
    message = MessageCreate(role="assistant", content="  ```py\nprint(1)\n```\n", type="code")

    assert message.content == "  ```py\nprint(1)\n```\n"
    assert message.role is MessageRole.ASSISTANT
    assert message.type is MessageType.CODE
    assert message.token_count == 0


def test_message_create_carries_attachments_outside_the_row_values() -> None:
    message = MessageCreate(
        role="user",
        content="see screenshot",
        attachments=[{"url": "https://files.example.com/s.png", "file_type": "image/png"}],
    )

    assert message.attachments[0].file_type == "image/png"
    assert "attachments" not in message.model_dump()


def test_message_create_normalises_an_imported_timestamp_to_utc() -> None:
    message = MessageCreate(role="user", content="hi", created_at="2025-01-01T01:00:00+01:00")

    assert message.created_at == NOW


def test_message_create_rejects_an_unknown_role() -> None:
    with pytest.raises(ValidationError) as caught:
        MessageCreate(role="robot", content="beep")

    assert error_at(caught.value) == {("role",): "enum"}


def test_message_create_rejects_a_negative_token_count() -> None:
    with pytest.raises(ValidationError) as caught:
        MessageCreate(role="user", content="hi", token_count=-1)

    assert error_at(caught.value) == {("token_count",): "greater_than_equal"}


def test_message_create_rejects_content_with_a_nul_byte() -> None:
    with pytest.raises(ValidationError, match="NUL"):
        MessageCreate(role="user", content="bad\x00byte")


def test_message_create_rejects_a_naive_timestamp() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        MessageCreate(role="user", content="hi", created_at=datetime(2025, 1, 1))


def test_message_create_rejects_the_fields_the_repository_assigns() -> None:
    with pytest.raises(ValidationError) as caught:
        MessageCreate(role="user", content="hi", sequence=3, conversation_id=uuid.uuid4())  # type: ignore[call-arg]

    assert error_at(caught.value) == {
        ("sequence",): "extra_forbidden",
        ("conversation_id",): "extra_forbidden",
    }


def test_message_update_edits_content_and_token_count() -> None:
    update = MessageUpdate(content="edited", token_count=3)

    assert update.changes() == {"content": "edited", "token_count": 3}


def test_message_update_cannot_change_the_role() -> None:
    with pytest.raises(ValidationError):
        MessageUpdate(role="system")  # type: ignore[call-arg]


def test_message_update_rejects_null_content() -> None:
    with pytest.raises(ValidationError, match="content cannot be null"):
        MessageUpdate(content=None)


def test_message_read_is_built_from_orm_attributes() -> None:
    stored = row(
        id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        sequence=1,
        role=MessageRole.USER,
        content="hi",
        type=MessageType.TEXT,
        token_count=1,
        metadata_={"model": "x"},
        created_at=NOW,
        asked_at=None,
    )

    read = MessageRead.model_validate(stored)

    assert read.sequence == 1
    assert read.asked_at is None
    assert read.model_dump(by_alias=True)["metadata"] == {"model": "x"}


def test_message_read_rejects_an_unknown_type() -> None:
    with pytest.raises(ValidationError):
        MessageRead.model_validate({"type": "video"})


def test_message_read_rejects_a_missing_sequence() -> None:
    with pytest.raises(ValidationError) as caught:
        MessageRead.model_validate(
            row(
                id=uuid.uuid4(),
                conversation_id=uuid.uuid4(),
                project_id=uuid.uuid4(),
                role=MessageRole.USER,
                content="hi",
                type=MessageType.TEXT,
                token_count=0,
                metadata_={},
                created_at=NOW,
                asked_at=None,
            )
        )

    assert error_at(caught.value) == {("sequence",): "missing"}


# -- attachments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["https://files.example.com/a.png", "s3://bucket/key.pdf", "file:///tmp/x.txt"]
)
def test_attachment_create_accepts_absolute_urls(url: str) -> None:
    attachment = AttachmentCreate(url=url, file_type="application/pdf", size_bytes=10)

    assert attachment.url == url


@pytest.mark.parametrize("url", ["a.png", "https://files.example.com/a b.png", "://x"])
def test_attachment_create_rejects_relative_or_spaced_urls(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AttachmentCreate(url=url, file_type="image/png")

    assert error_at(caught.value) == {("url",): "attachment_url"}


def test_attachment_create_rejects_a_url_with_a_password() -> None:
    with pytest.raises(ValidationError, match="password"):
        AttachmentCreate(url="https://me:secret@files.example.com/a.png", file_type="image/png")


def test_attachment_create_rejects_a_negative_size() -> None:
    with pytest.raises(ValidationError):
        AttachmentCreate(url="https://x.example/a", file_type="image/png", size_bytes=-1)


def test_attachment_update_can_clear_the_size() -> None:
    assert AttachmentUpdate(size_bytes=None).changes() == {"size_bytes": None}


def test_attachment_update_rejects_null_for_the_url() -> None:
    with pytest.raises(ValidationError, match="url cannot be null"):
        AttachmentUpdate(url=None)


def test_attachment_update_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        AttachmentUpdate(message_id=uuid.uuid4())  # type: ignore[call-arg]


def test_attachment_read_is_built_from_orm_attributes() -> None:
    stored = row(
        id=uuid.uuid4(),
        message_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        url="https://x.example/a",
        file_type="image/png",
        size_bytes=None,
        metadata_={},
        created_at=NOW,
    )

    assert AttachmentRead.model_validate(stored).url == "https://x.example/a"


def test_attachment_read_rejects_a_missing_message_id() -> None:
    with pytest.raises(ValidationError):
        AttachmentRead.model_validate(row(id=uuid.uuid4(), url="https://x.example/a"))


def test_attachment_read_rejects_a_size_that_is_not_a_number() -> None:
    with pytest.raises(ValidationError):
        AttachmentRead.model_validate({"size_bytes": "big"})
