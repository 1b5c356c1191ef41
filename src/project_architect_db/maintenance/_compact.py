"""Compaction: rewrite a DuckDB file into a fresh one and swap it in atomically.

The steps, and why each keeps the data safe when the process dies at any point:

1. Open the file read-write, in a DuckDB instance of its own. That takes DuckDB's exclusive
   lock (another process holding the file makes this fail: :class:`DatabaseLockedError`, and
   so does an instance of this process) and keeps it until the swap is done, so no writer can
   commit to the old file in between.
2. ``CHECKPOINT``: the WAL is merged into the file and removed. A WAL left beside the file at
   the swap would be replayed onto the new file, so the swap refuses if one is still there.
3. Remove a temporary copy an interrupted compaction left behind (safe: we hold the lock, so no
   other compaction of this file is running).
4. ``COPY FROM DATABASE`` into ``<file>.compact-tmp``: tables, rows, constraints, indexes,
   sequences, views, macros, other schemas (the full-text indexes' ``padb_search_*``) and the
   ``alembic_version`` table. ``CHECKPOINT`` and detach it, so it has no WAL either.
5. Verify the copy, attached read-only: the same tables, views, indexes, sequences and macros,
   and per table the same row count and the same sum of row hashes.
6. ``fsync`` the copy, give it the original's permission bits, ``os.replace`` it over the
   original (atomic on POSIX and Windows) and ``fsync`` the folder.

Until step 6 the original is untouched (a checkpoint is crash-safe in DuckDB); from step 6 on
the verified copy is the file. Any failure removes the temporary copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from project_architect_db.core._worker import to_thread
from project_architect_db.core.settings import is_in_memory, is_lake
from project_architect_db.exceptions import (
    ConfigurationError,
    DatabaseLockedError,
    StorageError,
    UnsupportedOnLakeError,
)
from project_architect_db.exceptions._translate import translating

__all__ = ["TEMP_SUFFIX", "CompactionReport", "compact"]

#: Suffix of the temporary copy written beside the database during a compaction.
TEMP_SUFFIX = ".compact-tmp"

_COPY = "padb_compact"
_OWN_INSTANCE: dict[str, Any] = {"custom_user_agent": "project-architect-db-compact"}
_VERIFY = "padb_compact_verify"


@dataclass(frozen=True, slots=True)
class CompactionReport:
    """What a compaction did.

    Attributes:
        path: The database file.
        bytes_before: The file plus its WAL before.
        bytes_after: The file after (it has no WAL).
        rows: Rows per table (``schema.table``), the same before and after.
        revision: The ``alembic_version`` of the file (``None`` when it has none).
    """

    path: Path
    bytes_before: int
    bytes_after: int
    rows: Mapping[str, int] = field(default_factory=dict)
    revision: str | None = None

    @property
    def bytes_reclaimed(self) -> int:
        """Bytes given back to the file system (negative if the file grew)."""
        return self.bytes_before - self.bytes_after


async def compact(path: str | os.PathLike[str]) -> CompactionReport:
    """Rewrite the database file at ``path`` without its free blocks, safely.

    No process may have the file open (close every ``Database`` on it first). The work runs in
    a thread, so the event loop keeps going; cancelling interrupts it and leaves the original
    file as it was. Needs free space beside the file for a full copy.

    Args:
        path: A DuckDB database file (any DuckDB file, not only this library's).

    Returns:
        The sizes before and after and the rows per table.

    Raises:
        DatabaseLockedError: Another process holds the file.
        StorageError: No such file, not a DuckDB file, the folder cannot be written, the disk
            is full, or the copy did not match (the original is then untouched).
        ConfigurationError: ``path`` is ``:memory:``.
        UnsupportedOnLakeError: ``path`` is a lake (``ducklake:...``).

    Examples:
        >>> import project_architect_db as padb
        >>> from project_architect_db.maintenance import compact
        >>> report = padb.run(compact("architect.duckdb"))  # doctest: +SKIP
    """
    if is_lake(path):
        raise UnsupportedOnLakeError(
            "Compaction rewrites a DuckDB file; a lake is a catalog and Parquet files. Compact "
            "a lake with DuckLake's own ducklake_merge_adjacent_files() and "
            "ducklake_expire_snapshots(), run on the attached lake."
        )
    job = _Compaction(_database_path(path))
    task = asyncio.ensure_future(to_thread(job.run))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        job.interrupt()
        with contextlib.suppress(BaseException):
            await task  # the thread cleans up its temporary copy before it ends
        raise


def _database_path(path: str | os.PathLike[str]) -> Path:
    text = os.fspath(path)
    if is_in_memory(text):
        raise ConfigurationError(
            "Compaction rewrites a database file; an in-memory database has no file to rewrite."
        )
    target = Path(text).expanduser()
    try:
        is_file = target.is_file()
        exists = is_file or target.exists()
    except OSError as error:  # a name too long, for example
        raise StorageError(f"Cannot use the path {text[:100]!r}: {error.strerror}.") from error
    if not is_file:
        what = "is not a file" if exists else "does not exist"
        raise StorageError(f"The database {target} {what}: check the path.")
    return target


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class _Compaction:
    """One compaction of one file, run in a worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wal = Path(f"{path}.wal")
        self.temp = Path(f"{path}{TEMP_SUFFIX}")
        self.temp_wal = Path(f"{self.temp}.wal")
        self._connection: Any = None
        self._interrupted = threading.Event()

    def interrupt(self) -> None:
        """Stop the running statement (called from the event loop on cancellation)."""
        self._interrupted.set()
        connection = self._connection
        if connection is not None:
            connection.interrupt()

    def run(self) -> CompactionReport:
        import duckdb

        before = _size(self.path) + _size(self.wal)
        with translating():
            try:
                # A configuration no one else uses: DuckDB refuses to share an instance this
                # process already has on the file (a swap under it would lose its writes).
                connection: Any = duckdb.connect(str(self.path), config=_OWN_INSTANCE)
            except duckdb.ConnectionException as error:
                if "different configuration" not in str(error):
                    raise  # pragma: no cover - no other ConnectionException is known here
                raise DatabaseLockedError(
                    f"The database {self.path} is open in this process (a Database or a "
                    "duckdb connection): close it, then compact.",
                    path=str(self.path),
                ) from error
        self._connection = connection
        try:
            with translating():
                connection.execute("CHECKPOINT")
                self._remove_leftovers()
                name = connection.execute("SELECT current_database()").fetchone()[0]
                self._copy(connection, name)
                rows, revision = self._verify(connection, name)
            self._swap()
        except BaseException:
            self._remove_temporary()
            raise
        finally:
            self._connection = None
            connection.close()
        return CompactionReport(
            path=self.path,
            bytes_before=before,
            bytes_after=_size(self.path),
            rows=rows,
            revision=revision,
        )

    # -- steps ---------------------------------------------------------------------------------
    def _remove_leftovers(self) -> None:
        for leftover in (self.temp, self.temp_wal):
            if leftover.is_dir():
                raise StorageError(
                    f"{leftover} is a folder, in the way of the temporary copy a compaction "
                    "writes: move or remove it, then compact again."
                )
            try:
                leftover.unlink(missing_ok=True)
            except OSError as error:
                raise self._unwritable(error) from error

    def _copy(self, connection: Any, name: str) -> None:
        import duckdb

        try:
            connection.execute(f"ATTACH {_literal(str(self.temp))} AS {_COPY}")
        except duckdb.IOException as error:
            raise self._unwritable(error) from error
        try:
            connection.execute(f"COPY FROM DATABASE {_identifier(name)} TO {_COPY}")
            connection.execute(f"CHECKPOINT {_COPY}")
        finally:
            connection.execute(f"DETACH {_COPY}")

    def _verify(self, connection: Any, name: str) -> tuple[dict[str, int], str | None]:
        connection.execute(f"ATTACH {_literal(str(self.temp))} AS {_VERIFY} (READ_ONLY)")
        try:
            original, copy = (_catalog(connection, db) for db in (name, _VERIFY))
            if original != copy:
                missing = sorted(
                    f"{kind.rstrip('s')} {'.'.join(item)}"
                    for kind in original
                    for item in set(original[kind]) ^ set(copy[kind])
                )
                raise StorageError(
                    f"The compacted copy of {self.path} differs from it ({', '.join(missing)}); "
                    "the original was left untouched."
                )
            rows: dict[str, int] = {}
            for schema, table in original["tables"]:
                source, target = (
                    connection.execute(
                        f"SELECT count(*), sum(hash(t)::HUGEINT) FROM "
                        f"{_identifier(db)}.{_identifier(schema)}.{_identifier(table)} AS t"
                    ).fetchone()
                    for db in (name, _VERIFY)
                )
                if source != target:
                    raise StorageError(
                        f"The compacted copy of table {schema}.{table} differs from the original "
                        f"({source[0]} rows, {target[0]} in the copy); the original was left "
                        "untouched."
                    )
                rows[f"{schema}.{table}"] = int(source[0])
            revision = None
            if ("main", "alembic_version") in original["tables"]:
                found = connection.execute(
                    f"SELECT min(version_num) FROM {_identifier(name)}.main.alembic_version"
                ).fetchone()
                revision = found[0]
            return rows, revision
        finally:
            connection.execute(f"DETACH {_VERIFY}")

    def _swap(self) -> None:
        if self.temp_wal.exists() or self.wal.exists():
            raise StorageError(
                f"A write-ahead log is still beside {self.path} or its copy after a checkpoint; "
                "the original was left untouched. Open the file once with the library (it "
                "replays the log), close it and compact again."
            )
        if self._interrupted.is_set():
            raise asyncio.CancelledError
        try:
            with open(self.temp, "rb") as handle:
                os.fsync(handle.fileno())
            os.chmod(self.temp, stat.S_IMODE(self.path.stat().st_mode))
            os.replace(self.temp, self.path)
        except OSError as error:
            raise self._unwritable(error) from error
        _fsync_folder(self.path.parent)

    def _remove_temporary(self) -> None:
        for leftover in (self.temp, self.temp_wal):
            with contextlib.suppress(OSError):
                if leftover.is_file():
                    leftover.unlink()

    def _unwritable(self, error: Exception) -> StorageError:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        return StorageError(
            f"Cannot write the compacted copy beside {self.path} ({reason}): "
            "compaction needs a writable folder with room for a full copy of the file. The "
            "original was left untouched."
        )


def _catalog(connection: Any, database: str) -> dict[str, list[tuple[str, ...]]]:
    """The objects of one attached database, by kind, sorted (names only)."""
    queries = {
        "tables": "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?",
        "views": (
            "SELECT schema_name, view_name FROM duckdb_views() "
            "WHERE NOT internal AND database_name = ?"
        ),
        "indexes": (
            "SELECT schema_name, table_name, index_name FROM duckdb_indexes() "
            "WHERE database_name = ?"
        ),
        "sequences": (
            "SELECT schema_name, sequence_name, last_value::VARCHAR FROM duckdb_sequences() "
            "WHERE database_name = ?"
        ),
        "macros": (
            "SELECT DISTINCT schema_name, function_name FROM duckdb_functions() "
            "WHERE NOT internal AND database_name = ?"
        ),
    }
    return {
        kind: sorted(
            tuple(str(v) for v in row) for row in connection.execute(sql, [database]).fetchall()
        )
        for kind, sql in queries.items()
    }


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (a no-op where folders cannot be opened, as on Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
