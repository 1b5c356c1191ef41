"""The translation boundary: every DuckDB exception class is mapped to the error tree."""

from __future__ import annotations

import asyncio
import inspect

import duckdb
import pydantic
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc

import project_architect_db.exceptions as errors
from project_architect_db.exceptions._translate import DUCKDB_ERRORS, translate, translating


def _duckdb_exception_classes() -> list[type[BaseException]]:
    return [
        value
        for value in vars(duckdb).values()
        if inspect.isclass(value) and issubclass(value, BaseException)
    ]


def test_every_duckdb_exception_class_is_mapped() -> None:
    unmapped = [cls.__name__ for cls in _duckdb_exception_classes() if cls not in DUCKDB_ERRORS]
    assert unmapped == []


@pytest.mark.parametrize("cls", _duckdb_exception_classes(), ids=lambda cls: cls.__name__)
def test_each_duckdb_exception_becomes_a_library_error_with_its_text(
    cls: type[BaseException],
) -> None:
    mapped = translate(cls("something odd happened"))
    assert isinstance(mapped, errors.ProjectArchitectDBError)
    assert "something odd happened" in str(mapped)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            duckdb.IOException(
                'IO Error: Could not set lock on file "/x/a.duckdb": Conflicting lock is held '
                "in /usr/bin/python3 (PID 4242). See also https://duckdb.org"
            ),
            errors.DatabaseLockedError,
        ),
        (duckdb.IOException("IO Error: No space left on device"), errors.StorageError),
        (duckdb.IOException("IO Error: something else"), errors.StorageError),
        (duckdb.IOException("IO Error: Permission denied"), errors.ReadOnlyError),
        (
            duckdb.InvalidInputException(
                'Cannot execute statement of type "INSERT" on database "x" which is attached '
                "in read-only mode!"
            ),
            errors.ReadOnlyError,
        ),
        (duckdb.InvalidInputException("bad input"), errors.InvalidQueryError),
        (duckdb.TransactionException("Conflict on update!"), errors.ConflictError),
        (
            duckdb.TransactionException(
                "Failed to commit: PRIMARY KEY or UNIQUE constraint violation: duplicate key"
            ),
            errors.AlreadyExistsError,
        ),
        (
            duckdb.TransactionException("Current transaction is aborted (please ROLLBACK)"),
            errors.TransactionAbortedError,
        ),
        (duckdb.TransactionException("cannot start a transaction"), errors.TransactionError),
        (duckdb.ConstraintException('Duplicate key "id: 1"'), errors.AlreadyExistsError),
        (duckdb.ConstraintException("NOT NULL constraint failed"), errors.ValidationError),
        (duckdb.ConstraintException("CHECK constraint failed"), errors.ValidationError),
        (duckdb.ConstraintException("foreign key violated"), errors.IntegrityError),
        (duckdb.InterruptException("Interrupted!"), errors.QueryCancelledError),
        (duckdb.CatalogException("Table x does not exist"), errors.InvalidQueryError),
        (duckdb.ConversionException("Could not convert"), errors.ValidationError),
    ],
)
def test_messages_pick_the_specific_error(error: BaseException, expected: type) -> None:
    mapped = translate(error)
    assert type(mapped) is expected


def test_locked_error_carries_pid_and_path() -> None:
    mapped = translate(
        duckdb.IOException(
            'IO Error: Could not set lock on file "/x/a.duckdb": Conflicting lock is held in '
            "/usr/bin/python3 (PID 4242)."
        )
    )
    assert isinstance(mapped, errors.DatabaseLockedError)
    assert (mapped.pid, mapped.path) == (4242, "/x/a.duckdb")


def test_locked_error_without_pid_still_explains() -> None:
    mapped = translate(duckdb.IOException("IO Error: Could not set lock on file"))
    assert isinstance(mapped, errors.DatabaseLockedError)
    assert mapped.pid is None
    assert "another process" in str(mapped)


def test_sqlalchemy_wrapped_duckdb_errors_are_unwrapped() -> None:
    wrapped = sa_exc.IntegrityError("INSERT ...", {}, duckdb.ConstraintException("Duplicate key"))
    assert isinstance(translate(wrapped), errors.AlreadyExistsError)


def test_a_library_error_wrapped_by_sqlalchemy_is_returned_as_is() -> None:
    ours = errors.TransactionAbortedError("aborted")
    wrapped = sa_exc.StatementError("msg", "COMMIT", {}, ours)
    wrapped.orig = ours
    assert translate(wrapped) is ours


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sa_exc.NoResultFound("none"), errors.NotFoundError),
        (orm_exc.StaleDataError("stale"), errors.ConflictError),
        (sa_exc.TimeoutError("pool"), errors.DatabaseError),
        (sa_exc.ArgumentError("bad"), errors.InvalidQueryError),
        (sa_exc.MultipleResultsFound("many"), errors.InvalidQueryError),
        (sa_exc.PendingRollbackError("pending"), errors.TransactionError),
        (sa_exc.InvalidRequestError("other"), errors.DatabaseError),
    ],
)
def test_sqlalchemy_errors_are_translated(error: Exception, expected: type) -> None:
    assert type(translate(error)) is expected


def test_pydantic_errors_become_validation_errors_listing_each_problem() -> None:
    class Model(pydantic.BaseModel):
        name: str
        size: int

    with pytest.raises(pydantic.ValidationError) as info:
        Model(name=1, size="x")  # type: ignore[arg-type]
    mapped = translate(info.value)
    assert isinstance(mapped, errors.ValidationError)
    assert [problem["loc"] for problem in mapped.errors] == [["name"], ["size"]]
    assert "name:" in str(mapped)
    assert "size:" in str(mapped)


@pytest.mark.parametrize(
    "error", [asyncio.CancelledError(), KeyboardInterrupt(), ValueError("mine")]
)
def test_cancellation_interrupts_and_foreign_errors_pass_through(error: BaseException) -> None:
    assert translate(error) is error


def test_translating_reraises_with_the_original_as_cause() -> None:
    with pytest.raises(errors.ConflictError) as info, translating():
        raise duckdb.TransactionException("Conflict on update!")
    assert isinstance(info.value.__cause__, duckdb.TransactionException)


def test_translating_leaves_foreign_errors_alone() -> None:
    with pytest.raises(ZeroDivisionError), translating():
        _ = 1 / 0


def test_every_error_is_a_project_architect_db_error_with_detail() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.ProjectArchitectDBError)
    error = errors.ConflictError("try again")
    assert error.detail == "try again"
    assert error.retryable
    assert not errors.NotFoundError("x").retryable
    assert isinstance(errors.InvalidQueryError("x"), ValueError)
    assert isinstance(errors.NotFoundError("x"), LookupError)


def test_a_bind_processing_error_becomes_a_validation_error() -> None:
    wrapped = sa_exc.StatementError("msg", "INSERT", {}, ValueError("naive datetime"))
    mapped = translate(wrapped)
    assert isinstance(mapped, errors.ValidationError)
    assert "naive datetime" in str(mapped)


def test_a_statement_error_with_a_foreign_cause_is_a_database_error() -> None:
    wrapped = sa_exc.StatementError("msg", "INSERT", {}, RuntimeError("odd"))
    assert type(translate(wrapped)) is errors.DatabaseError
