"""Running the package's Alembic migrations from code, through the async engine.

Alembic is synchronous. Every operation here checks out one connection of the library's
``AsyncEngine`` and runs Alembic inside ``AsyncConnection.run_sync``, with that connection's
synchronous face handed to ``env.py`` as ``config.attributes["connection"]``. Each statement
still goes through the async driver's worker thread, so the event loop never blocks, and
``:memory:`` databases work (a second engine would see a different, empty database).

Upgrades and downgrades run in **one transaction** that this module begins and commits: Alembic
sees an external transaction and adds none of its own. DuckDB's DDL is transactional, so a
failure in any revision leaves the schema, the data and ``alembic_version`` as they were.
"""

from __future__ import annotations

from project_architect_db.migration.manager._manager import MigrationManager
from project_architect_db.migration.manager._scripts import FILE_TEMPLATE as FILE_TEMPLATE
from project_architect_db.migration.manager._scripts import (
    SCRIPT_LOCATION,
    VERSIONS_DIRECTORY,
    known_revisions,
)
from project_architect_db.migration.manager._state import LIBRARY_UPGRADE as LIBRARY_UPGRADE
from project_architect_db.migration.manager._state import UPGRADE_COMMAND as UPGRADE_COMMAND
from project_architect_db.migration.manager._state import VERSION_TABLE as VERSION_TABLE
from project_architect_db.migration.manager._state import (
    RevisionInfo,
    SchemaAction,
    SchemaState,
    decide,
)

__all__ = [
    "SCRIPT_LOCATION",
    "VERSIONS_DIRECTORY",
    "MigrationManager",
    "RevisionInfo",
    "SchemaAction",
    "SchemaState",
    "decide",
    "known_revisions",
]
