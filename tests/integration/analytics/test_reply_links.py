"""The reply links the appends store (``messages.asked_at``, ``conversations.awaiting_reply_since``)
stay equal to their definition over the messages, whatever path wrote them.

``reply_latency`` reads ``asked_at`` instead of pairing every message with the next one (a window
function over all messages). Here every write path runs (one append outside a transaction, on the
loop's native path; appends grouped into one commit by concurrency; ``add_messages`` batches;
appends inside a unit of work; refused, invalid and rolled-back appends), then the stored links are
recounted from the messages with the window function, and the answer is compared with the SQL it
replaced (``tests/_analytics_before.py``).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.exceptions import IntegrityError, ValidationError
from project_architect_db.schemas import ConversationCreate, MessageCreate, ProjectCreate
from tests._analytics_before import BEFORE

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

#: the definition: the previous message of the thread is a user's and this one an assistant's
RECOUNT_ASKED = """
SELECT m.id, m.asked_at, CASE WHEN m.role = 'assistant' AND p.previous_role = 'user'
    THEN p.previous_at END AS expected
FROM messages m JOIN (
    SELECT id, lag(role) OVER thread AS previous_role, lag(created_at) OVER thread AS previous_at
    FROM messages WINDOW thread AS (PARTITION BY conversation_id ORDER BY sequence)
) p ON p.id = m.id
"""
RECOUNT_AWAITING = """
SELECT c.id, c.awaiting_reply_since, CASE WHEN last.role = 'user' THEN last.created_at END
FROM conversations c LEFT JOIN (
    SELECT conversation_id, arg_max(role, sequence) AS role,
        arg_max(created_at, sequence) AS created_at
    FROM messages GROUP BY conversation_id
) last ON last.conversation_id = c.id
"""


async def _native(db: Database, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        return await run_native(conn, lambda duck: duck.execute(sql, params).fetchall())


async def assert_links_match_the_messages(db: Database) -> int:
    """Every stored link equals its recount; returns how many replies there are."""
    asked = await _native(db, RECOUNT_ASKED)
    wrong = [row for row in asked if row[1] != row[2]]
    assert not wrong, f"asked_at differs from the window definition: {wrong[:3]}"
    awaiting = await _native(db, RECOUNT_AWAITING)
    wrong = [row for row in awaiting if row[1] != row[2]]
    assert not wrong, f"awaiting_reply_since differs from the last message: {wrong[:3]}"
    for bucket in ("hour", "week"):
        old_sql, old_params = BEFORE["reply_latency"]
        old = await _native(db, old_sql.replace("'week'", f"'{bucket}'"), old_params)
        new = await db.analytics.reply_latency(bucket).rows()
        assert len(old) == len(new)
        for (period, replies, median), row in zip(old, new, strict=True):
            assert (period.replace(tzinfo=UTC), replies) == (row["period"], row["replies"])
            assert math.isclose(median, row["median_reply_seconds"], rel_tol=1e-12)
    return sum(row[2] is not None for row in asked)


def _m(role: str, minutes: float | None = None, content: str = "x") -> MessageCreate:
    at = None if minutes is None else T0 + timedelta(minutes=minutes)
    return MessageCreate(role=role, content=content, created_at=at)


async def _threads(db: Database, n: int) -> list[uuid.UUID]:
    project = await db.projects.create(ProjectCreate(name="Replies", slug=f"r-{uuid.uuid4().hex}"))
    return [
        (await db.conversations.create(ConversationCreate(project_id=project.id))).id
        for _ in range(n)
    ]


async def test_every_append_path_keeps_the_reply_links(database: Database) -> None:
    a, b, c, d = await _threads(database, 4)
    add, add_many = database.conversations.add_message, database.conversations.add_messages
    # one at a time (native path): a question, its reply, a question left waiting
    first = await add(a, _m("user", 0))
    reply = await add(a, _m("assistant", 2))
    assert first.asked_at is None and reply.asked_at == first.created_at
    await add(a, _m("user", 5))
    # a batch: the batch's first reply answers the question stored before it
    await add_many(a, [_m("assistant", 9), _m("assistant", 10), _m("user", 11)])
    # a system or tool message between a question and an answer breaks the pair
    await add_many(b, [_m("user", 0), _m("tool", 1), _m("assistant", 2), _m("system", 3)])
    await add(b, _m("assistant", 4))
    # imported history out of time order, and ties: the pair follows the sequence, not time
    await add_many(c, [_m("user", 30), _m("assistant", 20), _m("user", 20), _m("assistant", 20)])
    # without a given time (the append's clock)
    await add(d, _m("user"))
    await add(d, _m("assistant"))
    stored = await database.conversations.get(a)
    assert stored.awaiting_reply_since == T0 + timedelta(minutes=11)
    assert await assert_links_match_the_messages(database) == 5


async def test_appends_merged_into_group_commits_keep_the_reply_links(
    file_database: Database,
) -> None:
    db = file_database
    writes = db._context.writes
    assert writes is not None
    committer = writes.committer
    threads = await _threads(db, 30)
    units, groups = committer.units, committer.groups
    roles = ("user", "assistant", "assistant", "tool", "user", "assistant", "user")

    async def writer(index: int, thread: uuid.UUID) -> None:
        for turn, role in enumerate(roles[index % 3 :]):
            await db.conversations.add_message(thread, _m(role, turn * 3 + index % 2))

    # 30 tasks at once: appends queued while a group commits are merged (run_together)
    await asyncio.gather(*(writer(i, thread) for i, thread in enumerate(threads)))
    assert committer.groups - groups < committer.units - units  # some groups merged
    assert await assert_links_match_the_messages(db) > 30


async def test_a_rolled_back_or_invalid_append_leaves_the_links_as_they_were(
    database: Database,
) -> None:
    (thread,) = await _threads(database, 1)
    await database.conversations.add_message(thread, _m("user", 0))
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with database.transaction() as tx:
            await tx.conversations.add_message(thread, _m("assistant", 1))
            await tx.conversations.add_message(thread, _m("assistant", 2))
            raise RuntimeError("changed my mind")
    with pytest.raises(ValidationError):  # one invalid record: none of them is written
        await database.conversations.add_messages(
            thread, [_m("assistant", 3), {"role": "robot", "content": "no"}]
        )
    with pytest.raises(IntegrityError, match="create the conversation first"):
        await database.conversations.add_messages(uuid.uuid4(), [_m("assistant", 3)])
    assert (await database.conversations.get(thread)).awaiting_reply_since == T0
    # the question still waits: the next reply answers it
    async with database.transaction() as tx:
        late = await tx.conversations.add_message(thread, _m("assistant", 4))
    assert late.asked_at == T0
    assert await assert_links_match_the_messages(database) == 1


async def test_deleting_threads_and_projects_removes_their_links(database: Database) -> None:
    a, b = await _threads(database, 2)
    for thread in (a, b):
        await database.conversations.add_messages(thread, [_m("user", 0), _m("assistant", 1)])
    await database.conversations.delete(a)
    assert await assert_links_match_the_messages(database) == 1
    project = (await database.conversations.get(b)).project_id
    await database.projects.delete(project)
    assert await assert_links_match_the_messages(database) == 0


async def test_the_recount_sees_a_wrong_link(database: Database) -> None:
    # the check can fail: a link the appends did not write is reported
    (thread,) = await _threads(database, 1)
    await database.conversations.add_messages(thread, [_m("user", 0), _m("assistant", 1)])
    async with database.engine.connect() as conn:
        await run_native(
            conn, lambda duck: duck.execute("UPDATE messages SET asked_at = NULL").fetchall()
        )
    with pytest.raises(AssertionError, match="asked_at differs"):
        await assert_links_match_the_messages(database)
