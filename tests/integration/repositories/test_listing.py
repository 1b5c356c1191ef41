"""Listing: filters, sorting, offset and keyset pagination, streaming and Arrow export."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from project_architect_db import Database, InvalidQueryError, ProjectArchitectDBError
from project_architect_db.queries.filters import (
    Contains,
    Eq,
    In,
    IsNull,
    JsonPathEq,
    ListContains,
    NotEq,
    Range,
)
from project_architect_db.schemas import ProjectCreate


async def _seed(db: Database) -> None:
    await db.projects.bulk_create(
        [
            ProjectCreate(
                name=f"Project {i:02d}",
                status=["draft", "active", "paused"][i % 3],
                tags=["api"] if i % 2 else ["web"],
                description=None if i % 4 == 0 else f"about {i} 100% done_ok",
                architecture={"database": "postgresql" if i % 5 == 0 else "duckdb", "n": i},
            )
            for i in range(20)
        ]
    )


async def test_keyword_filters_cover_every_operator(db: Database) -> None:
    await _seed(db)
    names = lambda page: sorted(p.name for p in page.items)  # noqa: E731
    assert len((await db.projects.list(status="active")).items) == 7
    assert len((await db.projects.list(status__in=["draft", "paused"])).items) == 13
    assert len((await db.projects.list(status__ne="active")).items) == 13
    assert len((await db.projects.list(description__isnull=True)).items) == 5
    assert len((await db.projects.list(description=None)).items) == 5
    assert len((await db.projects.list(tags__has="api")).items) == 10
    # on a list field, __contains means membership, like __has
    assert len((await db.projects.list(tags__contains="api")).items) == 10
    assert len((await db.projects.list(tags__contains="ap")).items) == 0
    assert names(await db.projects.list(name__contains="PROJECT 1")) == [
        f"Project 1{i}" for i in range(10)
    ]
    # % and _ are matched literally, not as LIKE wildcards
    assert len((await db.projects.list(description__contains="100% done_ok")).items) == 15
    assert len((await db.projects.list(description__contains="100%_done")).items) == 0
    assert len((await db.projects.list(architecture__database="postgresql")).items) == 4
    assert len((await db.projects.list(architecture__n=3)).items) == 1
    since = datetime.now(UTC) - timedelta(hours=1)
    assert len((await db.projects.list(created_at__gte=since, limit=100)).items) == 20
    assert len((await db.projects.list(created_at__lt=since)).items) == 0


async def test_filter_objects_compose(db: Database) -> None:
    await _seed(db)
    page = await db.projects.list(
        filters=[
            In("status", ["active", "draft"]),
            ListContains("tags", "api"),
            NotEq("status", None),
            IsNull("description", is_null=False),
            Range("version", gte=1, lte=1),
            Contains("name", "project", case_sensitive=False),
            JsonPathEq("architecture", ("database",), "duckdb"),
            Eq("phase", "requirements"),
        ],
        limit=100,
    )
    assert {p.status for p in page.items} <= {"active", "draft"}
    assert all("api" in p.tags for p in page.items)
    assert all(p.architecture["database"] == "duckdb" for p in page.items)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"colour": "red"}, "Valid fields"),
        ({"status__between": 1}, "Unknown operator"),
        ({"status__in": "active"}, "list of values"),
        ({"tags": "api"}, "holds a list"),
        ({"architecture": {}}, "holds JSON"),
        ({"status__has": "x"}, "not a list field"),
        ({"name__contains": 5}, "takes a string"),
        ({"version__contains": "1"}, "not a text field"),
        ({"created_at__contains": "2024"}, "not a text field"),
        ({"description__isnull": "yes"}, "True or False"),
        ({"architecture__a_b__c-d": 1}, "JSON keys"),
        ({"architecture__x": [1]}, "compares with"),
        ({"order_by": "colour"}, "Valid fields"),
        ({"order_by": "--"}, "Invalid sort"),
        ({"order_by": 5}, "order_by takes"),
        ({"limit": -1}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": True}, "limit"),
        ({"offset": -3}, "offset"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": "", "order_by": "name"}, "cursor"),
    ],
)
async def test_invalid_listing_arguments_raise_invalid_query(
    db: Database, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        await db.projects.list(**kwargs)  # type: ignore[arg-type]


async def test_filters_must_be_filter_objects_and_ranges_need_bounds(db: Database) -> None:
    with pytest.raises(InvalidQueryError, match="Filter objects"):
        await db.projects.list(filters=["status = 'x'"])  # type: ignore[list-item]
    with pytest.raises(InvalidQueryError, match="at least one bound"):
        await db.projects.list(filters=[Range("version")])
    with pytest.raises(InvalidQueryError, match="at most"):
        await db.projects.list(status__in=list(range(10_001)))


async def test_an_empty_in_list_matches_nothing(db: Database) -> None:
    await _seed(db)
    assert (await db.projects.list(status__in=[])).items == []


async def test_sorting_and_offset_pagination_with_total(db: Database) -> None:
    await _seed(db)
    first = await db.projects.list(order_by="-name", limit=5, with_total=True)
    second = await db.projects.list(order_by="-name", limit=5, offset=5)
    assert first.total == 20
    assert [p.name for p in first.items] == [f"Project {i:02d}" for i in range(19, 14, -1)]
    assert [p.name for p in second.items] == [f"Project {i:02d}" for i in range(14, 9, -1)]
    by_two = await db.projects.list(order_by=["status", "-name"], limit=20)
    assert [p.status for p in by_two.items] == sorted(p.status for p in by_two.items)
    with pytest.raises(InvalidQueryError, match="either offset or cursor"):
        await db.projects.list(offset=5, cursor=first.next_cursor)


async def test_cursor_pagination_walks_every_row_once(db: Database) -> None:
    await _seed(db)
    seen: list[str] = []
    cursor = None
    while True:
        page = await db.projects.list(order_by=["status", "-name"], limit=3, cursor=cursor)
        seen.extend(p.name for p in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == [f"Project {i:02d}" for i in range(20)]
    assert len(seen) == 20


async def test_a_cursor_from_another_sort_or_a_nullable_sort_is_refused(db: Database) -> None:
    await _seed(db)
    page = await db.projects.list(order_by="name", limit=2)
    assert page.next_cursor is not None
    with pytest.raises(InvalidQueryError, match="another listing"):
        await db.projects.list(order_by="-name", cursor=page.next_cursor)
    nullable = await db.projects.list(order_by="description", limit=2)
    assert nullable.next_cursor is None  # offset pagination only on nullable sort keys
    with pytest.raises(InvalidQueryError, match="may be empty"):
        await db.projects.list(order_by="description", cursor=page.next_cursor)


async def test_keyset_walks_ten_thousand_rows_while_rows_are_inserted(file_db: Database) -> None:
    await file_db.projects.bulk_create([ProjectCreate(name=f"Base {i}") for i in range(10_000)])
    original = {p async for batch in file_db.projects.stream() for p in (x.id for x in batch)}
    stop = asyncio.Event()

    async def writer() -> int:
        written = 0
        while not stop.is_set():
            await file_db.projects.create({"name": f"Late {written}"})
            written += 1
            await asyncio.sleep(0)
        return written

    task = asyncio.create_task(writer())
    seen: list[object] = []
    cursor = None
    try:
        while True:
            page = await file_db.projects.list(order_by="created_at", limit=100, cursor=cursor)
            seen.extend(p.id for p in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    finally:
        stop.set()
        written = await task
    assert written > 0
    assert len(seen) == len(set(seen))  # no duplicate
    assert original <= set(seen)  # no gap: every row present before the walk was seen


async def test_stream_yields_bounded_batches_in_order(db: Database) -> None:
    await _seed(db)
    batches = [batch async for batch in db.projects.stream(order_by="name", batch_size=6)]
    assert [len(batch) for batch in batches] == [6, 6, 6, 2]
    names = [p.name for batch in batches for p in batch]
    assert names == sorted(names)
    with pytest.raises(InvalidQueryError, match="batch_size"):
        async for _ in db.projects.stream(batch_size=0):
            pass
    with pytest.raises(InvalidQueryError):
        async for _ in db.projects.stream(colour="red"):
            pass


async def test_to_arrow_returns_a_table_with_utc_timestamps(db: Database) -> None:
    await _seed(db)
    table = await db.projects.to_arrow(status="active", order_by="name", limit=5)
    assert isinstance(table, pa.Table)
    assert table.num_rows == 5
    assert table.schema.field("created_at").type == pa.timestamp("us", "UTC")
    assert table.column("name").to_pylist() == sorted(table.column("name").to_pylist())
    everything = await db.projects.to_arrow(status__in=["active", "draft"])
    assert everything.num_rows == 14
    with pytest.raises(InvalidQueryError):
        await db.projects.to_arrow(limit=-1)
    with pytest.raises(InvalidQueryError):
        await db.projects.to_arrow(colour="x")


_fields = st.sampled_from(
    ["name", "slug", "status", "version", "tags", "architecture", "created_at", "nope", "id"]
)
_operators = st.sampled_from(
    ["", "__in", "__gte", "__lt", "__has", "__contains", "__isnull", "__x"]
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.lists(st.text(max_size=5), max_size=3),
    st.just("'; DROP TABLE projects; --"),
    st.just("\x00"),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    conditions=st.dictionaries(
        st.builds(lambda f, o: f + o, _fields, _operators), _values, max_size=3
    ),
    order_by=st.one_of(
        st.none(), st.builds(lambda s, f: s + f, st.sampled_from(["", "-"]), _fields)
    ),
    limit=st.integers(min_value=-5, max_value=1200),
    offset=st.integers(min_value=-5, max_value=50),
)
async def test_random_list_arguments_give_correct_results_or_library_errors(
    db: Database,
    conditions: dict[str, object],
    order_by: str | None,
    limit: int,
    offset: int,
) -> None:
    if await db.projects.count() == 0:
        await _seed(db)
    try:
        page = await db.projects.list(order_by=order_by, limit=limit, offset=offset, **conditions)
    except ProjectArchitectDBError:
        pass
    else:
        assert len(page.items) <= limit
        assert page.offset == offset
    assert await db.projects.count() == 20  # nothing was executed that the caller did not mean
