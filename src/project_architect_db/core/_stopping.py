"""Stopping a native unit of work (cancellation, statement timeout), never during its COMMIT.

The event loop and the worker thread that runs a unit's statements share a :class:`Stops`
(one per connection running units) and a :class:`Stoppable` per unit, under one
``threading.Lock``:

* the loop **stops** a unit (its caller was cancelled, or its statement timeout fired): unless
  its COMMIT has started, the unit is marked ``stopped`` and, if a unit's statements are running
  on the connection right now, DuckDB's ``interrupt()`` cuts them;
* the worker runs each unit's statements through :meth:`Stops.run` (a stopped unit does not
  start) and asks :meth:`Stops.may_commit` right before the COMMIT: if a unit of it was stopped
  meanwhile, the transaction is rolled back instead (and re-run without it); if not, its units
  are marked ``committing`` and from then on nothing can stop them: the COMMIT is never cut
  half-way, the units stand and their after-commit callbacks run.

An interrupt only lands while statements run, never on the connection's next statement.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

import duckdb

from project_architect_db.exceptions._translate import TIMEOUT_ATTRIBUTE

__all__ = ["Stoppable", "Stops"]

T = TypeVar("T")

_INTERRUPTED = "INTERRUPT Error: Interrupted!"


class Stoppable:
    """Where one unit stands for whoever may stop it (see the module text)."""

    __slots__ = ("committing", "stopped", "timeout")

    def __init__(self) -> None:
        self.stopped = False  # the loop stopped it: it must write nothing
        self.committing = False  # its COMMIT has started: it can no longer be stopped
        self.timeout: float | None = None  # set when its statement timeout stopped it

    def stop_error(self) -> duckdb.InterruptException:
        """The error a stopped unit ends with.

        Translated, it is a ``StatementTimeoutError`` if the statement timeout stopped the
        unit; a cancelled caller raises ``CancelledError`` instead.
        """
        error = duckdb.InterruptException(_INTERRUPTED)
        if self.timeout is not None:
            setattr(error, TIMEOUT_ATTRIBUTE, self.timeout)
        return error


class Stops:
    """What the loop and the worker share while one connection runs units' statements."""

    __slots__ = ("_duck", "_lock", "_working")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._duck: duckdb.DuckDBPyConnection | None = None
        self._working = False

    def stop(self, unit: Stoppable, timeout: float | None = None) -> bool:  # on the loop
        """Stop ``unit``; ``False`` if its COMMIT has started (then it stands).

        ``timeout``: the statement timeout that ran out (``None``: a cancellation).
        """
        with self._lock:
            if unit.committing:
                return False
            if timeout is not None and not unit.stopped:
                unit.timeout = timeout
            unit.stopped = True
            if self._working:
                assert self._duck is not None  # set with _working
                self._duck.interrupt()
            return True

    def run(
        self, duck: duckdb.DuckDBPyConnection, units: Sequence[Stoppable], fn: Callable[[], T]
    ) -> T:  # on the worker
        """``fn()`` (the statements of ``units``), interruptible by :meth:`stop`.

        Raises:
            duckdb.InterruptException: One of ``units`` was stopped before it started.
        """
        with self._lock:
            for unit in units:
                if unit.stopped:
                    raise unit.stop_error()
            self._duck = duck
            self._working = True
        try:
            return fn()
        finally:
            with self._lock:
                self._working = False

    def may_commit(self, units: Sequence[Stoppable]) -> list[Stoppable]:  # on the worker
        """The units stopped so far; if none, ``units`` are marked committing."""
        with self._lock:
            stopped = [unit for unit in units if unit.stopped]
            if not stopped:
                for unit in units:
                    unit.committing = True
            return stopped
