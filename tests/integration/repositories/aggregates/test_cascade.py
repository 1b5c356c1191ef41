"""Deleting a project removes every row below it, in all nine tables, in one transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from project_architect_db import Database, NotFoundError
from project_architect_db.models import Base

TABLES = (
    "projects",
    "conversations",
    "messages",
    "attachments",
    "documents",
    "document_versions",
    "repositories",
    "builds",
    "deployments",
)


async def _counts(db: Database, project_id: uuid.UUID | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with db.session() as session:
        for name in TABLES:
            table = Base.metadata.tables[name]
            column = table.c.id if name == "projects" else table.c.project_id
            statement = select(func.count()).select_from(table)
            if project_id is not None:
                statement = statement.where(column == project_id)
            counts[name] = int((await session.execute(statement)).scalar_one())
    return counts


async def _populate(db: Database, name: str) -> uuid.UUID:
    project = await db.projects.create({"name": name})
    for title in ("one", "two"):
        conversation = await db.conversations.create({"project_id": project.id, "title": title})
        await db.conversations.add_message(
            conversation.id,
            {
                "role": "user",
                "content": "see attached",
                "attachments": [{"url": "https://files.example.com/a.png", "file_type": "png"}],
            },
        )
        await db.conversations.add_messages(
            conversation.id, [{"role": "assistant", "content": f"reply {i}"} for i in range(3)]
        )
    document = await db.documents.create({"project_id": project.id, "path": "docs/spec.md"})
    await db.documents.update(document.id, {"content": "v2"})
    await db.documents.update(document.id, {"content": "v3"})
    repo = await db.code_repositories.upsert_from_url(project.id, f"https://github.com/acme/{name}")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    build = await db.code_repositories.record_build(
        repo.id, {"commit_sha": "abc1234", "branch": "main", "started_at": start}
    )
    await db.code_repositories.finish_build(build.id, "success", start + timedelta(minutes=3))
    await db.code_repositories.record_deployment(
        repo.id, {"environment": "production", "commit_sha": "abc1234", "build_id": build.id}
    )
    return project.id


async def test_deleting_a_project_removes_every_row_it_owns_and_nothing_else(
    db: Database,
) -> None:
    doomed = await _populate(db, "doomed")
    kept = await _populate(db, "kept")
    expected = {
        "projects": 1,
        "conversations": 2,
        "messages": 8,
        "attachments": 2,
        "documents": 1,
        "document_versions": 2,
        "repositories": 1,
        "builds": 1,
        "deployments": 1,
    }
    assert await _counts(db, doomed) == expected
    assert await _counts(db) == {name: 2 * count for name, count in expected.items()}

    await db.projects.delete(doomed)

    assert await _counts(db, doomed) == dict.fromkeys(TABLES, 0)
    assert await _counts(db, kept) == expected
    assert await _counts(db) == expected


async def test_a_rolled_back_project_delete_removes_nothing(db: Database) -> None:
    project_id = await _populate(db, "survivor")
    before = await _counts(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.projects.delete(project_id)
            assert (await _counts(db)) == before  # other sessions do not see it yet
            raise RuntimeError("abort")
    assert await _counts(db) == before


async def test_deleting_a_missing_project_raises_not_found(db: Database) -> None:
    await _populate(db, "bystander")
    before = await _counts(db)
    with pytest.raises(NotFoundError):
        await db.projects.delete(uuid.uuid4())
    assert await _counts(db) == before
