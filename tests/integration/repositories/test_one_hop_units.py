"""Outside a transaction, ``create`` / ``update`` / ``delete`` / ``upsert`` cost one worker hop.

Every statement of the unit, with its BEGIN and COMMIT, runs in one call on the connection's
worker thread (``NativeWrite.commit_with``). A create also needs its parent's ancestors before
the hop: remembered (one hop) or read once on first sight of the parent (two hops).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import datetime
from typing import Any

import duckdb
import pytest

from project_architect_db import (
    AlreadyExistsError,
    Change,
    ChangeKind,
    ConflictError,
    Database,
    IntegrityError,
    NotFoundError,
    ValidationError,
)
from project_architect_db.core.native_write import NativeWrites
from project_architect_db.repositories import _integrity, _native_create, _native_read
from project_architect_db.repositories._native_create import create_natively
from tests._hops import count_hops

_WITHIN = 20.0


def _writes(db: Database) -> NativeWrites:
    writes = db._context.writes
    assert writes is not None
    return writes


@pytest.fixture
def hops(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts worker hops from now on (reset ``hops[0]`` before the call measured).

    Short reads (a parent's lookup) may run inline on the loop, with no hop to count: here
    they run on the worker, so every round trip of a unit is a counted hop.
    """
    readers = db._executor.readers
    assert readers is not None
    monkeypatch.setattr(readers, "inline_budget", 0.0)
    return count_hops(monkeypatch)


async def _tree(db: Database) -> dict[str, Any]:
    """A project with a conversation (and a message), a document and a code repository."""
    project = await db.projects.create({"name": "Atlas", "slug": "atlas"})
    conversation = await db.conversations.create({"project_id": project.id, "title": "Chat"})
    await db.conversations.add_message(conversation.id, {"role": "user", "content": "Hi"})
    document = await db.documents.create({"project_id": project.id, "path": "README.md"})
    repository = await db.repositories.create(
        {"project_id": project.id, "url": "https://github.com/acme/atlas"}
    )
    await db.projects.count()  # the kept connections are back and idle
    return {
        "project": project,
        "conversation": conversation,
        "document": document,
        "repository": repository,
    }


async def _count(db: Database, table: str) -> int:
    async with db.session() as session:
        from sqlalchemy import text

        return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


# -- one hop each ------------------------------------------------------------------------------
async def test_each_unit_outside_a_transaction_is_one_hop_with_a_warm_cache(
    db: Database, hops: list[int]
) -> None:
    tree = await _tree(db)
    project = tree["project"]
    hops[0] = 0
    second = await db.projects.create({"name": "Borealis", "slug": "borealis"})
    assert hops[0] == 1
    hops[0] = 0
    conversation = await db.conversations.create({"project_id": project.id, "title": "Two"})
    assert hops[0] == 1  # the project was remembered when it was created
    assert conversation.project_id == project.id
    hops[0] = 0
    build = await db.repositories.record_build(
        tree["repository"].id, {"commit_sha": "3f2a9c1", "branch": "main"}
    )
    assert hops[0] == 1
    assert build.project_id == project.id  # the ancestor copied from the repository
    hops[0] = 0
    updated = await db.projects.update(second.id, {"description": "edited"})
    assert hops[0] == 1
    assert (updated.description, updated.version) == ("edited", 2)
    hops[0] = 0
    upserted = await db.projects.upsert({"name": "Borealis 2", "slug": "borealis"})
    assert hops[0] == 1
    assert (upserted.id, upserted.name, upserted.version) == (second.id, "Borealis 2", 3)
    hops[0] = 0
    fresh = await db.projects.upsert({"name": "Cygnus", "slug": "cygnus"})
    assert hops[0] == 1
    assert fresh.version == 1
    hops[0] = 0
    await db.projects.delete(project.id)  # its conversations, messages, documents, builds...
    assert hops[0] == 1
    for table in ("conversations", "messages", "documents", "repositories", "builds"):
        assert await _count(db, table) == 0, table
    assert await db.projects.count() == 2
    assert db.locks.held == 0


async def test_a_create_on_first_sight_of_a_parent_reads_it_once_then_remembers_it(
    db: Database, hops: list[int]
) -> None:
    project = (await _tree(db))["project"]
    db._context.ancestry.forget(project.id)  # as after a restart: never seen
    hops[0] = 0
    await db.conversations.create({"project_id": project.id, "title": "First sight"})
    assert hops[0] == 2  # the lookup, then the unit
    hops[0] = 0
    await db.conversations.create({"project_id": project.id, "title": "Remembered"})
    assert hops[0] == 1


