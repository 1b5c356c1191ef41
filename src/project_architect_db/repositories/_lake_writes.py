"""A repository's ``create`` and ``upsert`` on a lake: no RETURNING, no UNIQUE index.

DuckLake refuses both (docs/architecture.md "DuckLake"), so a written row is made from its
values (:mod:`~project_architect_db.repositories._lake_rows`) and the natural keys a file's
UNIQUE index would hold are claimed first, through the database's
:class:`~project_architect_db.repositories._lake.LakeIntegrity`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from project_architect_db.core.transaction import Transaction
from project_architect_db.repositories._integrity import resolve_parents
from project_architect_db.repositories._lake import (
    insert_rows,
    key_filter,
    taken_error,
    unique_keys,
)
from project_architect_db.repositories._lake_rows import insert_unless_taken
from project_architect_db.repositories._native_create import _with_defaults
from project_architect_db.repositories.changes import ChangeKind

if TYPE_CHECKING:
    from project_architect_db.repositories.base import AsyncRepository

__all__ = ["claim_natural_keys", "create_on_lake", "upsert_on_lake"]


async def claim_natural_keys(
    repository: AsyncRepository[Any, Any, Any, Any],
    tx: Transaction,
    rows: list[dict[str, Any]],
    own_id: Any = None,
) -> None:
    """On a lake, claim the natural keys ``rows`` set (a file's UNIQUE index does this)."""
    lake = repository._context.lake
    names = repository.natural_key
    keys = unique_keys(names, rows)
    if lake is not None and keys:
        await lake.claim(tx, repository._table, names, keys, own_id=own_id)


async def create_on_lake(
    repository: AsyncRepository[Any, Any, Any, Any], tx: Transaction, values: dict[str, Any]
) -> Any:
    """Insert one row on a lake (its keys claimed, a caller's id too) and return it as stored.

    The keys are locked first (every process), then one ``INSERT ... SELECT ... WHERE NOT
    EXISTS`` looks for a taken key and inserts (``_lake_rows.insert_unless_taken``); only a
    refused insert looks again, for the error's key.
    """
    lake = repository._context.lake
    assert lake is not None
    table = repository._table
    full = _with_defaults(table, dict(values))
    names = repository.natural_key
    keys = unique_keys(names, [full])
    claims = [(names, keys)] if keys else []
    if "id" in values:  # an id given by the caller: no primary key holds it
        claims.append((("id",), [(values["id"],)]))
    for claimed_names, claimed in claims:
        await lake.claim(tx, table, claimed_names, claimed, refuse_taken=False)
    matches = [(n, key) for n, claimed in claims for key in claimed]
    row = await insert_unless_taken(tx, table, full, matches, repository._native_inserts)
    if row is None:  # a stored row has one of the keys: say which
        for claimed_names, claimed in claims:
            taken = await taken_error(tx, table, claimed_names, claimed)
            if taken is not None:
                raise taken
        raise AssertionError("unreachable: the insert matched a key the look did not find")
    return row


async def upsert_on_lake(
    repository: AsyncRepository[Any, Any, Any, Any], values: dict[str, Any], key: tuple[str, ...]
) -> Any:
    """``upsert`` on a lake: claim the key, then update the row that has it, or insert it.

    Returns the written row (the caller makes its record).
    """
    context = repository._context
    lake = context.lake
    assert lake is not None
    table = repository._table
    full = _with_defaults(table, dict(values))
    (key_values,) = unique_keys(key, [full])
    async with context.transaction() as tx:
        await resolve_parents(tx, context.locks, repository.model, [values])
        await lake.claim(tx, table, key, [key_values], refuse_taken=False)
        found = select(table.c.id).where(key_filter(table, key, key_values))
        current = (await tx.execute(found)).first()
        if current is None:
            (row,) = await insert_rows(tx, table, [full])
            kind = ChangeKind.CREATED
        else:
            keep = {"id", "created_at", "version", *key}
            changes = {name: value for name, value in values.items() if name not in keep}
            row = await repository._apply_update(tx, current.id, changes, None)
            kind = ChangeKind.UPDATED
        repository._emit(tx, kind, [row])
    return row
