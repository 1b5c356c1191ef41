"""What the repositories do differently on a DuckLake lake (``ducklake:postgres:...``).

A lake has no ``RETURNING``, no ``ON CONFLICT`` and no UNIQUE index (``core/lake``). So, on a
lake only:

* **written rows are made client-side**: an ``INSERT`` runs without ``RETURNING`` and the
  rows are made from their values as a ``SELECT`` would return them (:func:`insert_rows`,
  ``_lake_rows.py``); a cascade selects the child ids, then deletes them;
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

import itertools
import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import pyarrow as pa
from sqlalchemy import Table, Uuid, and_, insert, select, tuple_
from sqlalchemy.engine import Dialect

from project_architect_db.core.locks import IntegrityLocks
from project_architect_db.core.native_write import Parents
from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import AlreadyExistsError, ConflictError, IntegrityError
from project_architect_db.repositories._lake_rows import stored_rows
from project_architect_db.repositories._native_create import _with_defaults

__all__ = [
    "InProcessLakeIntegrity",
    "LakeIntegrity",
    "insert_rows",
    "is_lake_dialect",
    "key_filter",
    "unique_keys",
]


#: Past this many keys a claim is a bulk write's: one lock on the key space, one join.
MANY_KEYS = 64
_views = itertools.count(1)


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

    async def claim_columns(
        self,
        tx: Transaction,
        table: Table,
        names: Sequence[str],
        columns: pa.Table,
        *,
        refuse_taken: bool = True,
    ) -> None:
        """:meth:`claim` for a bulk write, its keys given as the Arrow columns ``names``."""
        ...


class InProcessLakeIntegrity:
    """:class:`LakeIntegrity` for the writers of this process (see the module text)."""

    def __init__(self, locks: IntegrityLocks) -> None:
        self._locks = locks
        #: conversation id -> its project's (conversations never move): an append locks the
        #: project with its other keys, before its snapshot (``lock_conversation``)
        self.parents = Parents()

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
        """Lock the keys, then refuse a key another row already has.

        A few keys are locked one by one (sorted: no deadlock), under a shared lock on the
        table's key space; a bulk write (more than ``MANY_KEYS``) locks the key space
        exclusively, once, and looks for taken keys with one join.
        """
        if not keys:
            return
        if len(set(keys)) < len(keys):
            raise AlreadyExistsError(
                f"Two {table.name} rows of this write have the same {', '.join(names)}: give "
                "each a different value."
            )
        locks = self._locks
        space = ("lake-unique-space", table.name, tuple(names))
        prefix = ("lake-unique", table.name, tuple(names))  # _key's, made once for many keys
        claimed: list[Hashable] = [(*prefix, tuple(key)) for key in keys]
        if len(keys) > MANY_KEYS:
            await locks.exclusive(tx, space)
        else:  # one catalog round trip for all of them
            ordered = sorted(claimed, key=repr)
            await locks.many(tx, [(space, False), *((key, True) for key in ordered)])
        self._check_and_bury(tx, table, names, lambda: claimed)
        if not refuse_taken:
            return
        taken = await taken_error(tx, table, names, keys, own_id)
        if taken is not None:
            raise taken

    def _check_and_bury(
        self,
        tx: Transaction,
        table: Table,
        names: Sequence[str],
        claimed: Callable[[], list[Hashable]],
    ) -> None:
        """Refuse a key written after ``tx`` began; tombstone the keys for older snapshots.

        ``claimed()`` (the lock keys) is called only when a key could be refused or a
        tombstone is needed (another transaction of this process is open).
        """
        locks = self._locks
        if locks.may_refuse(tx):
            try:
                for lock_key in claimed():
                    # written by a transaction that committed after this one's snapshot
                    locks.check_not_deleted(tx, lock_key, "key")
            except IntegrityError as error:
                raise ConflictError(
                    f"A concurrent transaction wrote a {table.name} row with the same "
                    f"{', '.join(names)} after this one began; nothing was written. Run the "
                    "unit of work again."
                ) from error
        # once this transaction commits, older snapshots must not trust their look
        locks.mark_deleted_lazily(tx, claimed)

    async def claim_columns(
        self,
        tx: Transaction,
        table: Table,
        names: Sequence[str],
        columns: pa.Table,
        *,
        refuse_taken: bool = True,
    ) -> None:
        """:meth:`claim` for a bulk write's keys, given as Arrow columns (``names``).

        More than ``MANY_KEYS`` keys: the key space is locked once, duplicates are found by
        Arrow's ``group_by`` and taken keys by one join with ``columns`` (no Python tuple per
        key unless a tombstone needs them). Fewer: :meth:`claim` with the keys as tuples.
        """
        count = columns.num_rows
        if count <= MANY_KEYS:
            keys = list(zip(*(columns.column(name).to_pylist() for name in names), strict=True))
            await self.claim(tx, table, names, keys, refuse_taken=refuse_taken)
            return
        if _distinct(columns) < count:
            raise AlreadyExistsError(
                f"Two {table.name} rows of this write have the same {', '.join(names)}: give "
                "each a different value."
            )
        await self._locks.exclusive(tx, ("lake-unique-space", table.name, tuple(names)))
        prefix = ("lake-unique", table.name, tuple(names))

        def claimed() -> list[Hashable]:
            values = zip(*(columns.column(name).to_pylist() for name in names), strict=True)
            return [(*prefix, key) for key in values]

        self._check_and_bury(tx, table, names, claimed)
        if refuse_taken:
            taken = await _taken_in(tx, table, names, columns.select(list(names)))
            if taken is not None:
                raise _already_exists(table, names, taken)


async def taken_error(
    tx: Transaction,
    table: Table,
    names: Sequence[str],
    keys: Sequence[tuple[Any, ...]],
    own_id: uuid.UUID | None = None,
) -> AlreadyExistsError | None:
    """The error for a row (other than ``own_id``) already having one of ``keys``, if any."""
    taken = await _taken(tx, table, names, keys, own_id)
    if taken is None:
        return None
    return _already_exists(table, names, taken)


def _already_exists(table: Table, names: Sequence[str], taken: Any) -> AlreadyExistsError:
    pairs: zip[tuple[str, Any]] = zip(names, taken[1:], strict=True)
    values = ", ".join(f"{name}={value!r}" for name, value in pairs)
    return AlreadyExistsError(
        f"A {table.name} row with the same unique key already exists ({values}): use "
        "a different value, or upsert to update the existing row."
    )


async def _taken(
    tx: Transaction,
    table: Table,
    names: Sequence[str],
    keys: Sequence[tuple[Any, ...]],
    own_id: uuid.UUID | None,
) -> Any:
    """The first row (id, key columns) having one of ``keys``, other than ``own_id``."""
    if len(keys) <= MANY_KEYS:
        columns = [table.c[name] for name in names]
        found = select(table.c.id, *columns).where(tuple_(*columns).in_(list(keys)))
        if own_id is not None:
            found = found.where(table.c.id != own_id)
        return (await tx.execute(found.limit(1))).first()
    # many keys: one join with an Arrow table of them, not thousands of bound parameters
    is_uuid = {name: isinstance(table.c[name].type, Uuid) for name in names}
    arrow = pa.table(
        {
            name: [str(key[i]) if is_uuid[name] else key[i] for key in keys]
            for i, name in enumerate(names)
        }
    )
    return await _taken_in(tx, table, names, arrow)


async def _taken_in(tx: Transaction, table: Table, names: Sequence[str], arrow: pa.Table) -> Any:
    """The first row (id, key columns) whose key is a row of ``arrow`` (one join)."""
    view = f"padb_claim_{next(_views)}"
    # a key column of strings holding UUIDs (made from Python keys) is cast; pa.uuid() is not
    cast = {
        name: isinstance(table.c[name].type, Uuid)
        and pa.types.is_string(arrow.schema.field(name).type)
        for name in names
    }
    match = " AND ".join(
        f't."{name}" = ' + (f'CAST(k."{name}" AS UUID)' if cast[name] else f'k."{name}"')
        for name in names
    )
    sql = (
        f"SELECT t.id, {', '.join(f't.{chr(34)}{name}{chr(34)}' for name in names)} "
        f'FROM "{table.name}" AS t JOIN "{view}" AS k ON {match} LIMIT 1'
    )

    def look(duck: Any) -> Any:
        duck.register(view, arrow)
        try:
            return duck.execute(sql).fetchone()
        finally:
            duck.unregister(view)

    return await tx.run_native(look)


def _distinct(columns: pa.Table) -> int:
    """How many distinct rows ``columns`` has (extension columns, ``pa.uuid()``, as storage)."""
    plain = pa.table(
        {
            name: pa.chunked_array(
                [chunk.storage for chunk in column.chunks], column.type.storage_type
            )
            if isinstance(column.type, pa.BaseExtensionType)
            else column
            for name, column in zip(columns.column_names, columns.columns, strict=True)
        }
    )
    return int(plain.group_by(plain.column_names).aggregate([]).num_rows)


def is_lake_dialect(dialect: Dialect | None) -> bool:
    """Whether statements compiled for ``dialect`` run on a lake (``core/lake/_dialect.py``)."""
    return bool(getattr(dialect, "is_lake", False))


async def insert_rows(tx: Transaction, table: Table, values: list[dict[str, Any]]) -> list[Any]:
    """Insert ``values`` and return the stored rows, in order: ``INSERT ... RETURNING``.

    On a lake, which refuses ``RETURNING``: the column defaults are applied here, the rows
    inserted, and made from their values as a ``SELECT`` would return them
    (:func:`~project_architect_db.repositories._lake_rows.stored_rows`: no read-back).
    """
    # the session's engine says it without a hop (tx.connection() would be one)
    if not is_lake_dialect(getattr(tx.session.bind, "dialect", None)):
        return list(await tx.execute(insert(table).values(values).returning(table)))
    values = [_with_defaults(table, dict(row)) for row in values]
    await tx.execute(insert(table).values(values))
    return stored_rows(table, tx.session.bind.dialect, values)  # type: ignore[union-attr]


def key_filter(table: Table, names: Sequence[str], key: tuple[Any, ...]) -> Any:
    """``WHERE`` clause selecting the row of one natural key."""
    return and_(*(table.c[name] == value for name, value in zip(names, key, strict=True)))
