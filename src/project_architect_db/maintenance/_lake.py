"""Maintenance of a lake: DuckLake's compaction, snapshot expiry and file clean-up, in order.

A lake never rewrites a file in place: every commit adds Parquet files (or rows inlined in the
catalog) and a snapshot, and deletes only mark files. :func:`maintain_lake` runs DuckLake's own
functions on the attached lake, in the order that frees the most:

1. ``ducklake_flush_inlined_data``: rows inlined in the catalog by small commits go to Parquet.
2. ``ducklake_merge_adjacent_files``: small adjacent files of a table become one.
3. ``ducklake_expire_snapshots(older_than => now() - retention)``: snapshots older than the
   retention (7 days by default) are forgotten; time travel to them ends.
4. ``ducklake_cleanup_old_files(older_than => now() - retention)``: files no snapshot needs any
   more, scheduled for deletion before the cut-off, are deleted.
5. ``ducklake_delete_orphaned_files(older_than => now() - retention)``: files in the data path
   that no snapshot knows (a writer killed between writing a file and committing), older than
   the cut-off, are deleted.

**Readers are safe.** A DuckDB transaction on a lake reads the snapshot it took at its first
read, and the files of that snapshot. Steps 3-5 only touch snapshots and files older than the
retention, so a reader (or an ``as_of`` read) whose snapshot is younger than the retention never
loses a file; a statement would have to run for the whole retention (7 days) to be at risk.
The orphan step has the same cut-off, so a file another process is writing right now (not yet
committed, so not yet known to the catalog) is never taken for an orphan.

``dry_run=True`` lists what steps 3-5 would remove and, instead of steps 1-2, the tables that
hold more than one data file (what a merge would work on); it flushes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from project_architect_db.core.settings import Settings
from project_architect_db.exceptions import ConfigurationError, ReadOnlyError
from project_architect_db.exceptions._translate import translating

__all__ = [
    "DEFAULT_RETENTION",
    "LakeMaintenanceReport",
    "TableFiles",
    "maintain_lake",
    "refuse_maintenance",
]

#: How long snapshots (and so time travel) and replaced files are kept by default.
DEFAULT_RETENTION = timedelta(days=7)
_LAKE = "padb_lake"  # core.lake.LAKE_ALIAS: the name every lake is attached under


@dataclass(frozen=True, slots=True)
class TableFiles:
    """One table's files in a merge (or, in a dry run, before one).

    Attributes:
        table: ``schema.table``.
        files_processed: Files merged (dry run: the table's data files now).
        files_created: Files written by the merge (dry run: 0).
    """

    table: str
    files_processed: int
    files_created: int


@dataclass(frozen=True, slots=True)
class LakeMaintenanceReport:
    """What :func:`maintain_lake` did, or would do with ``dry_run=True``.

    Attributes:
        dry_run: Nothing was changed; the fields say what would be.
        cutoff: Snapshots and files older than this were (would be) removed.
        flushed: Tables whose inlined rows went to Parquet (dry run: none).
        merged: Tables whose small files were merged (dry run: tables with several files).
        expired_snapshots: The ids of the snapshots expired.
        deleted_files: Data files no snapshot needs any more, deleted.
        orphaned_files: Files no snapshot ever knew, deleted.
    """

    dry_run: bool
    cutoff: datetime
    flushed: tuple[str, ...] = ()
    merged: tuple[TableFiles, ...] = ()
    expired_snapshots: tuple[int, ...] = ()
    deleted_files: tuple[str, ...] = ()
    orphaned_files: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready values (what ``db-vacuum --json`` prints)."""
        return {
            "dry_run": self.dry_run,
            "cutoff": self.cutoff.isoformat(),
            "flushed": list(self.flushed),
            "merged": [
                {
                    "table": m.table,
                    "files_processed": m.files_processed,
                    "files_created": m.files_created,
                }
                for m in self.merged
            ],
            "expired_snapshots": list(self.expired_snapshots),
            "deleted_files": list(self.deleted_files),
            "orphaned_files": list(self.orphaned_files),
        }


def refuse_maintenance(settings: Settings) -> None:
    """Refuse :func:`maintain_lake` on a DuckDB file or a lake opened read-only.

    Raises:
        ConfigurationError: ``settings`` are a DuckDB file's (compact a file instead).
        ReadOnlyError: the lake was opened read-only.
    """
    if not settings.is_lake:
        raise ConfigurationError(
            "maintain_lake() runs DuckLake's compaction and snapshot expiry, and this "
            "database is a DuckDB file: compact a file with `project-architect-db "
            "db-vacuum` (project_architect_db.maintenance.compact) once it is closed."
        )
    if settings.read_only:
        raise ReadOnlyError(
            "This lake was opened read-only, and its maintenance writes to the catalog "
            "(even a dry run lists orphans through a write): open it writable to maintain it."
        )


async def maintain_lake(
    engine: AsyncEngine,
    *,
    older_than: timedelta = DEFAULT_RETENTION,
    dry_run: bool = False,
    now: datetime | None = None,
) -> LakeMaintenanceReport:
    """Compact the lake's files and expire what is older than ``older_than`` (see the module).

    Args:
        engine: The engine of an open lake database (``db.engine``).
        older_than: The retention: snapshots and files older than this go; must be > 0.
        dry_run: Change nothing; report what would be done.
        now: The clock (tests); the current UTC time by default.

    Raises:
        ConfigurationError: ``older_than`` is not positive.
    """
    if older_than <= timedelta(0):
        raise ConfigurationError(
            f"older_than must be a positive duration (got {older_than}); the default keeps "
            f"{DEFAULT_RETENTION.days} days of snapshots for time travel and running readers."
        )
    cutoff = (now or datetime.now(UTC)) - older_than
    with translating():
        return await _Maintenance(engine, cutoff, dry_run).run()


class _Maintenance:
    """The five steps, each its own lake transaction (each sees the commit of the one before)."""

    def __init__(self, engine: AsyncEngine, cutoff: datetime, dry_run: bool) -> None:
        self.engine = engine
        self.cutoff = cutoff
        self.dry_run = dry_run
        stamp = f"TIMESTAMPTZ '{cutoff.isoformat()}'"  # our own datetime: no user text
        self.options = f"'{_LAKE}', older_than => {stamp}, dry_run => {str(dry_run).lower()}"

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        async with self.engine.begin() as connection:
            result = await connection.exec_driver_sql(sql)
            return [tuple(row) for row in result.fetchall()]

    async def run(self) -> LakeMaintenanceReport:
        flushed, merged = await (self._would_compact() if self.dry_run else self._compact())
        expired = await self.rows(
            f"SELECT snapshot_id FROM ducklake_expire_snapshots({self.options})"
        )
        deleted = await self.rows(f"SELECT path FROM ducklake_cleanup_old_files({self.options})")
        orphans = await self.rows(
            f"SELECT path FROM ducklake_delete_orphaned_files({self.options})"
        )
        return LakeMaintenanceReport(
            dry_run=self.dry_run,
            cutoff=self.cutoff,
            flushed=flushed,
            merged=merged,
            expired_snapshots=tuple(int(row[0]) for row in expired),
            deleted_files=tuple(str(row[0]) for row in deleted),
            orphaned_files=tuple(str(row[0]) for row in orphans),
        )

    async def _compact(self) -> tuple[tuple[str, ...], tuple[TableFiles, ...]]:
        flushed = await self.rows(f"SELECT * FROM ducklake_flush_inlined_data('{_LAKE}')")
        merged = await self.rows(f"SELECT * FROM ducklake_merge_adjacent_files('{_LAKE}')")
        return (
            tuple(f"{row[0]}.{row[1]}" for row in flushed if row[2]),
            tuple(TableFiles(f"{row[0]}.{row[1]}", int(row[2]), int(row[3])) for row in merged),
        )

    async def _would_compact(self) -> tuple[tuple[str, ...], tuple[TableFiles, ...]]:
        """In a dry run: the tables with more than one data file (what a merge works on)."""
        tables = await self.rows(
            "SELECT table_name, file_count FROM ducklake_table_info"
            f"('{_LAKE}') WHERE file_count > 1 ORDER BY table_name"
        )
        return (), tuple(TableFiles(f"main.{row[0]}", int(row[1]), 0) for row in tables)
