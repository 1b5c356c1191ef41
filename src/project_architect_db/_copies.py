"""The copies a :class:`~project_architect_db.Database` makes of itself: backups and exports.

A mixin of the facade (``database.py`` stays the one place that opens and closes), kept apart
because these methods only hand the open executor and the settings to ``maintenance/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from project_architect_db.core.executor import Executor
from project_architect_db.core.settings import Settings

if TYPE_CHECKING:
    from project_architect_db.maintenance.backup import BackupReport
    from project_architect_db.maintenance.portable import ExportReport, ImportReport

__all__ = ["FileCopies"]


class FileCopies:
    """``backup``, ``export_parquet`` and ``import_parquet`` of :class:`Database`."""

    settings: Settings
    _executor: Executor[Any]

    if TYPE_CHECKING:

        @classmethod
        def open(cls, target: str | Path | None = None, **options: Any) -> Self: ...

        async def __aenter__(self) -> Self: ...

        async def __aexit__(self, *exc_info: object) -> None: ...

    async def backup(
        self,
        dest: str | os.PathLike[str] | None = None,
        *,
        keep: int | None = None,
        low_priority: bool = True,
    ) -> BackupReport:
        """Write a verified, consistent copy of the database while readers and writers go on.

        One read transaction is copied into a temporary file, checked (row counts, schema
        revision, no orphans, gap-free sequences, unique slugs), fsynced and renamed into
        place, then a manifest ``<backup>.manifest.json`` is written beside it (revision,
        versions, rows per table, SHA-256). A backup without a manifest is incomplete.

        Args:
            dest: A folder (the file is named ``<stem>-<UTC time>.duckdb``), or a file name
                ending in ``.duckdb``. Default: the ``backup_dir`` setting, else
                ``<database>.backups`` beside the file.
            keep: Keep only the newest ``keep`` backups of this database in the folder.
            low_priority: Yield the CPU to the application while copying: DuckDB's
                ``threads`` is 1 for the database while the copy runs, and the copy's thread
                runs at the lowest priority. Writers barely slow down; the backup takes
                longer. ``False``: the fastest copy (nothing else to serve, as in the CLI).

        Raises:
            StorageError: The folder is missing, not writable or full, or the copy did not
                verify; nothing was kept and earlier backups are untouched.
            ConfigurationError: ``keep`` is not >= 1, or no ``dest`` for ``:memory:``.
            DatabaseNotOpenError: The database is not open.
        """
        from project_architect_db import __version__
        from project_architect_db.maintenance.backup import take_backup

        return await take_backup(
            self._executor,
            self.settings,
            dest,
            keep=keep,
            library_version=__version__,
            low_priority=low_priority,
        )

    async def export_parquet(
        self, folder: str | os.PathLike[str], *, low_priority: bool = True
    ) -> ExportReport:
        """Export every table to Parquet in ``folder``, one consistent snapshot, writers going on.

        One file per table and ``manifest.json`` (format version, library, DuckDB and schema
        versions, the schema's DDL, rows and SHA-256 per file), written in a temporary folder
        renamed to ``folder`` once complete. The search indexes are not exported (the first
        search after an import rebuilds them).

        Args:
            folder: A new folder (or an empty one) in an existing folder.
            low_priority: Yield the CPU to the application while copying (as :meth:`backup`).

        Raises:
            StorageError: The parent folder is missing, not writable or full; nothing was left.
            AlreadyExistsError: ``folder`` exists and is not empty.
            DatabaseNotOpenError: The database is not open.

        Examples:
            >>> import project_architect_db as padb
            >>> async def main() -> None:
            ...     async with padb.Database.open("architect.duckdb") as db:
            ...         report = await db.export_parquet("exports/2026-12-07")
            >>> padb.run(main())  # doctest: +SKIP
        """
        from project_architect_db import __version__
        from project_architect_db.maintenance.portable import export_parquet

        return await export_parquet(
            self._executor,
            self.settings,
            folder,
            library_version=__version__,
            low_priority=low_priority,
        )

    @classmethod
    async def import_parquet(
        cls,
        folder: str | os.PathLike[str],
        database: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        **options: Any,
    ) -> ImportReport:
        """Build the database file ``database`` from an export made by :meth:`export_parquet`.

        The manifest is checked first (format version, schema revision, every file's SHA-256),
        the file is built aside (schema, rows, row counts, indexes), an older schema revision
        is migrated up, then it is renamed into place. A replaced file is kept aside as
        ``<file>.replaced-<time>``.

        ``options`` are :meth:`open` options for the new file (``memory_limit`` also bounds
        the build). ``database`` may also be a lake (``"ducklake:postgres:..."``, with
        ``data_path`` and any other :meth:`open` option in ``options``): the rows of an export
        at the lake's schema revision go into its empty tables in one lake transaction.

        Raises:
            StorageError: The export is incomplete or damaged, or the destination's folder is
                missing, not writable or full; nothing was left behind.
            MigrationError: A newer library wrote the export (format version or schema
                revision): upgrade project-architect-db.
            AlreadyExistsError: ``database`` exists and ``overwrite`` is false; a lake's
                tables already hold rows.
            DatabaseLockedError: ``database`` is open in a process.

        Examples:
            >>> import project_architect_db as padb
            >>> padb.run(padb.Database.import_parquet("exports/1", "copy.duckdb"))  # doctest: +SKIP
        """
        from project_architect_db.maintenance.portable import import_into_lake, import_parquet
        from project_architect_db.migration import known_revisions

        if os.fspath(database).startswith("ducklake:"):
            async with cls.open(os.fspath(database), **options) as lake:
                return await import_into_lake(
                    lake._executor, folder, known_revisions=known_revisions()
                )

        async def upgrade(path: Path) -> None:
            async with cls.open(path, upgrade=True, load_fts=False, **options):
                pass

        return await import_parquet(
            folder,
            database,
            overwrite=overwrite,
            known_revisions=known_revisions(),
            upgrade=upgrade,
            memory_limit=options.get("memory_limit"),
        )
