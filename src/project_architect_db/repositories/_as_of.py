"""``as_of`` reads on a lake: a row as a past snapshot of the lake saw it (DuckLake time travel).

DuckLake keeps every snapshot until ``db-vacuum`` expires it (7 days by default), and answers
``SELECT ... FROM t AT (VERSION => n)`` / ``AT (TIMESTAMP => ts)``. The statement is a textual
SELECT typed with the table's own columns, so its rows pass the same result processors and
make the same ``Read`` records as a current read. A DuckDB file keeps no past versions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Table, bindparam, text
from sqlalchemy.sql.selectable import TextualSelect

from project_architect_db.exceptions import InvalidQueryError, NotFoundError

__all__ = ["AsOf", "as_of_by_id", "at_clause", "refuse_on_file", "snapshot_errors"]

#: A lake snapshot id (``ducklake_snapshots()``), or a time-zone-aware moment.
AsOf = int | datetime


def at_clause(as_of: AsOf) -> str:
    """``AT (...)`` for ``as_of``; the values are checked, never user text pasted in.

    Raises:
        InvalidQueryError: Not a non-negative int nor an aware datetime.
    """
    if isinstance(as_of, int) and not isinstance(as_of, bool) and as_of >= 0:
        return f"AT (VERSION => {int(as_of)})"
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None:
            raise InvalidQueryError(
                "as_of needs a time-zone-aware datetime (e.g. datetime.now(UTC)); a naive one "
                "would depend on the machine's clock zone."
            )
        return f"AT (TIMESTAMP => TIMESTAMPTZ '{as_of.isoformat()}')"
    raise InvalidQueryError(
        f"as_of must be a snapshot id (an int >= 0) or an aware datetime, not {as_of!r}."
    )


def as_of_by_id(table: Table, as_of: AsOf, row_id: uuid.UUID) -> TextualSelect:
    """The row ``row_id`` of ``table`` at ``as_of``, typed with the table's columns."""
    names = ", ".join(f'"{column.name}"' for column in table.c)
    sql = f'SELECT {names} FROM "{table.name}" {at_clause(as_of)} WHERE "id" = :row_id'
    statement = text(sql).bindparams(bindparam("row_id", type_=table.c.id.type))
    return statement.columns(*table.c)


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
