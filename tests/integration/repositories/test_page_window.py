"""The first-key window of a page (``repositories/_pages.page_window``) on adversarial data.

The window's answer is used only when it holds the whole page; these tests compare every
page ``list()`` returns with the plain ``ORDER BY ... LIMIT ... OFFSET`` on the same data, on
data that breaks the window's assumptions: rows inserted out of time order, far outliers
(the statistics' span is huge), ties on the first key, the newest rows deleted (the
statistics' ``max`` is stale), updates that move rows, a filter matching few rows.
``WINDOW_ROWS`` is lowered so that a few hundred rows hold many windows.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.models import Project
from project_architect_db.queries.filters import parse_filters
from project_architect_db.queries.sorting import decode_cursor, parse_order
from project_architect_db.repositories import _pages
from project_architect_db.repositories._pages import page_statement, page_window

_STATUSES = ("draft", "active", "active", "paused", "completed")


async def _raw(db: Database, sql: str) -> None:
    async with db.engine.begin() as conn:
        await run_native(conn, lambda duck: duck.execute(sql))


async def _adversarial(db: Database) -> None:
    """400 projects whose created_at breaks every assumption of the window."""
    await db.projects.bulk_create(
        [{"name": f"P {i}", "status": _STATUSES[i % 5]} for i in range(400)]
    )
    # out of insertion order (a hash), with ties (only 40 distinct instants), one far past and
    # one far future outlier, then the newest rows deleted (statistics keep the old max)
    await _raw(
        db,
        "UPDATE projects SET created_at = TIMESTAMP '2026-01-01' "
        "+ to_minutes((hash(id) % 40)::BIGINT)",
    )
    await _raw(
        db,
        "UPDATE projects SET created_at = TIMESTAMP '1990-01-01' WHERE id = "
        "(SELECT min(id) FROM projects)",
    )
    await _raw(
        db,
        "UPDATE projects SET created_at = TIMESTAMP '2090-01-01' WHERE id = "
        "(SELECT max(id) FROM projects)",
    )
    await _raw(db, "DELETE FROM projects WHERE created_at >= TIMESTAMP '2026-01-01 00:38:00'")
    await db.projects.bulk_create([{"name": f"late {i}", "status": "paused"} for i in range(5)])


async def _plain(
    db: Database, conditions: dict[str, Any], order_by: str, limit: int, offset: int = 0
) -> list[uuid.UUID]:
    keys = parse_order(Project, order_by)
    statement = (
        select(Project.__table__.c.id)
        .where(*parse_filters(Project, conditions))
        .order_by(*(key.order() for key in keys))
        .limit(limit)
        .offset(offset)
    )
    async with db.engine.connect() as conn:
        return list((await conn.execute(statement)).scalars())


async def _walk(db: Database, conditions: dict[str, Any], order_by: str, limit: int) -> list[Any]:
    seen: list[uuid.UUID] = []
    cursor = None
    while True:
        page = await db.projects.list(order_by=order_by, limit=limit, cursor=cursor, **conditions)
        seen.extend(p.id for p in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return seen


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows of 8 rows' worth of the span per 64 rows asked: many windows miss."""
    monkeypatch.setattr(_pages, "WINDOW_ROWS", 8)


@pytest.mark.parametrize("order_by", ["-created_at", "created_at", "-updated_at,name"])
@pytest.mark.parametrize(
    "conditions", [{}, {"status": "active"}, {"status": "paused"}, {"name__contains": "1"}]
)
@pytest.mark.usefixtures("narrow")
async def test_pages_equal_the_plain_query_on_adversarial_data(
    file_db: Database, order_by: str, conditions: dict[str, Any]
) -> None:
    await _adversarial(file_db)
    everything = await _plain(file_db, conditions, order_by, 10_000)
    assert len(everything) > 20
    for limit in (4, 50):
        assert await _walk(file_db, conditions, order_by, limit) == everything
    for offset in (0, 3, 40, len(everything) - 2, len(everything) + 5):
        page = await file_db.projects.list(order_by=order_by, limit=9, offset=offset, **conditions)
        assert [p.id for p in page.items] == everything[offset : offset + 9]
        assert (page.next_cursor is not None) == (offset + 9 < len(everything))


