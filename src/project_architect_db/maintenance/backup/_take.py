"""Taking a backup: one read transaction copied into a new file, verified, then renamed.

The steps, and why a process killed at any point never damages the source or an earlier backup
and never leaves something that passes for a complete backup:

1. ``ATTACH`` a temporary file ``.<name>.tmp-<pid>`` in the backup folder (temporary files of
   dead processes are removed first).
2. ``BEGIN``; one read of the source fixes the snapshot; ``COPY FROM DATABASE`` copies every
   table, index, sequence, view, macro and schema (the full-text indexes too) into the
   temporary file; the row counts are read in the same snapshot; ``COMMIT``. Writers go on: a
   DuckDB read transaction blocks no one (MVCC), it only holds back automatic checkpoints.
3. ``CHECKPOINT`` and ``DETACH`` the copy, so it has no WAL; attach it read-only and check it:
   the same row counts, the same schema revision, the library's invariants (no orphans,
   sequences 1..n, unique slugs).
4. ``fsync`` it, ``os.replace`` it to its final name, ``fsync`` the folder, then write the
   manifest (with the file's SHA-256) the same way. Only a file with a manifest is a backup.
5. Rotation keeps the newest ``keep`` complete backups of this database in the folder.

The source file is only read. Until step 4 nothing but the temporary file is written.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from project_architect_db.exceptions import StorageError
from project_architect_db.exceptions._translate import translating
from project_architect_db.maintenance._priority import copying
from project_architect_db.maintenance.backup._manifest import (
    TEMP_MARK,
    Manifest,
    backups_in,
    fsync_file,
    fsync_folder,
    manifest_path,
    sha256_of,
    write_manifest,
)
from project_architect_db.maintenance.backup._verify import check_copy, revision_of, row_counts

__all__ = ["BackupJob", "BackupReport"]


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup wrote.

    Attributes:
        path: The backup file.
        manifest: Its manifest (also written beside it as JSON).
        removed: Older backups removed by the rotation.
        snapshot_window: ``time.monotonic()`` just before and just after the snapshot was
            fixed: every transaction committed before the first is in the backup, none that
            began after the second is.
        seconds: How long the backup took.
    """

    path: Path
    manifest: Manifest
    removed: tuple[Path, ...] = ()
    snapshot_window: tuple[float, float] = (0.0, 0.0)
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's live process
        return True
    return True


def remove_dead_temporaries(folder: Path) -> None:
    """Remove the temporary files that killed backups (dead processes) left in ``folder``."""
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if not name.startswith(".") or TEMP_MARK not in name:
                continue
            pid = name.rsplit(TEMP_MARK, 1)[1].removesuffix(".wal")
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    (folder / name).unlink()


def _touch(connection: Any, name: str) -> None:
    """Read the source database once: a table's rows, or its catalog when it has none."""
    first = connection.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? LIMIT 1",
        [name],
    ).fetchone()
    if first is not None:
        schema, table = (_identifier(part) for part in first)
        connection.execute(f"SELECT 1 FROM {_identifier(name)}.{schema}.{table} LIMIT 1")


