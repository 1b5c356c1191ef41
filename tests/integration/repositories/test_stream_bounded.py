"""``stream()`` reads keyset chunks from one snapshot: order, consistency, release, errors.

The memory bound itself (RSS growth < 200 MB over 1M projects) is measured in a process of its
own by ``tests/performance/test_bounded_memory.py`` (``-m slow``) and
``benchmarks/measure_memory.py``; these tests check what makes it hold: rows come in chunks of
at most ``STREAM_CHUNK`` (so small chunks here put many boundaries in a few rows), in the same
order as a plain ``ORDER BY``, from one snapshot, and the stream gives its connection back.
"""

from __future__ import annotations

import asyncio
import gc
import uuid

import pytest
from sqlalchemy import text

from project_architect_db import Database, InvalidQueryError, ProjectArchitectDBError
from project_architect_db.repositories import _bulk_reads
from project_architect_db.schemas import ProjectCreate


async def _ids(stream: object) -> list[uuid.UUID]:
    return [p.id async for batch in stream for p in batch]  # type: ignore[attr-defined]


async def _fill(db: Database, count: int) -> None:
    await db.projects.bulk_create(
        [
            ProjectCreate(
                name=f"Project {i:05d}",
                status=["draft", "active", "paused"][i % 3],
                # ties and NULLs on both sides of every chunk boundary
                description=None if i % 4 == 0 else f"about {i % 5}",
            )
            for i in range(count)
        ]
    )


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks of 7 rows: every stream below crosses many chunk boundaries."""
    monkeypatch.setattr(_bulk_reads, "STREAM_CHUNK", 7)
    return 7


@pytest.mark.parametrize(
    "order_by",
    [None, "-id", "name", "-name", "description", "-description", ["status", "-description"]],
)
async def test_a_stream_in_chunks_yields_the_rows_of_one_order_by(
    db: Database, small_chunks: int, order_by: object
) -> None:
    await _fill(db, 60)
    # the same query in one ORDER BY, as DuckDB sorts it (NULLs last)
    table = await db.projects.to_arrow(order_by=order_by)  # type: ignore[arg-type]
    expected = [uuid.UUID(str(value)) for value in table.column("id").to_pylist()]
    streamed = await _ids(db.projects.stream(order_by=order_by, batch_size=5))  # type: ignore[arg-type]
    assert streamed == expected
    assert len(set(streamed)) == 60


async def test_a_stream_of_more_rows_than_a_chunk_keeps_filters_and_batch_sizes(
    file_database: Database,
) -> None:
    rows = 2 * _bulk_reads.STREAM_CHUNK + 123
    await _fill(file_database, rows)
    batches = [
        batch async for batch in file_database.projects.stream(status="active", batch_size=999)
    ]
    streamed = [p for batch in batches for p in batch]
    assert all(len(batch) == 999 for batch in batches[:-1])
    assert {p.status for p in streamed} == {"active"}
    assert len(streamed) == await file_database.projects.count(status="active")
    assert [p.id for p in streamed] == sorted(p.id for p in streamed)


async def test_a_stream_sees_the_snapshot_of_its_first_read(
    file_database: Database, small_chunks: int
) -> None:
    await _fill(file_database, 40)
    before = {p.id async for batch in file_database.projects.stream() for p in batch}
    stream = file_database.projects.stream(batch_size=10)
    first = await anext(stream)
    # written and committed by others while the stream is open: not part of its snapshot
    late = await file_database.projects.create({"name": "Created meanwhile"})
    await file_database.projects.delete(first[-1].id)
    await file_database.projects.delete(max(before))
    rest = [p.id async for batch in stream for p in batch]
    seen = [p.id for p in first] + rest
    assert seen == sorted(before)
    assert late.id not in seen
    # a stream started now sees the writes
    after = await _ids(file_database.projects.stream())
    assert late.id in after
    assert len(after) == 39


async def test_a_stream_on_a_transaction_sees_its_own_writes(db: Database) -> None:
    await _fill(db, 5)
    async with db.transaction() as tx:
        mine = await tx.projects.create({"name": "Not committed yet"})
        streamed = await _ids(tx.projects.stream())
        assert mine.id in streamed
        # db.projects in the transaction's task joins it, as every db.<repo> call does
        assert await _ids(db.projects.stream()) == streamed
        assert len(streamed) == 6
    assert mine.id in await _ids(db.projects.stream())


async def test_writes_between_two_batches_commit_on_their_own(
    file_database: Database, small_chunks: int
) -> None:
    # a stream is an async generator: it runs in its caller's context, so a transaction it
    # made current would be joined by the loop body's writes (and end with the stream)
    await _fill(file_database, 20)
    with pytest.raises(ValueError, match="consumer failed"):
        async with file_database.projects.stream(batch_size=5) as stream:
            batch = await anext(stream)
            await file_database.projects.update(batch[0].id, {"description": "changed mid-stream"})
            raise ValueError("consumer failed")
    assert (await file_database.projects.get(batch[0].id)).description == "changed mid-stream"


async def test_a_stream_stopped_early_gives_its_connection_back(
    file_database: Database, small_chunks: int
) -> None:
    await _fill(file_database, 30)
    pool = file_database.engine.pool
    idle = pool.checkedout()  # type: ignore[attr-defined]
    stream = file_database.projects.stream(batch_size=3)
    await anext(stream)
    assert pool.checkedout() == idle + 1  # type: ignore[attr-defined]
    await stream.aclose()
    assert pool.checkedout() == idle  # type: ignore[attr-defined]
    assert await file_database.projects.count() == 30


async def test_a_cancelled_stream_in_async_with_gives_its_connection_back(
    file_database: Database, small_chunks: int
) -> None:
    await _fill(file_database, 30)
    pool = file_database.engine.pool
    idle = pool.checkedout()  # type: ignore[attr-defined]
    reading = asyncio.Event()

    async def consume() -> None:
        async with file_database.projects.stream(batch_size=3) as batches:
            async for _ in batches:
                reading.set()
                await asyncio.sleep(3600)  # a slow consumer, cancelled mid-stream

    task = asyncio.create_task(consume())
    await reading.wait()
    assert pool.checkedout() == idle + 1  # type: ignore[attr-defined]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.checkedout() == idle  # type: ignore[attr-defined]
    await file_database.projects.create({"name": "Still writable"})
    assert await file_database.projects.count() == 31


async def test_a_stream_dropped_by_a_cancelled_task_is_closed_when_collected(
    file_database: Database, small_chunks: int
) -> None:
    await _fill(file_database, 30)
    pool = file_database.engine.pool
    idle = pool.checkedout()  # type: ignore[attr-defined]
    reading = asyncio.Event()

    async def consume() -> None:
        async for _ in file_database.projects.stream(batch_size=3):
            reading.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(consume())
    await reading.wait()
    task.cancel()
    await asyncio.wait([task])
    assert task.cancelled()
    del task
    gc.collect()  # the event loop's finalizer closes the generator: its read ends
    for _ in range(1000):
        if pool.checkedout() == idle:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.01)
    assert pool.checkedout() == idle  # type: ignore[attr-defined]


@pytest.mark.parametrize("batch_size", [0, -1, 100_001, True, 2.5, "10"])
async def test_a_stream_refuses_a_bad_batch_size(db: Database, batch_size: object) -> None:
    with pytest.raises(InvalidQueryError, match="batch_size must be an integer from 1 to 100000"):
        await anext(db.projects.stream(batch_size=batch_size))  # type: ignore[arg-type]


async def test_a_stream_refuses_an_unknown_filter_or_sort_field(db: Database) -> None:
    await _fill(db, 3)
    with pytest.raises(InvalidQueryError, match="colour"):
        await anext(db.projects.stream(colour="red"))
    with pytest.raises(InvalidQueryError, match="colour"):
        await anext(db.projects.stream(order_by="-colour"))
    with pytest.raises(InvalidQueryError):
        await anext(db.projects.stream(order_by=42))  # type: ignore[arg-type]


async def test_a_stream_over_a_dropped_table_raises_the_library_error(
    file_database: Database,
) -> None:
    async with file_database.transaction() as tx:
        await tx.session.execute(text("DROP TABLE document_versions"))
        await tx.session.execute(text("DROP TABLE documents"))
    with pytest.raises(ProjectArchitectDBError, match="documents"):
        await anext(file_database.documents.stream())
    assert file_database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_an_empty_stream_yields_no_batch(db: Database) -> None:
    assert [batch async for batch in db.projects.stream()] == []
    await _fill(db, 3)
    assert [batch async for batch in db.projects.stream(status="archived")] == []