async def test_a_unit_inside_a_transaction_keeps_the_session_path_and_sees_its_writes(
    db: Database,
) -> None:
    async with db.transaction() as tx:
        project = await tx.projects.create({"name": "In tx", "slug": "in-tx"})
        # joined: db.conversations inside db.transaction() sees the uncommitted project
        conversation = await db.conversations.create({"project_id": project.id})
        await tx.projects.upsert({"name": "In tx, again", "slug": "in-tx"})
        await tx.conversations.delete(conversation.id)
    assert not tx.projects._native_inserts
    assert not db.projects._native_inserts
    assert db.projects._native_cascade is None
    assert (await db.projects.get(project.id)).name == "In tx, again"
    assert await db.conversations.count() == 0


async def test_native_units_reach_the_change_feed_in_commit_order(db: Database) -> None:
    async with db.changes() as subscription:
        project = await db.projects.create({"name": "Feed", "slug": "feed"})
        conversation = await db.conversations.create({"project_id": project.id})
        await db.projects.upsert({"name": "Feed 2", "slug": "feed"})
        await db.projects.delete(project.id)
        items = [await asyncio.wait_for(subscription.__anext__(), _WITHIN) for _ in range(4)]
    assert all(isinstance(item, Change) for item in items)
    changes: list[Any] = items
    assert [(c.aggregate, c.kind, c.id) for c in changes] == [
        ("projects", ChangeKind.CREATED, project.id),
        ("conversations", ChangeKind.CREATED, conversation.id),
        ("projects", ChangeKind.UPDATED, project.id),
        ("projects", ChangeKind.DELETED, project.id),
    ]
    assert changes[1].project_id == project.id
    assert changes[2].version == 2
    assert changes[3].cascaded == {"conversations": 1}
    assert changes[3].cascaded_ids == {"conversations": (conversation.id,)}


# -- unhappy paths -----------------------------------------------------------------------------
async def test_a_missing_parent_raises_integrity_error_after_one_lookup_and_writes_nothing(
    db: Database, hops: list[int]
) -> None:
    await db.projects.count()
    ghost = uuid.UUID("018f0000-0000-7000-8000-000000000000")
    hops[0] = 0
    with pytest.raises(IntegrityError, match=r"No project with id .*create the project first"):
        await db.conversations.create({"project_id": ghost, "title": "Orphan"})
    assert hops[0] == 1  # the lookup found nothing: no unit was opened
    assert await db.conversations.count() == 0
    assert db.locks.held == 0


async def test_a_remembered_parent_deleted_meanwhile_is_caught_inside_the_hop(
    db: Database,
) -> None:
    project = (await _tree(db))["project"]
    async with db.transaction() as tx:  # the session path leaves the memory as it was
        await tx.projects.delete(project.id)
    assert db._context.ancestry.get(project.id) is not None
    with pytest.raises(IntegrityError, match=r"No project with id .*create the project first"):
        await db.conversations.create({"project_id": project.id, "title": "Too late"})
    assert await db.conversations.count() == 0
    assert db.locks.held == 0
    # the connection is usable and the next unit works
    other = await db.projects.create({"name": "Other", "slug": "other"})
    assert (await db.conversations.create({"project_id": other.id})).project_id == other.id


async def test_a_parent_remembered_with_other_ancestors_is_read_again_and_retried(
    db: Database, hops: list[int]
) -> None:
    tree = await _tree(db)
    repository, project = tree["repository"], tree["project"]
    elsewhere = await db.projects.create({"name": "Elsewhere", "slug": "elsewhere"})
    db._context.ancestry.remember(repository.id, {"project_id": elsewhere.id})  # wrong
    hops[0] = 0
    build = await db.repositories.record_build(
        repository.id, {"commit_sha": "abc1234", "branch": "main"}
    )
    assert hops[0] == 3  # the refused unit, the lookup, the unit
    assert build.project_id == project.id
    assert db._context.ancestry.get(repository.id) == {"project_id": project.id}
    assert db.locks.held == 0


