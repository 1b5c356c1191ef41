"""The manifest written beside each backup, and the files a backup folder holds.

A backup is complete when its manifest exists and describes it: the manifest is moved into
place only after the database file is verified, fsynced and renamed, so a process killed at any
point leaves either no manifest (an incomplete backup, never offered for a restore) or a
complete one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from project_architect_db.exceptions import StorageError
from project_architect_db.maintenance._compact import _fsync_folder as fsync_folder

__all__ = [
    "MANIFEST_SUFFIX",
    "TEMP_MARK",
    "Manifest",
    "backup_name",
    "backups_in",
    "default_backup_dir",
    "fsync_file",
    "fsync_folder",
    "manifest_path",
    "read_manifest",
    "sha256_of",
    "write_manifest",
]

#: The manifest of ``x.duckdb`` is ``x.duckdb.manifest.json``.
MANIFEST_SUFFIX = ".manifest.json"
#: A backup being written is ``.<name>.tmp-<pid>``: never mistaken for a backup.
TEMP_MARK = ".tmp-"
FORMAT = 1
_STAMP = "%Y%m%dT%H%M%S%fZ"
_NAME = re.compile(r"^(?P<stem>.+)-(?P<stamp>\d{8}T\d{12}Z)\.duckdb$")


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup holds, written as JSON beside it.

    Attributes:
        file: The backup file's name (in the manifest's folder).
        source: The database the backup was taken from.
        revision: Its schema revision (``alembic_version``), ``None`` for a file without one.
        library_version: The version of project-architect-db that wrote it.
        duckdb_version: The DuckDB version that wrote it.
        snapshot_at: When the snapshot was taken (UTC, ISO 8601).
        rows: Rows per table (``schema.table``).
        sha256: The SHA-256 of the backup file.
        size: Its size in bytes.
        format: The manifest format (1).
    """

    file: str
    source: str
    revision: str | None
    library_version: str
    duckdb_version: str
    snapshot_at: str
    rows: dict[str, int] = field(default_factory=dict)
    sha256: str = ""
    size: int = 0
    format: int = FORMAT


def default_backup_dir(database: str | os.PathLike[str]) -> Path:
    """Where backups of ``database`` go unless told otherwise: ``<file>.backups`` beside it.

    Examples:
        >>> default_backup_dir("/srv/architect.duckdb").as_posix()
        '/srv/architect.duckdb.backups'
    """
    return Path(f"{os.fspath(database)}.backups")


def backup_name(database: str | os.PathLike[str], when: datetime) -> str:
    """The file name of a backup of ``database`` taken at ``when`` (sorts by time).

    Examples:
        >>> from datetime import datetime, UTC
        >>> backup_name("a/architect.duckdb", datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
        'architect-20260102T030405000006Z.duckdb'
    """
    return f"{Path(database).stem}-{when.astimezone(UTC).strftime(_STAMP)}.duckdb"


def manifest_path(backup: Path) -> Path:
    """The manifest beside ``backup``."""
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def backups_in(folder: Path, stem: str | None = None) -> list[Path]:
    """The complete backups in ``folder`` (with a manifest), oldest first; ``stem`` filters."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for name in names:
        match = _NAME.match(name)
        if match is None or (stem is not None and match["stem"] != stem):
            continue
        if name + MANIFEST_SUFFIX in names:
            found.append((match["stamp"], folder / name))
    return [path for _, path in sorted(found)]


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fsync_file(path: Path) -> None:
    """Flush a file's data to the disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def write_manifest(backup: Path, manifest: Manifest) -> Path:
    """Write the manifest atomically beside ``backup`` (temporary name, fsync, rename)."""
    target = manifest_path(backup)
    temp = target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}")
    try:
        temp.write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n")
        fsync_file(temp)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    fsync_folder(target.parent)
    return target


def read_manifest(backup: Path) -> Manifest:
    """The manifest of ``backup``.

    Raises:
        StorageError: There is none (an incomplete backup), or it cannot be read.
    """
    path = manifest_path(backup)
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return Manifest(**data)
    except FileNotFoundError as error:
        raise StorageError(
            f"{backup} has no manifest ({path.name}): it is not a complete backup (a backup "
            "interrupted before it was verified has none). Restore another backup."
        ) from error
    except (OSError, ValueError, TypeError) as error:
        raise StorageError(
            f"The manifest {path} cannot be read ({error}): restore another backup."
        ) from error
