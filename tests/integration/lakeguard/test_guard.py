"""LakeGuard against a real PostgreSQL: exclusion, order, timeouts, cancellation, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from project_architect_db.core import lake as lake_package
from project_architect_db.core.lake import LakeGuard, lock_id
from project_architect_db.exceptions import (
    ConfigurationError,
    ConflictError,
    DatabaseError,
    DatabaseNotOpenError,
    TransactionError,
)
from tests._pg import PostgresServer
from tests.integration.lakeguard.conftest import kill, python


@pytest.fixture
async def guard(catalog: PostgresServer) -> AsyncIterator[LakeGuard]:
    async with await LakeGuard.connect(catalog.conninfo, lock_timeout=5) as opened:
        yield opened


@pytest.fixture
async def rival(catalog: PostgresServer) -> AsyncIterator[LakeGuard]:
    """A second guard: its own PostgreSQL sessions, as another process would have."""
    async with await LakeGuard.connect(
        f"ducklake:postgres:{catalog.conninfo}", lock_timeout=0.3
    ) as opened:
        yield opened


async def admin(catalog: PostgresServer, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(
        host=catalog.socket_dir, user=catalog.user, database=catalog.dbname
    )
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def advisory_locks(catalog: PostgresServer, *, granted: bool = True) -> int:
    """Advisory locks granted (or waited for) on the catalog's server."""
    sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted = $1"
    return int(await admin(catalog, sql, granted))  # type: ignore[call-overload]


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(500):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never held")


async def test_an_exclusive_key_keeps_every_other_session_out_until_the_hold_ends(
    guard: LakeGuard, rival: LakeGuard, catalog: PostgresServer
) -> None:
    async with guard.hold(exclusive=["slug:demo"]):
        assert await advisory_locks(catalog) == 1
        with pytest.raises(ConflictError, match=r"slug:demo") as caught:
            async with rival.hold(shared=["slug:demo"]):
                pass
        assert caught.value.retryable
    async with rival.hold(exclusive=["slug:demo"]):
        assert await advisory_locks(catalog) == 1
    assert await advisory_locks(catalog) == 0


async def test_shared_keys_are_held_together_and_keep_an_exclusive_one_out(
    guard: LakeGuard, rival: LakeGuard
) -> None:
    async with guard.hold(shared=["projects:1"]), rival.hold(shared=["projects:1"]):
        pass
    async with guard.hold(shared=["projects:1"]):
        with pytest.raises(ConflictError):
            async with rival.hold(exclusive=["projects:1"]):
                pass


async def test_a_key_given_exclusive_and_shared_is_taken_exclusive(
    guard: LakeGuard, rival: LakeGuard
) -> None:
    async with guard.hold(exclusive=["k"], shared=["k", "other"]):
        with pytest.raises(ConflictError):
            async with rival.hold(shared=["k"]):
                pass


async def test_units_asking_for_keys_in_opposite_orders_never_deadlock(
    guard: LakeGuard, catalog: PostgresServer
) -> None:
    async with await LakeGuard.connect(catalog.conninfo, lock_timeout=5) as other:

        async def unit(on: LakeGuard, keys: list[str]) -> None:
            for _ in range(30):
                async with on.hold(exclusive=keys):
                    await asyncio.sleep(0)

        await asyncio.gather(unit(guard, ["a", "b", "c"]), unit(other, ["c", "b", "a"]))


async def test_a_cancelled_wait_releases_the_keys_it_already_held(
    guard: LakeGuard, rival: LakeGuard, catalog: PostgresServer
) -> None:
    first, second = sorted(["key-1", "key-2", "key-3"], key=lock_id)[:2]
    async with rival.hold(exclusive=[second]):
        # the guard takes `first`, then waits for `second`
        waiting = asyncio.create_task(guard.hold(exclusive=[first, second]).__aenter__())
        await until(lambda: _equals(advisory_locks(catalog, granted=False), 1))
        assert await advisory_locks(catalog) == 2
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    await until(lambda: _equals(advisory_locks(catalog), 0))
    async with rival.hold(exclusive=[first, second]):
        pass


async def _equals(count: Awaitable[int], expected: int) -> bool:
    return await count == expected


async def test_a_session_ended_while_waiting_for_a_lock_is_a_database_error(
    guard: LakeGuard, rival: LakeGuard, catalog: PostgresServer
) -> None:
    async with rival.hold(exclusive=["k"]):
        waiting = asyncio.create_task(guard.hold(exclusive=["k"]).__aenter__())
        await until(lambda: _equals(advisory_locks(catalog, granted=False), 1))
        await admin(
            catalog,
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND NOT granted",
        )
        with pytest.raises(DatabaseError, match="cannot be reached or failed"):
            await waiting
    async with guard.hold(exclusive=["k"]):
        pass


async def test_a_unit_cancelled_inside_its_hold_releases_its_keys(
    guard: LakeGuard, rival: LakeGuard
) -> None:
    entered = asyncio.Event()

    async def unit() -> None:
        async with guard.hold(exclusive=["busy"]):
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(unit())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with rival.hold(exclusive=["busy"]):
        pass


async def test_a_failing_unit_releases_its_keys_and_its_error_passes_through(
    guard: LakeGuard, rival: LakeGuard
) -> None:
    with pytest.raises(ZeroDivisionError):
        async with guard.hold(exclusive=["k"]):
            1 / 0  # noqa: B018
    async with rival.hold(exclusive=["k"]):
        pass


