"""The edges of a backup: leftovers of dead processes, cancellation mid-copy, the checks."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import duckdb
import pytest

from project_architect_db import Database, StorageError, __version__
from project_architect_db.maintenance.backup import backups_in, restore
from project_architect_db.maintenance.backup._verify import broken_invariants, check_copy
from tests.integration.backup.helpers import fill


async def test_a_backup_removes_temporaries_of_dead_processes_only(tmp_path: Path) -> None:
    dead = tmp_path / ".app-1.duckdb.tmp-999999999"  # no such process
    dead_wal = tmp_path / ".app-1.duckdb.tmp-999999999.wal"
    alive = tmp_path / f".app-2.duckdb.tmp-{os.getppid()}"  # a live process's, in progress
    unrelated = tmp_path / ".hidden.tmp-notapid"
    for path in (dead, dead_wal, alive, unrelated):
        path.write_bytes(b"partial")
    async with Database.open(tmp_path / "app.duckdb", load_fts=False) as db:
        await db.backup(tmp_path)
    assert not dead.exists() and not dead_wal.exists()
    assert alive.exists() and unrelated.exists()


async def test_cancelling_a_backup_mid_copy_interrupts_it_and_keeps_nothing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    async with Database.open(tmp_path / "app.duckdb", load_fts=False) as db:
        await db.projects.bulk_create(
            [{"name": f"P {i}", "description": "x" * 500} for i in range(30_000)]
        )
        task = asyncio.create_task(db.backup(folder))
        for _ in range(2_000):  # wait until the copy is being written
            if any(".tmp-" in name for name in os.listdir(folder)):
                break
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert os.listdir(folder) == []
        assert await db.projects.count() == 30_000  # the database goes on
        report = await db.backup(folder)
    assert backups_in(folder) == [report.path]


def _plain(path: Path, statements: list[str]) -> None:
    with duckdb.connect(str(path)) as duck:
        for statement in statements:
            duck.execute(statement)


def test_the_invariants_find_orphans_gaps_and_duplicate_slugs(tmp_path: Path) -> None:
    path = tmp_path / "broken.duckdb"
    _plain(
        path,
        [
            "CREATE TABLE projects (id INTEGER, slug VARCHAR)",
            "CREATE TABLE conversations (id INTEGER, project_id INTEGER)",
            "CREATE TABLE messages (id INTEGER, conversation_id INTEGER, sequence INTEGER)",
            "INSERT INTO projects VALUES (1, 'a'), (2, 'a')",
            "INSERT INTO conversations VALUES (10, 1), (11, 99)",
            "INSERT INTO messages VALUES (100, 10, 1), (101, 10, 3)",
        ],
    )
    with duckdb.connect(":memory:") as duck:
        duck.execute(f"ATTACH '{path}' AS b (READ_ONLY)")
        rows = {"main.projects": 2, "main.conversations": 2, "main.messages": 2}
        assert broken_invariants(duck, "b", rows) == {
            "orphan conversations": 1,
            "gaps in messages.sequence": 1,
            "duplicate project slugs": 1,
        }
        with pytest.raises(StorageError, match="breaks the library's invariants"):
            check_copy(duck, "b", rows, None, "The file")


async def test_a_file_without_the_schema_backs_up_with_no_revision(tmp_path: Path) -> None:
    async with Database.open(":memory:", load_fts=False, upgrade=True) as db:
        await fill(db, 1)
        report = await db.backup(tmp_path / "m.duckdb")
    assert report.manifest.revision == "0003"
    plain = tmp_path / "plain.duckdb"
    _plain(plain, ["CREATE TABLE t (a INTEGER)", "INSERT INTO t VALUES (1)"])
    with duckdb.connect(":memory:") as duck:
        duck.execute(f"ATTACH '{plain}' AS p (READ_ONLY)")
        check_copy(duck, "p", {"main.t": 1}, None, "A plain file")  # no revision, no invariants


async def test_restore_into_a_missing_folder_is_a_storage_error(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "app.duckdb", load_fts=False) as db:
        report = await db.backup(tmp_path / "b.duckdb")
    with pytest.raises(StorageError, match="Cannot write the restored copy"):
        await restore(
            report.path,
            tmp_path / "missing" / "app.duckdb",
            library_version=__version__,
            known_revisions={"0003"},
        )
    assert not (tmp_path / "missing").exists()
