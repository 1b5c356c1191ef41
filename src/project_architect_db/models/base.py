"""The declarative base, its naming convention, and the mixins every table shares.

Column conventions, applied through ``Base.type_annotation_map`` so no model can forget them:

* ``Mapped[datetime]`` is :class:`~project_architect_db.models.types.UtcDateTime` (naive UTC
  ``TIMESTAMP`` in DuckDB, aware UTC in Python);
* ``Mapped[dict[str, Any]]`` is ``JSON`` (Python ``None`` becomes SQL ``NULL``, not JSON ``null``);
* ``Mapped[list[str]]`` is a DuckDB ``VARCHAR[]`` list;
* ``Mapped[uuid.UUID]`` is DuckDB's native 16-byte ``UUID``.

There are no ``ForeignKey`` s: see :mod:`project_architect_db.models.graph` and ``docs/schema.md``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import ARRAY, JSON, CheckConstraint, Enum, MetaData, String, column
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from project_architect_db.models.ids import uuid7
from project_architect_db.models.types import UtcDateTime, utc_now

if TYPE_CHECKING:
    from sqlalchemy.engine.default import DefaultExecutionContext
    from sqlalchemy.orm import Relationship

__all__ = [
    "singular",
    "NAMING_CONVENTION",
    "Base",
    "CreatedAt",
    "HasMetadata",
    "Timestamps",
    "UUIDPrimaryKey",
    "Versioned",
    "enum_type",
    "many_to_one",
    "non_negative",
    "one_to_many",
]

# DuckDB ignores the names in ``CONSTRAINT name ...`` and generates PostgreSQL-style ones
# (``<table>_<columns>_pkey`` / ``_key`` / ``_check``). Using its scheme means reflection (Alembic
# autogenerate, ``alembic check``) reports exactly the names the metadata holds. Index names are
# kept by DuckDB, so they get the usual ``ix_`` prefix.
NAMING_CONVENTION: dict[str, str] = {
    "pk": "%(table_name)s_%(column_0_N_name)s_pkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(column_0_N_name)s_check",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
}


class Base(AsyncAttrs, DeclarativeBase):
    """Declarative base of every project-architect-db table.

    ``AsyncAttrs`` lets async code load a relationship explicitly:
    ``await project.awaitable_attrs.conversations``.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(none_as_null=True),
        list[str]: ARRAY(String()),
    }


def singular(table_name: str) -> str:
    """What one row of ``table_name`` is called in messages: ``repositories`` -> ``repository``."""
    if table_name.endswith("ies"):
        return table_name[:-3] + "y"
    return table_name.removesuffix("s")


def enum_type(enum_class: type[StrEnum]) -> Enum:
    """Return a ``VARCHAR`` column type limited to ``enum_class``'s values by a ``CHECK``.

    Native DuckDB ``ENUM`` types would need ``ALTER TYPE`` (unsupported) to gain a member; a
    ``CHECK`` is rebuilt with the table by a batch migration like any other constraint.
    """
    return Enum(
        enum_class,
        name=None,  # None lets the "ck" naming convention name the CHECK
        native_enum=False,
        create_constraint=True,
        values_callable=lambda members: [member.value for member in members],
        # DuckDB does not enforce VARCHAR lengths; a fixed one keeps the DDL stable as members
        # are added.
        length=32,
        validate_strings=True,
    )


def non_negative(*names: str) -> tuple[CheckConstraint, ...]:
    """Return one ``CHECK (<name> >= 0)`` per column, for ``__table_args__``."""
    return tuple(CheckConstraint(column(name) >= 0) for name in names)


def _join(child: str, child_column: str, parent: str) -> str:
    return f"foreign({child}.{child_column}) == {parent}.id"


def one_to_many(
    parent: str, child: str, child_column: str, *, back_populates: str, order_by: str = "id"
) -> Relationship[Any]:
    """Return the read-only collection of ``child`` rows whose ``child_column`` is a parent's id.

    Relationships are ``viewonly``: they navigate and join, but never write. Which rows exist,
    and what a delete removes, is decided by the repositories (see ``docs/schema.md``).
    """
    return relationship(
        child,
        primaryjoin=_join(child, child_column, parent),
        viewonly=True,
        back_populates=back_populates,
        order_by=f"{child}.{order_by}",
    )


def many_to_one(
    child: str, child_column: str, parent: str, *, back_populates: str
) -> Relationship[Any]:
    """Return the read-only reference from a ``child`` row to the parent its column points at."""
    return relationship(
        parent,
        primaryjoin=_join(child, child_column, parent),
        viewonly=True,
        back_populates=back_populates,
    )


class UUIDPrimaryKey:
    """``id``: a UUIDv7 primary key, assigned when the object is constructed.

    Assigning it in ``__init__`` (not at flush) lets callers link new rows by id before anything
    is flushed; Core inserts without an ``id`` get one from the column default.
    """

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7, sort_order=-100)

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("id") is None:
            kwargs["id"] = uuid7()
        super().__init__(**kwargs)


class CreatedAt:
    """``created_at``: when the row was inserted (set in Python, UTC)."""

    created_at: Mapped[datetime] = mapped_column(default=utc_now, sort_order=90)


def _same_as_created_at(context: DefaultExecutionContext) -> Any:
    # A new row has not been updated yet: both stamps carry one instant. (SQLAlchemy leaves
    # get_current_parameters unannotated.)
    parameters = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return parameters["created_at"]


class Timestamps(CreatedAt):
    """``created_at`` and ``updated_at`` (``updated_at`` refreshed by every ``UPDATE``)."""

    updated_at: Mapped[datetime] = mapped_column(
        default=_same_as_created_at, onupdate=utc_now, sort_order=91
    )


class Versioned:
    """``version``: starts at 1 and grows by 1 per update, for optimistic locking.

    It is the mapper's ``version_id_col``, so an ORM flush that finds another writer's version
    raises ``StaleDataError``; repositories do the same check with
    ``UPDATE ... WHERE id = :id AND version = :expected``.
    """

    version: Mapped[int] = mapped_column(default=1, sort_order=92)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


class HasMetadata:
    """``metadata_``: free-form JSON, column ``metadata``.

    The attribute cannot be called ``metadata`` (declarative reserves it for the ``MetaData``);
    schemas use the same attribute name and accept and emit ``metadata`` as its alias.
    """

    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", key="metadata_", default=dict, sort_order=80
    )
