"""What every unit of work does around its end: callbacks after a commit, and at the end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["UnitCallbacks", "shielded"]

_logger = logging.getLogger("project_architect_db.transaction")


class UnitCallbacks:
    """``after_commit`` / ``on_end`` callbacks of a unit of work (a transaction, a native write).

    After-commit callbacks run only once the COMMIT has happened; a failing one is logged and
    neither makes the caller believe the work was lost nor keeps the others from running.
    On-end callbacks (lock release) run when the unit ends, committed or not, last first.
    """

    __slots__ = ("_after_commit", "_on_end")

    def __init__(self) -> None:
        self._after_commit: list[Callable[[], Any]] = []
        self._on_end: list[Callable[[], Any]] = []

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` once this unit has committed (never on rollback)."""
        self._after_commit.append(callback)

    def on_end(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` when this unit ends, committed or rolled back."""
        self._on_end.append(callback)

    def _run_after_commit(self) -> None:
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                _logger.exception("an after-commit callback failed; the commit stands")

    def _finish(self) -> None:
        callbacks, self._on_end = self._on_end, []
        for callback in reversed(callbacks):
            callback()


async def shielded(awaitable: Awaitable[None]) -> None:
    """Finish ``awaitable`` even if the caller is cancelled meanwhile (no half-closed state)."""
    task = asyncio.ensure_future(awaitable)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise
