"""``core/buffer_pool``: a long read's cache budget trims DuckDB's cache and restores the limit.

Real DuckDB files. What the trim must do: bring the table blocks cached back to their size at
the start, leave ``memory_limit`` as it was (shown and in force: DuckDB 1.5.5's ``RESET``
would leave the pool at the lowered limit), do nothing when the growth is under the budget or
the limit is already lower, and never fail when DuckDB cannot free the memory.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from project_architect_db import ValidationError
from project_architect_db.core import buffer_pool
from project_architect_db.core.buffer_pool import CacheBudget, restore_limit, size_bytes

CACHED = "SELECT sum(memory_usage_bytes) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"
LIMIT = "SELECT current_setting('memory_limit')"
# a hash aggregate of ~200 MB: fails under a lowered limit when nothing can spill
BIG = (
    "SELECT count(*) FROM (SELECT range % 2000000 AS g, list(range) FROM range(6000000) GROUP BY g)"
)


def _cached(con: Any) -> int:
    return int(con.execute(CACHED).fetchone()[0])


@pytest.fixture(scope="module")
def table_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file with ~60 MB of table blocks, checkpointed (so reading it fills the cache)."""
    path = tmp_path_factory.mktemp("pool") / "blocks.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) || md5((range * 7)::VARCHAR)"
            " AS text FROM range(800000)"
        )
        con.execute("CHECKPOINT")
    return path


@pytest.fixture
def con(table_file: Path) -> Any:
    # no temporary directory: a limit left low would fail BIG instead of spilling it
    with duckdb.connect(str(table_file), read_only=True, config={"temp_directory": ""}) as con:
        yield con


def test_a_trim_brings_the_cache_back_and_leaves_the_limit_in_force(con: Any) -> None:
    before = con.execute(LIMIT).fetchone()[0]
    budget = CacheBudget(1_000_000, None)
    budget.check(con)
    start = _cached(con)
    con.execute("SELECT sum(length(text)) FROM t").fetchall()
    assert _cached(con) - start > 20_000_000  # the read filled the cache
    budget.check(con)
    assert budget.trims == 1
    assert _cached(con) <= start + buffer_pool._FLOOR  # what it was, or the trim's floor
    assert con.execute(LIMIT).fetchone()[0] == before
    assert con.execute(BIG).fetchone()[0] == 2_000_000  # the limit in force is the old one


def test_a_configured_limit_comes_back_exactly(table_file: Path) -> None:
    with duckdb.connect(
        str(table_file), read_only=True, config={"memory_limit": "1000000000B"}
    ) as con:
        budget = CacheBudget(0, "1GB")
        budget.check(con)
        con.execute("SELECT sum(length(text)) FROM t").fetchall()
        budget.check(con)
        assert budget.trims == 1
        # 1e9 bytes shows as 953.6 MiB, as 953.6 MiB itself would: SET it again to compare
        shown = con.execute(LIMIT).fetchone()[0]
        con.execute("SET memory_limit = '1000000000B'")
        assert con.execute(LIMIT).fetchone()[0] == shown


def test_many_trims_of_the_default_limit_do_not_drift(con: Any) -> None:
    before = con.execute(LIMIT).fetchone()[0]
    for _ in range(5):
        budget = CacheBudget(0, None)
        budget.check(con)
        con.execute("SELECT sum(length(text)) FROM t").fetchall()
        budget.check(con)
        assert budget.trims == 1
    assert con.execute(LIMIT).fetchone()[0] == before


def test_growth_under_the_budget_is_left_alone(con: Any) -> None:
    budget = CacheBudget(10**12, None)
    budget.check(con)
    con.execute("SELECT sum(length(text)) FROM t").fetchall()
    grown = _cached(con)
    budget.check(con)
    assert budget.trims == 0
    assert _cached(con) == grown


def test_a_limit_already_lower_than_the_target_is_not_touched(table_file: Path) -> None:
    with duckdb.connect(str(table_file), read_only=True, config={"memory_limit": "8MB"}) as con:
        budget = CacheBudget(0, "8MB")
        budget.check(con)
        con.execute("SELECT sum(length(text)) FROM t").fetchall()
        budget.check(con)  # the pool holds at most 8 MB: nothing above the target to evict
        assert budget.trims == 0
        assert con.execute(LIMIT).fetchone()[0] == "7.6 MiB"


def test_memory_duckdb_cannot_free_keeps_the_old_limit_and_fails_nothing(con: Any) -> None:
    before = con.execute(LIMIT).fetchone()[0]
    other = con.cursor()
    # pinned for as long as this result is pending: the lower limit cannot be reached
    pending = other.execute("SELECT id, text FROM t ORDER BY text DESC")
    pending.fetchmany(10)
    evicted = buffer_pool._evict_to(con, 1, None)
    assert evicted is False
    assert con.execute(LIMIT).fetchone()[0] == before
    assert len(pending.fetchmany(10)) == 10
    other.close()


def test_trims_from_threads_at_once_leave_the_limit_as_it_was(con: Any) -> None:
    before = con.execute(LIMIT).fetchone()[0]
    errors: list[BaseException] = []

    def trim() -> None:
        cursor = con.cursor()
        try:
            for _ in range(3):
                budget = CacheBudget(0, None)
                budget.check(cursor)
                cursor.execute("SELECT sum(length(text)) FROM t").fetchall()
                budget.check(cursor)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            cursor.close()

    threads = [threading.Thread(target=trim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert con.execute(LIMIT).fetchone()[0] == before
    assert con.execute(BIG).fetchone()[0] == 2_000_000


def test_restore_limit_sets_a_limit_that_is_not_the_configured_one(con: Any) -> None:
    con.execute("SET memory_limit = '3000000000B'")  # shown as 2.7 GiB
    shown = con.execute(LIMIT).fetchone()[0]
    con.execute("SET memory_limit = '100MB'")
    restore_limit(con, shown, "1GB")
    assert con.execute(LIMIT).fetchone()[0] == shown


@pytest.mark.parametrize("text", ["", "lots", "12 parsecs", "-1GB"])
def test_a_size_that_is_not_one_says_how_to_write_it(text: str) -> None:
    with pytest.raises(ValidationError, match="write a number and a unit"):
        size_bytes(text)


def test_whole_units_and_bytes_parse() -> None:
    assert size_bytes("512 bytes") == 512
    assert size_bytes("2GB") == 2 * 10**9
    assert buffer_pool._within("512 bytes") == 512
    assert buffer_pool._within("1.5 GiB") == int(1.55 * 1024**3)