async def test_a_process_killed_while_holding_keys_releases_them(
    rival: LakeGuard, catalog: PostgresServer, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    script = (
        "import asyncio, pathlib, sys\n"
        "from project_architect_db.core.lake import LakeGuard\n"
        "async def main():\n"
        "    guard = await LakeGuard.connect(sys.argv[1])\n"
        "    async with guard.hold(exclusive=['held-by-child']):\n"
        "        pathlib.Path(sys.argv[2]).touch()\n"
        "        await asyncio.sleep(120)\n"
        "asyncio.run(main())\n"
    )
    child = python("-c", script, catalog.conninfo, str(ready))
    try:
        for _ in range(600):
            if ready.exists() or child.poll() is not None:
                break
            await asyncio.sleep(0.05)
        assert ready.exists(), f"the child did not take its lock (exit {child.poll()})"
        with pytest.raises(ConflictError):
            async with rival.hold(exclusive=["held-by-child"]):
                pass
    finally:
        kill(child)
    async with rival.hold(exclusive=["held-by-child"], lock_timeout=10):
        pass


async def test_hold_inside_a_hold_of_the_same_task_is_refused(guard: LakeGuard) -> None:
    async with guard.hold(exclusive=["outer"]):
        with pytest.raises(TransactionError, match="does not nest"):
            async with guard.hold(exclusive=["inner"]):
                pass

        async def own_unit() -> None:  # another task is another unit
            async with guard.hold(exclusive=["inner"]):
                pass

        await asyncio.create_task(own_unit())


async def test_every_pool_connection_busy_ends_in_conflict_error(catalog: PostgresServer) -> None:
    async with await LakeGuard.connect(catalog.conninfo, pool_size=1) as small:

        async def second_unit() -> None:
            async with small.hold(exclusive=["b"], lock_timeout=0.2):
                pass

        async with small.hold(exclusive=["a"]):
            with pytest.raises(ConflictError, match="busy"):
                await asyncio.create_task(second_unit())


async def test_a_closed_guard_refuses_holds(catalog: PostgresServer) -> None:
    opened = await LakeGuard.connect(catalog.conninfo)
    await opened.close()
    await opened.close()
    assert opened.closed
    with pytest.raises(DatabaseNotOpenError):
        async with opened.hold(exclusive=["a"]):
            pass


async def test_closing_the_guard_during_a_hold_ends_its_session(
    catalog: PostgresServer, rival: LakeGuard
) -> None:
    opened = await LakeGuard.connect(catalog.conninfo)
    async with opened.hold(exclusive=["a"]):
        await opened.close()
    async with rival.hold(exclusive=["a"], lock_timeout=5):
        pass


async def test_a_catalog_that_cannot_be_reached_is_a_database_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="cannot be reached"):
        await LakeGuard.connect(f"dbname=lake host={tmp_path} user=postgres", connect_timeout=2)


async def test_a_database_the_catalog_does_not_have_is_a_configuration_error(
    pg_server: PostgresServer,
) -> None:
    with pytest.raises(ConfigurationError, match="dbname"):
        await LakeGuard.connect(pg_server.database("no_such_lake").conninfo)


async def test_a_session_ended_during_the_block_is_reported_and_the_next_hold_has_a_new_one(
    guard: LakeGuard, catalog: PostgresServer
) -> None:
    terminate = (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()"
    )
    with pytest.raises(DatabaseError, match="ended before the unit did"):
        async with guard.hold(exclusive=["a"]):
            await admin(catalog, terminate, catalog.dbname)
    async with guard.hold(exclusive=["a"]):
        assert await advisory_locks(catalog) == 1


async def test_a_catalog_database_dropped_under_the_guard_is_reported_on_the_next_hold(
    pg_server: PostgresServer, catalog: PostgresServer
) -> None:
    async with await LakeGuard.connect(catalog.conninfo) as doomed:
        async with doomed.hold(exclusive=["a"]):
            pass
        await admin(pg_server, f'DROP DATABASE "{catalog.dbname}" WITH (FORCE)')
        with pytest.raises(ConfigurationError, match="refused the connection"):
            async with doomed.hold(exclusive=["a"]):
                pass


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"pool_size": 0}, "pool_size"),
        ({"lock_timeout": 0}, "lock_timeout"),
        ({"lock_timeout": float("nan")}, "lock_timeout"),
        ({"connect_timeout": -1}, "connect_timeout"),
    ],
)
async def test_bad_guard_settings_are_configuration_errors(
    catalog: PostgresServer, arguments: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        await LakeGuard.connect(catalog.conninfo, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"exclusive": "slug:demo"}, "list of strings"),
        ({"shared": [""]}, "non-empty string"),
        ({"exclusive": [42]}, "non-empty string"),
        ({"exclusive": ["a"], "lock_timeout": -2}, "lock_timeout"),
    ],
)
async def test_bad_keys_are_configuration_errors(
    guard: LakeGuard, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        async with guard.hold(**arguments):  # type: ignore[arg-type]
            pass


def test_the_guard_talks_to_postgresql_through_asyncpg_not_libpq() -> None:
    package = Path(lake_package.__file__).parent
    sources = "".join(path.read_text() for path in package.glob("*.py"))
    assert "import asyncpg" in sources
    assert "psycopg" not in sources
