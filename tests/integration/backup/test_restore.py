"""Restore: checked against the manifest, refuses to overwrite by default, keeps the old file."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from project_architect_db import (
    AlreadyExistsError,
    Database,
    DatabaseLockedError,
    MigrationError,
    StorageError,
    __version__,
)
from project_architect_db.maintenance.backup import BackupReport, read_manifest, restore
from project_architect_db.maintenance.backup._restore import restore_file
from tests.integration.backup.helpers import count, fill
from tests.integration.maintenance.helpers import identical

KNOWN = {"0001", "0002", "0003"}


async def _backed_up(tmp_path: Path, projects: int = 5) -> tuple[Path, BackupReport]:
    source = tmp_path / "app.duckdb"
    async with Database.open(source, load_fts=False) as db:
        await fill(db, projects)
        report = await db.backup()
    return source, report


def _flip_data_blocks(path: Path) -> None:
    """Invert 64 bytes in every 256 KiB block past the file's three 4 KiB headers."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        for offset in range(12288 + 1000, size, 262144):
            handle.seek(offset)
            data = handle.read(64)
            handle.seek(offset)
            handle.write(bytes(byte ^ 0xFF for byte in data))


async def _restore(backup: Path, database: Path, **options: Any) -> Any:
    return await restore(
        backup, database, library_version=__version__, known_revisions=KNOWN, **options
    )


async def test_a_corrupt_file_is_refused_at_open_naming_the_backup_and_restore_fixes_it(
    tmp_path: Path,
) -> None:
    source, report = await _backed_up(tmp_path, 40)
    pristine = tmp_path / "pristine.duckdb"
    pristine.write_bytes(source.read_bytes())
    _flip_data_blocks(source)
    with pytest.raises(StorageError) as caught:
        async with Database.open(source, load_fts=False):
            pass  # pragma: no cover - the open fails
    message = str(caught.value)
    assert "checksum" in message.lower()
    assert str(report.path) in message
    assert f"project-architect-db restore {report.path} --database {source} --yes" in message
    assert caught.value.context["backup"] == report.path

    result = await _restore(report.path, source, overwrite=True)
    assert result.replaced is not None and result.replaced.exists()  # kept aside
    assert identical(pristine, source)
    async with Database.open(source, load_fts=False) as db:
        assert await db.projects.count() == 40


async def test_a_corrupt_file_without_backups_says_where_they_were_looked_for(
    tmp_path: Path,
) -> None:
    source = tmp_path / "lonely.duckdb"
    async with Database.open(source, load_fts=False) as db:
        await fill(db, 40)
    _flip_data_blocks(source)
    with pytest.raises(StorageError, match="No backup of it was found in") as caught:
        await Database.open(source, load_fts=False, backup_dir=tmp_path / "elsewhere")
    assert str(tmp_path / "elsewhere") in str(caught.value)


async def test_restore_refuses_to_overwrite_without_yes_and_changes_nothing(
    tmp_path: Path,
) -> None:
    source, report = await _backed_up(tmp_path)
    before = source.read_bytes()
    with pytest.raises(AlreadyExistsError, match="--yes"):
        await _restore(report.path, source)
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "replaced" in p.name] == []


async def test_restore_moves_the_old_file_and_its_wal_aside(tmp_path: Path) -> None:
    source, report = await _backed_up(tmp_path)
    wal = Path(f"{source}.wal")
    wal.write_bytes(b"a log of the old file")  # it must never be replayed onto the backup
    result = await _restore(report.path, source, overwrite=True)
    assert not wal.exists()
    assert Path(f"{result.replaced}.wal").read_bytes() == b"a log of the old file"
    assert count(source, "projects") == 5


async def test_a_backup_without_a_manifest_is_not_a_backup(tmp_path: Path) -> None:
    _, report = await _backed_up(tmp_path)
    Path(f"{report.path}.manifest.json").unlink()
    with pytest.raises(StorageError, match="not a complete backup"):
        await _restore(report.path, tmp_path / "new.duckdb")
    assert not (tmp_path / "new.duckdb").exists()


