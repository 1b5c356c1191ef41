"""ProjectRepository verbs: get_by_slug, rename_slug, archive."""

from __future__ import annotations

import uuid

import pytest

from project_architect_db import (
    AlreadyExistsError,
    ConflictError,
    Database,
    NotFoundError,
    ValidationError,
)
from project_architect_db.models.enums import ProjectStatus
from project_architect_db.schemas import ProjectRead


# -- get_by_slug -------------------------------------------------------------------------------
async def test_get_by_slug_finds_the_project(db: Database, project: ProjectRead) -> None:
    assert await db.projects.get_by_slug("atlas") == project


async def test_get_by_slug_of_an_unknown_slug_raises_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError, match="'nope'"):
        await db.projects.get_by_slug("nope")


async def test_get_by_slug_rejects_a_non_string(db: Database) -> None:
    with pytest.raises(ValidationError, match="string"):
        await db.projects.get_by_slug(42)  # type: ignore[arg-type]


# -- rename_slug -------------------------------------------------------------------------------
async def test_rename_slug_works_while_children_exist(db: Database, project: ProjectRead) -> None:
    conversation = await db.conversations.create({"project_id": project.id})
    await db.conversations.add_message(conversation.id, {"role": "user", "content": "hi"})
    document = await db.documents.create({"project_id": project.id, "path": "README.md"})
    repo = await db.code_repositories.upsert_from_url(project.id, "https://github.com/acme/atlas")

    renamed = await db.projects.rename_slug(project.id, "atlas-v2", expected_version=1)

    assert renamed.slug == "atlas-v2"
    assert renamed.version == 2
    assert (await db.projects.get_by_slug("atlas-v2")).id == project.id
    with pytest.raises(NotFoundError):
        await db.projects.get_by_slug("atlas")
    assert (await db.conversations.get(conversation.id)).project_id == project.id
    assert (await db.documents.get(document.id)).project_id == project.id
    assert (await db.code_repositories.get(repo.id)).project_id == project.id


async def test_rename_slug_to_a_taken_slug_raises_already_exists(
    db: Database, project: ProjectRead
) -> None:
    await db.projects.create({"name": "Other"})
    with pytest.raises(AlreadyExistsError):
        await db.projects.rename_slug(project.id, "other")
    assert (await db.projects.get(project.id)).slug == "atlas"


async def test_rename_slug_rejects_invalid_slugs_and_stale_versions(
    db: Database, project: ProjectRead
) -> None:
    with pytest.raises(ValidationError, match="slug"):
        await db.projects.rename_slug(project.id, "Not A Slug!")
    with pytest.raises(ConflictError, match="version 1, not 7"):
        await db.projects.rename_slug(project.id, "atlas-v3", expected_version=7)
    with pytest.raises(NotFoundError):
        await db.projects.rename_slug(uuid.uuid4(), "atlas-v4")
    assert (await db.projects.get(project.id)).version == 1


# -- archive -----------------------------------------------------------------------------------
async def test_archive_sets_the_status_bumps_the_version_and_publishes(
    db: Database, project: ProjectRead
) -> None:
    subscription = db.changes(aggregates="projects")
    archived = await db.projects.archive(project.id)
    assert archived.status is ProjectStatus.ARCHIVED
    assert archived.version == project.version + 1
    change = await anext(subscription)
    assert (change.id, change.kind, change.version) == (project.id, "updated", 2)  # type: ignore[union-attr]
    subscription.close()
    again = await db.projects.archive(project.id)
    assert again == archived  # archiving twice changes nothing


async def test_archive_of_a_missing_project_raises_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError):
        await db.projects.archive(uuid.uuid4())
    with pytest.raises(ValidationError, match="UUID"):
        await db.projects.archive("not-an-id")


async def test_archive_with_a_stale_version_raises_conflict(
    db: Database, project: ProjectRead
) -> None:
    await db.projects.update(project.id, {"description": "changed"})
    with pytest.raises(ConflictError):
        await db.projects.archive(project.id, expected_version=1)
    assert (await db.projects.get(project.id)).status is ProjectStatus.DRAFT
    archived = await db.projects.archive(project.id, expected_version=2)
    with pytest.raises(ConflictError):
        await db.projects.archive(project.id, expected_version=2)
    assert archived.version == 3
