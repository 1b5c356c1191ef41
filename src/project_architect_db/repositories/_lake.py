"""What the repositories do differently on a DuckLake lake (``ducklake:postgres:...``).

A lake has no ``RETURNING``, no ``ON CONFLICT`` and no UNIQUE index (``core/lake``). So, on a
lake only:

* **written rows are read back**: an ``INSERT`` runs without ``RETURNING`` and the rows are
  selected by their ids in the same transaction, which sees its own writes
  (:func:`insert_rows`); a cascade selects the child ids, then deletes them;
* **unique keys are claimed** before a write instead of being enforced by an index:
  :class:`LakeIntegrity` is the one hook, called by ``create``, ``update``, ``upsert`` and
  ``bulk_create`` with the natural key (slug, url, (project, path)) of each row written.
  :class:`InProcessLakeIntegrity` holds it for the ``Database`` objects of one process
  (an exclusive :class:`~project_architect_db.core.locks.IntegrityLocks` key per natural
  key, held until the transaction ends, then a look for the key). Across OS processes the
  same hook is to take PostgreSQL advisory locks (the ``lakeguard`` work, see
  docs/architecture.md "DuckLake"); the repositories do not change.
* **upserts** claim the key, read the row with that key and update it, or insert a new one;
  ``bulk_upsert`` is one ``MERGE INTO`` (which DuckLake supports).
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Table, and_, insert, select, tuple_
from sqlalchemy.engine import Dialect

from project_architect_db.core.locks import IntegrityLocks
from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import AlreadyExistsError, ConflictError, IntegrityError
from project_architect_db.repositories._native_create import _with_defaults

__all__ = [
    "InProcessLakeIntegrity",
    "LakeIntegrity",
    "insert_rows",
    "is_lake_dialect",
    "key_filter",
    "unique_keys",
]


def _key(table: Table, names: Sequence[str], values: Sequence[Any]) -> Hashable:
    return ("lake-unique", table.name, tuple(names), tuple(values))


def unique_keys(names: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """The natural-key values of ``rows`` that carry every column of the key (``names``)."""
    if not names:
        return []
    return [tuple(row[name] for name in names) for row in rows if all(n in row for n in names)]


class LakeIntegrity(Protocol):
    """The hook a lake's writes call where a file relies on a UNIQUE index.

    ``claim`` is awaited inside the writing transaction, before the write. It must (1) keep
    any other writer of the same key, in any process, from committing until this transaction
    ends, and (2) raise ``AlreadyExistsError`` when a committed row other than ``own_id``
    already has one of the keys (unless ``refuse_taken`` is false: an upsert).
    """

    async def claim(
        self,
        tx: Transaction,
        table: Table,
        names: Sequence[str],
        keys: Sequence[tuple[Any, ...]],
        *,
        own_id: uuid.UUID | None = None,
        refuse_taken: bool = True,
    ) -> None:
        """Claim the natural keys ``keys`` (values of the columns ``names``) of ``table``.

        ``refuse_taken=False`` (an upsert) only holds the keys: a row having one is updated.
        """
        ...


class InProcessLakeIntegrity:
    """:class:`LakeIntegrity` for the writers of this process (see the module text)."""

    def __init__(self, locks: IntegrityLocks) -> None:
        self._locks = locks

    async def claim(
        self,
        tx: Transaction,
        table: Table,
        names: Sequence[str],
        keys: Sequence[tuple[Any, ...]],
        *,
        own_id: uuid.UUID | None = None,
        refuse_taken: bool = True,
    ) -> None:
        """Lock each key (sorted: no deadlock), then refuse a key another row already has."""
        if not keys:
            return
        if len(set(keys)) < len(keys):
            raise AlreadyExistsError(
                f"Two {table.name} rows of this write have the same {', '.join(names)}: give "
                "each a different value."
            )
        claimed = [_key(table, names, key) for key in keys]
        for lock_key in sorted(claimed, key=repr):
            await self._locks.exclusive(tx, lock_key)
            try:
                # written by a transaction that committed after this one's snapshot was taken
                self._locks.check_not_deleted(tx, lock_key, "key")
            except IntegrityError as error:
                raise ConflictError(
                    f"A concurrent transaction wrote a {table.name} row with the same "
                    f"{', '.join(names)} after this one began; nothing was written. Run the "
                    "unit of work again."
                ) from error
        # once this transaction commits, older snapshots must not trust their look
        self._locks.mark_deleted(tx, claimed)
        if not refuse_taken:
            return
        columns = [table.c[name] for name in names]
        found = select(table.c.id, *columns).where(tuple_(*columns).in_(list(keys)))
        if own_id is not None:
            found = found.where(table.c.id != own_id)
        taken = (await tx.execute(found.limit(1))).first()
        if taken is not None:
            pairs: zip[tuple[str, Any]] = zip(names, taken[1:], strict=True)
            values = ", ".join(f"{name}={value!r}" for name, value in pairs)
            raise AlreadyExistsError(
                f"A {table.name} row with the same unique key already exists ({values}): use "
                "a different value, or upsert to update the existing row."
            )


def is_lake_dialect(dialect: Dialect) -> bool:
    """Whether statements compiled for ``dialect`` run on a lake (``core/lake/_dialect.py``)."""
    return bool(getattr(dialect, "is_lake", False))


async def insert_rows(tx: Transaction, table: Table, values: list[dict[str, Any]]) -> list[Any]:
    """Insert ``values`` and return the stored rows, in order: ``INSERT ... RETURNING``.

    On a lake, which refuses ``RETURNING``: the column defaults are applied here, the rows
    inserted, then read back by id (the transaction sees its own writes).
    """
    if not is_lake_dialect((await tx.connection()).dialect):
        return list(await tx.execute(insert(table).values(values).returning(table)))
    values = [_with_defaults(table, dict(row)) for row in values]
    await tx.execute(insert(table).values(values))
    ids = [row["id"] for row in values]
    by_id = {row.id: row for row in await tx.execute(select(table).where(table.c.id.in_(ids)))}
    return [by_id[row_id] for row_id in ids]


def key_filter(table: Table, names: Sequence[str], key: tuple[Any, ...]) -> Any:
    """``WHERE`` clause selecting the row of one natural key."""
    return and_(*(table.c[name] == value for name, value in zip(names, key, strict=True)))
