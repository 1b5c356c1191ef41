"""Online backups of a database file, verified, and their restore.

:func:`take_backup` (what ``db.backup()`` and ``project-architect-db backup`` run) copies one
read transaction of the open database into a new file while readers and writers go on,
verifies it and moves it into place with a manifest (see ``_take.py``). :func:`restore` puts a
backup checked against its manifest in place of a file, keeping the replaced file aside (see
``_restore.py``).

Examples:
    >>> import project_architect_db as padb
    >>> async def main() -> None:
    ...     async with padb.Database.open("architect.duckdb") as db:
    ...         report = await db.backup("backups/", keep=7)
    >>> padb.run(main())  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from project_architect_db.core._worker import to_thread
from project_architect_db.core.executor import Executor
from project_architect_db.core.settings import Settings
from project_architect_db.exceptions import ConfigurationError, StorageError
from project_architect_db.maintenance._priority import held_cursor, in_thread
from project_architect_db.maintenance.backup._manifest import (
    MANIFEST_SUFFIX,
    Manifest,
    backup_name,
    backups_in,
    default_backup_dir,
    read_manifest,
)
from project_architect_db.maintenance.backup._restore import (
    RestoreReport,
    check_backup,
    corrupt_file_error,
    newest_backup,
    restore_file,
)
from project_architect_db.maintenance.backup._schedule import BackupSchedule
from project_architect_db.maintenance.backup._take import BackupJob, BackupReport

__all__ = [
    "MANIFEST_SUFFIX",
    "BackupReport",
    "BackupSchedule",
    "Manifest",
    "RestoreReport",
    "backups_in",
    "corrupt_file_error",
    "default_backup_dir",
    "newest_backup",
    "read_manifest",
    "restore",
    "take_backup",
]


def _target(settings: Settings, dest: str | os.PathLike[str] | None) -> Path:
    """The backup file: ``dest`` ending in ``.duckdb`` is the file, anything else a folder."""
    if dest is None:
        if settings.in_memory:
            raise ConfigurationError(
                "An in-memory database has no default backup folder: pass dest (a folder, or a "
                "file name ending in .duckdb)."
            )
        folder = settings.backup_dir or default_backup_dir(settings.database)
        if settings.backup_dir is None:  # the default folder is made on demand
            with contextlib.suppress(OSError):  # a failure is reported by _existing below
                folder.mkdir(exist_ok=True)
    else:
        chosen = Path(os.fspath(dest)).expanduser()
        if chosen.suffix == ".duckdb":
            folder, name = chosen.parent, chosen.name
            return _existing(folder) / name
        folder = chosen
    from datetime import UTC, datetime

    source = "memory.duckdb" if settings.in_memory else settings.database
    return _existing(folder) / backup_name(source, datetime.now(UTC))


def _existing(folder: Path) -> Path:
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise StorageError(
            f"The backup folder {folder} {what}: create it (or choose another), then back up "
            "again. Nothing was written."
        )
    return folder


async def take_backup(
    executor: Executor[Any],
    settings: Settings,
    dest: str | os.PathLike[str] | None = None,
    *,
    keep: int | None = None,
    library_version: str,
    low_priority: bool = True,
) -> BackupReport:
    """Back up the open database into ``dest`` (see :meth:`Database.backup`)."""
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
        raise ConfigurationError(f"keep must be a whole number >= 1, not {keep!r}.")
    target = await to_thread(_target, settings, dest)
    source = "memory.duckdb" if settings.in_memory else settings.database
    async with held_cursor(executor) as connection:
        job = BackupJob(
            connection,
            target,
            source=source,
            keep=keep,
            library_version=library_version,
            low_priority=low_priority,
        )
        return await in_thread(job.run, job.interrupt)


async def restore(
    backup: str | os.PathLike[str],
    database: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    library_version: str,
    known_revisions: set[str],
) -> RestoreReport:
    """Check ``backup`` against its manifest and put it in place of ``database``.

    No process may have ``database`` open. The replaced file (and its WAL) is kept as
    ``<database>.replaced-<time>``.

    Raises:
        StorageError: The backup is missing, incomplete or does not match its manifest; the
            copy could not be written (``database`` is then untouched).
        MigrationError: The backup comes from a newer library version or schema.
        AlreadyExistsError: ``database`` exists and ``overwrite`` is false.
        DatabaseLockedError: ``database`` is open in another process.
    """

    def work() -> RestoreReport:
        import duckdb

        source = Path(os.fspath(backup)).expanduser()
        target = Path(os.fspath(database)).expanduser()

        connection = duckdb.connect(":memory:")
        try:
            manifest = check_backup(
                connection,
                source,
                library_version=library_version,
                known_revisions=known_revisions,
            )
        finally:
            connection.close()
        replaced = restore_file(source, target, manifest, overwrite=overwrite)
        return RestoreReport(database=target, backup=source, manifest=manifest, replaced=replaced)

    return await to_thread(work)
