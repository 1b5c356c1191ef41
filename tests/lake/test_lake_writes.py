"""Writes on a lake without a read-back: what a write returns is what a read gives back.

A lake refuses ``RETURNING``; the repositories make a written row from its values
(``repositories/_lake_rows.py``) and fold a create's look for a taken key into its ``INSERT``.
These tests compare every kind of written row with the same row read back, and check the
refusals the folded look must still give.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Table

from project_architect_db import Database
from project_architect_db.core.lake._open import COMMIT_RETRIES
from project_architect_db.exceptions import AlreadyExistsError, IntegrityError
from project_architect_db.models.base import Base
from project_architect_db.repositories._lake_writes import create_on_lake

from .conftest import Lake


async def test_a_created_row_is_the_row_a_read_gives_back(lake_database: Database) -> None:
    db = lake_database
    later = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    project = await db.projects.create(
        {
            "name": "Round trip",
            "slug": "round-trip",
            "tags": ["a", "b"],
            "metadata": {"nested": {"n": 1}, "list": [1, 2]},
            "status": "active",
        }
    )
    assert project == await db.projects.get(project.id)
    conversation = await db.conversations.create(
        {"project_id": project.id, "title": "Chat", "metadata": {"k": "v"}}
    )
    assert conversation == await db.conversations.get(conversation.id)
    document = await db.documents.create(
        {"project_id": project.id, "path": "docs/a.md", "content": "body"}
    )
    assert document == await db.documents.get(document.id)
    repository = await db.code_repositories.create(
        {"project_id": project.id, "url": "https://github.com/o/round"}
    )
    assert repository == await db.code_repositories.get(repository.id)
    asked = await db.conversations.add_message(
        conversation.id, {"role": "user", "content": "when?", "created_at": later}
    )
    answer = await db.conversations.add_message(
        conversation.id, {"role": "assistant", "content": "now", "metadata": {"t": 1}}
    )
    stored = (await db.conversations.messages(conversation.id)).items
    assert [asked, answer] == stored
    assert asked.created_at == later and asked.created_at.tzinfo == UTC  # as a read gives it
    assert answer.asked_at == later


def test_no_model_has_a_server_side_default() -> None:
    """A row made from its values is complete only while every default is made in Python."""
    for table in Base.metadata.sorted_tables:
        assert isinstance(table, Table)
        assert [c.name for c in table.columns if c.server_default is not None] == []


async def test_a_refused_create_says_which_key_and_writes_nothing(
    lake_database: Database,
) -> None:
    db = lake_database
    project = await db.projects.create({"name": "A", "slug": "a"})
    with pytest.raises(AlreadyExistsError, match=r"slug='a'"):
        await db.projects.create({"name": "B", "slug": "a"})
    async with db.transaction() as tx:  # a key taken earlier in the same unit
        await tx.projects.create({"name": "C", "slug": "c"})
        with pytest.raises(AlreadyExistsError, match=r"slug='c'"):
            await tx.projects.create({"name": "D", "slug": "c"})
    await db.documents.create({"project_id": project.id, "path": "x.md"})
    with pytest.raises(AlreadyExistsError, match=r"path='x.md'"):
        await db.documents.create({"project_id": project.id, "path": "x.md"})
    with pytest.raises(IntegrityError, match="No project"):
        await db.documents.create({"project_id": uuid.uuid4(), "path": "y.md"})
    assert await db.projects.count() == 2
    assert await db.documents.count() == 1


async def test_an_id_given_by_the_caller_is_claimed_like_a_key(lake_database: Database) -> None:
    db = lake_database
    project = await db.projects.create({"name": "A", "slug": "a"})
    repository = db.projects
    async with db.transaction() as tx:
        with pytest.raises(AlreadyExistsError, match=r"id=UUID\('" + str(project.id)):
            values = {"name": "B", "slug": "b", "id": project.id}
            await create_on_lake(repository, tx, values)
        made = await create_on_lake(repository, tx, {"name": "E", "slug": "e", "id": uuid.uuid4()})
    assert (await db.projects.get(made.id)).slug == "e"
    assert await db.projects.count() == 2


async def test_a_lake_connection_retries_a_lost_commit_race_soon(lake_database: Database) -> None:
    async with lake_database.transaction() as tx:
        values = await tx.run_native(
            lambda duck: duck.execute(
                "SELECT current_setting('ducklake_retry_wait_ms'), "
                "current_setting('ducklake_max_retry_count')"
            ).fetchone()
        )
    assert [str(v) for v in values] == ["5", "20"]
    assert "SET ducklake_retry_wait_ms = 5" in COMMIT_RETRIES


async def test_an_append_after_another_process_deleted_the_project_is_refused(
    lake: Lake, extension_directory: Path
) -> None:
    async with (
        lake.open(extension_directory=extension_directory) as mine,
        lake.open(extension_directory=extension_directory) as theirs,
    ):
        project = await mine.projects.create({"name": "A", "slug": "a"})
        chat = await mine.conversations.create({"project_id": project.id})
        await mine.conversations.add_message(chat.id, {"role": "user", "content": "one"})
        # the project is now remembered and locked with the conversation's keys
        await theirs.projects.delete(project.id)
        with pytest.raises(IntegrityError, match="No conversation"):
            await mine.conversations.add_message(chat.id, {"role": "user", "content": "two"})
        assert await mine.conversations.count() == 0
        assert await theirs.conversations.count() == 0


async def test_appends_that_skip_the_conversation_read_keep_asked_at_right(
    lake_database: Database,
) -> None:
    db = lake_database
    project = await db.projects.create({"name": "Asked", "slug": "asked"})
    chat = await db.conversations.create({"project_id": project.id})
    first = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    second = datetime(2026, 5, 1, 12, 5, tzinfo=UTC)
    await db.conversations.add_message(
        chat.id, {"role": "user", "content": "a", "created_at": first}
    )
    # the conversation's project is known now: a user message does not read the row first
    await db.conversations.add_message(
        chat.id, {"role": "user", "content": "b", "created_at": second}
    )
    answer = await db.conversations.add_message(chat.id, {"role": "assistant", "content": "c"})
    assert answer.asked_at == second
    await db.conversations.add_messages(
        chat.id, [{"role": "assistant", "content": "d"}, {"role": "user", "content": "e"}]
    )
    replies = [m for m in (await db.conversations.messages(chat.id)).items if m.content == "d"]
    assert replies[0].asked_at is None  # "c" answered already: nothing was awaiting a reply
    stored = await db.conversations.get(chat.id)
    assert stored.message_count == 5 and stored.awaiting_reply_since is not None


async def test_an_append_to_a_deleted_known_conversation_is_refused_and_writes_nothing(
    lake_database: Database,
) -> None:
    db = lake_database
    project = await db.projects.create({"name": "Gone", "slug": "gone"})
    chat = await db.conversations.create({"project_id": project.id})
    await db.conversations.add_message(chat.id, {"role": "user", "content": "one"})
    await db.conversations.delete(chat.id)
    with pytest.raises(IntegrityError, match="No conversation"):
        await db.conversations.add_message(chat.id, {"role": "user", "content": "two"})
    with pytest.raises(IntegrityError, match="No conversation"):
        await db.conversations.add_messages(chat.id, [{"role": "user", "content": "three"}])
    async with db.engine.connect() as connection:
        left = await connection.exec_driver_sql(
            "SELECT count(*) FROM messages WHERE conversation_id = ?", (chat.id,)
        )
        assert left.scalar_one() == 0
