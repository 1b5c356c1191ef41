"""Types of the public API, checked by mypy --strict in CI (not run by pytest)."""

from __future__ import annotations

import uuid
from typing import assert_type

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import project_architect_db as padb
from project_architect_db.core.transaction import TransactionScope
from project_architect_db.repositories import CodeRepositoryRepository, UnitOfWork
from project_architect_db.schemas import ConversationRead, Page, ProjectRead


async def check_database() -> None:
    db = padb.Database.open(":memory:", threads=2)
    assert_type(db, padb.Database)
    async with db as opened:
        assert_type(opened, padb.Database)
        assert_type(opened.engine, AsyncEngine)
        assert_type(opened.session(), AsyncSession)
        assert_type(opened.transaction(), TransactionScope[UnitOfWork])
        async with opened.transaction() as tx:
            assert_type(tx, UnitOfWork)
            project = await tx.projects.create({"name": "Atlas"})
            assert_type(project, ProjectRead)
            assert_type(await tx.projects.list(), Page[ProjectRead])
            assert_type(await tx.projects.get_or_none(project.id), ProjectRead | None)
        assert_type(await opened.conversations.get(project.id), ConversationRead)
        assert_type(opened.code_repositories, CodeRepositoryRepository)
        assert_type(opened.repositories, CodeRepositoryRepository)
        feed = opened.changes(aggregates="messages", project_id=project.id)
        assert_type(feed, padb.Subscription)
        async for event in feed:
            assert_type(event, padb.Change | padb.Gap)
            if isinstance(event, padb.Change):
                assert_type(event.kind, padb.ChangeKind)
                assert_type(event.removed("messages"), frozenset[uuid.UUID] | None)
    assert_type(await padb.Database.open(":memory:"), padb.Database)


def check_run() -> None:
    async def answer() -> int:
        return 42

    assert_type(padb.run(answer()), int)


def check_errors() -> None:
    error = padb.DatabaseLockedError("x", pid=1)
    assert_type(error.pid, int | None)
    assert_type(error.detail, str)
    assert_type(padb.ConflictError.retryable, bool)


async def check_timeouts_and_streams() -> None:
    async with padb.Database.open(":memory:", statement_timeout=2.5) as db:
        async with db.statement_timeout(0.5) as seconds:
            assert_type(seconds, float | None)
            async for batch in db.projects.stream(batch_size=100):
                assert_type(batch, list[ProjectRead])
    error = padb.StatementTimeoutError("x", timeout=1.0)
    assert_type(error.timeout, float)


def check_sync_use_of_async_apis_stays_a_type_error() -> None:
    # the unused-ignore check (strict) fails here if mypy stops reporting these lines
    db = padb.Database.open(":memory:")
    with db:  # type: ignore[attr-defined]
        pass
    with db.transaction():  # type: ignore[attr-defined]
        pass
    with db.statement_timeout(1):  # type: ignore[attr-defined]
        pass
    for _ in db.projects.stream():  # type: ignore[attr-defined]
        pass
