"""``rows()`` builds dicts column by column from Arrow; it must equal DuckDB's own conversion."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from project_architect_db import Database, InvalidQueryError
from project_architect_db import sql as padb_sql
from project_architect_db.models import Project
from project_architect_db.queries.analytics import _execute
from project_architect_db.queries.analytics._execute import _tuple_records
from project_architect_db.queries.analytics._rows import (
    NeedsFetchall,
    arrow_records,
    column_converters,
)
from project_architect_db.schemas import ProjectCreate


def _both(sql: str) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """(columnar result or None when it falls back, the fetchall-based result)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        cursor = con.execute(sql)
        description = cursor.description or []
        converters = column_converters([str(item[1]) for item in description])
        columnar = None
        if converters is not None:
            columnar = arrow_records(cursor.to_arrow_table(), converters)
        cursor = con.execute(sql)
        return columnar, _tuple_records(cursor.description or [], cursor.fetchall())
    finally:
        con.close()


_TYPED = """
SELECT *, CASE WHEN u IS NOT NULL THEN sum(3::INTEGER) OVER () END AS total FROM (VALUES
  ('00000000-0000-7000-8000-00000000002a'::UUID, TIMESTAMP '2025-03-04 05:06:07.123456',
   TIMESTAMPTZ '2025-03-04 05:06:07+00', 12::HUGEINT, 1.25::DECIMAL(9, 3), 'text',
   DATE '2025-01-02', true, 7::TINYINT, 8::UBIGINT, 2.5::FLOAT, 3.5::DOUBLE),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) t(u, ts, tstz, huge, dec, txt, d, b, tiny, ubig, f, dbl)
ORDER BY u NULLS LAST
"""


def test_every_fast_type_converts_like_duckdb_and_timestamps_are_utc() -> None:
    columnar, expected = _both(_TYPED)
    assert columnar is not None
    assert columnar == expected
    first, nulls = columnar
    assert first["u"] == uuid.UUID("00000000-0000-7000-8000-00000000002a")
    assert type(first["u"]) is uuid.UUID and first["u"].version == 7
    assert first["ts"] == datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    assert first["ts"].utcoffset() == timedelta(0)
    assert first["tstz"] == datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert first["huge"] == 12 and type(first["huge"]) is int
    assert first["total"] == 6 and type(first["total"]) is int  # sum(INTEGER) is a HUGEINT
    assert first["dec"] == Decimal("1.250")
    assert first["d"] == date(2025, 1, 2)
    assert all(value is None for value in nulls.values())


def test_a_hugeint_beyond_64_bits_stays_exact() -> None:
    columnar, expected = _both("SELECT (2::HUGEINT ** 100)::HUGEINT AS big, -5::HUGEINT AS small")
    assert columnar == expected == [{"big": 2**100, "small": -5}]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT INTERVAL 3 DAY AS gap",  # Arrow has its own interval type: fetchall gives timedelta
        "SELECT [TIMESTAMP '2025-01-01'] AS stamps",  # nested timestamps
        "SELECT {'id': '00000000-0000-7000-8000-00000000002a'::UUID} AS record",
        "SELECT 'x'::BLOB AS blob",
    ],
)
def test_other_types_take_duckdb_s_own_conversion(sql: str) -> None:
    columnar, expected = _both(sql)
    assert columnar is None
    assert len(expected) == 1


def test_names_that_are_not_identifiers_and_repeated_names_behave_like_dict_zip() -> None:
    sql = (
        'SELECT 1 AS "it\'s ""quoted""", 2 AS "new\nline", 3 AS "a", 4 AS "a", '
        '5 AS "lambda", 6 AS "_0"'
    )
    columnar, expected = _both(sql)
    assert columnar == expected
    assert columnar == [{'it\'s "quoted"': 1, "new\nline": 2, "a": 4, "lambda": 5, "_0": 6}]


def test_no_rows_and_many_columns() -> None:
    columnar, expected = _both("SELECT 1 AS a WHERE false")
    assert columnar == expected == []
    wide = ", ".join(f"{index} AS c{index}" for index in range(400))
    columnar, expected = _both(f"SELECT {wide} FROM range(3)")
    assert columnar == expected
    assert columnar is not None and len(columnar) == 3 and columnar[2]["c399"] == 399


