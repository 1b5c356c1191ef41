"""Relationships DuckDB cannot enforce: parents must exist, deletes cascade, races are fenced.

Read off :mod:`project_architect_db.models.graph`: ``PARENTS[model]`` are the references a new
row holds (checked, and the denormalised ancestor ids copied from the direct parent), and
``CHILDREN[model]`` are every table pointing at a row (one ``DELETE``/``UPDATE`` each, since
every row carries the ids of all its ancestors).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, Table, cast, delete, select, update

from project_architect_db.core.locks import IntegrityLocks
from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import IntegrityError
from project_architect_db.exceptions._translate import translating
from project_architect_db.models.base import Base
from project_architect_db.models.graph import CHILDREN, PARENTS, OnDelete, Reference
from project_architect_db.queries.native import native_sql
from project_architect_db.repositories.changes import MAX_CASCADED_IDS

__all__ = ["Cascade", "cascade_delete", "resolve_parents"]


def _direct(model: type[Base]) -> list[Reference]:
    return [ref for ref in PARENTS.get(model, ()) if not ref.denormalised]


def _copied_from(model: type[Base], direct: Reference) -> list[str]:
    """The denormalised columns of ``model`` whose value comes from ``direct``'s parent row."""
    return [
        ref.column
        for ref in PARENTS.get(model, ())
        if ref.denormalised and ref.column in direct.parent.__table__.c
    ]


async def resolve_parents(
    tx: Transaction,
    locks: IntegrityLocks,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
) -> None:
    """Check every parent of ``rows`` exists and fill the denormalised ancestor ids (in place).

    Takes a shared lock on each parent and ancestor first, so a concurrent delete either
    finishes before (and the parent is missing) or waits until this transaction ends.

    Raises:
        IntegrityError: a parent is missing, or was deleted by a transaction that committed
            after this one began.
    """
    for ref in _direct(model):
        wanted = {row[ref.column] for row in rows if row.get(ref.column) is not None}
        if not wanted:
            if not ref.child.__table__.c[ref.column].nullable:
                raise IntegrityError(f"{ref.column} is required to create a {_name(model)}.")
            continue
        parent_name = _name(ref.parent)
        for parent_id in sorted(wanted):
            await locks.shared(tx, parent_id)
            locks.check_not_deleted(tx, parent_id, parent_name)
        copied = _copied_from(model, ref)
        table = ref.parent.__table__
        found = await _fetch(tx, table, copied, wanted)
        missing = wanted - found.keys()
        if missing:
            shown = ", ".join(str(m) for m in sorted(missing)[:5])
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise IntegrityError(
                f"No {parent_name} with id {shown}{more}: create the {parent_name} first ({ref})."
            )
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


async def _fetch(
    tx: Transaction, table: Any, columns: list[str], ids: Iterable[uuid.UUID]
) -> Mapping[uuid.UUID, dict[str, Any]]:
    wanted = list(ids)
    statement = select(table.c.id, *(table.c[name] for name in columns)).where(
        table.c.id.in_(wanted)
    )
    result = await tx.execute(statement)
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in result}


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
        statement = delete(child).where(column.in_(ids)).returning(cast(child.c.id, String))
        with translating():
            count, child_ids = await tx.run_native(_deleting(*native_sql(statement, dialect)))
        if count:
            cascade.counts[child.name] = count
            if child_ids is not None:
                cascade.ids[child.name] = child_ids
    table: Table = model.__table__  # type: ignore[assignment]
    await tx.execute(delete(table).where(table.c.id.in_(ids)))
    locks.mark_deleted(tx, list(ids))
    return cascade


def _deleting(
    sql: str, params: list[Any]
) -> Callable[[Any], tuple[int, tuple[uuid.UUID, ...] | None]]:
    """Native work running ``sql`` (a ``DELETE ... RETURNING id``): the count, and the ids."""

    def run(duck: Any) -> tuple[int, tuple[uuid.UUID, ...] | None]:
        returned = duck.execute(sql, params).to_arrow_table().column(0)
        count = len(returned)
        if count > MAX_CASCADED_IDS:
            return count, None
        return count, tuple(uuid.UUID(text) for text in returned.to_pylist())

    return run


def _name(model: type[Base]) -> str:
    return str(model.__tablename__).removesuffix("s")
