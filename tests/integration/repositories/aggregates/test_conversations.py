"""ConversationRepository verbs: messages, attachments, paging and archiving."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from project_architect_db import (
    ConflictError,
    Database,
    IntegrityError,
    InvalidQueryError,
    NotFoundError,
    ValidationError,
)
from project_architect_db.models.enums import ConversationStatus, MessageRole
from project_architect_db.repositories import Change
from project_architect_db.schemas import (
    AttachmentCreate,
    ConversationRead,
    MessageCreate,
    ProjectRead,
)

PNG = {"url": "https://files.example.com/diagram.png", "file_type": "image/png"}


async def _sequences(db: Database, conversation_id: uuid.UUID) -> list[int]:
    page = await db.conversations.messages(conversation_id, limit=1000)
    return [message.sequence for message in page.items]


# -- add_message -------------------------------------------------------------------------------
async def test_add_message_numbers_messages_and_keeps_the_counters(
    db: Database, conversation: ConversationRead
) -> None:
    subscription = db.changes(aggregates=["messages", "attachments", "conversations"])
    first = await db.conversations.add_message(
        conversation.id, MessageCreate(role="user", content="Which database?")
    )
    second = await db.conversations.add_message(
        conversation.id,
        {"role": "assistant", "content": "DuckDB.", "type": "text", "attachments": [PNG]},
    )
    assert (first.sequence, second.sequence) == (1, 2)
    assert first.project_id == conversation.project_id
    assert second.role is MessageRole.ASSISTANT
    stored = await db.conversations.get(conversation.id)
    assert stored.message_count == 2
    assert stored.last_message_at == second.created_at
    (attachment,) = await db.conversations.attachments(message_id=second.id)
    assert (attachment.conversation_id, attachment.project_id) == (
        conversation.id,
        conversation.project_id,
    )
    changes = [await anext(subscription) for _ in range(5)]
    subscription.close()
    seen = {(c.aggregate, c.kind) for c in changes if isinstance(c, Change)}
    assert seen == {
        ("messages", "created"),
        ("conversations", "updated"),
        ("attachments", "created"),
    }
    message_changes = [c for c in changes if isinstance(c, Change) and c.aggregate == "messages"]
    assert [c.id for c in message_changes] == [first.id, second.id]
    assert {c.project_id for c in message_changes} == {conversation.project_id}


async def test_add_message_to_a_missing_conversation_raises_integrity_error(
    db: Database, conversation: ConversationRead
) -> None:
    missing = uuid.uuid4()
    with pytest.raises(IntegrityError, match=str(missing)):
        await db.conversations.add_message(missing, {"role": "user", "content": "hello?"})
    with pytest.raises(ValidationError, match="UUID"):
        await db.conversations.add_message("nope", {"role": "user", "content": "hello?"})
    assert await db.conversations._messages.count() == 0


async def test_an_invalid_message_writes_nothing_and_leaves_no_gap(
    db: Database, conversation: ConversationRead
) -> None:
    await db.conversations.add_message(conversation.id, {"role": "user", "content": "one"})
    with pytest.raises(ValidationError, match="role"):
        await db.conversations.add_message(conversation.id, {"role": "robot", "content": "x"})
    with pytest.raises(ValidationError, match="attachments"):
        await db.conversations.add_message(
            conversation.id,
            {
                "role": "user",
                "content": "x",
                "attachments": [{"url": "not a url", "file_type": "a"}],
            },
        )
    with pytest.raises(ValidationError, match="MessageCreate or a dict"):
        await db.conversations.add_message(conversation.id, "text")  # type: ignore[arg-type]
    await db.conversations.add_message(conversation.id, {"role": "user", "content": "two"})
    assert await _sequences(db, conversation.id) == [1, 2]
    assert (await db.conversations.get(conversation.id)).message_count == 2


async def test_a_rolled_back_add_message_leaves_no_gap(
    db: Database, conversation: ConversationRead
) -> None:
    await db.conversations.add_message(conversation.id, {"role": "user", "content": "one"})
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            message = await tx.conversations.add_message(
                conversation.id, {"role": "user", "content": "lost", "attachments": [PNG]}
            )
            assert message.sequence == 2
            raise RuntimeError("changed my mind")
    kept = await db.conversations.add_message(conversation.id, {"role": "user", "content": "two"})
    assert kept.sequence == 2
    assert await _sequences(db, conversation.id) == [1, 2]
    assert (await db.conversations.get(conversation.id)).message_count == 2
    assert await db.conversations.attachments(conversation_id=conversation.id) == []


async def test_add_message_joins_the_callers_unit_of_work(
    db: Database, project: ProjectRead
) -> None:
    async with db.transaction() as tx:
        conversation = await tx.conversations.create({"project_id": project.id})
        for text in ("a", "b", "c"):
            await db.conversations.add_message(conversation.id, {"role": "user", "content": text})
        assert (await tx.conversations.get(conversation.id)).message_count == 3
    assert await _sequences(db, conversation.id) == [1, 2, 3]


async def test_add_message_from_a_stale_snapshot_is_a_conflict_and_leaves_no_gap(
    file_db: Database,
) -> None:
    project = await file_db.projects.create({"name": "Stale"})
    conversation = await file_db.conversations.create({"project_id": project.id})
    with pytest.raises(ConflictError):
        async with file_db.transaction() as tx:
            await tx.conversations.get(conversation.id)  # the snapshot is taken here
            await asyncio.create_task(
                file_db.conversations.add_message(conversation.id, {"role": "user", "content": "1"})
            )
            await tx.conversations.add_message(conversation.id, {"role": "user", "content": "2"})
    again = await file_db.conversations.add_message(
        conversation.id, {"role": "user", "content": "2"}
    )
    assert again.sequence == 2
    assert await _sequences(file_db, conversation.id) == [1, 2]


# -- add_messages ------------------------------------------------------------------------------
async def test_add_messages_appends_contiguous_sequences_through_arrow(
    db: Database, conversation: ConversationRead
) -> None:
    await db.conversations.add_message(conversation.id, {"role": "system", "content": "setup"})
    start = datetime(2024, 5, 1, 12, tzinfo=UTC)
    records = [
        MessageCreate(
            role="user" if i % 2 else "assistant",
            content=f"message {i}",
            token_count=i,
            metadata={"i": i},
            created_at=start + timedelta(minutes=i),
            attachments=[AttachmentCreate(**PNG)] if i == 3 else [],
        )
        for i in range(500)
    ]
    ids = await db.conversations.add_messages(conversation.id, records)
    assert len(ids) == 500
    page = await db.conversations.messages(conversation.id, limit=1000)
    assert [m.sequence for m in page.items] == list(range(1, 502))
    assert [m.id for m in page.items[1:]] == ids
    assert page.items[4].metadata_ == {"i": 3}
    assert page.items[4].created_at == start + timedelta(minutes=3)
    (attachment,) = await db.conversations.attachments(conversation_id=conversation.id)
    assert attachment.message_id == ids[3]
    stored = await db.conversations.get(conversation.id)
    assert stored.message_count == 501
    assert stored.last_message_at is not None
    assert stored.last_message_at > start  # the earlier live message is newer than the import


async def test_add_messages_is_all_or_nothing(db: Database, conversation: ConversationRead) -> None:
    good = {"role": "user", "content": "fine"}
    with pytest.raises(ValidationError, match="content"):
        await db.conversations.add_messages(conversation.id, [good, {"role": "user"}])
    with pytest.raises(ValidationError, match="list of messages"):
        await db.conversations.add_messages(conversation.id, good)  # type: ignore[arg-type]
    assert await db.conversations.add_messages(conversation.id, []) == []
    assert (await db.conversations.get(conversation.id)).message_count == 0
    assert await _sequences(db, conversation.id) == []


async def test_add_messages_to_a_missing_conversation_raises_integrity_error(
    db: Database,
) -> None:
    with pytest.raises(IntegrityError, match="No conversation"):
        await db.conversations.add_messages(uuid.uuid4(), [{"role": "user", "content": "x"}])


# -- messages (paging) -------------------------------------------------------------------------
async def test_messages_pages_by_sequence_both_ways(
    db: Database, conversation: ConversationRead
) -> None:
    await db.conversations.add_messages(
        conversation.id, [{"role": "user", "content": str(i)} for i in range(1, 26)]
    )
    seen: list[int] = []
    cursor = None
    while True:
        page = await db.conversations.messages(conversation.id, limit=10, cursor=cursor)
        seen.extend(m.sequence for m in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(range(1, 26))
    newest = await db.conversations.messages(conversation.id, limit=3, order="desc")
    assert [m.sequence for m in newest.items] == [25, 24, 23]
    older = await db.conversations.messages(
        conversation.id, limit=3, order="desc", cursor=newest.next_cursor
    )
    assert [m.sequence for m in older.items] == [22, 21, 20]
    tail = await db.conversations.messages(conversation.id, after_sequence=22)
    assert [m.sequence for m in tail.items] == [23, 24, 25]
    assert tail.next_cursor is None


async def test_messages_of_a_missing_conversation_raises_not_found(
    db: Database, conversation: ConversationRead
) -> None:
    with pytest.raises(NotFoundError):
        await db.conversations.messages(uuid.uuid4())
    empty = await db.conversations.messages(conversation.id)
    assert empty.items == []


async def test_messages_rejects_bad_paging_arguments(
    db: Database, conversation: ConversationRead
) -> None:
    await db.conversations.add_messages(
        conversation.id, [{"role": "user", "content": str(i)} for i in range(5)]
    )
    with pytest.raises(InvalidQueryError, match="order"):
        await db.conversations.messages(conversation.id, order="sideways")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match="after_sequence"):
        await db.conversations.messages(conversation.id, after_sequence=-1)
    with pytest.raises(InvalidQueryError, match="limit"):
        await db.conversations.messages(conversation.id, limit=5000)
    ascending = await db.conversations.messages(conversation.id, limit=2)
    with pytest.raises(InvalidQueryError, match="cursor"):
        await db.conversations.messages(conversation.id, order="desc", cursor=ascending.next_cursor)


# -- get_message and attachments ---------------------------------------------------------------
async def test_get_message_returns_the_stored_message(
    db: Database, conversation: ConversationRead
) -> None:
    added = await db.conversations.add_message(conversation.id, {"role": "user", "content": "x"})
    assert await db.conversations.get_message(added.id) == added
    with pytest.raises(NotFoundError, match="message"):
        await db.conversations.get_message(uuid.uuid4())
    with pytest.raises(ValidationError):
        await db.conversations.get_message("42")


async def test_attachments_by_message_and_by_conversation(
    db: Database, conversation: ConversationRead
) -> None:
    first = await db.conversations.add_message(
        conversation.id, {"role": "user", "content": "a", "attachments": [PNG, PNG]}
    )
    second = await db.conversations.add_message(
        conversation.id,
        {"role": "user", "content": "b", "attachments": [{**PNG, "size_bytes": 10}]},
    )
    assert len(await db.conversations.attachments(message_id=first.id)) == 2
    (only,) = await db.conversations.attachments(message_id=second.id)
    assert only.size_bytes == 10
    everything = await db.conversations.attachments(conversation_id=conversation.id)
    assert [a.message_id for a in everything] == [first.id, first.id, second.id]


async def test_attachments_needs_exactly_one_existing_owner(
    db: Database, conversation: ConversationRead
) -> None:
    with pytest.raises(InvalidQueryError, match="exactly one"):
        await db.conversations.attachments()
    with pytest.raises(InvalidQueryError, match="exactly one"):
        await db.conversations.attachments(message_id=uuid.uuid4(), conversation_id=uuid.uuid4())
    with pytest.raises(NotFoundError, match="message"):
        await db.conversations.attachments(message_id=uuid.uuid4())
    with pytest.raises(NotFoundError, match="conversation"):
        await db.conversations.attachments(conversation_id=uuid.uuid4())
    assert await db.conversations.attachments(conversation_id=conversation.id) == []


# -- archive and update ------------------------------------------------------------------------
async def test_archive_sets_the_status_and_publishes(
    db: Database, conversation: ConversationRead
) -> None:
    subscription = db.changes(aggregates="conversations")
    archived = await db.conversations.archive(conversation.id)
    assert archived.status is ConversationStatus.ARCHIVED
    change = await anext(subscription)
    assert isinstance(change, Change)
    assert (change.id, change.kind) == (conversation.id, "updated")
    subscription.close()
    assert await db.conversations.archive(conversation.id) == archived
    reopened = await db.conversations.update(conversation.id, {"status": "active"})
    assert reopened.status is ConversationStatus.ACTIVE


async def test_archive_of_a_missing_conversation_raises_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError):
        await db.conversations.archive(uuid.uuid4())
    with pytest.raises(ValidationError):
        await db.conversations.archive("x")


async def test_updates_wait_for_concurrent_appends_instead_of_conflicting(
    file_db: Database,
) -> None:
    project = await file_db.projects.create({"name": "Busy"})
    conversation = await file_db.conversations.create({"project_id": project.id})

    async def append(i: int) -> None:
        await file_db.conversations.add_message(
            conversation.id, {"role": "user", "content": str(i)}
        )

    async def retitle(i: int) -> None:
        await file_db.conversations.update(conversation.id, {"title": f"title {i}"})

    await asyncio.gather(*(append(i) for i in range(10)), *(retitle(i) for i in range(10)))
    stored = await file_db.conversations.get(conversation.id)
    assert stored.message_count == 10
    assert stored.title is not None
    assert stored.title.startswith("title")
    with pytest.raises(ValidationError):
        await file_db.conversations.update(conversation.id, {"message_count": 0})
    with pytest.raises(NotFoundError):
        await file_db.conversations.update(uuid.uuid4(), {"title": "x"})
