"""Appending messages to a conversation: gap-free sequences, counters and attachments.

**How a sequence is assigned.** Each append, in its unit of work:

1. takes an in-process exclusive lock on the conversation's *writes* key
   (:func:`writes_key`), held until the transaction commits or rolls back, then a shared lock
   on its project (so a cascading delete of the project waits, instead of conflicting);
2. runs ``UPDATE conversations SET message_count = message_count + n, last_message_at = ...
   WHERE id = :id`` and reads the row back (its own write): the new count is the last
   sequence of the batch (no row: ``IntegrityError``). Not ``UPDATE ... RETURNING``, which
   DuckDB 1.5 runs as a delete + insert on an indexed table and can then apply twice to one
   row (docs/architecture.md, "DuckDB: UPDATE ... RETURNING can update a row twice");
3. inserts the messages with sequences ``count - n + 1 .. count`` and their attachments.

**Reply links.** The lock's read of the conversation also gives its ``awaiting_reply_since``
(the time of its last message if that is a user's). Each new assistant message right after a
user message gets that message's time as ``asked_at``, and the ``UPDATE`` sets
``awaiting_reply_since`` from the batch's last message, so ``reply_latency`` needs no window
over all messages (docs/architecture.md, "Summaries kept by the writes").

The lock makes concurrent appends wait for each other instead of failing, and because a fresh
transaction sends its first statement only after the lock is granted, its snapshot already
sees the previous append's commit: no retries, and it works inside a caller's unit of work,
which a retry loop could not re-run. A rollback undoes the counter with the messages, so it
never leaves a gap. Measured with 100 concurrent appends to one conversation (DuckDB 1.5.5,
2 cores): lock + ``UPDATE ... RETURNING`` 0.57-0.74 s, no retries; ``UPDATE ... RETURNING``
retried on write-write conflicts 2.0-2.4 s with ~450 retries; ``max(sequence) + 1`` retried on
duplicate keys 7.6-9.0 s with ~1,170 retries. Only one process can write a DuckDB file, so the
in-process lock covers every writer; the unique index ``(conversation_id, sequence)`` remains
the database's guard, and a caller whose transaction read the conversation before another
append committed gets DuckDB's write-write conflict as a retryable ``ConflictError``.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pyarrow as pa
from sqlalchemy import Table, func, insert, literal, select, update

from project_architect_db.core.locks import IntegrityLocks
from project_architect_db.core.native_write import Parents
from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import IntegrityError
from project_architect_db.models import Attachment, Conversation, Message
from project_architect_db.models.enums import MessageRole
from project_architect_db.repositories._arrow import new_ids, to_arrow_value_column
from project_architect_db.repositories._lake import insert_rows
from project_architect_db.repositories.base import AsyncRepository
from project_architect_db.repositories.changes import ChangeKind
from project_architect_db.schemas import (
    AttachmentCreate,
    AttachmentRead,
    AttachmentUpdate,
    MessageCreate,
    MessageRead,
    MessageUpdate,
)

__all__ = ["AttachmentStore", "MessageStore", "append_messages", "writes_key"]


class MessageStore(AsyncRepository[Message, MessageCreate, MessageUpdate, MessageRead]):
    """Generic reads and change events for ``messages`` (writes go through the conversation)."""

    model = Message
    create_schema = MessageCreate
    update_schema = MessageUpdate
    read_schema = MessageRead


class AttachmentStore(
    AsyncRepository[Attachment, AttachmentCreate, AttachmentUpdate, AttachmentRead]
):
    """Generic reads and change events for ``attachments``."""

    model = Attachment
    create_schema = AttachmentCreate
    update_schema = AttachmentUpdate
    read_schema = AttachmentRead


class _Created(NamedTuple):
    """What the change feed needs of a row written in bulk."""

    id: uuid.UUID
    project_id: uuid.UUID


def writes_key(conversation_id: uuid.UUID) -> tuple[str, uuid.UUID]:
    """The lock key serialising writes to one conversation row (appends, updates)."""
    return ("conversations.writes", conversation_id)


async def lock_conversation(
    tx: Transaction,
    locks: IntegrityLocks,
    conversation_id: uuid.UUID,
    parents: Parents | None = None,
    *,
    read: bool = True,
) -> datetime | None:
    """Serialise this transaction's writes to the conversation and fence its deletion.

    Its project is fenced too, *before* the conversation row is written: a cascading delete
    of the project deletes that row, so the two must not run at once (DuckDB would fail one
    of them with a write-write conflict). With ``parents`` (a lake's: a conversation never
    moves to another project) a project seen before is locked with the conversation's keys, in
    one catalog round trip and before the lake transaction's snapshot (a key taken after it
    costs a stamp check: ``core/lake/_unit.py``); the row read then confirms it.

    ``read=False`` (the caller needs no ``awaiting_reply_since``) skips the row read when the
    project is known: on a lake every statement reads the catalog, and the append's own read
    of the updated row confirms the conversation and its project.

    Returns:
        The conversation's ``awaiting_reply_since``, read under the lock (``None`` also when
        the conversation does not exist, or was not read).
    """
    known = None if parents is None else parents.get(conversation_id)
    keys: list[tuple[Hashable, bool]] = [(writes_key(conversation_id), True)]
    keys += [(key, False) for key in (conversation_id, known) if key is not None]
    await locks.many(tx, keys)
    locks.check_not_deleted(tx, conversation_id, "conversation")
    if known is not None and not read:
        return None
    conversations: Table = Conversation.__table__  # type: ignore[assignment]
    found = (
        await tx.execute(
            select(conversations.c.project_id, conversations.c.awaiting_reply_since).where(
                conversations.c.id == conversation_id
            )
        )
    ).one_or_none()
    if found is None:
        return None
    await locks.shared(tx, found.project_id)  # held already when it was known
    locks.check_not_deleted(tx, found.project_id, "project")
    if parents is not None:
        parents.remember(conversation_id, found.project_id)
    awaiting: datetime | None = found.awaiting_reply_since
    return awaiting


async def append_messages(
    tx: Transaction,
    locks: IntegrityLocks,
    messages: MessageStore,
    attachments: AttachmentStore,
    conversation_id: uuid.UUID,
    records: Sequence[MessageCreate],
    *,
    bulk: bool,
) -> tuple[Any, list[Any]]:
    """Append ``records`` to the conversation; return its updated row and the message rows.

    ``bulk=False`` inserts with ``INSERT ... RETURNING`` and returns the stored rows;
    ``bulk=True`` inserts through one Arrow scan and returns ``(id, project_id)`` tuples.

    Raises:
        IntegrityError: The conversation (or its project) does not exist.
    """
    lake = messages._context.lake
    parents = getattr(lake, "parents", None)
    # only a first message that answers reads the conversation's awaiting_reply_since
    replies = records[0].role is MessageRole.ASSISTANT
    awaiting = await lock_conversation(tx, locks, conversation_id, parents, read=replies)
    now = datetime.now(UTC)
    stamps = [record.created_at or now for record in records]
    asked: list[
        datetime | None
    ] = []  # each message's asked_at: the user message right before it, if it replies
    for record, stamp in zip(records, stamps, strict=True):
        asked.append(awaiting if record.role is MessageRole.ASSISTANT else None)
        awaiting = stamp if record.role is MessageRole.USER else None
    conversations: Table = Conversation.__table__  # type: ignore[assignment]
    last = literal(max(stamps), conversations.c.last_message_at.type)
    bump = (
        update(conversations)
        .where(conversations.c.id == conversation_id)
        .values(
            message_count=conversations.c.message_count + len(records),
            last_message_at=func.greatest(
                func.coalesce(conversations.c.last_message_at, last), last
            ),
            updated_at=now,
            awaiting_reply_since=awaiting,
        )
    )
    await tx.execute(bump)  # in place, not RETURNING (see the module text)
    conversation = (
        await tx.execute(select(conversations).where(conversations.c.id == conversation_id))
    ).one_or_none()
    if conversation is None:
        raise IntegrityError(
            f"No conversation with id {conversation_id}: create the conversation first "
            "(messages.conversation_id -> conversations.id)."
        )
    project_id: uuid.UUID = conversation.project_id
    await locks.shared(tx, project_id)
    locks.check_not_deleted(tx, project_id, "project")
    first = conversation.message_count - len(records) + 1
    ids = new_ids(len(records))
    common = {"conversation_id": conversation_id, "project_id": project_id}
    rows: list[Any]
    if not bulk:
        values = [
            {
                **_message_values(record),
                **common,
                "id": ids[index],
                "sequence": first + index,
                "created_at": stamps[index],
                "asked_at": asked[index],
            }
            for index, record in enumerate(records)
        ]
        table = messages._table
        rows = await insert_rows(tx, table, values)  # RETURNING, or read back on a lake
    else:
        await messages._insert_arrow(
            tx, _message_table(messages, records, ids, first, stamps, common, asked)
        )
        rows = [_Created(row_id, project_id) for row_id in ids]
    messages._emit(tx, ChangeKind.CREATED, rows)
    await _insert_attachments(tx, attachments, records, ids, common, now, bulk=bulk)
    return conversation, rows


def _message_values(record: MessageCreate) -> dict[str, Any]:
    return {
        "role": record.role,
        "content": record.content,
        "type": record.type,
        "token_count": record.token_count,
        "metadata_": record.metadata_,
    }


def _message_table(
    messages: MessageStore,
    records: Sequence[MessageCreate],
    ids: list[uuid.UUID],
    first: int,
    stamps: list[datetime],
    common: dict[str, uuid.UUID],
    asked: list[datetime | None],
) -> pa.Table:
    count = len(records)
    columns: dict[str, Sequence[Any]] = {
        "id": ids,
        "sequence": range(first, first + count),
        "created_at": stamps,
        "asked_at": asked,
        **{key: [value] * count for key, value in common.items()},
    }
    for key in ("role", "content", "type", "token_count", "metadata_"):
        columns[key] = [getattr(record, key) for record in records]
    return _arrow_table(messages, columns)


def _arrow_table(store: AsyncRepository[Any, Any, Any, Any], columns: dict[str, Any]) -> pa.Table:
    """One Arrow column per model attribute of ``store``, from ``columns[attribute]``."""
    attributes = store._attributes
    return pa.Table.from_arrays(
        [to_arrow_value_column(column, list(columns[key])) for key, column in attributes.items()],
        names=[column.name for column in attributes.values()],
    )


async def _insert_attachments(
    tx: Transaction,
    store: AttachmentStore,
    records: Sequence[MessageCreate],
    message_ids: list[uuid.UUID],
    common: dict[str, uuid.UUID],
    now: datetime,
    *,
    bulk: bool,
) -> None:
    pairs = [
        (message_id, attachment)
        for message_id, record in zip(message_ids, records, strict=True)
        for attachment in record.attachments
    ]
    if not pairs:
        return
    ids = new_ids(len(pairs))
    created = [_Created(row_id, common["project_id"]) for row_id in ids]
    if not bulk:
        values = [
            {
                "id": ids[index],
                "message_id": message_id,
                **common,
                "url": attachment.url,
                "file_type": attachment.file_type,
                "size_bytes": attachment.size_bytes,
                "metadata_": attachment.metadata_,
                "created_at": now,
            }
            for index, (message_id, attachment) in enumerate(pairs)
        ]
        await tx.execute(insert(store._table).values(values))
    else:
        attachments = [attachment for _, attachment in pairs]
        count = len(pairs)
        columns: dict[str, Sequence[Any]] = {
            "id": ids,
            "message_id": [message_id for message_id, _ in pairs],
            "created_at": [now] * count,
            **{key: [value] * count for key, value in common.items()},
        }
        for key in ("url", "file_type", "size_bytes", "metadata_"):
            columns[key] = [getattr(attachment, key) for attachment in attachments]
        table = _arrow_table(store, columns)
        await store._insert_arrow(tx, table)
    store._emit(tx, ChangeKind.CREATED, created)
