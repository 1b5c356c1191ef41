"""``Database.close()`` with a ``stream()`` still open: the stream ends, the file is released.

The stream's snapshot is a read transaction on a connection of its own; close rolls it back and
gives the connection back before the engine is disposed, so nothing keeps the file open. The
stream's next read then raises ``DatabaseNotOpenError`` saying what happened.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from pathlib import Path

import pytest

from project_architect_db import Database, DatabaseNotOpenError
from project_architect_db.repositories import _bulk_reads
from project_architect_db.schemas import ProjectCreate

# another process can open the file for writing only once no connection of ours holds it
_WRITE_FROM_ANOTHER_PROCESS = """
import sys, duckdb
with duckdb.connect(sys.argv[1]) as duck:
    duck.execute("UPDATE projects SET description = 'from another process'")
"""


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 7 rows: a stream of 30 rows reads several of them."""
    monkeypatch.setattr(_bulk_reads, "STREAM_CHUNK", 7)


async def _open(path: Path, extension_directory: Path) -> Database:
    db = Database.open(path, extension_directory=extension_directory)
    await db.__aenter__()
    await db.projects.bulk_create([ProjectCreate(name=f"Project {i:02d}") for i in range(30)])
    return db


def _writable_by_another_process(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WRITE_FROM_ANOTHER_PROCESS, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.subprocess
async def test_close_ends_an_open_stream_releases_the_file_and_the_stream_says_so(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "closing.duckdb"
    db = await _open(path, extension_directory)
    stream = db.projects.stream(batch_size=5)
    first = await anext(stream)
    assert len(first) == 5
    await db.close()  # the stream's snapshot is still open: close ends it

    other = _writable_by_another_process(path)
    assert other.returncode == 0, other.stderr  # no connection of the closed database is left

    with pytest.raises(DatabaseNotOpenError) as raised:
        await anext(stream)  # the 2 rows left of the first chunk and 3 of the next: a read
    assert "closed while `db.projects.stream(...)` was still being read" in str(raised.value)
    assert "start a new stream" in str(raised.value)
    await stream.aclose()  # ending it again is harmless

    async with Database.open(path, extension_directory=extension_directory) as again:
        projects = await again.projects.list(limit=100)
    assert {p.description for p in projects.items} == {"from another process"}


async def test_a_stream_started_after_close_says_the_database_is_closed(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = await _open(tmp_path / "closed.duckdb", extension_directory)
    await db.close()
    with pytest.raises(DatabaseNotOpenError) as raised:
        await anext(db.projects.stream())
    assert "has been closed; open it again" in str(raised.value)
    assert "while" not in str(raised.value)  # it was never being read


async def test_a_stream_in_async_with_left_after_close_ends_quietly(
    tmp_path: Path, extension_directory: Path
) -> None:
    db = await _open(tmp_path / "block.duckdb", extension_directory)
    async with db.projects.stream(batch_size=5) as batches:
        await anext(batches)
        await db.close()
    # the block's aclose() ran after close(): no error, no warning (warnings are errors here)
    with pytest.raises(StopAsyncIteration):  # and the stream is over
        await anext(batches)


@pytest.mark.subprocess
async def test_a_stream_abandoned_after_close_is_collected_without_errors(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "abandoned.duckdb"
    db = await _open(path, extension_directory)
    reading = asyncio.Event()

    async def consume() -> None:
        async for _ in db.projects.stream(batch_size=3):
            reading.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(consume())
    await reading.wait()
    await db.close()
    task.cancel()
    await asyncio.wait([task])
    del task
    gc.collect()  # the loop's finalizer closes the generator: a rolled-back read, nothing else
    await asyncio.sleep(0)
    other = _writable_by_another_process(path)
    assert other.returncode == 0, other.stderr
