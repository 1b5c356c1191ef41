"""Restoring a backup over a database file, and the advice given when a file is corrupt.

1. The backup is checked against its manifest first: SHA-256 and size, then, attached
   read-only, the row counts, the schema revision and the library's invariants. A backup made
   by a newer library version, or at a schema revision this version does not know, is refused.
2. The target must not be open in any process (DuckDB's lock is tried).
3. The backup is copied to ``<file>.restore-tmp`` and fsynced; the current file and its WAL
   are renamed to ``<file>.replaced-<ts>`` (and ``.wal``); the copy is renamed into place and
   the folder fsynced.
4. The restored file is opened (read-only, every row counted). If that fails, the replaced
   file is put back. If it succeeds the replaced file is KEPT: it may hold transactions
   committed after the backup's snapshot, which only its owner can salvage, and deleting it
   cannot be undone. The report names it; delete it once satisfied.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from project_architect_db.exceptions import (
    AlreadyExistsError,
    DatabaseLockedError,
    MigrationError,
    StorageError,
)
from project_architect_db.exceptions._translate import translating
from project_architect_db.maintenance.backup._manifest import (
    Manifest,
    backups_in,
    default_backup_dir,
    fsync_file,
    fsync_folder,
    read_manifest,
    sha256_of,
)
from project_architect_db.maintenance.backup._verify import check_copy

__all__ = ["RestoreReport", "check_backup", "corrupt_file_error", "newest_backup", "restore_file"]

_CHECK = "padb_restore_check"


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a restore did.

    Attributes:
        database: The restored file.
        backup: The backup it came from.
        manifest: The backup's manifest.
        replaced: Where the file it replaced was kept (``None``: there was none).
    """

    database: Path
    backup: Path
    manifest: Manifest
    replaced: Path | None


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check_backup(
    connection: Any, backup: Path, *, library_version: str, known_revisions: set[str]
) -> Manifest:
    """Check ``backup`` against its manifest, on ``connection`` (any DuckDB connection).

    Raises:
        StorageError: No backup there, no manifest, or the file does not match it.
        MigrationError: Written by a newer library version or at an unknown schema revision.
    """
    if not backup.is_file():
        raise StorageError(f"There is no backup file {backup}: check the path.")
    manifest = read_manifest(backup)
    if _version_tuple(manifest.library_version) > _version_tuple(library_version):
        raise MigrationError(
            f"{backup} was written by project-architect-db {manifest.library_version}, newer "
            f"than this {library_version}: restore it with that version or newer."
        )
    if manifest.revision is not None and manifest.revision not in known_revisions:
        raise MigrationError(
            f"{backup} is at schema revision {manifest.revision}, which this version "
            f"({library_version}) does not know: restore it with a newer version."
        )
    size = backup.stat().st_size
    if size != manifest.size or sha256_of(backup) != manifest.sha256:
        raise StorageError(
            f"{backup} does not match its manifest (size or SHA-256 differs): the file was "
            "changed or damaged after the backup. Restore another backup."
        )
    with translating():
        connection.execute(f"ATTACH '{_quote(str(backup))}' AS {_CHECK} (READ_ONLY)")
        try:
            check_copy(connection, _CHECK, manifest.rows, manifest.revision, f"The backup {backup}")
        finally:
            connection.execute(f"DETACH {_CHECK}")
    return manifest


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _ensure_not_open(database: Path) -> None:
    import duckdb

    try:
        duckdb.connect(str(database), read_only=True).close()
    except duckdb.ConnectionException as error:  # open in this process, another configuration
        raise DatabaseLockedError(
            f"{database} is open in this process: close it, then restore.", path=str(database)
        ) from error
    except duckdb.IOException as error:
        text = str(error).lower()
        if "could not set lock" in text or "conflicting lock" in text:
            raise DatabaseLockedError(
                f"{database} is open in another process: stop it, then restore.",
                path=str(database),
            ) from error
        # a corrupt file is what a restore is for: go on


