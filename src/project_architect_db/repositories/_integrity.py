"""Relationships DuckDB cannot enforce: parents must exist, deletes cascade, races are fenced.

Read off :mod:`project_architect_db.models.graph`: ``PARENTS[model]`` are the references a new
row holds (checked, and the denormalised ancestor ids copied from the direct parent), and
``CHILDREN[model]`` are every table pointing at a row (one ``DELETE``/``UPDATE`` each, since
every row carries the ids of all its ancestors).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, Table, bindparam, cast, delete, select, update
from sqlalchemy.engine import Dialect

from project_architect_db.core.locks import IntegrityLocks, LockOwner
from project_architect_db.core.native_write import NativeWrite
from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import IntegrityError
from project_architect_db.models.base import Base, singular
from project_architect_db.models.graph import CHILDREN, PARENTS, OnDelete, Reference
from project_architect_db.queries.native import native_sql
from project_architect_db.repositories._native_read import NativeStatement
from project_architect_db.repositories.changes import MAX_CASCADED_IDS

__all__ = [
    "Cascade",
    "NativeCascade",
    "ParentFetch",
    "cascade_delete",
    "copied_from",
    "direct_parents",
    "missing_parent",
    "native_parent_fetch",
    "required_parent",
    "resolve_parents",
]


def direct_parents(model: type[Base]) -> list[Reference]:
    """The references of ``model`` the caller gives (the others are copied from these)."""
    return [ref for ref in PARENTS.get(model, ()) if not ref.denormalised]


def copied_from(model: type[Base], direct: Reference) -> list[str]:
    """The denormalised columns of ``model`` whose value comes from ``direct``'s parent row."""
    return [
        ref.column
        for ref in PARENTS.get(model, ())
        if ref.denormalised and ref.column in direct.parent.__table__.c
    ]


#: Reads parent rows for :func:`resolve_parents`: ``fetch(table, columns, ids)`` gives
#: ``{id: {column: value}}`` for the ids that exist, in the unit of work's own transaction.
ParentFetch = Callable[[Any, list[str], list[uuid.UUID]], Awaitable[Mapping[Any, dict[str, Any]]]]


async def resolve_parents(
    tx: LockOwner,
    locks: IntegrityLocks,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    fetch: ParentFetch | None = None,
) -> None:
    """Check every parent of ``rows`` exists and fill the denormalised ancestor ids (in place).

    Takes a shared lock on each parent and ancestor first, so a concurrent delete either
    finishes before (and the parent is missing) or waits until this transaction ends.
    ``tx`` is a :class:`Transaction` (parents read through its session), or any unit of work
    with the ``fetch`` that reads in its transaction (:func:`native_parent_fetch`).

    Raises:
        IntegrityError: a parent is missing, or was deleted by a transaction that committed
            after this one began.
    """
    if fetch is None:
        assert isinstance(tx, Transaction)
        fetch = functools.partial(_fetch, tx)
    for ref in direct_parents(model):
        wanted = {row[ref.column] for row in rows if row.get(ref.column) is not None}
        if not wanted:
            if not ref.child.__table__.c[ref.column].nullable:
                raise required_parent(model, ref)
            continue
        parent_name = _name(ref.parent)
        for parent_id in sorted(wanted):
            await locks.shared(tx, parent_id)
            locks.check_not_deleted(tx, parent_id, parent_name)
        copied = copied_from(model, ref)
        table = ref.parent.__table__
        found = await fetch(table, copied, list(wanted))
        missing = wanted - found.keys()
        if missing:
            raise missing_parent(ref, missing)
        for row in rows:
            parent_id = row.get(ref.column)
            if parent_id is None:
                continue
            ancestors = found[parent_id]
            for column in copied:
                row[column] = ancestors[column]
        for column in copied:
            for ancestor in {row[column] for row in rows if row.get(column) is not None}:
                await locks.shared(tx, ancestor)
                locks.check_not_deleted(tx, ancestor, column.removesuffix("_id"))


def required_parent(model: type[Base], ref: Reference) -> IntegrityError:
    """The error for a new row that names no parent where one is required."""
    return IntegrityError(f"{ref.column} is required to create a {_name(model)}.")


def missing_parent(ref: Reference, missing: Iterable[uuid.UUID]) -> IntegrityError:
    """The error for new rows whose parents (``missing``) do not exist."""
    ids = sorted(missing)
    parent_name = _name(ref.parent)
    shown = ", ".join(str(m) for m in ids[:5])
    more = f" (and {len(ids) - 5} more)" if len(ids) > 5 else ""
    return IntegrityError(
        f"No {parent_name} with id {shown}{more}: create the {parent_name} first ({ref})."
    )


def _parents_select(table: Any, columns: list[str], ids: list[uuid.UUID]) -> Any:
    return select(table.c.id, *(table.c[name] for name in columns)).where(table.c.id.in_(ids))


async def _fetch(
    tx: Transaction, table: Any, columns: list[str], ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, dict[str, Any]]:
    result = await tx.execute(_parents_select(table, columns, ids))
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in result}


def native_parent_fetch(unit: NativeWrite, dialect: Dialect) -> ParentFetch:
    """The :data:`ParentFetch` of a native write unit: one hop in the unit's transaction.

    The first read sends the unit's ``BEGIN``: its snapshot is taken after the parents'
    locks, as in a session's transaction.
    """

    async def fetch(
        table: Any, columns: list[str], ids: list[uuid.UUID]
    ) -> Mapping[uuid.UUID, dict[str, Any]]:
        sql, params = native_sql(_parents_select(table, columns, ids), dialect)
        rows = await unit.read(lambda duck: duck.execute(sql, params).fetchall())
        return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}

    return fetch


