"""asyncpg and socket failures of the lake catalog, as library errors that say what to do."""

from __future__ import annotations

import asyncpg

from project_architect_db.core.lake._conninfo import ConnInfo
from project_architect_db.exceptions import (
    ConfigurationError,
    ConflictError,
    DatabaseError,
    ProjectArchitectDBError,
)

__all__ = ["catalog_error", "lock_timeout_error"]

# The catalog answered, and refused who we are or what we asked for: fix the conninfo.
_REFUSALS = (
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidCatalogNameError,
)


def catalog_error(
    error: BaseException, info: ConnInfo, *, during_hold: bool = False
) -> ProjectArchitectDBError:
    """The library error for a failure to reach or use the catalog at ``info``."""
    where = info.describe()
    if during_hold:
        return DatabaseError(
            f"The catalog session holding this unit's locks ended before the unit did "
            f"({where}: {type(error).__name__}: {error}). Its lake commit may have run without "
            "them: check what it guarded (no duplicate key, no sequence gap or twin, no orphan) "
            "before trusting it."
        )
    if isinstance(error, _REFUSALS):
        return ConfigurationError(
            f"The lake's PostgreSQL catalog ({where}) refused the connection: {error}. "
            "Fix the user, password or dbname of the catalog conninfo."
        )
    return DatabaseError(
        f"The lake's PostgreSQL catalog ({where}) cannot be reached or failed: "
        f"{type(error).__name__}: {error}. Check that the server runs and the conninfo's host "
        "and port point at it; locks held by this process were released with its session."
    )


def lock_timeout_error(reason: str, wait: float) -> ConflictError:
    """A unit that waited ``wait`` seconds for its locks: retry it, or wait longer."""
    return ConflictError(
        f"The lake lock wait ran out after {wait:g} s ({reason}). Nothing was written: run the "
        "unit again, or wait longer: hold(lock_timeout=...) or LakeGuard.connect(lock_timeout=...)."
    )
