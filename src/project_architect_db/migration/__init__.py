"""Alembic migrations shipped inside the package, and the manager that runs them.

Revisions live in ``versions/`` (``YYYYMMDD_NNNN_slug.py``); ``env.py`` and ``script.py.mako``
sit beside them. There is no ``alembic.ini``: :class:`MigrationManager` builds the Alembic
configuration in code and runs Alembic through the library's async engine.
``Database.open`` calls :meth:`MigrationManager.ensure_schema`, so a new database gets the
latest schema and an outdated one is refused (or upgraded on request).
"""

from __future__ import annotations

from project_architect_db.migration.manager import (
    SCRIPT_LOCATION,
    VERSIONS_DIRECTORY,
    MigrationManager,
    RevisionInfo,
    SchemaAction,
    SchemaState,
    decide,
    known_revisions,
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
