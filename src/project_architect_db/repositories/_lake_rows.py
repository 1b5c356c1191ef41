"""Rows written on a lake, made client-side: no read-back, and one checked ``INSERT`` per create.

DuckLake refuses ``RETURNING``, so a written row used to be read back by id: one more lake
statement per write (a scan of the table's files and inlined rows). Every value of a new row is
known before the ``INSERT``: the caller's, and the column defaults, which are all Python-side
(``_with_defaults``; no model has a server default, ``tests/lake`` checks it). So the stored row
is made here, each value passed through its column type's bind processor, then its result
processor: what DuckDB stores and what a ``SELECT`` gives back (``UtcDateTime`` naive UTC then
aware, JSON text then a dict, an enum its value then the member), without a statement.

:func:`insert_unless_taken` folds a create's look for a taken natural key (the UNIQUE index a
lake lacks) into its ``INSERT``: ``INSERT INTO t (...) SELECT <values> WHERE NOT EXISTS
(SELECT 1 FROM t WHERE <key> OR id = <given id>)``, one statement where there were three (look,
insert, read back). The keys are claimed (locked in every process) before it runs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, exists, insert, literal, or_, select
from sqlalchemy.engine import Dialect

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

from project_architect_db.core.transaction import Transaction
from project_architect_db.repositories._native_read import NativeRow
from project_architect_db.repositories._processors import Processor, result_processor

__all__ = ["insert_unless_taken", "stored_rows"]

_Columns = tuple[tuple[str, Processor, Processor], ...]


@functools.cache
def _round_trip(table: Table, dialect: Dialect) -> _Columns:
    """Per column: its key, bind processor and result processor (``None``: the value as is)."""
    return tuple(
        (
            column.key,
            column.type.bind_processor(dialect),
            result_processor(column.type, dialect),
        )
        for column in table.columns
    )


def stored_rows(table: Table, dialect: Dialect, values: Sequence[dict[str, Any]]) -> list[Any]:
    """``values`` (every default applied) as a ``SELECT`` of the inserted rows returns them."""
    columns = _round_trip(table, dialect)
    rows = []
    for row in values:
        mapping = {}
        for key, bind, result in columns:
            value = row.get(key)
            if value is not None:
                if bind is not None:
                    value = bind(value)
                if result is not None:
                    value = result(value)
            mapping[key] = value
        rows.append(NativeRow(mapping))
    return rows


async def insert_unless_taken(
    tx: Transaction, table: Table, row: dict[str, Any], keys: Sequence[Any]
) -> Any:
    """Insert ``row`` unless a stored row matches one of ``keys`` (``WHERE`` clauses).

    Returns:
        The stored row, or ``None`` when a match kept it out (nothing was written).
    """
    names = [column.key for column in table.columns if column.key in row]
    values = select(*(literal(row[name], table.c[name].type) for name in names))
    if keys:
        values = values.where(~exists().where(or_(*keys)))
    result = cast("CursorResult[Any]", await tx.execute(insert(table).from_select(names, values)))
    if result.rowcount == 0:
        return None
    dialect = tx.session.bind.dialect  # type: ignore[union-attr]
    (stored,) = stored_rows(table, dialect, [row])
    return stored
