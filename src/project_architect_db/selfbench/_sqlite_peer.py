"""The peer a user would pick for everyday calls: SQLite with B-tree indexes, on the same data.

The scale benchmark (issue 13) compares the library's pages and lookups with what a user would
run instead: SQLite through SQLAlchemy, with the indexes such a user would create for those
calls. :func:`copy_to_sqlite` copies every table of a migrated DuckDB file into a new SQLite
file, in batches (memory bounded by a batch, whatever the table size), stored the way
SQLAlchemy's SQLite dialect stores the models' types, so :func:`peer_metadata`'s tables read
the rows back through SQLAlchemy with the values the library returns:

* ``Uuid``: 32 hex digits (SQLAlchemy's ``CHAR(32)`` form on SQLite);
* ``DateTime`` / ``UtcDateTime``: ``YYYY-MM-DD HH:MM:SS.ffffff`` text (SQLAlchemy's storage
  format, which sorts as the instants do);
* ``ARRAY`` (no array type in SQLite): a JSON array, read back as a list through ``JSON``;
* ``Boolean``: 0 / 1; ``JSON``, text, numbers and enum values as they are.

Indexes: every index of the models, plus :data:`PEER_INDEXES` (the composite indexes that let
SQLite answer a filtered, sorted page by walking an index).

Examples:
    >>> sorted(peer_metadata().tables)[:3]
    ['attachments', 'builds', 'conversations']
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import duckdb
from sqlalchemy import JSON, Boolean, Column, DateTime, Index, MetaData, Table, Uuid
from sqlalchemy.sql.sqltypes import ARRAY
from sqlalchemy.types import TypeDecorator

from project_architect_db.exceptions import ConfigurationError, StorageError
from project_architect_db.models import Base

__all__ = ["PEER_INDEXES", "copy_to_sqlite", "peer_metadata"]

#: Indexes for the everyday calls beyond the models' own: ``(table, columns)``.
PEER_INDEXES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("projects", ("status", "created_at", "id")),
    ("projects", ("created_at", "id")),
    ("documents", ("project_id", "updated_at")),
    ("conversations", ("project_id", "updated_at")),
    ("builds", ("project_id", "created_at")),
    ("deployments", ("project_id", "created_at")),
    ("messages", ("project_id", "created_at")),
)

#: Rows per ``executemany`` (and per DuckDB fetch): bounds the copy's memory.
BATCH: Final = 50_000


def _storage_type(column: Column[Any]) -> Any:
    """The column's type on SQLite: the model's own, but ``ARRAY`` as ``JSON``."""
    return JSON() if isinstance(column.type, ARRAY) else column.type


def peer_metadata() -> MetaData:
    """The models' tables for SQLite: same names, columns, keys and indexes (and the peer's)."""
    metadata = MetaData()
    for model_table in Base.metadata.sorted_tables:
        columns = [
            Column(
                column.name,
                _storage_type(column),
                primary_key=column.primary_key,
                nullable=column.nullable,
            )
            for column in model_table.columns
        ]
        table = Table(model_table.name, metadata, *columns)
        for index in model_table.indexes:
            Index(index.name, *(table.c[c.name] for c in index.columns), unique=index.unique)
    for name, keys in PEER_INDEXES:
        table = metadata.tables[name]
        Index(f"peer_{name}_{'_'.join(keys)}", *(table.c[key] for key in keys))
    return metadata


def _base_type(sql_type: Any) -> Any:
    return sql_type.impl_instance if isinstance(sql_type, TypeDecorator) else sql_type


def _select_sql(table: Table) -> str:
    """DuckDB SQL reading the model table ``table`` in SQLAlchemy's SQLite storage form."""
    parts = []
    for column in table.columns:
        name = f'"{column.name}"'
        sql_type = _base_type(column.type)
        if isinstance(sql_type, Uuid):
            parts.append(f"replace(CAST({name} AS VARCHAR), '-', '')")
        elif isinstance(sql_type, DateTime):
            parts.append(f"strftime({name}, '%Y-%m-%d %H:%M:%S.%f')")
        elif isinstance(sql_type, ARRAY):
            parts.append(f"CAST(to_json({name}) AS VARCHAR)")  # no arrays in SQLite: JSON
        elif isinstance(sql_type, JSON):
            parts.append(f"CAST({name} AS VARCHAR)")
        elif isinstance(sql_type, Boolean):
            parts.append(f"CAST({name} AS INTEGER)")
        else:
            parts.append(name)
    return f'SELECT {", ".join(parts)} FROM "{table.name}"'


