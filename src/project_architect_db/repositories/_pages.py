"""The ``SELECT`` of one page, written so DuckDB reads only what the page needs.

``list()`` asks for ``ORDER BY <keys> LIMIT n + 1`` (one row more tells whether a next page
exists). Written plainly, DuckDB 1.5 reads far more than the page to answer it:
measured at 1M projects / 10M messages in docs/architecture.md, "Pages at 1M rows". These
rewrites keep the answer identical and let the planner skip most of the table:

* **Rows of one owner** (``conversation_id=...``, ``project_id=...``, ``slug=...``: an
  equality on a column with an index of its own). DuckDB takes the index only for a table scan
  whose single filter is that equality; ``ORDER BY ... LIMIT`` adds a second one (the Top-N
  operator's dynamic filter on the sort key), and the scan becomes sequential. So the owner's
  rows are read by a ``MATERIALIZED`` CTE that has nothing but the equality (an index scan;
  the CTE is an optimisation fence, so no other filter is pushed into that scan), and the
  page is the Top-N of the CTE's rows. Past ``max(index_scan_max_count, index_scan_percentage
  x rows)`` matches DuckDB scans the table instead, as it would have anyway, and the CTE holds
  that owner's rows while the page is sorted (memory follows the owner, not the table).
  Naming the owner's rows by ``rowid`` instead (``rowid IN (SELECT rowid ...)``) was measured
  too: the semi-join back to a 10M-row table cost more than the plain query.
* **Any other page**: the sort keys of the matching rows are read first (``SELECT rowid
  ... ORDER BY ... LIMIT n``: a Top-N over three or four columns, which DuckDB prunes with
  its dynamic filter and the zonemaps), then the page's rows by ``rowid``. DuckDB does the
  same by itself (late materialisation) only up to ``late_materialization_max_rows`` (50, a
  global setting) rows, and a page asks for ``limit + 1``: without this, a page of 50 read
  every column of every row the Top-N looked at (tags and tech_stack lists are the dearest).
  The rows are fetched from a scan bounded by the page's own range of the first key
  (``k BETWEEN (SELECT min(k) FROM page) AND (SELECT max(k) FROM page)``): DuckDB turns each
  scalar bound into a dynamic filter on the scan, so the fetch reads the few vectors that
  hold the page instead of every row of the table (a bare ``rowid IN (...)`` semi-join reads
  them all: rowid filters are not pushed into the scan).
* **Keyset pages** (``cursor=``): the predicate "after the cursor" is an ``OR`` over the sort
  keys, which zonemaps cannot use; the first key's bound (``created_at <= :v`` for
  ``-created_at``) is added as a plain conjunct, so row groups wholly past the cursor are
  skipped. Rows are appended in time order (time-ordered ids, ``created_at`` at insert), so
  row groups are sorted by time and most of them are skipped.
* **A window on the first key** (:func:`page_window`, a timestamp sort key): DuckDB's Top-N
  prunes by row group (122,880 rows), so its floor is the newest row group. The window first
  asks the same page among the rows whose first key lies within an estimated few thousand
  rows of the start (``k >= max(k) - (max(k) - min(k)) x rows / count(*)``: answered from the
  table's statistics, no scan; from the cursor's value on a keyset page), which zonemaps cut
  to a segment. The window's answer is exact whenever it holds the whole page (``limit``
  rows): every row outside it sorts after every row inside. Otherwise the caller asks the
  plain page. So the answer never depends on the data's physical order, only the speed does.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    BinaryExpression,
    BindParameter,
    Column,
    ColumnClause,
    ColumnElement,
    DateTime,
    Float,
    Select,
    Table,
    TypeDecorator,
    cast,
    column,
    func,
    literal,
    select,
)
from sqlalchemy.sql import operators
from sqlalchemy.sql.visitors import iterate, replacement_traverse
from sqlalchemy.types import TypeEngine

from project_architect_db.queries.sorting import SortKey, keyset_condition
from project_architect_db.repositories._native_read import PREPARE

__all__ = ["WINDOW_ROWS", "after_cursor", "page_statement", "page_window"]

#: Rows of the table a window spans, per 64 rows the page asks for (``limit + 1 + offset``).
WINDOW_ROWS = 4096


@functools.cache
def _indexed_alone(table: Table) -> frozenset[str]:
    """The columns of ``table`` that an index of their own (or the primary key) covers."""
    names = {index.columns[0].name for index in table.indexes if len(index.columns) == 1}
    if len(table.primary_key.columns) == 1:
        names.add(next(iter(table.primary_key.columns)).name)
    return frozenset(names)


def _owner(table: Table, where: Sequence[Any]) -> int | None:
    """The position in ``where`` of an equality an index answers alone (``col = :value``)."""
    indexed = _indexed_alone(table)
    for position, clause in enumerate(where):
        if (
            isinstance(clause, BinaryExpression)
            and clause.operator is operators.eq
            and isinstance(clause.left, Column)
            and clause.left.table is table
            and clause.left.name in indexed
            and isinstance(clause.right, BindParameter)
        ):
            return position
    return None


def _reads_only(table: Table, clauses: Sequence[Any]) -> bool:
    """Whether every column ``clauses`` name is one of ``table``'s."""
    return all(
        not isinstance(element, Column) or element.table is table
        for clause in clauses
        for element in iterate(clause)
    )


