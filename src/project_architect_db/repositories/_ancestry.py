"""Which ancestors a row has, remembered so a native ``create`` can lock them before its hop.

A native unit of work takes its integrity locks (``core/locks.py``) before its one worker hop,
so ``create`` must know the new row's ancestors (a message's conversation *and* project) before
it reads anything. A row's ancestors never change: no ``*Update`` schema carries a parent id,
and a code repository's upsert refuses to move it to another project. So their ids, once seen,
can be remembered: :class:`Ancestry` maps a row id to the ids of its required parents, filled
by native creates and by the lookups made on first sight of a parent. It is only a hint: the
unit re-reads the parent in its own snapshot, and a parent that is gone or has other ancestors
fails or retries the unit (see ``_native_create.py``). Bounded; the oldest entries go first.
"""

from __future__ import annotations

import uuid
from typing import Any

from project_architect_db.models.base import Base
from project_architect_db.models.graph import PARENTS, OnDelete

__all__ = ["Ancestry", "ancestor_columns"]


def ancestor_columns(model: type[Base]) -> tuple[str, ...]:
    """The columns of ``model`` holding its required parents' ids (fixed for a row's life)."""
    return tuple(ref.column for ref in PARENTS.get(model, ()) if ref.on_delete is OnDelete.CASCADE)


class Ancestry:
    """Row id -> ``{ancestor column: id}``, for at most ``size`` rows (oldest dropped first)."""

    __slots__ = ("_rows", "size")

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._rows: dict[uuid.UUID, dict[str, Any]] = {}

    def get(self, row_id: uuid.UUID) -> dict[str, Any] | None:
        """The ancestors remembered for ``row_id``, or ``None``."""
        return self._rows.get(row_id)

    def remember(self, row_id: uuid.UUID, ancestors: dict[str, Any]) -> None:
        """Remember ``row_id``'s ancestors (a committed row's, or read from the database)."""
        rows = self._rows
        if row_id not in rows and len(rows) >= self.size:
            del rows[next(iter(rows))]
        rows[row_id] = ancestors

    def forget(self, row_id: uuid.UUID) -> None:
        """Drop ``row_id`` (deleted, or found with other ancestors than remembered)."""
        self._rows.pop(row_id, None)

    def __len__(self) -> int:
        return len(self._rows)
