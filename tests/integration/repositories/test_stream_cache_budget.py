"""``stream()`` trims what it adds to DuckDB's cache: same rows, same order, the limit kept.

The budget is set to 0 and the chunks to 150 rows here, so a stream over a few thousand
projects read from a cold file trims between most chunks; what must hold whatever the trims
do: every row of the snapshot once, in order, with others writing meanwhile; ``memory_limit``
as it was (shown and in force) after the stream ends, is cancelled or fails; nothing trimmed
in an in-memory database (its tables live in the same pool). The RSS bound itself is measured
by ``benchmarks/stream_memory.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from project_architect_db import Database, InvalidQueryError
from project_architect_db.core.buffer_pool import CacheBudget
from project_architect_db.repositories import _bulk_reads
from project_architect_db.schemas import ProjectCreate

LIMIT = "SELECT current_setting('memory_limit')"
BIG = (
    "SELECT count(*) FROM (SELECT range % 2000000 AS g, list(range) FROM range(6000000) GROUP BY g)"
)


class _Counting(CacheBudget):
    made: list[_Counting] = []  # noqa: RUF012 - the budgets the streams of a test made

    def __init__(self, budget: int, configured: str | None) -> None:
        super().__init__(budget, configured)
        _Counting.made.append(self)


@pytest.fixture
def budgets(monkeypatch: pytest.MonkeyPatch) -> list[_Counting]:
    _Counting.made = []
    monkeypatch.setattr(_bulk_reads, "STREAM_CACHE_BUDGET", 0)
    monkeypatch.setattr(_bulk_reads, "STREAM_CHUNK", 150)
    monkeypatch.setattr(_bulk_reads, "CacheBudget", _Counting)
    return _Counting.made


@pytest.fixture
async def cold(tmp_path: Path, extension_directory: Path) -> Path:
    """A file of 3,000 projects with long descriptions, closed (checkpointed) once."""
    path = tmp_path / "cold.duckdb"
    async with Database.open(path, extension_directory=extension_directory) as db:
        await db.projects.bulk_create(
            [
                ProjectCreate(name=f"Project {i:05d}", description=uuid.uuid4().hex * 40)
                for i in range(3000)
            ]
        )
    return path


async def _setting(db: Database, sql: str = LIMIT) -> Any:
    return await db._executor.run_native_read(lambda duck: duck.execute(sql).fetchone()[0])


async def test_trimmed_stream_yields_its_snapshot_in_order_while_others_write(
    cold: Path, extension_directory: Path, budgets: list[_Counting]
) -> None:
    async with Database.open(cold, extension_directory=extension_directory) as db:
        limit = await _setting(db)
        ids = [p.id async for batch in db.projects.stream(batch_size=500) for p in batch]
        stop = asyncio.Event()

        async def write() -> int:
            written = 0
            while not stop.is_set():
                project = await db.projects.create({"name": f"Meanwhile {written}"})
                await db.projects.update(project.id, {"description": "changed"})
                written += 1
                await asyncio.sleep(0)
            return written

        writer = asyncio.create_task(write())
        seen = []
        async with db.projects.stream(batch_size=100) as batches:
            async for batch in batches:
                seen.extend(p.id for p in batch)
                await db.projects.update(batch[0].id, {"description": "touched"})
                await asyncio.sleep(0)
        stop.set()
        assert await writer > 0
        assert seen == ids == sorted(ids)
        assert len(seen) == 3000
        assert sum(budget.trims for budget in budgets) > 0
        assert await _setting(db) == limit
        assert await _setting(db, BIG) == 2_000_000


async def test_a_cancelled_trimmed_stream_leaves_the_limit_as_it_was(
    cold: Path, extension_directory: Path, budgets: list[_Counting]
) -> None:
    async with Database.open(cold, extension_directory=extension_directory) as db:
        limit = await _setting(db)
        reading = asyncio.Event()

        async def consume() -> None:
            async with db.projects.stream(batch_size=50) as batches:
                async for index, _ in _enumerate(batches):
                    if index > 30:
                        reading.set()
                        await asyncio.sleep(3600)

        task = asyncio.create_task(consume())
        await reading.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert sum(budget.trims for budget in budgets) > 0
        assert await _setting(db) == limit
        assert await db.projects.count() == 3000


async def test_a_failing_trimmed_stream_leaves_the_limit_as_it_was(
    cold: Path, extension_directory: Path, budgets: list[_Counting]
) -> None:
    async with Database.open(cold, extension_directory=extension_directory) as db:
        limit = await _setting(db)
        with pytest.raises(InvalidQueryError, match="batch_size"):
            async for _ in db.projects.stream(batch_size=0):
                pass  # pragma: no cover - refused before the first batch
        with pytest.raises(ValueError, match="consumer failed"):
            async for index, _ in _enumerate(db.projects.stream(batch_size=50)):
                if index > 20:
                    raise ValueError("consumer failed")
        assert await _setting(db) == limit


async def test_an_in_memory_stream_trims_nothing(
    extension_directory: Path, budgets: list[_Counting]
) -> None:
    async with Database.open(":memory:", extension_directory=extension_directory) as db:
        await db.projects.bulk_create([ProjectCreate(name=f"P{i}") for i in range(400)])
        streamed = [p async for batch in db.projects.stream(batch_size=64) for p in batch]
        assert len(streamed) == 400
        assert budgets == []


async def _enumerate(batches: Any) -> Any:
    index = 0
    async for batch in batches:
        yield index, batch
        index += 1
