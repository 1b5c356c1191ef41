"""A windowed page compiled once per shape (``_page_shapes.py``): every call binds its values.

Each page of a shape reuses one compiled statement: these tests give the same shape other
values (filters, cursors) in one database and compare every page with the plain
``ORDER BY ... LIMIT`` query and with the same page in a transaction (built as before).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.exceptions import (
    InvalidQueryError,
    ProjectArchitectDBError,
)
from project_architect_db.models import Project
from project_architect_db.queries.filters import parse_filters
from project_architect_db.queries.sorting import parse_order
from tests.integration.repositories.test_page_window import _walk

pytestmark = pytest.mark.asyncio

_STATUSES = ("draft", "active", "paused", "active", "completed")


async def _seed(db: Database, count: int = 120) -> None:
    await db.projects.bulk_create(
        [
            {"name": f"P {i}", "status": _STATUSES[i % 5], "tags": [f"t{i % 3}"]}
            for i in range(count)
        ]
    )
    # ties: 30 distinct instants, in no particular order of insertion
    async with db.engine.begin() as conn:
        await run_native(
            conn,
            lambda duck: duck.execute(
                "UPDATE projects SET created_at = TIMESTAMP '2026-01-01' "
                "+ to_seconds((hash(id) % 30)::BIGINT)"
            ),
        )


async def _plain(db: Database, conditions: dict[str, Any], order_by: str) -> list[uuid.UUID]:
    keys = parse_order(Project, order_by)
    statement = (
        select(Project.__table__.c.id)
        .where(*parse_filters(Project, conditions))
        .order_by(*(key.order() for key in keys))
    )
    async with db.engine.connect() as conn:
        return list((await conn.execute(statement)).scalars())


def _shapes(db: Database) -> list[Any]:
    return db._executor.statements.entries("page-window")


@pytest.mark.parametrize("order_by", ["-created_at", "created_at"])
async def test_one_shape_answers_every_value_of_its_filters(db: Database, order_by: str) -> None:
    await _seed(db)
    for status in ("active", "paused", "draft", "completed", "archived"):
        expected = await _plain(db, {"status": status}, order_by)
        assert await _walk(db, {"status": status}, order_by, 7) == expected
        page = await db.projects.list(status=status, order_by=order_by, limit=7)
        assert [p.id for p in page.items] == expected[:7]
    # the first page and the cursor pages: two shapes, whatever the status
    assert len([shape for shape in _shapes(db) if shape is not None]) == 2
    for needle in ("1", "2", "P 11", "absent"):
        conditions = {"name__contains": needle, "status": "active"}
        assert await _walk(db, conditions, order_by, 5) == await _plain(db, conditions, order_by)


async def test_pages_equal_the_same_pages_in_a_transaction(db: Database) -> None:
    await _seed(db)
    for conditions in ({}, {"status": "active"}, {"tags__contains": "t1"}):
        outside = await db.projects.list(order_by="-created_at", limit=9, **conditions)
        async with db.transaction() as tx:
            inside = await tx.projects.list(order_by="-created_at", limit=9, **conditions)
        assert outside == inside
        assert outside.next_cursor is not None
        second = await db.projects.list(
            order_by="-created_at", limit=9, cursor=outside.next_cursor, **conditions
        )
        async with db.transaction() as tx:
            again = await tx.projects.list(
                order_by="-created_at", limit=9, cursor=outside.next_cursor, **conditions
            )
        assert second == again


async def test_an_in_list_keeps_building_its_page(db: Database) -> None:
    await _seed(db)
    for statuses in (["active"], ["paused", "draft"], ["active", "paused", "completed"]):
        conditions = {"status__in": statuses}
        assert await _walk(db, conditions, "-created_at", 6) == await _plain(
            db, conditions, "-created_at"
        )
    assert _shapes(db) and all(shape is None for shape in _shapes(db))


async def test_empty_and_deleted_rows_and_offsets(db: Database) -> None:
    empty = await db.projects.list(order_by="-created_at", limit=5)
    assert empty.items == []
    assert empty.next_cursor is None
    await _seed(db, 40)
    newest = await db.projects.list(order_by="-created_at", limit=5)
    for project in newest.items:
        await db.projects.delete(project.id)
    expected = await _plain(db, {}, "-created_at")
    assert len(expected) == 35
    assert await _walk(db, {}, "-created_at", 4) == expected
    for offset in (0, 3, 33, 40):
        page = await db.projects.list(order_by="-created_at", limit=4, offset=offset)
        assert [p.id for p in page.items] == expected[offset : offset + 4]


async def test_a_bound_that_is_a_timestamp_is_bound_every_time(db: Database) -> None:
    await _seed(db)
    for moment in ("2026-01-01T00:00:10", "2026-01-01T00:00:20", "2030-01-01T00:00:00"):
        since = datetime.fromisoformat(moment).replace(tzinfo=UTC)
        conditions = {"created_at__gte": since}
        assert await _walk(db, conditions, "-created_at", 8) == await _plain(
            db, conditions, "-created_at"
        )


async def test_bad_values_raise_as_before(db: Database) -> None:
    await _seed(db, 10)
    await db.projects.list(order_by="-created_at", created_at__gte=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ProjectArchitectDBError, match="tzinfo"):  # as before this change
        await db.projects.list(order_by="-created_at", created_at__gte="not a moment")
    with pytest.raises(InvalidQueryError):
        await db.projects.list(order_by="-created_at", no_such_field="x")
    for _ in range(2):  # a shape compiled by a good value, then a value its type refuses
        await db.projects.list(order_by="-created_at", status="active")
        with pytest.raises(ProjectArchitectDBError, match="nothing"):
            await db.projects.list(order_by="-created_at", status="nothing")
    page = await db.projects.list(order_by="-created_at", limit=2)
    with pytest.raises(InvalidQueryError, match="another listing"):
        await db.projects.list(order_by="created_at", limit=2, cursor=page.next_cursor)


async def test_an_owners_pages_share_one_prepared_shape_and_keep_their_own_rows(
    db: Database,
) -> None:
    project = await db.projects.create({"name": "Chat"})
    conversations = [
        await db.conversations.create({"project_id": project.id, "title": f"C {n}"})
        for n in range(3)
    ]
    for number in range(12):
        for index, conversation in enumerate(conversations[:2]):
            await db.conversations.add_message(
                conversation.id, {"role": "user", "content": f"{index}-{number}"}
            )
    for _ in range(2):
        for index, conversation in enumerate(conversations[:2]):
            first = await db.conversations.messages(conversation.id, limit=5)
            assert [m.content for m in first.items] == [f"{index}-{n}" for n in range(5)]
            second = await db.conversations.messages(
                conversation.id, limit=5, cursor=first.next_cursor
            )
            assert [m.content for m in second.items] == [f"{index}-{n}" for n in range(5, 10)]
        assert (await db.conversations.messages(conversations[2].id)).items == []
    shapes = [
        shape
        for shape in db._executor.statements.entries("page")
        if shape is not None and "messages_of_owner" in shape.statement.shape.sql
    ]
    assert len(shapes) == 3  # first pages of 5 and of 50, pages of 5 after a cursor
    assert all(shape.statement.shape.prepared is not None for shape in shapes)


async def test_a_cursor_that_does_not_fit_the_keys_finds_no_shape(db: Database) -> None:
    from project_architect_db.repositories._page_shapes import page_shape

    table = Project.__table__
    keys = parse_order(Project, "-created_at")
    executor = db._executor
    arguments: dict[str, Any] = {"limit": 3, "offset": 0, "window": True}
    where = parse_filters(Project, {"status": "active"})
    found = page_shape(
        executor.statements, executor.dialect, table, where, keys, after=None, **arguments
    )  # type: ignore[arg-type]
    assert found is not None
    short = [datetime(2026, 1, 1)]  # one value for two sort keys
    assert (
        page_shape(
            executor.statements, executor.dialect, table, where, keys, after=short, **arguments
        )
        is None
    )  # type: ignore[arg-type]
