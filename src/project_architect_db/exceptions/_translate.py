"""The one translation boundary from DuckDB / SQLAlchemy / Pydantic errors to the error tree.

Every public entry point runs inside :func:`translating` (or calls :func:`translate`), so a raw
``duckdb`` or ``sqlalchemy`` exception never reaches a user. ``DUCKDB_ERRORS`` lists every
exception class the ``duckdb`` module defines; a test fails when DuckDB adds one we do not map.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb
import pydantic
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc

from project_architect_db.exceptions import (
    AlreadyExistsError,
    ConflictError,
    DatabaseError,
    DatabaseLockedError,
    IntegrityError,
    InvalidQueryError,
    NotFoundError,
    ProjectArchitectDBError,
    QueryCancelledError,
    ReadOnlyError,
    StatementTimeoutError,
    StorageError,
    TransactionAbortedError,
    TransactionError,
    ValidationError,
)

_PID = re.compile(r"\(PID (\d+)\)")
_LOCK_PATH = re.compile(r'lock on file "([^"]+)"')


def _text(error: BaseException) -> str:
    return str(error).strip().rstrip(".")


def _locked(error: BaseException) -> ProjectArchitectDBError:
    text = _text(error)
    pid_match = _PID.search(text)
    path_match = _LOCK_PATH.search(text)
    pid = int(pid_match.group(1)) if pid_match else None
    path = path_match.group(1) if path_match else None
    holder = f"process {pid}" if pid is not None else "another process"
    return DatabaseLockedError(
        f"The database file {path or ''} is locked by {holder}. DuckDB allows one process to "
        "write a file at a time: stop that process, or open the file with read_only=True once "
        "the writer has closed it (read-only processes can share a file nobody writes).",
        pid=pid,
        path=path,
    )


def _constraint(error: BaseException) -> ProjectArchitectDBError:
    text = _text(error)
    lowered = text.lower()
    if "duplicate key" in lowered or "unique constraint" in lowered:
        return AlreadyExistsError(
            f"A row with the same unique key already exists: {text}. Use a different value, "
            "or upsert to update the existing row."
        )
    if "not null" in lowered or "check constraint" in lowered:
        return ValidationError(f"The row breaks a column rule: {text}.")
    return IntegrityError(f"The write breaks data integrity: {text}.")


def _write_failed(lowered: str) -> bool:
    """Whether DuckDB's message is about writing the file (disk full, size limit, ...)."""
    return any(
        sign in lowered
        for sign in ("could not write", "no space left", "disk full", "file too large")
    )


def _transaction(error: BaseException) -> ProjectArchitectDBError:
    text = _text(error)
    lowered = text.lower()
    if _write_failed(lowered):  # a COMMIT whose WAL write failed: a storage problem
        return _io(error)
    if "conflict" in lowered:
        return ConflictError(
            "Another transaction changed the same row first; nothing of this transaction was "
            f"written. Run the unit of work again ({text})."
        )
    if "constraint violation" in lowered or "duplicate key" in lowered:
        return AlreadyExistsError(
            "A concurrent transaction committed a row with the same unique key first; nothing "
            f"of this transaction was written ({text})."
        )
    if "transaction is aborted" in lowered:
        return TransactionAbortedError(
            "An earlier statement of this transaction failed, so DuckDB aborted it: roll back "
            f"and run the unit of work again ({text})."
        )
    return TransactionError(f"Transaction error: {text}.")


def _io(error: BaseException) -> ProjectArchitectDBError:
    text = _text(error)
    lowered = text.lower()
    if "could not set lock" in lowered or "conflicting lock" in lowered:
        return _locked(error)
    if "not a valid duckdb database" in lowered or "corrupt" in lowered:
        return StorageError(
            f"The file is not a readable DuckDB database: {text}. Point the library at another "
            "path, or restore the file from a backup."
        )
    if "does not exist" in lowered or "no such file" in lowered:
        return StorageError(
            f"The database file does not exist: {text}. Check the path; a read-only open "
            "never creates a file (open it writable once to create it)."
        )
    if (
        "no space left" in lowered
        or "disk full" in lowered
        or "not enough space" in lowered
        or "file too large" in lowered
    ):
        return StorageError(
            f"The disk is full (or the file size limit was reached): {text}. Free space or "
            "move the database; the last committed state is intact."
        )
    if (
        "read-only" in lowered
        or "read only" in lowered
        or "permission denied" in lowered
        or "operation not permitted" in lowered  # EPERM: an immutable file, for example
    ):
        return ReadOnlyError(
            f"The database file cannot be written: {text}. Check file permissions, or open "
            "it with read_only=True."
        )
    return StorageError(f"Storage error: {text}.")


