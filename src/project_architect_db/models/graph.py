"""The logical foreign keys: which column of which table holds the id of which parent.

DuckDB foreign keys cannot serve (no cascades, they freeze indexed columns of the parent, and
deleting children then the parent in one transaction fails), so the schema has none, and the
repositories keep integrity with this graph: they check ``PARENTS[model]`` before an insert and
apply ``CHILDREN[model]`` when a row is deleted. It is read off the models' declared one-to-many
relationships, so it cannot drift from them.

Every row carries the id of each of its ancestors under the ancestor's column name (a message
has ``conversation_id`` *and* ``project_id``). So ``CHILDREN[model]`` lists every row that
points at a ``model`` row, however deep, and a cascade is one statement per entry, in any order.
Those copied ancestor ids are the ``denormalised`` references: the repository takes them from
the direct parent rather than from the caller.

Examples:
    >>> from project_architect_db.models import Document
    >>> [str(ref) for ref in CHILDREN[Document]]
    ['document_versions.document_id -> documents.id']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy.orm import RelationshipDirection

# Importing this module runs the package's __init__ first, which imports every model module,
# so the registry read below is complete.
from project_architect_db.models.base import Base

__all__ = ["CHILDREN", "PARENTS", "REFERENCES", "OnDelete", "Reference"]


class OnDelete(StrEnum):
    """What deleting the parent does to the rows referencing it."""

    CASCADE = "cascade"  # delete them
    SET_NULL = "set_null"  # clear the (nullable) reference


@dataclass(frozen=True, slots=True)
class Reference:
    """``child.<column>`` holds the id of a ``parent`` row (a foreign key the database lacks).

    Attributes:
        child: The referencing model.
        column: The attribute (and column) of ``child`` holding the parent's id.
        parent: The referenced model; the reference is to its ``id``.
        on_delete: ``CASCADE`` for a required reference, ``SET_NULL`` for an optional one.
        denormalised: The id is a copy of the direct parent's own reference (a message's
            ``project_id`` is its conversation's ``project_id``).
    """

    child: type[Base]
    column: str
    parent: type[Base]
    on_delete: OnDelete
    denormalised: bool

    def __str__(self) -> str:
        return f"{self.child.__tablename__}.{self.column} -> {self.parent.__tablename__}.id"


def _read_references() -> tuple[Reference, ...]:
    Base.registry.configure()
    edges: list[tuple[type[Base], str, type[Base], OnDelete]] = []
    for mapper in Base.registry.mappers:
        for rel in mapper.relationships:
            if rel.direction is not RelationshipDirection.ONETOMANY:
                continue
            ((_parent_id, child_column),) = rel.local_remote_pairs
            on_delete = OnDelete.SET_NULL if child_column.nullable else OnDelete.CASCADE
            edges.append((rel.mapper.class_, str(child_column.key), mapper.class_, on_delete))

    def copied_from_direct_parent(child: type[Base], column: str) -> bool:
        return any(
            other_child is child
            and other_column != column
            and other_on_delete is OnDelete.CASCADE
            and column in other_parent.__table__.c
            for other_child, other_column, other_parent, other_on_delete in edges
        )

    references = (
        Reference(child, column, parent, on_delete, copied_from_direct_parent(child, column))
        for child, column, parent, on_delete in edges
    )
    return tuple(sorted(references, key=str))


REFERENCES: tuple[Reference, ...] = _read_references()
"""Every logical foreign key, sorted by ``str(reference)``."""

CHILDREN: Mapping[type[Base], tuple[Reference, ...]] = MappingProxyType(
    {
        mapper.class_: tuple(ref for ref in REFERENCES if ref.parent is mapper.class_)
        for mapper in Base.registry.mappers
    }
)
"""For each model, the references pointing at it: what a delete of one of its rows must touch."""

PARENTS: Mapping[type[Base], tuple[Reference, ...]] = MappingProxyType(
    {
        mapper.class_: tuple(ref for ref in REFERENCES if ref.child is mapper.class_)
        for mapper in Base.registry.mappers
    }
)
"""For each model, the references it holds: the parents an insert must find."""
