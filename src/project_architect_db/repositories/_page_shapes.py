"""A windowed page's statement, built and compiled once per shape: per call only its values.

``list()`` outside a transaction first asks the page within a window of its first key
(``_pages.page_window``). Building that statement (two nested ``SELECT`` s, a ``MATERIALIZED``
CTE, the window's arithmetic from the table's statistics) and computing its SQLAlchemy cache
key cost ~1 ms of the event loop's CPU per page (measured at load 17; docs/performance.md,
"Pages and lookups against SQLite (session 11)"), about a third of what the library adds to
DuckDB's own time for a page of 50.

A page's *shape* is what its SQL depends on: the table, the filters' structure (each
condition's SQLAlchemy cache key, without its values), the sort keys, ``limit``, ``offset``
and whether a cursor is given. The first page of a shape builds the statement with named
parameters in place of the values (``padb_w<i>`` for the filters' values in the order of
their cache keys, ``padb_a<j>`` for the cursor's) and compiles it once into the executor's
statement cache; every later page of that shape reads its filters' values from their cache
keys and binds them by name. Shapes whose SQL depends on more than these values (an ``IN``
list expanded at execution, a value rendered into the SQL) fall back to building the page.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import BindParameter, Table, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.visitors import replacement_traverse

from project_architect_db.core._sqlalchemy import cache_key
from project_architect_db.core.statements import StatementCache
from project_architect_db.queries.sorting import SortKey
from project_architect_db.repositories._lake import is_lake_dialect
from project_architect_db.repositories._native_read import NativeStatement
from project_architect_db.repositories._pages import page_statement, page_window

__all__ = ["PageShape", "page_shape"]

#: The statement cache's kinds: the window's page, and the plain page (an owner's rows too).
_KINDS = {True: "page-window", False: "page"}


class PageShape:
    """One shape of page, compiled: its SQL and how to bind a call's values.

    Attributes:
        statement: The compiled statement (named parameters).
        filters: How many filter values it binds (``padb_w0`` ...).
    """

    __slots__ = ("filters", "statement")

    def __init__(self, statement: NativeStatement, filters: int) -> None:
        self.statement = statement
        self.filters = filters

    def parameters(self, values: Sequence[Any], after: Sequence[Any] | None) -> list[Any]:
        """DuckDB's parameters for a page with these filter ``values`` and cursor ``after``."""
        named = {f"padb_w{index}": value for index, value in enumerate(values)}
        if after is not None:
            named |= {f"padb_a{index}": value for index, value in enumerate(after)}
        return self.statement.parameters(named)


def _build(
    table: Table,
    where: Sequence[Any],
    binds: Sequence[BindParameter[Any]],
    keys: Sequence[SortKey],
    *,
    limit: int,
    offset: int,
    after: Sequence[Any] | None,
    dialect: Dialect,
    window: bool,
) -> PageShape | None:
    """The shape's statement with named parameters, compiled; ``None``: no window or no shape."""
    names = {id(bind): f"padb_w{index}" for index, bind in enumerate(binds)}

    def named(element: Any, **_: Any) -> Any:
        if isinstance(element, BindParameter) and id(element) in names:
            return bindparam(
                names[id(element)],
                type_=element.type,
                expanding=element.expanding,  # an IN list: no shape (post-compile)
                literal_execute=element.literal_execute,
            )
        return None

    template = [replacement_traverse(clause, {}, named) for clause in where]
    cursor = None
    if after is not None:
        cursor = [
            bindparam(f"padb_a{index}", type_=key.column.type) for index, key in enumerate(keys)
        ]
    build = (
        page_window if window else functools.partial(page_statement, plain=is_lake_dialect(dialect))
    )
    statement = build(table, template, keys, limit=limit, offset=offset, after=cursor)
    if statement is None:
        return None
    native = NativeStatement(statement, dialect)
    compiled = native.shape.compiled
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None
    return PageShape(native, len(binds))


def page_shape(
    cache: StatementCache,
    dialect: Dialect,
    table: Table,
    where: Sequence[Any],
    keys: Sequence[SortKey],
    *,
    limit: int,
    offset: int,
    after: Sequence[Any] | None,
    window: bool,
) -> tuple[PageShape, list[Any]] | None:
    """The compiled page of this call's shape and DuckDB's parameters for the call.

    ``window``: the page within its first key's window (``page_window``), else the plain page
    (``page_statement``). ``None`` when no window applies or the shape cannot be compiled with
    named values: the caller builds the statement as before.
    """
    keys_of = [cache_key(clause) for clause in where]
    if any(key is None for key in keys_of) or (after is not None and len(after) != len(keys)):
        return None
    binds = [bind for key in keys_of for bind in key.bindparams]
    shape_key: Hashable = (
        table,
        tuple(key.key for key in keys_of),
        tuple((key.name, key.descending) for key in keys),
        limit,
        offset,
        after is not None,
    )
    shape = cache.get_or_compile(
        _KINDS[window],
        shape_key,
        dialect,
        lambda: _build(
            table,
            where,
            binds,
            keys,
            limit=limit,
            offset=offset,
            after=after,
            dialect=dialect,
            window=window,
        ),
    )
    if shape is None:
        return None
    try:
        values = [bind.effective_value for bind in binds]
        return shape, shape.parameters(values, after)
    except Exception:  # a value its type refuses: SQLAlchemy's path words the error
        return None
