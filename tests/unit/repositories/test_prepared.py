"""``_prepared``: values written as literals, statements prepared once per connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import duckdb
import pytest

from project_architect_db.repositories._prepared import Prepared, literal, worth_preparing

TRICKY = ["plain", "it's", "''", "a\\b", "x'); DROP TABLE t; --", "émoji 🚀", ""]


@pytest.fixture
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (id UUID PRIMARY KEY, s VARCHAR, n INTEGER)")
    rows = [(uuid.uuid4(), text, number) for number, text in enumerate(TRICKY)]
    connection.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    try:
        yield connection
    finally:
        connection.close()


def test_literals_of_the_key_types() -> None:
    key = uuid.UUID("01a20697-6526-7460-9ab2-39db741d776b")
    assert literal(key) == "'01a20697-6526-7460-9ab2-39db741d776b'"
    assert literal("it's") == "'it''s'"
    assert literal(51) == "51"
    assert literal(-3) == "-3"


@pytest.mark.parametrize("value", [True, False, None, 1.5, b"x", "nul\x00inside", [1]])
def test_values_without_a_literal_stay_bound(value: object) -> None:
    assert literal(value) is None


def test_every_tricky_string_finds_its_row_as_the_bound_statement_does(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    prepared = Prepared("SELECT id, s, n FROM t WHERE s = $1")
    for text in [*TRICKY, "absent'", "%"]:
        bound = duck.execute(prepared.sql, [text]).fetchall()
        assert prepared.rows(duck, [text]) == bound
        assert len(bound) == (1 if text in TRICKY else 0)
    assert duck.execute("SELECT count(*) FROM t").fetchall() == [(len(TRICKY),)]


def test_a_statement_is_prepared_once_then_executed(duck: duckdb.DuckDBPyConnection) -> None:
    prepared = Prepared("SELECT n FROM t WHERE s = $1 AND n >= $2")
    with pytest.raises(duckdb.BinderException, match="does not exist"):
        duck.execute(f"EXECUTE {prepared.name}('it''s', 0)")
    assert prepared.rows(duck, ["it's", 0]) == [(1,)]
    # now prepared on this connection: EXECUTE by hand answers
    assert duck.execute(f"EXECUTE {prepared.name}('plain', 0)").fetchall() == [(0,)]
    assert prepared.rows(duck, ["plain", 1]) == []


def test_a_value_without_a_literal_runs_bound_and_prepares_nothing(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    prepared = Prepared("SELECT n FROM t WHERE s = $1 AND (n = 2) = $2")
    assert prepared.rows(duck, ["''", True]) == [(2,)]
    with pytest.raises(duckdb.BinderException, match="does not exist"):
        duck.execute(f"EXECUTE {prepared.name}('''''', true)")


def test_each_connection_prepares_its_own(duck: duckdb.DuckDBPyConnection) -> None:
    prepared = Prepared("SELECT n FROM t WHERE s = $1")
    other = duck.cursor()
    try:
        assert prepared.rows(duck, ["plain"]) == [(0,)]
        assert prepared.rows(other, ["a\\b"]) == [(3,)]
        assert prepared.rows(other, ["plain"]) == [(0,)]
    finally:
        other.close()


def test_names_are_unique() -> None:
    assert Prepared("SELECT 1").name != Prepared("SELECT 1").name


def test_a_column_added_after_preparing_changes_nothing(duck: duckdb.DuckDBPyConnection) -> None:
    prepared = Prepared("SELECT s, n FROM t WHERE n = $1")
    assert prepared.rows(duck, [1]) == [("it's", 1)]
    duck.execute("ALTER TABLE t ADD COLUMN extra INTEGER DEFAULT 7")
    assert prepared.rows(duck, [1]) == [("it's", 1)]


def test_a_dropped_table_raises_from_the_prepared_statement(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    prepared = Prepared("SELECT n FROM t WHERE n = $1")
    assert prepared.rows(duck, [0]) == [(0,)]
    duck.execute("DROP TABLE t")
    with pytest.raises(duckdb.Error, match="t"):
        prepared.rows(duck, [0])


def test_a_refused_value_raises_as_the_bound_statement_does(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    prepared = Prepared("SELECT n FROM t WHERE id = $1")
    with pytest.raises(duckdb.ConversionException):
        duck.execute(prepared.sql, ["not-a-uuid"]).fetchall()
    with pytest.raises(duckdb.ConversionException):
        prepared.rows(duck, ["not-a-uuid"])


def test_a_plain_statement_runs_bound_and_is_never_prepared(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    statement = Prepared("SELECT n FROM t WHERE s = $1", plain=True)
    assert statement.rows(duck, ["it's"]) == [(1,)]
    assert statement.rows(duck, ["nul\x00inside"]) == []
    with pytest.raises(duckdb.BinderException):  # nothing was prepared under its name
        duck.execute(f"EXECUTE {statement.name}('it''s')")


def test_a_lake_dialect_is_not_worth_preparing_for() -> None:
    from project_architect_db.core.driver import AsyncDuckDBDialect
    from project_architect_db.core.lake._dialect import AsyncDuckLakeDialect

    assert worth_preparing(AsyncDuckDBDialect())
    assert not worth_preparing(AsyncDuckLakeDialect())
    assert worth_preparing(None)
