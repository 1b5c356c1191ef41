"""Parquet export and import of real DuckDB files: one snapshot, checked, nothing left behind."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
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
from project_architect_db.maintenance.portable import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    read_export_manifest,
)
from project_architect_db.maintenance.portable._export import ExportJob
from project_architect_db.migration import MigrationManager
from tests.integration.backup.helpers import AcknowledgingWriters, fill, read_only_folder
from tests.integration.maintenance.helpers import content, fragmented, identical

WRITERS = 8


@pytest.fixture
async def exported(db: Database, tmp_path: Path) -> Path:
    await fill(db, 5)
    report = await db.export_parquet(tmp_path / "export")
    return report.folder


def _leftovers(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if ".tmp-" in name]


def _edit_manifest(folder: Path, **changes: Any) -> None:
    path = folder / MANIFEST_NAME
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


# -- happy paths --------------------------------------------------------------------------------
async def test_a_file_exported_and_imported_equals_the_source_row_for_row(
    db: Database, tmp_path: Path
) -> None:
    await fill(db, 6)
    await db.checkpoint()
    report = await db.export_parquet(tmp_path / "export")
    imported = await Database.import_parquet(report.folder, tmp_path / "copy.duckdb")
    await db.close()
    assert identical(Path(db.settings.database), imported.database)
    assert imported.replaced is None
    manifest = read_export_manifest(report.folder)
    assert manifest == report.manifest == imported.manifest
    assert manifest.revision == "0004" and manifest.format_version == FORMAT_VERSION
    assert manifest.library_version == __version__
    assert manifest.duckdb_version == duckdb.__version__
    assert manifest.rows["main.messages"] == 18 and "main.alembic_version" in manifest.rows
    assert sorted(os.listdir(report.folder)) == sorted(
        [MANIFEST_NAME, *(entry.file for entry in manifest.tables)]
    )
    assert not _leftovers(tmp_path)


async def test_search_indexes_are_rebuilt_and_sequences_and_views_carried(
    tmp_path: Path, extension_directory: Path
) -> None:
    source = tmp_path / "src.duckdb"
    await fragmented(source, extension_directory)  # fts indexes, a sequence at 10, a view
    with duckdb.connect(str(source)) as duck:  # a schema of the application's own
        duck.execute("CREATE SCHEMA extra")
        duck.execute("CREATE TABLE extra.notes (id INTEGER PRIMARY KEY, body VARCHAR)")
        duck.execute("CREATE INDEX ix_notes_body ON extra.notes (body)")
        duck.execute("INSERT INTO extra.notes VALUES (1, 'one'), (2, 'two')")
    async with Database.open(source, extension_directory=extension_directory) as db:
        report = await db.export_parquet(tmp_path / "export")
    assert not [table for table in report.manifest.rows if "search" in table or "fts" in table]
    target = tmp_path / "copy.duckdb"
    await Database.import_parquet(report.folder, target)
    derived = ("padb_search_", "fts_main_")
    source_tables = {k: v for k, v in content(source).items() if not k.startswith(derived)}
    assert content(target) == source_tables
    with duckdb.connect(str(target)) as duck:
        # the source issued 10: never again (DuckDB reports a reloaded sequence's next value
        # as its last, so the import may skip one, which a sequence allows)
        assert duck.execute("SELECT nextval('padb_test_sequence')").fetchone()[0] in (11, 12)
        assert duck.execute("SELECT count(*) FROM padb_test_view").fetchone() == (40,)
    async with Database.open(target, extension_directory=extension_directory) as db:
        assert await db.search.documents("architecture", limit=1)  # rebuilt on first search


async def test_an_export_taken_while_8_tasks_write_holds_exactly_its_snapshot(
    db: Database, tmp_path: Path
) -> None:
    writers = AcknowledgingWriters(db, WRITERS)
    await writers.until(32)
    report = await db.export_parquet(tmp_path / "export")
    await writers.until(32)  # the writers go on during and after the export
    await writers.finish()

    folder = report.folder
    with duckdb.connect(":memory:") as duck:
        slugs = {
            row[0]
            for row in duck.execute(f"SELECT slug FROM '{folder}/main_projects.parquet'").fetchall()
        }
        per_project = dict(
            duck.execute(
                f"SELECT p.slug, count(m.id) FROM '{folder}/main_projects.parquet' p "
                f"JOIN '{folder}/main_conversations.parquet' c ON c.project_id = p.id "
                f"JOIN '{folder}/main_messages.parquet' m ON m.conversation_id = c.id GROUP BY 1"
            ).fetchall()
        )
    acked_before, began_after, _ = writers.split(report.snapshot_window)
    assert acked_before and began_after
    assert acked_before <= slugs, "an acknowledged transaction is missing from the export"
    assert not slugs & began_after, "a transaction that began after the snapshot is in it"
    assert set(per_project) == slugs and set(per_project.values()) == {3}, "a partial one"
    assert report.manifest.rows["main.projects"] == len(slugs)
    imported = await Database.import_parquet(folder, tmp_path / "copy.duckdb")
    assert imported.manifest.rows["main.messages"] == 3 * len(slugs)


async def test_an_export_at_an_older_revision_is_migrated_up_on_import(
    db: Database, tmp_path: Path
) -> None:
    await fill(db, 3)
    await MigrationManager(db.engine).downgrade("0001")  # the real revision 0001 schema
    await db.close()
    old = Path(db.settings.database)
    job = ExportJob(
        duckdb.connect(str(old)), tmp_path / "export", source=str(old), library_version="0.0.1"
    )
    report = job.run()
    assert report.manifest.revision == "0001"
    imported = await Database.import_parquet(report.folder, tmp_path / "copy.duckdb")
    async with Database.open(imported.database, load_fts=False) as copy:
        assert len((await copy.projects.list()).items) == 3
        head = await MigrationManager(copy.engine).head()
    with duckdb.connect(str(imported.database), read_only=True) as duck:
        assert duck.execute("SELECT version_num FROM alembic_version").fetchone() == (head,)
        assert duck.execute("SELECT count(asked_at IS NULL) FROM messages").fetchone() == (9,)


async def test_an_empty_existing_folder_is_filled_and_overwrite_keeps_the_old_file_aside(
    db: Database, tmp_path: Path
) -> None:
    await fill(db, 2)
    (tmp_path / "empty").mkdir()
    report = await db.export_parquet(tmp_path / "empty")
    assert (tmp_path / "empty" / MANIFEST_NAME).is_file()
    target = tmp_path / "copy.duckdb"
    target.write_bytes(b"old")
    imported = await Database.import_parquet(report.folder, target, overwrite=True)
    assert imported.replaced is not None and imported.replaced.read_bytes() == b"old"
    assert imported.manifest.rows["main.projects"] == 2


# -- the export refused or failed: typed errors, nothing left -----------------------------------
async def test_exporting_into_a_missing_or_non_empty_folder_is_refused(
    db: Database, tmp_path: Path
) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        await db.export_parquet(tmp_path / "missing" / "export")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "kept.txt").write_text("kept")
    with pytest.raises(AlreadyExistsError, match="never overwrites"):
        await db.export_parquet(tmp_path / "full")
    assert os.listdir(tmp_path / "full") == ["kept.txt"]
    assert not _leftovers(tmp_path)


async def test_exporting_into_a_read_only_folder_is_a_storage_error(
    db: Database, tmp_path: Path
) -> None:
    await fill(db, 1)
    folder = tmp_path / "ro"
    folder.mkdir()
    read_only_folder(folder, True)
    try:
        with pytest.raises(StorageError, match="Cannot write the export"):
            await db.export_parquet(folder / "export")
    finally:
        read_only_folder(folder, False)
    assert os.listdir(folder) == []


async def test_a_cancelled_export_leaves_no_folder_behind(db: Database, tmp_path: Path) -> None:
    await fill(db, 30)
    cancelled = 0
    for delay in (0, 0.001, 0.01, 0.05):
        task = asyncio.create_task(db.export_parquet(tmp_path / "export"))
        await asyncio.sleep(delay)
        task.cancel()
        try:
            report = await task
        except asyncio.CancelledError:
            cancelled += 1
            if (tmp_path / "export").exists():  # the cancel landed once its rename was done
                manifest = read_export_manifest(tmp_path / "export")
                assert manifest.rows["main.projects"] == 30  # a whole export, never a part
                shutil.rmtree(tmp_path / "export")
        else:  # it ended before the cancel landed (a quiet machine): a whole export
            assert report.manifest.rows["main.projects"] == 30
            shutil.rmtree(tmp_path / "export")
        assert not _leftovers(tmp_path)
    assert cancelled >= 1  # at least the export cancelled before it began
    assert (await db.export_parquet(tmp_path / "export")).manifest.rows["main.projects"] == 30


async def test_a_killed_exports_temporary_folder_is_removed_by_the_next(
    db: Database, tmp_path: Path
) -> None:
    dead = tmp_path / ".export.tmp-999999999"  # no such process
    dead.mkdir()
    (dead / "main_projects.parquet").write_bytes(b"partial")
    live = tmp_path / f".other.tmp-{os.getpid()}"
    live.mkdir()
    await db.export_parquet(tmp_path / "export")
    assert not dead.exists() and live.exists()


# -- the import refused: typed errors, nothing written ------------------------------------------
async def test_a_tampered_file_is_refused_and_nothing_is_written(
    exported: Path, tmp_path: Path
) -> None:
    path = exported / "main_messages.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match="does not match the manifest"):
        await Database.import_parquet(exported, tmp_path / "copy.duckdb")
    assert not (tmp_path / "copy.duckdb").exists() and not _leftovers(tmp_path)


async def test_a_missing_file_or_manifest_is_refused(exported: Path, tmp_path: Path) -> None:
    (exported / "main_documents.parquet").unlink()
    with pytest.raises(StorageError, match=r"lacks main_documents\.parquet"):
        await Database.import_parquet(exported, tmp_path / "copy.duckdb")
    (exported / MANIFEST_NAME).unlink()
    with pytest.raises(StorageError, match="not a complete export"):
        await Database.import_parquet(exported, tmp_path / "copy.duckdb")
    with pytest.raises(StorageError, match="no export folder"):
        await Database.import_parquet(tmp_path / "nowhere", tmp_path / "copy.duckdb")
    assert not (tmp_path / "copy.duckdb").exists()


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"revision": "0999"}, MigrationError, "revision 0999.*upgrade project-architect-db"),
        ({"format_version": FORMAT_VERSION + 1}, MigrationError, "upgrade project-architect-db"),
        ({"format": "something else"}, StorageError, "not a project-architect-db export"),
        ({"tables": "nonsense"}, StorageError, "incomplete"),
    ],
)
async def test_a_newer_or_foreign_manifest_is_refused(
    exported: Path, tmp_path: Path, changes: dict[str, Any], error: type[Exception], match: str
) -> None:
    _edit_manifest(exported, **changes)
    with pytest.raises(error, match=match):
        await Database.import_parquet(exported, tmp_path / "copy.duckdb")
    assert not (tmp_path / "copy.duckdb").exists()


async def test_an_unreadable_manifest_is_a_storage_error(exported: Path, tmp_path: Path) -> None:
    (exported / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(StorageError, match="cannot be read"):
        await Database.import_parquet(exported, tmp_path / "copy.duckdb")


async def test_rows_that_differ_from_the_manifest_are_refused(
    exported: Path, tmp_path: Path
) -> None:
    data = json.loads((exported / MANIFEST_NAME).read_text())
    for entry in data["tables"]:
        if entry["table"] == "main.projects":
            entry["rows"] += 1
    (exported / MANIFEST_NAME).write_text(json.dumps(data))
    with pytest.raises(StorageError, match="differ from its manifest"):
        await Database.import_parquet(exported, tmp_path / "copy.duckdb")
    assert not (tmp_path / "copy.duckdb").exists() and not _leftovers(tmp_path)


async def test_an_existing_destination_is_kept_without_overwrite(
    exported: Path, tmp_path: Path
) -> None:
    target = tmp_path / "copy.duckdb"
    target.write_bytes(b"precious")
    with pytest.raises(AlreadyExistsError, match="--yes"):
        await Database.import_parquet(exported, target)
    assert target.read_bytes() == b"precious"


async def test_a_destination_open_in_this_process_is_refused(db: Database, exported: Path) -> None:
    with pytest.raises(DatabaseLockedError, match="open in this process"):
        await Database.import_parquet(exported, db.settings.database, overwrite=True)
    assert len((await db.projects.list()).items) == 5


async def test_a_missing_or_read_only_destination_folder_is_a_storage_error(
    exported: Path, tmp_path: Path
) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        await Database.import_parquet(exported, tmp_path / "missing" / "copy.duckdb")
    folder = tmp_path / "ro"
    folder.mkdir()
    read_only_folder(folder, True)
    try:
        with pytest.raises(StorageError, match="Cannot write the imported database"):
            await Database.import_parquet(exported, folder / "copy.duckdb")
    finally:
        read_only_folder(folder, False)
    assert os.listdir(folder) == []