def _invalid_input(error: BaseException) -> ProjectArchitectDBError:
    text = _text(error)
    if "read-only mode" in text or "read-only" in text:
        return ReadOnlyError(
            "The database was opened read-only, so it cannot be written. Open it with "
            f"read_only=False (only one writer process at a time) to change data ({text})."
        )
    return InvalidQueryError(f"DuckDB rejected the input: {text}.")


def _simple(
    cls: type[ProjectArchitectDBError], advice: str
) -> Callable[[BaseException], ProjectArchitectDBError]:
    def build(error: BaseException) -> ProjectArchitectDBError:
        return cls(f"{advice}: {_text(error)}.")

    return build


def _http(error: BaseException) -> ProjectArchitectDBError:
    """A remote file (a lake's data path on S3) refused: say which setting to fix."""
    text = _text(error)
    lowered = text.lower()
    if "nosuchbucket" in lowered:
        return StorageError(
            f"The bucket of the data path does not exist ({text}). Create the bucket, or fix "
            "the data path (data_path= or PADB_DATA_PATH)."
        )
    if "http code 403" in lowered or "forbidden" in lowered:
        return StorageError(
            f"The object store refused the credentials ({text}). Check s3_key_id and s3_secret "
            "(PADB_S3_KEY_ID, PADB_S3_SECRET), s3_region and s3_endpoint, and that the key may "
            "read and write the bucket."
        )
    return StorageError(f"A remote file could not be read or written: {text}.")


_invalid_sql = _simple(InvalidQueryError, "The query is invalid for this database")
_bad_value = _simple(ValidationError, "A value does not fit its column")
_internal_error = _simple(
    DatabaseError, "DuckDB failed internally; close and reopen the database, then retry"
)


def _internal(error: BaseException) -> ProjectArchitectDBError:
    text = _text(error)
    if _write_failed(text.lower()):  # e.g. a checkpoint on a full disk invalidates the instance
        return StorageError(
            f"The database file could not be written (disk full?): {text}. This handle is "
            "unusable now: close it, free space, and open the database again; the last "
            "committed state is intact."
        )
    return _internal_error(error)


_generic = _simple(DatabaseError, "Database error")
_cancelled = _simple(
    QueryCancelledError,
    "The query was interrupted before it finished; nothing it did was committed",
)

#: Set on a DuckDB ``InterruptException`` by ``core/timeouts.py`` when a timeout caused it.
TIMEOUT_ATTRIBUTE = "padb_statement_timeout"


def _interrupted(error: BaseException) -> ProjectArchitectDBError:
    seconds = getattr(error, TIMEOUT_ATTRIBUTE, None)
    if seconds is None:
        return _cancelled(error)
    return StatementTimeoutError(
        f"The statement ran longer than its {seconds:g} s statement timeout and was "
        "interrupted; its transaction was rolled back, so nothing of it was committed (the "
        "connection is usable again). Narrow the query or add an index, or allow more time: "
        "`async with db.statement_timeout(seconds):` around the call, or "
        "Database.open(..., statement_timeout=...) / PADB_STATEMENT_TIMEOUT (0: no limit).",
        timeout=seconds,
    )


#: Every exception class of the ``duckdb`` module and the function that translates it.
DUCKDB_ERRORS: dict[type[BaseException], Callable[[BaseException], ProjectArchitectDBError]] = {
    duckdb.BinderException: _invalid_sql,
    duckdb.CatalogException: _invalid_sql,
    duckdb.ConnectionException: _simple(
        DatabaseError, "The connection is closed; open the database again"
    ),
    duckdb.ConstraintException: _constraint,
    duckdb.ConversionException: _bad_value,
    duckdb.DataError: _bad_value,
    duckdb.DatabaseError: _generic,
    duckdb.DependencyException: _simple(
        IntegrityError, "Other objects depend on this one; remove them first"
    ),
    duckdb.Error: _generic,
    duckdb.FatalException: _internal,
    duckdb.HTTPException: _http,
    duckdb.IOException: _io,
    duckdb.IntegrityError: _constraint,
    duckdb.InternalError: _internal,
    duckdb.InternalException: _internal,
    duckdb.InterruptException: _interrupted,
    duckdb.InvalidInputException: _invalid_input,
    duckdb.InvalidTypeException: _bad_value,
    duckdb.NotImplementedException: _simple(InvalidQueryError, "DuckDB does not support this"),
    duckdb.NotSupportedError: _simple(InvalidQueryError, "DuckDB does not support this"),
    duckdb.OperationalError: _generic,
    duckdb.OutOfMemoryException: _simple(
        DatabaseError, "DuckDB ran out of memory; raise memory_limit or query less at once"
    ),
    duckdb.OutOfRangeException: _bad_value,
    duckdb.ParserException: _invalid_sql,
    duckdb.PermissionException: _simple(
        ReadOnlyError, "DuckDB refused the operation with this database's permissions"
    ),
    duckdb.ProgrammingError: _invalid_sql,
    duckdb.SequenceException: _generic,
    duckdb.SerializationException: _generic,
    duckdb.SyntaxException: _invalid_sql,
    duckdb.TransactionException: _transaction,
    duckdb.TypeMismatchException: _bad_value,
    duckdb.Warning: _generic,
}


