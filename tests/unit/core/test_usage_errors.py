"""Async APIs used from synchronous code raise errors that show the async form."""

from __future__ import annotations

import asyncio
import inspect

import pytest

import project_architect_db as padb
from project_architect_db import AsyncUsageError, ProjectArchitectDBError, RunningLoopError
from project_architect_db.core.session import Session
from project_architect_db.core.transaction import TransactionScope


def test_a_plain_with_on_database_open_says_to_use_async_with_and_run() -> None:
    with pytest.raises(AsyncUsageError) as info:
        with padb.Database.open(":memory:"):  # type: ignore[attr-defined]
            pass
    error = info.value
    assert isinstance(error, TypeError)
    assert isinstance(error, ProjectArchitectDBError)
    assert "async with padb.Database.open(...) as db" in str(error)
    assert "padb.run(main())" in str(error)


def test_database_exit_without_enter_raises_the_same_error() -> None:
    with pytest.raises(AsyncUsageError, match=r"async with padb\.Database\.open"):
        padb.Database.open(":memory:").__exit__(None, None, None)


def test_a_plain_with_on_a_transaction_says_async_with() -> None:
    scope = TransactionScope(lambda: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(AsyncUsageError, match=r"async with db\.transaction\(\) as tx"):
        with scope:  # type: ignore[attr-defined]
            pass
    with pytest.raises(AsyncUsageError):
        scope.__exit__(None, None, None)


def test_a_plain_with_on_a_session_says_async_with() -> None:
    session = Session()
    with pytest.raises(AsyncUsageError, match=r"async with db\.session\(\) as session"):
        with session:  # type: ignore[attr-defined]
            pass
    with pytest.raises(AsyncUsageError):
        session.__exit__(None, None, None)


def test_run_outside_a_loop_runs_the_coroutine() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert padb.run(answer()) == 42


async def test_run_inside_a_running_loop_says_to_await_and_closes_the_coroutine() -> None:
    async def main() -> int:
        return 1

    coroutine = main()
    with pytest.raises(RunningLoopError) as info:
        padb.run(coroutine)
    error = info.value
    assert isinstance(error, RuntimeError)
    assert isinstance(error, AsyncUsageError)
    assert "`await main()`" in str(error)
    assert "Jupyter" in str(error)
    # closed: no "coroutine was never awaited" warning (warnings are errors in this suite)
    assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CLOSED


async def test_run_inside_a_running_loop_refuses_an_object_that_is_not_a_coroutine() -> None:
    with pytest.raises(RunningLoopError, match="await"):
        padb.run(object())  # type: ignore[arg-type]


def test_a_plain_for_over_a_stream_says_async_for() -> None:
    stream = padb.Database.open(":memory:").projects.stream(batch_size=10)
    with pytest.raises(AsyncUsageError) as info:
        for _ in stream:  # type: ignore[attr-defined]
            pass
    assert "async for batch in db.projects.stream(...)" in str(info.value)
    assert isinstance(info.value, TypeError)


def test_a_plain_for_over_another_repository_stream_names_it() -> None:
    stream = padb.Database.open(":memory:").documents.stream()
    with pytest.raises(AsyncUsageError, match=r"db\.documents\.stream"):
        iter(stream)  # type: ignore[call-overload]