async def test_ancestors_that_change_again_before_the_retry_raise_a_retryable_conflict(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = await _tree(db)
    elsewhere = uuid.UUID("018f0000-0000-7000-8000-00000000beef")
    real = _native_create._Parent.ancestors_of

    def shifting(self: Any, row: tuple[Any, ...]) -> dict[str, Any]:
        ancestors = real(self, row)
        if threading.current_thread() is threading.main_thread():  # read before the hop
            return dict.fromkeys(ancestors, elsewhere)
        return ancestors

    monkeypatch.setattr(_native_create._Parent, "ancestors_of", shifting)
    db._context.ancestry.forget(tree["repository"].id)
    with pytest.raises(ConflictError, match="changed while it was being created") as info:
        await db.repositories.record_build(
            tree["repository"].id, {"commit_sha": "abc1234", "branch": "main"}
        )
    assert info.value.retryable
    monkeypatch.undo()
    assert await _count(db, "builds") == 0
    assert db.locks.held == 0


async def test_a_duplicate_natural_key_raises_already_exists_and_keeps_the_connection(
    db: Database,
) -> None:
    await db.projects.create({"name": "Taken", "slug": "taken"})
    with pytest.raises(AlreadyExistsError):
        await db.projects.create({"name": "Again", "slug": "taken"})
    readers = db._executor.readers
    assert readers is not None
    assert all(not raw.dbapi_connection.closed for raw in readers._idle)
    assert await db.projects.count() == 1
    assert (await db.projects.create({"name": "Free", "slug": "free"})).slug == "free"
    assert db.locks.held == 0


async def test_a_stale_version_and_a_missing_row_change_nothing(db: Database) -> None:
    project = await db.projects.create({"name": "Versioned", "slug": "versioned"})
    with pytest.raises(ConflictError, match="is at version 1, not 5"):
        await db.projects.update(project.id, {"name": "Late"}, expected_version=5)
    with pytest.raises(NotFoundError, match="No project with id"):
        await db.projects.delete(uuid.UUID("018f0000-0000-7000-8000-000000000000"))
    assert (await db.projects.get(project.id)).name == "Versioned"
    assert db.locks.held == 0


async def test_a_create_without_a_required_parent_or_with_a_refused_value(
    db: Database,
) -> None:
    writes = _writes(db)
    with pytest.raises(IntegrityError, match="project_id is required to create a conversation"):
        await create_natively(db.conversations, writes, {"title": "No project"})
    naive = {"name": "Naive", "slug": "naive", "created_at": datetime(2026, 1, 1)}
    with pytest.raises(ValidationError, match="A value could not be stored"):
        await create_natively(db.projects, writes, naive)  # worded as on the session path
    assert await db.projects.count() == 0
    assert db.locks.held == 0


async def test_an_optional_parent_left_out_is_not_looked_up(db: Database) -> None:
    repository = (await _tree(db))["repository"]
    deployments = db.repositories._deployments
    deployment = await deployments.create(
        {"repository_id": repository.id, "environment": "production", "commit_sha": "3f2a9c1"}
    )
    assert deployment.build_id is None
    assert deployment.project_id == repository.project_id


async def test_a_delete_cancelled_before_its_hop_deletes_nothing(db: Database) -> None:
    project = (await _tree(db))["project"]
    lock = db._executor.commit_lock()
    await lock.acquire()
    try:
        task = asyncio.create_task(db.projects.delete(project.id))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if lock._waiters:  # type: ignore[attr-defined]
                break
        task.cancel()
    finally:
        lock.release()
    with pytest.raises(asyncio.CancelledError):
        await task
    for table in ("projects", "conversations", "messages", "documents", "repositories"):
        assert await _count(db, table) == 1, table
    assert db.locks.held == 0


async def test_a_delete_cancelled_during_its_commit_deletes_everything_and_tells_the_feed(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = (await _tree(db))["project"]
    committing = threading.Event()
    proceed = threading.Event()

    def held_commit() -> None:  # the committer's seam: the COMMIT has started
        committing.set()
        proceed.wait(30)

    monkeypatch.setattr(_writes(db).committer, "before_commit", held_commit)
    async with db.changes(aggregates="projects") as subscription:
        task = asyncio.create_task(db.projects.delete(project.id))
        assert await asyncio.to_thread(committing.wait, 30)
        task.cancel()
        await asyncio.sleep(0.05)
        proceed.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        change: Any = await asyncio.wait_for(subscription.__anext__(), _WITHIN)
    monkeypatch.undo()
    assert (change.kind, change.id) == (ChangeKind.DELETED, project.id)
    for table in ("projects", "conversations", "messages", "documents", "repositories"):
        assert await _count(db, table) == 0, table
    assert db.locks.held == 0


async def test_an_upsert_of_a_row_without_version_or_updated_at(db: Database) -> None:
    repository = (await _tree(db))["repository"]
    builds = db.repositories._builds
    async with db.changes(aggregates="builds") as subscription:
        build = await builds.upsert(
            {"repository_id": repository.id, "commit_sha": "aaaaaaa", "branch": "main"},
            on=["id"],
        )
        change: Any = await asyncio.wait_for(subscription.__anext__(), _WITHIN)
    assert (change.kind, change.id) == (ChangeKind.CREATED, build.id)  # no version to tell
    assert build.project_id == repository.project_id
    with pytest.raises(IntegrityError, match="No repositor"):
        await builds.upsert(
            {"repository_id": uuid.uuid4(), "commit_sha": "ccccccc", "branch": "main"},
            on=["id"],
        )
    messages = db.conversations._messages  # no version, no updated_at
    sql = str(
        _native_create._statement(messages, ("id", "content"), ("id",), ("content",)).compile(
            dialect=_writes(db).dialect
        )
    )
    assert "DO UPDATE SET content = excluded.content RETURNING" in sql
    assert await _count(db, "builds") == 1


async def test_the_compiled_inserts_per_repository_are_bounded(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_native_read, "MAX_SHAPES", 1)
    await db.projects.create({"name": "Plain"})
    await db.projects.create({"name": "Described", "description": "more columns"})
    await db.projects.create({"name": "Owned", "owner_id": "user-1"})
    assert len(db.projects._native_inserts) == 1
    assert await db.projects.count() == 3


async def test_a_cancellation_between_the_statements_and_the_commit_writes_nothing(
    db: Database,
) -> None:
    """The worker checks for a cancellation once the statements are done, before COMMIT."""
    done = threading.Event()
    proceed = threading.Event()
    seen: list[str] = []

    def work(duck: duckdb.DuckDBPyConnection) -> None:
        duck.execute(
            "INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, "
            "architecture, metadata, created_at, updated_at, version) VALUES (uuid(), 'Half', "
            "'half', 'draft', 'requirements', [], [], '{}', '{}', now()::TIMESTAMP, "
            "now()::TIMESTAMP, 1)"
        )
        done.set()
        proceed.wait(30)  # Python, not a query: the interrupt cannot stop it

    async def write() -> None:
        async with _writes(db).unit() as unit:
            unit.after_commit(lambda: seen.append("published"))
            await unit.commit_with(work)

    task = asyncio.create_task(write())
    assert await asyncio.to_thread(done.wait, 30)
    task.cancel()
    await asyncio.sleep(0.05)
    proceed.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert not seen
    assert await db.projects.count() == 0
    assert (await db.projects.create({"name": "After"})).name == "After"


# -- the session path, which db.<repository> calls no longer take outside a transaction ----
async def test_a_transaction_clears_optional_references_and_counts_big_cascades(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_integrity, "MAX_CASCADED_IDS", 1)
    repository = (await _tree(db))["repository"]
    build = await db.repositories.record_build(
        repository.id, {"commit_sha": "abc1234", "branch": "main"}
    )
    await db.repositories.record_build(repository.id, {"commit_sha": "def5678", "branch": "main"})
    async with db.transaction() as tx:
        deployment = await tx.repositories._deployments.create(
            {"repository_id": repository.id, "environment": "production", "commit_sha": "abc1234"}
        )
        linked = await tx.repositories.record_deployment(
            repository.id,
            {"build_id": build.id, "environment": "production", "commit_sha": "abc1234"},
        )
    assert deployment.build_id is None
    async with db.changes(aggregates="repositories") as subscription:
        async with db.transaction() as tx:
            await tx.repositories._builds.delete(build.id)  # clears the deployment's build_id
            await tx.repositories.delete(repository.id)
        change: Any = await asyncio.wait_for(subscription.__anext__(), _WITHIN)
    assert change.cascaded["builds"] == 1
    assert change.cascaded["deployments"] == 2
    assert "deployments" not in change.cascaded_ids  # above the limit: the count only
    with pytest.raises(NotFoundError):
        await db.repositories._deployments.get(linked.id)
