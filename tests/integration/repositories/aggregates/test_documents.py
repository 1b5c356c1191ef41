"""DocumentRepository verbs: revisions kept on update/upsert, history, lookups by path."""

from __future__ import annotations

import uuid

import pytest

from project_architect_db import (
    AlreadyExistsError,
    ConflictError,
    Database,
    IntegrityError,
    InvalidQueryError,
    NotFoundError,
    ValidationError,
)
from project_architect_db.repositories import Change
from project_architect_db.schemas import DocumentRead, DocumentUpdate, ProjectRead, content_digest


@pytest.fixture
async def document(db: Database, project: ProjectRead) -> DocumentRead:
    return await db.documents.create(
        {"project_id": project.id, "path": "docs/spec.md", "content": "v1", "doc_type": "spec"}
    )


# -- update keeps the previous version ---------------------------------------------------------
async def test_three_content_updates_leave_three_versions_newest_first(
    db: Database, document: DocumentRead
) -> None:
    subscription = db.changes(aggregates=["documents", "document_versions"])
    states = [document]
    for content in ("v2", "v3", "v4"):
        states.append(await db.documents.update(document.id, DocumentUpdate(content=content)))
    current = states[-1]
    assert (current.version, current.content) == (4, "v4")
    assert (current.content_hash, current.size_bytes) == content_digest("v4")

    history = await db.documents.history(document.id)
    assert [v.version for v in history] == [3, 2, 1]
    assert [v.content for v in history] == ["v3", "v2", "v1"]
    for version in history:
        state = states[version.version - 1]
        assert (version.title, version.content_hash, version.size_bytes) == (
            state.title,
            state.content_hash,
            state.size_bytes,
        )
        assert version.created_at == state.updated_at  # when the document reached it
        assert version.project_id == document.project_id
        assert await db.documents.get_version(document.id, version.version) == version
    changes = [await anext(subscription) for _ in range(6)]
    subscription.close()
    kinds = [(c.aggregate, c.kind) for c in changes if isinstance(c, Change)]
    assert kinds.count(("documents", "updated")) == 3
    assert kinds.count(("document_versions", "created")) == 3


async def test_update_without_a_real_change_keeps_the_version(
    db: Database, document: DocumentRead
) -> None:
    same = await db.documents.update(document.id, {"content": "v1", "doc_type": "spec"})
    assert same == document
    assert await db.documents.history(document.id) == []
    retitled = await db.documents.update(document.id, {"title": "Spec"})
    assert (retitled.version, retitled.title, retitled.content) == (2, "Spec", "v1")
    (previous,) = await db.documents.history(document.id)
    assert (previous.version, previous.title) == (1, "spec")


async def test_update_with_a_stale_version_raises_conflict_and_keeps_no_version(
    db: Database, document: DocumentRead
) -> None:
    await db.documents.update(document.id, {"content": "v2"})
    with pytest.raises(ConflictError, match="version 2, not 1"):
        await db.documents.update(document.id, {"content": "v3", "expected_version": 1})
    with pytest.raises(ConflictError):
        await db.documents.update(document.id, {"content": "v3"}, expected_version=1)
    assert [v.version for v in await db.documents.history(document.id)] == [1]
    assert (await db.documents.get(document.id)).content == "v2"


async def test_update_rejects_missing_documents_invalid_data_and_taken_paths(
    db: Database, document: DocumentRead
) -> None:
    with pytest.raises(NotFoundError):
        await db.documents.update(uuid.uuid4(), {"content": "x"})
    with pytest.raises(ValidationError, match="NUL"):
        await db.documents.update(document.id, {"content": "bad\x00"})
    with pytest.raises(ValidationError, match="path"):
        await db.documents.update(document.id, {"path": "../escape.md"})
    await db.documents.create({"project_id": document.project_id, "path": "other.md"})
    with pytest.raises(AlreadyExistsError):
        await db.documents.update(document.id, {"path": "other.md"})
    assert await db.documents.history(document.id) == []
    assert (await db.documents.get(document.id)).version == 1


async def test_concurrent_updates_of_one_document_each_keep_a_version(
    file_db: Database,
) -> None:
    import asyncio

    project = await file_db.projects.create({"name": "Docs"})
    document = await file_db.documents.create({"project_id": project.id, "path": "a.md"})
    await asyncio.gather(
        *(file_db.documents.update(document.id, {"content": f"edit {i}"}) for i in range(20))
    )
    assert (await file_db.documents.get(document.id)).version == 21
    assert [v.version for v in await file_db.documents.history(document.id)] == list(
        range(20, 0, -1)
    )


