"""Pages on a lake: one plain ``ORDER BY ... LIMIT`` (``page_statement(plain=True)``)."""

from __future__ import annotations

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import InvalidQueryError


async def test_pages_by_offset_and_cursor_walk_every_row_once_in_order(
    lake_database: Database,
) -> None:
    db = lake_database
    names = [f"n{(i * 7) % 23:02d}" for i in range(23)]
    await db.projects.bulk_create(
        [
            {"name": name, "slug": f"s{i}", "status": "active" if i % 2 else "draft"}
            for i, name in enumerate(names)
        ]
    )
    expected = sorted(names)
    by_offset = [
        p.name
        for o in (0, 5, 10, 15, 20)
        for p in (await db.projects.list(limit=5, offset=o, order_by="name")).items
    ]
    assert by_offset == expected
    walked, cursor = [], None
    while True:
        page = await db.projects.list(limit=4, order_by="-name", cursor=cursor, with_total=True)
        assert page.total == 23
        walked += [p.name for p in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert walked == expected[::-1]
    active = await db.projects.list(limit=50, order_by="name", status="active")
    assert [p.name for p in active.items] == sorted(n for i, n in enumerate(names) if i % 2)
    async with db.transaction() as tx:  # the same statement inside a unit of work
        inside = await tx.projects.list(limit=3, order_by="name")
    assert [p.name for p in inside.items] == expected[:3]


async def test_bad_page_arguments_on_a_lake_are_refused(lake_database: Database) -> None:
    with pytest.raises(InvalidQueryError, match="either offset or cursor"):
        await lake_database.projects.list(limit=5, offset=5, cursor="x")
    with pytest.raises(InvalidQueryError, match="limit"):
        await lake_database.projects.list(limit=5000)
    with pytest.raises(InvalidQueryError):
        await lake_database.projects.list(order_by="no_such_field")
