"""The guards inside a compaction: a copy that differs, a stray log, a cancellation."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import duckdb
import pytest

from project_architect_db import StorageError
from project_architect_db.maintenance import TEMP_SUFFIX, compact
from project_architect_db.maintenance._compact import _Compaction
from tests.integration.maintenance.helpers import content, fragmented


@pytest.fixture
async def source(tmp_path: Path, extension_directory: Path) -> Path:
    path = tmp_path / "source.duckdb"
    await fragmented(path, extension_directory)
    return path


def _verify_against(source: Path, change: str) -> None:
    job = _Compaction(source)
    shutil.copy(source, job.temp)
    with duckdb.connect(str(job.temp)) as duck:
        duck.execute(change)
    with duckdb.connect(str(source)) as connection:
        job._verify(connection, "source")


def test_a_copy_missing_a_table_fails_verification(source: Path) -> None:
    with pytest.raises(StorageError, match=r"differs from it \(table main\.padb_extra"):
        _verify_against(source, "CREATE TABLE padb_extra (x INTEGER)")


def test_a_copy_with_a_changed_row_fails_verification(source: Path) -> None:
    with pytest.raises(StorageError, match=r"table main\.projects differs"):
        _verify_against(source, "UPDATE projects SET name = name || '!' WHERE name IS NOT NULL")


def test_a_stray_log_beside_the_file_stops_the_swap(source: Path) -> None:
    job = _Compaction(source)
    shutil.copy(source, job.temp)
    job.wal.write_bytes(b"a log DuckDB would replay onto the new file")
    before = source.read_bytes()
    with pytest.raises(StorageError, match="write-ahead log"):
        job._swap()
    assert source.read_bytes() == before


async def test_a_cancelled_compaction_leaves_the_original_and_no_copy(source: Path) -> None:
    expected = content(source)
    task = asyncio.ensure_future(compact(source))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert content(source) == expected
    assert not Path(f"{source}{TEMP_SUFFIX}").exists()
    report = await compact(source)  # and the file can be compacted afterwards
    assert report.bytes_reclaimed > 0


async def test_a_compaction_cancelled_while_copying_stops_and_keeps_the_original(
    source: Path,
) -> None:
    expected = content(source)
    temporary = Path(f"{source}{TEMP_SUFFIX}")
    task = asyncio.ensure_future(compact(source))
    for _ in range(2000):  # cancel once the copy has begun (a loaded machine may be slow)
        if temporary.exists() or task.done():
            break
        await asyncio.sleep(0.005)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        assert not temporary.exists()
    assert content(source) == expected  # cancelled or (rarely) already done: same content


async def test_any_duckdb_file_compacts_without_a_revision(tmp_path: Path) -> None:
    path = tmp_path / "plain.duckdb"
    with duckdb.connect(str(path)) as duck:
        duck.execute(
            "CREATE TABLE t AS SELECT range AS x, md5(range::VARCHAR) AS y FROM range(50000)"
        )
        duck.execute("DELETE FROM t WHERE x > 100")
    report = await compact(path)
    assert report.revision is None
    assert report.rows == {"main.t": 101}
    assert report.bytes_after < report.bytes_before
