"""``add_message`` outside a transaction: one worker hop, and merged with concurrent appends.

The locking is the one ``_conversations_messages.py`` explains (exclusive lock on the
conversation's writes key, shared locks on the conversation and its project), taken before
the unit's only hop. Locking the project needs its id before the hop: conversations never
move to another project (``ConversationUpdate`` has no ``project_id``), so
``NativeWrites.parents`` remembers it for each conversation created or read through the
repository, and a miss costs one lookup hop. The hop checks it anyway: the conversation row
read at its start gives its ``project_id``, and a row that is gone or does not match fails the
append with ``IntegrityError``.

The unit (:class:`Append`) is ``BEGIN; SELECT project_id, message_count,
awaiting_reply_since ...; UPDATE conversations ...; INSERT INTO messages ...; INSERT INTO
attachments ...; COMMIT``. The row is read *before* its ``UPDATE`` (under the writes-key lock
nothing else changes it in between): the new message's sequence is the count read plus one,
and the question the thread was waiting on (``awaiting_reply_since``, which the ``UPDATE``
replaces) becomes the message's ``asked_at`` when it is an assistant's reply (the reply links
``reply_latency`` reads; docs/architecture.md, "Summaries kept by the writes"). The
``UPDATE`` has no ``RETURNING``: DuckDB 1.5 turns ``UPDATE ... RETURNING`` on an indexed table
into a delete + insert, whose parallel scan can meet the moved row again and update it twice
(docs/architecture.md, "DuckDB: UPDATE ... RETURNING can update a row twice"); updated in
place there is no index maintenance. Appends from concurrent tasks that the
group committer (``core/group_commit.py``) puts in one group merge their statements: the
conversations read with one ``SELECT ... WHERE id IN (...)``, one ``UPDATE conversations ...
FROM (VALUES ...)`` and one Arrow ``INSERT`` of all their messages (and one of their
attachments). Two appends to one conversation never meet in a group (the writes-key lock
serialises them), so each conversation appears once in the ``VALUES``; a conversation missing
from the read fails only its own append.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import duckdb
import pyarrow as pa
from pydantic_core import to_json

from project_architect_db.core.group_commit import Outcome
from project_architect_db.core.native_write import NativeWrites
from project_architect_db.exceptions import IntegrityError
from project_architect_db.models.enums import MessageRole
from project_architect_db.repositories._arrow import new_ids
from project_architect_db.repositories._conversations_messages import (
    _arrow_table,
    writes_key,
)
from project_architect_db.repositories.changes import ChangeKind
from project_architect_db.schemas import MessageCreate, MessageRead

if TYPE_CHECKING:
    from project_architect_db.repositories.conversations import ConversationRepository

__all__ = ["Append", "append_natively", "remember_project"]

_COALESCE_KEY = "conversations.add_message"
_views = itertools.count(1)

# No RETURNING on the UPDATEs (see the module text): the row is updated in place, read back.
_BUMP_ONE = (
    "UPDATE conversations SET message_count = message_count + 1, "
    "last_message_at = greatest(coalesce(last_message_at, $last), $last), updated_at = $now, "
    "awaiting_reply_since = $awaiting WHERE id = $id"
)
_BUMPED_ONE = (
    "SELECT project_id, message_count, awaiting_reply_since FROM conversations WHERE id = ?"
)
_PROJECT_OF = "SELECT project_id FROM conversations WHERE id = ?"
_MESSAGE_COLUMNS = (
    "id",
    "conversation_id",
    "project_id",
    "sequence",
    "role",
    "content",
    "type",
    "token_count",
    "metadata",
    "created_at",
    "asked_at",
)
_INSERT_ONE = (
    f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _MESSAGE_COLUMNS)})"
)
_ATTACHMENT_COLUMNS = (
    "id",
    "message_id",
    "conversation_id",
    "project_id",
    "url",
    "file_type",
    "size_bytes",
    "metadata",
    "created_at",
)
_INSERT_ATTACHMENT = (
    f"INSERT INTO attachments ({', '.join(_ATTACHMENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _ATTACHMENT_COLUMNS)})"
)


def _missing(conversation_id: uuid.UUID) -> IntegrityError:
    return IntegrityError(
        f"No conversation with id {conversation_id}: create the conversation first "
        "(messages.conversation_id -> conversations.id)."
    )


def _naive(stamp: datetime) -> datetime:
    return stamp.astimezone(UTC).replace(tzinfo=None)


class _Row(NamedTuple):
    """A written row as the change feed needs it."""

    id: uuid.UUID
    project_id: uuid.UUID


class Append:
    """One ``add_message`` unit: its values are fixed before it runs, so it can run again."""

    coalesce_key = _COALESCE_KEY

    __slots__ = (
        "attachment_ids",
        "conversation_id",
        "message_id",
        "now",
        "project_id",
        "record",
        "stamp",
        "store",
    )

    def __init__(
        self,
        store: ConversationRepository,
        conversation_id: uuid.UUID,
        project_id: uuid.UUID,
        record: MessageCreate,
    ) -> None:
        self.store = store
        self.conversation_id = conversation_id
        self.project_id = project_id
        self.record = record
        self.now = datetime.now(UTC)
        self.stamp = record.created_at or self.now
        ids = new_ids(1 + len(record.attachments))
        self.message_id = ids[0]
        self.attachment_ids = ids[1:]

    # -- alone -------------------------------------------------------------------------------
    def __call__(self, duck: duckdb.DuckDBPyConnection) -> MessageRead:
        """The ``UPDATE``, its read-back and the inserts of this append alone."""
        # read before the UPDATE, which replaces the question waiting for a reply
        found = duck.execute(_BUMPED_ONE, [self.conversation_id]).fetchone()
        if found is None or found[0] != self.project_id:
            raise _missing(self.conversation_id)
        duck.execute(
            _BUMP_ONE,
            {
                "id": self.conversation_id,
                "last": _naive(self.stamp),
                "now": _naive(self.now),
                "awaiting": self._awaiting(),
            },
        )
        record = self.record
        sequence: int = found[1] + 1
        asked_at = self._asked_at(found[2])
        duck.execute(
            _INSERT_ONE,
            [
                self.message_id,
                self.conversation_id,
                self.project_id,
                sequence,
                record.role.value,
                record.content,
                record.type.value,
                record.token_count,
                to_json(record.metadata_).decode(),
                _naive(self.stamp),
                asked_at,
            ],
        )
        if record.attachments:
            duck.executemany(_INSERT_ATTACHMENT, self._attachment_rows())
        return self._read(sequence, asked_at)

    def _awaiting(self) -> datetime | None:
        """The conversation's ``awaiting_reply_since`` once this message is its last."""
        return _naive(self.stamp) if self.record.role is MessageRole.USER else None

    def _asked_at(self, awaiting: datetime | None) -> datetime | None:
        """This message's ``asked_at``, given the conversation's question before it."""
        return awaiting if self.record.role is MessageRole.ASSISTANT else None

    def _attachment_rows(self) -> list[list[Any]]:
        return [
            [
                attachment_id,
                self.message_id,
                self.conversation_id,
                self.project_id,
                attachment.url,
                attachment.file_type,
                attachment.size_bytes,
                to_json(attachment.metadata_).decode(),
                _naive(self.now),
            ]
            for attachment_id, attachment in zip(
                self.attachment_ids, self.record.attachments, strict=True
            )
        ]

    def _read(self, sequence: int, asked_at: datetime | None) -> MessageRead:
        record = self.record
        return MessageRead(
            id=self.message_id,
            conversation_id=self.conversation_id,
            project_id=self.project_id,
            sequence=sequence,
            role=record.role,
            content=record.content,
            type=record.type,
            token_count=record.token_count,
            metadata_=record.metadata_,
            created_at=self.stamp.astimezone(UTC),
            asked_at=None if asked_at is None else asked_at.replace(tzinfo=UTC),
        )

    # -- merged ------------------------------------------------------------------------------
    def run_together(
        self, duck: duckdb.DuckDBPyConnection, works: Sequence[Any]
    ) -> list[Outcome] | None:
        """One ``UPDATE ... FROM (VALUES ...)``, its read-back and one Arrow insert per table."""
        appends: list[Append] = list(works)
        if len({append.conversation_id for append in appends}) < len(appends):
            return None  # never under the writes-key lock; kept correct without it
        ids = [append.conversation_id for append in appends]
        # read before the UPDATE, which replaces the questions waiting for a reply
        returned = duck.execute(
            "SELECT id, project_id, message_count, awaiting_reply_since FROM conversations "
            f"WHERE id IN ({', '.join('?' for _ in ids)})",
            ids,
        ).fetchall()
        found = {row[0]: (row[1], row[2], row[3]) for row in returned}
        outcomes: list[Outcome] = []
        written: list[tuple[Append, int, datetime | None]] = []
        for append in appends:
            row = found.get(append.conversation_id)
            if row is None:
                outcomes.append((False, _missing(append.conversation_id)))
                continue
            if row[0] != append.project_id:  # wrong: let each append run alone
                raise _missing(append.conversation_id)
            asked_at = append._asked_at(row[2])
            written.append((append, row[1] + 1, asked_at))
            outcomes.append((True, append._read(row[1] + 1, asked_at)))
        if not written:
            return outcomes
        values = ", ".join("(?::UUID, ?::TIMESTAMP, ?::TIMESTAMP, ?::TIMESTAMP)" for _ in written)
        parameters: list[Any] = []
        for append, _, _ in written:
            parameters += [
                append.conversation_id,
                _naive(append.stamp),
                _naive(append.now),
                append._awaiting(),
            ]
        duck.execute(
            "UPDATE conversations SET message_count = conversations.message_count + 1, "
            "last_message_at = greatest(coalesce(conversations.last_message_at, v.last), "
            "v.last), updated_at = v.now, awaiting_reply_since = v.awaiting "
            f"FROM (VALUES {values}) AS v(id, last, now, awaiting) "
            "WHERE conversations.id = v.id",
            parameters,
        )
        _insert(duck, "messages", _messages_table(self.store, written))
        attachments = _attachments_table(self.store, [a for a, _, _ in written])
        if attachments is not None:
            _insert(duck, "attachments", attachments)
        return outcomes


