"""Moved to :mod:`project_architect_db.datagen.ids`; these names stay importable from here."""

from __future__ import annotations

from project_architect_db.datagen.ids import (
    SeededUUID7,
    uuid7_array,
    uuid7_from,
    uuid7_halves,
    uuid_array,
)

__all__ = ["SeededUUID7", "uuid7_array", "uuid7_from", "uuid7_halves", "uuid_array"]
