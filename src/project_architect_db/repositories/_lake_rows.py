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
from typing import Any

from sqlalchemy import Table, and_, bindparam, exists, insert, literal, or_, select
from sqlalchemy.engine import Dialect

from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import ValidationError
from project_architect_db.repositories._native_read import (
    NativeRow,
    NativeStatement,
    compiled_shape,
)
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


def _checked_insert(
    table: Table, columns: Sequence[str], claims: Sequence[Sequence[str]], dialect: Dialect
) -> NativeStatement:
    """``INSERT INTO t (columns) SELECT :v0, ... WHERE NOT EXISTS (SELECT 1 FROM t WHERE ...)``.

    One ``WHERE`` branch per claimed key (``claims``: its column names), ``OR``-ed; the values
    are bound by name (``v<i>`` for the row, ``k<j>_<m>`` for claim ``j``'s column ``m``).
    """
    values = select(
        *(bindparam(f"v{i}", type_=table.c[name].type) for i, name in enumerate(columns))
    )
    matches = [
        and_(
            *(
                table.c[name] == bindparam(f"k{j}_{m}", type_=table.c[name].type)
                for m, name in enumerate(names)
            )
        )
        for j, names in enumerate(claims)
    ]
    if matches:
        values = values.where(~exists(select(literal(1)).where(or_(*matches))))
    return NativeStatement(insert(table).from_select(list(columns), values), dialect)


async def insert_unless_taken(
    tx: Transaction,
    table: Table,
    row: dict[str, Any],
    claims: Sequence[tuple[Sequence[str], tuple[Any, ...]]],
    shapes: dict[Any, NativeStatement],
) -> Any:
    """Insert ``row`` unless a stored row has one of ``claims`` (column names, their values).

    The statement is compiled once per shape (the row's columns, the claims' columns) into
    ``shapes`` and run by DuckDB's own ``execute`` in the transaction: no SQLAlchemy statement
    built, compiled or executed per call (that was most of a lake create's loop-thread time).

    Returns:
        The stored row, or ``None`` when a match kept it out (nothing was written).

    Raises:
        ValidationError: A column type refuses a value (worded as ``create_natively``'s).
    """
    names = tuple(column.key for column in table.columns if column.key in row)
    claimed = tuple(tuple(key_names) for key_names, _ in claims)
    dialect = tx.session.bind.dialect  # type: ignore[union-attr]
    native = compiled_shape(
        shapes,
        ("lake-insert", names, claimed),
        lambda: _checked_insert(table, names, claimed, dialect),
    )
    given = {f"v{i}": row[name] for i, name in enumerate(names)}
    for j, (_, key) in enumerate(claims):
        given.update((f"k{j}_{m}", value) for m, value in enumerate(key))
    try:
        parameters = native.parameters(given)
    except Exception as error:  # a value its column type refuses, worded as the session's
        raise ValidationError(f"A value could not be stored: {error}") from error
    sql = native.shape.sql

    def run(duck: Any) -> int:
        inserted = duck.execute(sql, parameters).fetchone()
        return int(inserted[0]) if inserted else 0

    if await tx.run_native(run) == 0:
        return None
    (stored,) = stored_rows(table, dialect, [row])
    return stored
