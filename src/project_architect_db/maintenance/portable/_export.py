"""Exporting a database to Parquet: one read transaction, one file per table, then a rename.

1. A temporary folder ``.<name>.tmp-<pid>`` is made beside the target (those of dead
   processes are removed first).
2. ``BEGIN``; one read fixes the snapshot; the schema's DDL is read and every table is copied
   with ``COPY (SELECT * ...) TO '<schema>.<table>.parquet'``, which returns its row count;
   ``COMMIT``. Writers go on (MVCC): the files hold exactly the snapshot.
3. Each file's row count is read back from its Parquet footer, the file fsynced and hashed;
   ``manifest.json`` is written last; the folder is fsynced and renamed to its final name.

Until the rename only the temporary folder is written, so a failure, a cancellation or a kill
never leaves a partial export under the target's name. The search index schemas
(``padb_search_*``, and ``fts_main_*`` of the fts extension) are derived data: they are not
exported, and the first search after an import rebuilds them from the rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from project_architect_db.exceptions import AlreadyExistsError, StorageError
from project_architect_db.exceptions._translate import translating
from project_architect_db.maintenance._priority import copying
from project_architect_db.maintenance.backup._manifest import (
    TEMP_MARK,
    fsync_file,
    fsync_folder,
    sha256_of,
)
from project_architect_db.maintenance.backup._take import _alive, _identifier, _literal, _touch
from project_architect_db.maintenance.backup._verify import revision_of
from project_architect_db.maintenance.portable._manifest import (
    MANIFEST_NAME,
    ExportManifest,
    SchemaDDL,
    TableFile,
)

__all__ = ["DERIVED_SCHEMAS", "ExportJob", "ExportReport", "read_schema"]

#: Schemas of derived data (the search indexes), rebuilt from the rows rather than exported.
DERIVED_SCHEMAS = ("padb_search_", "fts_main_")
_SKIP = " AND ".join(f"schema_name NOT LIKE '{prefix}%'" for prefix in DERIVED_SCHEMAS)


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What an export wrote.

    Attributes:
        folder: The export folder.
        manifest: Its manifest (``manifest.json`` in the folder).
        snapshot_window: ``time.monotonic()`` just before and after the snapshot was fixed.
        seconds: How long the export took.
    """

    folder: Path
    manifest: ExportManifest
    snapshot_window: tuple[float, float] = (0.0, 0.0)
    seconds: float = 0.0


def read_schema(connection: Any, name: str) -> tuple[SchemaDDL, list[tuple[str, str]]]:
    """The DDL of database ``name`` and its tables (schema, table), derived data left out."""

    def sql(query: str) -> list[Any]:
        rows: list[Any] = connection.execute(query, [name]).fetchall()
        return rows

    where = f"database_name = ? AND {_SKIP}"
    tables = sql(
        f"SELECT schema_name, table_name, sql FROM duckdb_tables() WHERE {where} ORDER BY table_oid"
    )
    sequences = sql(
        "SELECT schema_name, sequence_name, start_value, last_value, increment_by, min_value, "
        f"max_value, cycle FROM duckdb_sequences() WHERE {where} ORDER BY ALL"
    )
    ddl = SchemaDDL(
        schemas=[
            f"CREATE SCHEMA IF NOT EXISTS {_identifier(schema)}"
            for (schema,) in sql(
                f"SELECT schema_name FROM duckdb_schemas() WHERE {where} AND NOT internal "
                "AND schema_name <> 'main' ORDER BY ALL"
            )
        ],
        sequences=[_sequence(*row) for row in sequences],
        tables=[_qualified(table_sql, schema) for schema, _, table_sql in tables],
        indexes=[
            _qualified(index_sql, schema)
            for schema, index_sql in sql(
                f"SELECT schema_name, sql FROM duckdb_indexes() WHERE {where} AND sql IS NOT NULL "
                "ORDER BY index_oid"
            )
        ],
        views=[
            _qualified(view_sql, schema)
            for schema, view_sql in sql(
                f"SELECT schema_name, sql FROM duckdb_views() WHERE {where} AND NOT internal "
                "ORDER BY view_oid"
            )
        ],
    )
    return ddl, [(schema, table) for schema, table, _ in tables]


def _qualified(sql: str, schema: str) -> str:
    """DuckDB's DDL names objects of ``main`` unqualified; others get a ``SET schema`` first."""
    if schema == "main":
        return sql
    return f"SET schema = {_literal(schema)}; {sql}; SET schema = 'main'"


def _sequence(
    schema: str,
    name: str,
    start: int,
    last: int | None,
    increment: int,
    low: int,
    high: int,
    cycle: bool,
) -> str:
    # past the last value the source issued (its DDL would restart it); DuckDB reports a
    # reloaded sequence's next value as its last, so this may skip one: never a repeat
    begin = start if last is None else last + increment
    return (
        f"CREATE SEQUENCE {_identifier(schema)}.{_identifier(name)} INCREMENT BY {increment} "
        f"MINVALUE {low} MAXVALUE {high} START WITH {begin}{' CYCLE' if cycle else ''}"
    )


def _file_name(schema: str, table: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in f"{schema}.{table}")
    return f"{safe}.parquet"


