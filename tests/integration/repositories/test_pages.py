"""Pages written for DuckDB's indexes and zonemaps (``repositories/_pages.py``).

The plan checks run ``EXPLAIN ANALYZE`` on real DuckDB: they fail if the rewrite is lost (the
plain ``ORDER BY ... LIMIT`` over an owner's rows scans the table instead of its index).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Select, select

from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.exceptions import InvalidQueryError, NotFoundError, ValidationError
from project_architect_db.models import Document, Message, Project
from project_architect_db.queries.filters import parse_filters
from project_architect_db.queries.sorting import parse_order
from project_architect_db.repositories._pages import page_statement
from project_architect_db.schemas import MessageCreate


async def _plan(db: Database, statement: Select[Any]) -> str:
    sql = str(statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    async with db.engine.connect() as conn:
        rows = await run_native(
            conn, lambda duck: duck.execute("EXPLAIN ANALYZE " + sql).fetchall()
        )
    return str(rows[0][1])


async def _conversations(db: Database, messages: int = 12) -> list[uuid.UUID]:
    project = await db.projects.create({"name": "Atlas"})
    ids = []
    for phase in ("requirements", "design", "deployment"):
        conversation = await db.conversations.create({"project_id": project.id, "phase": phase})
        await db.conversations.add_messages(
            conversation.id,
            [MessageCreate(role="user", content=f"{phase} {i}") for i in range(messages)],
        )
        ids.append(conversation.id)
    return ids


async def test_an_owner_page_reads_the_owner_through_its_index(file_db: Database) -> None:
    conversation, *_ = await _conversations(file_db)
    keys = parse_order(Message, "sequence")
    where = parse_filters(Message, {"conversation_id": conversation})
    plain = select(Message.__table__).where(*where).order_by(*(k.order() for k in keys)).limit(6)
    library = page_statement(Message.__table__, where, keys, limit=6)
    assert "Index Scan" not in await _plan(file_db, plain)  # what the library used to send
    assert "Index Scan" in await _plan(file_db, library)
    page = await file_db.conversations.messages(conversation, limit=5)
    assert [m.sequence for m in page.items] == [1, 2, 3, 4, 5]
    assert {m.conversation_id for m in page.items} == {conversation}


async def test_a_page_without_an_owner_reads_its_sort_keys_before_its_rows(
    file_db: Database,
) -> None:
    await file_db.projects.bulk_create([{"name": f"P {i}"} for i in range(300)])
    keys = parse_order(Project, "-created_at")
    where = parse_filters(Project, {"status": "draft"})
    plan = await _plan(file_db, page_statement(Project.__table__, where, keys, limit=51))
    # the Top-N runs over rowids and sort keys; the rows are fetched by rowid afterwards
    assert "TOP_N" in plan
    assert "SEMI" in plan
    page = await file_db.projects.list(status="draft", order_by="-created_at", limit=50)
    everything = await file_db.projects.list(status="draft", limit=1000)
    newest = sorted(everything.items, key=lambda p: (p.created_at, p.id), reverse=True)[:50]
    assert [p.id for p in page.items] == [p.id for p in newest]


@pytest.mark.parametrize("order_by", ["created_at", "-created_at", ["-status", "created_at"]])
async def test_keyset_walks_rows_with_equal_sort_values_exactly_once(
    db: Database, order_by: Any
) -> None:
    # many rows share one created_at: the zonemap bound (<= / >=) must keep the ties
    await db.projects.bulk_create(
        [{"name": f"P {i}", "status": ("draft", "active")[i % 2]} for i in range(60)]
    )
    async with db.engine.begin() as conn:
        await run_native(
            conn,
            lambda duck: duck.execute(
                "UPDATE projects SET created_at = TIMESTAMP '2026-01-01' "
                "+ to_seconds((hash(id) % 7)::BIGINT)"
            ),
        )
    seen: list[uuid.UUID] = []
    cursor = None
    while True:
        page = await db.projects.list(order_by=order_by, limit=4, cursor=cursor)
        seen.extend(p.id for p in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    everything = await db.projects.list(order_by=order_by, limit=1000)
    assert seen == [p.id for p in everything.items]
    assert len(set(seen)) == 60


async def test_an_owner_keyset_walk_with_other_filters_matches_the_rows(db: Database) -> None:
    conversations = await _conversations(db, messages=25)
    target = conversations[1]
    seen: list[int] = []
    cursor = None
    while True:
        page = await db.conversations._messages.list(
            conversation_id=target, role="user", sequence__gte=4, order_by="-sequence",
            limit=6, cursor=cursor,
        )  # fmt: skip
        seen.extend(m.sequence for m in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(range(25, 3, -1))
    offset_page = await db.conversations._messages.list(
        conversation_id=target, order_by="sequence", limit=3, offset=20
    )
    assert [m.sequence for m in offset_page.items] == [21, 22, 23]


async def test_a_messages_page_in_a_transaction_sees_its_own_new_messages(db: Database) -> None:
    conversation, *_ = await _conversations(db, messages=3)
    async with db.transaction() as tx:
        await tx.conversations.add_message(conversation, MessageCreate(role="user", content="x"))
        page = await tx.conversations.messages(conversation, order="desc", limit=2)
        assert [m.sequence for m in page.items] == [4, 3]
        assert page.next_cursor is not None
        rest = await tx.conversations.messages(
            conversation, order="desc", limit=10, cursor=page.next_cursor
        )
        assert [m.sequence for m in rest.items] == [2, 1]
    assert (await db.conversations.messages(conversation, limit=10)).items[-1].content == "x"


async def test_a_messages_page_refuses_a_cursor_of_the_other_order(db: Database) -> None:
    conversation, *_ = await _conversations(db, messages=5)
    page = await db.conversations.messages(conversation, limit=2)
    with pytest.raises(InvalidQueryError, match="another listing"):
        await db.conversations.messages(conversation, order="desc", cursor=page.next_cursor)
    with pytest.raises(InvalidQueryError, match="not one this library returned"):
        await db.conversations.messages(conversation, cursor="not-a-cursor")


async def test_an_empty_messages_page_tells_a_missing_conversation_from_an_empty_one(
    db: Database,
) -> None:
    project = await db.projects.create({"name": "Atlas"})
    empty = await db.conversations.create({"project_id": project.id, "phase": "design"})
    assert (await db.conversations.messages(empty.id)).items == []
    with pytest.raises(NotFoundError, match="No conversation"):
        await db.conversations.messages(uuid.uuid4())
    with pytest.raises(ValidationError, match="not a valid id"):
        await db.conversations.messages("nope")


async def test_lookups_by_slug_and_path_see_the_callers_transaction(db: Database) -> None:
    async with db.transaction() as tx:
        project = await tx.projects.create({"name": "Atlas", "slug": "atlas"})
        document = await tx.documents.create(
            {"project_id": project.id, "path": "docs/a.md", "content": "a"}
        )
        assert (await tx.projects.get_by_slug("atlas")).id == project.id
        assert (await tx.documents.get_by_path(project.id, "docs/a.md")).id == document.id
    assert (await db.documents.get_by_path(project.id, "docs/a.md")).id == document.id
    with pytest.raises(NotFoundError, match="No document at"):
        await db.documents.get_by_path(project.id, "docs/b.md")
    with pytest.raises(NotFoundError, match="No project with slug"):
        await db.projects.get_by_slug("atlas-2")


async def test_a_path_lookup_finds_the_one_document_among_the_projects(file_db: Database) -> None:
    projects = [await file_db.projects.create({"name": f"P {i}"}) for i in range(3)]
    for project in projects:
        for name in ("a", "b", "c"):
            await file_db.documents.create(
                {"project_id": project.id, "path": f"{name}.md", "content": name}
            )
    found = await file_db.documents.get_by_path(projects[1].id, "b.md")
    assert (found.project_id, found.path) == (projects[1].id, "b.md")
    where = parse_filters(Document, {"project_id": projects[1].id, "path": "b.md"})
    statement = page_statement(Document.__table__, where, parse_order(Document, None), limit=1)
    assert "Index Scan" in await _plan(file_db, statement)
    with pytest.raises(ValidationError):
        await file_db.documents.get_by_path(projects[1].id, "../escape.md")
    with pytest.raises(ValidationError):
        await file_db.documents.get_by_path("not-a-uuid", "b.md")


async def test_builds_and_deployments_pages_read_once_and_see_the_callers_transaction(
    db: Database,
) -> None:
    project = await db.projects.create({"name": "Atlas"})
    repository = await db.code_repositories.upsert_from_url(project.id, "https://github.com/a/b")
    assert (await db.code_repositories.deployments(repository.id)).items == []
    async with db.transaction() as tx:
        build = await tx.code_repositories.record_build(
            repository.id, {"commit_sha": "abc1234", "branch": "main"}
        )
        await tx.code_repositories.record_deployment(
            repository.id, {"environment": "staging", "commit_sha": "abc1234"}
        )
        assert [b.id for b in (await tx.code_repositories.builds(repository.id)).items] == [
            build.id
        ]
        assert len((await tx.code_repositories.deployments(repository.id)).items) == 1
    with pytest.raises(NotFoundError, match="No repository"):
        await db.code_repositories.deployments(uuid.uuid4())
    with pytest.raises(InvalidQueryError):
        await db.code_repositories.deployments(repository.id, limit=-1)


async def test_a_slug_lookup_is_a_point_read_that_follows_renames(db: Database) -> None:
    project = await db.projects.create({"name": "Atlas", "slug": "atlas"})
    assert (await db.projects.get_by_slug("  atlas ")).id == project.id
    await db.projects.rename_slug(project.id, "atlas-v2")
    assert (await db.projects.get_by_slug("atlas-v2")).slug == "atlas-v2"
    with pytest.raises(NotFoundError, match="No project with slug 'atlas'"):
        await db.projects.get_by_slug("atlas")
    with pytest.raises(ValidationError, match="A slug is a string"):
        await db.projects.get_by_slug(7)  # type: ignore[arg-type]
