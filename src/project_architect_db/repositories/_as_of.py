"""``as_of`` reads on a lake: a row, or a page, as a past snapshot of the lake saw it.

The statement of ``get(id, as_of=)`` is a textual SELECT typed with the table's own columns,
so its rows pass the same result processors and make the same ``Read`` records as a current
read. A page (``list(as_of=)``) is the plain page statement with the table's ``AT (...)``
clause as a FROM hint (the lake dialect renders it, ``core/lake/_dialect.py``). The checks,
the errors and the analytics' path are in ``core/lake/_snapshot.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Table, bindparam, func, select, text
from sqlalchemy.sql.selectable import TextualSelect

from project_architect_db.core.lake._snapshot import (
    AsOf,
    at_clause,
    refuse_on_file,
    snapshot_errors,
)
from project_architect_db.queries.sorting import SortKey
from project_architect_db.repositories._pages import after_cursor

__all__ = [
    "AsOf",
    "as_of_by_id",
    "at_clause",
    "count_as_of",
    "page_as_of",
    "refuse_on_file",
    "snapshot_errors",
]


def as_of_by_id(table: Table, as_of: AsOf, row_id: uuid.UUID) -> TextualSelect:
    """The row ``row_id`` of ``table`` at ``as_of``, typed with the table's columns."""
    names = ", ".join(f'"{column.name}"' for column in table.c)
    sql = f'SELECT {names} FROM "{table.name}" {at_clause(as_of)} WHERE "id" = :row_id'
    statement = text(sql).bindparams(bindparam("row_id", type_=table.c.id.type))
    return statement.columns(*table.c)


def page_as_of(
    table: Table,
    where: Sequence[Any],
    keys: Sequence[SortKey],
    as_of: AsOf,
    *,
    limit: int,
    offset: int,
    after: Sequence[Any] | None,
) -> Select[Any]:
    """A page of ``table`` as of ``as_of``: the plain page, the table read ``AT (...)``."""
    conditions = list(where)
    if after is not None:
        conditions.extend(after_cursor(keys, after))
    statement = select(table).where(*conditions).order_by(*(key.order() for key in keys))
    statement = statement.limit(limit).offset(offset)
    return statement.with_hint(table, at_clause(as_of), dialect_name="duckdb")


def count_as_of(table: Table, where: Sequence[Any], as_of: AsOf | None) -> Select[Any]:
    """How many rows of ``table`` match ``where`` (as of ``as_of``, unless ``None``)."""
    statement = select(func.count()).select_from(table).where(*where)
    if as_of is None:
        return statement
    return statement.with_hint(table, at_clause(as_of), dialect_name="duckdb")