def remove_dead_folders(parent: Path) -> None:
    """Remove the temporary folders that killed exports (dead processes) left in ``parent``."""
    with contextlib.suppress(OSError):
        for name in os.listdir(parent):
            pid = name.rsplit(TEMP_MARK, 1)[-1]
            ours = name.startswith(".") and TEMP_MARK in name and pid.isdigit()
            if ours and (parent / name).is_dir() and not _alive(int(pid)):
                shutil.rmtree(parent / name, ignore_errors=True)


class ExportJob:
    """One export, run in a worker thread on its own connection to the open database."""

    def __init__(
        self,
        connection: Any,
        folder: str | os.PathLike[str],
        *,
        source: str,
        library_version: str,
        low_priority: bool = True,
    ) -> None:
        self.connection = connection
        self.low_priority = low_priority
        self.target = Path(os.fspath(folder)).expanduser().absolute()
        self.source = source
        self.library_version = library_version
        self.temp = self.target.with_name(f".{self.target.name}{TEMP_MARK}{os.getpid()}")
        self._interrupted = threading.Event()

    def interrupt(self) -> None:
        """Stop the running statement (called from the event loop on cancellation)."""
        self._interrupted.set()
        with contextlib.suppress(Exception):  # the export may have ended and closed it
            self.connection.interrupt()

    def run(self) -> ExportReport:
        started = time.monotonic()
        try:
            self._prepare()
            try:
                with copying(self.connection, self.source, low_priority=self.low_priority):
                    window, manifest = self._copy()
                    self._publish(manifest)
            except BaseException:
                shutil.rmtree(self.temp, ignore_errors=True)
                raise
        finally:
            self.connection.close()
        return ExportReport(self.target, manifest, window, time.monotonic() - started)

    # -- steps ---------------------------------------------------------------------------------
    def _prepare(self) -> None:
        parent = self.target.parent
        if not parent.is_dir():
            raise StorageError(
                f"The folder {parent} does not exist: create it (or choose another), then "
                "export again. Nothing was written."
            )
        if self.target.exists() and (not self.target.is_dir() or any(self.target.iterdir())):
            raise AlreadyExistsError(
                f"{self.target} already exists and is not an empty folder: choose a new "
                "folder (an export never overwrites). Nothing was written."
            )
        remove_dead_folders(parent)
        try:
            self.temp.mkdir()
        except OSError as error:
            raise self._unwritable(error) from error

    def _unwritable(self, error: BaseException) -> StorageError:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        return StorageError(
            f"Cannot write the export in {self.target.parent} ({reason}): it needs a writable "
            "folder with room for the data. Nothing was left behind; the database is unchanged."
        )

    def _copy(self) -> tuple[tuple[float, float], ExportManifest]:
        import duckdb

        connection = self.connection
        name = connection.execute("SELECT current_database()").fetchone()[0]
        rows: dict[str, int] = {}
        with translating():
            connection.execute("BEGIN TRANSACTION")
            try:
                before = time.monotonic()
                _touch(connection, name)  # the first read fixes the snapshot
                window = (before, time.monotonic())
                schema, tables = read_schema(connection, name)
                for table_schema, table in tables:
                    path = self.temp / _file_name(table_schema, table)
                    source = f"{_identifier(name)}.{_identifier(table_schema)}.{_identifier(table)}"
                    try:
                        (count,) = connection.execute(
                            f"COPY (SELECT * FROM {source}) TO {_literal(str(path))} "
                            "(FORMAT parquet, COMPRESSION zstd)"
                        ).fetchone()
                    except (duckdb.IOException, duckdb.PermissionException) as error:
                        raise self._unwritable(error) from error
                    rows[f"{table_schema}.{table}"] = int(count)
                revision = revision_of(connection, name, rows)
                connection.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    connection.execute("ROLLBACK")
                raise
        files = [
            self._checked(f"{table_schema}.{table}", _file_name(table_schema, table), rows)
            for table_schema, table in tables
        ]
        manifest = ExportManifest(
            source=self.source,
            revision=revision,
            library_version=self.library_version,
            duckdb_version=duckdb.__version__,
            snapshot_at=datetime.now(UTC).isoformat(),
            tables=files,
            schema=schema,
        )
        return window, manifest

    def _checked(self, table: str, file: str, rows: dict[str, int]) -> TableFile:
        path = self.temp / file
        (in_file,) = self.connection.execute(
            "SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(?)", [str(path)]
        ).fetchone()
        if int(in_file) != rows[table]:  # pragma: no cover - DuckDB wrote what it counted
            raise StorageError(f"{path} holds {in_file} rows, not {rows[table]}; nothing kept.")
        try:
            fsync_file(path)
            return TableFile(table, file, rows[table], sha256_of(path), path.stat().st_size)
        except OSError as error:  # pragma: no cover - the file was just written
            raise self._unwritable(error) from error

    def _publish(self, manifest: ExportManifest) -> None:
        if self._interrupted.is_set():
            raise StorageError("The export was interrupted; nothing was kept.")
        try:
            path = self.temp / MANIFEST_NAME
            path.write_text(manifest.to_json())
            fsync_file(path)
            fsync_folder(self.temp)
            os.replace(self.temp, self.target)  # an empty target folder is replaced whole
            fsync_folder(self.target.parent)
        except OSError as error:
            raise self._unwritable(error) from error