@dataclass(frozen=True, slots=True)
class Cascade:
    """What a cascading delete removed besides the rows asked for (for the change feed).

    Attributes:
        counts: Rows deleted, per child table (only tables that lost rows).
        ids: Their ids, per child table, for tables with at most ``MAX_CASCADED_IDS`` of them.
    """

    counts: dict[str, int] = field(default_factory=dict)
    ids: dict[str, tuple[uuid.UUID, ...]] = field(default_factory=dict)


async def cascade_delete(
    tx: Transaction, locks: IntegrityLocks, model: type[Base], ids: Sequence[uuid.UUID]
) -> Cascade:
    """Delete ``ids`` of ``model`` and everything that points at them; say what went with them.

    An exclusive lock per id makes child inserts into these rows wait until this transaction
    ends; a tombstone then refuses inserts whose snapshot predates the delete. Each child
    table's ``DELETE ... RETURNING id`` runs natively, so collecting the ids costs the same
    scan the delete makes anyway, and only up to ``MAX_CASCADED_IDS`` of them become Python
    objects.
    """
    for row_id in sorted(ids):
        await locks.exclusive(tx, row_id)
    cascade = Cascade()
    dialect = (await tx.connection()).dialect
    for ref in CHILDREN.get(model, ()):
        child: Table = ref.child.__table__  # type: ignore[assignment]
        column = child.c[ref.column]
        if ref.on_delete is OnDelete.SET_NULL:
            await tx.execute(update(child).where(column.in_(ids)).values({column: None}))
            continue
        if getattr(dialect, "is_lake", False):  # no RETURNING on a lake: select, then delete
            count, child_ids = await _cascade_on_lake(tx, child, column.in_(ids))
        else:
            statement = delete(child).where(column.in_(ids)).returning(cast(child.c.id, String))
            count, child_ids = await tx.run_native(_deleting(*native_sql(statement, dialect)))
        if count:
            cascade.counts[child.name] = count
            if child_ids is not None:
                cascade.ids[child.name] = child_ids
    table: Table = model.__table__  # type: ignore[assignment]
    await tx.execute(delete(table).where(table.c.id.in_(ids)))
    locks.mark_deleted(tx, list(ids))
    return cascade


async def _cascade_on_lake(
    tx: Transaction, child: Table, where: Any
) -> tuple[int, tuple[uuid.UUID, ...] | None]:
    """A cascade step on a lake: the ids the delete will take, then the delete."""
    ids = [row.id for row in await tx.execute(select(child.c.id).where(where))]
    if ids:
        await tx.execute(delete(child).where(where))
    return len(ids), (tuple(ids) if len(ids) <= MAX_CASCADED_IDS else None)


def _deleting(
    sql: str, params: list[Any]
) -> Callable[[Any], tuple[int, tuple[uuid.UUID, ...] | None]]:
    """Native work running ``sql`` (a ``DELETE ... RETURNING id``): the count, and the ids."""
    return lambda duck: _deleted(duck, sql, params)


def _deleted(duck: Any, sql: str, params: list[Any]) -> tuple[int, tuple[uuid.UUID, ...] | None]:
    returned = duck.execute(sql, params).to_arrow_table().column(0)
    count = len(returned)
    if count > MAX_CASCADED_IDS:
        return count, None
    return count, tuple(uuid.UUID(text) for text in returned.to_pylist())


class NativeCascade:
    """:func:`cascade_delete` of one ``model`` row, compiled once, for a native unit's hop.

    The same statements as :func:`cascade_delete` (one per child table, then the row), bound
    to one ``row_id``; :meth:`work` runs them all in the caller's transaction. The caller
    takes the exclusive lock and leaves the tombstone (``mark_deleted``) around the hop.
    """

    __slots__ = ("_own", "_steps")

    def __init__(self, model: type[Base], dialect: Dialect) -> None:
        table: Table = model.__table__  # type: ignore[assignment]
        row_id = bindparam("row_id", type_=table.c.id.type)
        self._steps: list[tuple[str, NativeStatement, bool]] = []
        for ref in CHILDREN.get(model, ()):
            child: Table = ref.child.__table__  # type: ignore[assignment]
            column = child.c[ref.column]
            collect = ref.on_delete is not OnDelete.SET_NULL
            statement: Any = (
                delete(child).where(column == row_id).returning(cast(child.c.id, String))
                if collect
                else update(child).where(column == row_id).values({column: None})
            )
            self._steps.append((child.name, NativeStatement(statement, dialect), collect))
        self._own = NativeStatement(delete(table).where(table.c.id == row_id), dialect)

    def work(self, row_id: uuid.UUID) -> Callable[[Any], Cascade]:
        """``fn(duckdb_connection)`` deleting the row and its descendants; what went with it."""
        given = {"row_id": row_id}
        steps = [
            (name, native.shape.sql, native.parameters(given), collect)
            for name, native, collect in self._steps
        ]
        own_sql, own_parameters = self._own.shape.sql, self._own.parameters(given)

        def run(duck: Any) -> Cascade:
            cascade = Cascade()
            for name, sql, parameters, collect in steps:
                if not collect:
                    duck.execute(sql, parameters)
                    continue
                count, child_ids = _deleted(duck, sql, parameters)
                if count:
                    cascade.counts[name] = count
                    if child_ids is not None:
                        cascade.ids[name] = child_ids
            duck.execute(own_sql, own_parameters)
            return cascade

        return run


def _name(model: type[Base]) -> str:
    return singular(str(model.__tablename__))
