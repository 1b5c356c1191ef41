"""``project_health`` for what a dashboard shows: a keyset page by name, or one project.

At 1M projects the whole answer is seconds of work; a page groups only its projects' child rows
(docs/performance.md, "Analytics at 1M rows (session 10)"), and the call without arguments is
the first page of 50 (session 11); ``limit=None`` asks for every project. A page must be
exactly the slice of the whole answer, which is compared with the SQL the answer had before
session 9 (``tests/_analytics_before.py``), on the edge-case dataset of
``test_rewrite_equivalence.py`` (tied names decided by id, projects without any child rows).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from project_architect_db import Database
from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.queries.analytics import cache_info
from project_architect_db.queries.analytics.answers import AnalyticsAnswers
from project_architect_db.queries.analytics.answers._overview import HEALTH_PAGE
from project_architect_db.schemas import ProjectCreate
from tests._analytics_before import BEFORE
from tests.integration.analytics.test_rewrite_equivalence import (
    PROJECTS,
    _rows_equal,
    dataset_sql,
)

ANSWERS = AnalyticsAnswers(None)


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("health-pages") / "health.duckdb"

    async def migrate() -> None:
        async with Database.open(target, load_fts=False):
            pass

    asyncio.run(migrate())
    with duckdb.connect(str(target)) as con:
        for statement in dataset_sql():
            con.execute(statement)
    return target


@pytest.fixture(scope="module")
def connection(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(path), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def whole(connection: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    rows = connection.execute(*BEFORE["project_health"]).fetchall()
    assert len(rows) == PROJECTS
    return rows


def _run(connection: duckdb.DuckDBPyConnection, query: Any) -> list[tuple[Any, ...]]:
    return connection.execute(*query.compiled()).fetchall()


@pytest.mark.parametrize("size", [1, 7, 50, PROJECTS + 1])
def test_keyset_pages_walk_the_whole_answer_in_its_order(
    connection: duckdb.DuckDBPyConnection, whole: list[tuple[Any, ...]], size: int
) -> None:
    walked: list[tuple[Any, ...]] = []
    page = _run(connection, ANSWERS.project_health(limit=size))
    while page:
        assert len(page) <= size
        walked += page
        last = page[-1]
        page = _run(connection, ANSWERS.project_health(limit=size, after=(last[1], last[0])))
    assert _rows_equal(whole, walked)


def test_a_page_after_a_tied_name_continues_by_id(
    connection: duckdb.DuckDBPyConnection, whole: list[tuple[Any, ...]]
) -> None:
    names = [row[1] for row in whole]
    tied = next(i for i in range(len(names) - 1) if names[i] == names[i + 1])
    after = (whole[tied][1], whole[tied][0])
    assert _rows_equal(
        whole[tied + 1 : tied + 4],
        _run(connection, ANSWERS.project_health(limit=3, after=after)),
    )
    # the default page size, and no limit: every project after the cursor
    rest = whole[tied + 1 :]
    assert len(rest) > HEALTH_PAGE
    assert _rows_equal(rest[:HEALTH_PAGE], _run(connection, ANSWERS.project_health(after=after)))
    assert _rows_equal(rest, _run(connection, ANSWERS.project_health(limit=None, after=after)))


def test_the_call_without_arguments_is_the_first_page_of_the_whole_answer(
    connection: duckdb.DuckDBPyConnection, whole: list[tuple[Any, ...]]
) -> None:
    assert len(whole) > HEALTH_PAGE == 50
    assert _rows_equal(whole[:HEALTH_PAGE], _run(connection, ANSWERS.project_health()))
    assert _rows_equal(whole, _run(connection, ANSWERS.project_health(limit=None)))
    assert _rows_equal(whole[:7], _run(connection, ANSWERS.project_health(limit=7)))


def test_a_first_page_that_ends_inside_a_tied_name_is_decided_by_id(
    connection: duckdb.DuckDBPyConnection, whole: list[tuple[Any, ...]]
) -> None:
    # the first page reads names up to its last one: every project of that name is a candidate
    names = [row[1] for row in whole]
    ends = [i + 1 for i in range(len(names) - 1) if names[i] == names[i + 1]]
    assert ends
    for size in ends:
        assert _rows_equal(whole[:size], _run(connection, ANSWERS.project_health(limit=size)))


def test_first_pages_of_every_size_are_compiled_once_each(
    connection: duckdb.DuckDBPyConnection, whole: list[tuple[Any, ...]]
) -> None:
    # the first page's size is part of its SQL, so a cached page of another size is never
    # reused for it
    for size in (3, 4, 3, HEALTH_PAGE, 4):
        sql, params = ANSWERS.project_health(limit=size).compiled()
        assert f"LIMIT {size}" in sql
        assert _rows_equal(whole[:size], connection.execute(sql, params).fetchall())
    before = cache_info()
    ANSWERS.project_health(limit=3).compiled()
    after = cache_info()
    assert after["hits"] == before["hits"] + 1 and after["misses"] == before["misses"]


def test_one_project_is_its_row_of_the_whole_answer(
    connection: duckdb.DuckDBPyConnection, whole: list[tuple[Any, ...]]
) -> None:
    # projects i % 10 = 3 have no conversations; others have builds, documents, deployments
    empty = next(row for row in whole if row[4] == 0)
    busy = max(whole, key=lambda row: (row[4], row[8], row[10]))
    assert busy[4] > 0 and busy[8] > 0
    for row in (empty, busy):
        for key in (row[0], str(row[0])):
            assert _rows_equal([row], _run(connection, ANSWERS.project_health(project_id=key)))
    assert _run(connection, ANSWERS.project_health(project_id=uuid.uuid4())) == []


def test_a_cursor_past_the_last_name_gives_an_empty_page(
    connection: duckdb.DuckDBPyConnection, whole: list[tuple[Any, ...]]
) -> None:
    last = whole[-1]
    assert _run(connection, ANSWERS.project_health(limit=5, after=(last[1], last[0]))) == []
    # a cursor needs no existing project: a deleted one still places the next page
    gone = (whole[0][1], uuid.UUID(int=0))
    assert _rows_equal(whole[:5], _run(connection, ANSWERS.project_health(limit=5, after=gone)))


async def test_a_page_through_the_database_follows_writes(database: Database) -> None:
    for name in ("Borealis", "Atlas", "Cygnus"):
        await database.projects.create(ProjectCreate(name=name, slug=name.lower()))
    health = database.analytics.project_health
    first = await health(limit=2).rows()
    assert [row["name"] for row in first] == ["Atlas", "Borealis"]
    assert first[0]["conversations"] == 0 and first[0]["build_success_rate"] is None
    after = (first[-1]["name"], first[-1]["project_id"])
    assert [row["name"] for row in await health(limit=2, after=after).rows()] == ["Cygnus"]
    await database.projects.create(ProjectCreate(name="Bach", slug="bach"))
    assert [row["name"] for row in await health(limit=2, after=after).rows()] == ["Cygnus"]
    assert [row["name"] for row in await health(limit=3).rows()] == ["Atlas", "Bach", "Borealis"]
    one = await health(project_id=first[0]["project_id"]).to_arrow()
    assert one.column("name").to_pylist() == ["Atlas"]
    assert [row["name"] for row in await health().rows()] == ["Atlas", "Bach", "Borealis", "Cygnus"]
    assert [row["name"] for row in await health(limit=None).rows()] == [
        "Atlas",
        "Bach",
        "Borealis",
        "Cygnus",
    ]


async def test_the_first_page_of_an_empty_database_is_empty(database: Database) -> None:
    assert await database.analytics.project_health().rows() == []
    assert (await database.analytics.project_health(limit=None).to_arrow()).num_rows == 0


@pytest.mark.parametrize("limit", [0, -1, 10_001, True, 2.0, "5"])
def test_a_limit_that_is_not_a_page_size_is_refused(limit: Any) -> None:
    with pytest.raises(InvalidQueryError, match=r"limit must be an integer in 1\.\.10000"):
        ANSWERS.project_health(limit=limit)


@pytest.mark.parametrize(
    "after",
    [
        "Atlas",
        ("Atlas",),
        ("Atlas", uuid.uuid4(), 1),
        (uuid.uuid4(), "Atlas"),
        {"name": "Atlas"},
    ],
)
def test_a_cursor_that_is_not_a_name_and_id_pair_is_refused(after: Any) -> None:
    with pytest.raises(
        InvalidQueryError, match=r"after must be the last row's \(name, project_id\)"
    ):
        ANSWERS.project_health(limit=5, after=after)


@pytest.mark.parametrize("key", ["not-a-uuid", 42, b"0123456789abcdef", None.__class__])
def test_a_project_id_that_is_not_a_uuid_is_refused(key: Any) -> None:
    with pytest.raises(InvalidQueryError, match="must be a project id"):
        ANSWERS.project_health(project_id=key)
    with pytest.raises(InvalidQueryError, match="must be a project id"):
        ANSWERS.project_health(limit=5, after=("Atlas", key))


@pytest.mark.parametrize("limit", [5, None])
def test_one_project_and_a_cursor_at_once_are_refused(limit: int | None) -> None:
    with pytest.raises(InvalidQueryError, match="answers for one project; page through"):
        ANSWERS.project_health(
            project_id=uuid.uuid4(), limit=limit, after=("Atlas", uuid.UUID(int=1))
        )


def test_one_project_with_a_page_size_is_still_its_one_row(
    connection: duckdb.DuckDBPyConnection, whole: list[tuple[Any, ...]]
) -> None:
    # the default page size always comes with project_id=, so a size never refuses one project
    row = whole[len(whole) // 2]
    for limit in (1, 5, None):
        query = ANSWERS.project_health(project_id=row[0], limit=limit)
        assert _rows_equal([row], _run(connection, query))
    with pytest.raises(InvalidQueryError, match=r"limit must be an integer in 1\.\.10000"):
        ANSWERS.project_health(project_id=row[0], limit=0)


async def test_an_unbound_page_says_how_to_bind_it() -> None:
    with pytest.raises(InvalidQueryError, match="not bound to a database"):
        await ANSWERS.project_health(limit=5).rows()