async def test_a_missing_backup_file_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no backup file"):
        await _restore(tmp_path / "nope.duckdb", tmp_path / "new.duckdb")


async def test_a_changed_backup_file_does_not_match_its_manifest(tmp_path: Path) -> None:
    source, report = await _backed_up(tmp_path)
    data = bytearray(report.path.read_bytes())
    data[-100] ^= 0xFF
    report.path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match="does not match its manifest"):
        await _restore(report.path, source, overwrite=True)
    assert count(source, "projects") == 5  # the target was not touched


def _edit_manifest(backup: Path, **changes: Any) -> None:
    path = Path(f"{backup}.manifest.json")
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


async def test_a_manifest_whose_counts_differ_is_refused(tmp_path: Path) -> None:
    _, report = await _backed_up(tmp_path)
    rows = dict(report.manifest.rows, **{"main.projects": 6})
    _edit_manifest(report.path, rows=rows)
    with pytest.raises(StorageError, match=r"main.projects \(6 expected, 5 found\)"):
        await _restore(report.path, tmp_path / "new.duckdb")
    assert not (tmp_path / "new.duckdb").exists()


async def test_an_unreadable_manifest_is_a_storage_error(tmp_path: Path) -> None:
    _, report = await _backed_up(tmp_path)
    Path(f"{report.path}.manifest.json").write_text("{not json")
    with pytest.raises(StorageError, match="cannot be read"):
        await _restore(report.path, tmp_path / "new.duckdb")


async def test_a_backup_from_a_newer_library_version_is_refused(tmp_path: Path) -> None:
    _, report = await _backed_up(tmp_path)
    _edit_manifest(report.path, library_version="99.0.0")
    with pytest.raises(MigrationError, match=r"newer than this"):
        await _restore(report.path, tmp_path / "new.duckdb")
    assert not (tmp_path / "new.duckdb").exists()


async def test_a_backup_at_an_unknown_schema_revision_is_refused(tmp_path: Path) -> None:
    _, report = await _backed_up(tmp_path)
    _edit_manifest(report.path, revision="9999")
    with pytest.raises(MigrationError, match="does not know"):
        await _restore(report.path, tmp_path / "new.duckdb")


def _hold(path: Path) -> subprocess.Popen[bytes]:
    """Another process with ``path`` open read-write (DuckDB's lock)."""
    return subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE,
    )  # fmt: skip


async def test_restore_refuses_a_file_another_process_holds(tmp_path: Path) -> None:
    source, report = await _backed_up(tmp_path)
    holder = _hold(source)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
        with pytest.raises(DatabaseLockedError, match="open in another process"):
            await _restore(report.path, source, overwrite=True)
    finally:
        holder.kill()
        holder.communicate()
    assert count(source, "projects") == 5


async def test_restore_refuses_a_file_open_in_this_process(tmp_path: Path) -> None:
    source, report = await _backed_up(tmp_path)
    async with Database.open(source, load_fts=False):
        with pytest.raises(DatabaseLockedError, match="open in this process"):
            await _restore(report.path, source, overwrite=True)


def test_a_restored_file_that_does_not_check_out_puts_the_old_one_back(tmp_path: Path) -> None:
    import asyncio

    source, report = asyncio.run(_backed_up(tmp_path))
    before = source.read_bytes()
    wrong = dataclasses.replace(read_manifest(report.path), revision="0001")
    with pytest.raises(StorageError, match="schema revision 0003, but 0001"):
        restore_file(report.path, source, wrong, overwrite=True)
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "replaced" in p.name] == []
    with duckdb.connect(str(source), read_only=True) as duck:
        assert duck.execute("SELECT count(*) FROM projects").fetchone() == (5,)
