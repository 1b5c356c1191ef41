"""``bulk_create``: one Arrow ``INSERT``, ids in order, all or nothing, cancellable."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import AlreadyExistsError, IntegrityError, ValidationError
from project_architect_db.repositories._bulk import BulkOperations
from project_architect_db.repositories.projects import ProjectRepository
from project_architect_db.schemas import ConversationCreate, ProjectCreate


async def test_ids_come_back_in_record_order_and_name_the_rows(db: Database) -> None:
    records = [ProjectCreate(name=f"Bulk {i}", slug=f"bulk-{i}") for i in range(2500)]
    ids = await db.projects.bulk_create(records)
    assert len(ids) == len(set(ids)) == 2500
    assert all(type(key) is uuid.UUID and key.version == 7 for key in ids)
    assert ids == sorted(ids)  # time-ordered, made in record order
    for index in (0, 1234, 2499):
        assert (await db.projects.get(ids[index])).slug == f"bulk-{index}"


async def test_a_duplicate_slug_in_the_batch_writes_nothing(db: Database) -> None:
    with pytest.raises(AlreadyExistsError):
        await db.projects.bulk_create(
            [{"name": "A", "slug": "same"}, {"name": "B", "slug": "same"}]
        )
    assert await db.projects.count() == 0


async def test_a_missing_parent_and_an_invalid_record_write_nothing(db: Database) -> None:
    with pytest.raises(IntegrityError):
        await db.conversations.bulk_create(
            [ConversationCreate(project_id=uuid.uuid4(), title="Orphan")]
        )
    with pytest.raises(ValidationError):
        await db.projects.bulk_create([{"name": "Fine"}, {"name": ""}])
    with pytest.raises(ValidationError):
        await db.projects.bulk_create({"name": "not a list"})  # type: ignore[arg-type]
    assert await db.conversations.count() == 0
    assert await db.projects.count() == 0
    assert await db.projects.bulk_create([]) == []


async def test_a_call_cancelled_after_its_insert_writes_nothing_and_leaves_the_db_usable(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = BulkOperations._insert_arrow

    async def cancelled_after_inserting(self: Any, tx: Any, table: Any, conflict: str = "") -> None:
        await original(self, tx, table, conflict)
        raise asyncio.CancelledError  # the caller cancelled once the INSERT ran, before COMMIT

    monkeypatch.setattr(BulkOperations, "_insert_arrow", cancelled_after_inserting)
    with pytest.raises(asyncio.CancelledError):
        async with db.transaction():  # inside a transaction: it joins it (the session path)
            await db.projects.bulk_create(
                [{"name": f"P{i}", "slug": f"p-{i}"} for i in range(5000)]
            )
    monkeypatch.undo()
    assert await db.projects.count() == 0
    ids = await db.projects.bulk_create([{"name": "After", "slug": "after"}])
    assert (await db.projects.get(ids[0])).name == "After"


async def test_a_real_cancellation_mid_call_leaves_no_partial_batch(db: Database) -> None:
    records = [{"name": f"P{i}", "slug": f"p-{i}"} for i in range(20_000)]
    task = asyncio.ensure_future(db.projects.bulk_create(records))
    await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        # stopped before its COMMIT: nothing; cancelled once its COMMIT had begun (nothing stops
        # a COMMIT, docs/architecture.md "Cancellation and statement timeout"): all of it
        assert await db.projects.count() in (0, 20_000)
    else:  # finished before the cancel arrived: all of it
        assert await db.projects.count() == 20_000
    assert await db.projects.bulk_create([{"name": "Again", "slug": "again"}])


class _ImportedProject(ProjectCreate):
    """A create schema that carries ids (rows imported from another system keep theirs)."""

    id: uuid.UUID | None = None


class _ImportingProjects(ProjectRepository):
    create_schema = _ImportedProject


async def test_a_schema_with_ids_keeps_the_given_ones_and_fills_the_gaps(db: Database) -> None:
    repository = _ImportingProjects(db._context)
    given = uuid.UUID("0190c0de-0000-7000-8000-000000000001")
    ids = await repository.bulk_create(
        [{"name": "Given", "slug": "given", "id": given}, {"name": "Fresh", "slug": "fresh"}]
    )
    assert ids[0] == given and ids[1] != given and ids[1].version == 7
    assert (await db.projects.get(given)).slug == "given"
    assert (await db.projects.get(ids[1])).slug == "fresh"
    with pytest.raises(AlreadyExistsError):  # the same id again: nothing of the batch lands
        await repository.bulk_create(
            [{"name": "Again", "slug": "again", "id": given}, {"name": "New", "slug": "new"}]
        )
    assert await db.projects.count() == 2


async def test_the_ids_returned_are_the_ids_published_made_once(db: Database) -> None:
    async with db.changes(aggregates="projects") as subscription:
        ids = await db.projects.bulk_create([{"name": f"I{i}", "slug": f"i-{i}"} for i in range(4)])
        items = [await asyncio.wait_for(subscription.__anext__(), 5) for _ in ids]
    assert [item.id for item in items] == ids
    assert all(item.id is key for item, key in zip(items, ids, strict=True))  # made once
    assert sorted(ids) == sorted(p.id for p in (await db.projects.list(limit=10)).items)


async def test_a_batch_refused_at_commit_returns_no_ids_and_publishes_nothing(
    db: Database,
) -> None:
    await db.projects.create({"name": "Taken", "slug": "taken"})
    async with db.changes(aggregates="projects") as subscription:
        with pytest.raises(AlreadyExistsError):
            await db.projects.bulk_create([{"name": "Again", "slug": "taken"}])
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(subscription.__anext__(), 0.2)
    assert await db.projects.count() == 1
