"""``as_of``: reading a lake as a past snapshot saw it (DuckLake time travel).

DuckLake keeps every snapshot until ``db-vacuum`` expires it (7 days by default). One table
is read in the past with ``SELECT ... FROM t AT (VERSION => n)`` / ``AT (TIMESTAMP => ts)``
(:func:`at_clause`: a repository's ``get`` and pages). A whole query (an analytics answer,
with its joins and subqueries) runs on the lake attached a second time, read-only, at that
snapshot (``ATTACH ... (SNAPSHOT_VERSION n)`` / ``(SNAPSHOT_TIME ts)``) and made the default
catalog of a cursor of its own, so every table it names is read as of the same snapshot
(:func:`run_at_snapshot`). The second ATTACH is found from the first one
(``duckdb_databases()``), and detached after the query. A DuckDB file keeps no past versions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

import duckdb

from project_architect_db.core.lake._open import LAKE_ALIAS
from project_architect_db.exceptions import InvalidQueryError, NotFoundError

__all__ = ["AsOf", "at_clause", "refuse_on_file", "run_at_snapshot", "snapshot_errors"]

T = TypeVar("T")

#: A lake snapshot id (``ducklake_snapshots()``), or a time-zone-aware moment.
AsOf = int | datetime


def _checked(as_of: AsOf) -> tuple[int | None, str | None]:
    """``(version, None)`` or ``(None, ISO time)``; anything else refused."""
    if isinstance(as_of, int) and not isinstance(as_of, bool) and as_of >= 0:
        return int(as_of), None
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None:
            raise InvalidQueryError(
                "as_of needs a time-zone-aware datetime (e.g. datetime.now(UTC)); a naive one "
                "would depend on the machine's clock zone."
            )
        return None, as_of.isoformat()
    raise InvalidQueryError(
        f"as_of must be a snapshot id (an int >= 0) or an aware datetime, not {as_of!r}."
    )


def at_clause(as_of: AsOf) -> str:
    """``AT (...)`` for ``as_of``; the values are checked, never user text pasted in.

    Raises:
        InvalidQueryError: Not a non-negative int nor an aware datetime.
    """
    version, moment = _checked(as_of)
    if version is not None:
        return f"AT (VERSION => {version})"
    return f"AT (TIMESTAMP => TIMESTAMPTZ '{moment}')"


def refuse_on_file(is_lake: bool) -> None:
    """Time travel needs a lake.

    Raises:
        InvalidQueryError: The database is a DuckDB file.
    """
    if not is_lake:
        raise InvalidQueryError(
            "as_of reads a past snapshot, and a DuckDB file keeps none (each commit replaces "
            "the rows). Open the data as a lake (ducklake:postgres:...) for time travel, or "
            "keep the history yourself (db.changes() sees every commit; export a copy)."
        )


@contextmanager
def snapshot_errors(as_of: AsOf) -> Iterator[None]:
    """DuckLake's "No snapshot found" as a ``NotFoundError`` that says why."""
    try:
        yield
    except Exception as error:  # translated or not, DuckDB's text is in the message
        if "no snapshot found" not in str(error).lower():
            raise
        raise NotFoundError(
            f"The lake has no snapshot at {as_of!r}: it is before the lake's first commit, "
            "after its latest, or expired by db-vacuum (snapshots older than its retention, "
            "7 days by default, are removed)."
        ) from error


def run_at_snapshot(
    duck: duckdb.DuckDBPyConnection, as_of: AsOf, fn: Callable[[duckdb.DuckDBPyConnection], T]
) -> T:
    """``fn(cursor)`` on a cursor whose default catalog is the lake as of ``as_of``.

    Raises:
        InvalidQueryError: ``as_of`` is not valid, or the database is not a lake.
        NotFoundError: The lake has no snapshot at ``as_of``.
    """
    version, moment = _checked(as_of)
    found = duck.execute(
        "SELECT path, options['data_path'] FROM duckdb_databases() "
        "WHERE database_name = ? AND type = 'ducklake'",
        [LAKE_ALIAS],
    ).fetchone()
    refuse_on_file(found is not None)
    assert found is not None
    path, data_path = found
    at = f"SNAPSHOT_VERSION {version}" if version is not None else f"SNAPSHOT_TIME '{moment}'"
    alias = f"padb_lake_at_{uuid.uuid4().hex[:12]}"
    cursor = duck.cursor()  # its own connection: outside any transaction, its own USE
    try:
        with snapshot_errors(as_of):
            cursor.execute(
                f"ATTACH {_quoted('ducklake:' + path)} AS {alias} "
                f"(DATA_PATH {_quoted(data_path)}, {at}, READ_ONLY)"
            )
        try:
            cursor.execute(f"USE {alias}")
            return fn(cursor)
        finally:
            cursor.execute(f"USE {LAKE_ALIAS}")
            cursor.execute(f"DETACH {alias}")
    finally:
        cursor.close()


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