def restore_file(
    backup: Path, database: Path, manifest: Manifest, *, overwrite: bool
) -> Path | None:
    """Put ``backup`` in place of ``database`` (already checked); returns the replaced file.

    Raises:
        AlreadyExistsError: ``database`` exists and ``overwrite`` is false.
        DatabaseLockedError: ``database`` is open in another process.
        StorageError: The copy could not be written or did not open (the old file is back).
    """
    wal = Path(f"{database}.wal")
    exists = database.exists() or wal.exists()
    if exists and not overwrite:
        raise AlreadyExistsError(
            f"{database} exists: restoring replaces it (it is kept aside as "
            f"{database.name}.replaced-<time>). Pass --yes (overwrite=True) to go on."
        )
    if database.exists():
        _ensure_not_open(database)
    temp = Path(f"{database}.restore-tmp")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    aside = Path(f"{database}.replaced-{stamp}")
    try:
        shutil.copyfile(backup, temp)
        fsync_file(temp)
    except OSError as error:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise StorageError(
            f"Cannot write the restored copy beside {database} ({error.strerror or error}): "
            f"free space or check permissions; {database} was left as it was."
        ) from error
    moved = _move_aside(database, wal, aside)
    os.replace(temp, database)
    fsync_folder(database.parent)
    try:
        _open_check(database, manifest)
    except BaseException:
        _put_back(database, wal, aside, moved)
        raise
    return aside if moved else None


def _move_aside(database: Path, wal: Path, aside: Path) -> bool:
    moved = False
    if database.exists():
        os.replace(database, aside)
        moved = True
    if wal.exists():
        os.replace(wal, Path(f"{aside}.wal"))
        moved = True
    return moved


def _put_back(database: Path, wal: Path, aside: Path, moved: bool) -> None:
    with contextlib.suppress(OSError):
        database.unlink()
    if moved:
        with contextlib.suppress(OSError):
            os.replace(aside, database)
        with contextlib.suppress(OSError):
            os.replace(Path(f"{aside}.wal"), wal)
    fsync_folder(database.parent)


def _open_check(database: Path, manifest: Manifest) -> None:
    import duckdb

    with translating():
        connection = duckdb.connect(":memory:")
        try:
            connection.execute(f"ATTACH '{_quote(str(database))}' AS {_CHECK} (READ_ONLY)")
            try:
                check_copy(
                    connection, _CHECK, manifest.rows, manifest.revision, f"The restored {database}"
                )
            finally:
                connection.execute(f"DETACH {_CHECK}")
        finally:
            connection.close()


def newest_backup(database: str | os.PathLike[str], backup_dir: Path | None) -> Path | None:
    """The newest complete backup of ``database`` in ``backup_dir`` (default folder if None)."""
    folder = backup_dir if backup_dir is not None else default_backup_dir(database)
    found = backups_in(folder, Path(database).stem)
    return found[-1] if found else None


def corrupt_file_error(
    database: str, backup_dir: Path | None, error: BaseException
) -> StorageError:
    """The error ``Database.open`` raises for a file DuckDB finds corrupt: what to restore."""
    newest = newest_backup(database, backup_dir)
    folder = backup_dir if backup_dir is not None else default_backup_dir(database)
    if newest is None:
        advice = (
            f"No backup of it was found in {folder} (set backup_dir / PADB_BACKUP_DIR if they "
            "are elsewhere): restore one with `project-architect-db restore BACKUP --database "
            f"{database} --yes`."
        )
    else:
        advice = (
            f"The newest backup is {newest}: restore it with `project-architect-db restore "
            f"{newest} --database {database} --yes` (the damaged file is kept aside)."
        )
    cause = error.__cause__ if error.__cause__ is not None else error
    return StorageError(f"{database} is corrupt ({cause}). {advice}", backup=newest)
