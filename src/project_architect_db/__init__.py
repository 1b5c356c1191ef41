"""project-architect-db: an async-first embeddable database library on DuckDB.

Importing the package is cheap: heavy members (the engine, SQLAlchemy, DuckDB) load on first
use, so the CLI starts fast and the pytest plugin costs nothing until a fixture is used.

Examples:
    >>> import project_architect_db as padb
    >>> async def main() -> None:
    ...     async with padb.Database.open(":memory:") as db:
    ...         async with db.transaction() as tx:
    ...             await tx.execute(padb.sql("SELECT 1"))
    >>> padb.run(main())
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from project_architect_db.exceptions import (
    AlreadyExistsError,
    AsyncUsageError,
    ConfigurationError,
    ConflictError,
    DatabaseError,
    DatabaseLockedError,
    DatabaseNotOpenError,
    ExtensionError,
    IntegrityError,
    InvalidQueryError,
    MigrationError,
    NotFoundError,
    ProjectArchitectDBError,
    QueryCancelledError,
    ReadOnlyError,
    RunningLoopError,
    SchemaOutdatedError,
    StatementTimeoutError,
    StorageError,
    TransactionAbortedError,
    TransactionError,
    ValidationError,
)

if TYPE_CHECKING:
    from sqlalchemy import text as sql

    from project_architect_db._runner import run
    from project_architect_db.core.settings import Settings
    from project_architect_db.core.transaction import Transaction
    from project_architect_db.database import Database
    from project_architect_db.repositories.changes import Change, ChangeKind, Gap, Subscription

__version__ = "0.1.0"

#: Lazily imported members: public name -> (module, attribute).
_LAZY: dict[str, tuple[str, str]] = {
    "Change": ("project_architect_db.repositories.changes", "Change"),
    "ChangeKind": ("project_architect_db.repositories.changes", "ChangeKind"),
    "Gap": ("project_architect_db.repositories.changes", "Gap"),
    "Subscription": ("project_architect_db.repositories.changes", "Subscription"),
    "Database": ("project_architect_db.database", "Database"),
    "Settings": ("project_architect_db.core.settings", "Settings"),
    "Transaction": ("project_architect_db.core.transaction", "Transaction"),
    "run": ("project_architect_db._runner", "run"),
    "sql": ("sqlalchemy", "text"),
}

__all__ = [
    "AlreadyExistsError",
    "AsyncUsageError",
    "Change",
    "ChangeKind",
    "ConfigurationError",
    "ConflictError",
    "Database",
    "DatabaseError",
    "DatabaseLockedError",
    "DatabaseNotOpenError",
    "ExtensionError",
    "Gap",
    "IntegrityError",
    "InvalidQueryError",
    "MigrationError",
    "NotFoundError",
    "ProjectArchitectDBError",
    "QueryCancelledError",
    "ReadOnlyError",
    "RunningLoopError",
    "SchemaOutdatedError",
    "Settings",
    "StatementTimeoutError",
    "StorageError",
    "Subscription",
    "Transaction",
    "TransactionAbortedError",
    "TransactionError",
    "ValidationError",
    "__version__",
    "run",
    "sql",
]


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'project_architect_db' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
