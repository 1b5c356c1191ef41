"""The migrations on a DuckLake lake: the same revisions, without what a lake refuses.

DuckLake refuses indexes and PRIMARY KEY, UNIQUE, CHECK and FOREIGN KEY constraints. The lake's
dialect already leaves table constraints out of ``CREATE TABLE``
(``core/lake/_dialect.py``); here the migration environment makes Alembic's operations that
create or drop an index or a constraint do nothing on a lake, and the schema comparison
(``MigrationManager.check``) ignores them. The revisions stay the one copy, for files and
lakes alike. What those indexes and constraints guarantee on a file is held on a lake by the
repositories' integrity hook (``repositories/_lake.py``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["LAKE_REFUSED_OBJECTS", "is_lake_connection", "leave_out_what_a_lake_refuses"]

#: The schema objects a lake has none of (Alembic's ``include_object`` type names).
LAKE_REFUSED_OBJECTS = frozenset(
    {"index", "unique_constraint", "foreign_key_constraint", "check_constraint"}
)
_REFUSED_OPERATIONS = ("create_index", "drop_index", "add_constraint", "drop_constraint")


def is_lake_connection(connection: Any) -> bool:
    """Whether ``connection`` (a SQLAlchemy connection) is on a DuckLake lake."""
    return bool(getattr(connection.dialect, "is_lake", False))


def _skip(*args: Any, **kwargs: Any) -> None:
    """An index or constraint operation on a lake: nothing to do (see the module text)."""


def leave_out_what_a_lake_refuses(impl: Any) -> None:
    """Make ``impl`` (Alembic's DDL implementation) skip index and constraint operations."""
    for name in _REFUSED_OPERATIONS:
        setattr(impl, name, _skip)
