"""Reads DuckDB plans once per connection: ``PREPARE`` d statements run with ``EXECUTE``.

``duckdb.execute(sql, parameters)`` parses, binds and plans its statement on every call: about
a third of a point read (``get``: ~0.3 of ~1 ms at 100k-1M rows) and ~0.4-0.5 ms of an owner's
page (a conversation's messages, a project's document by path), measured in
docs/performance.md, "Pages and lookups against SQLite (session 11)". A :class:`Prepared`
statement is prepared once on each DuckDB connection that runs it, under a name unique in the
process, and runs as ``EXECUTE name(literal, ...)``.

Only for statements whose plan does not depend on their values: DuckDB plans a prepared
statement before it knows them. A point read by an indexed key and an owner's rows (an
equality on an indexed column, in a ``MATERIALIZED`` CTE: ``_pages.py``) plan the index scan
either way; a filtered page must not be prepared (its ``LIMIT`` and filters, unknown at plan
time, lose the Top-N and the zonemap pruning: 8.3 against 5.9 ms, measured).

``EXECUTE`` takes no bound parameters (DuckDB: "Unexpected prepared parameter"), so each value
is written as a literal (:func:`literal`); a value with no literal form here runs the plain
statement with bound parameters instead, so the answer never depends on the path.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import duckdb

__all__ = ["Prepared", "literal", "worth_preparing"]

#: Names of prepared statements: unique in the process (one connection may serve two databases).
_NAMES = itertools.count(1)


def literal(value: Any) -> str | None:
    """``value`` as a DuckDB SQL literal, or ``None`` where it must stay a bound parameter.

    A ``UUID`` prints as hex digits and dashes; an ``int`` as its digits; a string is quoted
    the standard way (each quote doubled; DuckDB gives a backslash no meaning in a quoted
    literal). A string holding a NUL, a ``bool`` and any other type stay bound.
    """
    if isinstance(value, uuid.UUID):
        return f"'{value}'"
    if isinstance(value, str):
        return None if "\x00" in value else "'" + value.replace("'", "''") + "'"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def worth_preparing(dialect: Any) -> bool:
    """Whether statements for ``dialect`` gain from being prepared: not on a lake.

    A DuckLake table has no index to plan a scan on, and an ``EXECUTE`` there re-binds against
    the lake's catalog each time: a prepared point read cost more CPU than the plain
    statement with bound parameters (docs/performance.md, "The lake's cost per call, with the
    feed").
    """
    return not getattr(dialect, "is_lake", False)


class Prepared:
    """One statement (``$n`` placeholders), prepared on each DuckDB connection that runs it.

    Attributes:
        sql: The statement, as ``duckdb.execute`` takes it with bound parameters.
        name: Its prepared statement's name on every connection.
    """

    __slots__ = ("name", "plain", "prepare", "sql")

    def __init__(self, sql: str, *, plain: bool = False) -> None:
        self.sql = sql
        #: run it with bound parameters, never prepared (see :func:`worth_preparing`)
        self.plain = plain
        self.name = f"padb_read_{next(_NAMES)}"
        self.prepare = f"PREPARE {self.name} AS {sql}"

    def rows(self, duck: duckdb.DuckDBPyConnection, parameters: list[Any]) -> list[tuple[Any, ...]]:
        """Every row of the statement with ``parameters``, run on ``duck``.

        All rows are fetched (``fetchall``): a result left unread keeps its auto-commit
        transaction (and snapshot) open on a pooled connection.
        """
        literals = [] if self.plain else [literal(value) for value in parameters]
        if self.plain or None in literals:
            return duck.execute(self.sql, parameters).fetchall()
        execute = f"EXECUTE {self.name}({', '.join(literals)})"  # type: ignore[arg-type]
        try:
            return duck.execute(execute).fetchall()
        except duckdb.BinderException:
            # not prepared on this connection yet: prepare it and run it once more (any other
            # binder error, a dropped table say, is raised by the PREPARE or the second run)
            duck.execute(self.prepare)
            return duck.execute(execute).fetchall()