def _batches(cursor: duckdb.DuckDBPyConnection, sql: str, size: int) -> Iterator[list[Any]]:
    cursor.execute(sql)
    while rows := cursor.fetchmany(size):
        yield rows


def copy_to_sqlite(
    source: str | Path,
    target: str | Path,
    *,
    batch: int = BATCH,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Copy every table of the DuckDB file ``source`` into a new SQLite file ``target``.

    Args:
        source: A DuckDB file the library has migrated (opened read-only: other processes
            may read it meanwhile).
        target: The SQLite file to create; it must not exist.
        batch: Rows per batch (memory is bounded by one batch of one table).
        progress: Called with ``(table, rows copied so far)`` after every batch.

    Returns:
        The rows copied per table.

    Raises:
        ConfigurationError: ``target`` exists, ``batch`` is not positive, or ``source`` lacks
            one of the library's tables (migrate it first: ``project-architect-db migrate``).
        StorageError: ``source`` cannot be opened.
    """
    if batch < 1:
        raise ConfigurationError(f"batch must be a positive number of rows, got {batch}.")
    target = Path(target)
    if target.exists():
        raise ConfigurationError(
            f"{target} exists: the SQLite copy is made in a new file; delete it or pick another."
        )
    try:
        duck = duckdb.connect(str(source), read_only=True)
    except duckdb.Error as error:
        raise StorageError(f"cannot open the DuckDB file {source}: {error}") from error
    metadata = peer_metadata()
    counts: dict[str, int] = {}
    try:
        present = {
            row[0] for row in duck.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        missing = sorted(set(metadata.tables) - present)
        if missing:
            raise ConfigurationError(
                f"{source} has no table {', '.join(missing)}: it is not a migrated "
                "project-architect-db database (run `project-architect-db migrate` first)."
            )
        lite = sqlite3.connect(target)
        try:
            _load(duck, lite, metadata, batch, progress, counts)
        except BaseException:
            lite.close()
            target.unlink(missing_ok=True)  # no half-made copy is left behind
            raise
        lite.close()
    finally:
        duck.close()
    return counts


def _load(
    duck: duckdb.DuckDBPyConnection,
    lite: sqlite3.Connection,
    metadata: MetaData,
    batch: int,
    progress: Callable[[str, int], None] | None,
    counts: dict[str, int],
) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = create_engine("sqlite://").dialect
    lite.execute("PRAGMA journal_mode = OFF")
    lite.execute("PRAGMA synchronous = OFF")
    for table in metadata.sorted_tables:
        lite.execute(str(CreateTable(table).compile(dialect=dialect)))
        names = ", ".join(f'"{column.name}"' for column in table.columns)
        marks = ", ".join("?" for _ in table.columns)
        insert = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
        copied = 0
        for rows in _batches(duck, _select_sql(Base.metadata.tables[table.name]), batch):
            with lite:
                lite.executemany(insert, rows)
            copied += len(rows)
            if progress is not None:
                progress(table.name, copied)
        counts[table.name] = copied
    for table in metadata.sorted_tables:  # after the rows: one sorted build per index
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            lite.execute(str(CreateIndex(index).compile(dialect=dialect)))
    lite.execute("ANALYZE")
    lite.commit()
