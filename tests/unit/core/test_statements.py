"""The compiled-statement cache: bounded, least recently used first out, keyed by dialect."""

from __future__ import annotations

import pytest

from project_architect_db.core.statements import DEFAULT_MAX_ENTRIES, StatementCache
from project_architect_db.exceptions import ConfigurationError


def test_a_miss_compiles_once_and_hits_reuse_the_entry() -> None:
    cache = StatementCache()
    built: list[str] = []

    def compile_select() -> str:
        built.append("SELECT 1")
        return "SELECT 1"

    first = cache.get_or_compile("select", "key", "duckdb", compile_select)
    second = cache.get_or_compile("select", "key", "duckdb", compile_select)
    assert first == second == "SELECT 1"
    assert built == ["SELECT 1"]
    assert cache.info() == {
        "hits": 1,
        "misses": 1,
        "entries": 1,
        "max_entries": DEFAULT_MAX_ENTRIES,
    }
    assert ("select", "key", "duckdb") in cache
    assert cache.entries("select") == ["SELECT 1"]
    assert "1/1024 entries, 1 hits, 1 misses" in repr(cache)


def test_none_is_remembered_as_an_answer() -> None:
    cache = StatementCache()
    calls: list[int] = []

    def not_native() -> None:
        calls.append(1)

    assert cache.get_or_compile("select", "key", "duckdb", not_native) is None
    assert cache.get_or_compile("select", "key", "duckdb", not_native) is None
    assert calls == [1]


def test_the_least_recently_used_entry_goes_first() -> None:
    cache = StatementCache(max_entries=2)
    cache.get_or_compile("select", "a", "duckdb", lambda: "A")
    cache.get_or_compile("select", "b", "duckdb", lambda: "B")
    cache.get_or_compile("select", "a", "duckdb", lambda: "A again")  # a is now the newest
    cache.get_or_compile("select", "c", "duckdb", lambda: "C")
    assert len(cache) == 2
    assert ("select", "b", "duckdb") not in cache
    assert cache.entries("select") == ["A", "C"]


def test_kinds_and_dialects_never_share_an_entry() -> None:
    cache = StatementCache()
    cache.get_or_compile("select", "key", "duckdb", lambda: "select for duckdb")
    assert cache.get_or_compile("select", "key", "other", lambda: "select for other") == (
        "select for other"
    )
    assert cache.get_or_compile("point", "key", "duckdb", lambda: "point") == "point"
    assert cache.info()["misses"] == 3
    assert cache.info()["hits"] == 0


def test_a_failing_compile_caches_nothing() -> None:
    cache = StatementCache()

    def broken() -> str:
        raise RuntimeError("cannot compile")

    with pytest.raises(RuntimeError, match="cannot compile"):
        cache.get_or_compile("select", "key", "duckdb", broken)
    assert len(cache) == 0
    assert cache.get_or_compile("select", "key", "duckdb", lambda: "fixed") == "fixed"


def test_clear_forgets_entries_and_counters() -> None:
    cache = StatementCache()
    cache.get_or_compile("select", "key", "duckdb", lambda: "x")
    cache.get_or_compile("select", "key", "duckdb", lambda: "x")
    cache.clear()
    assert cache.info() == {"hits": 0, "misses": 0, "entries": 0, "max_entries": 1024}


@pytest.mark.parametrize("size", [0, -1, True, 2.5, "10"])
def test_a_cache_without_room_is_refused(size: object) -> None:
    with pytest.raises(ConfigurationError, match="at least one entry"):
        StatementCache(max_entries=size)  # type: ignore[arg-type]
