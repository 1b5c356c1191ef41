"""The conversation repository: chat threads with their messages and attachments.

Messages are numbered 1, 2, 3 ... per conversation with no gap and no duplicate, also under
concurrent appends and rollbacks; the conversation keeps ``message_count`` and
``last_message_at`` in step. How, and why that design, is explained in
``_conversations_messages.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any, Literal

from sqlalchemy import exists, select

from project_architect_db.exceptions import InvalidQueryError, NotFoundError, ValidationError
from project_architect_db.models import Conversation
from project_architect_db.models.enums import ConversationStatus
from project_architect_db.queries.filters import Eq
from project_architect_db.repositories._conversations_append import (
    append_natively,
    remember_project,
)
from project_architect_db.repositories._conversations_messages import (
    AttachmentStore,
    MessageStore,
    append_messages,
    lock_conversation,
)
from project_architect_db.repositories._reads import _as_id
from project_architect_db.repositories.base import MAX_PAGE_SIZE, AsyncRepository
from project_architect_db.repositories.changes import ChangeKind
from project_architect_db.schemas import (
    AttachmentRead,
    ConversationCreate,
    ConversationRead,
    ConversationUpdate,
    MessageCreate,
    MessageRead,
    Page,
)

__all__ = ["ConversationRepository"]

#: Most attachments ``attachments()`` returns at once.
MAX_ATTACHMENTS = 10_000


class ConversationRepository(
    AsyncRepository[Conversation, ConversationCreate, ConversationUpdate, ConversationRead]
):
    """Conversations of a project (chat threads), their messages and attachments.

    Examples:
        >>> # conv = await db.conversations.create({"project_id": project.id})
        >>> # await db.conversations.add_message(conv.id, {"role": "user", "content": "Hi"})
        >>> # page = await db.conversations.messages(conv.id, limit=20, order="desc")
    """

    model = Conversation
    create_schema = ConversationCreate
    update_schema = ConversationUpdate
    read_schema = ConversationRead

    @cached_property
    def _messages(self) -> MessageStore:
        return MessageStore(self._context)

    @cached_property
    def _attachments(self) -> AttachmentStore:
        return AttachmentStore(self._context)

    def _read(self, row: Any) -> ConversationRead:
        record = super()._read(row)
        # a conversation never changes project: later appends lock it without a lookup
        remember_project(self._context.writes, record.id, record.project_id)
        return record

    def _records_read(self, records: list[ConversationRead]) -> None:
        writes = self._context.writes
        for record in records:  # as _read does for each
            remember_project(writes, record.id, record.project_id)

    # -- messages ----------------------------------------------------------------------------
    async def add_message(
        self, conversation_id: uuid.UUID | str, message: MessageCreate | Mapping[str, Any]
    ) -> MessageRead:
        """Append a message (and its attachments) with the conversation's next sequence number.

        Also increments the conversation's ``message_count`` and moves ``last_message_at``
        forward, in the same transaction. Outside ``db.transaction()`` the whole append is one
        worker hop, committed together with appends from concurrent tasks (group commit).

        Args:
            conversation_id: The conversation.
            message: The message; ``attachments`` given with it are inserted with it.

        Raises:
            ValidationError: The message (or an attachment) is invalid; nothing is written.
            IntegrityError: The conversation does not exist.
            ConflictError: The caller's transaction read the conversation before another append
                committed (retry the unit of work).
        """
        row_id = _as_id(conversation_id)
        record = self._coerce(message, MessageCreate)
        writes = self._context.native_writes()
        if writes is not None:  # outside a transaction: one hop, grouped with concurrent ones
            return await append_natively(self, writes, row_id, record)
        async with self._context.transaction() as tx:
            conversation, rows = await append_messages(
                tx,
                self._context.locks,
                self._messages,
                self._attachments,
                row_id,
                [record],
                bulk=False,
            )
            self._emit(tx, ChangeKind.UPDATED, [conversation])
        return self._messages._read(rows[0])

    async def add_messages(
        self,
        conversation_id: uuid.UUID | str,
        records: Iterable[MessageCreate | Mapping[str, Any]],
    ) -> list[uuid.UUID]:
        """Append many messages in one Arrow scan; return their ids in order.

        The messages get contiguous sequence numbers in the order given, ending at the
        conversation's new ``message_count``. All or nothing: one invalid record writes none.

        Raises:
            ValidationError: A record is invalid, or ``records`` is not a list of records.
            IntegrityError: The conversation does not exist.
        """
        row_id = _as_id(conversation_id)
        if isinstance(records, Mapping | str | bytes) or not isinstance(records, Iterable):
            raise ValidationError("add_messages takes a list of messages.")
        batch = [self._coerce(item, MessageCreate) for item in records]
        if not batch:
            return []
        async with self._context.transaction() as tx:
            conversation, rows = await append_messages(
                tx,
                self._context.locks,
                self._messages,
                self._attachments,
                row_id,
                batch,
                bulk=True,
            )
            self._emit(tx, ChangeKind.UPDATED, [conversation])
        return [row.id for row in rows]

    async def messages(
        self,
        conversation_id: uuid.UUID | str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        after_sequence: int | None = None,
        order: Literal["asc", "desc"] = "asc",
    ) -> Page[MessageRead]:
        """One page of the conversation's messages, by sequence (keyset pagination).

        Args:
            conversation_id: The conversation.
            limit: Page size, 0-1000.
            cursor: ``next_cursor`` of the previous page (same ``order``).
            after_sequence: Only messages with a greater sequence (e.g. the last one a client
                has), whatever the order.
            order: ``"asc"`` (oldest first) or ``"desc"`` (newest first).

        Raises:
            NotFoundError: The conversation does not exist.
            InvalidQueryError: Bad ``limit``, ``order``, ``after_sequence`` or cursor.
        """
        row_id = _as_id(conversation_id)
        if order not in ("asc", "desc"):
            raise InvalidQueryError(f"order must be 'asc' or 'desc', not {order!r}.")
        conditions: dict[str, Any] = {"conversation_id": row_id}
        if after_sequence is not None:
            if (
                not isinstance(after_sequence, int)
                or isinstance(after_sequence, bool)
                or after_sequence < 0
            ):
                raise InvalidQueryError("after_sequence must be a non-negative integer.")
            conditions["sequence__gt"] = after_sequence
        # One read, no unit of work around it: a BEGIN and a COMMIT would be two more thread
        # hops on every page. An empty page then asks whether the conversation exists.
        page = await self._messages.list(
            order_by="sequence" if order == "asc" else "-sequence",
            limit=limit,
            cursor=cursor,
            **conditions,
        )
        if not page.items:
            await self._require(row_id)
        return page

    async def get_message(self, id: uuid.UUID | str) -> MessageRead:
        """The message with ``id``.

        Raises:
            NotFoundError: No such message.
            ValidationError: ``id`` is not a UUID.
        """
        return await self._messages.get(id)

    async def attachments(
        self,
        *,
        message_id: uuid.UUID | str | None = None,
        conversation_id: uuid.UUID | str | None = None,
    ) -> list[AttachmentRead]:
        """The attachments of one message, or of a whole conversation, oldest first.

        Pass exactly one of ``message_id`` and ``conversation_id``.

        Raises:
            InvalidQueryError: Neither or both ids given.
            NotFoundError: The message or conversation does not exist.
        """
        if (message_id is None) == (conversation_id is None):
            raise InvalidQueryError("Pass exactly one of message_id and conversation_id.")
        if message_id is not None:
            owner = _as_id(message_id)
            where: dict[str, Any] = {"message_id": owner}
        else:
            owner = _as_id(conversation_id)
            where = {"conversation_id": owner}
        items: list[AttachmentRead] = []
        cursor: str | None = None
        async with self._context.transaction():
            while len(items) < MAX_ATTACHMENTS:
                page = await self._attachments.list(
                    filters=[Eq(field, value) for field, value in where.items()],
                    order_by="created_at",
                    limit=MAX_PAGE_SIZE,
                    cursor=cursor,
                )
                items.extend(page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
            if not items:
                if message_id is not None:
                    await self._messages.get(owner)
                else:
                    await self.get(owner)
        return items

    # -- the conversation row ----------------------------------------------------------------
    async def update(
        self,
        id: uuid.UUID | str,
        data: ConversationUpdate | Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> ConversationRead:
        """Apply the fields given in ``data`` (waits for in-flight appends to this conversation).

        Raises:
            NotFoundError: No such conversation.
            ValidationError: Invalid data.
        """
        row_id = _as_id(id)
        changes = self._coerce(data, ConversationUpdate)
        async with self._context.transaction() as tx:
            await lock_conversation(tx, self._context.locks, row_id)
            return await super().update(row_id, changes, expected_version=expected_version)

    async def archive(self, id: uuid.UUID | str) -> ConversationRead:
        """Set the conversation's status to ``archived`` (a no-op if it already is).

        Messages can still be read; ``update(id, {"status": "active"})`` reopens it.

        Raises:
            NotFoundError: No such conversation.
        """
        row_id = _as_id(id)
        async with self._context.transaction() as tx:
            await lock_conversation(tx, self._context.locks, row_id)
            current = await self.get(row_id)
            if current.status is ConversationStatus.ARCHIVED:
                return current
            return await super().update(
                row_id, ConversationUpdate(status=ConversationStatus.ARCHIVED)
            )

    async def _require(self, row_id: uuid.UUID) -> None:
        table = self._table
        async with self._context.reading() as reader:
            statement = select(exists().where(table.c.id == row_id))
            found = (await reader.execute(statement)).scalar_one()
        if not found:
            raise NotFoundError(f"No conversation with id {row_id}.")