def _insert(duck: duckdb.DuckDBPyConnection, target: str, table: pa.Table) -> None:
    name = f"padb_append_{next(_views)}"
    duck.register(name, table)
    try:
        duck.execute(f'INSERT INTO "{target}" BY NAME SELECT * FROM "{name}"')
    finally:
        duck.unregister(name)


def _messages_table(
    store: ConversationRepository, written: list[tuple[Append, int, datetime | None]]
) -> pa.Table:
    records = [append.record for append, _, _ in written]
    columns: dict[str, Sequence[Any]] = {
        "id": [append.message_id for append, _, _ in written],
        "conversation_id": [append.conversation_id for append, _, _ in written],
        "project_id": [append.project_id for append, _, _ in written],
        "sequence": [sequence for _, sequence, _ in written],
        "created_at": [append.stamp for append, _, _ in written],
        "asked_at": [
            None if asked_at is None else asked_at.replace(tzinfo=UTC) for _, _, asked_at in written
        ],
    }
    for key in ("role", "content", "type", "token_count", "metadata_"):
        columns[key] = [getattr(record, key) for record in records]
    return _arrow_table(store._messages, columns)


def _attachments_table(store: ConversationRepository, appends: list[Append]) -> pa.Table | None:
    rows = [
        (append, attachment_id, attachment)
        for append in appends
        for attachment_id, attachment in zip(
            append.attachment_ids, append.record.attachments, strict=True
        )
    ]
    if not rows:
        return None
    columns: dict[str, Sequence[Any]] = {
        "id": [attachment_id for _, attachment_id, _ in rows],
        "message_id": [append.message_id for append, _, _ in rows],
        "conversation_id": [append.conversation_id for append, _, _ in rows],
        "project_id": [append.project_id for append, _, _ in rows],
        "created_at": [append.now for append, _, _ in rows],
    }
    for key in ("url", "file_type", "size_bytes", "metadata_"):
        columns[key] = [getattr(attachment, key) for _, _, attachment in rows]
    return _arrow_table(store._attachments, columns)