class BackupJob:
    """One backup, run in a worker thread on its own connection to the open database."""

    def __init__(
        self,
        connection: Any,
        target: Path,
        *,
        source: str,
        keep: int | None,
        library_version: str,
        low_priority: bool = True,
    ) -> None:
        self.connection = connection
        self.low_priority = low_priority
        self.target = target
        self.source = source
        self.keep = keep
        self.library_version = library_version
        self.temp = target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}")
        self.alias = f"padb_backup_{uuid.uuid4().hex[:12]}"
        self._interrupted = threading.Event()

    def interrupt(self) -> None:
        """Stop the running statement (called from the event loop on cancellation)."""
        self._interrupted.set()
        with contextlib.suppress(Exception):  # the backup may have ended and closed it
            self.connection.interrupt()

    def run(self) -> BackupReport:
        started = time.monotonic()
        folder = self.target.parent
        remove_dead_temporaries(folder)
        try:
            with copying(self.connection, self.source, low_priority=self.low_priority):
                with translating():
                    window, rows, revision = self._copy()
                    self._verify(rows, revision)
                manifest = self._publish(rows, revision)
        except BaseException:
            self._remove_temporary()
            raise
        finally:
            self.connection.close()
        removed = self._rotate()
        return BackupReport(
            path=self.target,
            manifest=manifest,
            removed=removed,
            snapshot_window=window,
            seconds=time.monotonic() - started,
            rows=rows,
        )

    # -- steps ---------------------------------------------------------------------------------
    def _copy(self) -> tuple[tuple[float, float], dict[str, int], str | None]:
        connection = self.connection
        name = connection.execute("SELECT current_database()").fetchone()[0]
        self._attach("")
        try:
            connection.execute("BEGIN TRANSACTION")
            before = time.monotonic()
            # the first read of the source fixes its snapshot (DuckDB starts it lazily)
            _touch(connection, name)
            window = (before, time.monotonic())
            connection.execute(f"COPY FROM DATABASE {_identifier(name)} TO {self.alias}")
            rows = row_counts(connection, name)
            revision = revision_of(connection, name, rows)
            connection.execute("COMMIT")
            connection.execute(f"CHECKPOINT {self.alias}")
        except BaseException:
            with contextlib.suppress(Exception):
                connection.execute("ROLLBACK")
            raise
        finally:
            with contextlib.suppress(Exception):
                connection.execute(f"DETACH {self.alias}")
        return window, rows, revision

    def _attach(self, options: str) -> None:
        import duckdb

        try:
            self.connection.execute(f"ATTACH {_literal(str(self.temp))} AS {self.alias}{options}")
        except (duckdb.IOException, duckdb.PermissionException) as error:
            raise StorageError(
                f"Cannot write the backup in {self.target.parent} ({error}): it needs a "
                "writable folder with room for a full copy. Nothing else was written."
            ) from error

    def _verify(self, rows: dict[str, int], revision: str | None) -> None:
        self._attach(" (READ_ONLY)")
        try:
            check_copy(self.connection, self.alias, rows, revision, f"The backup copy {self.temp}")
        finally:
            self.connection.execute(f"DETACH {self.alias}")

    def _publish(self, rows: dict[str, int], revision: str | None) -> Manifest:
        import duckdb

        if Path(f"{self.temp}.wal").exists():
            raise StorageError(  # pragma: no cover - a checkpointed, detached copy has none
                f"The backup copy {self.temp} still has a write-ahead log; nothing was kept."
            )
        if self._interrupted.is_set():
            raise StorageError("The backup was interrupted; nothing was kept.")
        try:
            fsync_file(self.temp)
            manifest = Manifest(
                file=self.target.name,
                source=self.source,
                revision=revision,
                library_version=self.library_version,
                duckdb_version=duckdb.__version__,
                snapshot_at=datetime.now(UTC).isoformat(),
                rows=rows,
                sha256=sha256_of(self.temp),
                size=self.temp.stat().st_size,
            )
            # a manifest left by an earlier backup of this name must not describe the new file
            manifest_path(self.target).unlink(missing_ok=True)
            os.replace(self.temp, self.target)
            fsync_folder(self.target.parent)
            write_manifest(self.target, manifest)
        except OSError as error:
            raise StorageError(
                f"Cannot finish the backup {self.target} ({error.strerror or error}): free "
                "space or choose another folder. Earlier backups were left as they were."
            ) from error
        return manifest

    def _rotate(self) -> tuple[Path, ...]:
        if self.keep is None:
            return ()
        stem = Path(self.source).stem
        old = backups_in(self.target.parent, stem)[: -self.keep or None]
        removed = []
        for backup in old:
            if backup == self.target:  # pragma: no cover - the newest is never rotated out
                continue
            with contextlib.suppress(OSError):  # the manifest first: never a half backup
                manifest_path(backup).unlink()
                backup.unlink()
                removed.append(backup)
        return tuple(removed)

    def _remove_temporary(self) -> None:
        for leftover in (self.temp, Path(f"{self.temp}.wal")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
