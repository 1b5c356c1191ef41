"""Integrity under concurrency: 100 rounds of each race, on a real DuckDB file."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from project_architect_db import (
    AlreadyExistsError,
    ConflictError,
    Database,
    IntegrityError,
    NotFoundError,
)

ROUNDS = 100


async def _orphans(db: Database) -> int:
    async with db.session() as session:
        result = await session.execute(
            text(
                "SELECT (SELECT count(*) FROM conversations c WHERE NOT EXISTS "
                "(SELECT 1 FROM projects p WHERE p.id = c.project_id)) + "
                "(SELECT count(*) FROM messages m WHERE NOT EXISTS "
                "(SELECT 1 FROM conversations c WHERE c.id = m.conversation_id))"
            )
        )
        return int(result.scalar_one())


async def test_a_delete_racing_child_inserts_leaves_no_orphan(file_db: Database) -> None:
    outcomes = {"deleted_first": 0, "inserted_first": 0}
    for round_number in range(ROUNDS):
        project = await file_db.projects.create({"name": f"Race {round_number}"})

        async def insert_child() -> str:
            await asyncio.sleep(0)
            try:
                await file_db.conversations.create({"project_id": project.id, "title": "c"})
            except IntegrityError:
                return "refused"
            return "inserted"

        async def delete_parent() -> None:
            await file_db.projects.delete(project.id)

        results = await asyncio.gather(insert_child(), delete_parent(), insert_child())
        outcomes["inserted_first" if "inserted" in results else "deleted_first"] += 1
    assert await file_db.projects.count() == 0
    assert await file_db.conversations.count() == 0
    assert await _orphans(file_db) == 0


async def test_an_insert_whose_snapshot_predates_the_delete_is_refused(
    file_db: Database,
) -> None:
    project = await file_db.projects.create({"name": "Old snapshot"})
    refused = 0
    for _ in range(20):
        project = await file_db.projects.create({"name": f"P {uuid.uuid4()}"})
        entered = asyncio.Event()
        release = asyncio.Event()

        async def slow_child() -> None:
            nonlocal refused
            try:
                async with file_db.transaction() as tx:
                    await tx.projects.count()  # the snapshot is taken here
                    entered.set()
                    await release.wait()
                    await tx.conversations.create({"project_id": project.id, "title": "late"})
            except IntegrityError as error:
                assert "deleted by a concurrent transaction" in str(error)
                refused += 1

        task = asyncio.create_task(slow_child())
        await entered.wait()
        await file_db.projects.delete(project.id)
        release.set()
        await task
    assert refused == 20
    assert await _orphans(file_db) == 0


async def test_concurrent_updates_with_one_expected_version_let_exactly_one_win(
    file_db: Database,
) -> None:
    for round_number in range(ROUNDS):
        project = await file_db.projects.create({"name": f"Versioned {round_number}"})

        async def rename(suffix: str) -> str:
            try:
                await file_db.projects.update(
                    project.id, {"description": suffix}, expected_version=1
                )
            except ConflictError:
                return "conflict"
            return "won"

        results = await asyncio.gather(*(rename(str(i)) for i in range(4)))
        assert results.count("won") == 1, results
        stored = await file_db.projects.get(project.id)
        assert stored.version == 2


async def test_concurrent_creates_of_one_slug_leave_exactly_one_row(file_db: Database) -> None:
    for round_number in range(ROUNDS):

        async def create() -> str:
            try:
                await file_db.projects.create(
                    {"name": f"Same {round_number}", "slug": f"same-{round_number}"}
                )
            except AlreadyExistsError:
                return "duplicate"
            return "created"

        results = await asyncio.gather(*(create() for _ in range(3)))
        assert results.count("created") == 1, results
    assert await file_db.projects.count() == ROUNDS


async def test_an_update_racing_a_delete_never_resurrects_or_loses_silently(
    file_db: Database,
) -> None:
    for round_number in range(ROUNDS // 2):
        project = await file_db.projects.create({"name": f"Doomed {round_number}"})

        async def update() -> str:
            try:
                await file_db.projects.update(project.id, {"description": "edited"})
            except (NotFoundError, ConflictError):
                return "refused"
            return "updated"

        results = await asyncio.gather(update(), file_db.projects.delete(project.id), update())
        assert await file_db.projects.get_or_none(project.id) is None
        assert set(results[::2]) <= {"refused", "updated"}
    assert await file_db.projects.count() == 0


async def test_concurrent_documents_with_one_path_leave_one_row(file_db: Database) -> None:
    project = await file_db.projects.create({"name": "Docs"})

    async def create() -> str:
        try:
            await file_db.documents.create(
                {"project_id": project.id, "path": "spec.md", "title": "Spec"}
            )
        except AlreadyExistsError:
            return "duplicate"
        return "created"

    results = await asyncio.gather(*(create() for _ in range(5)))
    assert results.count("created") == 1
    assert file_db.locks.held == 0  # every lock was released