def after_cursor(keys: Sequence[SortKey], values: Sequence[Any]) -> list[Any]:
    """Rows after the cursor: the keyset ``OR`` plus the first key's bound, for zonemaps."""
    first = keys[0]
    bound = first.column <= values[0] if first.descending else first.column >= values[0]
    return [bound, keyset_condition(keys, values)]


def page_statement(
    table: Table,
    where: Sequence[Any],
    keys: Sequence[SortKey],
    *,
    limit: int,
    offset: int = 0,
    after: Sequence[Any] | None = None,
    plain: bool = False,
) -> Select[Any]:
    """``SELECT * FROM table WHERE ... ORDER BY keys LIMIT limit OFFSET offset``, rewritten.

    ``plain=True`` (a lake) keeps it as written: the rewrites below (rowids first, then their
    rows; a page window is tried before, :func:`page_window`) pay off through a file's
    zonemaps and indexes, while on a lake each scan is more catalog and file work (its inlined
    rows are in PostgreSQL), so the page is one scan, as hand-written SQL reads it.

    Args:
        table: The table the page reads.
        where: The filters' conditions (ANDed).
        keys: The sort keys, ``id`` last.
        limit: Rows to return (the caller asks one more to see whether a next page exists).
        offset: Rows to skip.
        after: A cursor's sort-key values: only rows after them.
        plain: Keep the statement as written (a lake's page).
    """
    conditions = list(where)
    if after is not None:
        conditions.extend(after_cursor(keys, after))
    order = [key.order() for key in keys]
    if plain:
        statement = select(table).where(*conditions).order_by(*order).limit(limit)
        return statement.offset(offset) if offset else statement
    owner = _owner(table, conditions)
    rest = [] if owner is None else conditions[:owner] + conditions[owner + 1 :]
    # A condition naming another table (a custom filter's) would join it to the CTE: such a
    # page keeps the shape below, which reads the table itself. Checked on the clauses (~us);
    # the statement's final FROM list costs a compilation (~3 ms a page).
    if owner is not None and _reads_only(table, rest):
        scoped = (
            select(table)
            .where(conditions[owner])
            .cte(f"{table.name}_of_owner")
            .prefix_with("MATERIALIZED")
        )

        def to_scoped(element: Any, **_: Any) -> Any:
            if isinstance(element, Column) and element.table is table:
                return scoped.c[element.name]
            return None

        statement = (
            select(scoped)
            .where(*(replacement_traverse(c, {}, to_scoped) for c in rest))
            .order_by(*(replacement_traverse(o, {}, to_scoped) for o in order))
            .limit(limit)
            # its plan is the owner's index scan whatever the values: DuckDB plans it once
            .execution_options(**{PREPARE: True})
        )
        return statement.offset(offset) if offset else statement
    return _by_rowid(table, conditions, keys, limit=limit, offset=offset)


def _by_rowid(
    table: Table, conditions: Sequence[Any], keys: Sequence[SortKey], *, limit: int, offset: int
) -> Select[Any]:
    """The page's rowids by the sort keys (a narrow Top-N), then its rows."""
    order = [key.order() for key in keys]
    rowid: ColumnClause[Any] = column("rowid")
    if not keys or keys[0].column.nullable:
        # min()/max() skip NULLs, so a range of the first key would drop a NULL row
        ids = select(rowid).select_from(table).where(*conditions).order_by(*order)
        ids = ids.limit(limit).offset(offset) if offset else ids.limit(limit)
        return select(table).where(rowid.in_(ids.correlate(None))).order_by(*order)
    first = keys[0].column
    found = select(rowid.label("r"), first.label("k")).select_from(table).where(*conditions)
    found = found.order_by(*order).limit(limit)
    if offset:
        found = found.offset(offset)
    page = found.cte(f"{table.name}_page").prefix_with("MATERIALIZED")
    # the CTE's columns by name: ``page.c`` builds its column collection (~0.3 ms a page)
    key: ColumnClause[Any] = column("k")
    row: ColumnClause[Any] = column("r")
    return (
        select(table)
        .where(
            first >= select(func.min(key)).select_from(page).scalar_subquery(),
            first <= select(func.max(key)).select_from(page).scalar_subquery(),
            rowid.in_(select(row).select_from(page)),
        )
        .order_by(*order)
    )


