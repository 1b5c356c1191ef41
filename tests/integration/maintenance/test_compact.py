"""``maintenance.compact``: a rewritten file gives space back and holds exactly the same data."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from project_architect_db import (
    ConfigurationError,
    Database,
    DatabaseLockedError,
    StorageError,
)
from project_architect_db.maintenance import TEMP_SUFFIX, compact
from tests._holder import hold_open
from tests.integration.maintenance.helpers import content, fragmented, identical


@pytest.fixture
async def deleted_rows(tmp_path: Path, extension_directory: Path) -> Path:
    path = tmp_path / "fragmented.duckdb"
    await fragmented(path, extension_directory)
    return path


async def test_a_file_with_deleted_rows_shrinks_and_keeps_every_row(
    deleted_rows: Path, tmp_path: Path, extension_directory: Path
) -> None:
    reference = tmp_path / "reference.duckdb"
    shutil.copy(deleted_rows, reference)
    before = deleted_rows.stat().st_size

    report = await compact(deleted_rows)

    after = deleted_rows.stat().st_size
    assert after < before
    assert (report.bytes_before, report.bytes_after) == (before, after)
    assert report.bytes_reclaimed == before - after > 0
    assert report.revision == "0003"
    assert report.rows["main.projects"] == 40
    assert report.rows["main.builds"] == 0
    assert identical(reference, deleted_rows)
    assert content(reference) == content(deleted_rows)
    assert not Path(f"{deleted_rows}{TEMP_SUFFIX}").exists()
    assert not Path(f"{deleted_rows}.wal").exists()
    with duckdb.connect(str(deleted_rows)) as duck:
        # sequences, views, macros and constraints came along
        assert duck.execute("SELECT nextval('padb_test_sequence')").fetchone() == (11,)
        assert duck.execute("SELECT count(*) FROM padb_test_view").fetchone() == (40,)
        with pytest.raises(duckdb.ConstraintException):
            duck.execute("INSERT INTO projects SELECT * FROM projects LIMIT 1")
    async with Database.open(deleted_rows, extension_directory=extension_directory) as db:
        assert await db.search.documents("architecture", limit=1)  # the fts index still works


async def test_a_second_compaction_reclaims_nothing_more(deleted_rows: Path) -> None:
    await compact(deleted_rows)
    again = await compact(deleted_rows)
    assert abs(again.bytes_reclaimed) <= again.bytes_before // 10


async def test_a_locked_file_is_refused_and_left_untouched(deleted_rows: Path) -> None:
    before = deleted_rows.read_bytes()
    holder = hold_open(deleted_rows)
    try:
        with pytest.raises(DatabaseLockedError, match=str(holder.pid)):
            await compact(deleted_rows)
    finally:
        holder.communicate("\n", timeout=30)
    assert deleted_rows.read_bytes() == before
    assert not Path(f"{deleted_rows}{TEMP_SUFFIX}").exists()


async def test_a_missing_file_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        await compact(tmp_path / "absent.duckdb")
    assert not (tmp_path / "absent.duckdb").exists()


async def test_a_folder_or_memory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is not a file"):
        await compact(tmp_path)
    with pytest.raises(ConfigurationError, match="in-memory"):
        await compact(":memory:")
    with pytest.raises(StorageError, match="Cannot use the path"):
        await compact(tmp_path / ("x" * 5000))


async def test_a_file_that_is_not_duckdb_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n" * 1000)
    with pytest.raises(StorageError, match="not a readable DuckDB database"):
        await compact(path)
    assert path.read_text() == "not a database\n" * 1000


async def test_a_leftover_temporary_copy_is_replaced(deleted_rows: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference.duckdb"
    shutil.copy(deleted_rows, reference)
    leftover = Path(f"{deleted_rows}{TEMP_SUFFIX}")
    leftover.write_bytes(b"half a copy")
    Path(f"{leftover}.wal").write_bytes(b"half a log")
    await compact(deleted_rows)
    assert not leftover.exists() and not Path(f"{leftover}.wal").exists()
    assert identical(reference, deleted_rows)


async def test_a_folder_in_the_way_of_the_copy_is_refused(deleted_rows: Path) -> None:
    before = deleted_rows.read_bytes()
    blocker = Path(f"{deleted_rows}{TEMP_SUFFIX}")
    blocker.mkdir()
    (blocker / "keep.txt").write_text("mine")
    with pytest.raises(StorageError, match="is a folder"):
        await compact(deleted_rows)
    assert (blocker / "keep.txt").read_text() == "mine"
    assert deleted_rows.read_bytes() == before


@pytest.fixture(params=["clean", "with a leftover copy"])
def read_only_folder(request: pytest.FixtureRequest, deleted_rows: Path) -> Iterator[Path]:
    """The database's folder made unwritable (chattr +i as root, who ignores permissions)."""
    folder = deleted_rows.parent
    if request.param == "with a leftover copy":
        Path(f"{deleted_rows}{TEMP_SUFFIX}").write_bytes(b"left by a killed compaction")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("chattr is needed to make a folder unwritable for root")
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        if done.returncode:
            pytest.skip("this file system has no immutable attribute")
        try:
            yield deleted_rows
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield deleted_rows
        finally:
            folder.chmod(0o755)


async def test_a_read_only_folder_is_a_storage_error_and_the_file_is_untouched(
    read_only_folder: Path,
) -> None:
    before = content(read_only_folder)
    with pytest.raises(StorageError, match="writable folder"):
        await compact(read_only_folder)
    assert content(read_only_folder) == before


async def test_a_file_open_in_this_process_is_refused(
    deleted_rows: Path, extension_directory: Path
) -> None:
    before = content(deleted_rows)
    async with Database.open(deleted_rows, extension_directory=extension_directory):
        with pytest.raises(DatabaseLockedError, match="open in this process"):
            await compact(deleted_rows)
    with duckdb.connect(str(deleted_rows)):  # plain duckdb, default configuration
        with pytest.raises(DatabaseLockedError, match="close it, then compact"):
            await compact(deleted_rows)
    assert content(deleted_rows) == before
