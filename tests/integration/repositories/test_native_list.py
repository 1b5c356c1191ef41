"""``list()`` outside a transaction: one native hop per page, compiled once per shape."""

from __future__ import annotations

from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import InvalidQueryError, ProjectArchitectDBError
from project_architect_db.repositories._native_read import NativeRow


async def _fill(db: Database) -> None:
    await db.projects.bulk_create(
        [
            {
                "name": f"Project {i}",
                "slug": f"p-{i:03}",
                "status": ("active", "draft", "paused")[i % 3],
                "tags": ["x"] if i % 2 else [],
                "architecture": {"database": "duckdb"} if i % 4 == 0 else {},
            }
            for i in range(120)
        ]
    )


def _shapes(db: Database) -> list[Any]:
    """The compiled ``SELECT`` shapes in the database's statement cache."""
    return db._executor.statements.entries("select")


@pytest.mark.parametrize(
    "arguments",
    [
        {"status": "active", "order_by": "-created_at", "limit": 7},
        {"order_by": ["status", "-slug"], "limit": 10, "offset": 5},
        {"tags__has": "x", "name__contains": "1", "limit": 50},
        {"architecture__database": "duckdb", "order_by": "slug"},
        {"status__in": ["active", "paused"], "limit": 9},  # expanding IN: SQLAlchemy's path
    ],
)
async def test_pages_equal_the_sqlalchemy_path_inside_a_transaction(
    db: Database, arguments: dict[str, Any]
) -> None:
    await _fill(db)
    native = await db.projects.list(**arguments)
    async with db.transaction() as tx:  # the transaction's own path: SQLAlchemy's execute
        expected = await tx.projects.list(**arguments)
    assert native == expected
    assert native.items


async def test_a_keyset_walk_is_the_same_natively_and_each_shape_compiles_once(
    db: Database,
) -> None:
    await _fill(db)
    seen: list[str] = []
    page = await db.projects.list(order_by="-slug", limit=25)
    while True:
        seen.extend(item.slug for item in page.items)
        if page.next_cursor is None:
            break
        page = await db.projects.list(order_by="-slug", limit=25, cursor=page.next_cursor)
    assert seen == sorted((f"p-{i:03}" for i in range(120)), reverse=True)
    # pages compile per shape of page (``_page_shapes.py``), not per statement
    shapes = db._executor.statements.entries("page")
    assert len(shapes) == 2  # first page, and every page after it
    assert all(shape is not None for shape in shapes)


async def test_refused_values_keep_their_typed_errors(db: Database) -> None:
    await _fill(db)
    await db.projects.list(status="active")  # the shape is compiled natively first
    with pytest.raises(ProjectArchitectDBError):
        await db.projects.list(status="'; DROP TABLE projects; --")
    with pytest.raises(ProjectArchitectDBError):
        await db.projects.list(created_at__gte="yesterday")
    with pytest.raises(InvalidQueryError):
        await db.projects.list(no_such_field=1)
    assert await db.projects.count() == 120


async def test_the_shape_memory_is_bounded(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await _fill(db)
    monkeypatch.setattr(db._executor.statements, "max_entries", 2)
    for limit in (1, 2, 3):  # LIMIT is a bound value: one shape
        await db.projects.list(limit=limit)
    for order in ("slug", "name", "status", "-slug"):
        await db.projects.list(order_by=order)
    assert len(_shapes(db)) <= 2


def test_a_native_row_answers_like_a_row() -> None:
    row = NativeRow({"slug": "p-1"})
    assert row.slug == "p-1"
    assert row._mapping == {"slug": "p-1"}
    with pytest.raises(AttributeError):
        _ = row.missing