def remember_project(writes: NativeWrites | None, conversation_id: Any, project_id: Any) -> None:
    """Note a conversation's (immutable) project for later appends' locks."""
    if writes is not None:  # a context without native writes has no appends to speed up
        writes.parents.remember(conversation_id, project_id)


async def append_natively(
    store: ConversationRepository,
    writes: NativeWrites,
    conversation_id: uuid.UUID,
    record: MessageCreate,
) -> MessageRead:
    """``add_message`` as one native unit (see the module text).

    Raises:
        IntegrityError: The conversation (or its project) does not exist, or was deleted
            concurrently.
    """
    project_id = writes.parents.get(conversation_id)
    if project_id is None:
        found = await writes.read(
            # fetchall: an unfinished result keeps its auto-commit transaction open on the
            # kept reader connection, and close()'s CHECKPOINT then fails
            lambda duck: duck.execute(_PROJECT_OF, [conversation_id]).fetchall()
        )
        if not found:
            raise _missing(conversation_id)
        project_id = found[0][0]
        writes.parents.remember(conversation_id, project_id)
    append = Append(store, conversation_id, project_id, record)
    locks = store._context.locks
    async with writes.unit() as unit:
        await locks.exclusive(unit, writes_key(conversation_id))
        await locks.shared(unit, conversation_id)
        locks.check_not_deleted(unit, conversation_id, "conversation")
        await locks.shared(unit, project_id)
        locks.check_not_deleted(unit, project_id, "project")
        # registered before the hop: the committer publishes them right after the COMMIT
        store._messages._emit(unit, ChangeKind.CREATED, [_Row(append.message_id, project_id)])
        if record.attachments:
            created = [_Row(row_id, project_id) for row_id in append.attachment_ids]
            store._attachments._emit(unit, ChangeKind.CREATED, created)
        store._emit(unit, ChangeKind.UPDATED, [_Row(conversation_id, project_id)])
        return await unit.commit_with(append)
