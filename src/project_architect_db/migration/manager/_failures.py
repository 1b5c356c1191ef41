"""Failures of a migration step, reported as the library's errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from project_architect_db.exceptions import (
    ConflictError,
    DatabaseLockedError,
    MigrationError,
    ProjectArchitectDBError,
    QueryCancelledError,
    ReadOnlyError,
    StorageError,
)
from project_architect_db.exceptions._translate import translate

# Errors that say something about the file or the process, not about the migration: they reach
# the caller as they are (a locked file is a DatabaseLockedError whether or not we migrate).
_PASS_THROUGH = (
    MigrationError,
    DatabaseLockedError,
    ReadOnlyError,
    StorageError,
    QueryCancelledError,
    ConflictError,
)


@contextlib.contextmanager
def _errors(action: str) -> Iterator[None]:
    """Turn every failure into the library's errors, naming what was being done."""
    try:
        yield
    except ProjectArchitectDBError as error:
        if isinstance(error, _PASS_THROUGH):
            raise
        raise MigrationError(
            f"{action} failed; the database was left as it was: {error}"
        ) from error
    except Exception as error:
        mapped = translate(error)
        if isinstance(mapped, _PASS_THROUGH):
            raise mapped from error
        detail = str(mapped) if mapped is not error else f"{type(error).__name__}: {error}"
        raise MigrationError(
            f"{action} failed; the database was left as it was: {detail}"
        ) from error
