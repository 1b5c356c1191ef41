"""What a database holds, its revisions, and what opening it needs (:func:`decide`)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection

from project_architect_db.exceptions import MigrationError, SchemaOutdatedError

VERSION_TABLE = "alembic_version"

UPGRADE_COMMAND = "project-architect-db migrate upgrade --database {database}"
LIBRARY_UPGRADE = "pip install -U project-architect-db"


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """One revision of the migration history.

    Attributes:
        revision: The revision id (``"0001"``).
        down_revision: The revision(s) it follows; ``None`` for the first.
        message: The first line of the revision's docstring.
        is_current: Whether the database is at this revision.
        is_head: Whether it is the latest revision.
        path: The revision file.
    """

    revision: str
    down_revision: str | tuple[str, ...] | None
    message: str
    is_current: bool
    is_head: bool
    path: Path


@dataclass(frozen=True, slots=True)
class SchemaState:
    """What a database holds, as far as migrations are concerned.

    Attributes:
        tables: Tables and views of the default schema, ``alembic_version`` excluded.
        versions: The rows of ``alembic_version``; ``None`` when that table does not exist.
        read_only: Whether the database was opened read-only.
    """

    tables: frozenset[str]
    versions: tuple[str, ...] | None
    read_only: bool


class SchemaAction(enum.Enum):
    """What :meth:`MigrationManager.ensure_schema` does to a database."""

    NOTHING = "nothing"  # at head
    CREATE = "create"  # empty: build the schema at head
    UPGRADE = "upgrade"  # behind, and the caller asked to upgrade


def refuse_unknown(
    versions: Sequence[str] | None, *, head: str, known: Callable[[str], bool], database: str
) -> None:
    """Raise if the database is at a revision this code's history does not hold.

    Raises:
        SchemaOutdatedError: A newer library migrated it (or another application's Alembic).
    """
    unknown = [version for version in versions or () if not known(version)]
    if unknown:
        current = versions[0] if versions and len(versions) == 1 else None
        raise SchemaOutdatedError(
            f"The database {database} is at schema revision {', '.join(unknown)}, which this "
            f"version of project-architect-db does not know (its latest is {head}): a newer "
            f"version of the library migrated it. Upgrade the library (`{LIBRARY_UPGRADE}`) to "
            "open it. (If the revision belongs to another application's Alembic history, this "
            "file is not a project-architect-db database.)",
            current=current or unknown[0],
            head=head,
        )


def decide(
    state: SchemaState,
    *,
    head: str,
    known: Callable[[str], bool],
    upgrade: bool,
    database: str,
) -> SchemaAction:
    """Decide what opening ``state`` needs, or raise why it cannot be opened.

    Args:
        state: What the database holds.
        head: The latest revision of this code.
        known: Whether a revision id belongs to this code's history.
        upgrade: Whether the caller allows migrating an outdated schema.
        database: The database path, for messages.

    Returns:
        ``NOTHING`` at head, ``CREATE`` for an empty database, ``UPGRADE`` for an outdated one
        when ``upgrade`` is true.

    Raises:
        SchemaOutdatedError: The schema is behind (without ``upgrade``, or read-only), or at a
            revision this code does not know (a newer library migrated it).
        MigrationError: Tables exist but no ``alembic_version``: not this library's database.
    """
    versions = state.versions
    if versions is None and state.tables:
        shown = ", ".join(sorted(state.tables)[:5]) + (", ..." if len(state.tables) > 5 else "")
        raise MigrationError(
            f"The database {database} already holds tables ({shown}) but no {VERSION_TABLE} "
            "table, so project-architect-db did not create it and cannot tell which schema it "
            "has. Open a new file for the library. If the file does hold this library's schema "
            "(its version table was lost), mark its revision with `project-architect-db "
            f"migrate stamp <revision> --database {database}` and open it again."
        )
    current = versions[0] if versions and len(versions) == 1 else None
    if versions and set(versions) == {head}:
        return SchemaAction.NOTHING
    refuse_unknown(versions, head=head, known=known, database=database)
    empty = not versions and not state.tables
    if state.read_only:
        if empty:
            detail = (
                "has no schema yet, and it was opened read-only, so the schema cannot be "
                "created. Open it writable once (read_only=False) to create it"
            )
        else:
            detail = (
                f"is at schema revision {current or 'base'}, behind this code's {head}, and it "
                "was opened read-only, so it cannot be migrated. Open it writable once to "
                "migrate it (`Database.open(..., upgrade=True)`, or run "
                f"`{UPGRADE_COMMAND.format(database=database)}`)"
            )
        raise SchemaOutdatedError(
            f"The database {database} {detail}; read-only opens work after that.",
            current=current,
            head=head,
        )
    if empty:
        return SchemaAction.CREATE
    if upgrade:
        return SchemaAction.UPGRADE
    raise SchemaOutdatedError(
        f"The database {database} is at schema revision {current or 'base'}, but this version "
        f"of project-architect-db needs revision {head}. Back up the file, then run "
        f"`{UPGRADE_COMMAND.format(database=database)}`, or open it with "
        "`Database.open(..., upgrade=True)`.",
        current=current,
        head=head,
    )


def _read_state(connection: Connection) -> SchemaState:
    read_only = connection.exec_driver_sql(
        "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).scalar()
    names = connection.exec_driver_sql(
        "SELECT table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name = current_schema() "
        "UNION ALL SELECT view_name FROM duckdb_views() "
        "WHERE NOT internal AND database_name = current_database() "
        "AND schema_name = current_schema()"
    ).scalars()
    tables = frozenset(names)
    versions: tuple[str, ...] | None = None
    if VERSION_TABLE in tables:
        rows = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalars()
        versions = tuple(sorted(rows))
    return SchemaState(
        tables=tables - {VERSION_TABLE}, versions=versions, read_only=bool(read_only)
    )
