"""Point reads and owners' pages run prepared (``_prepared.py``): same answers as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import NotFoundError, ValidationError
from project_architect_db.queries.sorting import parse_order
from project_architect_db.repositories._native_read import NativeSelects
from project_architect_db.repositories._pages import page_statement, page_window
from tests.integration.repositories.conftest import open_with_schema

pytestmark = pytest.mark.asyncio

QUOTED = ["notes/it's.md", "notes/''.md", "a/x'); DROP TABLE documents; --.md", "é/🚀 'q'.md"]


async def _messages(db: Database, count: int) -> Any:
    project = await db.projects.create({"name": "Chat"})
    conversation = await db.conversations.create({"project_id": project.id, "title": "T"})
    for number in range(count):
        role = "user" if number % 2 else "assistant"
        await db.conversations.add_message(
            conversation.id, {"role": role, "content": f"message {number} it's"}
        )
    return conversation


async def test_paths_with_quotes_are_found_and_an_injection_finds_nothing(db: Database) -> None:
    project = await db.projects.create({"name": "Docs"})
    made = {
        path: await db.documents.create({"project_id": project.id, "path": path, "content": path})
        for path in QUOTED
    }
    for _ in range(2):  # the first read prepares, the second executes the prepared statement
        for path, document in made.items():
            assert await db.documents.get_by_path(project.id, path) == document
    with pytest.raises(NotFoundError):
        await db.documents.get_by_path(project.id, "x' OR '1'='1.md")
    with pytest.raises(ValidationError):
        await db.documents.get_by_path(project.id, "bad\x00path.md")
    assert await db.documents.count() == len(QUOTED)


async def test_slug_lookups_with_quotes_find_nothing_and_change_nothing(db: Database) -> None:
    project = await db.projects.create({"name": "Atlas", "slug": "atlas"})
    for _ in range(2):
        assert await db.projects.get_by_slug("atlas") == project
        with pytest.raises(NotFoundError):
            await db.projects.get_by_slug("atlas' OR '1'='1")
        with pytest.raises(NotFoundError):
            await db.projects.get_by_slug("x'); DELETE FROM projects; --")
    with pytest.raises(NotFoundError):  # a NUL keeps the bound parameter
        await db.projects.get_by_slug("at\x00las")
    assert await db.projects.count() == 1


async def test_message_pages_equal_the_transactions_pages_every_way(db: Database) -> None:
    conversation = await _messages(db, 23)
    for order in ("asc", "desc"):
        outside = await db.conversations.messages(conversation.id, limit=5, order=order)
        async with db.transaction() as tx:
            inside = await tx.conversations.messages(conversation.id, limit=5, order=order)
        assert outside == inside
        pages = [outside]
        while pages[-1].next_cursor is not None:
            pages.append(
                await db.conversations.messages(
                    conversation.id, limit=5, order=order, cursor=pages[-1].next_cursor
                )
            )
        sequences = [m.sequence for page in pages for m in page.items]
        expected = list(range(1, 24))
        assert sequences == (expected if order == "asc" else expected[::-1])
    after = await db.conversations.messages(conversation.id, limit=50, after_sequence=20)
    assert [m.sequence for m in after.items] == [21, 22, 23]
    assert (await db.conversations.messages(conversation.id, limit=0)).items == []


async def test_only_an_owners_page_is_prepared(db: Database) -> None:
    table = db.conversations._table
    selects = NativeSelects(db.engine.dialect, db._executor.statements)
    keys = parse_order(db.conversations.model, "-created_at")
    project = await db.projects.create({"name": "P"})
    owner = page_statement(table, [table.c.project_id == project.id], keys, limit=3)
    window = page_window(table, [table.c.status == "active"], keys, limit=3)
    assert window is not None
    owned, windowed = selects.prepare(owner), selects.prepare(window)
    assert owned is not None and windowed is not None
    assert owned[0].prepared is not None
    assert windowed[0].prepared is None


async def test_reads_after_a_column_is_added_still_answer(db: Database) -> None:
    conversation = await _messages(db, 3)
    project = await db.projects.get(conversation.project_id)
    first = await db.conversations.messages(conversation.id)
    await db._executor.run_native_read(
        lambda duck: duck.execute("ALTER TABLE messages ADD COLUMN extra INTEGER").fetchall()
    )
    assert await db.conversations.messages(conversation.id) == first
    assert await db.projects.get(project.id) == project


async def test_two_databases_in_one_process_read_their_own_rows(
    tmp_path: Path, extension_directory: Path
) -> None:
    first = await open_with_schema(tmp_path / "one.duckdb", extension_directory)
    second = await open_with_schema(tmp_path / "two.duckdb", extension_directory)
    try:
        one = await first.projects.create({"name": "One", "slug": "same"})
        two = await second.projects.create({"name": "Two", "slug": "same"})
        for _ in range(2):
            assert await first.projects.get_by_slug("same") == one
            assert await second.projects.get_by_slug("same") == two
            assert await first.projects.get(one.id) == one
            with pytest.raises(NotFoundError):
                await second.projects.get(one.id)
    finally:
        await first.close()
        await second.close()
