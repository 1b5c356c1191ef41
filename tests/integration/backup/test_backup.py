"""Online backups of a real DuckDB file: consistent under writers, verified, rotated."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from project_architect_db import ConfigurationError, Database, StorageError
from project_architect_db.maintenance.backup import backups_in, read_manifest
from tests.integration.backup.helpers import (
    AcknowledgingWriters,
    count,
    fill,
    read_only_folder,
)
from tests.integration.maintenance.helpers import identical

WRITERS = 32


async def test_a_backup_taken_while_32_tasks_write_holds_exactly_the_acknowledged_ones(
    db: Database, tmp_path: Path
) -> None:
    writers = AcknowledgingWriters(db, WRITERS)
    await writers.until(64)
    report = await db.backup(tmp_path / "backups.duckdb")
    await writers.until(64)  # writers go on during and after the backup
    await writers.finish()

    with duckdb.connect(str(report.path), read_only=True) as duck:
        slugs = {row[0] for row in duck.execute("SELECT slug FROM projects").fetchall()}
        per_project = dict(
            duck.execute(
                "SELECT p.slug, count(m.id) FROM projects p JOIN conversations c "
                "ON c.project_id = p.id JOIN messages m ON m.conversation_id = c.id GROUP BY 1"
            ).fetchall()
        )
        orphans = duck.execute(
            "SELECT (SELECT count(*) FROM messages ANTI JOIN conversations c "
            "ON messages.conversation_id = c.id) + (SELECT count(*) FROM conversations "
            "ANTI JOIN projects p ON conversations.project_id = p.id)"
        ).fetchone()[0]
        gaps = duck.execute(
            "SELECT count(*) FROM (SELECT conversation_id FROM messages GROUP BY 1 "
            "HAVING min(sequence) <> 1 OR max(sequence) <> count(*))"
        ).fetchone()[0]
        duplicates = duck.execute("SELECT count(*) - count(DISTINCT slug) FROM projects").fetchone()
    acked_before, began_after, every = writers.split(report.snapshot_window)
    assert acked_before, "no write was acknowledged before the backup"
    assert began_after, "no write began after the backup's snapshot"
    assert acked_before <= slugs, "an acknowledged transaction is missing from the backup"
    assert not slugs & began_after, "a transaction that began after the snapshot is in it"
    assert slugs <= every, "the backup holds a transaction that was never acknowledged"
    assert set(per_project) == slugs and set(per_project.values()) == {3}, "a partial one"
    assert (orphans, gaps, duplicates) == (0, 0, (0,))
    assert report.manifest.rows["main.projects"] == len(slugs)


async def test_the_manifest_describes_the_backup_and_the_file_is_complete(
    db: Database, tmp_path: Path
) -> None:
    await fill(db, 5)
    report = await db.backup(tmp_path)
    manifest = json.loads(Path(f"{report.path}.manifest.json").read_text())
    assert manifest["file"] == report.path.name
    assert manifest["revision"] == "0004"
    assert manifest["rows"]["main.messages"] == 15
    assert manifest["size"] == report.path.stat().st_size
    assert manifest["library_version"] and manifest["duckdb_version"] == duckdb.__version__
    assert read_manifest(report.path) == report.manifest
    assert not [name for name in os.listdir(tmp_path) if ".tmp-" in name]
    assert not Path(f"{report.path}.wal").exists()


async def test_the_default_folder_is_beside_the_file_and_keep_rotates(db: Database) -> None:
    await fill(db, 2)
    reports = [await db.backup(keep=2) for _ in range(4)]
    folder = Path(f"{db.settings.database}.backups")
    assert backups_in(folder) == [reports[2].path, reports[3].path]
    assert reports[3].removed == (reports[1].path,)
    assert sorted(os.listdir(folder)) == sorted(
        name for r in reports[2:] for name in (r.path.name, r.path.name + ".manifest.json")
    )


async def test_a_backup_restores_row_for_row_into_a_fresh_file(
    db: Database, tmp_path: Path
) -> None:
    from project_architect_db import __version__
    from project_architect_db.maintenance.backup import restore

    await fill(db, 10)
    report = await db.backup(tmp_path / "b.duckdb")
    await db.close()
    restored = tmp_path / "restored.duckdb"
    result = await restore(
        report.path,
        restored,
        library_version=__version__,
        known_revisions={"0001", "0002", "0003", "0004"},
    )
    assert result.replaced is None
    assert identical(Path(db.settings.database), restored)
    assert count(restored, "messages") == 30


async def test_a_backup_of_memory_needs_a_destination(tmp_path: Path) -> None:
    async with Database.open(":memory:", load_fts=False) as db:
        await fill(db, 1)
        with pytest.raises(ConfigurationError, match="pass dest"):
            await db.backup()
        report = await db.backup(tmp_path)
    assert report.path.name.startswith("memory-")
    assert count(report.path, "projects") == 1


@pytest.mark.parametrize("keep", [0, -1, True, 1.5])
async def test_keep_must_be_a_whole_number_of_one_or_more(
    db: Database, tmp_path: Path, keep: Any
) -> None:
    with pytest.raises(ConfigurationError, match="keep must be"):
        await db.backup(tmp_path, keep=keep)
    assert backups_in(tmp_path) == []
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]


async def test_a_destination_in_a_missing_folder_is_refused_and_nothing_written(
    db: Database, tmp_path: Path
) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        await db.backup(tmp_path / "missing" / "b.duckdb")
    with pytest.raises(StorageError, match="does not exist"):
        await db.backup(tmp_path / "missing-folder")
    assert not (tmp_path / "missing").exists()


async def test_a_destination_folder_that_is_a_file_is_refused(db: Database, tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a folder")
    with pytest.raises(StorageError, match="is not a folder"):
        await db.backup(tmp_path / "plain")
    assert (tmp_path / "plain").read_text() == "not a folder"


async def test_a_read_only_folder_is_a_storage_error_and_the_earlier_backup_stays(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    await fill(db, 2)
    first = await db.backup(folder)
    digest = first.manifest.sha256
    read_only_folder(folder, True)
    try:
        with pytest.raises(StorageError, match="Cannot write the backup"):
            await db.backup(folder)
    finally:
        read_only_folder(folder, False)
    assert backups_in(folder) == [first.path]
    assert read_manifest(first.path).sha256 == digest


async def test_a_cancelled_backup_leaves_no_file_behind(db: Database, tmp_path: Path) -> None:
    await fill(db, 30)
    task = asyncio.create_task(db.backup(tmp_path))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert backups_in(tmp_path) == []
    assert not [name for name in os.listdir(tmp_path) if ".tmp-" in name and "src" in name]
