"""Which keys a unit of work takes on a lake: the policy of docs/architecture.md as functions.

Core knows no model: the repositories pass table names, ids, ancestors and unique values. Each
function returns the :class:`Keys` of one kind of write; :meth:`Keys.merge` joins the keys of a
unit that makes several writes, so the unit still takes one hold.

Two layers of keys. Row keys hold the invariants (a parent not deleted under its new child, a
unique value claimed once, one ``max + 1`` at a time, a version checked and written by one
unit). Table keys are for DuckLake: it refuses the commit of a transaction that deleted or
updated rows of a table into which (or from which) another transaction inserted (or deleted)
since its snapshot, whatever the rows. So inserts share their table's key and updates and
deletes take it exclusive: DuckLake's aborts become waits.

| write                    | exclusive                                | shared                     |
| ------------------------ | ---------------------------------------- | -------------------------- |
| insert a row             | each unique value; the parent's          | the table; the parent and  |
|                          | ``#sequence`` if it numbers children     | every ancestor             |
| update a row             | the table; the row's ``#version``; old   | the row                    |
|                          | and new unique values it changes         |                            |
| delete a row, cascading  | the row; its table and every table the   | every ancestor             |
|                          | cascade deletes from                     |                            |
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Keys",
    "delete_keys",
    "insert_keys",
    "row_key",
    "table_key",
    "unique_key",
    "update_keys",
]

Ref = tuple[str, object]
"""A row: its table name and its id."""

Unique = tuple[str, Sequence[str], Sequence[object]]
"""A unique value: its table, the columns of the unique key, and their values."""


def row_key(table: str, row_id: object) -> str:
    """The key of one row, ``projects:<id>``: exclusive to delete it, shared to depend on it."""
    return f"{table}:{row_id}"


def table_key(table: str) -> str:
    """The key of a table's writers: shared by inserts, exclusive for updates and deletes."""
    return f"table:{table}"


def unique_key(table: str, columns: Sequence[str], values: Sequence[object]) -> str:
    """The key of one unique value (``projects(slug):["demo"]``), whether a row has it or not."""
    return f"{table}({','.join(columns)}):{json.dumps([str(value) for value in values])}"


@dataclass(frozen=True, slots=True)
class Keys:
    """The keys of one unit of work, as ``guard.hold(exclusive=..., shared=...)`` takes them."""

    exclusive: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()

    def merge(self, *others: Keys) -> Keys:
        """The keys of a unit that makes this write and ``others``."""
        exclusive = list(self.exclusive)
        shared = list(self.shared)
        for other in others:
            exclusive.extend(other.exclusive)
            shared.extend(other.shared)
        return Keys(tuple(dict.fromkeys(exclusive)), tuple(dict.fromkeys(shared)))


def insert_keys(
    table: str,
    *,
    ancestors: Iterable[Ref] = (),
    unique: Iterable[Unique] = (),
    numbered_under: Ref | None = None,
) -> Keys:
    """An insert into ``table``: no delete of its parents, no twin of its unique values.

    Args:
        table: The table the row goes into.
        ancestors: The direct parent and every ancestor (a message: its conversation and
            project). Shared: inserts under one parent run side by side; its delete waits.
        unique: Each unique value the row takes (a slug; a document's project and path).
        numbered_under: The parent whose children are numbered ``max + 1`` (a message's
            conversation): one insert at a time per parent, so the sequence has no gap or twin.
    """
    exclusive = [unique_key(*value) for value in unique]
    if numbered_under is not None:
        exclusive.append(row_key(*numbered_under) + "#sequence")
    shared = [table_key(table), *(row_key(*ref) for ref in ancestors)]
    return Keys(tuple(exclusive), tuple(shared))


def update_keys(table: str, row_id: object, *, unique_changes: Iterable[Unique] = ()) -> Keys:
    """An update: one at a time per row (check the version, then write); the row's delete waits.

    ``unique_changes`` lists the old and the new value of every unique key the update changes.
    """
    exclusive = [table_key(table), row_key(table, row_id) + "#version"]
    exclusive.extend(unique_key(*value) for value in unique_changes)
    return Keys(tuple(exclusive), (row_key(table, row_id),))


def delete_keys(
    table: str,
    row_id: object,
    *,
    ancestors: Iterable[Ref] = (),
    cascades_to: Iterable[str] = (),
) -> Keys:
    """A delete, cascading into the tables ``cascades_to``: no insert under it runs meanwhile."""
    exclusive = [row_key(table, row_id), table_key(table)]
    exclusive.extend(table_key(child) for child in cascades_to)
    return Keys(tuple(exclusive), tuple(row_key(*ref) for ref in ancestors))
