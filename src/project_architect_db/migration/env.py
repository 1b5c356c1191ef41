"""Alembic environment of project-architect-db, run by :class:`MigrationManager`.

It is never run by the ``alembic`` command: the manager builds the Alembic ``Config`` in code
and hands over an open connection, so this file neither reads an ``alembic.ini`` nor creates an
engine. The connection is the synchronous face of an ``AsyncConnection`` (the manager runs
Alembic inside ``AsyncConnection.run_sync``), so migrations go through the library's async
driver and work the same for a file and for ``:memory:``.

The manager has already begun the transaction on that connection and commits it (or rolls it
back) itself: Alembic sees an external transaction, so every upgrade or downgrade, however many
revisions it runs, is one DuckDB transaction. DuckDB's DDL is transactional, so a failure
anywhere leaves the database exactly as it was.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb_sqlalchemy.alembic_impl  # noqa: F401 - registers Alembic's "duckdb" implementation
from alembic import context
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column
from sqlalchemy.types import TypeEngine

from project_architect_db.exceptions import MigrationError
from project_architect_db.migration._lake import (
    LAKE_REFUSED_OBJECTS,
    is_lake_connection,
    leave_out_what_a_lake_refuses,
)
from project_architect_db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise MigrationError(
        "project-architect-db migrations run through MigrationManager (or the "
        "`project-architect-db migrate` command), which passes an open connection; "
        "offline SQL generation is not supported."
    )
target_metadata = config.attributes.get("target_metadata", Base.metadata)
on_lake = is_lake_connection(connection)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object | None
) -> bool:
    """Leave alone tables the models do not know (an application may keep its own).

    On a lake, indexes and constraints are left out too: it has none (``migration/_lake.py``).
    """
    if on_lake and type_ in LAKE_REFUSED_OBJECTS:
        return False
    return not (type_ == "table" and reflected and compare_to is None)


# DuckDB has one string type: VARCHAR, TEXT and STRING are aliases, and lengths are not kept.
_ONE_STRING_TYPE = re.compile(r"(VARCHAR|TEXT|STRING|CHAR|BPCHAR|CLOB)(\(\d+\))?", re.IGNORECASE)


def compare_type(
    migration: MigrationContext,
    inspected_column: Column[Any],
    metadata_column: Column[Any],
    inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """Alembic's type comparison, except that DuckDB's string spellings count as one type.

    Without this, every ``Text`` column would be reported as changed: DuckDB reflects it as
    ``VARCHAR``. ``None`` defers to the default comparison (and the DuckDB implementation's).
    """
    compiler = migration.dialect.type_compiler_instance
    spellings = (compiler.process(inspected_type), compiler.process(metadata_type))
    if all(_ONE_STRING_TYPE.fullmatch(spelling) for spelling in spellings):
        return False
    return None


def compare_server_default(
    migration: MigrationContext,
    inspected_column: Column[Any],
    metadata_column: Column[Any],
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic's default comparison, except that a lake reports "no default" as ``NULL``."""
    if on_lake and rendered_metadata_default is None and inspected_default in (None, "NULL"):
        return False
    return None


context.configure(
    connection=connection,
    target_metadata=target_metadata,
    # DuckDB cannot ALTER much (no constraint changes, no ALTER of indexed columns):
    # autogenerate writes batch operations, which can rebuild a table when needed.
    render_as_batch=True,
    compare_type=compare_type,
    compare_server_default=compare_server_default,
    include_object=include_object,
    transactional_ddl=True,
    transaction_per_migration=False,
)

if on_lake:
    leave_out_what_a_lake_refuses(context.get_context().impl)

with context.begin_transaction():
    context.run_migrations()
