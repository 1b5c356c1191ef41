"""The four aggregates: CRUD, integrity and cascades, optimistic locking, versions, bulk writes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from project_architect_db import (
    AlreadyExistsError,
    ConflictError,
    Database,
    IntegrityError,
    NotFoundError,
    ValidationError,
)
from project_architect_db.schemas import (
    ConversationCreate,
    DocumentCreate,
    MessageCreate,
    ProjectCreate,
    RepositoryCreate,
)
from project_architect_db.selfcheck._support import on_database


def test_project_crud_and_unique_slugs(tmp_path: Path) -> None:
    async def body(db: Database) -> None:
        created = await db.projects.create(ProjectCreate(name="Atlas", slug="atlas"))
        assert (await db.projects.get(created.id)).slug == "atlas"
        with pytest.raises(AlreadyExistsError):
            await db.projects.create(ProjectCreate(name="Atlas again", slug="atlas"))
        with pytest.raises(ValidationError):
            await db.projects.create({"name": "Bad", "slug": "Not A Slug!"})
        updated = await db.projects.update(created.id, {"description": "v2"})
        assert updated.version == created.version + 1
        await db.projects.delete(created.id)
        with pytest.raises(NotFoundError):
            await db.projects.get(created.id)

    on_database(tmp_path / "crud.duckdb", body)


def test_a_stale_expected_version_raises_conflict_error() -> None:
    async def body(db: Database) -> str | None:
        project = await db.projects.create(ProjectCreate(name="Lock", slug="lock"))
        await db.projects.update(
            project.id, {"description": "first"}, expected_version=project.version
        )
        with pytest.raises(ConflictError):
            await db.projects.update(
                project.id, {"description": "second"}, expected_version=project.version
            )
        return (await db.projects.get(project.id)).description

    assert on_database(":memory:", body) == "first"


def test_deleting_a_project_removes_every_child_and_children_need_a_parent(tmp_path: Path) -> None:
    async def body(db: Database) -> dict[str, int]:
        project = await db.projects.create(ProjectCreate(name="Gone", slug="gone"))
        conversation = await db.conversations.create(ConversationCreate(project_id=project.id))
        await db.conversations.add_message(
            conversation.id, MessageCreate(role="user", content="hello")
        )
        await db.documents.create(
            DocumentCreate(project_id=project.id, path="README.md", content="# Gone")
        )
        repository = await db.code_repositories.create(
            RepositoryCreate(project_id=project.id, url="https://github.com/acme/gone")
        )
        await db.code_repositories.record_build(
            repository.id, {"commit_sha": "a" * 40, "branch": "main", "status": "success"}
        )
        await db.projects.delete(project.id)
        with pytest.raises(IntegrityError):
            await db.conversations.create(ConversationCreate(project_id=project.id))
        return {
            "conversations": await db.conversations.count(),
            "documents": await db.documents.count(),
            "repositories": await db.code_repositories.count(),
        }

    assert on_database(tmp_path / "cascade.duckdb", body) == {
        "conversations": 0,
        "documents": 0,
        "repositories": 0,
    }


def test_concurrent_messages_get_gap_free_sequences() -> None:
    async def body(db: Database) -> list[int]:
        project = await db.projects.create(ProjectCreate(name="Chat", slug="chat"))
        conversation = await db.conversations.create(ConversationCreate(project_id=project.id))

        async def say(i: int) -> None:
            for _attempt in range(50):
                try:
                    await db.conversations.add_message(
                        conversation.id, MessageCreate(role="user", content=f"message {i}")
                    )
                    return
                except ConflictError:
                    await asyncio.sleep(0.001)
            raise AssertionError("add_message kept conflicting")

        await asyncio.gather(*(say(i) for i in range(10)))
        page = await db.conversations.messages(conversation.id, limit=100)
        return sorted(message.sequence for message in page.items)

    assert on_database(":memory:", body) == list(range(1, 11))


def test_document_changes_keep_every_previous_version() -> None:
    async def body(db: Database) -> list[str]:
        project = await db.projects.create(ProjectCreate(name="Docs", slug="docs"))
        document = await db.documents.create(
            DocumentCreate(project_id=project.id, path="spec.md", content="one")
        )
        await db.documents.update(document.id, {"content": "two"})
        await db.documents.update(document.id, {"content": "three"})
        with pytest.raises(NotFoundError):
            await db.documents.get_version(document.id, 99)
        history = await db.documents.history(document.id)
        return [version.content for version in history]

    assert sorted(on_database(":memory:", body)) == ["one", "two"]


def test_bulk_create_and_stream_agree(tmp_path: Path) -> None:
    async def body(db: Database) -> tuple[int, int]:
        records = [ProjectCreate(name=f"Bulk {i}", slug=f"bulk-{i}") for i in range(2000)]
        ids = await db.projects.bulk_create(records)
        with pytest.raises(AlreadyExistsError):
            await db.projects.bulk_create(records[:1])
        streamed = 0
        async for batch in db.projects.stream(batch_size=500):
            streamed += len(batch)
        return len(ids), streamed

    assert on_database(tmp_path / "bulk.duckdb", body) == (2000, 2000)
