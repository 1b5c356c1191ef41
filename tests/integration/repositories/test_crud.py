"""AsyncRepository CRUD on real DuckDB: one happy and at least two unhappy tests per method."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

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
from project_architect_db.schemas import ProjectCreate, ProjectUpdate


async def _project(db: Database, name: str = "Atlas", **extra: object) -> object:
    return await db.projects.create({"name": name, **extra})


# -- create ------------------------------------------------------------------------------------
async def test_create_returns_the_stored_row(db: Database) -> None:
    project = await db.projects.create(
        ProjectCreate(name="Atlas Billing", tags=["api"], architecture={"database": "duckdb"})
    )
    assert project.slug == "atlas-billing"
    assert project.version == 1
    assert project.created_at.tzinfo is UTC
    assert project.created_at == project.updated_at
    assert project.architecture == {"database": "duckdb"}
    assert (await db.projects.get(project.id)) == project


async def test_create_rejects_invalid_data_and_writes_nothing(db: Database) -> None:
    with pytest.raises(ValidationError, match="status"):
        await db.projects.create({"name": "Atlas", "status": "nonsense"})
    with pytest.raises(ValidationError, match=r"unknown|Extra"):
        await db.projects.create({"name": "Atlas", "colour": "red"})
    with pytest.raises(ValidationError, match="ProjectCreate or a dict"):
        await db.projects.create(["not", "a", "record"])  # type: ignore[arg-type]
    assert await db.projects.count() == 0


async def test_create_with_a_taken_slug_raises_already_exists(db: Database) -> None:
    await _project(db, "Atlas")
    with pytest.raises(AlreadyExistsError, match="unique"):
        await _project(db, "Atlas")
    assert await db.projects.count() == 1


async def test_create_child_of_a_missing_parent_raises_integrity_error(db: Database) -> None:
    missing = uuid.uuid4()
    with pytest.raises(IntegrityError, match=str(missing)):
        await db.conversations.create({"project_id": missing, "title": "Orphan"})
    assert await db.conversations.count() == 0


# -- get / get_or_none / get_many ----------------------------------------------------------------
async def test_get_by_string_or_uuid(db: Database) -> None:
    project = await _project(db)
    assert (await db.projects.get(str(project.id))).id == project.id  # type: ignore[attr-defined]


async def test_get_missing_raises_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError, match="No project"):
        await db.projects.get(uuid.uuid4())
    assert await db.projects.get_or_none(uuid.uuid4()) is None


@pytest.mark.parametrize("bad", ["not-a-uuid", "", 42, None])
async def test_get_with_a_malformed_id_raises_validation_error(db: Database, bad: object) -> None:
    with pytest.raises(ValidationError, match="not a valid id"):
        await db.projects.get(bad)  # type: ignore[arg-type]


async def test_get_many_keeps_the_requested_order_and_skips_missing(db: Database) -> None:
    first = await _project(db, "One")
    second = await _project(db, "Two")
    found = await db.projects.get_many([second.id, uuid.uuid4(), first.id])  # type: ignore[attr-defined]
    assert [p.name for p in found] == ["Two", "One"]
    assert await db.projects.get_many([]) == []
    with pytest.raises(ValidationError):
        await db.projects.get_many(["nope"])
    with pytest.raises(InvalidQueryError, match="at most"):
        await db.projects.get_many([uuid.uuid4() for _ in range(10_001)])


# -- update ------------------------------------------------------------------------------------
async def test_update_applies_only_given_fields_and_bumps_version(db: Database) -> None:
    project = await _project(db, "Atlas", description="first")
    updated = await db.projects.update(project.id, ProjectUpdate(name="Atlas Two"))  # type: ignore[attr-defined]
    assert (updated.name, updated.description, updated.version) == ("Atlas Two", "first", 2)
    assert updated.updated_at > updated.created_at
    same = await db.projects.update(project.id, {})  # type: ignore[attr-defined]
    assert same.version == 2  # nothing to change: no new version


async def test_update_with_a_stale_version_raises_conflict(db: Database) -> None:
    project = await _project(db)
    await db.projects.update(project.id, {"name": "B"}, expected_version=1)  # type: ignore[attr-defined]
    with pytest.raises(ConflictError, match="version 2, not 1"):
        await db.projects.update(project.id, {"name": "C"}, expected_version=1)  # type: ignore[attr-defined]
    with pytest.raises(ConflictError):
        await db.projects.update(project.id, {}, expected_version=7)  # type: ignore[attr-defined]
    assert (await db.projects.get(project.id)).name == "B"  # type: ignore[attr-defined]


async def test_update_of_a_missing_row_raises_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError):
        await db.projects.update(uuid.uuid4(), {"name": "x"})
    with pytest.raises(NotFoundError):
        await db.projects.update(uuid.uuid4(), {})


async def test_update_rejects_invalid_values_and_unknown_fields(db: Database) -> None:
    project = await _project(db)
    with pytest.raises(ValidationError):
        await db.projects.update(project.id, {"status": "sideways"})  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        await db.projects.update(project.id, {"id": uuid.uuid4()})  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        await db.projects.update(project.id, {"name": None})  # type: ignore[attr-defined]
    assert (await db.projects.get(project.id)).version == 1  # type: ignore[attr-defined]


async def test_update_to_a_taken_slug_raises_already_exists(db: Database) -> None:
    await _project(db, "One")
    second = await _project(db, "Two")
    with pytest.raises(AlreadyExistsError):
        await db.projects.update(second.id, {"slug": "one"})  # type: ignore[attr-defined]


# -- delete ------------------------------------------------------------------------------------
async def test_delete_removes_the_row_and_its_children(db: Database) -> None:
    project = await _project(db)
    conversation = await db.conversations.create({"project_id": project.id, "title": "t"})  # type: ignore[attr-defined]
    await db.documents.create({"project_id": project.id, "path": "a.md", "title": "A"})  # type: ignore[attr-defined]
    await db.projects.delete(project.id)  # type: ignore[attr-defined]
    assert await db.projects.get_or_none(project.id) is None  # type: ignore[attr-defined]
    assert await db.conversations.get_or_none(conversation.id) is None
    assert await db.documents.count() == 0


async def test_delete_of_a_missing_row_raises_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError):
        await db.projects.delete(uuid.uuid4())
    with pytest.raises(ValidationError):
        await db.projects.delete("x")


async def test_delete_inside_a_failed_transaction_keeps_everything(db: Database) -> None:
    project = await _project(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.projects.delete(project.id)  # type: ignore[attr-defined]
            raise RuntimeError("abort")
    assert await db.projects.get(project.id)  # type: ignore[attr-defined]


# -- upsert ------------------------------------------------------------------------------------
async def test_upsert_inserts_then_updates_by_natural_key(db: Database) -> None:
    created = await db.projects.upsert({"name": "Atlas", "description": "v1"})
    updated = await db.projects.upsert({"name": "Atlas Renamed", "slug": "atlas"})
    assert created.id == updated.id
    assert (created.version, updated.version) == (1, 2)
    assert updated.name == "Atlas Renamed"
    assert await db.projects.count() == 1


async def test_upsert_needs_a_natural_key(db: Database) -> None:
    project = await _project(db)
    with pytest.raises(InvalidQueryError, match="no natural key"):
        await db.conversations.upsert({"project_id": project.id, "title": "x"})  # type: ignore[attr-defined]
    with pytest.raises(InvalidQueryError, match="no column"):
        await db.projects.upsert({"name": "x"}, on=["nope"])


async def test_upsert_validates_and_checks_parents(db: Database) -> None:
    with pytest.raises(ValidationError):
        await db.projects.upsert({"name": ""})
    with pytest.raises(IntegrityError):
        await db.documents.upsert({"project_id": uuid.uuid4(), "path": "a.md", "title": "A"})


# -- count / exists ----------------------------------------------------------------------------
async def test_count_and_exists_follow_the_filters(db: Database) -> None:
    await _project(db, "One", status="active")
    await _project(db, "Two")
    assert await db.projects.count() == 2
    assert await db.projects.count(status="active") == 1
    assert await db.projects.exists(slug="two")
    assert not await db.projects.exists(slug="three")


async def test_count_and_exists_reject_unknown_fields(db: Database) -> None:
    with pytest.raises(InvalidQueryError, match="Valid fields"):
        await db.projects.count(colour="red")
    with pytest.raises(InvalidQueryError, match="Unknown operator"):
        await db.projects.exists(name__regex=".*")


# -- unit of work ------------------------------------------------------------------------------
async def test_a_unit_of_work_sees_its_own_writes_and_commits_them_together(
    db: Database,
) -> None:
    async with db.transaction() as tx:
        project = await tx.projects.create({"name": "Atlas"})
        conversation = await tx.conversations.create({"project_id": project.id, "title": "t"})
        assert (await tx.conversations.get(conversation.id)).project_id == project.id
    assert await db.conversations.count() == 1


async def test_a_failed_unit_of_work_writes_nothing(db: Database) -> None:
    with pytest.raises(AlreadyExistsError):
        async with db.transaction() as tx:
            await tx.projects.create({"name": "Atlas"})
            await tx.projects.create({"name": "Atlas"})
    assert await db.projects.count() == 0


async def test_a_repository_of_a_finished_unit_of_work_refuses_work(db: Database) -> None:
    async with db.transaction() as tx:
        repo = tx.projects
    from project_architect_db import TransactionError

    with pytest.raises(TransactionError, match="has ended"):
        await repo.count()


async def test_timestamps_given_in_other_zones_are_stored_as_utc(db: Database) -> None:
    project = await _project(db)
    conversation = await db.conversations.create(
        {"project_id": project.id, "title": "t"}  # type: ignore[attr-defined]
    )
    assert conversation.created_at.tzinfo is UTC
    assert abs((datetime.now(UTC) - conversation.created_at).total_seconds()) < 60
