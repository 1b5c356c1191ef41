"""Statement timeout resolution, validation and the timer's race guard (no database needed)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import duckdb
import pytest

from project_architect_db import AsyncUsageError, ConfigurationError, Settings
from project_architect_db.core._worker import ConnectionWorker
from project_architect_db.core.timeouts import (
    StatementTimeouts,
    _Timed,
    check_timeout,
    run_timed,
)
from project_architect_db.exceptions import QueryCancelledError, StatementTimeoutError
from project_architect_db.exceptions._translate import translate


@pytest.mark.parametrize(("value", "expected"), [(2.5, 2.5), (3, 3.0), (0, None), (None, None)])
def test_a_timeout_is_seconds_or_none(value: Any, expected: float | None) -> None:
    assert check_timeout(value) == expected


@pytest.mark.parametrize("value", [-1, -0.001, float("nan"), float("inf"), float("-inf")])
def test_a_negative_or_non_finite_timeout_is_refused(value: float) -> None:
    with pytest.raises(ConfigurationError, match="finite, non-negative"):
        check_timeout(value)


@pytest.mark.parametrize("value", ["1", True, [1], object()])
def test_a_timeout_that_is_not_a_number_is_refused(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="number of seconds"):
        check_timeout(value)


@pytest.mark.parametrize(
    ("env", "expected"), [("2.5", 2.5), (" 1 ", 1.0), ("0", None), ("", None), ("None", None)]
)
def test_the_environment_variable_is_parsed(
    monkeypatch: pytest.MonkeyPatch, env: str, expected: float | None
) -> None:
    monkeypatch.setenv("PADB_STATEMENT_TIMEOUT", env)
    assert Settings().statement_timeout == expected


@pytest.mark.parametrize("env", ["abc", "-3", "nan", "2s"])
def test_an_invalid_environment_variable_is_a_validation_error(
    monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("PADB_STATEMENT_TIMEOUT", env)
    with pytest.raises(ValidationError, match="statement_timeout"):
        Settings()


@pytest.mark.parametrize("value", [True, "x", [2]])
def test_a_settings_timeout_of_another_type_is_refused(value: Any) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="number of seconds"):
        Settings(statement_timeout=value)


async def test_a_scope_overrides_the_default_and_nests() -> None:
    timeouts = StatementTimeouts(5)
    other = StatementTimeouts(7)
    assert timeouts.current() == 5
    async with timeouts.scope(0.5):
        assert timeouts.current() == 0.5
        assert other.current() == 7  # another database keeps its own
        async with timeouts.scope(None) as seconds:
            assert seconds is None
            assert timeouts.current() is None
        assert timeouts.current() == 0.5
    assert timeouts.current() == 5


async def test_a_scope_is_undone_when_its_block_raises() -> None:
    timeouts = StatementTimeouts(None)
    with pytest.raises(LookupError):
        async with timeouts.scope(1):
            raise LookupError
    assert timeouts.current() is None


def test_a_scope_used_with_plain_with_says_async_with() -> None:
    scope = StatementTimeouts(1).scope(2)
    assert scope.seconds == 2
    with pytest.raises(AsyncUsageError, match=r"async with db\.statement_timeout"):
        with scope:  # type: ignore[attr-defined]
            pass
    with pytest.raises(AsyncUsageError):
        scope.__exit__(None, None, None)


def test_an_interrupt_is_a_timeout_only_when_tagged() -> None:
    plain = duckdb.InterruptException("INTERRUPT Error: Interrupted!")
    assert type(translate(plain)) is QueryCancelledError
    tagged = duckdb.InterruptException("INTERRUPT Error: Interrupted!")
    tagged.padb_statement_timeout = 1.5  # type: ignore[attr-defined]
    mapped = translate(tagged)
    assert isinstance(mapped, StatementTimeoutError)
    assert mapped.timeout == 1.5
    assert "1.5 s statement timeout" in str(mapped)


async def test_a_hop_whose_time_ran_out_in_the_queue_never_runs() -> None:
    worker = ConnectionWorker("padb-test-timeouts")
    release = threading.Event()
    interrupts: list[int] = []
    ran: list[str] = []
    try:
        blocker = worker.submit(lambda: release.wait(10))
        with pytest.raises(duckdb.InterruptException) as info:
            timed = asyncio.ensure_future(
                run_timed(worker, lambda: ran.append("ran"), lambda: interrupts.append(1), 0.05)
            )
            await asyncio.sleep(0.2)  # the timer fires while the hop waits behind the blocker
            release.set()
            await timed
        assert await blocker is True
    finally:
        release.set()
        worker.stop()
        worker.join(10)
    assert ran == []
    assert interrupts == []  # nothing was running on the connection for this hop
    assert info.value.padb_statement_timeout == 0.05  # type: ignore[attr-defined]


def test_a_timer_firing_after_the_hop_finished_interrupts_nothing() -> None:
    interrupts: list[int] = []
    timed = _Timed(lambda: 1, lambda: interrupts.append(1))
    assert timed() == 1
    timed.fire()  # the result is on its way to the loop: the next statement must not be hit
    assert interrupts == []
    assert timed.fired is False


def test_a_timer_firing_while_the_hop_runs_interrupts_it_once() -> None:
    interrupts: list[int] = []
    started, release = threading.Event(), threading.Event()

    def work() -> str:
        started.set()
        release.wait(10)
        return "finished anyway"

    timed = _Timed(work, lambda: interrupts.append(1))
    thread = threading.Thread(target=lambda: results.append(timed()))
    results: list[str] = []
    thread.start()
    assert started.wait(10)
    timed.fire()
    release.set()
    thread.join(10)
    assert interrupts == [1]
    assert timed.fired is True
    assert results == ["finished anyway"]  # a statement that completed is not an error
    timed.fire()
    assert interrupts == [1]


async def test_an_error_that_is_not_an_interrupt_passes_through_untagged() -> None:
    worker = ConnectionWorker("padb-test-timeouts")

    def fail() -> None:
        raise duckdb.InterruptException("interrupted by its owner")

    try:
        with pytest.raises(duckdb.InterruptException) as info:
            await run_timed(worker, fail, lambda: None, 30)
        with pytest.raises(ZeroDivisionError):
            await run_timed(worker, lambda: 1 / 0, lambda: None, 30)
    finally:
        worker.stop()
        worker.join(10)
    assert not hasattr(info.value, "padb_statement_timeout")
