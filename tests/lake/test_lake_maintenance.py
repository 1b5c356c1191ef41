"""Maintenance of a lake: DuckLake's flush, merge, snapshot expiry and clean-up (db-vacuum).

Real PostgreSQL catalog, real DuckLake; the clock is moved forward instead of waiting 7 days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import ConfigurationError, ReadOnlyError
from project_architect_db.maintenance import DEFAULT_RETENTION, maintain_lake

from .conftest import Lake


async def _snapshots(db: Database) -> int:
    async with db.engine.connect() as connection:
        result = await connection.exec_driver_sql(
            "SELECT count(*) FROM ducklake_snapshots('padb_lake')"
        )
        return int(result.scalar_one())


async def _small_writes(db: Database, count: int) -> None:
    for number in range(count):
        await db.projects.create({"name": f"P{number}", "slug": f"p-{number}"})


async def test_a_dry_run_changes_nothing_and_lists_what_would_go(lake_database: Database) -> None:
    await _small_writes(lake_database, 3)
    before = await _snapshots(lake_database)
    later = datetime.now(UTC) + DEFAULT_RETENTION + timedelta(days=1)
    report = await maintain_lake(lake_database.engine, dry_run=True, now=later)
    assert report.dry_run
    assert len(report.expired_snapshots) == before - 1  # all but the newest
    assert report.flushed == ()
    assert await _snapshots(lake_database) == before
    assert await lake_database.projects.count() == 3


async def test_maintenance_flushes_expires_and_keeps_every_row(lake_database: Database) -> None:
    await _small_writes(lake_database, 4)
    before = await _snapshots(lake_database)
    later = datetime.now(UTC) + DEFAULT_RETENTION + timedelta(days=1)
    report = await maintain_lake(lake_database.engine, now=later)
    assert "main.projects" in report.flushed  # 1-row commits were inlined in the catalog
    # the flush committed a snapshot of its own: every one before it is past the cut-off
    assert report.expired_snapshots == tuple(range(before))
    assert await _snapshots(lake_database) == 1
    assert sorted(p.slug for p in (await lake_database.projects.list()).items) == [
        f"p-{n}" for n in range(4)
    ]
    # the second run has nothing left to flush or expire
    again = await maintain_lake(lake_database.engine, now=later)
    assert again.flushed == ()
    assert report.as_dict()["expired_snapshots"] == list(report.expired_snapshots)


async def test_snapshots_within_the_retention_are_kept(lake_database: Database) -> None:
    await _small_writes(lake_database, 2)
    before = await _snapshots(lake_database)
    report = await lake_database.maintain_lake()  # 7 days: nothing here is that old
    assert report.expired_snapshots == ()
    assert report.deleted_files == ()
    assert report.orphaned_files == ()
    assert await _snapshots(lake_database) >= before


async def test_merge_joins_the_small_files_of_a_table(lake_database: Database) -> None:
    for batch in range(3):  # 3 commits above the inlining limit: 3 Parquet files
        await lake_database.projects.bulk_create(
            [{"name": f"B{batch}-{n}", "slug": f"b{batch}-{n}"} for n in range(50)]
        )
    dry = await lake_database.maintain_lake(dry_run=True)
    assert any(m.table == "main.projects" and m.files_processed >= 3 for m in dry.merged)
    report = await lake_database.maintain_lake()
    merged = {m.table: m for m in report.merged}
    assert merged["main.projects"].files_processed >= 3
    assert merged["main.projects"].files_created == 1
    assert await lake_database.projects.count() == 150


async def test_a_retention_that_is_not_positive_is_refused(lake_database: Database) -> None:
    with pytest.raises(ConfigurationError, match="positive duration"):
        await lake_database.maintain_lake(older_than=timedelta(0))
    with pytest.raises(ConfigurationError, match="positive duration"):
        await lake_database.maintain_lake(older_than=timedelta(days=-1))


async def test_a_file_is_told_to_use_compaction(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "a.duckdb") as db:
        with pytest.raises(ConfigurationError, match="db-vacuum"):
            await db.maintain_lake()


async def test_a_read_only_lake_is_told_to_open_writable(
    lake: Lake, lake_database: Database, extension_directory: Path
) -> None:
    await _small_writes(lake_database, 1)
    async with lake.open(extension_directory=extension_directory, read_only=True) as db:
        for dry_run in (True, False):  # DuckLake's orphan listing writes even in a dry run
            with pytest.raises(ReadOnlyError, match="writable"):
                await db.maintain_lake(dry_run=dry_run)