async def _window_rows(db: Database, statement: Any) -> list[Any]:
    async with db.engine.connect() as conn:
        return list((await conn.execute(statement)).all())


async def test_the_window_holds_a_page_of_recent_rows_and_misses_a_sparse_one(
    file_db: Database, narrow: None
) -> None:
    # 300 rows one second apart, in time order: the newest 8 rows' span holds 8 rows
    await file_db.projects.bulk_create([{"name": f"P {i}"} for i in range(300)])
    await _raw(
        file_db,
        "UPDATE projects SET created_at = TIMESTAMP '2026-01-01' + to_seconds(rowid::BIGINT), "
        "status = CASE WHEN rowid = 0 THEN 'paused' ELSE 'active' END",
    )
    table = Project.__table__
    keys = parse_order(Project, "-created_at")
    active = parse_filters(Project, {"status": "active"})
    held = page_window(table, active, keys, limit=5)
    assert held is not None
    assert len(await _window_rows(file_db, held)) == 5  # exact: list() asks nothing else
    paused = parse_filters(Project, {"status": "paused"})
    missed = page_window(table, paused, keys, limit=5)
    assert missed is not None
    assert await _window_rows(file_db, missed) == []  # the oldest row is outside the window
    page = await file_db.projects.list(status="paused", order_by="-created_at", limit=5)
    assert len(page.items) == 1  # ... so list() asked the plain page
    # a cursor anchors the window at its own value
    first = await file_db.projects.list(status="active", order_by="-created_at", limit=5)
    assert first.next_cursor is not None
    after = decode_cursor(Project, keys, first.next_cursor)
    anchored = page_window(table, active, keys, limit=5, after=after)
    assert anchored is not None
    assert len(await _window_rows(file_db, anchored)) == 5


def _windowed_sql(statement: Any) -> str:
    return " ".join(str(statement).split())


@pytest.mark.parametrize(
    ("order_by", "conditions"),
    [
        ("name", {}),  # not a timestamp
        ("-description", {}),  # may be NULL
        ("-created_at", {"id": uuid.uuid4()}),  # an owner's rows: read through the index
    ],
)
def test_no_window_where_it_cannot_be_exact_or_an_index_answers(
    order_by: str, conditions: dict[str, Any]
) -> None:
    keys = parse_order(Project, order_by)
    where = parse_filters(Project, conditions)
    assert page_window(Project.__table__, where, keys, limit=5) is None  # type: ignore[arg-type]
    plain = page_statement(Project.__table__, where, keys, limit=5)  # type: ignore[arg-type]
    assert "edge" not in _windowed_sql(plain)


async def test_windowed_pages_keep_their_errors(db: Database) -> None:
    await db.projects.bulk_create([{"name": f"P {i}"} for i in range(5)])
    page = await db.projects.list(order_by="-created_at", limit=2)
    with pytest.raises(InvalidQueryError, match="another listing"):
        await db.projects.list(order_by="created_at", limit=2, cursor=page.next_cursor)
    with pytest.raises(InvalidQueryError, match="not one this library returned"):
        await db.projects.list(order_by="-created_at", cursor="x" * 10)
    with pytest.raises(InvalidQueryError, match="either offset or cursor"):
        await db.projects.list(order_by="-created_at", offset=1, cursor=page.next_cursor)


@pytest.mark.parametrize("order_by", ["-created_at", "created_at"])
@pytest.mark.usefixtures("narrow")
async def test_windows_stay_inside_the_timestamp_range_at_its_edges(
    db: Database, order_by: str
) -> None:
    # a span of 9,999 years and cursors at both ends: no bound may leave the range
    await db.projects.bulk_create([{"name": f"P {i}"} for i in range(7)])
    await _raw(
        db,
        "UPDATE projects SET created_at = CASE WHEN rowid % 2 = 0 "
        "THEN TIMESTAMP '0001-01-01' ELSE TIMESTAMP '9999-12-31 23:59:59.999999' END",
    )
    everything = await _plain(db, {}, order_by, 100)
    assert len(everything) == 7
    assert await _walk(db, {}, order_by, 1) == everything
    assert await _walk(db, {}, order_by, 3) == everything
