"""``project_health`` counts messages from their conversations' counters: every way the library
writes or removes messages keeps them equal to the messages table (the answer it replaced)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.exceptions import IntegrityError, InvalidQueryError, ValidationError
from project_architect_db.queries.analytics.answers import AnalyticsAnswers
from project_architect_db.schemas import (
    ConversationCreate,
    MessageCreate,
    ProjectCreate,
)
from tests._analytics_before import BEFORE

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


async def _both(db: Database) -> tuple[list[Any], list[Any]]:
    old_sql, old_params = BEFORE["project_health"]
    new_sql, new_params = db.analytics.project_health(limit=None).compiled()
    async with db.engine.connect() as conn:
        old = await run_native(conn, lambda duck: duck.execute(old_sql, old_params).fetchall())
        new = await run_native(conn, lambda duck: duck.execute(new_sql, new_params).fetchall())
    return old, new


async def _fill(db: Database) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    # a tied name, a project without chats
    for slug, name in (("a1", "Atlas"), ("b", "Borealis"), ("a2", "Atlas"), ("e", "Empty")):
        project = await db.projects.create(ProjectCreate(name=name, slug=slug))
        ids.setdefault(name, []).append(project.id)
    atlas, other = ids["Atlas"]
    silent = await db.conversations.create(ConversationCreate(project_id=atlas))
    chat = await db.conversations.create(ConversationCreate(project_id=atlas))
    late = await db.conversations.create(ConversationCreate(project_id=ids["Borealis"][0]))
    ids["silent"], ids["chat"], ids["late"] = silent.id, chat.id, late.id
    await db.conversations.create(ConversationCreate(project_id=other))  # no messages
    await db.conversations.add_message(chat.id, MessageCreate(role="user", content="a"))
    await db.conversations.add_messages(
        chat.id,
        [
            MessageCreate(role="assistant", content="b", created_at=T0),
            MessageCreate(role="user", content="c", created_at=T0 + timedelta(hours=1)),
        ],
    )
    # history imported out of order: the counter keeps the latest instant, like max()
    await db.conversations.add_message(
        late.id, MessageCreate(role="user", content="new", created_at=T0 + timedelta(days=3))
    )
    await db.conversations.add_message(
        late.id, MessageCreate(role="user", content="old", created_at=T0 - timedelta(days=30))
    )
    return ids


async def test_the_library_writes_keep_the_counters_project_health_reads(
    database: Database,
) -> None:
    await _fill(database)
    # concurrent appends (grouped into one commit) count once each
    chat = (await database.conversations.list(limit=10)).items
    await asyncio.gather(
        *(
            database.conversations.add_message(c.id, MessageCreate(role="user", content=str(i)))
            for i, c in enumerate(chat * 3)
        )
    )
    old, new = await _both(database)
    assert len(new) == 4
    assert new == old
    assert sum(row[5] for row in new) == 5 + 3 * len(chat)


async def test_deleting_a_conversation_removes_its_messages_from_the_counts(
    database: Database,
) -> None:
    ids = await _fill(database)
    await database.conversations.delete(ids["chat"])
    old, new = await _both(database)
    assert new == old
    atlas = [row for row in new if row[0] == ids["Atlas"][0]]
    assert atlas[0][4:7] == (1, 0, None)  # the silent conversation is left


async def test_deleting_a_project_removes_its_row_and_its_counts(database: Database) -> None:
    ids = await _fill(database)
    await database.projects.delete(ids["Borealis"][0])
    old, new = await _both(database)
    assert new == old
    assert ids["Borealis"][0] not in {row[0] for row in new}


async def test_a_refused_append_leaves_the_counts_as_they_were(database: Database) -> None:
    ids = await _fill(database)
    _, before = await _both(database)
    with pytest.raises(IntegrityError, match="create the conversation first"):
        await database.conversations.add_message(
            uuid.uuid4(), MessageCreate(role="user", content="nowhere")
        )
    with pytest.raises(ValidationError):  # one invalid record: none of them is written
        await database.conversations.add_messages(
            ids["chat"],
            [MessageCreate(role="user", content="fine"), {"role": "robot", "content": "no"}],
        )
    old, new = await _both(database)
    assert new == old == before


async def test_a_rolled_back_unit_of_work_leaves_the_counts_as_they_were(
    database: Database,
) -> None:
    ids = await _fill(database)
    _, before = await _both(database)
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with database.transaction() as tx:
            await tx.conversations.add_message(ids["chat"], MessageCreate(role="user", content="x"))
            raise RuntimeError("changed my mind")
    old, new = await _both(database)
    assert new == old == before


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: a.most_active_projects(0), "n must be"),
        (lambda a: a.most_active_projects(True), "n must be"),
        (lambda a: a.most_active_projects(days=0), "days must be"),
        (lambda a: a.flakiest_repositories(10_001), "n must be"),
        (lambda a: a.flakiest_repositories(0), "n must be"),
    ],
)
def test_the_rewritten_answers_still_refuse_bad_arguments(call: Any, message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        call(AnalyticsAnswers(None)).sql()
