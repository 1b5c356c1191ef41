"""Statement timeouts: a query running past its time is interrupted and raises a typed error.

A database has a default (``statement_timeout=`` / ``PADB_STATEMENT_TIMEOUT``), and
``async with db.statement_timeout(seconds):`` overrides it for every statement awaited inside
the block, in this task and the tasks it starts (a context variable), across repositories,
analytics, search and ``db.engine``. Every DuckDB call of the library goes through the
connection adapter (``core/_adapter.py``), which asks :meth:`StatementTimeouts.current` before
each worker hop; with no timeout the hop is exactly what it was (no timer, no lock).

With a timeout, the hop arms one ``loop.call_later`` timer (no thread per statement). When it
fires while the hop runs, it calls DuckDB's ``interrupt()``; the ``InterruptException`` that
comes back is tagged with the timeout, and the translation boundary
(``exceptions/_translate.py``) turns it into
:class:`~project_architect_db.exceptions.StatementTimeoutError`. A user's cancellation still
surfaces as ``asyncio.CancelledError``: only an interrupt the timer caused is tagged. The timer
and the worker share a small lock, so the interrupt can only land while the timed hop runs,
never on the next statement of the connection.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import duckdb

from project_architect_db.core._worker import ConnectionWorker, run_interruptible
from project_architect_db.exceptions import ConfigurationError
from project_architect_db.exceptions._translate import TIMEOUT_ATTRIBUTE
from project_architect_db.exceptions._usage import sync_with

__all__ = ["StatementTimeouts", "TimeoutScope", "check_timeout", "run_timed"]

T = TypeVar("T")

_NO_OVERRIDES: Mapping[StatementTimeouts, float | None] = {}
_OVERRIDES: ContextVar[Mapping[StatementTimeouts, float | None]] = ContextVar(
    "padb_statement_timeouts", default=_NO_OVERRIDES
)
_UNSET: Any = object()


def check_timeout(seconds: object, *, name: str = "statement_timeout") -> float | None:
    """``seconds`` as a positive float, or ``None`` for no timeout (``None`` or 0).

    Raises:
        ConfigurationError: Not a number, negative, NaN or infinite.
    """
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ConfigurationError(
            f"{name} must be a number of seconds (such as 2.5), or None or 0 for no timeout; "
            f"got {seconds!r}."
        )
    value = float(seconds)
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ConfigurationError(
            f"{name} must be a finite, non-negative number of seconds (such as 2.5), or None "
            f"or 0 for no timeout; got {seconds!r}."
        )
    return value or None


class StatementTimeouts:
    """One database's statement timeout: its default and the overrides of the running task."""

    __slots__ = ("__weakref__", "default")

    def __init__(self, default: float | None = None) -> None:
        self.default = check_timeout(default)

    def current(self) -> float | None:
        """The timeout, in seconds, for a statement run now (``None``: no timeout)."""
        overrides = _OVERRIDES.get()
        if overrides:
            seconds = overrides.get(self, _UNSET)
            if seconds is not _UNSET:
                return seconds  # type: ignore[no-any-return]
        return self.default

    def scope(self, seconds: float | None) -> TimeoutScope:
        """A block whose statements (on this database) use ``seconds`` instead.

        Raises:
            ConfigurationError: ``seconds`` is not a valid timeout.
        """
        return TimeoutScope(self, check_timeout(seconds))


class TimeoutScope:
    """``async with db.statement_timeout(seconds):`` (see :meth:`StatementTimeouts.scope`)."""

    __slots__ = ("_owner", "_seconds", "_tokens")

    def __init__(self, owner: StatementTimeouts, seconds: float | None) -> None:
        self._owner = owner
        self._seconds = seconds
        self._tokens: list[Token[Mapping[StatementTimeouts, float | None]]] = []

    @property
    def seconds(self) -> float | None:
        """The timeout the block applies (``None``: no timeout)."""
        return self._seconds

    async def __aenter__(self) -> float | None:
        overrides = dict(_OVERRIDES.get())
        overrides[self._owner] = self._seconds
        self._tokens.append(_OVERRIDES.set(overrides))
        return self._seconds

    async def __aexit__(self, *exc_info: object) -> None:
        _OVERRIDES.reset(self._tokens.pop())

    if not TYPE_CHECKING:  # pragma: no branch - type checkers still flag a plain `with`

        def __enter__(self) -> NoReturn:
            raise sync_with("async with db.statement_timeout(seconds)")

        def __exit__(self, *exc_info: object) -> NoReturn:
            raise sync_with("async with db.statement_timeout(seconds)")


_QUEUED, _RUNNING, _DONE = 0, 1, 2


class _Timed:
    """The state the timer and the worker share for one timed hop."""

    __slots__ = ("fired", "fn", "interrupt", "lock", "state")

    def __init__(self, fn: Callable[[], Any], interrupt: Callable[[], None]) -> None:
        self.fn = fn
        self.interrupt = interrupt
        self.lock = threading.Lock()
        self.state = _QUEUED
        self.fired = False

    def __call__(self) -> Any:  # on the worker thread
        with self.lock:
            if self.fired:  # the time ran out while the hop waited in the worker's queue
                self.state = _DONE
                raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
            self.state = _RUNNING
        try:
            return self.fn()
        finally:
            with self.lock:
                self.state = _DONE

    def fire(self) -> None:  # on the event loop, when the time is up
        with self.lock:
            if self.state == _DONE:  # finished just in time: the next hop must not be hit
                return
            self.fired = True
            if self.state == _RUNNING:
                self.interrupt()


async def run_timed(
    worker: ConnectionWorker, fn: Callable[[], T], interrupt: Callable[[], None], seconds: float
) -> T:
    """Await ``fn`` on ``worker``, interrupting it once it has run for ``seconds``.

    The clock starts when the hop is handed to the worker; a hop still queued behind another
    when the time is up fails as soon as its turn comes, without running.
    """
    timed = _Timed(fn, interrupt)
    loop = asyncio.get_running_loop()
    handle = loop.call_later(seconds, timed.fire)
    try:
        result: T = await run_interruptible(worker, timed, interrupt)
        return result
    except duckdb.InterruptException as error:
        if timed.fired:  # not a user's cancellation, which raises CancelledError instead
            setattr(error, TIMEOUT_ATTRIBUTE, seconds)
        raise
    finally:
        handle.cancel()