def _windowed(
    table: Table, key: SortKey, after: Sequence[Any] | None, rows: int
) -> ColumnElement[bool]:
    """The first key's bound keeping about ``rows`` of the table's rows from the page's start.

    ``max``, ``min`` and ``count(*)`` of a table come from DuckDB's statistics (no scan), and
    the scalar subquery becomes a dynamic filter on the scan (zonemaps). The span assumes rows
    spread evenly between ``min`` and ``max``: a wrong guess costs speed, never the answer.
    Computed in microseconds and clamped to ``[min, max]``, so that no span (year 1 to 9999,
    a cursor far outside the table's range) leaves the timestamp range.
    """
    if after is None:
        return _from_end(table, key.column, key.descending, rows)
    high, low, span = _span(table, key.column, rows)
    # a named parameter (``_page_shapes``) or the cursor's value
    value = after[0] if isinstance(after[0], BindParameter) else literal(after[0], key.column.type)
    start = func.least(high, func.epoch_us(value, type_=BigInteger))
    if not key.descending:
        start = func.greatest(low, start, type_=BigInteger)
    return _bound(table, key.column, key.descending, start, high, low, span)


@functools.lru_cache(maxsize=256)
def _span(
    table: Table, first: Any, rows: int
) -> tuple[ColumnElement[int], ColumnElement[int], ColumnElement[int]]:
    """``max`` and ``min`` of ``first`` in microseconds, and the span ``rows`` rows take."""
    high = func.epoch_us(func.max(first), type_=BigInteger)
    low = func.epoch_us(func.min(first), type_=BigInteger)
    share = func.least(1.0, literal(float(rows), Float) / func.count(), type_=Float)
    return high, low, cast((high - low) * share, BigInteger)


@functools.lru_cache(maxsize=256)
def _from_end(table: Table, first: Any, descending: bool, rows: int) -> ColumnElement[bool]:
    """The bound of a first page (no cursor): built once per shape (no value of the call)."""
    high, low, span = _span(table, first, rows)
    return _bound(table, first, descending, high if descending else low, high, low, span)


def _bound(
    table: Table,
    first: Any,
    descending: bool,
    start: ColumnElement[int],
    high: ColumnElement[int],
    low: ColumnElement[int],
    span: ColumnElement[int],
) -> ColumnElement[bool]:
    if descending:
        edge = func.greatest(low, start - span, type_=BigInteger)
    else:
        edge = func.least(high, start + span, type_=BigInteger)
    moment = func.make_timestamp(edge, type_=first.type).label("edge")
    # over the whole table: never correlated to the page's own scan of it
    bound = select(moment).select_from(table).correlate(None).scalar_subquery()
    condition: ColumnElement[bool] = first >= bound if descending else first <= bound
    return condition


def _is_timestamp(kind: TypeEngine[Any]) -> bool:
    """Whether a column of ``kind`` holds ``TIMESTAMP`` s (a ``TypeDecorator``: what it wraps)."""
    impl = kind.impl if isinstance(kind, TypeDecorator) else kind
    return isinstance(impl, DateTime) and not impl.timezone


def page_window(
    table: Table,
    where: Sequence[Any],
    keys: Sequence[SortKey],
    *,
    limit: int,
    offset: int = 0,
    after: Sequence[Any] | None = None,
) -> Select[Any] | None:
    """The page among the rows near its start, or ``None`` where no window applies.

    Exact when it returns ``limit`` rows (then ask nothing else): each row outside the
    window sorts after each row inside it. With fewer rows the window was too narrow (or the
    page is short): ask :func:`page_statement`'s plain page. Applies to a first sort key that
    is a timestamp and never ``NULL`` (``created_at``, ``updated_at``, ...), and not to an
    owner's rows (read through their index instead).
    """
    first = keys[0].column
    if first.nullable or not _is_timestamp(first.type):
        return None
    conditions = list(where)
    if after is not None:
        conditions.extend(after_cursor(keys, after))
    owner = _owner(table, conditions)
    if owner is not None and _reads_only(table, conditions[:owner] + conditions[owner + 1 :]):
        return None
    rows = WINDOW_ROWS * max(1, -(-(limit + offset) // 64))
    conditions.append(_windowed(table, keys[0], after, rows))
    return _by_rowid(table, conditions, keys, limit=limit, offset=offset)