def _from_duckdb(error: BaseException) -> ProjectArchitectDBError:
    for cls in type(error).__mro__:
        handler = DUCKDB_ERRORS.get(cls)
        if handler is not None:
            return handler(error)
    return _generic(error)  # pragma: no cover - every duckdb class is in the table


def _from_pydantic(error: pydantic.ValidationError) -> ValidationError:
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or 'input'}: {item['msg']}"
        for item in error.errors()
    ]
    return ValidationError(
        f"Invalid {error.title}: " + "; ".join(problems),
        errors=[
            {"loc": list(item["loc"]), "msg": item["msg"], "type": item["type"]}
            for item in error.errors(include_url=False, include_input=False)
        ],
    )


def _unbindable(error: BaseException) -> bool:
    """DuckDB's Python binding could not convert a parameter (a lone surrogate, for one)."""
    return isinstance(error, UnicodeError) or (
        isinstance(error, RuntimeError) and "Unable to cast Python instance" in str(error)
    )


def _unbindable_error(error: BaseException) -> ValidationError:
    return ValidationError(
        f"A value cannot be passed to DuckDB ({_text(error)[:120]}): text must be valid "
        "Unicode, without lone surrogates such as '\\ud800'."
    )


def translate(error: BaseException) -> BaseException:
    """Return the library error for ``error`` (or ``error`` itself when it is not ours to map).

    Cancellation, ``KeyboardInterrupt`` and errors already in the tree pass through unchanged.
    """
    if isinstance(error, ProjectArchitectDBError | asyncio.CancelledError):
        return error
    if not isinstance(error, Exception):
        return error
    if isinstance(error, sa_exc.StatementError) and error.orig is not None:
        orig = error.orig
        if isinstance(orig, ProjectArchitectDBError):
            return orig
        if isinstance(orig, duckdb.Error | duckdb.Warning):
            return _from_duckdb(orig)
        if _unbindable(orig):
            return _unbindable_error(orig)
        if isinstance(orig, ValueError | TypeError | LookupError):
            # raised while binding a parameter (a type's bind processor rejected a value)
            return ValidationError(f"A value could not be stored: {orig}")
    if isinstance(error, duckdb.Error | duckdb.Warning):
        return _from_duckdb(error)
    if _unbindable(error):
        return _unbindable_error(error)
    if isinstance(error, pydantic.ValidationError):
        return _from_pydantic(error)
    if isinstance(error, sa_exc.NoResultFound | orm_exc.ObjectDeletedError):
        return NotFoundError(f"No row matched: {error}")
    if isinstance(error, orm_exc.StaleDataError):
        return ConflictError(
            f"The row changed or was deleted since it was read; reload it and retry ({error})."
        )
    if isinstance(error, sa_exc.TimeoutError):
        return DatabaseError(
            f"No pooled connection became free in time ({error}); raise pool_size or "
            "hold connections for shorter."
        )
    if isinstance(error, sa_exc.ArgumentError | sa_exc.CompileError | sa_exc.NoSuchColumnError):
        return InvalidQueryError(f"The query is invalid: {error}")
    if isinstance(error, sa_exc.MultipleResultsFound):
        return InvalidQueryError(f"More than one row matched where one was expected: {error}")
    if isinstance(error, sa_exc.PendingRollbackError | sa_exc.ResourceClosedError):
        return TransactionError(f"The transaction can no longer be used: {error}")
    if isinstance(error, sa_exc.SQLAlchemyError):
        return DatabaseError(f"Database error: {error}")
    return error


@contextmanager
def translating() -> Iterator[None]:
    """Translate errors raised inside the block (works around ``await`` too)."""
    try:
        yield
    except BaseException as error:
        mapped = translate(error)
        if mapped is error:
            raise
        raise mapped from error
