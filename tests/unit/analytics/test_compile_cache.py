"""compile_cached: one shared StatementCache of shapes; no shape, or an untraceable one, still
compiles correctly, just not from the cache."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import ClauseElement, column, select, table

from project_architect_db.queries.analytics._compile import (
    DIALECT,
    SHAPES,
    cache_info,
    compile_cached,
)

_T = table("t", column("a"), column("b"))


def _query(a: int, b: int) -> tuple[ClauseElement, list[ClauseElement]]:
    first, second = _T.c.a == a, _T.c.b == b
    return select(_T.c.a).where(first, second), [first, second]


def _build(
    statement: ClauseElement, roots: Sequence[ClauseElement]
) -> Callable[[], tuple[Callable[[], ClauseElement], Sequence[ClauseElement]]]:
    return lambda: ((lambda: statement), roots)


def test_a_shape_compiles_once_into_the_shared_cache() -> None:
    shape = ("test_compile_cache", "traced")
    first = compile_cached(shape, _build(*_query(1, 2)))
    before = cache_info()
    second = compile_cached(shape, _build(*_query(3, 4)))
    assert cache_info()["hits"] == before["hits"] + 1
    assert cache_info()["misses"] == before["misses"]
    assert first[0] == second[0]
    assert (first[1], second[1]) == ([1, 2], [3, 4])
    assert ("analytics", shape, DIALECT) in SHAPES


def test_no_shape_compiles_every_call_without_touching_the_cache() -> None:
    before = cache_info()
    sql, parameters = compile_cached(None, _build(*_query(5, 6)))
    assert "$1" in sql and "$2" in sql
    assert parameters == [5, 6]
    assert cache_info() == before


def test_parameters_not_traced_to_roots_fall_back_to_compiling_the_statement() -> None:
    statement, roots = _query(7, 8)
    # only the first condition given as a root: the second value cannot be laid out
    sql, parameters = compile_cached(None, _build(statement, roots[:1]))
    assert parameters == [7, 8]
    shape = ("test_compile_cache", "untraceable")
    assert compile_cached(shape, _build(statement, roots[:1]))[1] == [7, 8]
    again, other = _query(9, 10)
    before = cache_info()
    # known to be uncacheable: a hit on the None entry, compiled per call, correct values
    assert compile_cached(shape, _build(again, other[:1]))[1] == [9, 10]
    assert cache_info()["hits"] == before["hits"] + 1
    assert sql == compile_cached(shape, _build(again, other[:1]))[0]
