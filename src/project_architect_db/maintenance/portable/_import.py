"""Importing a Parquet export into a new database file, built aside and renamed into place.

1. The manifest is checked (format version, schema revision known to this library), then every
   file (present, size and SHA-256), and the destination (absent, or replaced only when asked
   and not open anywhere).
2. A temporary file ``.<name>.tmp-<pid>`` beside the destination gets the source's schema from
   the manifest's DDL (tables, sequences where they stopped), the rows of every table in one
   transaction (``INSERT ... BY NAME`` from each file), the row counts checked against the
   manifest, then the indexes and views, and a checkpoint.
3. The caller migrates it to this library's revision (an older export is upgraded), then it is
   fsynced and renamed over the destination; a replaced file and its WAL are kept aside as
   ``<file>.replaced-<time>``, as a restore does.

Until the rename only the temporary file is written: a failure leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from project_architect_db.exceptions import AlreadyExistsError, ReadOnlyError, StorageError
from project_architect_db.exceptions._translate import translating
from project_architect_db.maintenance.backup._manifest import TEMP_MARK, fsync_file, fsync_folder
from project_architect_db.maintenance.backup._restore import _ensure_not_open, _move_aside
from project_architect_db.maintenance.backup._take import _identifier, _literal
from project_architect_db.maintenance.backup._verify import row_counts
from project_architect_db.maintenance.portable._manifest import (
    ExportManifest,
    check_files,
    check_revision,
    read_export_manifest,
)

__all__ = ["ImportJob", "checked_export"]


class ImportJob:
    """One import of ``folder`` into the file ``database`` (its blocking steps)."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        database: str | os.PathLike[str],
        *,
        overwrite: bool,
        known_revisions: Collection[str],
        memory_limit: str | None = None,
    ) -> None:
        self.folder = Path(os.fspath(folder)).expanduser()
        self.database = Path(os.fspath(database)).expanduser().absolute()
        self.overwrite = overwrite
        self.known_revisions = known_revisions
        self.temp = self.database.with_name(f".{self.database.name}{TEMP_MARK}{os.getpid()}")
        self.config: dict[str, Any] = {} if memory_limit is None else {"memory_limit": memory_limit}
        self.connection: Any = None

    def check(self) -> ExportManifest:
        """Check the export and the destination; nothing is written.

        Raises:
            StorageError: The export is incomplete or damaged; the destination's folder is
                missing.
            MigrationError: A newer library wrote the export.
            AlreadyExistsError: The destination exists and ``overwrite`` is false.
            DatabaseLockedError: The destination is open in a process.
        """
        manifest = checked_export(self.folder, self.known_revisions)
        if not self.database.parent.is_dir():
            raise StorageError(
                f"The folder {self.database.parent} does not exist: create it (or choose "
                "another), then import again. Nothing was written."
            )
        wal = Path(f"{self.database}.wal")
        if self.database.exists() or wal.exists():
            if not self.overwrite:
                raise AlreadyExistsError(
                    f"{self.database} exists: importing replaces it (it is kept aside as "
                    f"{self.database.name}.replaced-<time>). Pass --yes (overwrite=True) to go on."
                )
            _ensure_not_open(self.database)
        return manifest

    def build(self, manifest: ExportManifest) -> None:
        """Write the schema and every row into the temporary file, checked against the manifest.

        Raises:
            StorageError: The folder is not writable or the disk is full (nothing kept), or the
                rows read differ from the manifest.
        """
        import duckdb

        self.discard()
        try:
            with translating():
                self.connection = duckdb.connect(str(self.temp), config=self.config)
                try:
                    self._load(self.connection, manifest)
                finally:
                    connection, self.connection = self.connection, None
                    connection.close()
        except BaseException as error:
            self.discard()
            if isinstance(error, StorageError | ReadOnlyError) and not isinstance(error, _Mismatch):
                raise StorageError(
                    f"Cannot write the imported database beside {self.database} ({error}): it "
                    "needs a writable folder with room for the data. Nothing was left behind."
                ) from error
            raise

    def _load(self, connection: Any, manifest: ExportManifest) -> None:
        ddl = manifest.schema
        for statement in [*ddl.schemas, *ddl.sequences, *ddl.tables]:
            connection.execute(statement)
        connection.execute("BEGIN TRANSACTION")
        for entry in manifest.tables:
            schema, table = entry.table.split(".", 1)
            connection.execute(
                f"INSERT INTO {_identifier(schema)}.{_identifier(table)} BY NAME "
                f"SELECT * FROM read_parquet({_literal(str(self.folder / entry.file))})"
            )
        connection.execute("COMMIT")
        name = connection.execute("SELECT current_database()").fetchone()[0]
        found = row_counts(connection, name)
        if found != manifest.rows:
            raise _Mismatch(
                f"The rows read from {self.folder} ({found}) differ from its manifest "
                f"({manifest.rows}): export again. Nothing was kept."
            )
        for statement in [*ddl.indexes, *ddl.views]:
            connection.execute(statement)
        connection.execute("CHECKPOINT")

    def interrupt(self) -> None:
        """Stop the running statement (called from the event loop on cancellation)."""
        connection = self.connection
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.interrupt()

    def publish(self) -> Path | None:
        """Rename the built file over the destination; returns where a replaced one was kept.

        Raises:
            StorageError: The file could not be flushed or renamed (nothing replaced).
        """
        wal = Path(f"{self.database}.wal")
        aside = Path(f"{self.database}.replaced-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}")
        try:
            if Path(f"{self.temp}.wal").exists():  # pragma: no cover - closed after a checkpoint
                raise StorageError(f"{self.temp} still has a write-ahead log; nothing was kept.")
            fsync_file(self.temp)
            moved = _move_aside(self.database, wal, aside)
            os.replace(self.temp, self.database)
            fsync_folder(self.database.parent)
        except OSError as error:
            self.discard()
            raise StorageError(
                f"Cannot move the imported database into place ({error}); {self.database} was "
                "left as it was."
            ) from error
        return aside if moved else None

    def discard(self) -> None:
        """Remove the temporary file and its WAL (what a failed import leaves)."""
        for leftover in (self.temp, Path(f"{self.temp}.wal")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)


def checked_export(folder: Path, known_revisions: Collection[str]) -> ExportManifest:
    """The manifest of the export in ``folder``, once it and every file check out.

    Raises:
        StorageError: The export is incomplete or damaged.
        MigrationError: A newer library wrote it.
    """
    manifest = read_export_manifest(folder)
    check_revision(manifest, folder, known_revisions)
    check_files(folder, manifest)
    return manifest


class _Mismatch(StorageError):
    """The rows loaded differ from the manifest (not a storage failure of the destination)."""
