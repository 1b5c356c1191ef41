"""The native point read (``get`` outside a transaction) against the SQLAlchemy path."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import (
    NotFoundError,
    ProjectArchitectDBError,
    StatementTimeoutError,
    ValidationError,
)
from project_architect_db.repositories._code_repositories_runs import BuildStore, DeploymentStore
from project_architect_db.repositories._conversations_messages import AttachmentStore, MessageStore
from project_architect_db.repositories._documents_history import VersionStore
from project_architect_db.repositories._native_read import _CompiledGet
from project_architect_db.repositories.base import AsyncRepository

pytestmark = pytest.mark.asyncio


async def _one_of_each(db: Database) -> list[tuple[AsyncRepository[Any, Any, Any, Any], Any]]:
    """A row of every model that has a repository, with the repository reading it."""
    project = await db.projects.create(
        {"name": "Atlas", "description": "the one", "metadata": {"k": [1, "two", None]}}
    )
    conversation = await db.conversations.create({"project_id": project.id, "title": "Chat"})
    message = await db.conversations.add_message(
        conversation.id,
        {
            "role": "user",
            "content": "Hi",
            "metadata": {"nested": {"a": 1.5}},
            "attachments": [{"url": "https://example.com/a.png", "file_type": "image/png"}],
        },
    )
    document = await db.documents.create(
        {"project_id": project.id, "path": "a.md", "title": "A", "content": "first"}
    )
    await db.documents.update(document.id, {"content": "second"})
    repository = await db.code_repositories.upsert_from_url(
        project.id, "https://github.com/acme/atlas"
    )
    build = await db.code_repositories.record_build(
        repository.id,
        {
            "commit_sha": "3f2a9c1",
            "branch": "main",
            "started_at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        },
    )
    deployment = await db.code_repositories.record_deployment(
        repository.id,
        {"build_id": build.id, "environment": "production", "commit_sha": "3f2a9c1"},
    )
    context = db._context
    attachments = AttachmentStore(context)
    attachment_rows = await attachments.list(message_id=message.id)
    versions = VersionStore(context)
    version_rows = await versions.list(document_id=document.id)
    assert attachment_rows.items and version_rows.items
    return [
        (db.projects, project.id),
        (db.conversations, conversation.id),
        (MessageStore(context), message.id),
        (attachments, attachment_rows.items[0].id),
        (db.documents, document.id),
        (versions, version_rows.items[0].id),
        (db.code_repositories, repository.id),
        (BuildStore(context), build.id),
        (DeploymentStore(context), deployment.id),
    ]


async def test_native_get_equals_the_sqlalchemy_get_for_every_model(db: Database) -> None:
    rows = await _one_of_each(db)
    for repository, row_id in rows:
        native = await repository.get_or_none(row_id)
        async with db.transaction():  # inside a transaction: the SQLAlchemy path
            expected = await repository.get_or_none(row_id)
        assert native is not None, type(repository).__name__
        assert native == expected, type(repository).__name__
        assert native.model_dump(mode="json") == expected.model_dump(mode="json")
        assert ("get", repository._get_by_id, db.engine.dialect) in db._executor.statements
    project = await db.projects.get(rows[0][1])
    assert project.created_at.tzinfo is not None
    assert project.created_at.utcoffset() == UTC.utcoffset(None)
    assert project.metadata_ == {"k": [1, "two", None]}


async def test_native_get_accepts_a_string_id(db: Database) -> None:
    project = await db.projects.create({"name": "Atlas"})
    assert await db.projects.get(str(project.id)) == project


async def test_get_inside_a_transaction_sees_its_uncommitted_writes(db: Database) -> None:
    async with db.transaction() as tx:
        project = await tx.projects.create({"name": "Pending"})
        assert await db.projects.get(project.id) == project  # joins the task's transaction
        assert await tx.projects.get(project.id) == project
    assert await db.projects.get(project.id) == project


async def test_missing_id_gives_none_and_not_found(db: Database) -> None:
    missing = uuid.uuid4()
    assert await db.projects.get_or_none(missing) is None
    with pytest.raises(NotFoundError):
        await db.projects.get(missing)


@pytest.mark.parametrize("bad", ["nope", 42, None, "1234"])
async def test_malformed_id_raises_validation_error(db: Database, bad: object) -> None:
    with pytest.raises(ValidationError):
        await db.projects.get(bad)  # type: ignore[arg-type]


async def test_closed_database_raises_a_library_error(db: Database) -> None:
    project = await db.projects.create({"name": "Atlas"})
    await db.close()
    with pytest.raises(ProjectArchitectDBError):
        await db.projects.get(project.id)


async def test_storage_errors_are_translated(db: Database) -> None:
    project = await db.projects.create({"name": "Atlas"})
    repository = db.projects
    await repository.get(project.id)
    cache = db._executor.statements
    dialect = db.engine.dialect
    key = ("get", repository._get_by_id, dialect)
    assert key in cache
    broken = _CompiledGet(repository._get_by_id, dialect)
    assert "$1" in broken.sql
    broken.sql = broken.sql.replace("projects", "no_such_table")
    cache.clear()
    cache.get_or_compile(*key, lambda: broken)
    try:
        with pytest.raises(ProjectArchitectDBError):
            await repository.get(project.id)
    finally:
        cache.clear()
    assert await repository.get(project.id) == project


async def test_reads_do_not_leak_pool_connections(db: Database) -> None:
    project = await db.projects.create({"name": "Atlas"})
    await db._executor.writes.committer.finish()  # its writer connection is kept, then reused
    size = db.settings.pool_size + db.settings.max_overflow
    for _ in range(size * 3):
        await db.projects.get(project.id)
        await db.projects.get_or_none(uuid.uuid4())
    pool = db.engine.sync_engine.pool
    readers = db._executor.readers
    assert readers is not None
    # only the connections kept for the next reads stay out (core/readers.py), and not one more
    assert pool.checkedout() == readers.idle == 1  # type: ignore[attr-defined]
    await db.close()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


def _slow_get(db: Database) -> None:
    """Make ``db.projects.get`` count ten billion rows first (minutes, interruptible)."""
    repository = db.projects
    slow = _CompiledGet(repository._get_by_id, db.engine.dialect)
    slow.sql = slow.sql.replace(
        "WHERE", "WHERE (SELECT count(*) FROM range(10000000000) a WHERE a.range % 7 = 3) > 0 AND"
    )
    cache = db._executor.statements
    cache.clear()
    cache.get_or_compile("get", repository._get_by_id, db.engine.dialect, lambda: slow)


async def test_a_get_under_a_timeout_shorter_than_the_inline_budget_still_reads(
    db: Database,
) -> None:
    project = await db.projects.create({"name": "Atlas"})
    readers = db._executor.readers
    readers.inline_budget = 5.0  # a timeout below the budget sends the read to the worker
    async with db.statement_timeout(2.0):
        assert await db.projects.get(project.id) == project
        assert await db.projects.get_or_none(uuid.uuid4()) is None


async def test_a_get_past_the_statement_timeout_raises_a_typed_error(db: Database) -> None:
    project = await db.projects.create({"name": "Atlas"})
    _slow_get(db)
    started = time.perf_counter()
    async with db.statement_timeout(0.3):
        with pytest.raises(StatementTimeoutError):
            await db.projects.get(project.id)
    assert time.perf_counter() - started < 10.0  # interrupted, not minutes
    db._executor.statements.clear()
    assert await db.projects.get(project.id) == project  # no interrupt left behind


async def test_a_cancelled_get_is_a_cancellation_and_leaves_the_reader_usable(
    db: Database,
) -> None:
    project = await db.projects.create({"name": "Atlas"})
    _slow_get(db)
    started = time.perf_counter()
    with pytest.raises(TimeoutError) as info:
        await asyncio.wait_for(db.projects.get(project.id), 0.3)
    assert not isinstance(info.value, StatementTimeoutError)
    assert time.perf_counter() - started < 10.0
    db._executor.statements.clear()
    for _ in range(5):  # every kept connection answers again
        assert await db.projects.get(project.id) == project


async def test_with_no_connection_kept_a_get_gives_its_connection_back_to_the_pool(
    db: Database,
) -> None:
    project = await db.projects.create({"name": "Atlas"})
    await db._executor.writes.committer.finish()  # its writer connection goes back too
    readers = db._executor.readers
    await readers.close()  # the kept ones back to the pool; from now on none is kept
    pool = db.engine.sync_engine.pool
    for _ in range(3):
        assert await db.projects.get(project.id) == project
        assert await db.projects.get_or_none(uuid.uuid4()) is None
        assert readers.idle == 0
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