# -- history / get_version ---------------------------------------------------------------------
async def test_history_of_a_missing_document_raises_not_found(
    db: Database, document: DocumentRead
) -> None:
    with pytest.raises(NotFoundError):
        await db.documents.history(uuid.uuid4())
    with pytest.raises(ValidationError):
        await db.documents.history("nope")
    assert await db.documents.history(document.id) == []


async def test_get_version_explains_current_and_unknown_versions(
    db: Database, document: DocumentRead
) -> None:
    await db.documents.update(document.id, {"content": "v2"})
    assert (await db.documents.get_version(document.id, 1)).content == "v1"
    with pytest.raises(NotFoundError, match="current version"):
        await db.documents.get_version(document.id, 2)
    with pytest.raises(NotFoundError, match="no version 9"):
        await db.documents.get_version(document.id, 9)
    with pytest.raises(NotFoundError):
        await db.documents.get_version(uuid.uuid4(), 1)
    with pytest.raises(ValidationError, match="positive"):
        await db.documents.get_version(document.id, 0)


# -- get_by_path -------------------------------------------------------------------------------
async def test_get_by_path_normalises_the_path(db: Database, document: DocumentRead) -> None:
    assert await db.documents.get_by_path(document.project_id, "docs/spec.md") == document
    assert await db.documents.get_by_path(document.project_id, "./docs//spec.md") == document


async def test_get_by_path_of_an_unknown_path_raises_not_found(
    db: Database, document: DocumentRead
) -> None:
    with pytest.raises(NotFoundError, match=r"missing\.md"):
        await db.documents.get_by_path(document.project_id, "missing.md")
    with pytest.raises(NotFoundError):
        await db.documents.get_by_path(uuid.uuid4(), "docs/spec.md")
    with pytest.raises(ValidationError, match="path"):
        await db.documents.get_by_path(document.project_id, "/etc/passwd")


# -- upsert / bulk_upsert keep versions too ----------------------------------------------------
async def test_upsert_creates_then_revises_keeping_the_previous_version(
    db: Database, project: ProjectRead
) -> None:
    created = await db.documents.upsert({"project_id": project.id, "path": "adr/1.md"})
    assert created.version == 1
    unchanged = await db.documents.upsert({"project_id": project.id, "path": "adr/1.md"})
    assert unchanged == created
    revised = await db.documents.upsert(
        {"project_id": project.id, "path": "adr/1.md", "content": "Use DuckDB", "doc_type": "adr"}
    )
    assert (revised.id, revised.version, revised.doc_type) == (created.id, 2, "adr")
    (previous,) = await db.documents.history(created.id)
    assert previous.content == ""


async def test_upsert_rejects_other_keys_and_missing_projects(
    db: Database, project: ProjectRead
) -> None:
    with pytest.raises(InvalidQueryError, match="project_id"):
        await db.documents.upsert({"project_id": project.id, "path": "a.md"}, on=["path"])
    with pytest.raises(IntegrityError):
        await db.documents.upsert({"project_id": uuid.uuid4(), "path": "a.md"})
    with pytest.raises(ValidationError):
        await db.documents.upsert({"project_id": project.id})
    assert await db.documents.count() == 0


async def test_bulk_upsert_keeps_versions_of_changed_documents_only(
    db: Database, project: ProjectRead
) -> None:
    first = [
        {"project_id": project.id, "path": f"notes/{i}.md", "content": f"note {i}"}
        for i in range(50)
    ]
    assert await db.documents.bulk_upsert(first) == 50
    second = [dict(record) for record in first]
    for record in second[:10]:
        record["content"] = str(record["content"]) + " (edited)"
    second.append({"project_id": project.id, "path": "notes/new.md"})
    assert await db.documents.bulk_upsert(second) == 51
    assert await db.documents.count() == 51
    assert await db.documents.count(version=2) == 10
    edited = await db.documents.get_by_path(project.id, "notes/0.md")
    (previous,) = await db.documents.history(edited.id)
    assert (previous.content, edited.content) == ("note 0", "note 0 (edited)")
    untouched = await db.documents.get_by_path(project.id, "notes/20.md")
    assert untouched.version == 1
    with pytest.raises(IntegrityError):
        await db.documents.bulk_upsert([{"project_id": uuid.uuid4(), "path": "x.md"}])
    with pytest.raises(ValidationError):
        await db.documents.bulk_upsert([{"project_id": project.id, "path": "../x.md"}])