def test_a_result_in_several_arrow_chunks_keeps_its_order() -> None:
    sql = """SELECT i, ('00000000-0000-7000-8000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS u,
                    TIMESTAMP '2025-01-01' + to_seconds(i) AS at
             FROM range(300000) t(i) ORDER BY i"""
    columnar, expected = _both(sql)
    assert columnar is not None
    assert len(columnar) == 300000
    assert columnar == expected


async def test_a_large_result_switches_to_the_arrow_path_and_gives_the_same_rows(
    database: Database,
) -> None:
    ids = await database.projects.bulk_create(
        [ProjectCreate(name=f"P{i}", slug=f"p-{i}") for i in range(1200)]
    )
    query = database.analytics.query(Project).select("id", "slug", "created_at", "version")
    query = query.order_by("slug")
    sql = query.sql()
    _execute._LARGE.discard(sql)
    first = await query.rows()  # fetchall: learns that this query is large
    assert sql in _execute._LARGE
    second = await query.rows()  # Arrow, column by column
    assert second == first
    assert [type(row["id"]) for row in second[:1]] == [uuid.UUID]
    assert {row["id"] for row in second} == set(ids)
    assert all(row["created_at"].tzinfo is not None for row in second)
    # the result shrinks under the threshold: back to fetchall next time
    smaller = database.analytics.query(Project).select("id").where(slug__contains="p-11")
    assert len(await smaller.rows()) < _execute._LARGE_RESULT
    assert smaller.sql() not in _execute._LARGE


async def test_the_memory_of_large_queries_is_bounded(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_execute, "_LARGE", set())
    monkeypatch.setattr(_execute, "_LARGE_RESULT", 2)
    monkeypatch.setattr(_execute, "_LARGE_REMEMBERED", 2)
    await database.projects.bulk_create(
        [ProjectCreate(name=f"P{i}", slug=f"p-{i}") for i in range(3)]
    )
    queries = [
        database.analytics.query(Project).select(*fields) for fields in (["id"], ["slug"], ["name"])
    ]
    for query in queries:
        assert len(await query.rows()) == 3
    assert {queries[2].sql()} == _execute._LARGE  # forgot the first two, then learned again
    with pytest.raises(InvalidQueryError):
        await database.analytics.query(Project).select("no_such_field").rows()


async def test_infinite_timestamps_in_a_large_result_give_duckdb_s_own_values(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_execute, "_LARGE", set())
    monkeypatch.setattr(_execute, "_FETCHALL_ONLY", set())
    monkeypatch.setattr(_execute, "_LARGE_RESULT", 2)
    await database.projects.bulk_create(
        [ProjectCreate(name=f"P{i}", slug=f"p-{i}") for i in range(3)]
    )
    query = database.analytics.query(Project).select("slug", "created_at").order_by("slug")
    sql = query.sql()
    assert len(await query.rows()) == 3
    assert sql in _execute._LARGE
    # an infinite timestamp cannot be an epoch offset: DuckDB itself gives datetime.max
    async with database.transaction() as tx:
        await tx.execute(padb_sql("UPDATE projects SET created_at = 'infinity' WHERE slug = 'p-0'"))
    rows = await query.rows()
    assert rows[0]["created_at"] == datetime.max.replace(tzinfo=UTC)
    assert rows[1]["created_at"].year >= 2026
    assert sql in _execute._FETCHALL_ONLY and sql not in _execute._LARGE
    assert await query.rows() == rows  # and keeps that path
    assert sql not in _execute._LARGE


def test_the_column_path_refuses_infinite_timestamps_instead_of_raising_overflow() -> None:
    con = duckdb.connect()
    try:
        cursor = con.execute("SELECT 'infinity'::TIMESTAMP AS at")
        converters = column_converters([str(item[1]) for item in cursor.description or []])
        assert converters is not None
        with pytest.raises(NeedsFetchall):
            arrow_records(cursor.to_arrow_table(), converters)
    finally:
        con.close()
