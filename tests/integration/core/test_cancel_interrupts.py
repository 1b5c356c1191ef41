"""A cancelled call interrupts DuckDB until its thread is back, even if the first interrupt is lost.

DuckDB drops an interrupt that lands before its query has started; ``run_interruptible`` sends
it again every ``REINTERRUPT`` seconds (``core/_worker.py``). Without that, a call cancelled while
its worker was still in Python went on to run its query to the end (seen in CI: 67 s).
"""

from __future__ import annotations

import asyncio
import time

import duckdb
import pytest

from project_architect_db.core._worker import ConnectionWorker, run_interruptible

#: Minutes of work, interruptible at any moment.
ENDLESS = "SELECT count(*) FROM range(10000000000) a WHERE a.range % 7 = 3"
PATIENCE = 20.0


@pytest.fixture
def connection() -> duckdb.DuckDBPyConnection:
    duck = duckdb.connect(":memory:")
    yield duck  # type: ignore[misc]
    duck.close()


async def test_a_call_cancelled_before_its_query_starts_is_still_interrupted(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    worker = ConnectionWorker("cancel-test")
    in_python = asyncio.Event()
    loop = asyncio.get_running_loop()

    def work() -> int:
        loop.call_soon_threadsafe(in_python.set)
        time.sleep(0.3)  # still in Python: an interrupt sent now is dropped by DuckDB
        return int(connection.execute(ENDLESS).fetchone()[0])  # type: ignore[index]

    try:
        task = asyncio.create_task(run_interruptible(worker, work, connection.interrupt))
        await in_python.wait()
        started = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.perf_counter() - started < PATIENCE
        assert connection.execute("SELECT 7").fetchone() == (7,)  # idle and usable again
    finally:
        worker.stop()
        worker.join(PATIENCE)


async def test_a_call_that_ends_normally_is_not_interrupted(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    worker = ConnectionWorker("no-cancel-test")
    try:
        value = await run_interruptible(
            worker, lambda: connection.execute("SELECT 41 + 1").fetchone(), connection.interrupt
        )
        assert value == (42,)
    finally:
        worker.stop()
        worker.join(PATIENCE)


async def test_a_cancelled_call_that_fails_on_its_own_still_raises_the_cancellation(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    worker = ConnectionWorker("cancel-fail-test")
    in_python = asyncio.Event()
    loop = asyncio.get_running_loop()

    def work() -> None:
        loop.call_soon_threadsafe(in_python.set)
        time.sleep(0.2)
        raise duckdb.CatalogException("no such table: gone")

    try:
        task = asyncio.create_task(run_interruptible(worker, work, connection.interrupt))
        await in_python.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        worker.stop()
        worker.join(PATIENCE)
